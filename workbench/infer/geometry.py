"""Where hidden states go: PCA paths of sentences through state space, and the units
that follow a pattern in the text (LSTMVis-style neuron search). NumPy on states that
``analysis`` gathers from eval-mode passes; returns host data for the views."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from flax import nnx

from .analysis import eval_traces


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
              for _, trace in eval_traces(model, prepared, split, max_batches)]
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
    for batch, trace in eval_traces(model, prepared, split, max_batches):
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
