"""Classification: one label per row (sentiment, question type)."""

from __future__ import annotations

import numpy as np

from . import metrics
from .base import Task, label_name


class Classify(Task):
    name, labels, head = "classify", "row", "classifier"
    options = frozenset({"pooling"})
    main_metrics, inspect = ("accuracy", "macro_f1"), "saliency"
    noun, use = "classifier", "predict RUN TEXT"
    preview_header = ("text", "label")

    def encode(self, split, tokenizer, max_len):
        arrays = super().encode(split, tokenizer, max_len)
        arrays["labels"] = np.asarray(split.label_ids(split.read("label")), np.int32)
        return arrays

    def scores(self, data, split, kept, loss, translate) -> dict:
        """Macro F1, per-class precision and recall, the confusion matrix."""
        y_true, y_pred = [], []
        for batch, predictions in kept:
            real = batch["mask"].any(axis=1)
            y_true += batch["labels"][real].tolist()
            y_pred += predictions[real].tolist()
        return metrics.classification_report(y_true, y_pred, data.label_names)

    def preview(self, tokenizer, names, batch, i) -> tuple[str, ...]:
        ids = batch["tokens"][i][batch["mask"][i]]
        return tokenizer.decode(ids), label_name(names, int(batch["labels"][i]))
