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
"""

from __future__ import annotations

import jax
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
