"""Named presets: a model, data and training configuration that demonstrates something
in one click (the app) or one flag (``--preset``). Each says what it shows and why its
settings are what they are."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import DataConfig, ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = field(default_factory=TrainConfig)


def _recall(arch: str, shows: str) -> Preset:
    return Preset(
        f"{arch}-recall", shows,
        ModelConfig(arch=arch, task="classify", hidden=64, embed=32),
        DataConfig(dataset="recall", difficulty=3, max_len=40, batch_size=32),
        TrainConfig(steps=1500, lr=3e-3, eval_every=250))


PRESETS: dict[str, Preset] = {p.name: p for p in [
    _recall("lstm", "LSTM remembers: recall the first symbol 30 steps later. The forget "
                    "gate (bias 1 at start) keeps it; compare elman-recall."),
    _recall("elman", "Elman forgets: the same recall task; the tanh recurrence makes the "
                     "gradient from the first token vanish over 30 steps."),
    Preset("attention-reverse",
           "Attention learns to reverse: GRU encoder-decoder with dot-product attention; "
           "the alignment map turns anti-diagonal within a few hundred steps.",
           ModelConfig(arch="gru", task="seq2seq", hidden=64, embed=32, attention="dot"),
           DataConfig(dataset="reverse", max_len=24, batch_size=64),
           TrainConfig(steps=800, lr=3e-3, eval_every=200)),
    Preset("char-lstm-prose",
           "Character LSTM writes prose: a 2-layer character language model on the "
           "English help topics shipped with Python (Karpathy's char-rnn set-up, smaller).",
           ModelConfig(arch="lstm", task="lm", layers=2, hidden=256, embed=64, dropout=0.1),
           DataConfig(dataset="prose", tokenizer="char", max_len=128, batch_size=32),
           TrainConfig(steps=2000, lr=2e-3, warmup_steps=100, schedule="cosine",
                       eval_every=250, eval_batches=20)),
    Preset("transformer-lm-prose",
           "A small causal Transformer on the same prose, characters; compare its attention "
           "heads with the LSTM's gates.",
           ModelConfig(arch="transformer", task="lm", layers=4, hidden=128, embed=128,
                       heads=4, dropout=0.1),
           DataConfig(dataset="prose", tokenizer="char", max_len=128, batch_size=32),
           TrainConfig(steps=2000, lr=1e-3, warmup_steps=200, schedule="cosine",
                       eval_every=250, eval_batches=20)),
    Preset("bilstm-sentiment",
           "BiLSTM sentiment: reads each sentence both ways, so negation before or after "
           "the sentiment word is seen (synthetic grammar offline; try --dataset sst2).",
           ModelConfig(arch="lstm", task="classify", bidirectional=True, hidden=64, embed=64,
                       dropout=0.2),
           DataConfig(dataset="sentiment", max_len=32, batch_size=32),
           TrainConfig(steps=600, lr=2e-3, eval_every=200)),
    Preset("bilstm-tagger",
           "BiLSTM tagger: per-token tags from both directions (bracket depth offline; "
           "try --dataset conll2003 for named entities).",
           ModelConfig(arch="lstm", task="tag", bidirectional=True, hidden=64, embed=32),
           DataConfig(dataset="brackets-depth", max_len=40, batch_size=32),
           TrainConfig(steps=800, lr=3e-3, eval_every=200)),
]}
