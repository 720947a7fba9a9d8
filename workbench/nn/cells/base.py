"""What every recurrent cell shares: its parameters' layout, its registration, and the
two ways to run it over a sequence.

A cell is one class holding both definitions of its step, side by side, so they cannot
drift apart:

- ``__call__(carry, x) -> (carry, out)``: the reference step, plain JAX. ``scan.scan``
  over it is what the cell computes; autodiff of that is the reference gradient.
- ``forward`` and ``backward`` (static): the same step written on pre-activations, with
  its hand-written derivative. ``scan.sequence`` runs them over a whole sequence with a
  ``custom_vjp`` (the fast path used for training; see ``scan.py`` for why it is faster).

``tests/test_fused.py`` holds every registered cell's two paths to each other (values
and gradients, 1e-4). Defining a subclass with a ``kind`` registers it: ``CELLS``, the
gate table the figures read and the archs ``ModelConfig`` accepts all learn its name.

Shapes: ``x`` is ``[B, in_features]``, every state and gate is ``[B, hidden]``; ``W_i`` is
``[in, G * H]`` and ``W_h`` ``[H, G * H]`` for a cell with ``G`` gate blocks.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import nnx
from jax.custom_derivatives import SymbolicZero

from ... import config
from .. import gates as gate_table
from ..scan import sequence

CELLS: dict[str, type[Cell]] = {}

_lecun = jax.nn.initializers.lecun_normal()
_orthogonal = jax.nn.initializers.orthogonal()


def input_kernel(rngs: nnx.Rngs, in_features: int, hidden: int, blocks: int) -> nnx.Param:
    return nnx.Param(_lecun(rngs.params(), (in_features, blocks * hidden)))


def recurrent_kernel(rngs: nnx.Rngs, hidden: int, blocks: int) -> nnx.Param:
    """One orthogonal ``[H, H]`` block per gate, side by side: ``[H, blocks * H]``."""
    parts = [_orthogonal(rngs.params(), (hidden, hidden)) for _ in range(blocks)]
    return nnx.Param(jnp.concatenate(parts, axis=1))


def row(b: nnx.Param, like: jax.Array) -> jax.Array:
    """Bias ``b`` shaped to broadcast against ``like`` (strict rank promotion)."""
    return b[...].reshape((1,) * (like.ndim - 1) + (-1,))


def affine(x: jax.Array, w: nnx.Param, b: nnx.Param) -> jax.Array:
    """``x W + b``."""
    y = x @ w[...]
    return y + row(b, y)


def sigmoid_tanh(a: jax.Array, blocks: tuple[float, ...]) -> jax.Array:
    """``sigmoid`` on blocks marked 0.5 and ``tanh`` on blocks marked 1.0, with one
    ``tanh``: ``sigmoid(a) = 0.5 tanh(0.5 a) + 0.5``. ``a``: ``[B, len(blocks) * H]``.
    One transcendental pass per step instead of one per gate: XLA CPU runs each as its
    own loop."""
    h = a.shape[-1] // len(blocks)
    scale = jnp.concatenate([jnp.full((h,), s, a.dtype) for s in blocks])[None]
    return jnp.tanh(a * scale) * scale + (1.0 - scale)


def gate_cotangent(d_gates: dict, name: str):
    """A gate's output cotangent, or 0 when nothing downstream uses the gate."""
    d = d_gates.get(name)
    return 0.0 if d is None or isinstance(d, SymbolicZero) else d


class Cell(nnx.Module):
    """Base of the recurrent cells. A subclass sets ``kind``, ``gates`` and ``blocks`` and
    defines ``__call__``, ``forward`` and ``backward``; the rest has defaults for a cell
    whose carry is its hidden state."""

    kind: ClassVar[str]
    gates: ClassVar[tuple[str, ...]] = ()
    blocks: ClassVar[int] = 1  # gate blocks side by side in W_i, W_h and b: [.., G * H]
    gate_labels: ClassVar[dict[str, str]] = {}  # what each gate means, for the figures
    own_da_h: ClassVar[bool] = False  # ``backward`` returns a ``da_h`` unlike ``da_x``

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            register(cls)

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        """``W_i`` (LeCun normal), ``W_h`` (orthogonal blocks) and ``b = 0``; a cell with
        other parameters or another bias adds or sets them after this."""
        self.hidden = hidden
        self.wi = input_kernel(rngs, in_features, hidden, self.blocks)
        self.wh = recurrent_kernel(rngs, hidden, self.blocks)
        self.b = nnx.Param(jnp.zeros((self.blocks * hidden,)))

    # --- the carry ------------------------------------------------------------------------
    def init_carry(self, batch_shape: tuple[int, ...]):
        return jnp.zeros((*batch_shape, self.hidden))

    def carry_from_hidden(self, h: jax.Array):
        return h

    @staticmethod
    def h_of(carry) -> jax.Array:
        """The hidden state inside a carry (what ``W_h`` multiplies)."""
        return carry

    @staticmethod
    def with_h(carry, h: jax.Array):
        """``carry`` with its hidden state replaced by ``h``."""
        return h

    # --- the fast path --------------------------------------------------------------------
    @staticmethod
    def forward(a_x, a_h, carry, extra):
        """One step from ``a_x = x W_i + b`` and ``a_h = h W_h``: ``(new_carry, gates)``,
        ``gates`` holding whatever ``backward`` needs (the trace reads it via ``outputs``)."""
        raise NotImplementedError

    @staticmethod
    def backward(gates, carry_prev, new_carry, d_new, d_gates, extra):
        """``(da_x, da_h or None (same as da_x), d_carry_prev)`` for one step, where
        ``d_carry_prev`` leaves out the ``da_h W_h^T`` term (the driver adds it)."""
        raise NotImplementedError

    @staticmethod
    def outputs(carries, gates) -> dict:
        """The trace's per-step outputs from the stacked carries and gates, ``h`` first."""
        return {"h": carries}

    @staticmethod
    def extra_grads(da_h) -> tuple:
        """Gradients of the parameters in ``extra`` from ``da_h`` ``[T, B, G*H]``."""
        return ()

    def fused_params(self) -> tuple:
        """``(W_i, W_h, b, extra)`` as ``scan.sequence`` takes them (``extra``: the
        parameters a cell has beyond those three)."""
        return self.wi[...], self.wh[...], self.b[...], ()

    def sequence(self, carry, x: jax.Array, mask: jax.Array, unroll: int = 1,
                 remat: bool = False):
        """``scan.scan(self, carry, x, mask)`` on the fast path: ``x`` ``[B, T, in]``,
        ``mask`` ``[B, T]`` -> ``(final_carry, outs)``, ``outs`` batch-major ``[B, T, H]``,
        zero where ``mask`` is False. ``remat``: recompute the gates in the backward pass
        instead of keeping them."""
        return sequence(type(self), self.fused_params(), x, mask, carry, unroll, remat)


def register(cls: type[Cell]) -> None:
    """Make ``cls`` buildable by name: ``ModelConfig(arch=cls.kind)``, its gates labelled."""
    CELLS[cls.kind] = cls
    gate_table.GATES[cls.kind] = tuple(cls.gates)
    for name, label in cls.gate_labels.items():
        gate_table.GATE_LABELS.setdefault(name, label)
    config.add_recurrent_arch(cls.kind)


def unregister(kind: str) -> None:
    """Forget a cell registered by ``register`` (tests define cells of their own)."""
    CELLS.pop(kind, None)
    gate_table.GATES.pop(kind, None)
    config.remove_recurrent_arch(kind)
