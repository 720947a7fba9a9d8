"""Any Hugging Face dataset -> splits -> columns and task -> tokenizer -> fixed-shape arrays.

``prepare(DataConfig(...))`` returns a ``Prepared`` (cached per config, so retraining on
the same data is instant) whose ``batches(split)`` yields dicts of fixed-shape arrays
(see ``train.py`` for the keys of each task). Sources, in the order they are tried:
``data_files``, a built-in name, a local file or folder, a hub id.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import json
import logging
import os
import pathlib
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict

import datasets
import numpy as np

from ..config import DataConfig
from . import builtin
from .catalog import CATALOG
from .columns import Columns, DataError, column_values, detect_columns, setting
from .prepared import Prepared, encode_splits
from .rows import check_rows, resolve_labels
from .tokenizer import TextTokenizer

__all__ = ["DataError", "Prepared", "hub_offline", "load_splits", "offline_reason",
           "prepare", "to_dataset_dict"]

BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
            ".parquet": "parquet", ".txt": "text", ".arrow": "arrow"}
SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "dev": "validation",
                 "test": "test"}
_CACHE: OrderedDict[DataConfig, Prepared] = OrderedDict()
_CACHE_SIZE = 4
TEXT_BUILDERS = ("csv", "json", "text")  # read as text: their encoding matters
PROBE_TTL_S = 60.0  # how long a hub reachability probe is trusted
PROBE_TIMEOUT_S = 2.0


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


def _encoding(config: DataConfig) -> str | None:
    """The text encoding of local files, when the config has such a setting."""
    return getattr(config, "encoding", None)


def _load_files(files: dict[str, str], encoding: str | None = None) -> datasets.DatasetDict:
    for split, path in files.items():
        if not os.path.exists(path):
            raise DataError(f"data file {path!r} does not exist")
        if os.path.getsize(path) == 0:
            raise DataError(f"data file {path!r} ({split}) is empty")
    builder, kwargs = _builder(next(iter(files.values())))
    if encoding and builder in TEXT_BUILDERS:
        kwargs["encoding"] = encoding
    try:
        return datasets.load_dataset(builder, data_files=files, **kwargs)
    except Exception as err:  # noqa: BLE001 - the reader's own error, named with the file
        for split, path in files.items():
            why = _diagnose(path, split, builder, encoding)
            if why:
                raise DataError(why) from None
        cause = err.__cause__ or err
        raise DataError(f"could not read {', '.join(files.values())} as {builder}: "
                        f"{type(cause).__name__}: {cause}") from err


def _guess_encoding(raw: bytes) -> str:
    """A likely encoding of bytes that are not UTF-8 (a byte-order mark, else the
    Windows Western code page, which reads latin-1 text too)."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return name
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _diagnose(path: str, split: str, builder: str, encoding: str | None) -> str | None:
    """Why a text file could not be read, in words that say the fix (None: unknown):
    not UTF-8 (with the line, and the encoding it looks like), a header and no rows,
    only blank lines, or the first line that is not a JSON object."""
    if builder not in TEXT_BUILDERS:
        return None
    raw = pathlib.Path(path).read_bytes()
    name = pathlib.Path(path).name
    try:
        text = raw.decode(encoding or "utf-8")
    except (UnicodeDecodeError, LookupError) as err:
        if isinstance(err, LookupError):
            return f"encoding={encoding!r} is not a known text encoding; try 'utf-8' or 'cp1252'"
        line = raw.count(b"\n", 0, err.start) + 1
        guess = _guess_encoding(raw)
        has_setting = any(f.name == "encoding" for f in dataclasses.fields(DataConfig))
        how = (f"set the encoding (encoding={guess!r}), or re-save it as UTF-8" if has_setting
               else "re-save it as UTF-8 (a spreadsheet's Save As 'CSV UTF-8', or "
               f"iconv -f {guess} -t utf-8 {name} > utf8-{name}) and load that")
        return (f"data file {path!r} ({split}) is not {encoding or 'UTF-8'} text: byte "
                f"0x{raw[err.start]:02x} on line {line} cannot be read as "
                f"{encoding or 'UTF-8'}; it looks like {guess} text: {how}")
    lines = text.splitlines()
    rows = [(i, line) for i, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        return f"data file {path!r} ({split}) holds only blank lines: add some rows"
    if builder == "csv" and len(rows) == 1:
        return (f"data file {path!r} ({split}) holds only a header line ({rows[0][1][:80]!r}) "
                "and no rows: add rows below the header")
    if builder == "json":
        return _diagnose_json(path, split, text, rows)
    return None


def _diagnose_json(path: str, split: str, text: str, rows) -> str | None:
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as err:
        whole, whole_err = None, err
    else:
        if isinstance(whole, list) and not whole:
            return f"data file {path!r} ({split}) holds an empty list: add some rows"
        return None  # one JSON document: the reader failed for another reason
    if text.lstrip().startswith("[") or len(rows) == 1:
        return (f"data file {path!r} ({split}) line {whole_err.lineno} is not valid JSON "
                f"({whole_err.msg}, column {whole_err.colno}): fix that line")
    for number, line in rows:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            return (f"data file {path!r} ({split}) line {number} is not valid JSON "
                    f"({err.msg}, column {err.colno}): {line.strip()[:80]!r}; each line of "
                    "a JSON-lines file must be one object such as {\"text\": \"...\", "
                    "\"label\": \"...\"}: fix or delete that line")
        if not isinstance(value, dict):
            return (f"data file {path!r} ({split}) line {number} holds a "
                    f"{type(value).__name__} ({line.strip()[:40]}), not an object such as "
                    "{\"text\": \"...\"}: every line must be one object with the same keys")
    return None


def _env_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set: hub ids are then read from the local cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no")


def _probe_target() -> tuple[str, int]:
    """Where a connection to the hub first goes: the HTTPS proxy, if one is set."""
    from huggingface_hub import constants

    proxy = urllib.request.getproxies().get("https")
    if proxy:
        parsed = urllib.parse.urlparse(proxy if "//" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or 8080
    parsed = urllib.parse.urlparse(constants.ENDPOINT)
    return parsed.hostname, parsed.port or 443


def _hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """A quick TCP probe of the hub (or the proxy), so a machine without network knows
    in at most ``timeout`` seconds instead of retrying for half a minute. The probe runs
    in a thread, so a resolver that hangs cannot hold it longer."""
    result: list[bool] = []

    def probe():
        try:
            socket.create_connection(_probe_target(), timeout=timeout).close()
            result.append(True)
        except Exception:  # noqa: BLE001 - any failure to connect means offline
            result.append(False)

    thread = threading.Thread(target=probe, name="hub probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


_PROBE: dict = {"probe": None, "at": float("-inf"), "ok": False}
_PROBE_LOCK = threading.Lock()


def _hub_online(fresh: bool = False) -> bool:
    """``_hub_reachable()``, remembered for ``PROBE_TTL_S`` seconds."""
    with _PROBE_LOCK:
        if (fresh or _PROBE["probe"] is not _hub_reachable
                or time.monotonic() - _PROBE["at"] > PROBE_TTL_S):
            _PROBE.update(probe=_hub_reachable, ok=_hub_reachable(), at=time.monotonic())
        return _PROBE["ok"]


def offline_reason() -> str | None:
    """Why the hub cannot be used now (None when it can): ``HF_HUB_OFFLINE`` is set,
    or a quick probe (remembered for a minute) found no network."""
    if _env_offline():
        return "HF_HUB_OFFLINE is set"
    if not _hub_online():
        return "no network: the Hugging Face hub cannot be reached"
    return None


def hub_offline() -> bool:
    """True when hub datasets cannot be downloaded now (see ``offline_reason``): presets
    then use their built-in stand-ins, without any environment variable."""
    return offline_reason() is not None


def _load_hub(dataset_id: str, name: str | None, revision: str | None = None,
              split: str | None = None):
    try:
        if not _env_offline() and not _hub_online(fresh=True):
            raise ConnectionError("no network: the hub cannot be reached (with "
                                  "HF_HUB_OFFLINE=1 a copy in the local cache is used)")
        return datasets.load_dataset(dataset_id, name, revision=revision, split=split)
    except Exception as err:  # noqa: BLE001 - every hub failure gets the same advice
        why = f"{type(err).__name__}: {err}"
        if _env_offline():
            why = f"offline (HF_HUB_OFFLINE is set; {why})"
        raise DataError(
            f"could not load {dataset_id!r}{f' ({name})' if name else ''} from the Hugging "
            f"Face hub: {why}. Offline, use a built-in ({', '.join(builtin.NAMES[:4])}, ...; "
            "the dataset list shows them all) or local files (csv, json, parquet, txt)"
        ) from None


def _load_raw(config: DataConfig):
    if config.data_files:
        return _load_files(dict(config.data_files), _encoding(config))
    if config.dataset in builtin.NAMES:
        data = builtin.load(config.dataset, config.difficulty, config.seed, config.size)
        return to_dataset_dict(data)
    if config.dataset in CATALOG:
        entry = CATALOG[config.dataset]
        return _load_hub(entry.hub_id, config.name or entry.name, entry.revision, config.split)
    path = config.dataset
    if os.path.isfile(path):
        return _load_files({"train": path}, _encoding(config))
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
    level = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(logging.CRITICAL)  # a reader's failure: we say it better
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)
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
    splits, row_notes = check_rows(columns, splits, task_forced=config.task is not None)
    if columns.task == "lm" and config.task is None:
        row_notes += _label_hints(columns, splits["train"])
    columns, splits, label_notes = resolve_labels(columns, splits)
    tokenizer = TextTokenizer.train(config.tokenizer, _training_texts(columns, splits["train"]),
                                    config.vocab_size)
    arrays, stats, cut_notes = encode_splits(columns, splits, tokenizer, config.max_len)
    if columns.task == "lm":
        arrays, stats, cut_notes = _check_windows(arrays, stats, cut_notes, config)
    prepared = Prepared(config, columns, tokenizer, arrays, stats,
                        notes + row_notes + label_notes + cut_notes)
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
