"""Translation with an encoder-decoder: greedy and beam search, each one compiled loop
at fixed shapes (the rules are those of ``decode``: compile once, an eval-mode view, the
whole model re-run on a fixed buffer at each step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..data.tokenizer import BOS, EOS, PAD
from ..nn.models import eval_split
from ..nn.seq2seq import RecurrentSeq2Seq, TransformerSeq2Seq
from .decode import TRACE_COUNT, require_model


@dataclass
class TranslateResult:
    """An output sequence for one source sequence."""

    ids: list[int]  # output tokens, without BOS and EOS
    log_prob: float  # total log probability of ``ids``, plus EOS when ``finished``
    score: float  # what the search ranked by: greedy ``log_prob``; beam ``normalized(alpha)``
    cross_attention: np.ndarray  # [len(ids), len(src)]: decoder's last layer, mean over heads
    finished: bool  # EOS was produced within ``max_len`` steps

    def normalized(self, alpha: float) -> float:
        """``log_prob / length_penalty(n, alpha)``, ``n`` counting EOS (as beam ranks)."""
        return self.log_prob / length_penalty(len(self.ids) + int(self.finished), alpha)


def length_penalty(length, alpha):
    """GNMT's length penalty (Wu et al. 2016): ``((5 + length) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


# --- encoder-decoders -----------------------------------------------------------------------
def _next_log_probs(model, src, src_mask, out, t) -> jax.Array:
    """Log-probs ``[K, V]`` of the token after ``out[:, :t]`` (decoder query ``t``; the
    decoder reads BOS then ``out`` shifted right)."""
    k, u = out.shape
    dec = jnp.concatenate([jnp.full((k, 1), BOS, out.dtype), out[:, :-1]], axis=1)
    dec_mask = jnp.broadcast_to(jnp.arange(u)[None] <= t, (k, u))
    srcs = jnp.broadcast_to(src, (k, src.shape[1]))
    logits, _ = model(srcs, jnp.broadcast_to(src_mask, srcs.shape), dec, dec_mask)
    return jax.nn.log_softmax(logits[:, t].astype(jnp.float32))


@partial(jax.jit, static_argnums=0)
def _greedy(graphdef, state, src, src_mask):
    """Argmax decoding into a ``[max_len]`` buffer until EOS: ``(out, log_probs, n, done)``."""
    TRACE_COUNT["greedy"] += 1
    model, u = nnx.merge(graphdef, state), src.shape[1]

    def step(carry):
        t, out, log_probs, _ = carry
        lp = _next_log_probs(model, src, src_mask, out[None], t)[0]
        tok = jnp.argmax(lp).astype(jnp.int32)
        return t + 1, out.at[t].set(tok), log_probs.at[t].set(lp[tok]), tok == EOS

    init = (jnp.int32(0), jnp.full(u, PAD, jnp.int32), jnp.zeros(u), jnp.bool_(False))
    t, out, log_probs, done = jax.lax.while_loop(lambda c: (c[0] < u) & ~c[3], step, init)
    return out, log_probs, t, done


@partial(jax.jit, static_argnums=0)
def _greedy_rows(graphdef, state, src, src_mask):
    """``_greedy`` for every row of ``src`` at once: ``[B, max_len]`` outputs, PAD after a
    row's EOS, until every row has ended (a row without tokens ends at once)."""
    TRACE_COUNT["greedy_rows"] += 1
    model, u = nnx.merge(graphdef, state), src.shape[1]

    def step(carry):
        t, out, done = carry
        tok = jnp.argmax(_next_log_probs(model, src, src_mask, out, t), -1).astype(jnp.int32)
        tok = jnp.where(done, PAD, tok)
        return t + 1, out.at[:, t].set(tok), done | (tok == EOS)

    init = (jnp.int32(0), jnp.full(src.shape, PAD, jnp.int32), ~src_mask.any(axis=1))
    return jax.lax.while_loop(lambda c: (c[0] < u) & ~c[2].all(), step, init)[1]


@partial(jax.jit, static_argnums=(0, 1))
def _beam(graphdef, beam, state, src, src_mask, alpha):
    """Beam search over a ``[beam, max_len]`` buffer. Each step ranks all ``beam x V``
    extensions by total log-prob: those among the top ``beam`` that end in EOS finish
    (scored ``log_prob / length_penalty(t + 1)``), the best ``beam`` others live on. It
    stops once ``beam`` hypotheses have finished, or at ``max_len`` (as fairseq, or Hugging
    Face's ``early_stopping=True``), so ``beam=1`` is exactly greedy decoding. Returns the
    best finished ``(out, n, log_prob, score, finished)``, else the best unfinished."""
    TRACE_COUNT["beam"] += 1
    model, u = nnx.merge(graphdef, state), src.shape[1]

    def step(c):
        t, out, logp, n_done, best = c
        lp = _next_log_probs(model, src, src_mask, out, t)
        v = lp.shape[1]
        cand = (logp[:, None] + lp).reshape(-1)
        vals, idx = jax.lax.top_k(cand, beam)
        ends = (idx % v == EOS) & (vals > -jnp.inf)
        scores = jnp.where(ends, vals / length_penalty(t + 1, alpha), -jnp.inf)
        j = jnp.argmax(scores)
        new = (out[idx[j] // v], t, vals[j], scores[j])
        best = jax.tree.map(lambda n, b: jnp.where(scores[j] > best[3], n, b), new, best)
        live = jnp.where(jnp.arange(cand.size) % v == EOS, -jnp.inf, cand)
        vals, idx = jax.lax.top_k(live, beam)
        out = out[idx // v].at[:, t].set((idx % v).astype(out.dtype))
        return t + 1, out, vals, n_done + ends.sum(), best

    logp = jnp.where(jnp.arange(beam) == 0, 0.0, -jnp.inf)  # one live hypothesis at first
    none = jnp.float32(-jnp.inf)
    best = (jnp.full(u, PAD, jnp.int32), jnp.int32(0), none, none)
    init = (jnp.int32(0), jnp.full((beam, u), PAD, jnp.int32), logp, jnp.int32(0), best)
    _, out, logp, _, best = jax.lax.while_loop(lambda c: (c[0] < u) & (c[3] < beam), step,
                                               init)
    a = jnp.argmax(logp)
    fallback = (out[a], jnp.int32(u), logp[a], logp[a] / length_penalty(u, alpha))
    finished = best[3] > -jnp.inf
    return (*jax.tree.map(lambda b, f: jnp.where(finished, b, f), best, fallback), finished)


@partial(jax.jit, static_argnums=0)
def _cross_attention(graphdef, state, src, src_mask, out, n):
    """Cross-attention ``[max_len, max_len]`` (target x source) of the output ``out[:n]``
    under teacher forcing: the decoder's last layer, mean over heads."""
    TRACE_COUNT["attention"] += 1
    dec = jnp.concatenate([jnp.full((1,), BOS, out.dtype), out[:-1]])[None]
    dec_mask = (jnp.arange(out.shape[0]) < n)[None]
    _, trace = nnx.merge(graphdef, state)(src, src_mask, dec, dec_mask)
    return trace.attention["cross"][-1, 0].mean(axis=0)


def _source(model: nnx.Module, src_ids: Sequence[int], max_len: int, what: str):
    """The source as ``(ids, tokens [1, max_len], mask [1, max_len])``."""
    require_model(model, (RecurrentSeq2Seq, TransformerSeq2Seq), what, "seq2seq")
    src = [int(t) for t in src_ids]
    if not 1 <= len(src) <= max_len:
        raise ValueError(f"the source has {len(src)} tokens: need 1 to max_len={max_len}")
    tokens = np.pad(np.asarray(src, np.int32), (0, max_len - len(src)))[None]
    return src, jnp.asarray(tokens), jnp.asarray(np.arange(max_len)[None] < len(src))


def _result(split, source, out, n, log_prob, score, finished) -> TranslateResult:
    src, tokens, mask = source
    attention = _cross_attention(*split, tokens, mask, out, np.int32(n))
    return TranslateResult([int(t) for t in np.asarray(out)[:n]], float(log_prob), float(score),
                           np.asarray(attention)[:n, : len(src)], bool(finished))


def greedy_translate(model: nnx.Module, src_ids: Sequence[int], max_len: int) -> TranslateResult:
    """Translate ``src_ids`` (no BOS/EOS) taking the most likely token at each step, for at
    most ``max_len`` steps. ``score`` is ``log_prob`` (see ``TranslateResult.normalized``).
    Compiles once per (architecture, ``max_len``)."""
    source, split = _source(model, src_ids, max_len, "greedy_translate"), eval_split(model)
    out, log_probs, t, done = _greedy(*split, *source[1:])
    log_prob = float(np.asarray(log_probs)[: int(t)].sum())
    n = int(t) - int(bool(done))  # EOS is scored but not returned
    return _result(split, source, out, n, log_prob, log_prob, done)


def greedy_rows(model: nnx.Module, tokens: np.ndarray, mask: np.ndarray) -> list[list[int]]:
    """``greedy_translate`` of every row of ``tokens [B, T]`` (real tokens first, marked by
    ``mask``; ``T`` is the output's ``max_len``), from one compiled loop over the batch, so
    a whole split is scored in ``N / B`` loops instead of ``N``. Outputs without BOS and
    EOS; a row without tokens gives ``[]``. Compiles once per (architecture, shape)."""
    require_model(model, (RecurrentSeq2Seq, TransformerSeq2Seq), "greedy_rows", "seq2seq")
    out = np.asarray(_greedy_rows(*eval_split(model), jnp.asarray(tokens, jnp.int32),
                                  jnp.asarray(mask, bool)))
    rows = []
    for row, real in zip(out.tolist(), np.asarray(mask).any(axis=1), strict=True):
        rows.append(row[: row.index(EOS)] if EOS in row else row if real else [])
    return rows


def beam_translate(model: nnx.Module, src_ids: Sequence[int], max_len: int, beam: int = 4,
                   length_penalty: float = 0.6) -> TranslateResult:
    """Translate ``src_ids`` by beam search (see ``_beam``); ``score`` is ``log_prob``
    divided by GNMT's ``((5 + n) / 6) ** length_penalty``, ``n`` counting EOS. Compiles
    once per (architecture, ``max_len``, ``beam``)."""
    if beam < 1:
        raise ValueError(f"beam={beam} must be >= 1")
    source, split = _source(model, src_ids, max_len, "beam_translate"), eval_split(model)
    out, n, log_prob, score, done = _beam(split[0], beam, split[1], *source[1:],
                                          np.float32(length_penalty))
    return _result(split, source, out, int(n), log_prob, score, done)
