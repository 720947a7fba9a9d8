"""Offline datasets that ship with the package: generated tasks and stdlib prose.

Each built-in is a small diagnostic: it isolates one thing a sequence model must do
(remember, count, match brackets, align source and target) so the trace shows whether an
architecture can do it. The registry below names each one's task, row maker
(``synthetic.py``), labels and description; everything is pure Python + NumPy and
deterministic for a given ``(name, difficulty, seed, size)``; ``load.py`` turns the
columns into Hugging Face datasets. Columns: classify ``text``/``label``; tag
``tokens``/``tags``; seq2seq ``source``/``target``; lm ``text``. Labels are ids into
``label_names``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .synthetic import GENERATED, Generated, Maker, Row

DEFAULT_SIZE = 4000          # training examples when ``size`` is None
MIN_VALIDATION = 50          # validation holds max(MIN_VALIDATION, size // 8) examples


@dataclass(frozen=True)
class BuiltinData:
    """One loaded built-in: ``splits[split][column]`` is a list of values."""

    name: str
    task: str
    description: str
    splits: dict[str, dict[str, list]]
    label_names: tuple[str, ...] | None


# --- prose: real English from the CPython help topics ------------------------------------

_UNDERLINE = re.compile(r"\s*[*=~^\-]{3,}\s*")


def _normalise(doc: str) -> str:
    """Rewrap each paragraph onto one line, drop heading underlines, keep paragraph breaks."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", doc.strip()):
        lines = [line for line in block.split("\n") if not _UNDERLINE.fullmatch(line)]
        text = " ".join(" ".join(lines).split())
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _prose(size: int | None) -> dict[str, dict[str, list]]:
    """The language-reference help topics (``pydoc_data``) in sorted-name order; every 10th
    document goes to validation. ``size`` caps the number of training documents."""
    from pydoc_data.topics import topics

    docs = [_normalise(topics[key]) for key in sorted(topics)]
    docs = [doc for doc in docs if doc]
    train = [doc for i, doc in enumerate(docs) if i % 10 != 9]
    validation = [doc for i, doc in enumerate(docs) if i % 10 == 9]
    return {"train": {"text": train[:size]}, "validation": {"text": validation}}


# --- the registry ------------------------------------------------------------------------


_BUILTINS: dict[str, Generated] = {
    "prose": Generated("lm", None, None, "Real English: the Python language-reference help "
                       "topics that ship with CPython, one document per topic."),
    **GENERATED,
}
NAMES: tuple[str, ...] = tuple(_BUILTINS)


def describe() -> list[tuple[str, str, str]]:
    """(name, task, description) for every built-in, in display order; generates nothing."""
    return [(name, spec.task, spec.description) for name, spec in _BUILTINS.items()]


def _columns(rows: list[Row]) -> dict[str, list]:
    return {column: [row[column] for row in rows] for column in rows[0]}


def _generate(name: str, make: Maker, difficulty: int, seed: int, size: int) -> dict:
    """`size` training rows and max(50, size // 8) validation rows from independent streams.
    Validation rows already in train are redrawn; after 20 draws a row on average (tiny
    spaces such as short parity strings) duplicates are let through."""
    name_key = zlib.crc32(name.encode())
    train_rng, validation_rng = (np.random.default_rng([seed, difficulty, name_key, split])
                                 for split in (0, 1))
    train = [make(train_rng, difficulty) for _ in range(size)]
    seen = {repr(row) for row in train}
    n, tries, validation = max(MIN_VALIDATION, size // 8), 0, []
    while len(validation) < n:
        row, tries = make(validation_rng, difficulty), tries + 1
        if repr(row) not in seen or tries > 20 * n:
            validation.append(row)
    return {"train": _columns(train), "validation": _columns(validation)}


def _check_int(label: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{label}={value!r} must be an integer >= {low}")


def load(name: str, difficulty: int = 1, seed: int = 0, size: int | None = None) -> BuiltinData:
    """Load built-in `name`; deterministic for a given (name, difficulty, seed, size).

    difficulty >= 1 scales the hardness (length, distance, digits); size is the number of
    training examples (default 4000; for 'prose' a cap on training documents, default all).
    """
    if name not in _BUILTINS:
        raise ValueError(f"unknown built-in dataset {name!r}; choose one of {', '.join(NAMES)}")
    _check_int("difficulty", difficulty, 1)
    _check_int("seed", seed, 0)
    if size is not None:
        _check_int("size", size, 1)
    spec = _BUILTINS[name]
    if spec.make is None:
        splits = _prose(size)
    else:
        splits = _generate(name, spec.make, difficulty, seed, size or DEFAULT_SIZE)
    labels = spec.labels(difficulty) if callable(spec.labels) else spec.labels
    return BuiltinData(name, spec.task, spec.description, splits, labels)
