"""Inference with a trained model: sampling, LM continuation, classification and tagging
(greedy and beam translation: ``translate.py``, on the same rules).

**Compile once.** Every decoding loop runs inside one jitted function at fixed shapes: a
token buffer of ``max_len`` positions plus a length, never a growing array. Compiled
functions are keyed on the model's graph definition (architecture and sizes, not weights)
and on ``max_len`` (and ``beam``), so new prompts, sources, seeds, sampling settings or
freshly trained weights reuse them. ``TRACE_COUNT`` counts traces, so tests can prove it.

**Trade-off.** Each step re-runs the whole model on the fixed buffer (the encoder too, for
seq2seq): O(T^2) work for T steps instead of O(T) with a state or key/value cache, but one
code path for every architecture, through the same model call the trainer uses.

**Mode.** Decoding runs on ``nn.models.eval_view(model)``: an eval-mode view
(dropout off) sharing the model's parameters. The caller's model keeps its own mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..data.tokenizer import BOS, EOS
from ..nn.models import Classifier, LanguageModel, Tagger, eval_split

# Incremented each time a compiled function is traced: tests prove decoding compiles once.
TRACE_COUNT = dict.fromkeys(("sample", "lm_chunk", "forward", "greedy", "greedy_rows", "beam",
                             "attention"), 0)


CHUNK = 16  # LM steps per compiled call: the host syncs (and sees EOS) once per chunk


TOP = 5  # the model's most likely candidates recorded at each generated token


@dataclass
class GenerateResult:
    """A continuation; arrays have one row per new token."""

    ids: list[int]  # the prompt (``[BOS]`` if it was empty) followed by ``new_ids``
    new_ids: list[int]  # generated tokens, ending in EOS when generation stopped there
    probs: np.ndarray  # each token's probability under the distribution it was drawn from
    #                    (after temperature, top-k and top-p; 1.0 when greedy)
    model_probs: np.ndarray  # each token's probability under the model's plain softmax
    top_ids: np.ndarray  # [n, TOP] the model's most likely candidates (plain softmax)
    top_probs: np.ndarray  # [n, TOP] their probabilities


def require_model(model: nnx.Module, kinds: tuple[type, ...], what: str, task: str) -> None:
    if not isinstance(model, kinds):
        raise TypeError(f"{what} needs a model built with task={task!r}, got a "
                        f"{type(model).__name__}")


# --- sampling -------------------------------------------------------------------------------
def _sampling_log_probs(logits: jax.Array, temperature, top_k, top_p) -> jax.Array:
    """Log-probabilities ``[V]`` of the distribution tokens are drawn from: softmax of
    ``logits / temperature`` restricted to the ``top_k`` best (0 = all), then to the
    nucleus (the fewest best tokens whose probability reaches ``top_p``, at least one),
    renormalised. ``temperature <= 0`` is greedy: all mass on the argmax."""
    v = logits.shape[-1]
    greedy = temperature <= 0
    scaled = logits / jnp.where(greedy, 1.0, temperature)
    order = jnp.argsort(-scaled)  # stable: ties go to the lower id, as in argmax
    rank = jnp.zeros(v, jnp.int32).at[order].set(jnp.arange(v, dtype=jnp.int32))
    keep = rank < jnp.where(greedy, 1, jnp.where(top_k > 0, top_k, v))
    p_sorted = jax.nn.softmax(jnp.where(keep, scaled, -jnp.inf))[order]
    mass_before = jnp.cumsum(p_sorted) - p_sorted
    nucleus = (mass_before < top_p) | (top_p >= 1.0) | (jnp.arange(v) == 0)
    return jax.nn.log_softmax(jnp.where(keep & nucleus[rank], scaled, -jnp.inf))


@jax.jit
def _sample(logits, key, temperature, top_k, top_p):
    TRACE_COUNT["sample"] += 1
    log_probs = _sampling_log_probs(logits.astype(jnp.float32), temperature, top_k, top_p)
    return jax.random.categorical(key, log_probs)


def _settings(temperature: float, top_k: int, top_p: float) -> tuple:
    if temperature < 0 or top_k < 0 or not 0.0 < top_p <= 1.0:
        raise ValueError(f"temperature={temperature}, top_k={top_k}, top_p={top_p}: need "
                         "temperature >= 0 (0 = greedy), top_k >= 0 (0 = off), 0 < top_p <= 1")
    return np.float32(temperature), np.int32(top_k), np.float32(top_p)  # cheap to pass


def sample_logits(logits, key, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0) -> int:
    """One token id drawn from ``logits`` ``[V]`` with ``key`` (a ``jax.random`` key);
    see ``_sampling_log_probs`` for temperature, top-k and nucleus (top-p) filtering.
    Compiles once per vocabulary size: the settings are traced, not baked in."""
    if not isinstance(logits, jax.Array):  # host data: numpy is the cheaper way in
        logits = np.asarray(logits, np.float32)
    return int(_sample(logits, key, *_settings(temperature, top_k, top_p)))


# --- language models ------------------------------------------------------------------------
@partial(jax.jit, static_argnums=0)
def _lm_chunk(graphdef, state, buf, length, start, limit, key, settings):
    """Up to ``CHUNK`` steps (fewer at step ``limit`` or EOS): run the model on the buffer,
    draw the next token with ``fold_in(key, step)`` and append it; a full buffer drops its
    first token (a sliding window). Returns ``(steps, buf, length, stopped_at_eos, records)``."""
    TRACE_COUNT["lm_chunk"] += 1
    model, max_len = nnx.merge(graphdef, state), buf.shape[0]
    temperature, top_k, top_p, stop_at_eos = settings
    k = min(TOP, model.embed.num_embeddings)

    def step(carry):
        i, buf, length, _, out = carry
        logits, _ = model(buf[None], (jnp.arange(max_len) < length)[None])
        row = logits[0, length - 1].astype(jnp.float32)
        log_probs = _sampling_log_probs(row, temperature, top_k, top_p)
        tok = jax.random.categorical(jax.random.fold_in(key, start + i), log_probs)
        probs = jax.nn.softmax(row)
        top_probs, top_ids = jax.lax.top_k(probs, k)
        new = (tok, jnp.exp(log_probs[tok]), probs[tok], top_ids, top_probs)
        out = tuple(o.at[i].set(n.astype(o.dtype)) for o, n in zip(out, new, strict=True))
        full = (length == max_len).astype(jnp.int32)
        buf = jnp.where(full > 0, jnp.roll(buf, -1), buf).at[length - full].set(tok)
        return i + 1, buf, length + 1 - full, stop_at_eos & (tok == EOS), out

    def go_on(carry):
        i, _, _, done, _ = carry
        return (i < CHUNK) & (start + i < limit) & ~done

    out = (jnp.full(CHUNK, -1, jnp.int32), jnp.zeros(CHUNK), jnp.zeros(CHUNK),
           jnp.zeros((CHUNK, k), jnp.int32), jnp.zeros((CHUNK, k)))
    return jax.lax.while_loop(go_on, step, (jnp.int32(0), buf, length, jnp.bool_(False), out))


def generate(model: nnx.Module, prompt_ids: Sequence[int], max_new_tokens: int, max_len: int,
             temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 0,
             stop_at_eos: bool = True) -> GenerateResult:
    """Continue ``prompt_ids`` with a language model (an empty prompt starts from BOS).

    The model sees at most the last ``max_len`` tokens: a longer prompt, or one that grows
    past ``max_len``, slides (oldest tokens dropped). Step ``i`` draws with
    ``fold_in(key(seed), i)``, so the same seed gives the same tokens. Compiles once per
    (architecture, ``max_len``), whatever the prompt, settings or ``max_new_tokens``."""
    require_model(model, (LanguageModel,), "generate", "lm")
    settings = (*_settings(temperature, top_k, top_p), np.bool_(stop_at_eos))
    if max_len < 1:
        raise ValueError(f"max_len={max_len} must be >= 1")
    prompt = [int(t) for t in prompt_ids] or [BOS]
    context = np.asarray(prompt[-max_len:], np.int32)
    buf, length = jnp.asarray(np.pad(context, (0, max_len - context.size))), np.int32(context.size)
    (graphdef, state), key, records, step = eval_split(model), jax.random.key(seed), [], 0
    while True:  # at least once, so even max_new_tokens=0 gives well-shaped (empty) arrays
        n, buf, length, done, out = _lm_chunk(graphdef, state, buf, length, np.int32(step),
                                              np.int32(max_new_tokens), key, settings)
        records.append([np.asarray(o)[: int(n)] for o in out])
        step += int(n)
        if bool(done) or step >= max_new_tokens:
            break
    toks, *arrays = (np.concatenate(r) for r in zip(*records, strict=True))
    new_ids = [int(t) for t in toks]
    return GenerateResult(prompt + new_ids, new_ids, *arrays)


# --- classifiers and taggers ----------------------------------------------------------------
@partial(jax.jit, static_argnums=0)
def _forward(graphdef, state, tokens, mask):
    TRACE_COUNT["forward"] += 1
    return nnx.merge(graphdef, state)(tokens, mask)[0]


def _logits(model: nnx.Module, tokens, mask) -> jax.Array:
    return _forward(*eval_split(model), jnp.asarray(tokens, jnp.int32), jnp.asarray(mask, bool))


def predict_proba(model: nnx.Module, tokens, mask) -> np.ndarray:
    """Class probabilities ``[B, C]`` of a classifier (softmax of its logits)."""
    require_model(model, (Classifier,), "predict_proba", "classify")
    return np.asarray(jax.nn.softmax(_logits(model, tokens, mask), axis=-1))


def tag(model: nnx.Module, tokens, mask) -> np.ndarray:
    """The most likely tag id of each token ``[B, T]``, -1 at padding."""
    require_model(model, (Tagger,), "tag", "tag")
    ids = np.asarray(_logits(model, tokens, mask)).argmax(-1)
    return np.where(np.asarray(mask, bool), ids, -1)
