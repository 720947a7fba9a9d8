"""The numbers the visual views need: probes, gradient flow, saliency, PCA, neuron search.

Everything here is JAX/NumPy and returns host data (numpy arrays, Python floats), so a test
can read it without a browser and ``plots.py`` draws it without touching a model. Model
passes run on an eval-mode view (``nnx.view(model, deterministic=True)``: dropout off,
parameters shared), so the caller's model keeps its own train/eval mode. Jitted passes are
keyed on the model's graph definition and the input shapes, so they compile once per shape;
``TRACE_COUNT`` counts traces so tests can prove it.

Input-side quantities (gradient flow, saliency) are taken with respect to the token
embeddings: inside the jitted pass the model's embedding layer (``embed``, or ``src_embed``
for seq2seq) is swapped for a stand-in that returns given vectors, so the rest of the
model runs unchanged and ``jax.grad`` sees the embeddings as an input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..nn.trace import Trace
from ..tasks.batches import loss_and_accuracy, model_inputs, targets_and_weights

TRACE_COUNT = dict.fromkeys(("probe", "gradient_flow", "saliency"), 0)


# --- running a model ------------------------------------------------------------------------
def trace_to_numpy(trace: Trace) -> Trace:
    """The same ``Trace`` with every leaf a numpy array (one ``jax.device_get``)."""
    return jax.device_get(trace)


def _eval_split(model: nnx.Module):
    """``(graphdef, state)`` of an eval-mode view of ``model`` (its own mode is untouched)."""
    return nnx.split(nnx.view(model, deterministic=True, raise_if_not_found=False))


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
    return jax.device_get(_forward(*_eval_split(model), inputs))


def _embed_name(model: nnx.Module) -> str:
    return "src_embed" if hasattr(model, "src_embed") else "embed"


def _embeddings(graphdef, state, tokens: jax.Array) -> jax.Array:
    """The input embeddings ``[B, T, E]`` the model would feed its first layer."""
    model = nnx.merge(graphdef, state)
    return getattr(model, _embed_name(model))(tokens)


def _run_from(graphdef, state, x: jax.Array, inputs: tuple):
    """The model's ``(logits, trace)`` with input embeddings ``x`` instead of a lookup: on
    this traced copy only, the embedding layer is replaced by a function returning ``x``."""
    model = nnx.merge(graphdef, state)
    setattr(model, _embed_name(model), lambda tokens: x)
    return model(*inputs)


def _batches(model: nnx.Module, prepared, split: str, max_batches: int):
    """``(batch, numpy trace)`` for the first ``max_batches`` evaluation batches of
    ``split``; for seq2seq the trace is the encoder's (``trace.source``)."""
    for i, batch in enumerate(prepared.batches(split, train=False)):
        if i >= max_batches:
            return
        _, trace = probe(model, *model_inputs(batch))
        yield batch, (trace.source if trace.source is not None else trace)


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
    norms = np.asarray(_input_grad_norms(*_eval_split(model), dict(batch)))
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
    both = _attribution(*_eval_split(model), inputs, alphas, target)
    return np.asarray(both[int(method == "integrated")])


# --- hidden-state geometry ------------------------------------------------------------------
@dataclass
class PCABasis:
    """Principal axes of a sample of hidden states."""

    mean: np.ndarray  # [H] the sample mean (projects to the origin)
    components: np.ndarray  # [k, H] orthonormal directions, most variance first
    explained: np.ndarray  # [k] share of the sample's total variance along each one


def pca_basis(states: np.ndarray, k: int = 3) -> PCABasis:
    """PCA (numpy SVD of the centred sample) of ``states`` ``[N, H]``; ``k`` is capped at
    ``min(N, H)``. ``explained`` is sorted descending and sums to at most 1."""
    states = np.asarray(states, np.float64)
    mean = states.mean(axis=0)
    _, s, vt = np.linalg.svd(states - mean, full_matrices=False)
    var = s**2
    total = var.sum()
    explained = var / total if total > 0 else np.zeros_like(var)
    k = min(k, vt.shape[0])
    return PCABasis(mean, vt[:k], explained[:k])


def project(basis: PCABasis, states: np.ndarray) -> np.ndarray:
    """Coordinates ``[..., k]`` of ``states`` ``[..., H]`` on the basis' components."""
    return (np.asarray(states) - basis.mean) @ basis.components.T


def hidden_sample(model: nnx.Module, prepared, split: str = "validation", layer: int = 0,
                  direction: int = 0, max_batches: int = 4) -> np.ndarray:
    """``[N, H]`` hidden states of one layer and direction at every real position of the
    first ``max_batches`` evaluation batches (seq2seq: the encoder's), to fit a PCA basis."""
    states = [trace.hidden[layer, direction][trace.mask]
              for _, trace in _batches(model, prepared, split, max_batches)]
    return np.concatenate(states, axis=0)


# --- neuron search (LSTMVis) ----------------------------------------------------------------
def match_pattern(texts_tokens: list[list[str]], pattern: str, sep: str = " "
                  ) -> list[np.ndarray]:
    """Per sequence, a 0/1 int array over its tokens marking those inside a match of the
    regular expression ``pattern``.

    Mapping: each sequence's token strings are joined with ``sep`` (``" "`` for word
    tokens, ``""`` for characters or BPE pieces); token ``j`` owns the characters of its
    own string (not the separators), and is marked when any of them lies inside a
    non-empty match (``re.finditer``, so matches do not overlap)."""
    regex, out = re.compile(pattern), []
    for tokens in texts_tokens:
        owner = np.full(sum(map(len, tokens)) + len(sep) * max(len(tokens) - 1, 0), -1)
        start = 0
        for j, tok in enumerate(tokens):
            owner[start:start + len(tok)] = j
            start += len(tok) + len(sep)
        marks = np.zeros(len(tokens), np.int64)
        for m in regex.finditer(sep.join(tokens)):
            hit = owner[m.start():m.end()]
            marks[hit[hit >= 0]] = 1
        out.append(marks)
    return out


@dataclass
class NeuronRanking:
    """Hidden units ranked by how well their activation follows a target, best first."""

    units: np.ndarray  # [top] unit ids, best first (by |correlation|)
    correlation: np.ndarray  # [top] Pearson r over real positions (< 0: the unit dips)
    precision: np.ndarray  # [top] LSTMVis-style precision (see ``neuron_search``)
    all_correlation: np.ndarray  # [H] r of every unit, in unit order
    matched: int  # real positions in the pattern (target > 0)
    positions: int  # real positions compared


def _centred(x: np.ndarray) -> np.ndarray:
    """``x - mean`` along axis 0, exactly 0 for constant columns (no rounding residue)."""
    out = x - x.mean(axis=0)
    return np.where(np.ptp(x, axis=0) > 0, out, 0.0)


def _top_precision(a: np.ndarray, inside: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Per unit, the share of its ``k`` highest sign-adjusted activations that lie in the
    pattern, ``k`` = the number of pattern positions (0 where undefined)."""
    k = int(inside.sum())
    if k == 0 or k == len(inside):
        return np.zeros(a.shape[1])
    top = np.argpartition(-(a * sign), k - 1, axis=0)[:k]  # [k, H]
    return np.where(sign != 0, inside[top].mean(axis=0), 0.0)


def neuron_search(activations: np.ndarray, mask: np.ndarray, target: np.ndarray,
                  top: int = 10) -> NeuronRanking:
    """Rank units by how well their activation matches ``target`` over real positions
    (the "match a pattern to neurons" query of LSTMVis, Strobelt et al. 2017).

    ``activations`` ``[N, T, H]``, ``mask`` ``[N, T]``, ``target`` ``[N, T]`` (0/1 or real).
    Score: ``|r|``, the Pearson correlation between a unit's activation and the target
    over all real positions. Precision (LSTMVis): put the unit's threshold at its ``k``-th
    highest activation (lowest, for a unit with ``r < 0``), ``k`` = the number of positions
    with ``target > 0``; precision is the share of positions above it that are in the
    pattern. A constant unit (or target) scores 0, without warnings."""
    mask = np.asarray(mask, bool)
    a = np.asarray(activations, np.float64)[mask]  # [M, H]
    y = np.asarray(target, np.float64)[mask]  # [M]
    r = np.zeros(a.shape[1])
    if len(y):
        ac, yc = _centred(a), _centred(y)
        scale = np.sqrt((ac**2).sum(axis=0) * (yc**2).sum())
        r = np.divide(yc @ ac, scale, out=r, where=scale > 0)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    precision = _top_precision(a, y > 0, np.sign(r))
    return NeuronRanking(order, r[order], precision[order], r, int((y > 0).sum()), len(y))


def neuron_search_dataset(model: nnx.Module, prepared, pattern: str, layer: int = 0,
                          direction: int = 0, max_batches: int = 4, top: int = 10,
                          *, split: str = "validation") -> NeuronRanking:
    """``neuron_search`` on the first ``max_batches`` evaluation batches of ``split``: the
    target marks the tokens inside matches of ``pattern`` (``match_pattern`` over the
    tokenizer's display strings, joined by spaces for word tokens, directly otherwise);
    the activations are one layer and direction's hidden states (seq2seq: the encoder's)."""
    sep = " " if prepared.tokenizer.kind == "word" else ""
    acts, masks, targets = [], [], []
    for batch, trace in _batches(model, prepared, split, max_batches):
        texts = [prepared.tokenizer.tokens(row[real])
                 for row, real in zip(batch["tokens"], trace.mask, strict=True)]
        target = np.zeros(trace.mask.shape)
        for i, marks in enumerate(match_pattern(texts, pattern, sep)):
            target[i, : len(marks)] = marks
        acts.append(trace.hidden[layer, direction])
        masks.append(trace.mask)
        targets.append(target)
    return neuron_search(np.concatenate(acts), np.concatenate(masks), np.concatenate(targets),
                         top)
