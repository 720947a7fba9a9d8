"""Each recurrent cell's gate names, in the order it computes them, and what they mean.

A module of its own, with no JAX, so the figures can label and order gates without
importing the cells."""

GATES: dict[str, tuple[str, ...]] = {
    "elman": (),
    "lstm": ("i", "f", "g", "o", "c"),
    "gru": ("r", "z", "n"),
}

GATE_LABELS = {
    "i": "input gate", "f": "forget gate", "g": "candidate (cell input)", "o": "output gate",
    "c": "cell state", "z": "update gate", "r": "reset gate", "n": "candidate state",
}
