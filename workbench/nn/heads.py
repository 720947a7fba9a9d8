"""Task heads: turn a stack's outputs ``[B, T, F]`` into logits.

Pooling for sequence classification (last state / mean / attention), per-token projection
(tagging, language modelling, seq2seq), and the tied projection that reuses the embedding
matrix for a language model's output layer (Press & Wolf 2017; Inan et al. 2017).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from .scan import last_valid
from .transformer import masked_softmax


def pool_last(y: jax.Array, mask: jax.Array, directions: int) -> jax.Array:
    """``[B, T, D*H] -> [B, D*H]``: the forward half at each sequence's last real token;
    for bidirectional outputs (``directions == 2``) the backward half at the first token,
    where the backward direction has read the whole sequence."""
    last = last_valid(y, mask.sum(axis=1))
    if directions == 1:
        return last
    h = y.shape[-1] // 2
    return jnp.concatenate([last[:, :h], y[:, 0, h:]], axis=-1)


def pool_mean(y: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over real positions: ``[B, T, F] -> [B, F]``."""
    total = jnp.where(mask[..., None], y, 0.0).sum(axis=1)
    return total / jnp.maximum(mask.sum(axis=1, keepdims=True), 1)


class AttentionPool(nnx.Module):
    """Learned-query attention pooling: ``w = softmax_t(y_t . u)``, ``pooled = sum_t w_t y_t``.

    Returns the pooled vector and the weights ``[B, T]`` (shown in the trace as 'pool').
    """

    def __init__(self, features: int, *, rngs: nnx.Rngs):
        self.score = nnx.Linear(features, 1, rngs=rngs)

    def __call__(self, y: jax.Array, mask: jax.Array):
        w = masked_softmax(self.score(y)[..., 0], mask)
        return jnp.einsum("bt,btf->bf", w, y), w


def project(head: nnx.Linear, y: jax.Array) -> jax.Array:
    """Per-token projection as one 2-D matmul ``[B*T, F] @ [F, V]`` (faster on XLA CPU
    than a 3-D contraction)."""
    b, t, f = y.shape
    return head(y.reshape(b * t, f)).reshape(b, t, -1)


class TiedProjection(nnx.Module):
    """Output layer sharing the embedding matrix: ``logits = (y W_p) E^T + b``.

    ``W_p`` maps the model width to the embedding size when the two differ.
    """

    def __init__(self, features: int, embedding: nnx.Embed, *, rngs: nnx.Rngs):
        vocab, embed = embedding.embedding.shape
        self.embedding = embedding
        self.proj = nnx.Linear(features, embed, rngs=rngs) if features != embed else None
        self.bias = nnx.Param(jnp.zeros((vocab,)))

    def __call__(self, y: jax.Array) -> jax.Array:
        b, t, f = y.shape
        y = y.reshape(b * t, f)
        if self.proj is not None:
            y = self.proj(y)
        return (y @ self.embedding.embedding[...].T + self.bias[...][None]).reshape(b, t, -1)
