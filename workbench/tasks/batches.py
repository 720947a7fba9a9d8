"""What a batch holds, what a model reads from it and how its logits are scored.

Training, validation and the analyses (saliency, gradient flow) all use these, so a
split is scored the same way wherever it is scored.

A batch is a dict of fixed-shape arrays:

- classify: ``tokens [B, T]``, ``mask [B, T]``, ``labels [B]``
- tag:      ``tokens``, ``mask``, ``labels [B, T]`` (-1 where a token is not scored)
- lm:       ``tokens``, ``mask``, ``targets [B, T]`` (the next token at each position)
- seq2seq:  ``tokens``, ``mask``, ``dec_tokens [B, U]``, ``dec_mask [B, U]``,
            ``targets [B, U]`` (``dec_tokens`` shifted left, ending in EOS)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def model_inputs(batch: dict) -> tuple:
    """The positional arguments a model takes from ``batch``."""
    if "dec_tokens" in batch:
        return batch["tokens"], batch["mask"], batch["dec_tokens"], batch["dec_mask"]
    return batch["tokens"], batch["mask"]


def targets_and_weights(batch: dict) -> tuple[jax.Array, jax.Array]:
    """What the logits are scored against, and which positions count."""
    if "targets" in batch:
        weights = batch["dec_mask"] if "dec_mask" in batch else batch["mask"]
        return batch["targets"], weights
    labels = batch["labels"]
    if labels.ndim == 1:  # one label per sequence; empty filler rows do not count
        return labels, batch["mask"].any(axis=1)
    return jnp.maximum(labels, 0), batch["mask"] & (labels >= 0)  # -1: ignored token


def loss_and_accuracy(logits: jax.Array, batch: dict) -> tuple[jax.Array, jax.Array]:
    """Mean cross-entropy (nats) and accuracy over the positions that count."""
    labels, weights = targets_and_weights(batch)
    weights = weights.astype(logits.dtype)
    total = jnp.maximum(weights.sum(), 1.0)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = hits(logits, labels)
    return (losses * weights).sum() / total, (correct * weights).sum() / total


def hits(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """1 where ``labels`` holds the highest logit, else 0: ``argmax == labels``, except
    that a tie for the top shares the point among the tied classes (all-equal logits
    score chance, ``1 / classes``).

    Written for XLA CPU, where a reduction over a comparison (``argmax``, ``logits ==
    top``) is slow on a language model's logits: ties are counted as
    ``sum(exp((logits - top) * 1e38))``, exactly 1 per tied class and nothing for a logit
    more than 1e-36 below the top (in float32 whatever the logits' type), a few times
    faster than ``argmax`` there (measured in ``benchmarks/README.md``)."""
    logits = jnp.asarray(logits)
    top = logits.max(axis=-1, keepdims=True)
    ties = jnp.exp((logits - top).astype(jnp.float32) * 1e38).sum(axis=-1, keepdims=True)
    scored = jnp.take_along_axis(logits, labels[..., None], axis=-1)
    return jnp.where(scored >= top, 1.0 / ties, 0.0)[..., 0]
