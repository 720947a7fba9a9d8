"""Sequence to sequence: write the target text for a source (translation)."""

from __future__ import annotations

from . import metrics
from .base import Task, pad, until

TRANSLATE_EXAMPLES = 200  # greedy decoding is slow: BLEU is measured on this many


class Seq2Seq(Task):
    name, target, writes, head = "seq2seq", True, True, "seq2seq"
    options = frozenset({"attention"})
    main_metrics, inspect = ("bleu", "exact_match"), "translate"
    noun, use = "seq2seq (translation) model", "translate RUN TEXT"
    preview_header = ("source", "target")

    def encode(self, split, tokenizer, max_len):
        """The decoder reads BOS + target and is scored on target + EOS."""
        arrays = super().encode(split, tokenizer, max_len)
        target = tokenizer.encode(split.read("target"))
        arrays["dec_tokens"], _ = pad([[tokenizer.bos, *t] for t in target], max_len)
        arrays["targets"], arrays["dec_lengths"] = pad([[*t, tokenizer.eos] for t in target],
                                                       max_len)
        return arrays

    def model_args(self, data) -> dict:
        return {**super().model_args(data), "target_vocab_size": data.vocab_size}

    def scores(self, data, split, kept, loss, translate) -> dict:
        """BLEU and exact match of greedy translations of the first examples."""
        tok, eos, hyps, refs = data.tokenizer, data.tokenizer.eos, [], []
        for batch in data.batches(split, train=False):  # past max_batches too: BLEU
            for tokens, mask, targets in zip(batch["tokens"], batch["mask"], batch["targets"],
                                             strict=True):
                if mask.any() and len(hyps) < TRANSLATE_EXAMPLES:
                    hyps.append(tok.decode(translate(tokens[mask].tolist())))
                    refs.append(tok.decode(until(targets, eos)))
        return {"bleu": metrics.bleu(hyps, refs), "exact_match": metrics.exact_match(hyps, refs),
                "translated": len(hyps)}

    def preview(self, tokenizer, names, batch, i) -> tuple[str, ...]:
        ids = batch["tokens"][i][batch["mask"][i]]
        return tokenizer.decode(ids), tokenizer.decode(until(batch["targets"][i], tokenizer.eos))
