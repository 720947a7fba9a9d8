"""Frozen model configuration, validated at construction.

A config is never mutated: widgets and the CLI build a new one with
``dataclasses.replace``. Values that come from the data (vocabulary size, number of
classes) are *not* part of the config; they are passed to ``build_model`` as arguments.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from .errors import ConfigError

# Lists, not tuples: a cell class defined later (``nn.cells.Cell`` subclass) or a task
# (``tasks.Task`` subclass) adds its name in place, so every module that imported them sees
# it (the config cannot import ``nn`` or ``tasks``).
RECURRENT_ARCHS = ["elman", "lstm", "gru"]
ARCHS = [*RECURRENT_ARCHS, "transformer"]
TASKS = ["classify", "lm", "tag", "seq2seq"]  # and CAUSAL: filled by tasks.Task subclasses
CAUSAL_TASKS = ["lm"]
POOLINGS = ("last", "mean", "attention")
ATTENTIONS = ("additive", "dot")


def add_recurrent_arch(name: str) -> None:
    """Accept ``arch=name`` (called when a cell class is defined)."""
    if name not in RECURRENT_ARCHS:
        RECURRENT_ARCHS.append(name)
        ARCHS.insert(len(RECURRENT_ARCHS) - 1, name)


def remove_recurrent_arch(name: str) -> None:
    if name in RECURRENT_ARCHS:
        RECURRENT_ARCHS.remove(name)
        ARCHS.remove(name)


def add_task(name: str, causal: bool) -> None:
    """Accept ``task=name`` (called when a task class is defined)."""
    if name not in TASKS:
        TASKS.append(name)
    if causal and name not in CAUSAL_TASKS:
        CAUSAL_TASKS.append(name)


def remove_task(name: str) -> None:
    for names in (TASKS, CAUSAL_TASKS):
        if name in names:
            names.remove(name)


def _choice(name: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not supported; choose one of {', '.join(allowed)}")


def _at_least(name: str, value: int, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name}={value!r} must be an integer >= {low}")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that decides a model's architecture.

    arch:          'elman' | 'lstm' | 'gru' | 'transformer'
    layers:        stacked layers (encoder and decoder each, for seq2seq)
    hidden:        recurrent state size, or the Transformer's model width
    embed:         token embedding size (projected to ``hidden`` for Transformers if different)
    heads:         attention heads (Transformer only); must divide ``hidden``
    ff_mult:       Transformer feed-forward width as a multiple of ``hidden``
    dropout:       dropout rate between layers / inside Transformer blocks (train mode only)
    bidirectional: run recurrent layers in both directions (not for 'lm')
    pooling:       how 'classify' turns a sequence into one vector
    tie_weights:   'lm': share the embedding matrix with the output projection
    attention:     seq2seq with a recurrent arch: 'additive' (Bahdanau) or 'dot' (Luong) scores
    unroll:        time steps unrolled per scan iteration (speed knob, same results; 1
                   compiles fastest, and with the fused recurrences it also stepped
                   as fast as 4 or faster, benchmarks/README.md)
    remat:         recurrent layers recompute their gates in the backward pass instead of
                   keeping them (same results; less memory for long sequences, slower)
    """

    arch: str = "lstm"
    layers: int = 1
    hidden: int = 128
    embed: int = 64
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.0
    bidirectional: bool = False
    pooling: str = "last"
    tie_weights: bool = False
    attention: str = "additive"
    unroll: int = 1
    remat: bool = False
    # Not a field: code written when the model config held the task gets told where it went.
    task: dataclasses.InitVar[str | None] = None

    def __post_init__(self, task: str | None = None) -> None:
        if task is not None:
            raise ConfigError(
                f"ModelConfig(task={task!r}): the task comes from the data now, like the "
                "vocabulary size; drop task= here (DataConfig(task=...) overrides the "
                "detected task, and build_model takes task=...)")
        _choice("arch", self.arch, ARCHS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("attention", self.attention, ATTENTIONS)
        for name, low in (("layers", 1), ("hidden", 1), ("embed", 1), ("heads", 1),
                          ("ff_mult", 1), ("unroll", 1)):
            _at_least(name, getattr(self, name), low)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout!r} must be in [0, 1); try 0.1")
        if self.arch == "transformer" and self.hidden % self.heads:
            raise ConfigError(
                f"heads={self.heads} must divide hidden={self.hidden} (the Transformer width); "
                f"try heads in {[h for h in range(1, 17) if self.hidden % h == 0]}"
            )
        if self.bidirectional and self.arch == "transformer":
            raise ConfigError(
                "bidirectional=True applies to recurrent archs; a Transformer encoder already "
                "sees both directions: set bidirectional=False"
            )

    def check_task(self, task: str) -> None:
        """Refuse a model that cannot serve ``task`` (the data's task: the config does not
        hold one, as it holds no vocabulary size)."""
        _choice("task", task, TASKS)
        if self.bidirectional and task in CAUSAL_TASKS:
            raise ConfigError(
                f"bidirectional=True cannot be used with task={task!r}: a model that "
                "predicts the next token must not see it; set bidirectional=False"
            )

    @property
    def recurrent(self) -> bool:
        return self.arch in RECURRENT_ARCHS

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def replace(self, **changes) -> ModelConfig:
        """A new config with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


TOKENIZERS = ("char", "word", "bpe")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it becomes fixed-shape batches.

    dataset:       a built-in name (``python -m workbench datasets``), a Hugging Face hub
                   id, or a local path (csv / json / jsonl / parquet / txt file, or folder)
    name:          the hub dataset's configuration, e.g. 'wikitext-2-raw-v1'
    split:         load only this split of a hub dataset or folder (e.g. 'train[:20%]'); it
                   becomes the training split and a validation split is held out from it
    data_files:    ``(split, path)`` pairs of local files, e.g. (('train', 'a.csv'),)
    task:          None = inferred from the columns; else 'classify' | 'lm' | 'tag' | 'seq2seq'
    text_column, label_column, target_column: override the detected columns
    tokenizer:     'char' | 'word' | 'bpe', trained on the training split
    vocab_size:    cap on the vocabulary (specials included)
    max_len:       tokens per sequence (longer ones are cut, and counted)
    batch_size:    sequences per batch (constant, so models compile once)
    buckets:       1 = every batch is max_len wide; k > 1 = rows of similar length are
                   batched together at k widths (shorter scans, up to k compilations)
    max_examples:  cap per split, so a huge dataset cannot exhaust memory
    val_fraction:  share of train held out when the dataset has no validation split
    tag_scheme:    'BIO' (IOB2) or 'IOB1': how entity tags are read for entity F1
    difficulty, size: knobs of the generated built-in tasks
    seed:          shuffling, held-out split and built-in generation
    """

    dataset: str = "reverse"
    name: str | None = None
    split: str | None = None
    data_files: tuple[tuple[str, str], ...] = ()
    task: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    target_column: str | None = None
    tokenizer: str = "word"
    vocab_size: int = 8000
    max_len: int = 64
    batch_size: int = 32
    buckets: int = 1
    max_examples: int = 200_000
    val_fraction: float = 0.1
    tag_scheme: str = "BIO"
    difficulty: int = 1
    size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError(f"dataset={self.dataset!r}: give a built-in name, a hub id or "
                              "a local path")
        if self.task is not None:
            _choice("task", self.task, TASKS)
        _choice("tokenizer", self.tokenizer, TOKENIZERS)
        _choice("tag_scheme", self.tag_scheme, ("BIO", "IOB1"))
        for name, low in (("vocab_size", 5), ("max_len", 1), ("batch_size", 1), ("buckets", 1),
                          ("max_examples", 1), ("difficulty", 1)):
            _at_least(name, getattr(self, name), low)
        if self.size is not None:
            _at_least("size", self.size, 1)
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction={self.val_fraction!r} must be in (0, 1); try 0.1")
        for pair in self.data_files:
            if len(pair) != 2:
                raise ConfigError(f"data_files entry {pair!r} must be (split, path)")

    def replace(self, **changes) -> DataConfig:
        return dataclasses.replace(self, **changes)


OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    optimizer:    'adam' | 'adamw' | 'sgd' (with momentum 0.9)
    lr:           peak learning rate; injected into the compiled step, so changing it
                  mid-run never recompiles
    weight_decay: decoupled weight decay ('adamw')
    clip_norm:    clip the global gradient norm to this (0 = off)
    warmup_steps: linear warm-up from 0 to ``lr``
    schedule:     'constant' or 'cosine' decay to 10% of ``lr`` at ``steps``
    steps:        optimisation steps in total
    minutes:      optional wall-clock budget; training stops at whichever comes first
    eval_every:   steps between validations (0 = only at the end)
    eval_batches: cap on validation batches per evaluation (None = the whole split)
    patience:     stop after this many validations without an improvement of more than
                  0.01% (None = never)
    keep_best:    end with the parameters of the best validation loss seen (they are
                  restored when the end's validation is worse: a run that overfits keeps
                  its best model, not its last)
    chunk:        steps run between host updates (one device-to-host transfer each)
    seed:         parameter init, dropout and data order
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float = 1.0
    warmup_steps: int = 0
    schedule: str = "constant"
    steps: int = 1000
    minutes: float | None = None
    eval_every: int = 200
    eval_batches: int | None = None
    patience: int | None = None
    keep_best: bool = False
    chunk: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        if isinstance(self.lr, bool) or not isinstance(self.lr, numbers.Real) or not (
                self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr={self.lr!r} must be a finite number > 0; try 1e-3")
        for name in ("weight_decay", "clip_norm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be >= 0")
        for name, low in (("steps", 1), ("chunk", 1), ("warmup_steps", 0), ("eval_every", 0),
                          ("seed", 0)):
            _at_least(name, getattr(self, name), low)
        for name in ("eval_batches", "patience"):
            if getattr(self, name) is not None:
                _at_least(name, getattr(self, name), 1)
        if not isinstance(self.keep_best, bool):
            raise ConfigError(f"keep_best={self.keep_best!r} must be true or false")
        if self.minutes is not None and not self.minutes > 0:
            raise ConfigError(f"minutes={self.minutes!r} must be > 0")

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)
