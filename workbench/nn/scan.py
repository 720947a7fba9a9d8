"""The drivers over time: ``scan`` (any step function, padding-aware) and ``sequence``
(a cell's fast path, with a hand-written backward pass), plus the padding helpers.

Sequences are batch-major ``[B, T, ...]`` with left-aligned tokens: ``mask[b, t]`` is True
for the first ``lengths[b]`` positions. After a sequence ends its carry stops changing
and its outputs are zero, so padding never changes a sequence's result.

``scan`` over a cell's ``__call__`` is the reference. ``sequence`` computes the same with
the cell's ``forward`` and ``backward`` (``cells/base.py``) inside a ``jax.custom_vjp``,
because plain autodiff of the scan is slow on CPU: it keeps every intermediate of every
step and runs the weight gradients step by step. Here:

- forward: one ``lax.scan`` over time; per step ``a_x = x_t W_i + b`` and ``a_h = h W_h``,
  then the cell's gate math. It keeps only the carries and the gates, which the trace
  returns anyway;
- backward: one reverse ``lax.scan`` carrying the state's gradient; each step needs only
  ``da_h W_h^T``. The weight gradients come after the loop as large matmuls over all
  ``B * T`` rows: ``dW_i = X^T dA_x``, ``dW_h = H_prev^T dA_h``, ``dX = dA_x W_i^T``.

Inside ``sequence`` arrays are time-major: ``x [T, B, E]``, ``mask [T, B]``, every state
and gate ``[T, B, H]``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

Step = Callable[[Any, Any], tuple[Any, Any]]


def _time_major(tree):
    return jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), tree)


def _expand(m: jax.Array, like: jax.Array) -> jax.Array:
    """``m`` ``[B]`` reshaped to broadcast against ``like`` ``[B, ...]``."""
    return m.reshape(m.shape + (1,) * (like.ndim - 1))


def scan(step: Step, carry, xs, mask: jax.Array, unroll: int = 1):
    """Run ``step`` over time. ``xs``: pytree of ``[B, T, ...]``; ``mask``: ``[B, T]`` bool.

    Returns ``(final_carry, outs)`` with every leaf of ``outs`` batch-major ``[B, T, ...]``.
    Where ``mask`` is False the carry is held and the outputs are zero.
    """

    def body(carry, inputs):
        x, m = inputs
        new_carry, out = step(carry, x)
        carry = jax.tree.map(lambda n, o: jnp.where(_expand(m, n), n, o), new_carry, carry)
        out = jax.tree.map(lambda o: jnp.where(_expand(m, o), o, jnp.zeros_like(o)), out)
        return carry, out

    carry, outs = jax.lax.scan(body, carry, (_time_major(xs), mask.T), unroll=unroll)
    return carry, _time_major(outs)


def reverse_padded(x: jax.Array, lengths: jax.Array) -> jax.Array:
    """Reverse each sequence within its own length; padding stays where it is.

    ``x``: ``[B, T, ...]``, ``lengths``: ``[B]``. Applying it twice gives ``x`` back.
    """
    t = jnp.arange(x.shape[1])
    idx = jnp.where(t[None, :] < lengths[:, None], lengths[:, None] - 1 - t[None, :], t[None, :])
    return jax.vmap(lambda xb, ib: xb[ib])(x, idx)


def last_valid(y: jax.Array, lengths: jax.Array) -> jax.Array:
    """``y[b, lengths[b] - 1]`` for each sequence: ``[B, T, F] -> [B, F]``."""
    idx = jnp.maximum(lengths - 1, 0)
    return jax.vmap(lambda yb, i: yb[i])(y, idx)


def _col(m: jax.Array) -> jax.Array:
    """Mask ``[B]`` as a float column ``[B, 1]``."""
    return m[:, None].astype(jnp.float32)


# --- the fast path of a cell ----------------------------------------------------------
def sequence(cell: type, params: tuple, x: jax.Array, mask: jax.Array, carry, unroll: int = 1,
             remat: bool = False):
    """Run a cell class over a batch-major sequence, as ``scan(cell, carry, x, mask)``.

    ``cell``: the class (its static ``forward``, ``backward``, ``outputs``...); ``params``:
    ``(W_i [E, G*H], W_h [H, G*H], b [G*H], extra)`` (``extra``: GRU ``(b_hn,)``, else
    ``()``); ``x``: ``[B, T, E]``; ``mask``: ``[B, T]`` bool.
    Returns ``(final_carry, outs)``, ``outs`` the cell's outputs (``h`` and its gates)
    ``[B, T, H]``, zero where ``mask`` is False. ``remat=True`` keeps only the carries for
    the backward pass and recomputes the gates there (one more input and recurrent matmul
    per step) instead of keeping every gate of every step: less memory for long sequences.
    """
    carries, gates = _sequence(cell, unroll, remat, params, jnp.swapaxes(x, 0, 1), mask.T,
                               carry)
    final = jax.tree.map(lambda c: c[-1], carries)
    keep = mask.T[..., None]
    outs = {name: jnp.swapaxes(jnp.where(keep, o, jnp.zeros_like(o)), 0, 1)
            for name, o in cell.outputs(carries, gates).items()}
    return final, outs


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _sequence(cell, unroll, remat, params, x, mask, carry0):
    """Time-major core: ``(carries, gates)``, every carry after every step ``[T, ...]``."""
    return _forward(cell, unroll, params, x, mask, carry0)


def _forward(k, unroll, params, x, mask, carry0):
    """The input projection stays inside the loop: XLA fuses the bias and the gate math
    around it, and a hoisted ``X W_i`` over all steps measured slower here."""
    wi, wh, b, extra = params

    def step(carry, inputs):
        x_t, m_t = inputs
        new, gates = k.forward(x_t @ wi + b[None], k.h_of(carry) @ wh, carry, extra)
        carry = jax.tree.map(lambda n, o: jnp.where(m_t[:, None], n, o), new, carry)
        return carry, (carry, gates)

    return jax.lax.scan(step, carry0, (x, mask), unroll=unroll)[1]


def _fwd(cell, unroll, remat, params, x, mask, carry0):
    params, x, mask, carry0 = jax.tree.map(lambda p: p.value, (params, x, mask, carry0))
    carries, gates = _forward(cell, unroll, params, x, mask, carry0)
    return (carries, gates), (params, x, mask, carry0, carries, None if remat else gates)


def _bwd(k, unroll, remat, res, cts):
    """Reverse scan for the state's gradient, then the weight gradients as matmuls.

    Step ``t`` reads the carry before it, ``carries[t - 1]`` (``carry0`` at 0), in place.
    The loop emits each step's ``da`` one slot early (slot ``t`` holds ``da_{t+1}``, the
    last slot 0; ``da_0`` leaves in the loop's carry), so ``dW_h = h_0^T da_0 +
    sum_t h_t^T da_{t+1}`` multiplies the stored carries without a shifted copy of them.
    """
    params, x, mask, carry0, carries, gates = res
    wi, wh, b, extra = params
    d_carries, d_gates = jax.tree.map(_none_if_zero, cts)

    def step(state, inputs):
        d_carry, later = state
        t, m_t, x_t, g_t, new, d_out, d_g = inputs
        prev = jax.tree.map(lambda c0, cs: jnp.where(
            t > 0, jax.lax.dynamic_index_in_dim(cs, jnp.maximum(t - 1, 0), keepdims=False),
            c0), carry0, carries)
        if g_t is None:  # remat: the gates again, from the input and the previous carry
            g_t = k.forward(x_t @ wi + b[None], k.h_of(prev) @ wh, prev, extra)[1]
        d_carry = _add_present(d_carry, d_out)
        keep = _col(m_t)
        d_new = jax.tree.map(lambda d: d * keep, d_carry)
        da_x, da_h, d_prev = k.backward(g_t, prev, new, d_new, d_g, extra)
        d_prev = k.with_h(d_prev, k.h_of(d_prev) + (da_x if da_h is None else da_h) @ wh.T)
        d_carry = jax.tree.map(lambda p, d: p + d * (1.0 - keep), d_prev, d_carry)
        return (d_carry, (da_x, da_h)), later

    n, width = x.shape[0], wi.shape[1]
    zero = jnp.zeros((x.shape[1], width), x.dtype)
    start = (jax.tree.map(jnp.zeros_like, carry0), (zero, zero if k.own_da_h else None))
    (d_carry0, (dx0, dh0)), (ex, eh) = jax.lax.scan(
        step, start, (jnp.arange(n), mask, x if remat else None, gates, carries, d_carries,
                      d_gates), reverse=True, unroll=unroll)
    return _weight_grads(k, params, x, carry0, carries, dx0, ex, dh0, eh) + (None, d_carry0)


def _weight_grads(k, params, x, carry0, carries, dx0, ex, dh0, eh):
    """``(dW_i, dW_h, db, d_extra), dx`` from ``da_0`` and the early-shifted rest (``e``)."""
    wi = params[0]
    dh0, eh = (dx0, ex) if eh is None else (dh0, eh)
    rows = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731 - [T, B, F] -> [T*B, F]
    x_next = jnp.concatenate([x[1:], jnp.zeros_like(x[:1])])  # x_{t+1} in slot t
    d_wi = x[0].T @ dx0 + rows(x_next).T @ rows(ex)
    d_wh = k.h_of(carry0).T @ dh0 + rows(k.h_of(carries)).T @ rows(eh)
    d_b = dx0.sum(0) + ex.sum((0, 1))
    d_extra = tuple(a + b for a, b in zip(k.extra_grads(dh0[None]), k.extra_grads(eh),
                                          strict=True))
    dx = jnp.concatenate([(dx0 @ wi.T)[None], (ex[:-1].reshape(-1, ex.shape[-1]) @ wi.T)
                          .reshape(x.shape[0] - 1, *x.shape[1:])])
    return (d_wi, d_wh, d_b, d_extra), dx


def _add_present(tree, other):
    """``tree + other`` leaf by leaf, where ``other`` may hold None (zero) leaves."""
    leaves, treedef = jax.tree.flatten(tree)
    others = jax.tree.leaves(other, is_leaf=lambda v: v is None)
    return treedef.unflatten([a if o is None else a + o for a, o in zip(leaves, others,
                                                                         strict=True)])


def _none_if_zero(ct):
    return None if isinstance(ct, SymbolicZero) else ct


_sequence.defvjp(_fwd, _bwd, symbolic_zeros=True)
