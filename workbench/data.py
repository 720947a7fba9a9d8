"""Any Hugging Face dataset -> splits -> columns and task -> tokenizer -> fixed-shape arrays.

``prepare(DataConfig(...))`` returns a ``Prepared`` (cached per config, so retraining on
the same data is instant) whose ``batches(split)`` yields dicts of fixed-shape arrays
(see ``train.py`` for the keys of each task). Sources, in the order they are tried:
``data_files``, a built-in name, a local file or folder, a hub id.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import urllib.parse
from collections import OrderedDict

import datasets
import numpy as np

from . import builtin
from .catalog import CATALOG
from .columns import Columns, DataError, column_values, detect_columns
from .config import DataConfig
from .prepared import Prepared, encode_splits
from .tokenizer import TextTokenizer

__all__ = ["DataError", "Prepared", "load_splits", "prepare", "to_dataset_dict"]

BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
            ".parquet": "parquet", ".txt": "text", ".arrow": "arrow"}
SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "dev": "validation",
                 "test": "test"}
_CACHE: OrderedDict[DataConfig, Prepared] = OrderedDict()
_CACHE_SIZE = 4


def to_dataset_dict(data: builtin.BuiltinData) -> datasets.DatasetDict:
    """A built-in's plain columns as a DatasetDict with proper features."""
    names = list(data.label_names or ())
    schema = {
        "classify": {"text": datasets.Value("string"),
                     "label": datasets.ClassLabel(names=names)},
        "tag": {"tokens": datasets.List(datasets.Value("string")),
                "tags": datasets.List(datasets.ClassLabel(names=names))},
        "seq2seq": {"source": datasets.Value("string"), "target": datasets.Value("string")},
        "lm": {"text": datasets.Value("string")},
    }[data.task]
    features = datasets.Features(schema)
    return datasets.DatasetDict({split: datasets.Dataset.from_dict(cols, features=features)
                                 for split, cols in data.splits.items()})


def _builder(path: str) -> tuple[str, dict]:
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in BUILDERS:
        raise DataError(f"cannot read {path!r}: use a {', '.join(BUILDERS)} file or a "
                        "dataset folder")
    return BUILDERS[suffix], ({"delimiter": "\t"} if suffix == ".tsv" else {})


def _load_files(files: dict[str, str]) -> datasets.DatasetDict:
    for split, path in files.items():
        if not os.path.exists(path):
            raise DataError(f"data file {path!r} does not exist")
        if os.path.getsize(path) == 0:
            raise DataError(f"data file {path!r} ({split}) is empty")
    builder, kwargs = _builder(next(iter(files.values())))
    try:
        return datasets.load_dataset(builder, data_files=files, **kwargs)
    except Exception as err:  # noqa: BLE001 - the reader's own error, named with the file
        raise DataError(f"could not read {', '.join(files.values())} as {builder}: "
                        f"{type(err).__name__}: {err}") from err


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set: hub ids are then read from the local cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub, so a machine without network fails in seconds
    instead of retrying for half a minute."""
    from huggingface_hub import constants

    host = urllib.parse.urlparse(constants.ENDPOINT).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _load_hub(dataset_id: str, name: str | None, revision: str | None = None,
              split: str | None = None):
    try:
        if not hub_offline() and not _hub_reachable():
            raise ConnectionError("no network: the hub cannot be reached (with "
                                  "HF_HUB_OFFLINE=1 a copy in the local cache is used)")
        return datasets.load_dataset(dataset_id, name, revision=revision, split=split)
    except Exception as err:  # noqa: BLE001 - every hub failure gets the same advice
        why = f"{type(err).__name__}: {err}"
        if hub_offline():
            why = f"offline (HF_HUB_OFFLINE is set; {why})"
        raise DataError(
            f"could not load {dataset_id!r}{f' ({name})' if name else ''} from the Hugging "
            f"Face hub: {why}. Offline, use a built-in ({', '.join(builtin.NAMES[:4])}, ...; "
            "see `python -m workbench datasets`) or local files (csv, json, parquet, txt)"
        ) from None


def _load_raw(config: DataConfig):
    if config.data_files:
        return _load_files(dict(config.data_files))
    if config.dataset in builtin.NAMES:
        data = builtin.load(config.dataset, config.difficulty, config.seed, config.size)
        return to_dataset_dict(data)
    if config.dataset in CATALOG:
        entry = CATALOG[config.dataset]
        return _load_hub(entry.hub_id, config.name or entry.name, entry.revision, config.split)
    path = config.dataset
    if os.path.isfile(path):
        return _load_files({"train": path})
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "dataset_dict.json")):
            return datasets.load_from_disk(path)
        return datasets.load_dataset(path, config.name, split=config.split)
    if path.startswith((".", "/", "~")) or pathlib.Path(path).suffix.lower() in BUILDERS:
        raise DataError(f"local path {path!r} does not exist")
    return _load_hub(path, config.name, split=config.split)


@contextlib.contextmanager
def _quiet():
    """No progress bars from ``datasets`` while we work (the UI shows its own)."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


@_quiet()
def load_splits(config: DataConfig) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """``({'train', 'validation'[, 'test']}: Dataset, notes)``; holds out a seeded
    validation split when the source has none, and caps huge splits."""
    raw = _load_raw(config)
    if isinstance(raw, datasets.Dataset):
        raw = datasets.DatasetDict({"train": raw})
    splits, notes = {}, []
    for name, ds in raw.items():
        canonical = SPLIT_ALIASES.get(name.lower(), name)
        splits.setdefault(canonical, ds)
    if "train" not in splits:
        raise DataError(f"{config.dataset!r} has no train split (it has "
                        f"{', '.join(raw)}); pass data_files with a 'train' entry")
    if "validation" not in splits:
        held = splits["train"].train_test_split(test_size=config.val_fraction,
                                                seed=config.seed, shuffle=True)
        splits["train"], splits["validation"] = held["train"], held["test"]
        notes.append(f"no validation split: held out {config.val_fraction:.0%} of train "
                     f"(seed {config.seed})")
    for name in list(splits):
        if len(splits[name]) == 0:
            raise DataError(f"split {name!r} of {config.dataset!r} is empty")
        if len(splits[name]) > config.max_examples:
            splits[name] = splits[name].select(range(config.max_examples))
            notes.append(f"{name}: capped at max_examples={config.max_examples:,} examples")
    return splits, notes


@_quiet()
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
    columns, splits, label_notes = _resolve_labels(columns, splits)
    tokenizer = TextTokenizer.train(config.tokenizer, _training_texts(columns, splits["train"]),
                                    config.vocab_size)
    arrays, stats, cut_notes = encode_splits(columns, splits, tokenizer, config.max_len)
    prepared = Prepared(config, columns, tokenizer, arrays, stats,
                        notes + label_notes + cut_notes)
    _CACHE[config] = prepared
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return prepared


def _training_texts(columns: Columns, train: datasets.Dataset):
    if columns.task == "tag":
        return (" ".join(words) for words in column_values(train, columns.text))
    texts = column_values(train, columns.text)
    if columns.task == "seq2seq":
        texts = texts + column_values(train, columns.target)
    return texts


def _resolve_labels(columns: Columns, splits: dict):
    """Name the labels (string labels: sorted, from train; int labels without names:
    '0', '1', ...) and drop unlabelled (-1) examples, as in GLUE test splits."""
    notes: list[str] = []
    if columns.task not in ("classify", "tag"):
        return columns, splits, notes
    names = columns.label_names
    train_labels = column_values(splits["train"], columns.label)
    flat = [x for row in train_labels for x in row] if columns.task == "tag" else train_labels
    if names is None and flat and isinstance(flat[0], str):
        names = tuple(sorted(set(flat)))
        notes.append(f"string labels mapped to ids: {', '.join(names[:10])}"
                     f"{' ...' if len(names) > 10 else ''}")
    elif names is None:
        names = tuple(str(i) for i in range(max(flat, default=0) + 1))
    for split, ds in list(splits.items()):
        if columns.task != "classify" or isinstance(train_labels[0], str):
            continue
        labels = np.asarray(column_values(ds, columns.label))
        if (labels == -1).any():
            notes.append(f"{split}: dropped {(labels == -1).sum():,} unlabelled (-1) examples")
            splits[split] = ds.select(np.flatnonzero(labels != -1))
            if len(splits[split]) == 0:
                del splits[split]
    return Columns(columns.task, columns.text, columns.label, None, names), splits, notes


def label_counts(prepared: Prepared, split: str = "train") -> np.ndarray:
    """How many examples (or tokens, for tagging) carry each label."""
    labels = prepared.arrays[split]["labels"]
    return np.bincount(labels[labels >= 0].ravel(), minlength=len(prepared.label_names))
