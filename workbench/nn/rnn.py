"""The stacked recurrent encoder: layers of one cell, each optionally bidirectional."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from .cells import CELLS
from .scan import reverse_padded, scan
from .trace import Trace


class RecurrentStack(nnx.Module):
    """``layers`` recurrent layers of one cell type, each optionally bidirectional.

    The backward direction reads every sequence from its last real token to its first.
    Layer ``l + 1`` reads the concatenated directions of layer ``l`` (with dropout between
    layers in train mode). ``__call__(x [B, T, E], mask [B, T]) -> (y [B, T, D*H], Trace)``.

    ``fused=True`` runs each direction with the cell's hand-written backward pass
    (``cell.sequence``, see ``scan.py``); ``False`` differentiates ``scan`` over the
    cell's step, the reference it is tested against. Both compute the same values.
    ``remat=True`` (fused only) keeps only the carries for the backward pass and recomputes
    the gates there: less memory on long sequences for one more pair of matmuls per step.
    """

    def __init__(self, arch: str, in_features: int, hidden: int, layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, unroll: int = 1,
                 fused: bool = True, remat: bool = False, *, rngs: nnx.Rngs):
        cell_type = CELLS[arch]
        directions = 2 if bidirectional else 1
        self.unroll, self.fused, self.remat = unroll, fused, remat
        self.gate_names = cell_type.gates
        self.cells = nnx.List([
            nnx.List([cell_type(in_features if layer == 0 else directions * hidden, hidden,
                                rngs=rngs) for _ in range(directions)])
            for layer in range(layers)
        ])
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def run_direction(self, cell, x: jax.Array, mask: jax.Array, backward: bool):
        """One direction of one layer: returns ``(final_carry, outs)``, outs batch-major."""
        lengths = mask.sum(axis=1)
        if backward:
            x = reverse_padded(x, lengths)
        carry = cell.init_carry(x.shape[:1])
        if self.fused:
            final, outs = cell.sequence(carry, x, mask, self.unroll, self.remat)
        else:
            final, outs = scan(cell, carry, x, mask, self.unroll)
        if backward:
            outs = jax.tree.map(lambda o: reverse_padded(o, lengths), outs)
        return final, outs

    def __call__(self, x: jax.Array, mask: jax.Array):
        hidden, gates = [], {name: [] for name in self.gate_names}
        for layer, cells in enumerate(self.cells):
            outs = [self.run_direction(cell, x, mask, backward=d == 1)[1]
                    for d, cell in enumerate(cells)]
            hidden.append(jnp.stack([o["h"] for o in outs]))
            for name in self.gate_names:
                gates[name].append(jnp.stack([o[name] for o in outs]))
            x = jnp.concatenate([o["h"] for o in outs], axis=-1)
            if layer < len(self.cells) - 1:
                x = self.dropout(x)
        trace = Trace(
            hidden=jnp.stack(hidden),
            gates={name: jnp.stack(g) for name, g in gates.items()},
            attention={},
            mask=mask,
        )
        return x, trace
