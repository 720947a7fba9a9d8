"""Tagging: one tag per word (named entities), scored on each word's first token."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from . import metrics
from .base import Task, label_name, pad


class Tag(Task):
    name, labels, head = "tag", "word", "tagger"
    main_metrics, inspect = ("token_accuracy", "entity_f1"), "tags"
    noun, use = "tagger", "tag RUN TEXT"
    preview_header = ("token/tag",)

    def encode(self, split, tokenizer, max_len):
        words, tags = split.read("text"), split.read("label")
        for i, (w, t) in enumerate(zip(words, tags, strict=True)):
            if len(w) != len(t):
                raise DataError(f"example {i}: {len(w)} words in {split.column('text')!r} but "
                                f"{len(t)} tags in {split.column('label')!r}; tags must align "
                                "with words")
        encoded = tokenizer.encode_words(words)
        tokens, lengths = pad([e[0] for e in encoded], max_len)
        return {"tokens": tokens, "lengths": lengths,
                "labels": _aligned(encoded, tags, max_len, split.label_ids)}

    def scores(self, data, split, kept, loss, translate) -> dict:
        """Token accuracy; entity precision, recall and F1 where the tags are BIO/IOB1."""
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

    def preview(self, tokenizer, names, batch, i) -> tuple[str, ...]:
        ids = batch["tokens"][i][batch["mask"][i]]
        pairs = [f"{t}/{label_name(names, int(y))}" if y >= 0 else t
                 for t, y in zip(tokenizer.tokens(ids), batch["labels"][i], strict=False)]
        return (" ".join(pairs),)


def _aligned(encoded, tags, max_len: int, label_ids) -> np.ndarray:
    """Per-token tag ids: a word's tag on its first token, -1 (ignored) on the rest."""
    out = np.full((len(encoded), max_len), -1, np.int32)
    for i, ((_, word_ids), row) in enumerate(zip(encoded, tags, strict=True)):
        row, previous = label_ids(row), None
        for j, w in enumerate(word_ids[:max_len]):
            if w is not None and w != previous:
                out[i, j] = row[w]
            previous = w
    return out
