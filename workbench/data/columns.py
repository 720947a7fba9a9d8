"""Which columns hold the text, labels, tags or targets, and so which task, read from a
Hugging Face dataset's features.

- a translation pair (``Translation`` or a dict of strings) or source/target text -> seq2seq
- per-word tags (a list of class labels, ints, or strings in a column named like tags)
  beside a list of words                                                       -> tag
- a class label (``ClassLabel``, or a column named like a label, of any scalar type:
  its values are checked later, in ``rows``)                                     -> classify
- text alone                                                                     -> lm

Detection never drops a column the user's names imply: a column named like a label makes
the task ``classify`` whatever its type (bad values are then named, not ignored), and
text beside an unnamed numeric column is ambiguous, so it asks (an error naming the
choices). Any column can be named explicitly; a name that does not exist, or a choice
that is ambiguous, raises ``DataError`` listing the columns there are. Messages name the
settings as the app and the CLI both know them (``label_column='...'``, ``task='lm'``).
"""

from __future__ import annotations

from dataclasses import dataclass

from datasets import ClassLabel, Features, Translation, Value

from ..errors import DataError
from ..tasks import task_named
from .features import (
    TEXT_NAMES,
    feature_kind,
    inner_feature,
    is_json,
    is_number,
    is_scalar_label,
    is_string,
    is_word_list,
    label_names,
    string_columns,
    tag_columns,
    tag_named,
    text_columns,
    word_columns,
)

LABEL_NAMES = ("label", "labels", "coarse_label", "category", "class", "sentiment", "intent",
               "topic", "ner_tags", "tags")
ID_NAMES = ("id", "idx", "index", "uid", "guid", "key", "row", "unnamed: 0",
            "__index_level_0__")
PAIRS = (("source", "target"), ("src", "tgt"), ("input", "output"), ("question", "answer"),
         ("en", "de"), ("en", "fr"), ("de", "en"), ("fr", "en"))


@dataclass(frozen=True)
class Columns:
    """The detected (or chosen) task and columns. For seq2seq, ``text`` is the source and
    ``target`` the target; a dotted name ``'translation.fr'`` reads inside a dict column.
    For tagging, ``text`` holds the word lists and ``label`` the aligned tags."""

    task: str
    text: str
    label: str | None = None
    target: str | None = None
    label_names: tuple[str, ...] | None = None


def setting(field: str, value=None) -> str:
    """A setting in words both the app's panels and the CLI use:
    ``"the label column (label_column='stars')"``."""
    words = {"text_column": "text column", "label_column": "label column",
             "target_column": "target column", "task": "task", "max_len": "max_len",
             "data_files": "data files"}.get(field, field)
    return f"the {words} ({field}={'...' if value is None else repr(value)})"


def feature_of(features: Features, column: str):
    """The feature of ``column``; ``'a.b'`` looks inside dict/translation column ``a``."""
    if column in features:
        return features[column]
    head, _, key = column.partition(".")
    if head in features and key:
        return Value("string")
    names = list(features) + [s for s in string_columns(features) if s not in features]
    raise DataError(f"column {column!r} does not exist; the columns are {', '.join(names)}")


def _pick(candidates: list[str], preferred: tuple[str, ...], what: str, field: str,
          features: Features) -> str:
    if len(candidates) == 1:
        return candidates[0]
    for name in preferred:
        if name in candidates:
            return name
    if not candidates:
        raise DataError(f"no {what} column found; the columns are {', '.join(features)} "
                        f"({_describe(features)}); set {setting(field)}")
    raise DataError(f"several columns could be the {what} ({', '.join(candidates)}); "
                    f"choose one: set {setting(field, candidates[0])}")


def _describe(features: Features) -> str:
    return "; ".join(f"{k}: {feature_kind(v)}" for k, v in features.items())


def _infer_task(features: Features, label: str | None, target: str | None) -> str:
    strings = string_columns(features)
    if target is not None or any(isinstance(f, Translation | dict) for f in features.values()):
        return "seq2seq"
    if any(a in strings and b in strings for a, b in PAIRS):
        return "seq2seq"
    if label is not None:
        return "tag" if inner_feature(feature_of(features, label)) is not None else "classify"
    tags = tag_columns(features)
    if tags and word_columns(features, tags):
        return "tag"
    if any(isinstance(f, ClassLabel) for f in features.values()):
        return "classify"
    if any(n in LABEL_NAMES and is_scalar_label(f) for n, f in features.items()):
        return "classify"
    listed = [n for n in tags if n in LABEL_NAMES or tag_named(n)]
    if listed:
        raise DataError(
            f"column {listed[0]!r} holds a list of labels per row, but no column holds "
            f"lists of words ({_describe(features)}). For per-word tags give each row's "
            "words as a list too (e.g. \"tokens\": [\"John\", \"runs\"]) and set "
            f"{setting('task', 'tag')}; several labels per text (multi-label) is not "
            "supported")
    texts = text_columns(features)
    if texts:
        numbers = [n for n, f in features.items()
                   if is_number(f) and n.lower() not in ID_NAMES]
        if numbers:
            raise DataError(
                f"cannot tell the task: {', '.join(map(repr, texts))} "
                f"{'holds' if len(texts) == 1 else 'hold'} text and "
                f"{', '.join(map(repr, numbers))} could be its label. To classify, set "
                f"{setting('label_column', numbers[0])}; to model the text alone, set "
                f"{setting('task', 'lm')}")
        return "lm"
    raise DataError(f"cannot tell the task from the columns ({_describe(features)}); "
                    f"set {setting('text_column')} and {setting('task')}")


def detect_columns(features: Features, task: str | None = None, text: str | None = None,
                   label: str | None = None, target: str | None = None) -> Columns:
    """Detect the task and columns, honouring every explicit choice."""
    for column in (text, label, target):
        if column is not None:
            feature_of(features, column)
    columns = _detect(features, task or _infer_task(features, label, target), text, label,
                      target)  # a task's facts say which columns it reads
    _check_text(features, columns)
    _check_label(features, columns)
    return columns


def _check_text(features: Features, columns: Columns) -> None:
    """The text columns must hold text (word lists, for tagging)."""
    tag = task_named(columns.task).labels == "word"
    for field, column in (("text_column", columns.text), ("target_column", columns.target)):
        if column is None:
            continue
        f = feature_of(features, column)
        if not (is_word_list(f) if tag else is_string(f) or is_json(f)):
            kind = "lists of words" if tag else "text"
            options = (word_columns(features, []) if tag else text_columns(features))
            raise DataError(f"column {column!r} holds {feature_kind(f)}, not {kind}; choose a text "
                            f"column: set {setting(field)} (columns of {kind}: "
                            f"{', '.join(options) or 'none'})")


def _check_label(features: Features, columns: Columns) -> None:
    """A class label is one value per row; a tag column is a list per row."""
    if columns.label is None:
        return
    if columns.label in (columns.text, columns.target):
        raise DataError(f"column {columns.label!r} cannot be both the text and the label; "
                        f"set {setting('label_column')} to another column")
    f, labels = feature_of(features, columns.label), task_named(columns.task).labels
    if labels == "row" and not is_scalar_label(f):
        raise DataError(
            f"column {columns.label!r} holds {feature_kind(f)}, but a class label is one value per "
            f"row; for one tag per word set {setting('task', 'tag')}, or choose another "
            f"column: set {setting('label_column')}")
    if labels == "word" and inner_feature(f) is None:
        raise DataError(
            f"column {columns.label!r} holds {feature_kind(f)}, but tagging needs a list of tags "
            f"per row (one per word); for one label per text set {setting('task', 'classify')}")


def _detect(features: Features, name: str, text, label, target) -> Columns:
    task = task_named(name)
    if task.target:
        return _seq2seq_columns(name, features, string_columns(features), text, target)
    if task.labels == "word":
        tags = tag_columns(features)
        label = label or _pick(tags, ("ner_tags", "tags"), "tag", "label_column", features)
        words = word_columns(features, [label])
        text = text or _pick(words, ("tokens", "words"), "word-list", "text_column",
                             features)
        return Columns(name, text, label, None, label_names(features[label]))
    texts = text_columns(features)
    if task.labels == "row":
        if label is None:
            classes = [n for n, f in features.items() if isinstance(f, ClassLabel)]
            named = [n for n in LABEL_NAMES if n in features]
            numbers = [n for n, f in features.items()
                       if is_number(f) and n.lower() not in ID_NAMES and n != text]
            label = _pick(classes or named or numbers, LABEL_NAMES, "label", "label_column",
                          features)
        texts = [s for s in texts if s != label]
        text = text or _pick(texts, TEXT_NAMES, "text", "text_column", features)
        return Columns(name, text, label, None, label_names(features[label]))
    text = text or _pick(texts, TEXT_NAMES, "text", "text_column", features)
    return Columns(name, text)


def _seq2seq_columns(name: str, features, strings, source, target) -> Columns:
    if source is None or target is None:
        dicts = [n for n, f in features.items() if isinstance(f, Translation | dict)]
        pairs = [tuple(s for s in strings if s.startswith(d + "."))[:2] for d in dicts]
        pairs += [(s, t) for s, t in PAIRS if s in strings and t in strings]
        pair = next((p for p in pairs if len(p) == 2), None)
        if pair is None and len(strings) == 2:
            pair = (strings[0], strings[1])
        if pair is None:
            raise DataError(f"cannot tell source from target among "
                            f"{', '.join(strings) or 'no text columns'}; set "
                            f"{setting('text_column')} (the source) and "
                            f"{setting('target_column')}")
        source, target = source or pair[0], target or pair[1]
    return Columns(name, source, None, target)


def column_values(ds, column: str) -> list:
    """Values of ``column``; ``'a.b'`` reads key ``b`` of dict column ``a``."""
    if column in ds.column_names:
        return ds[column][:]
    head, _, key = column.partition(".")
    return [row[key] for row in ds[head][:]]
