"""The Elman (simple) recurrent cell."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from ..gates import GATES
from .base import Cell, affine, input_kernel, recurrent_kernel


class ElmanCell(Cell):
    """Elman (simple) recurrent cell.

    .. math::  h' = \\tanh(x W_i + h W_h + b)
    """

    kind = "elman"
    gates = GATES["elman"]

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs):
        self.hidden = hidden
        self.wi = input_kernel(rngs, in_features, hidden, 1)
        self.wh = recurrent_kernel(rngs, hidden, 1)
        self.b = nnx.Param(jnp.zeros((hidden,)))

    def __call__(self, carry: jax.Array, x: jax.Array):
        h = jnp.tanh(affine(x, self.wi, self.b) + carry @ self.wh[...])
        return h, {"h": h}

    @staticmethod
    def forward(a_x, a_h, h, extra):
        return jnp.tanh(a_x + a_h), {}

    @staticmethod
    def backward(gates, h_prev, new_h, dh, d_gates, extra):
        """``h' = tanh(a)``: ``da = dh (1 - h'^2)``."""
        return dh * (1.0 - new_h * new_h), None, jnp.zeros_like(dh)
