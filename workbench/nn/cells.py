"""Recurrent cells: one time step each, ``(carry, x) -> (carry, out)``.

``out`` is a dict holding the new hidden state ``h`` and every gate activation, so the
trace (and the UI) can show what the cell computed. All gates of a step come from one
fused input matmul and one fused recurrent matmul. Cells never draw random numbers:
dropout lives outside the scan. ``cell.sequence`` runs a whole sequence at once with a
hand-written backward pass (``fused.py``); ``rnn.scan`` over ``__call__`` is its reference.

Shapes: ``x`` is ``[B, in_features]``, every state and gate is ``[B, hidden]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from . import fused
from .gates import GATES

_lecun = jax.nn.initializers.lecun_normal()
_orthogonal = jax.nn.initializers.orthogonal()


def _input_kernel(rngs: nnx.Rngs, in_features: int, hidden: int, gates: int) -> nnx.Param:
    return nnx.Param(_lecun(rngs.params(), (in_features, gates * hidden)))


def _recurrent_kernel(rngs: nnx.Rngs, hidden: int, gates: int) -> nnx.Param:
    """One orthogonal ``[H, H]`` block per gate, side by side: ``[H, gates * H]``."""
    blocks = [_orthogonal(rngs.params(), (hidden, hidden)) for _ in range(gates)]
    return nnx.Param(jnp.concatenate(blocks, axis=1))


def _row(b: nnx.Param, like: jax.Array) -> jax.Array:
    """Bias ``b`` shaped to broadcast against ``like`` (strict rank promotion)."""
    return b[...].reshape((1,) * (like.ndim - 1) + (-1,))


def _affine(x: jax.Array, w: nnx.Param, b: nnx.Param) -> jax.Array:
    """``x W + b``."""
    y = x @ w[...]
    return y + _row(b, y)


class _Cell(nnx.Module):
    """What every cell shares: running a whole sequence on the fast path."""

    kind: str

    def fused_params(self) -> tuple:
        """``(W_i, W_h, b, extra)`` as ``fused.sequence`` takes them (``extra``: the
        parameters a cell has beyond those three; none here)."""
        return self.wi[...], self.wh[...], self.b[...], ()

    def sequence(self, carry, x: jax.Array, mask: jax.Array, unroll: int = 1,
                 remat: bool = False):
        """``rnn.scan(self, carry, x, mask)`` with a hand-written backward pass (see
        ``fused.py``): ``x`` ``[B, T, in]``, ``mask`` ``[B, T]`` -> ``(final_carry, outs)``,
        ``outs`` batch-major ``[B, T, H]``, zero where ``mask`` is False. ``remat``:
        recompute the gates in the backward pass instead of keeping them."""
        return fused.sequence(self.kind, self.fused_params(), x, mask, carry, unroll, remat)


class ElmanCell(_Cell):
    """Elman (simple) recurrent cell.

    .. math::  h' = \\tanh(x W_i + h W_h + b)
    """

    kind = "elman"
    gates: tuple[str, ...] = GATES["elman"]

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        self.hidden = hidden
        self.wi = _input_kernel(rngs, in_features, hidden, 1)
        self.wh = _recurrent_kernel(rngs, hidden, 1)
        self.b = nnx.Param(jnp.zeros((hidden,)))

    def init_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.hidden))

    def carry_from_hidden(self, h: jax.Array) -> jax.Array:
        return h

    def __call__(self, carry: jax.Array, x: jax.Array):
        h = jnp.tanh(_affine(x, self.wi, self.b) + carry @ self.wh[...])
        return h, {"h": h}


class LSTMCell(_Cell):
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
    gates: tuple[str, ...] = GATES["lstm"]

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        self.hidden = hidden
        self.wi = _input_kernel(rngs, in_features, hidden, 4)
        self.wh = _recurrent_kernel(rngs, hidden, 4)
        self.b = nnx.Param(jnp.zeros((4 * hidden,)).at[hidden:2 * hidden].set(1.0))

    def init_carry(self, batch_shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros((*batch_shape, self.hidden))
        return zeros, zeros

    def carry_from_hidden(self, h: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros_like(h), h

    def __call__(self, carry: tuple[jax.Array, jax.Array], x: jax.Array):
        c, h = carry
        a = _affine(x, self.wi, self.b) + h @ self.wh[...]
        a_i, a_f, a_g, a_o = jnp.split(a, 4, axis=-1)
        i, f, o = jax.nn.sigmoid(a_i), jax.nn.sigmoid(a_f), jax.nn.sigmoid(a_o)
        g = jnp.tanh(a_g)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (c, h), {"h": h, "i": i, "f": f, "g": g, "o": o, "c": c}


class GRUCell(_Cell):
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
    gates: tuple[str, ...] = GATES["gru"]

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        self.hidden = hidden
        self.wi = _input_kernel(rngs, in_features, hidden, 3)
        self.wh = _recurrent_kernel(rngs, hidden, 3)
        self.b = nnx.Param(jnp.zeros((3 * hidden,)))
        self.bhn = nnx.Param(jnp.zeros((hidden,)))

    def init_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.hidden))

    def carry_from_hidden(self, h: jax.Array) -> jax.Array:
        return h

    def fused_params(self) -> tuple:
        """As the other cells', plus ``(b_hn,)`` as ``extra``."""
        return self.wi[...], self.wh[...], self.b[...], (self.bhn[...],)

    def __call__(self, carry: jax.Array, x: jax.Array):
        xr, xz, xn = jnp.split(_affine(x, self.wi, self.b), 3, axis=-1)  # PyTorch's order
        hr, hz, hn = jnp.split(carry @ self.wh[...], 3, axis=-1)
        r = jax.nn.sigmoid(xr + hr)
        z = jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * (hn + _row(self.bhn, hn)))
        h = (1.0 - z) * n + z * carry
        return h, {"h": h, "r": r, "z": z, "n": n}


CELLS = {"elman": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}
