"""The gated recurrent unit, in the cuDNN / PyTorch form."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from ..gates import GATES
from .base import Cell, affine, gate_cotangent, row, sigmoid_tanh


class GRUCell(Cell):
    """Gated recurrent unit (Cho et al. 2014), in the cuDNN / PyTorch form.

    .. math::
        [x_r, x_z, x_n] = x W_i + b_i, \\quad [h_r, h_z, h_n] = h W_h \\\\
        r = \\sigma(x_r + h_r), \\; z = \\sigma(x_z + h_z) \\\\
        n = \\tanh(x_n + r \\odot (h_n + b_{hn})) \\\\
        h' = (1 - z) \\odot n + z \\odot h

    ``z`` is the update gate, ``r`` the reset gate and ``n`` the candidate state.
    ``flax.nnx.GRUCell`` is the same cell with ``b_hn = 0``.
    """

    kind = "gru"
    gates = GATES["gru"]
    own_da_h = True  # r scales h_n in the candidate, so da_h differs from da_x there

    blocks = 3

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        super().__init__(in_features, hidden, rngs=rngs)
        self.bhn = nnx.Param(jnp.zeros((hidden,)))

    def __call__(self, carry: jax.Array, x: jax.Array):
        xr, xz, xn = jnp.split(affine(x, self.wi, self.b), 3, axis=-1)  # PyTorch's order
        hr, hz, hn = jnp.split(carry @ self.wh[...], 3, axis=-1)
        r = jax.nn.sigmoid(xr + hr)
        z = jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * (hn + row(self.bhn, hn)))
        h = (1.0 - z) * n + z * carry
        return h, {"h": h, "r": r, "z": z, "n": n}

    # --- the fast path: the same step on pre-activations, and its derivative --------------
    def fused_params(self) -> tuple:
        """As the other cells', plus ``(b_hn,)`` as ``extra``."""
        return self.wi[...], self.wh[...], self.b[...], (self.bhn[...],)

    @staticmethod
    def forward(a_x, a_h, h, extra):
        (bhn,) = extra
        width = a_x.shape[-1] // 3
        r, z = jnp.split(sigmoid_tanh(a_x[:, :2 * width] + a_h[:, :2 * width], (0.5, 0.5)),
                         2, axis=-1)
        hn = a_h[:, 2 * width:] + bhn[None]
        n = jnp.tanh(a_x[:, 2 * width:] + r * hn)
        return n + z * (h - n), {"r": r, "z": z, "n": n, "hn": hn}

    @staticmethod
    def backward(gates, h_prev, new_h, dh, d_gates, extra):
        """``n = tanh(x_n + r (h_n + b_hn))``, ``h' = (1 - z) n + z h``. ``da_h`` differs
        from ``da_x`` in the candidate block (``r`` scales ``h_n``), so both are returned."""
        r, z, n, hn = gates["r"], gates["z"], gates["n"], gates["hn"]
        dn = dh * (1.0 - z) + gate_cotangent(d_gates, "n")
        dz = dh * (h_prev - n) + gate_cotangent(d_gates, "z")
        dan = dn * (1.0 - n * n)
        dr = dan * hn + gate_cotangent(d_gates, "r")
        dar, daz = dr * r * (1.0 - r), dz * z * (1.0 - z)
        return (jnp.concatenate([dar, daz, dan], axis=-1),
                jnp.concatenate([dar, daz, dan * r], axis=-1), dh * z)

    @staticmethod
    def outputs(carries, gates):
        return {"h": carries, "r": gates["r"], "z": gates["z"], "n": gates["n"]}

    @staticmethod
    def extra_grads(da_h):
        return (da_h[..., 2 * da_h.shape[-1] // 3:].sum((0, 1)),)
