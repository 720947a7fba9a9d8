"""The Elman (simple) recurrent cell."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..gates import GATES
from .base import Cell, affine


class ElmanCell(Cell):
    """Elman (simple) recurrent cell.

    .. math::  h' = \\tanh(x W_i + h W_h + b)
    """

    kind = "elman"
    gates = GATES["elman"]

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
