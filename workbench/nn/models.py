"""Models for the four tasks' heads, and ``build_model``: the one place config becomes
modules.

Every model returns ``(logits, trace)`` (see ``trace.py``):

- ``Classifier``      ``(tokens, mask) -> [B, C]``
- ``LanguageModel``   ``(tokens, mask) -> [B, T, V]`` (causal: position t sees tokens <= t)
- ``Tagger``          ``(tokens, mask) -> [B, T, C]``
- seq2seq             ``(tokens, mask, dec_tokens, dec_mask) -> [B, T_dec, V_target]``

``tokens`` are int ``[B, T]`` ids, ``mask`` bool ``[B, T]`` with real tokens first.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from ..config import ConfigError, ModelConfig
from ..tasks import task_named
from .heads import AttentionPool, TiedProjection, pool_last, pool_mean, project
from .rnn import RecurrentStack
from .seq2seq import RecurrentSeq2Seq, TransformerSeq2Seq
from .trace import Trace
from .transformer import TransformerStack


def build_stack(config: ModelConfig, *, causal: bool, rngs: nnx.Rngs):
    """The encoder stack for ``config``: recurrent layers or Transformer blocks."""
    c = config
    if c.recurrent:
        return RecurrentStack(c.arch, c.embed, c.hidden, c.layers, c.bidirectional,
                              c.dropout, c.unroll, remat=c.remat, rngs=rngs)
    return TransformerStack(c.embed, c.hidden, c.heads, c.layers, c.ff_mult, c.dropout,
                            causal=causal, rngs=rngs)


class _Encoder(nnx.Module):
    """Embedding -> dropout -> stack -> dropout: shared by the single-input models."""

    def __init__(self, config: ModelConfig, vocab_size: int, causal: bool, *, rngs: nnx.Rngs):
        self.embed = nnx.Embed(vocab_size, config.embed, rngs=rngs)
        self.stack = build_stack(config, causal=causal, rngs=rngs)
        self.dropout = nnx.Dropout(config.dropout, rngs=rngs)
        self.features = config.directions * config.hidden

    def input_embeddings(self, tokens: jax.Array) -> jax.Array:
        """What the first layer reads ``[B, T, E]``; a call given ``embedded=`` reads that
        instead (saliency differentiates the output with respect to it)."""
        return self.embed(tokens)

    def encode(self, tokens: jax.Array, mask: jax.Array, embedded: jax.Array | None = None
               ) -> tuple[jax.Array, Trace]:
        x = self.input_embeddings(tokens) if embedded is None else embedded
        y, trace = self.stack(self.dropout(x), mask)
        return self.dropout(y), trace


class Classifier(_Encoder):
    """Sequence classification: pool the stack's outputs ('last', 'mean' or 'attention'),
    then one linear layer to class logits."""

    def __init__(self, config: ModelConfig, vocab_size: int, n_classes: int,
                 *, rngs: nnx.Rngs):
        super().__init__(config, vocab_size, causal=False, rngs=rngs)
        self.pooling, self.directions = config.pooling, config.directions
        self.pool = AttentionPool(self.features, rngs=rngs) if config.pooling == "attention" \
            else None
        self.head = nnx.Linear(self.features, n_classes, rngs=rngs)

    def __call__(self, tokens, mask, embedded=None):
        y, trace = self.encode(tokens, mask, embedded)
        if self.pooling == "last":
            pooled = pool_last(y, mask, self.directions)
        elif self.pooling == "mean":
            pooled = pool_mean(y, mask)
        else:
            pooled, w = self.pool(y, mask)
            trace = trace.with_attention(pool=w[None, :, None, None, :])
        return self.head(pooled), trace


class LanguageModel(_Encoder):
    """Next-token prediction with a causal stack; optional weight tying."""

    def __init__(self, config: ModelConfig, vocab_size: int, *, rngs: nnx.Rngs):
        super().__init__(config, vocab_size, causal=True, rngs=rngs)
        if config.tie_weights:
            self.head = TiedProjection(self.features, self.embed, rngs=rngs)
        else:
            self.head = nnx.Linear(self.features, vocab_size, rngs=rngs)

    def __call__(self, tokens, mask, embedded=None):
        y, trace = self.encode(tokens, mask, embedded)
        if isinstance(self.head, TiedProjection):
            return self.head(y), trace
        return project(self.head, y), trace


class Tagger(_Encoder):
    """Per-token classification (e.g. NER tags)."""

    def __init__(self, config: ModelConfig, vocab_size: int, n_classes: int,
                 *, rngs: nnx.Rngs):
        super().__init__(config, vocab_size, causal=False, rngs=rngs)
        self.head = nnx.Linear(self.features, n_classes, rngs=rngs)

    def __call__(self, tokens, mask, embedded=None):
        y, trace = self.encode(tokens, mask, embedded)
        return project(self.head, y), trace


# The model each task's ``head`` names (``tasks.Task.head``): a function of the config
# giving the class, and the data-derived size the class takes after ``vocab_size``.
HEADS = {
    "classifier": (lambda config: Classifier, "n_classes"),
    "tagger": (lambda config: Tagger, "n_classes"),
    "lm": (lambda config: LanguageModel, None),
    "seq2seq": (lambda config: RecurrentSeq2Seq if config.recurrent else TransformerSeq2Seq,
                "target_vocab_size"),
}


def build_model(config: ModelConfig, vocab_size: int, n_classes: int | None = None,
                target_vocab_size: int | None = None, seed: int = 0, *, task: str
                ) -> nnx.Module:
    """Build the model for ``task`` (the data's: 'classify', 'lm', 'tag', 'seq2seq'): the
    head the task names, on the stack ``config`` configures.

    ``vocab_size``: input vocabulary; ``n_classes``: labels or tags ('classify', 'tag');
    ``target_vocab_size``: decoder vocabulary ('seq2seq'; defaults to ``vocab_size``).
    Like them, the task comes from the data (``train.trainer.model_args(data)`` holds
    them all), so one architecture config serves every task that allows it.
    """
    config.check_task(task)
    _require(vocab_size, "vocab_size", "the tokenizer's vocabulary size")
    model_class, extra = HEADS[task_named(task).head]
    sizes = (vocab_size,)
    if extra == "n_classes":
        _require(n_classes, "n_classes", f"the number of labels, needed for task={task!r}")
        sizes += (n_classes,)
    elif extra == "target_vocab_size":
        target = vocab_size if target_vocab_size is None else target_vocab_size
        _require(target, "target_vocab_size", "the target tokenizer's vocabulary size")
        sizes += (target,)
    return _constructor(model_class(config), config, sizes)(jnp.asarray(seed, jnp.uint32))


def eval_view(model: nnx.Module) -> nnx.Module:
    """The model in eval mode (dropout off) sharing its parameters. Its own mode is left
    as it is: the UI probes a model that another thread is training, and evaluation must
    not hand back a model in a mode it did not have. The one way every layer above turns
    a model to eval mode."""
    return nnx.view(model, deterministic=True, raise_if_not_found=False)


def eval_split(model: nnx.Module) -> tuple:
    """``(graphdef, state)`` of ``eval_view(model)``, what a jitted pure function takes."""
    return nnx.split(eval_view(model))


@functools.lru_cache(maxsize=32)
def _constructor(cls, config: ModelConfig, sizes: tuple[int, ...]):
    """One compiled program that draws every initial weight of ``cls(config, *sizes)``
    from a seed. Built eagerly, each initializer compiles on its own (34 small XLA compiles,
    1.4 s for the app's default LSTM, against 0.7 s for this one); the weights are the
    same. Cached, so rebuilding a model (a new seed, another run) compiles nothing."""

    def construct(seed):
        keys = jax.random.key(seed), jax.random.key(seed + 1)
        return cls(config, *sizes, rngs=nnx.Rngs(params=keys[0], dropout=keys[1]))

    return nnx.jit(construct)


def _require(value, name: str, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name}={value!r}: pass {what} (an integer >= 1)")


def count_params(model: nnx.Module) -> int:
    """Number of trainable parameters (shared matrices counted once)."""
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def count_params_of(config: ModelConfig, **sizes) -> int:
    """Parameters of the model ``build_model(config, **sizes)`` would build, counted on
    abstract shapes (nothing allocated, so a form can show it on every change)."""
    return count_params(nnx.eval_shape(lambda: build_model(config, **sizes)))
