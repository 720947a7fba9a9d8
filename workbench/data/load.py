"""Any Hugging Face dataset -> splits -> columns and task -> tokenizer -> fixed-shape arrays.

``prepare(DataConfig(...))`` returns a ``Prepared`` (cached per config, so retraining on
the same data is instant) whose ``batches(split)`` yields dicts of fixed-shape arrays
(see ``tasks/batches.py`` for the keys of each task). Sources, in the order they are tried:
``data_files``, a built-in name, a local file or folder, a hub id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections import OrderedDict

import datasets
import numpy as np

from ..config import DataConfig
from ..tasks import task_named
from . import builtin
from .catalog import CATALOG
from .columns import Columns, DataError, column_values, detect_columns, setting
from .files import BUILDERS, encoding_for, load_files
from .hub import load_hub
from .prepared import Prepared, encode_splits
from .rows import check_rows, resolve_labels
from .tokenizer import TextTokenizer

__all__ = ["DataError", "Prepared", "load_splits",
           "prepare", "to_dataset_dict"]


SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "dev": "validation",
                 "test": "test"}


_CACHE: OrderedDict[DataConfig, Prepared] = OrderedDict()


_CACHE_SIZE = 4


def to_dataset_dict(data: builtin.BuiltinData) -> datasets.DatasetDict:
    """A built-in's plain columns as a DatasetDict with proper features."""
    names, task = list(data.label_names or ()), task_named(data.task)
    text, label = datasets.Value("string"), datasets.ClassLabel(names=names)
    if task.labels == "word":
        schema = {"tokens": datasets.List(text), "tags": datasets.List(label)}
    elif task.target:
        schema = {"source": text, "target": text}
    else:
        schema = {"text": text, **({"label": label} if task.labels == "row" else {})}
    features = datasets.Features(schema)
    return datasets.DatasetDict({split: datasets.Dataset.from_dict(cols, features=features)
                                 for split, cols in data.splits.items()})


def load_raw(config: DataConfig):
    if config.data_files:
        return load_files(dict(config.data_files), encoding_for(config))
    if config.dataset in builtin.NAMES:
        data = builtin.load(config.dataset, config.difficulty, config.seed, config.size)
        return to_dataset_dict(data)
    if config.dataset in CATALOG:
        entry = CATALOG[config.dataset]
        return load_hub(entry.hub_id, config.name or entry.name, entry.revision, config.split)
    path = config.dataset
    if os.path.isfile(path):
        return load_files({"train": path}, encoding_for(config))
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "dataset_dict.json")):
            return datasets.load_from_disk(path)
        return datasets.load_dataset(path, config.name, split=config.split)
    if path.startswith((".", "/", "~")) or pathlib.Path(path).suffix.lower() in BUILDERS:
        raise DataError(f"local path {path!r} does not exist")
    return load_hub(path, config.name, split=config.split)


@contextlib.contextmanager
def quiet():
    """No progress bars from ``datasets`` while we work (the UI shows its own)."""
    was_enabled = datasets.is_progress_bar_enabled()
    level = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(logging.CRITICAL)  # a reader's failure: we say it better
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)
        if was_enabled:
            datasets.enable_progress_bars()


@quiet()
def load_splits(config: DataConfig) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """``({'train', 'validation'[, 'test']}: Dataset, notes)``; holds out a seeded
    validation split when the source has none, and caps huge splits."""
    raw = load_raw(config)
    if isinstance(raw, datasets.Dataset):
        raw = datasets.DatasetDict({"train": raw})
    splits, notes = {}, []
    for name, ds in raw.items():
        canonical = SPLIT_ALIASES.get(name.lower(), name)
        splits.setdefault(canonical, ds)
    if "train" not in splits:
        raise DataError(f"{config.dataset!r} has no train split (it has "
                        f"{', '.join(raw)}); give {setting('data_files')} with a 'train' "
                        "entry")
    for name in list(splits):
        if len(splits[name]) == 0:
            raise DataError(f"split {name!r} of {config.dataset!r} has no rows")
    if "validation" not in splits:
        splits["train"], splits["validation"], note = _hold_out(splits["train"], config)
        notes.append(note)
    for name in list(splits):
        if len(splits[name]) > config.max_examples:
            splits[name] = splits[name].select(range(config.max_examples))
            notes.append(f"{name}: capped at max_examples={config.max_examples:,} examples")
    return splits, notes


def _hold_out(train: datasets.Dataset, config: DataConfig):
    """``(train, validation, note)``: a seeded share of the rows; a single row of text
    (a one-line text file) is cut at a space near the end instead."""
    if len(train) > 1:
        held = train.train_test_split(test_size=config.val_fraction, seed=config.seed,
                                      shuffle=True)
        return held["train"], held["test"], (
            f"no validation split: held out {config.val_fraction:.0%} of train "
            f"(seed {config.seed})")
    strings = [n for n, f in train.features.items()
               if isinstance(f, datasets.Value) and f.dtype in ("string", "large_string")]
    text = train[0][strings[0]] if len(strings) == 1 and len(train.features) == 1 else None
    if not text or len(text.strip()) < 2:
        raise DataError(
            f"{config.dataset!r} has a single example: too few to train and validate on. "
            f"Add examples, or give a validation file too ({setting('data_files')}, with "
            "'train' and 'validation' entries)")
    cut = int(len(text) * (1 - config.val_fraction))
    space = text.rfind(" ", 0, cut)
    cut = space if space > len(text) // 2 else max(1, min(cut, len(text) - 1))
    column = strings[0]
    return (datasets.Dataset.from_dict({column: [text[:cut]]}),
            datasets.Dataset.from_dict({column: [text[cut:]]}),
            f"one line of text ({len(text):,} characters): held out its last "
            f"{len(text) - cut:,} characters as validation")


@quiet()
def prepare(config: DataConfig) -> Prepared:
    """Load, detect columns, train the tokenizer and encode every split (cached)."""
    if config in _CACHE:
        _CACHE.move_to_end(config)
        return _CACHE[config]
    splits, notes = load_splits(config)
    features = splits["train"].features
    entry = None if config.data_files else CATALOG.get(config.dataset)
    columns = detect_columns(
        features, config.task,
        config.text_column or (entry and entry.text_column),
        config.label_column or (entry and entry.label_column),
        config.target_column or (entry and entry.target_column))
    splits, row_notes = check_rows(columns, splits, task_forced=config.task is not None)
    stream = task_named(columns.task).stream
    if stream and config.task is None:
        row_notes += _label_hints(columns, splits["train"])
    columns, splits, label_notes = resolve_labels(columns, splits)
    tokenizer = TextTokenizer.train(config.tokenizer, _training_texts(columns, splits["train"]),
                                    config.vocab_size)
    arrays, stats, cut_notes = encode_splits(columns, splits, tokenizer, config.max_len)
    if stream:
        arrays, stats, cut_notes = _check_windows(arrays, stats, cut_notes, config)
    prepared = Prepared(config, columns, tokenizer, arrays, stats,
                        notes + row_notes + label_notes + cut_notes)
    _CACHE[config] = prepared
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return prepared


def _training_texts(columns: Columns, train: datasets.Dataset):
    task = task_named(columns.task)
    if task.labels == "word":
        return (" ".join(words) for words in column_values(train, columns.text))
    texts = column_values(train, columns.text)
    if task.target:
        texts = texts + column_values(train, columns.target)
    return texts


def _label_hints(columns: Columns, train: datasets.Dataset) -> list[str]:
    """Language modelling was detected from text alone: a note for each other text
    column whose few distinct values look like class labels (``'verdict'``)."""
    notes = []
    for name, f in train.features.items():
        if name == columns.text or not (isinstance(f, datasets.Value)
                                        and f.dtype in ("string", "large_string")):
            continue
        values = set(train[name][:])
        if 1 < len(values) <= min(50, len(train) // 2):
            shown = ", ".join(sorted(map(str, values))[:5]) + (" ..." if len(values) > 5
                                                                 else "")
            notes.append(f"task lm detected from {columns.text!r} alone, but column "
                         f"{name!r} has {len(values)} distinct values ({shown}) and may be "
                         f"a label: to classify, set {setting('label_column', name)}")
    return notes


def _check_windows(arrays, stats, notes, config: DataConfig):
    """Language modelling reads windows of max_len + 1 tokens: train and validation need
    one at least; a shorter test split is dropped, with a note."""
    need = config.max_len + 1
    for split in list(arrays):
        tokens = arrays[split]["stream"].size
        if tokens >= need:
            continue
        if split not in ("train", "validation"):
            del arrays[split], stats[split]
            notes = [*notes, f"{split}: dropped: {tokens:,} tokens, fewer than one window "
                             f"of max_len + 1 = {need:,}"]
            continue
        raise DataError(
            f"{split} holds {tokens:,} tokens ({config.tokenizer} tokenizer), fewer than "
            f"one window of max_len + 1 = {need:,} that language modelling reads: give "
            f"more text, or lower {setting('max_len', max(1, tokens - 1))}"
            + (", or a character tokenizer (tokenizer='char')"
               if config.tokenizer != "char" else ""))
    return arrays, stats, notes


def label_counts(prepared: Prepared, split: str = "train") -> np.ndarray:
    """How many examples (or tokens, for tagging) carry each label."""
    labels = prepared.arrays[split]["labels"]
    return np.bincount(labels[labels >= 0].ravel(), minlength=len(prepared.label_names))
