"""Small builders shared by the tests: configs for every architecture x task (the task is
the data's, so each case is a ``(task, config)`` pair), and batches padded to a chosen
length."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import ModelConfig

VOCAB, CLASSES = 13, 4
ARCHS = ("elman", "lstm", "gru", "transformer")
TASKS = ("classify", "lm", "tag", "seq2seq")


def all_configs(**overrides) -> list:
    """Every architecture x task x direction (bidirectional where it is allowed), as
    ``pytest.param(task, config)`` for ``parametrize("task, config", ...)``."""
    cases = []
    for arch in ARCHS:
        for task in TASKS:
            for bi in (False, True):
                if bi and (arch == "transformer" or task == "lm"):
                    continue
                fields = dict(arch=arch, bidirectional=bi, hidden=16, embed=8, heads=2,
                              layers=2)
                fields.update(overrides)
                config = ModelConfig(**fields)
                cases.append(pytest.param(task, config, id=config_id(task, config)))
    return cases


def config_id(task: str, config: ModelConfig) -> str:
    return f"{config.arch}-{task}{'-bi' if config.bidirectional else ''}"


def pad(rows: list[list[int]], length: int, fill: np.ndarray | None = None):
    """Left-aligned ``[B, length]`` tokens and mask; padding holds ``fill`` (junk) or 0."""
    tokens = np.zeros((len(rows), length), np.int32) if fill is None else fill.copy()
    mask = np.zeros((len(rows), length), bool)
    for b, row in enumerate(rows):
        tokens[b, : len(row)] = row
        mask[b, : len(row)] = True
    return tokens, mask


def make_batch(task: str, rows, dec_rows=None, labels=None, length=8, rng=None):
    """A batch dict for ``task`` (see ``workbench.train.step``)."""
    junk = None if rng is None else rng.integers(1, VOCAB, (len(rows), length)).astype(np.int32)
    tokens, mask = pad(rows, length, junk)
    batch = {"tokens": tokens, "mask": mask}
    if task == "seq2seq":
        dec_rows = rows if dec_rows is None else dec_rows
        batch["dec_tokens"], batch["dec_mask"] = pad(dec_rows, length, junk)
    if labels is not None:
        batch["labels"] = np.asarray(labels, np.int32)
    return batch
