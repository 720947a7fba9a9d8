"""Named presets: a model, data and training configuration that demonstrates something
in one click (the app) or one flag (``--preset``). Each says what it shows and why its
settings are what they are.

Two kinds. *Demos* train on a built-in dataset and show one idea (memory, attention,
gates); most take well under a minute, the two prose language models 10-25 minutes.
*Recipes* are tuned for a standard dataset of their task family (``data.dataset`` is its
catalog key, fetched from the hub when there is a network); offline, point them at local
copies (``--data-files train=... --data-files validation=...``), which take precedence
over the catalog key, or at ``stand_in``, the built-in dataset of the same task that the
tests run them on. ``reference`` is the
published number the recipe is measured against (``benchmarks/quality.py``).

For the app's Start panel each preset also has ``idea``, the one idea it shows in a line;
``runtime_s``, its expected wall time at full size on the 2-core development CPU, measured
by ``benchmarks/preset_times.py`` (the CPU seconds of compile, steps and validations,
capped by ``minutes``; benchmarks/README.md); and ``pair``, a preset to run beside it in
Compare: ``lstm-recall`` and ``elman-recall`` are the same run but for the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .config import DataConfig, ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    reference: str = ""
    stand_in: str = ""
    idea: str = ""          # the one idea it shows, one line (<= 70 characters)
    runtime_s: float = 0.0  # expected full-size wall time on the 2-core development CPU
    pair: str = ""          # a preset to run beside this one in Compare ('' = none)

    def offline(self) -> Preset:
        """The same preset on its built-in stand-in dataset (no network, no files)."""
        if not self.stand_in:
            return self
        return replace(self, data=self.data.replace(dataset=self.stand_in, name=None))


def _recall(arch: str, pair: str, shows: str, idea: str, runtime_s: float) -> Preset:
    return Preset(
        f"{arch}-recall", shows,
        ModelConfig(arch=arch, hidden=64, embed=32),
        DataConfig(task="classify", dataset="recall", difficulty=6, max_len=64, batch_size=32),
        TrainConfig(steps=1000, lr=3e-3, eval_every=200),
        idea=idea, runtime_s=runtime_s, pair=pair)


DEMOS = [
    _recall("lstm", "elman-recall",
            "LSTM remembers: recall the first symbol (a-h) after 5 to 60 distractor digits, "
            "the gap's length varying. The forget gate (bias 1 at start) learns to hold the "
            "key, and the short gaps teach it which symbol to hold: 100% on seeds 0-9 by "
            "step 800. Run it beside elman-recall.",
            "An LSTM's gates hold one symbol across a long, varying gap", 20.0),
    _recall("elman", "lstm-recall",
            "Elman forgets: the same task, width and budget as lstm-recall. Its tanh "
            "recurrence holds only a coarse memory of the key, a few groups of keys it "
            "cannot tell apart, at every gap length, so it stalls at 22-57% (chance "
            "12.5%). Over a fixed gap it would succeed, reading the key off a fixed delay; "
            "the varying gap is what asks it to remember.",
            "A tanh RNN keeps only part of a symbol across a long, varying gap", 10.0),
    Preset("attention-reverse",
           "Attention learns to reverse: GRU encoder-decoder with dot-product attention; "
           "the alignment map turns anti-diagonal within a few hundred steps.",
           ModelConfig(arch="gru", hidden=64, embed=32, attention="dot"),
           DataConfig(task="seq2seq", dataset="reverse", max_len=24, batch_size=64),
           TrainConfig(steps=800, lr=3e-3, eval_every=200),
           idea="Attention aligns each output with its input: an anti-diagonal",
           runtime_s=35.0),
    Preset("char-lstm-prose",
           "Character LSTM writes prose: a 2-layer character language model on the "
           "English help topics shipped with Python (Karpathy's char-rnn set-up, smaller).",
           ModelConfig(arch="lstm", layers=2, hidden=256, embed=64, dropout=0.1),
           DataConfig(task="lm", dataset="prose", tokenizer="char", max_len=128, batch_size=32),
           TrainConfig(steps=2000, lr=2e-3, warmup_steps=100, schedule="cosine",
                       eval_every=250, eval_batches=20),
           idea="A character LSTM learns spelling and words from raw text", runtime_s=695.0),
    Preset("transformer-lm-prose",
           "A small causal Transformer on the same prose, characters; compare its attention "
           "heads with the LSTM's gates.",
           ModelConfig(arch="transformer", layers=4, hidden=128, embed=128,
                       heads=4, dropout=0.1),
           DataConfig(task="lm", dataset="prose", tokenizer="char", max_len=128, batch_size=32),
           TrainConfig(steps=2000, lr=1e-3, warmup_steps=200, schedule="cosine",
                       eval_every=250, eval_batches=20),
           idea="Self-attention heads instead of a recurrent state, same text",
           runtime_s=1405.0),
    Preset("bilstm-sentiment",
           "BiLSTM sentiment: reads each sentence both ways, so negation before or after "
           "the sentiment word is seen (synthetic grammar offline; try --dataset sst2).",
           ModelConfig(arch="lstm", bidirectional=True, hidden=64, embed=64,
                       dropout=0.2),
           DataConfig(task="classify", dataset="sentiment", max_len=32, batch_size=32),
           TrainConfig(steps=600, lr=2e-3, eval_every=200),
           idea="Reading both ways catches negation before or after the word",
           runtime_s=15.0),
    Preset("bilstm-tagger",
           "BiLSTM tagger: per-token tags from both directions (bracket depth offline; "
           "try --dataset conll2003 for named entities).",
           ModelConfig(arch="lstm", bidirectional=True, hidden=64, embed=32),
           DataConfig(task="tag", dataset="brackets-depth", max_len=40, batch_size=32),
           TrainConfig(steps=800, lr=3e-3, eval_every=200),
           idea="Each token gets a tag from context on both sides", runtime_s=20.0),
]

RECIPES = [
    Preset("char-lstm-shakespeare",
           "Character LSTM on Tiny Shakespeare (Karpathy's char-rnn, sized for a CPU): two "
           "layers of 256 read windows of 64 characters; a short window gives more updates "
           "per second, and depth helps char-rnn more than width at equal cost. A high Adam "
           "rate, 6e-3 (in 600 steps 3e-3 reached 1.94 nats/char, 6e-3 1.80), is "
           "safe with global-norm clipping at 1 (Pascanu et al. 2013); 50 warm-up steps, "
           "cosine decay to 10% within the ~3-minute budget. No dropout: one epoch of 1M "
           "characters underfits (Zaremba et al. 2014 need it for long runs that overfit).",
           ModelConfig(arch="lstm", layers=2, hidden=256, embed=64),
           DataConfig(task="lm",
                      dataset="tiny_shakespeare", tokenizer="char", max_len=64, batch_size=32),
           TrainConfig(steps=500, lr=6e-3, warmup_steps=50, schedule="cosine",
                       eval_every=250, eval_batches=10, minutes=3),
           reference="Tiny Shakespeare, validation = last 10%: nanoGPT's 0.8M-parameter "
                     "Transformer reaches 1.88 nats/char in ~3 CPU minutes",
           stand_in="prose",
           idea="A char-rnn LSTM on Shakespeare, sized for a CPU", runtime_s=90.0),
    Preset("char-transformer-shakespeare",
           "Character Transformer on Tiny Shakespeare: nanoGPT's CPU 'baby GPT' (4 pre-"
           "LayerNorm blocks of width 128, 4 heads, context 64, batch 12, ~0.8M parameters). "
           "AdamW with weight decay 0.1 (Loshchilov & Hutter 2019) and clipping at 1; the peak "
           "rate is twice nanoGPT's 1e-3, which a model this small tolerates, so 1,200 steps "
           "(under 3 minutes on a 2-core CPU) suffice (900 reach 1.88, 1,200 reach 1.80): "
           "100 warm-up steps, then cosine decay to 10%. No dropout: one epoch underfits.",
           ModelConfig(arch="transformer", layers=4, hidden=128, embed=128,
                       heads=4),
           DataConfig(task="lm",
                      dataset="tiny_shakespeare", tokenizer="char", max_len=64, batch_size=12),
           TrainConfig(optimizer="adamw", lr=2e-3, weight_decay=0.1, steps=1200,
                       warmup_steps=100, schedule="cosine", eval_every=400, eval_batches=10,
                       minutes=3),
           reference="Tiny Shakespeare, validation = last 10%: nanoGPT's baby GPT 1.88 "
                     "nats/char after ~3 minutes on a laptop CPU",
           stand_in="prose",
           idea="nanoGPT's baby GPT on Shakespeare, sized for a CPU", runtime_s=130.0),
    Preset("bigru-trec",
           "Question type (TREC, 6 classes) with a BiGRU: questions are short (~10 words) and "
           "decided by cue words anywhere ('how many', 'what year'), so both directions "
           "(Schuster & Paliwal 1997) are read and averaged over positions (on TREC, mean "
           "pooling matched attention and max pooling and beat the last state by 3 points). "
           "Random "
           "word embeddings as in Kim (2014)'s CNN-rand, dropout 0.5 on embeddings and "
           "states (Kim 2014) because 5.5k questions overfit within a few epochs, and a "
           "small state (64 per direction). Adam 2e-3, clipping at 1, cosine decay over "
           "~7 epochs: the decay, not more epochs, gave the last 1-2 points.",
           ModelConfig(arch="gru", bidirectional=True, hidden=64, embed=128,
                       dropout=0.5, pooling="mean"),
           DataConfig(task="classify",
                      dataset="trec", tokenizer="word", max_len=32, batch_size=32, buckets=2),
           TrainConfig(steps=1200, lr=2e-3, schedule="cosine", eval_every=300, minutes=3),
           reference="TREC test accuracy: Kim (2014) CNN-rand 91.2%, with word2vec 93.6%",
           stand_in="sentiment",
           idea="Question type from cue words anywhere, read both ways", runtime_s=30.0),
    Preset("bilstm-sst2",
           "Binary sentiment of short sentences (SST-2): a BiLSTM (Tai et al. 2015's 150 "
           "units per direction, here 128) with attention pooling, so a negation or 'but' "
           "anywhere in the phrase reaches the classifier. Random embeddings of 128, dropout "
           "0.5 (Kim 2014), Adam 2e-3 with clipping at 1 and cosine decay (1-2 points on "
           "TREC); SST-2's 67k phrases are mostly short, so 4 length buckets save most of "
           "the padding; ~2 epochs. It overfits after ~500 steps (validation loss 0.6-0.7 "
           "then, ~1.4 at the end), so the run ends with its best-validation parameters "
           "(keep_best).",
           ModelConfig(arch="lstm", bidirectional=True, hidden=128,
                       embed=128, dropout=0.5, pooling="attention"),
           DataConfig(task="classify",
                      dataset="sst2", tokenizer="word", vocab_size=16000, max_len=64,
                      batch_size=64, buckets=4),
           TrainConfig(steps=2000, lr=2e-3, schedule="cosine", eval_every=500,
                       keep_best=True),
           reference="SST-2 accuracy: Kim (2014) CNN-rand 82.7%, CNN with word2vec 87.2%",
           stand_in="sentiment",
           idea="Attention pooling over a BiLSTM for sentence sentiment", runtime_s=130.0),
    Preset("bilstm-ner-conll2003",
           "Named entities with BIO tags (CoNLL-2003): a BiLSTM tagger after Lample et al. "
           "(2016) and Ma & Hovy (2016): 100-dim embeddings, 128 units per direction, "
           "dropout 0.5 (their single most useful regulariser). Their character features "
           "come here from byte-level BPE: a rare or unseen word is split into pieces "
           "(capitals, suffixes) instead of becoming [UNK], and the word's tag sits on its "
           "first piece. No CRF: tags are chosen per token; entity F1 is scored as seqeval "
           "does. Adam 2e-3, clipping at 1 (Lample et al. clip at 5 with SGD), cosine decay.",
           ModelConfig(arch="lstm", bidirectional=True, hidden=128, embed=100,
                       dropout=0.5),
           DataConfig(task="tag",
                      dataset="conll2003", tokenizer="bpe", vocab_size=8000, max_len=128,
                      batch_size=32, buckets=4, tag_scheme="BIO"),
           TrainConfig(steps=3000, lr=2e-3, schedule="cosine", eval_every=500,
                       eval_batches=20),
           reference="CoNLL-2003 test entity F1: Lample et al. (2016) 90.9 and Ma & Hovy "
                     "(2016) 91.2, both with pretrained embeddings, characters and a CRF",
           stand_in="brackets-depth",
           idea="Named entities tagged per BPE piece by a BiLSTM", runtime_s=140.0),
    Preset("attention-multi30k",
           "Small translation corpus (Multi30k, 29k caption pairs): a bidirectional GRU "
           "encoder and a GRU decoder with additive attention (Bahdanau et al. 2015) and "
           "input feeding (Luong et al. 2015), trained with teacher forcing; translate with "
           "beam search (`translate --beam 5`). One shared byte-level BPE vocabulary of 8k "
           "(Sennrich et al. 2016) covers German compounds; 256 units and dropout 0.3 suit "
           "30k pairs; Adam 1e-3, clipping at 1, warm-up then cosine decay, ~8 epochs.",
           ModelConfig(arch="gru", bidirectional=True, hidden=256, embed=256,
                       dropout=0.3, attention="additive"),
           DataConfig(task="seq2seq",
                      dataset="multi30k", tokenizer="bpe", vocab_size=8000, max_len=48,
                      batch_size=64, buckets=4),
           TrainConfig(steps=4000, lr=1e-3, warmup_steps=200, schedule="cosine",
                       eval_every=1000, eval_batches=10),
           reference="Multi30k En-De test2016 BLEU: attention GRU encoder-decoders score "
                     "around 30 (cf. the WMT16 multimodal task, Specia et al. 2016)",
           stand_in="reverse",
           idea="Translation with additive attention and beam search", runtime_s=2430.0),
]

PRESETS: dict[str, Preset] = {p.name: p for p in DEMOS + RECIPES}
