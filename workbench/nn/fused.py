"""Fast recurrences: a whole sequence of one cell with a hand-written backward pass.

``rnn.scan`` over a cell's ``__call__`` is the reference: it is what these functions
compute, and the tests hold them to it (values and autodiff gradients, 1e-4). They exist
because plain autodiff of the scan is slow on CPU: it keeps every intermediate of every
step and runs the weight gradients step by step. Here (``jax.custom_vjp``):

- forward: one ``lax.scan`` over time; per step ``a_x = x_t W_i + b`` and ``a_h = h W_h``,
  then the cell's gate math, with one ``tanh`` for all sigmoid/tanh gates of a step
  (``sigmoid(a) = (1 + tanh(a / 2)) / 2``). It keeps only the carries and the gates, which
  the trace returns anyway;
- backward: one reverse ``lax.scan`` carrying the state's gradient; each step needs only
  ``da_h W_h^T``. The weight gradients come after the loop as large matmuls over all
  ``B * T`` rows: ``dW_i = X^T dA_x``, ``dW_h = H_prev^T dA_h``, ``dX = dA_x W_i^T``.

Masks follow ``rnn.scan``: where ``mask`` is False the carry is held (and gets its
gradient straight through). Arrays here are time-major: ``x [T, B, E]``, ``mask [T, B]``,
every state and gate ``[T, B, H]``. A cell kind is a ``Kind``: its forward step, its
backward step, and which gradients it owes beyond ``W_i, W_h, b``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero


def _col(m: jax.Array) -> jax.Array:
    """Mask ``[B]`` as a float column ``[B, 1]``."""
    return m[:, None].astype(jnp.float32)


def _sigmoid_tanh(a: jax.Array, blocks: tuple[float, ...]) -> jax.Array:
    """``sigmoid`` on blocks marked 0.5 and ``tanh`` on blocks marked 1.0, with one
    ``tanh``: ``sigmoid(a) = 0.5 tanh(0.5 a) + 0.5``. ``a``: ``[B, len(blocks) * H]``."""
    h = a.shape[-1] // len(blocks)
    scale = jnp.concatenate([jnp.full((h,), s, a.dtype) for s in blocks])[None]
    return jnp.tanh(a * scale) * scale + (1.0 - scale)


# --- the cells' steps --------------------------------------------------------------------
# forward(a_x, a_h, carry, extra) -> (new_carry, gates)
# backward(gates, carry_prev, new_carry, d_new_carry, d_gates, extra)
#     -> (da_x, da_h or None (same as da_x), d_carry_prev without the da_h W_h^T term)


def _lstm_forward(a_x, a_h, carry, extra):
    c, _ = carry
    i, f, g, o = jnp.split(_sigmoid_tanh(a_x + a_h, (0.5, 0.5, 1.0, 0.5)), 4, axis=-1)
    c = f * c + i * g
    return (c, o * jnp.tanh(c)), {"i": i, "f": f, "g": g, "o": o}


def _lstm_backward(gates, carry_prev, new_carry, d_new, d_gates, extra):
    """``c' = f c + i g``, ``h' = o tanh(c')``; sigmoid' = s (1 - s), tanh' = 1 - t^2."""
    i, f, g, o = gates["i"], gates["f"], gates["g"], gates["o"]
    dc, dh = d_new
    tc = jnp.tanh(new_carry[0])
    dc = dc + dh * o * (1.0 - tc * tc)
    di, df, dg, do = dc * g, dc * carry_prev[0], dc * i, dh * tc
    di, df, dg, do = (d + _gate(d_gates, k) for d, k in zip((di, df, dg, do), "ifgo", strict=True))
    da = jnp.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g * g),
                          do * o * (1.0 - o)], axis=-1)
    return da, None, (dc * f, jnp.zeros_like(dh))


def _gru_forward(a_x, a_h, h, extra):
    (bhn,) = extra
    width = a_x.shape[-1] // 3
    r, z = jnp.split(_sigmoid_tanh(a_x[:, :2 * width] + a_h[:, :2 * width], (0.5, 0.5)), 2,
                     axis=-1)
    hn = a_h[:, 2 * width:] + bhn[None]
    n = jnp.tanh(a_x[:, 2 * width:] + r * hn)
    return n + z * (h - n), {"r": r, "z": z, "n": n, "hn": hn}


def _gru_backward(gates, h_prev, new_h, dh, d_gates, extra):
    """``n = tanh(x_n + r (h_n + b_hn))``, ``h' = (1 - z) n + z h``."""
    r, z, n, hn = gates["r"], gates["z"], gates["n"], gates["hn"]
    dn = dh * (1.0 - z) + _gate(d_gates, "n")
    dz = dh * (h_prev - n) + _gate(d_gates, "z")
    dan = dn * (1.0 - n * n)
    dr = dan * hn + _gate(d_gates, "r")
    dar, daz = dr * r * (1.0 - r), dz * z * (1.0 - z)
    return (jnp.concatenate([dar, daz, dan], axis=-1),
            jnp.concatenate([dar, daz, dan * r], axis=-1), dh * z)


def _elman_forward(a_x, a_h, h, extra):
    return jnp.tanh(a_x + a_h), {}


def _elman_backward(gates, h_prev, new_h, dh, d_gates, extra):
    """``h' = tanh(a)``: ``da = dh (1 - h'^2)``."""
    return dh * (1.0 - new_h * new_h), None, jnp.zeros_like(dh)


def _gate(d_gates: dict, name: str):
    """A gate's output cotangent, or 0 when nothing downstream uses the gate."""
    d = d_gates.get(name)
    return 0.0 if d is None or isinstance(d, SymbolicZero) else d


class Kind(NamedTuple):
    forward: object
    backward: object
    h_of: object  # carry -> the hidden state h (what W_h multiplies)
    with_h: object  # (carry, h) -> the carry with its hidden state replaced
    outs: object  # (carries, gates) -> the trace's per-step outputs, 'h' first
    extra_grads: object  # da_h [T, B, G*H] -> gradients of the extra parameters


def _same(carry):
    return carry


KINDS = {
    "lstm": Kind(_lstm_forward, _lstm_backward, lambda carry: carry[1],
                 lambda carry, h: (carry[0], h),
                 lambda cs, g: {"h": cs[1], "i": g["i"], "f": g["f"], "g": g["g"],
                                "o": g["o"], "c": cs[0]},
                 lambda da_h: ()),
    "gru": Kind(_gru_forward, _gru_backward, _same, lambda carry, h: h,
                lambda cs, g: {"h": cs, "r": g["r"], "z": g["z"], "n": g["n"]},
                lambda da_h: (da_h[..., 2 * da_h.shape[-1] // 3:].sum((0, 1)),)),
    "elman": Kind(_elman_forward, _elman_backward, _same, lambda carry, h: h,
                  lambda cs, g: {"h": cs}, lambda da_h: ()),
}


# --- the driver --------------------------------------------------------------------------
def sequence(kind: str, params: tuple, x: jax.Array, mask: jax.Array, carry, unroll: int = 1,
             remat: bool = False):
    """Run cell ``kind`` over a batch-major sequence, as ``rnn.scan(cell, carry, x, mask)``.

    ``params``: ``(W_i [E, G*H], W_h [H, G*H], b [G*H], extra)`` (``extra``: GRU
    ``(b_hn,)``, else ``()``); ``x``: ``[B, T, E]``; ``mask``: ``[B, T]`` bool.
    Returns ``(final_carry, outs)``, ``outs`` the cell's outputs (``h`` and its gates)
    ``[B, T, H]``, zero where ``mask`` is False. ``remat=True`` keeps only the carries for
    the backward pass and recomputes the gates there (one more input and recurrent matmul
    per step) instead of keeping every gate of every step: less memory for long sequences.
    """
    k = KINDS[kind]
    carries, gates = _sequence(kind, unroll, remat, params, jnp.swapaxes(x, 0, 1), mask.T,
                               carry)
    final = jax.tree.map(lambda c: c[-1], carries)
    keep = mask.T[..., None]
    outs = {name: jnp.swapaxes(jnp.where(keep, o, jnp.zeros_like(o)), 0, 1)
            for name, o in k.outs(carries, gates).items()}
    return final, outs


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _sequence(kind, unroll, remat, params, x, mask, carry0):
    """Time-major core: ``(carries, gates)``, every carry after every step ``[T, ...]``."""
    return _forward(kind, unroll, params, x, mask, carry0)


def _forward(kind, unroll, params, x, mask, carry0):
    """The input projection stays inside the loop: XLA fuses the bias and the gate math
    around it, and a hoisted ``X W_i`` over all steps measured slower here."""
    wi, wh, b, extra = params
    k = KINDS[kind]

    def step(carry, inputs):
        x_t, m_t = inputs
        new, gates = k.forward(x_t @ wi + b[None], k.h_of(carry) @ wh, carry, extra)
        carry = jax.tree.map(lambda n, o: jnp.where(m_t[:, None], n, o), new, carry)
        return carry, (carry, gates)

    return jax.lax.scan(step, carry0, (x, mask), unroll=unroll)[1]


def _fwd(kind, unroll, remat, params, x, mask, carry0):
    params, x, mask, carry0 = jax.tree.map(lambda p: p.value, (params, x, mask, carry0))
    carries, gates = _forward(kind, unroll, params, x, mask, carry0)
    return (carries, gates), (params, x, mask, carry0, carries, None if remat else gates)


def _bwd(kind, unroll, remat, res, cts):
    """Reverse scan for the state's gradient, then the weight gradients as matmuls.

    Step ``t`` reads the carry before it, ``carries[t - 1]`` (``carry0`` at 0), in place.
    The loop emits each step's ``da`` one slot early (slot ``t`` holds ``da_{t+1}``, the
    last slot 0; ``da_0`` leaves in the loop's carry), so ``dW_h = h_0^T da_0 +
    sum_t h_t^T da_{t+1}`` multiplies the stored carries without a shifted copy of them.
    """
    params, x, mask, carry0, carries, gates = res
    wi, wh, b, extra = params
    k = KINDS[kind]
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
    start = (jax.tree.map(jnp.zeros_like, carry0), (zero, None if kind != "gru" else zero))
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
