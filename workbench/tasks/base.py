"""What a task family is: the ``Task`` base class and the registry of its subclasses.

A task is described by a few facts (does it read labels, one per row or one per word? a
target text? one token stream cut into windows?) and the methods that differ between
families: how a split's columns become arrays (``encode``), what ``build_model`` needs
from the data (``model_args``), and its metrics beyond loss and accuracy (``scores``).
The data, model and training code read the facts and call the methods, so none of it
names a task; defining a subclass with a ``name`` registers it, like a cell class.

This layer sits under ``nn`` and ``data`` and imports neither: what it needs from them
(the tokenizer, a column reader, the prepared data) is passed in, duck-typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import config
from ..errors import ConfigError, DataError

TASKS: dict[str, type[Task]] = {}  # name -> class, filled as subclasses are defined


@dataclass(frozen=True)
class Split:
    """One split's columns as a task reads them: ``read(role)`` gives the values of the
    ``"text"``, ``"label"`` or ``"target"`` column, ``column(role)`` its name (for
    messages), and ``label_ids`` turns label values into ids, naming any it does not know."""

    read: Callable[[str], list]
    column: Callable[[str], str | None]
    label_ids: Callable[[list], list[int]]


class Task:
    """One task family. Subclasses set the class attributes and override what differs.

    - ``labels``: ``"row"`` (one class per row), ``"word"`` (one tag per word) or None;
    - ``target``: a second text column the model learns to write (seq2seq);
    - ``stream``: rows are windows of one token stream, scored on the next token (lm);
    - ``causal``: the model must not see what it predicts (no bidirectional encoder);
    - ``head``: the model built for it, a key of ``nn.models.HEADS``;
    - ``options``: the model settings that apply to this task alone (the app greys the
      others out);
    - ``writes``: the model writes a text with a decoder (its batches carry decoder
      tokens; the app translates what is typed);
    - ``main_metrics``: the metrics a table of runs shows for it;
    - ``inspect``: what the app's Inspect tab does with a typed text: ``"saliency"``,
      ``"generate"``, ``"tags"`` or ``"translate"`` (the UI owns the widgets of each);
    - ``noun`` and ``use``: words for messages ("a language model"; the CLI command).
    """

    name: ClassVar[str]
    labels: ClassVar[str | None] = None
    target: ClassVar[bool] = False
    stream: ClassVar[bool] = False
    causal: ClassVar[bool] = False
    writes: ClassVar[bool] = False
    head: ClassVar[str]
    main_metrics: ClassVar[tuple[str, ...]] = ()
    inspect: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()
    noun: ClassVar[str]
    use: ClassVar[str]
    preview_header: ClassVar[tuple[str, ...]] = ("text",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            TASKS[cls.name] = cls
            config.add_task(cls.name, causal=cls.causal)

    @classmethod
    def remove(cls) -> None:
        """Forget this task (a test that defined one cleans up)."""
        TASKS.pop(cls.name, None)
        config.remove_task(cls.name)

    # --- the data -------------------------------------------------------------------
    def encode(self, split: Split, tokenizer, max_len: int) -> dict[str, np.ndarray]:
        """One split's arrays: ``tokens [N, max_len]`` and ``lengths [N]`` (untruncated),
        plus what the task scores (``labels``, ``targets``, ``dec_tokens`` ...), or a
        token ``stream`` that is cut into windows later."""
        tokens, lengths = pad(tokenizer.encode(split.read("text")), max_len)
        return {"tokens": tokens, "lengths": lengths}

    def model_args(self, data) -> dict:
        """The data-derived arguments of ``build_model`` (``data``: a ``Prepared``), read
        off the facts: the task itself, the label count for a task with labels, the
        (shared) vocabulary for the decoder of one that writes. Every key always, as a
        saved run's ``meta.json`` records them."""
        return {"task": self.name, "vocab_size": data.vocab_size,
                "n_classes": None if self.labels is None else len(data.label_names),
                "target_vocab_size": data.vocab_size if self.writes else None}

    # --- the metrics ----------------------------------------------------------------
    def scores(self, data, split: str, kept: list[tuple[dict, np.ndarray]], loss: float,
               translate: Callable) -> dict:
        """Metrics of ``split`` beyond loss and accuracy, from the evaluated batches and
        their host predictions ``kept``; ``translate(tokens [B, T], mask [B, T])`` gives
        each row's greedy output ids (for a task that writes text)."""
        return {}

    def preview(self, tokenizer, names, batch: dict, i: int) -> tuple[str, ...]:
        """Row ``i`` of ``batch`` as the cells of ``preview_header``, for the data preview."""
        return (tokenizer.decode(batch["tokens"][i][batch["mask"][i]]),)


def task_named(name: str) -> Task:
    """The task called ``name``; a ``ConfigError`` naming the choices otherwise."""
    if name not in TASKS:
        raise ConfigError(f"task={name!r} is not supported; choose one of {', '.join(TASKS)}")
    return TASKS[name]()


def label_name(names: tuple[str, ...] | None, i: int) -> str:
    return names[i] if names is not None and 0 <= i < len(names) else str(i)


def until(ids, end: int) -> list[int]:
    """``ids`` up to (without) the first ``end`` token."""
    ids = [int(i) for i in ids]
    return ids[: ids.index(end)] if end in ids else ids


def pad(seqs: list[list[int]], max_len: int, fill: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``[N, max_len]`` ids (cut at ``max_len``) and the untruncated lengths ``[N]``."""
    out = np.full((len(seqs), max_len), fill, np.int32)
    lengths = np.array([len(s) for s in seqs], np.int64)
    for i, s in enumerate(seqs):
        s = s[:max_len]
        out[i, : len(s)] = s
    return out, lengths


def label_ids(values: list, names: tuple[str, ...], column: str) -> list[int]:
    """Labels as ids into ``names`` (strings are looked up by name); anything outside the
    names is an error that names the value."""
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
            f"label {bad[0]!r} in column {column!r} is not one of the {len(names)} "
            f"labels ({', '.join(names[:10])}{' ...' if len(names) > 10 else ''}); "
            f"{len(bad):,} of {len(values):,} labels are outside them"
            f"{' (also ' + ', '.join(others[:5]) + ')' if others else ''}: a label the "
            "training split does not have cannot be learned; fix or drop those rows")
    return out
