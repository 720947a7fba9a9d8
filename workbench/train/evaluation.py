"""Evaluate a model on a split with the standard metrics of its task.

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
from ..data.tokenizer import EOS
from ..nn.models import eval_view
from . import metrics
from .step import eval_outputs

TRANSLATE_EXAMPLES = 200  # greedy decoding is slow: BLEU is measured on this many


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


def _classify(data: Prepared, kept) -> dict:
    y_true, y_pred = [], []
    for batch, predictions in kept:
        real = batch["mask"].any(axis=1)
        y_true += batch["labels"][real].tolist()
        y_pred += predictions[real].tolist()
    return metrics.classification_report(y_true, y_pred, data.label_names)


def _tag(data: Prepared, kept) -> dict:
    names = data.label_names
    true_seqs, pred_seqs = [], []
    for batch, predictions in kept:
        for labels, preds in zip(batch["labels"], predictions, strict=True):
            scored = labels >= 0
            if scored.any():
                true_seqs.append([names[i] for i in labels[scored]])
                pred_seqs.append([names[i] for i in preds[scored]])
    out = {"token_accuracy": metrics.token_accuracy(true_seqs, pred_seqs)}
    if any(n[:2] in ("B-", "I-") for n in names):
        scores = metrics.entity_scores(true_seqs, pred_seqs, data.config.tag_scheme)
        out.update({f"entity_{k}": v for k, v in scores.items() if k != "per_type"})
        out["per_type"] = scores["per_type"]
    return out


def _seq2seq(model, data: Prepared, split: str) -> dict:
    from ..infer.translate import greedy_translate

    tok, hyps, refs = data.tokenizer, [], []
    for batch in data.batches(split, train=False):
        for tokens, mask, targets in zip(batch["tokens"], batch["mask"], batch["targets"],
                                         strict=True):
            if mask.any() and len(hyps) < TRANSLATE_EXAMPLES:
                result = greedy_translate(model, tokens[mask].tolist(), data.config.max_len)
                hyps.append(tok.decode(result.ids))
                target = targets.tolist()
                refs.append(tok.decode(target[: target.index(EOS)] if EOS in target else target))
    return {"bleu": metrics.bleu(hyps, refs), "exact_match": metrics.exact_match(hyps, refs),
            "translated": len(hyps)}


def evaluate(model: nnx.Module, data: Prepared, split: str = "validation",
             max_batches: int | None = None, place: Callable = lambda b: b) -> dict:
    """Metrics of ``model`` on ``split``, run in eval mode (``eval_view``: the model's
    own mode is untouched)."""
    model = eval_view(model)
    sums, kept = _passes(model, data, split, max_batches, place)
    count = max(sums["count"], 1.0)
    loss = sums["loss_sum"] / count
    out = {"loss": loss, "accuracy": sums["correct"] / count}
    if data.task == "classify":
        out.update(_classify(data, kept))
    elif data.task == "tag":
        out.update(_tag(data, kept))
    elif data.task == "lm":
        unit = "char" if data.tokenizer.kind == "char" else "token"
        out.update({"perplexity": metrics.perplexity(loss),
                    f"bits_per_{unit}": metrics.bits_per_token(loss)})
    else:
        out.update(_seq2seq(model, data, split))
    return out
