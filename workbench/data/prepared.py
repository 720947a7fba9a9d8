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

from .columns import Columns, DataError, column_values
from .tokenizer import BOS, EOS, TextTokenizer


def _pad(seqs: list[list[int]], max_len: int, fill: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``[N, max_len]`` ids (cut at ``max_len``) and the untruncated lengths ``[N]``."""
    out = np.full((len(seqs), max_len), fill, np.int32)
    lengths = np.array([len(s) for s in seqs], np.int64)
    for i, s in enumerate(seqs):
        s = s[:max_len]
        out[i, : len(s)] = s
    return out, lengths


def label_ids(values: list, columns: Columns) -> list[int]:
    """Labels as ids into ``columns.label_names`` (strings are looked up by name);
    anything outside the names is an error that names the value."""
    names = columns.label_names
    index = {n: i for i, n in enumerate(names)}
    out, bad = [], []
    for value in values:
        i = index.get(value, -2) if isinstance(value, str) else value
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < len(names):
            bad.append(value)
            i = -1
        out.append(int(i))
    if bad:
        others = sorted({repr(v) for v in bad} - {repr(bad[0])})
        raise DataError(
            f"label {bad[0]!r} in column {columns.label!r} is not one of the {len(names)} "
            f"labels ({', '.join(names[:10])}{' ...' if len(names) > 10 else ''}); "
            f"{len(bad):,} of {len(values):,} labels are outside them"
            f"{' (also ' + ', '.join(others[:5]) + ')' if others else ''}: a label the "
            "training split does not have cannot be learned; fix or drop those rows")
    return out


def _tag_labels(encoded, tags, max_len: int, columns: Columns) -> np.ndarray:
    """Per-token tag ids: a word's tag on its first token, -1 (ignored) on the rest."""
    out = np.full((len(encoded), max_len), -1, np.int32)
    for i, ((_, word_ids), row) in enumerate(zip(encoded, tags, strict=True)):
        row, previous = label_ids(row, columns), None
        for j, w in enumerate(word_ids[:max_len]):
            if w is not None and w != previous:
                out[i, j] = row[w]
            previous = w
    return out


def encode_split(columns: Columns, ds, tokenizer: TextTokenizer, max_len: int):
    """Arrays for one split, and its statistics (lengths before cutting, cut count)."""
    task = columns.task
    if task == "lm":
        ids = tokenizer.encode(column_values(ds, columns.text))
        stream = np.fromiter((t for doc in ids for t in (*doc, EOS)), np.int32)
        return {"stream": stream}, {"tokens": int(stream.size), "lengths": None, "cut": 0}
    if task == "tag":
        words, tags = column_values(ds, columns.text), column_values(ds, columns.label)
        for i, (w, t) in enumerate(zip(words, tags, strict=True)):
            if len(w) != len(t):
                raise DataError(f"example {i}: {len(w)} words in {columns.text!r} but "
                                f"{len(t)} tags in {columns.label!r}; tags must align with words")
        encoded = tokenizer.encode_words(words)
        tokens, lengths = _pad([e[0] for e in encoded], max_len)
        labels = _tag_labels(encoded, tags, max_len, columns)
        arrays = {"tokens": tokens, "lengths": lengths, "labels": labels}
    else:
        tokens, lengths = _pad(tokenizer.encode(column_values(ds, columns.text)), max_len)
        arrays = {"tokens": tokens, "lengths": lengths}
    if task == "classify":
        arrays["labels"] = np.asarray(label_ids(column_values(ds, columns.label), columns),
                                      np.int32)
    if task == "seq2seq":
        target = tokenizer.encode(column_values(ds, columns.target))
        arrays["dec_tokens"], _ = _pad([[BOS, *t] for t in target], max_len)
        arrays["targets"], dec_lengths = _pad([[*t, EOS] for t in target], max_len)
        arrays["dec_lengths"] = dec_lengths
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


def _lm_windows(stream: np.ndarray, length: int, offset: int) -> dict[str, np.ndarray]:
    n = max((stream.size - 1 - offset) // length, 0)
    idx = offset + np.arange(n)[:, None] * length + np.arange(length)[None, :]
    return {"tokens": stream[idx], "targets": stream[idx + 1],
            "lengths": np.full(n, length, np.int64)}


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
        if self.task != "lm":
            return arrays
        length = self.config.max_len
        # offsets leave room for one window at least, however short the stream
        room = max(1, min(length, arrays["stream"].size - length))
        offset = int(np.random.default_rng([self.config.seed, epoch]).integers(room)) \
            if train else 0
        return _lm_windows(arrays["stream"], length, offset)

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
        length, k = self.config.max_len, 1 if self.task == "lm" else self.config.buckets
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
        if self.task == "seq2seq":
            batch["dec_tokens"], batch["dec_mask"] = cut("dec_tokens"), mask("dec_lengths")
        return batch

    def summary(self) -> dict:
        """Sizes, truncation and notes, for the UI and the CLI."""
        return {"task": self.task, "columns": vars(self.columns), "vocab_size": self.vocab_size,
                "splits": {k: {"examples": v["examples"], "tokens": v["tokens"],
                               "cut": v["cut"]} for k, v in self.stats.items()},
                "notes": list(self.notes)}
