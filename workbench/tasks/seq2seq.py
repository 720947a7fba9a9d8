"""Sequence to sequence: write the target text for a source (translation)."""

from __future__ import annotations

import numpy as np

from . import metrics
from .base import Task, pad, until

# An evaluation of part of a split (``max_batches``: the trainer's periodic look) decodes
# this many sentences: greedy decoding costs ~65-80 ms a sentence for the Multi30k recipe
# on 2 cores, so all 1,014 validation sentences would add a minute to every look.
PARTIAL_EXAMPLES = 200


class Seq2Seq(Task):
    name, target, writes, head = "seq2seq", True, True, "seq2seq"
    options = frozenset({"attention"})
    main_metrics, inspect = ("bleu", "exact_match"), "translate"
    noun, use = "seq2seq (translation) model", "translate RUN TEXT"
    preview_header = ("source", "target")

    def encode(self, split, tokenizer, max_len):
        """The decoder reads BOS + target and is scored on target + EOS; the target text
        itself is kept (``target_text``), the reference BLEU is scored against."""
        arrays = super().encode(split, tokenizer, max_len)
        texts = split.read("target")
        target = tokenizer.encode(texts)
        arrays["dec_tokens"], _ = pad([[tokenizer.bos, *t] for t in target], max_len)
        arrays["targets"], arrays["dec_lengths"] = pad([[*t, tokenizer.eos] for t in target],
                                                       max_len)
        arrays["target_text"] = np.asarray(texts, dtype=object)
        return arrays

    def scores(self, data, split, kept, loss, translate) -> dict:
        """BLEU (sacreBLEU, detokenized output against the target text as the file has it)
        and exact match of greedy translations of the split's rows in file order: all of
        them, or the first ``PARTIAL_EXAMPLES`` when only part of the split was evaluated."""
        rows, size, width = data.rows(split), data.config.batch_size, data.config.max_len
        n = len(rows["lengths"])
        if len(kept) < data.num_batches(split, train=False):  # a quick look while training
            n = min(n, PARTIAL_EXAMPLES)
        # Similar lengths share a batch, so a batch of short sources stops when they end.
        order, hyps = np.argsort(rows["lengths"][:n], kind="stable"), [""] * n
        for start in range(0, n, size):  # fixed [size, max_len] batches: one compilation
            idx = order[start:start + size]
            take = np.pad(idx, (0, size - len(idx)))  # filler rows repeat row 0, masked out
            mask = np.arange(width)[None] < np.minimum(rows["lengths"][take], width)[:, None]
            mask[len(idx):] = False
            for i, ids in zip(idx, translate(rows["tokens"][take], mask), strict=False):
                hyps[i] = data.tokenizer.decode(ids)
        refs = [str(t) for t in rows["target_text"][:n]]
        return {"bleu": metrics.bleu(hyps, refs), "exact_match": metrics.exact_match(hyps, refs),
                "translated": len(hyps)}

    def preview(self, tokenizer, names, batch, i) -> tuple[str, ...]:
        ids = batch["tokens"][i][batch["mask"][i]]
        return tokenizer.decode(ids), tokenizer.decode(until(batch["targets"][i], tokenizer.eos))
