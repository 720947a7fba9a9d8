"""Language modelling: predict the next token of one stream (documents joined by EOS),
read as windows of ``max_len`` tokens."""

from __future__ import annotations

import numpy as np

from . import metrics
from .base import Task


class LanguageModelling(Task):
    name, stream, causal, head = "lm", True, True, "lm"
    options = frozenset({"tie_weights"})
    main_metrics, inspect = ("perplexity",), "generate"
    noun, use = "language model", "generate RUN --prompt TEXT"
    preview_header = ("text window",)

    def encode(self, split, tokenizer, max_len):
        ids = tokenizer.encode(split.read("text"))
        return {"stream": np.fromiter((t for doc in ids for t in (*doc, tokenizer.eos)),
                                      np.int32)}

    def scores(self, data, split, kept, loss, translate) -> dict:
        unit = "char" if data.tokenizer.kind == "char" else "token"
        return {"perplexity": metrics.perplexity(loss),
                f"bits_per_{unit}": metrics.bits_per_token(loss)}

    def preview(self, tokenizer, names, batch, i) -> tuple[str, ...]:
        text = tokenizer.decode(batch["tokens"][i][batch["mask"][i]])
        return (text[:240] + (" ..." if len(text) > 240 else ""),)


def windows(stream: np.ndarray, length: int, offset: int) -> dict[str, np.ndarray]:
    """Every whole window of ``length`` tokens from ``offset`` on, and the next tokens."""
    n = max((stream.size - 1 - offset) // length, 0)
    idx = offset + np.arange(n)[:, None] * length + np.arange(length)[None, :]
    return {"tokens": stream[idx], "targets": stream[idx + 1],
            "lengths": np.full(n, length, np.int64)}
