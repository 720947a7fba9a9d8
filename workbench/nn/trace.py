"""The trace: what a model computed on the way to its logits, for any architecture.

Every model returns ``(logits, trace)``. The trace has the same structure for every
architecture, so visual code never branches on it:

- ``hidden``     ``[L, D, B, T, H]``: per layer and direction (D = 2 for bidirectional
                 recurrent layers, else 1), the hidden state (recurrent) or the residual
                 stream after the block (Transformer).
- ``gates``      name -> ``[L, D, B, T, H]`` (LSTM ``i f g o c``, GRU ``z r n``; empty
                 for Elman and Transformer). Names are explained in ``nn.gates.GATE_LABELS``.
- ``attention``  name -> ``[L, B, N, Tq, Tk]`` weights, rows summing to 1 over real keys:
                 ``self`` (Transformer), ``cross`` (encoder-decoder: target x source),
                 ``pool`` (attention pooling of a classifier, ``[1, B, 1, 1, T]``).
- ``mask``       ``[B, T]``: which positions are real tokens.
- ``source``     for encoder-decoders, the encoder's trace (same structure); else None.

Views never look at ``source`` themselves: ``sides()`` names the parts a person can pick
(encoder, decoder) with the tokens each reads, ``encoder`` is the part that reads the input
text, and ``attention_maps()`` names every map with the token sides of its rows and
columns (source, target, pool), so one view draws every architecture.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import struct


@struct.dataclass
class Trace:
    hidden: jax.Array
    gates: dict[str, jax.Array]
    attention: dict[str, jax.Array]
    mask: jax.Array
    source: Trace | None = None

    def with_attention(self, **weights: jax.Array) -> Trace:
        """A copy with extra attention maps added."""
        return self.replace(attention={**self.attention, **weights})

    @property
    def encoder(self) -> Trace:
        """The part that reads the input tokens: an encoder-decoder's encoder, else all."""
        return self if self.source is None else self.source

    def sides(self) -> dict[str, tuple[Trace, str]]:
        """``name -> (trace, tokens it reads)``: ``'encoder'`` reads the source, and an
        encoder-decoder's ``'decoder'`` the target."""
        if self.source is None:
            return {"encoder": (self, "source")}
        return {"encoder": (self.source, "source"), "decoder": (self, "target")}

    def attention_maps(self) -> dict[str, tuple]:
        """``label -> (weights [L, B, N, Tq, Tk], (query side, query mask [B, Tq]),
        (key side, key mask [B, Tk]))`` for every map, sides ``'source'``, ``'target'``
        or ``'pool'`` (the one query of attention pooling)."""
        two = self.source is not None
        own, src = ("target" if two else "source", self.mask), ("source", self.encoder.mask)
        out = {}
        for name, w in self.attention.items():
            if name == "cross":
                out["cross-attention"] = (w, own, src)
            elif name == "pool":
                out["attention pooling"] = (w, ("pool", np.ones((w.shape[1], 1), bool)), own)
            else:
                out["decoder self-attention" if two else "self-attention"] = (w, own, own)
        for name, w in (self.source.attention.items() if two else ()):
            out[f"encoder {name}-attention"] = (w, src, src)
        return out
