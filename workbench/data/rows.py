"""The rows of the detected columns, checked where they enter: every cell the task reads
is text, a label or a tag list it can use, or the row is dropped and counted, or the whole
load stops with one message that names the value, the count and the fix.

- blank text (None, or only spaces): the row is dropped and counted in the notes (for
  language modelling an empty line is part of the text and kept; a missing cell is not);
- an empty target (seq2seq) or a blank label: dropped and counted;
- numbers in a text column: read as text, and counted;
- lists or objects where text belongs, decimal labels (``0.5``), labels outside the
  named classes: ``DataError`` with the count, an example and the choices;
- whole-number floats (a CSV label column with blanks is read as floats) are labels;
  a column that mixes names and numbers is read as names;
- one class only: ``DataError`` (a classifier needs two; it would score 100% and learn
  nothing); classes with no or a single training example: a note.
"""

from __future__ import annotations

import math
from collections import Counter

import datasets
import numpy as np

from ..tasks import task_named
from ..tasks.base import label_ids
from .columns import Columns, DataError, column_values, setting

_SHOW = 3  # example values quoted in a message


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not _blank(value)


def _examples(values, limit: int = _SHOW) -> str:
    shown = list(dict.fromkeys(repr(v) if not isinstance(v, str) else repr(v[:40])
                               for v in values))
    return ", ".join(shown[:limit]) + (" ..." if len(shown) > limit else "")


def _of(n: int, total: int, what: str = "rows") -> str:
    return f"{n:,} of {total:,} {what}"


class _Split:
    """One split's cells of the task's columns, with the rows kept so far."""

    def __init__(self, name: str, ds, columns: Columns):
        self.name, self.ds, self.columns = name, ds, columns
        self.total = len(ds)
        self.keep = np.ones(self.total, bool)
        self.values = {c: column_values(ds, c) for c in
                       filter(None, (columns.text, columns.label, columns.target))}
        self.changed: set[str] = set()
        self.notes: list[str] = []

    def drop(self, column: str, bad: np.ndarray, what: str, state: str = "is blank") -> None:
        """Drop the rows marked ``bad``, with a note: 'dropped 3 of 30 rows whose label
        ('stars') is blank'."""
        bad &= self.keep
        if bad.any():
            self.keep &= ~bad
            self.notes.append(f"{self.name}: dropped {_of(int(bad.sum()), self.total)} "
                              f"whose {what} ({column!r}) {state}")

    def replace(self, column: str, values: list) -> None:
        self.values[column] = values
        self.changed.add(column)

    def result(self):
        """The split with the dropped rows gone and converted columns rewritten."""
        ds = self.ds
        if self.changed:
            ds = datasets.Dataset.from_dict({c: v for c, v in self.values.items()})
        if not self.keep.all():
            ds = ds.select(np.flatnonzero(self.keep))
        return ds


def _texts(split: _Split, column: str, what: str, field: str, keep_empty: bool) -> None:
    """Blank cells dropped (empty strings kept when ``keep_empty``), numbers read as text,
    lists and objects refused."""
    values = split.values[column]
    if all(isinstance(v, str) for v in values) and (keep_empty or all(v.strip()
                                                                     for v in values)):
        return
    bad = [v for v in values if not (v is None or isinstance(v, str) or _number(v))]
    if bad:
        raise DataError(
            f"column {column!r} ({split.name}) holds {type(bad[0]).__name__}s, not text, in "
            f"{_of(len(bad), split.total)} (e.g. {_examples(bad)}): put one text per row, "
            f"or choose another column: set {setting(field)}; for one tag per word give "
            f"words and tags as lists and set {setting('task', 'tag')}")
    numbers = [v for v in values if _number(v) and not isinstance(v, bool)]
    if numbers or any(isinstance(v, bool) for v in values):
        split.replace(column, values := [str(v) if _number(v) or isinstance(v, bool) else v
                                         for v in values])
        split.notes.append(f"{split.name}: {_of(len(numbers), split.total, 'cells')} of "
                           f"{column!r} were numbers, read as text (e.g. "
                           f"{_examples(numbers)})")
    blank = np.array([v is None if keep_empty else _blank(v) for v in values], bool)
    split.drop(column, blank, what, "is missing" if keep_empty else "is blank")


def _words(split: _Split) -> None:
    """Tagging: each row a list of words and an aligned list of tags."""
    columns = split.columns
    words, tags = split.values[columns.text], split.values[columns.label]
    empty = np.array([not w for w in words], bool)
    split.drop(columns.text, empty, "list of words", "is empty or missing")
    no_tags = np.array([t is None for t in tags], bool)
    split.drop(columns.label, no_tags, "tags", "are missing")
    odd = [i for i in np.flatnonzero(split.keep) if len(words[i]) != len(tags[i])
           or any(not isinstance(w, str) for w in words[i]) or any(t is None for t in tags[i])]
    if odd:
        i = odd[0]
        example = (f"{len(words[i])} words in {columns.text!r} but {len(tags[i])} tags in "
                   f"{columns.label!r}" if len(words[i]) != len(tags[i]) else
                   "a missing word or tag")
        raise DataError(
            f"example {i}: {example} ({words[i]!r} / {tags[i]!r}); {split.name}: "
            f"{_of(len(odd), split.total)} do not pair each word with one tag. Tags must "
            "align with words: fix or drop those rows")


def _labels(split: _Split, task_forced: bool) -> None:
    """Class labels: blank ones dropped; whole-number floats become ints; decimals are
    refused; a column mixing names and numbers is read as names."""
    column = split.columns.label
    values = split.values[column]
    blank = np.array([_blank(v) for v in values], bool)
    split.drop(column, blank, "label")
    kept = [v for v, b in zip(values, blank, strict=True) if not b]
    decimals = [v for v in kept if isinstance(v, float | np.floating) and not float(
        v).is_integer()]
    if decimals:
        lm = "" if task_forced else f"; to model the text alone, set {setting('task', 'lm')}"
        raise DataError(
            f"column {column!r} holds decimal numbers in {_of(len(decimals), split.total)} of "
            f"{split.name} (e.g. {_examples(decimals)}), but a class label is a whole number "
            f"or a name: round them or map them to names in the file, or choose another "
            f"column: set {setting('label_column')}{lm}. Predicting a number (regression) "
            "is not supported")
    odd = [v for v in kept if not isinstance(v, str | bool) and not _number(v)]
    if odd:
        raise DataError(f"column {column!r} holds {type(odd[0]).__name__}s in "
                        f"{_of(len(odd), split.total)} of {split.name} (e.g. "
                        f"{_examples(odd)}), not one class label per row: choose another "
                        f"column: set {setting('label_column')}")
    names = any(isinstance(v, str | bool) for v in kept)
    if names and any(_number(v) and not isinstance(v, bool) for v in kept):
        split.notes.append(f"{split.name}: column {column!r} mixes names and numbers "
                           f"(e.g. {_examples(kept)}); all are read as names")
    if any(not isinstance(v, str) for v in kept) and (names or any(
            isinstance(v, float | np.floating) for v in kept)):
        split.replace(column, [None if b else (str(v) if names else int(v))
                               for v, b in zip(values, blank, strict=True)])


def check_rows(columns: Columns, splits: dict, task_forced: bool = False):
    """``(splits, notes)``: each split with unusable rows dropped (counted in the notes)
    and cells converted where that is safe; ``DataError`` for anything else."""
    out, notes, task = {}, [], task_named(columns.task)
    for name, ds in splits.items():
        split = _Split(name, ds, columns)
        if task.labels == "word":
            _words(split)
        else:  # a stream keeps its empty lines: they are part of the text
            _texts(split, columns.text, "text", "text_column", task.stream)
        if task.target:
            _texts(split, columns.target, "target", "target_column", False)
        if task.labels == "row":
            _labels(split, task_forced)
        notes += split.notes
        if not split.keep.any():
            if name not in ("train", "validation") and "train" in splits:  # e.g. test
                # splits without labels, beside the data to train on
                notes.append(f"{name}: left out, no usable rows")
                continue
            raise DataError(f"{name}: no usable rows are left ({'; '.join(split.notes)}); "
                            "fill in those cells, or choose other columns")
        out[name] = split.result()
    if task.stream and "train" in out and not any(column_values(out["train"], columns.text)):
        raise DataError(f"the training text ({columns.text!r}) is empty: every line is "
                        "blank; give a file with some text")
    return out, notes


# --- labels: names, ids, and what is worth a note -----------------------------------------

def resolve_labels(columns: Columns, splits: dict):
    """Name the labels (string labels: sorted, from train; int labels without names:
    '0', '1', ...), drop unlabelled (-1) examples as in GLUE test splits, and refuse a
    single class."""
    notes: list[str] = []
    task = task_named(columns.task)
    if task.labels is None:
        return columns, splits, notes
    names = columns.label_names
    train_labels = column_values(splits["train"], columns.label)
    flat = [x for row in train_labels for x in row] if task.labels == "word" else train_labels
    if names is None and flat and isinstance(flat[0], str):
        names = tuple(sorted(set(flat)))
        notes.append(f"string labels mapped to ids: {', '.join(names[:10])}"
                     f"{' ...' if len(names) > 10 else ''}")
    elif names is None:
        names = tuple(str(i) for i in range(max(flat, default=0) + 1))
    for split, ds in list(splits.items()):
        if task.labels != "row" or isinstance(train_labels[0], str):
            continue
        labels = np.asarray(column_values(ds, columns.label))
        if (labels == -1).any():
            notes.append(f"{split}: dropped {(labels == -1).sum():,} unlabelled (-1) examples")
            splits[split] = ds.select(np.flatnonzero(labels != -1))
            if len(splits[split]) == 0:
                if split in ("train", "validation"):
                    raise DataError(f"every example of {split} is unlabelled (-1); give "
                                    f"labels, or choose another column: set "
                                    f"{setting('label_column')}")
                del splits[split]
    columns = Columns(columns.task, columns.text, columns.label, None, names)
    notes += _label_counts(columns, column_values(splits["train"], columns.label))
    return columns, splits, notes


def _label_counts(columns: Columns, train_labels: list) -> list[str]:
    words = task_named(columns.task).labels == "word"
    flat = [x for row in train_labels for x in row] if words else train_labels
    # a label outside the names: named, refused
    counts = Counter(label_ids(flat, columns.label_names, columns.label))
    what, unit = ("tag", "words") if words else ("label", "rows")
    if len(counts) < 2:
        only = columns.label_names[next(iter(counts))] if counts else None
        raise DataError(
            f"every training {unit[:-1]} has the same {what} ({only!r}, "
            f"{_of(sum(counts.values()), len(flat), unit)}): a model needs at least 2 "
            f"classes to learn anything (with one it scores 100% and learns nothing). Add "
            f"examples of other classes, check column {columns.label!r}, or choose another: "
            f"set {setting('label_column')}")
    by_name = {columns.label_names[i]: n for i, n in counts.items()}
    notes = []
    unused = [n for n in columns.label_names if n not in by_name]
    if unused and len(unused) < len(columns.label_names):
        notes.append(f"train: no examples of {what}{'s' if len(unused) > 1 else ''} "
                     f"{_examples(unused, 6)} "
                     f"({len(unused)} of {len(columns.label_names)}): the model cannot "
                     "learn them")
    single = [n for n, c in by_name.items() if c == 1]
    if single and len(flat) >= 20:
        notes.append(f"train: {what}{'s' if len(single) > 1 else ''} "
                     f"{_examples(single, 6)} {'occur' if len(single) > 1 else 'occurs'} in "
                     f"only one of {len(flat):,} {unit}: a typo?")
    return notes
