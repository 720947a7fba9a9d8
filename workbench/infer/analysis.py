"""The numbers the visual views need: probes, gradient flow, saliency (PCA and neuron
search: ``geometry.py``).

Everything here is JAX/NumPy and returns host data (numpy arrays, Python floats), so a test
can read it without a browser and ``ui/plots`` draws it without touching a model. Model
passes run on an eval-mode view (``nn.models.eval_view``: dropout off, parameters
shared), so the caller's model keeps its own train/eval mode. Jitted passes are
keyed on the model's graph definition and the input shapes, so they compile once per shape;
``TRACE_COUNT`` counts traces so tests can prove it.

Input-side quantities (gradient flow, saliency) are taken with respect to the token
embeddings: every model has ``input_embeddings(tokens)`` and, called with
``embedded=x``, reads ``x`` in their place, so the rest of the model runs unchanged and
``jax.grad`` sees the embeddings as an input.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..nn.models import eval_split
from ..nn.trace import Trace
from ..tasks.batches import loss_and_accuracy, model_inputs, targets_and_weights

TRACE_COUNT = dict.fromkeys(("probe", "gradient_flow", "saliency"), 0)


# --- running a model ------------------------------------------------------------------------
def trace_to_numpy(trace: Trace) -> Trace:
    """The same ``Trace`` with every leaf a numpy array (one ``jax.device_get``)."""
    return jax.device_get(trace)


@partial(jax.jit, static_argnums=0)
def _forward(graphdef, state, inputs):
    TRACE_COUNT["probe"] += 1
    return nnx.merge(graphdef, state)(*inputs)


def probe(model: nnx.Module, tokens, mask, dec_tokens=None, dec_mask=None
          ) -> tuple[np.ndarray, Trace]:
    """Eval-mode forward pass: ``(logits, trace)`` as numpy, in one device-to-host copy.

    ``tokens``/``mask`` are ``[B, T]`` (plus ``dec_tokens``/``dec_mask`` ``[B, U]`` for
    seq2seq). Compiles once per model structure and input shape."""
    inputs = (jnp.asarray(tokens, jnp.int32), jnp.asarray(mask, bool))
    if dec_tokens is not None:
        inputs += (jnp.asarray(dec_tokens, jnp.int32), jnp.asarray(dec_mask, bool))
    return jax.device_get(_forward(*eval_split(model), inputs))


def _embeddings(graphdef, state, tokens: jax.Array) -> jax.Array:
    """The input embeddings ``[B, T, E]`` the model would feed its first layer."""
    return nnx.merge(graphdef, state).input_embeddings(tokens)


def _run_from(graphdef, state, x: jax.Array, inputs: tuple):
    """The model's ``(logits, trace)`` reading input embeddings ``x`` instead of its
    lookup (the gradient of saliency flows to ``x``)."""
    return nnx.merge(graphdef, state)(*inputs, embedded=x)


def eval_traces(model: nnx.Module, prepared, split: str, max_batches: int):
    """``(batch, numpy trace)`` for the first ``max_batches`` evaluation batches of
    ``split``; the trace of the part that reads the input (an encoder-decoder's encoder)."""
    for i, batch in enumerate(prepared.batches(split, train=False)):
        if i >= max_batches:
            return
        _, trace = probe(model, *model_inputs(batch))
        yield batch, trace.encoder


# --- gradient flow --------------------------------------------------------------------------
@partial(jax.jit, static_argnums=0)
def _input_grad_norms(graphdef, state, batch: dict) -> jax.Array:
    TRACE_COUNT["gradient_flow"] += 1
    inputs = model_inputs(batch)
    count = jnp.maximum(targets_and_weights(batch)[1].sum(), 1).astype(jnp.float32)

    def summed_loss(x):
        logits, _ = _run_from(graphdef, state, x, inputs)
        return loss_and_accuracy(logits, batch)[0] * count

    grads = jax.grad(summed_loss)(_embeddings(graphdef, state, inputs[0]))
    return jnp.linalg.norm(grads, axis=-1)


def gradient_flow(model: nnx.Module, batch: dict) -> np.ndarray:
    """``[T]``: how much the loss still feels each input position (the vanishing-gradient
    picture of Bengio et al. 1994 and Pascanu et al. 2013).

    Measured: ``|| d L / d x_t ||``, the norm of the gradient of the summed loss (the batch's
    mean training loss times the number of scored items, so each sequence contributes its
    own loss's gradient) with respect to ``x_t``, the input embedding fed to the first
    layer at step ``t`` (the source side for seq2seq). ``x_t`` enters a recurrent layer
    only at step ``t``, so ``dL/dx_t = (dh_t/dx_t)^T dL/dh_t``: a one-step Jacobian times
    the gradient that reaches the hidden state ``h_t`` (both directions' sum when
    bidirectional), and its decay over ``t`` follows that of ``dL/dh_t``. For a
    Transformer it is the same input-side gradient (no recurrence, so little decay).
    Averaged over the sequences in which position ``t`` is real; NaN where none is.
    Eval mode (no dropout)."""
    mask = np.asarray(batch["mask"], bool)
    norms = np.asarray(_input_grad_norms(*eval_split(model), dict(batch)))
    real = mask.sum(axis=0)
    total = np.where(mask, norms, 0.0).sum(axis=0)
    return np.divide(total, real, out=np.full(total.shape, np.nan), where=real > 0)


def gradient_ratio(flow: np.ndarray) -> float:
    """Gradient flow at the first real step over that at the last: near 1, the first token
    is heard as clearly as the last; near 0, its gradient has vanished. NaN if undefined."""
    finite = np.flatnonzero(np.isfinite(flow))
    if finite.size == 0 or flow[finite[-1]] == 0:
        return float("nan")
    return float(flow[finite[0]] / flow[finite[-1]])


# --- saliency -------------------------------------------------------------------------------
def _target_logits(logits: jax.Array, inputs: tuple, target: jax.Array) -> jax.Array:
    """``[S]`` logit of class ``target`` (-1: the predicted one): classifiers' only logits;
    per-token models' logits at the last real (decoder) position."""
    if logits.ndim == 3:
        last = jnp.maximum(inputs[-1][0].sum() - 1, 0)
        logits = logits[:, last]
    return logits[:, jnp.where(target < 0, logits[-1].argmax(), target)]


@partial(jax.jit, static_argnums=0)
def _attribution(graphdef, state, inputs: tuple, alphas: jax.Array, target: jax.Array):
    """Gradient x input and integrated gradients ``[2, T]`` in one pass (so switching
    between them never recompiles): the model runs on ``S`` points of the path from the
    zero baseline to ``x`` plus ``x`` itself, whose logits also name the predicted class."""
    TRACE_COUNT["saliency"] += 1
    x = _embeddings(graphdef, state, inputs[0])  # [1, T, E]
    reps = tuple(jnp.repeat(a, alphas.shape[0] + 1, axis=0) for a in inputs)

    def total(xs):
        logits, _ = _run_from(graphdef, state, xs, reps)
        return _target_logits(logits, reps, target).sum()

    xs = jnp.concatenate([alphas[:, None, None] * x, x], axis=0)
    grads = jax.grad(total)(xs)  # [S + 1, T, E]: the path's gradients, then x's own
    per_method = jnp.stack([grads[-1], grads[:-1].mean(axis=0)])
    return (x * per_method).sum(axis=-1) * inputs[1]


def saliency(model: nnx.Module, tokens, mask, target: int | None = None,
             method: str = "grad_x_input", steps: int = 32, dec_tokens=None,
             dec_mask=None) -> np.ndarray:
    """``[T]``: how much each input token pushes one logit, for one sequence (``[T]`` or
    ``[1, T]``; seq2seq also takes ``dec_tokens``/``dec_mask`` and attributes to source
    tokens). The logit is class ``target``'s (default: the predicted class); for per-token
    models (lm, tag, seq2seq) it is the logit at the last real (decoder) position.

    ``'grad_x_input'``: ``sum_e x_te * df/dx_te`` (gradient x input, after Simonyan et al.
    2014's gradient saliency). ``'integrated'``: integrated gradients (Sundararajan et al.
    2017) from an all-zero embedding baseline, a midpoint Riemann sum over ``steps``
    points, so ``sum_t attribution_t ~= f(x) - f(0)`` (completeness). For a Transformer
    the baseline still carries the position encodings. Padded positions get exactly 0.
    Both methods come from one compiled pass per model, length and ``steps``."""
    if method not in ("grad_x_input", "integrated"):
        raise ValueError(f"method={method!r}: use 'grad_x_input' or 'integrated'")
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    arrays = (tokens, mask) if dec_tokens is None else (tokens, mask, dec_tokens, dec_mask)
    inputs = tuple(jnp.asarray(np.asarray(a).reshape(1, -1), dtype)
                   for a, dtype in zip(arrays, (jnp.int32, bool) * 2, strict=False))
    target = np.int32(-1 if target is None else target)
    both = _attribution(*eval_split(model), inputs, alphas, target)
    return np.asarray(both[int(method == "integrated")])
