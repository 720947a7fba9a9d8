"""The model zoo: cells and their scan drivers, Transformer blocks, heads, the
encoder-decoders and ``build_model``. Every model returns ``(logits, trace)``.

Imports nothing from the data, training or UI layers: a model knows only its config and
the sizes passed to it."""
