"""Transformer: attention weights computed by their own function, pre-LayerNorm blocks,
and one stack that serves as encoder, causal decoder, or decoder with cross-attention.

Shapes: ``B`` batch, ``T`` query length, ``S`` key length, ``N`` heads, ``D`` model width.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from .trace import Trace


def attention_weights(q: jax.Array, k: jax.Array, mask: jax.Array) -> jax.Array:
    """Scaled dot-product attention weights ``[B, N, T, S]``.

    ``q``: ``[B, N, T, Dh]``, ``k``: ``[B, N, S, Dh]``, ``mask``: bool broadcastable to
    ``[B, N, T, S]`` (True = may attend). Masked keys get exactly 0; each row with at least
    one visible key sums to 1; a row with none is all zeros.
    """
    scores = jnp.einsum("bntd,bnsd->bnts", q, k) / math.sqrt(q.shape[-1])
    return masked_softmax(scores, mask)


def masked_softmax(scores: jax.Array, mask: jax.Array) -> jax.Array:
    """Softmax over the last axis where ``mask`` is True; exactly 0 elsewhere."""
    scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
    return jnp.where(mask, jax.nn.softmax(scores, axis=-1), 0.0)


def padding_mask(query_mask: jax.Array, key_mask: jax.Array) -> jax.Array:
    """``[B, 1, T, S]``: real queries may look at real keys."""
    return query_mask[:, None, :, None] & key_mask[:, None, None, :]


def causal_mask(mask: jax.Array) -> jax.Array:
    """``[B, 1, T, T]``: position t sees real positions <= t."""
    t = mask.shape[1]
    return padding_mask(mask, mask) & jnp.tril(jnp.ones((t, t), dtype=bool))[None, None]


def sinusoidal_positions(length: int, width: int) -> jax.Array:
    """Fixed sine/cosine position encodings ``[length, width]`` (Vaswani et al. 2017)."""
    pos = jnp.arange(length)[:, None]
    freq = jnp.exp(-math.log(10000.0) * jnp.arange(0, width, 2) / width)[None, :]
    enc = jnp.zeros((length, width))
    enc = enc.at[:, 0::2].set(jnp.sin(pos * freq))
    return enc.at[:, 1::2].set(jnp.cos(pos * freq)[:, : width // 2])


class MultiHeadAttention(nnx.Module):
    """Multi-head attention that also returns its weights ``[B, N, T, S]``."""

    def __init__(self, width: int, heads: int, *, rngs: nnx.Rngs):
        self.heads = heads
        self.q = nnx.Linear(width, width, rngs=rngs)
        self.kv = nnx.Linear(width, 2 * width, rngs=rngs)  # keys and values in one matmul
        self.out = nnx.Linear(width, width, rngs=rngs)

    def _split(self, x: jax.Array) -> jax.Array:
        b, t, d = x.shape
        return x.reshape(b, t, self.heads, d // self.heads).transpose(0, 2, 1, 3)

    def __call__(self, x: jax.Array, memory: jax.Array, mask: jax.Array):
        q = self._split(self.q(x))
        k, v = (self._split(a) for a in jnp.split(self.kv(memory), 2, axis=-1))
        w = attention_weights(q, k, mask)
        y = jnp.einsum("bnts,bnsd->bntd", w, v).transpose(0, 2, 1, 3)
        return self.out(y.reshape(x.shape)), w


class Block(nnx.Module):
    """Pre-LayerNorm block: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, width: int, heads: int, ff_mult: int, dropout: float, cross: bool,
                 *, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(width, rngs=rngs)
        self.attn = MultiHeadAttention(width, heads, rngs=rngs)
        self.norm2 = nnx.LayerNorm(width, rngs=rngs) if cross else None
        self.cross = MultiHeadAttention(width, heads, rngs=rngs) if cross else None
        self.norm3 = nnx.LayerNorm(width, rngs=rngs)
        self.ff1 = nnx.Linear(width, ff_mult * width, rngs=rngs)
        self.ff2 = nnx.Linear(ff_mult * width, width, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, x, self_mask, memory=None, cross_mask=None):
        h = self.norm1(x)
        a, w_self = self.attn(h, h, self_mask)
        x = x + self.dropout(a)
        w_cross = None
        if self.cross is not None:
            a, w_cross = self.cross(self.norm2(x), memory, cross_mask)
            x = x + self.dropout(a)
        x = x + self.dropout(self.ff2(jax.nn.gelu(self.ff1(self.norm3(x)))))
        return x, w_self, w_cross


class TransformerStack(nnx.Module):
    """Embeddings ``[B, T, E]`` -> positions added -> ``layers`` blocks -> final LayerNorm.

    ``causal``: each position sees only itself and earlier ones (language modelling).
    ``cross``: blocks also attend to ``memory`` (an encoder's output) for seq2seq.
    ``__call__(x, mask, memory=None, memory_mask=None) -> (y [B, T, D], Trace)``; outputs
    at padded positions are zero.
    """

    def __init__(self, in_features: int, width: int, heads: int, layers: int,
                 ff_mult: int = 4, dropout: float = 0.0, causal: bool = False,
                 cross: bool = False, *, rngs: nnx.Rngs):
        self.width = width
        self.causal = causal
        self.proj = nnx.Linear(in_features, width, rngs=rngs) if in_features != width else None
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.blocks = nnx.List([Block(width, heads, ff_mult, dropout, cross, rngs=rngs)
                                for _ in range(layers)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, x, mask, memory=None, memory_mask=None):
        if self.proj is not None:
            x = self.proj(x)
        x = x * math.sqrt(self.width) + sinusoidal_positions(x.shape[1], self.width)[None]
        x = self.dropout(x)
        self_mask = causal_mask(mask) if self.causal else padding_mask(mask, mask)
        cross_mask = None if memory is None else padding_mask(mask, memory_mask)
        keep = mask[..., None]
        hidden, w_self, w_cross = [], [], []
        for block in self.blocks:
            x, ws, wc = block(x, self_mask, memory, cross_mask)
            hidden.append(jnp.where(keep, x, 0.0)[None])
            w_self.append(ws)
            w_cross.append(wc)
        attention = {"self": jnp.stack(w_self)}
        if memory is not None:
            attention["cross"] = jnp.stack(w_cross)
        trace = Trace(hidden=jnp.stack(hidden), gates={}, attention=attention, mask=mask)
        return jnp.where(keep, self.norm(x), 0.0), trace
