"""Encoded splits as numpy arrays, and fixed-shape batches drawn from them.

Every batch has exactly ``batch_size`` rows of ``max_len`` tokens, so a model compiles
once. Training batches are reshuffled each epoch (seeded); evaluation batches cover every
example once, the last one filled with empty rows (mask all False, weight 0).
Language modelling reads contiguous windows of the token stream (documents joined by
EOS), not padded sentences; each training epoch starts the windows at a new offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..tasks import Task, task_named
from ..tasks.base import Split, label_ids
from ..tasks.lm import windows
from .columns import Columns, DataError, column_values
from .tokenizer import TextTokenizer


def encode_split(columns: Columns, ds, tokenizer: TextTokenizer, max_len: int):
    """Arrays for one split (``Task.encode``), and its statistics (lengths before
    cutting, cut count)."""
    split = Split(read=lambda role: column_values(ds, getattr(columns, role)),
                  column=lambda role: getattr(columns, role),
                  label_ids=lambda values: label_ids(values, columns.label_names, columns.label))
    arrays = task_named(columns.task).encode(split, tokenizer, max_len)
    if "stream" in arrays:
        return arrays, {"tokens": int(arrays["stream"].size), "lengths": None, "cut": 0}
    cut = int((arrays["lengths"] > max_len).sum()) + int(
        (arrays.get("dec_lengths", np.zeros(0)) > max_len).sum())
    return arrays, {"tokens": int(arrays["lengths"].sum()), "lengths": arrays["lengths"],
                    "cut": cut}


def encode_splits(columns: Columns, splits: dict, tokenizer: TextTokenizer, max_len: int):
    """Arrays and statistics of every split, and a note for each split where sequences
    had to be cut to ``max_len``."""
    arrays, stats, notes = {}, {}, []
    for name, ds in splits.items():
        try:
            arrays[name], stats[name] = encode_split(columns, ds, tokenizer, max_len)
        except DataError as err:
            raise DataError(f"{name}: {err}") from None
        stats[name]["examples"] = len(ds)
        if stats[name]["cut"]:
            notes.append(f"{name}: {stats[name]['cut']:,} of {len(ds):,} sequences were longer "
                         f"than max_len={max_len} and were cut")
    return arrays, stats, notes


@dataclass
class Prepared:
    """A dataset ready to train on: tokenizer, label names, encoded splits, notes."""

    config: object
    columns: Columns
    tokenizer: TextTokenizer
    arrays: dict[str, dict[str, np.ndarray]]
    stats: dict[str, dict]
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.columns.task

    @property
    def family(self) -> Task:
        """The task's class (its facts and methods), where ``task`` is its name."""
        return task_named(self.columns.task)

    @property
    def label_names(self) -> tuple[str, ...] | None:
        return self.columns.label_names

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def splits(self) -> list[str]:
        return list(self.arrays)

    def rows(self, split: str, epoch: int = 0, train: bool = False) -> dict[str, np.ndarray]:
        """All rows of ``split`` as arrays (LM: windows at this epoch's offset)."""
        arrays = self.arrays[split]
        if "stream" not in arrays:
            return arrays
        length = self.config.max_len
        # offsets leave room for one window at least, however short the stream
        room = max(1, min(length, arrays["stream"].size - length))
        offset = int(np.random.default_rng([self.config.seed, epoch]).integers(room)) \
            if train else 0
        return windows(arrays["stream"], length, offset)

    def num_batches(self, split: str, train: bool | None = None) -> int:
        train = split == "train" if train is None else train
        n, size = len(self.rows(split)["lengths"]), self.config.batch_size
        return max(1, n // size) if train else -(-n // size)

    def batches(self, split: str, epoch: int = 0, train: bool | None = None
                ) -> Iterator[dict[str, np.ndarray]]:
        """Fixed-shape batches of ``split``. ``train`` (default: split == 'train')
        shuffles with ``(seed, epoch)`` and drops the ragged end; otherwise every row is
        visited once in order. With ``buckets > 1``, rows of similar length share a batch
        cut to their bucket's width (at most ``buckets`` shapes, so as many compilations)."""
        train = split == "train" if train is None else train
        rows = self.rows(split, epoch, train)
        if len(rows["lengths"]) == 0:
            raise DataError(f"split {split!r} is too short for one window of "
                            f"max_len={self.config.max_len}; lower max_len")
        rng = np.random.default_rng([self.config.seed, epoch, 1])
        for idx, width in self._groups(rows, train, rng):
            yield self._batch(rows, idx, width)

    def _widths(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """Each row's bucket width, and the widths in use."""
        length, k = self.config.max_len, 1 if self.family.stream else self.config.buckets
        widths = np.unique(-(-length * np.arange(1, k + 1) // k))
        longest = np.minimum(np.maximum(rows["lengths"], rows.get("dec_lengths", 0)), length)
        return widths[np.searchsorted(widths, longest)], widths

    def _groups(self, rows, train: bool, rng) -> list[tuple[np.ndarray, int]]:
        size, n = self.config.batch_size, len(rows["lengths"])
        row_width, widths = self._widths(rows)
        groups, leftover = [], []
        for width in widths:
            members = np.flatnonzero(row_width == width)
            if train:
                members = rng.permutation(members)
                full = len(members) - len(members) % size
                leftover.append(members[full:])
                members = members[:full]
            else:  # past n: empty filler rows
                members = np.concatenate([members, np.arange(n, n + (-len(members)) % size)])
            groups += [(members[i:i + size], int(width)) for i in range(0, len(members), size)]
        if train:  # ragged ends of all buckets, at full width; tile a tiny split
            rest = rng.permutation(np.concatenate(leftover))
            if not groups:
                rest = np.resize(rest, size)
            groups += [(rest[i:i + size], int(widths[-1]))
                       for i in range(0, len(rest) - len(rest) % size, size)]
            groups = [groups[i] for i in rng.permutation(len(groups))]
        return groups

    def _batch(self, rows: dict[str, np.ndarray], idx: np.ndarray,
               width: int) -> dict[str, np.ndarray]:
        real = idx < len(rows["lengths"])
        take = np.where(real, idx, 0)

        def cut(name):
            values = rows[name][take]
            return values[:, :width] if values.ndim == 2 else values

        def mask(lengths_name):
            lengths = np.where(real, np.minimum(rows[lengths_name][take], width), 0)
            return np.arange(width)[None, :] < lengths[:, None]

        batch = {"tokens": cut("tokens") * real[:, None], "mask": mask("lengths")}
        if "labels" in rows:
            labels = cut("labels")
            batch["labels"] = np.where(real.reshape((-1,) + (1,) * (labels.ndim - 1)),
                                       labels, 0 if labels.ndim == 1 else -1)
        if "targets" in rows:
            batch["targets"] = cut("targets")
        if "dec_tokens" in rows:
            batch["dec_tokens"], batch["dec_mask"] = cut("dec_tokens"), mask("dec_lengths")
        return batch

    def summary(self) -> dict:
        """Sizes, truncation and notes, for the UI and the CLI."""
        return {"task": self.task, "columns": vars(self.columns), "vocab_size": self.vocab_size,
                "splits": {k: {"examples": v["examples"], "tokens": v["tokens"],
                               "cut": v["cut"]} for k, v in self.stats.items()},
                "notes": list(self.notes)}
