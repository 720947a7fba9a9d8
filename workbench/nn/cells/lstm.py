"""The long short-term memory cell."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from ..gates import GATES
from .base import Cell, affine, gate_cotangent, sigmoid_tanh


class LSTMCell(Cell):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997, with forget gate).

    .. math::
        [a_i, a_f, a_g, a_o] = x W_i + h W_h + b \\\\
        i = \\sigma(a_i), \\; f = \\sigma(a_f), \\; g = \\tanh(a_g), \\; o = \\sigma(a_o) \\\\
        c' = f \\odot c + i \\odot g \\\\
        h' = o \\odot \\tanh(c')

    The carry is ``(c, h)``, as in ``flax.nnx.LSTMCell``. The forget-gate bias starts at 1
    (Jozefowicz et al. 2015) so memory is kept by default early in training.
    """

    kind = "lstm"
    gates = GATES["lstm"]
    blocks = 4

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        super().__init__(in_features, hidden, rngs=rngs)
        self.b[...] = self.b[...].at[hidden:2 * hidden].set(1.0)  # the forget gate: 1

    def init_carry(self, batch_shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros((*batch_shape, self.hidden))
        return zeros, zeros

    def carry_from_hidden(self, h: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros_like(h), h

    def __call__(self, carry: tuple[jax.Array, jax.Array], x: jax.Array):
        c, h = carry
        a = affine(x, self.wi, self.b) + h @ self.wh[...]
        a_i, a_f, a_g, a_o = jnp.split(a, 4, axis=-1)
        i, f, o = jax.nn.sigmoid(a_i), jax.nn.sigmoid(a_f), jax.nn.sigmoid(a_o)
        g = jnp.tanh(a_g)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (c, h), {"h": h, "i": i, "f": f, "g": g, "o": o, "c": c}

    # --- the fast path: the same step on pre-activations, and its derivative --------------
    @staticmethod
    def h_of(carry):
        return carry[1]

    @staticmethod
    def with_h(carry, h):
        return carry[0], h

    @staticmethod
    def forward(a_x, a_h, carry, extra):
        c, _ = carry
        i, f, g, o = jnp.split(sigmoid_tanh(a_x + a_h, (0.5, 0.5, 1.0, 0.5)), 4, axis=-1)
        c = f * c + i * g
        return (c, o * jnp.tanh(c)), {"i": i, "f": f, "g": g, "o": o}

    @staticmethod
    def backward(gates, carry_prev, new_carry, d_new, d_gates, extra):
        """``c' = f c + i g``, ``h' = o tanh(c')``; sigmoid' = s (1 - s), tanh' = 1 - t^2."""
        i, f, g, o = gates["i"], gates["f"], gates["g"], gates["o"]
        dc, dh = d_new
        tc = jnp.tanh(new_carry[0])
        dc = dc + dh * o * (1.0 - tc * tc)
        di, df, dg, do = dc * g, dc * carry_prev[0], dc * i, dh * tc
        di, df, dg, do = (d + gate_cotangent(d_gates, k)
                          for d, k in zip((di, df, dg, do), "ifgo", strict=True))
        da = jnp.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g * g),
                              do * o * (1.0 - o)], axis=-1)
        return da, None, (dc * f, jnp.zeros_like(dh))

    @staticmethod
    def outputs(carries, gates):
        return {"h": carries[1], "i": gates["i"], "f": gates["f"], "g": gates["g"],
                "o": gates["o"], "c": carries[0]}
