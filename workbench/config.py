"""Frozen model configuration, validated at construction.

A config is never mutated: widgets and the CLI build a new one with
``dataclasses.replace``. Values that come from the data (vocabulary size, number of
classes) are *not* part of the config; they are passed to ``build_model`` as arguments.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

RECURRENT_ARCHS = ("elman", "lstm", "gru")
ARCHS = (*RECURRENT_ARCHS, "transformer")
TASKS = ("classify", "lm", "tag", "seq2seq")
POOLINGS = ("last", "mean", "attention")
ATTENTIONS = ("additive", "dot")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not supported; choose one of {', '.join(allowed)}")


def _at_least(name: str, value: int, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name}={value!r} must be an integer >= {low}")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that decides a model's architecture.

    arch:          'elman' | 'lstm' | 'gru' | 'transformer'
    task:          'classify' | 'lm' | 'tag' | 'seq2seq'
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
    unroll:        time steps unrolled per scan iteration (speed knob, same results)
    """

    arch: str = "lstm"
    task: str = "classify"
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
    unroll: int = 4

    def __post_init__(self) -> None:
        _choice("arch", self.arch, ARCHS)
        _choice("task", self.task, TASKS)
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
        if self.bidirectional and self.task == "lm":
            raise ConfigError(
                "bidirectional=True cannot be used with task='lm': a language model must not "
                "see the tokens it predicts; set bidirectional=False"
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
