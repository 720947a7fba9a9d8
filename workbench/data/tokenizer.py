"""Tokenizers trained on the training split, with the Hugging Face ``tokenizers`` library.

Three kinds, all with the same special tokens at the same ids:

- ``char``: one token per character (spaces and newlines included); decodes exactly.
- ``word``: words and punctuation marks; decodes to the tokens joined by single spaces.
- ``bpe``:  byte-level BPE (GPT-2 style) with a vocabulary cap; decodes exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
PAD, UNK, BOS, EOS = range(4)
KINDS = ("char", "word", "bpe")


def _build(kind: str, vocab_size: int) -> tuple[Tokenizer, trainers.Trainer]:
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        return tok, trainer
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    if kind == "char":
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        tok.decoder = decoders.Fuse()
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                        show_progress=False)
    return tok, trainer


class TextTokenizer:
    """A trained tokenizer: text <-> ids, with ``[PAD]=0 [UNK]=1 [BOS]=2 [EOS]=3``."""

    bos, eos = BOS, EOS  # the ids a task adds around a text (it does not import this module)

    def __init__(self, kind: str, tokenizer: Tokenizer):
        self.kind = kind
        self.hf = tokenizer

    @classmethod
    def train(cls, kind: str, texts: Iterable[str], vocab_size: int) -> TextTokenizer:
        """Learn a vocabulary of at most ``vocab_size`` tokens (specials included)."""
        if kind not in KINDS:
            raise ValueError(f"tokenizer={kind!r} is not supported; choose one of "
                             f"{', '.join(KINDS)}")
        if vocab_size < len(SPECIALS) + 1:
            raise ValueError(f"vocab_size={vocab_size} is too small: use at least "
                             f"{len(SPECIALS) + 1} (the specials plus one token)")
        tok, trainer = _build(kind, vocab_size)
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(kind, tok)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no BOS/EOS added); anything but a string is refused
        with its position (data.prepare drops blank cells before they get here)."""
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i} is {text!r} ({type(text).__name__}), not a "
                                 "string: give text to encode")
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]

    def encode_words(self, words: Sequence[Sequence[str]]):
        """Pre-tokenized input: ``(ids, word_index)`` per example, where ``word_index[j]``
        is the word that token ``j`` came from (for aligning per-word tags)."""
        encodings = self.hf.encode_batch([list(w) for w in words], is_pretokenized=True,
                                         add_special_tokens=False)
        return [(e.ids, e.word_ids) for e in encodings]

    def encode_padded(self, text: str, max_len: int):
        """One text as a ``[1, max_len]`` batch: ``(tokens int32, mask bool)``; longer
        texts keep their first ``max_len`` tokens."""
        ids = self.encode([text])[0][:max_len]
        tokens = np.zeros((1, max_len), np.int32)
        tokens[0, : len(ids)] = ids
        return tokens, np.arange(max_len)[None, :] < len(ids)

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """Display strings of ``ids`` (byte-level BPE symbols made readable)."""
        out = [self.hf.id_to_token(int(i)) or "[UNK]" for i in ids]
        if self.kind == "bpe":
            out = [t if t in SPECIALS else self.hf.decoder.decode([t]) for t in out]
        return out

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "tokenizer": json.loads(self.hf.to_str())})

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        data = json.loads(text)
        return cls(data["kind"], Tokenizer.from_str(json.dumps(data["tokenizer"])))
