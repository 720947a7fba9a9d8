"""Evaluate a model on a split: loss and accuracy, then the standard metrics of its task
(``Task.scores``, in ``tasks/``):

- classify: loss, accuracy, macro F1, per-class precision / recall, confusion matrix
- lm:       loss, perplexity, bits per token (bits per character for char tokenizers)
- tag:      loss, token accuracy, entity precision / recall / F1 (BIO or IOB1 tags)
- seq2seq:  loss, token accuracy, BLEU and exact match of greedy translations
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from flax import nnx

from ..data.prepared import Prepared
from ..nn.models import eval_view
from .step import eval_outputs


def _passes(model, data: Prepared, split: str, max_batches: int | None, place: Callable):
    """Loss sums and host predictions, batch by batch."""
    sums = {"loss_sum": 0.0, "count": 0.0, "correct": 0.0}
    kept = []
    for i, batch in enumerate(data.batches(split, train=False)):
        if max_batches is not None and i >= max_batches:
            break
        out = eval_outputs(model, place(batch))
        predictions = np.asarray(out.pop("predictions"))
        for key, value in out.items():
            sums[key] += float(value)
        kept.append((batch, predictions))
    return sums, kept


def evaluate(model: nnx.Module, data: Prepared, split: str = "validation",
             max_batches: int | None = None, place: Callable = lambda b: b) -> dict:
    """Metrics of ``model`` on ``split``, run in eval mode (``eval_view``: the model's
    own mode is untouched)."""
    model = eval_view(model)
    sums, kept = _passes(model, data, split, max_batches, place)
    count = max(sums["count"], 1.0)
    loss = sums["loss_sum"] / count
    from ..infer.translate import greedy_rows

    def translate(tokens: np.ndarray, mask: np.ndarray) -> list[list[int]]:
        return greedy_rows(model, tokens, mask)

    return {"loss": loss, "accuracy": sums["correct"] / count,
            **data.family.scores(data, split, kept, loss, translate)}
