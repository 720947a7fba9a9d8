"""Data for a run that is already trained, encoded with the run's own tokenizer and labels.

``prepare_saved(checkpoint, data_files, splits)`` is ``data.prepare`` for a saved model:
nothing is learned from the data (no tokenizer is trained, no label names are read off
a train split), so any file can be scored as any split (``eval RUN --data-files
test=new.jsonl``) and the model sees exactly the ids it was trained with. Without
``data_files`` it reads the run's own dataset: the same splits, the same held-out
validation rows.

It reuses ``data``'s loading and ``rows.check_rows`` (blank cells dropped and counted,
bad labels named), so a file is checked exactly as for training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from ..tasks import task_named
from . import load as data_module
from .catalog import CATALOG
from .columns import Columns, DataError, column_values, detect_columns
from .prepared import Prepared, encode_splits
from .rows import check_rows


def prepare_saved(ck, data_files: Sequence[tuple[str, str]] = (),
                  splits: Iterable[str] | None = None) -> Prepared:
    """The splits named in ``splits`` (default: all) of ``data_files`` (default: the
    run's own dataset), encoded with ``ck.tokenizer`` and ``ck.label_names``.

    ``ck`` is a loaded ``train.checkpoint.Checkpoint``; only its fields are read, so the
    data layer needs no import of the training layer."""
    config = ck.configs["data"]
    task = ck.task
    if ck.tokenizer is None:
        raise DataError(f"{ck.path} was saved without its tokenizer, so no text can be "
                        "encoded for it; re-save the run with Trainer.save")
    with data_module.quiet():
        if data_files:
            config = config.replace(data_files=tuple(data_files))
            loaded, notes = _canonical(data_module.load_raw(config), config)
            entry = None
        else:
            loaded, notes = data_module.load_splits(config)
            entry = None if config.data_files else CATALOG.get(config.dataset)
    source = ", ".join(p for _, p in config.data_files) or repr(config.dataset)
    wanted = list(loaded) if splits is None else list(splits)
    for name in wanted:
        if name not in loaded:
            raise DataError(f"split {name!r} does not exist in {source}; its splits are "
                            f"{', '.join(loaded)}: choose one of them")
    loaded = {name: loaded[name] for name in wanted}
    features = next(iter(loaded.values())).features

    def column(field: str) -> str | None:
        chosen = getattr(config, field) or (entry and getattr(entry, field))
        return chosen if chosen is None or not data_files or chosen in features else None

    columns = detect_columns(features, task, column("text_column"), column("label_column"),
                             column("target_column"))
    loaded, row_notes = check_rows(columns, loaded, task_forced=True)
    file_names = columns.label_names  # a ClassLabel feature's names, in the file's order
    labels = task_named(task).labels
    if labels is not None:
        columns = dataclasses.replace(columns, label_names=file_names or ck.label_names)
        loaded, label_notes = _drop_unlabelled(columns, loaded)
        row_notes += label_notes
    arrays, stats, cut_notes = encode_splits(columns, loaded, ck.tokenizer, config.max_len)
    if file_names is not None and labels is not None:
        _to_saved_ids(arrays, file_names, ck.label_names, source)
        columns = dataclasses.replace(columns, label_names=ck.label_names)
    if task_named(task).stream:
        for name in arrays:
            if arrays[name]["stream"].size < config.max_len + 1:
                raise DataError(
                    f"{name} of {source} holds {arrays[name]['stream'].size:,} tokens, fewer "
                    f"than one window of max_len + 1 = {config.max_len + 1:,} that the saved "
                    "model reads; give more text")
    return Prepared(config, columns, ck.tokenizer, arrays, stats,
                    notes + row_notes + cut_notes)


def _canonical(raw, config) -> tuple[dict, list[str]]:
    """Split names as ``data`` names them ('dev' -> 'validation'), capped like training
    data; no split is required and none is held out."""
    if not hasattr(raw, "items"):
        raw = {"train": raw}
    splits, notes = {}, []
    for name, ds in raw.items():
        canonical = data_module.SPLIT_ALIASES.get(name.lower(), name)
        if len(ds) > config.max_examples:
            ds = ds.select(range(config.max_examples))
            notes.append(f"{canonical}: capped at max_examples={config.max_examples:,} "
                         "examples")
        splits.setdefault(canonical, ds)
    return splits, notes


def _drop_unlabelled(columns: Columns, splits: dict) -> tuple[dict, list[str]]:
    """Classification rows labelled -1 (unlabelled, as in GLUE test splits) cannot be
    scored: dropped, with a note."""
    notes = []
    if task_named(columns.task).labels != "row":
        return splits, notes
    for name, ds in list(splits.items()):
        labels = column_values(ds, columns.label)
        unlabelled = np.array([v == -1 and not isinstance(v, str) for v in labels], bool)
        if unlabelled.any():
            if unlabelled.all():
                raise DataError(f"every row of {name} is unlabelled (-1): there is nothing to "
                                "score; give a file with labels")
            notes.append(f"{name}: dropped {int(unlabelled.sum()):,} unlabelled (-1) rows")
            splits[name] = ds.select(np.flatnonzero(~unlabelled))
    return splits, notes


def _to_saved_ids(arrays: dict, file_names: Sequence[str], saved: Sequence[str],
                  source: str) -> None:
    """Labels read as ids of the file's own class names, rewritten as ids of the saved
    run's names (matched by name)."""
    index = {name: i for i, name in enumerate(saved)}
    unknown = [n for n in file_names if n not in index]
    table = np.array([index.get(n, -2) for n in file_names], np.int32)
    for name, split in arrays.items():
        labels = split["labels"]
        used = labels >= 0
        mapped = np.where(used, table[np.where(used, labels, 0)], labels)
        if (mapped == -2).any():
            raise DataError(f"{name} of {source} has labels the saved run does not know "
                            f"({', '.join(unknown[:5])}); its labels are "
                            f"{', '.join(saved[:10])}")
        split["labels"] = mapped.astype(np.int32)
