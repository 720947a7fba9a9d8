"""Cells match flax.nnx's reference cells; the scan driver matches a Python loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workbench.nn.cells import ElmanCell, GRUCell, LSTMCell
from workbench.nn.rnn import RecurrentStack
from workbench.nn.scan import reverse_padded, scan

IN, H, B = 5, 7, 3
TOL = dict(rtol=1e-5, atol=1e-5)


def _inputs(seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    return (jax.random.normal(k1, (B, IN)), jax.random.normal(k2, (B, H)),
            jax.random.normal(k3, (B, H)))


def _k(linear):
    return linear.kernel[...]


def test_elman_matches_flax_simple_cell():
    ref = nnx.SimpleCell(IN, H, rngs=nnx.Rngs(1))
    cell = ElmanCell(IN, H, rngs=nnx.Rngs(2))
    cell.wi[...] = _k(ref.dense_i)
    cell.wh[...] = _k(ref.dense_h)
    cell.b[...] = ref.dense_i.bias[...]
    x, h, _ = _inputs()
    ref_h, _ = ref(h, x)
    new_h, out = cell(h, x)
    np.testing.assert_allclose(new_h, ref_h, **TOL)
    np.testing.assert_allclose(out["h"], ref_h, **TOL)


def test_lstm_matches_flax_lstm_cell_including_gates():
    ref = nnx.LSTMCell(IN, H, rngs=nnx.Rngs(1))
    # Give the reference non-zero biases so the bias copy is tested too.
    for lin in (ref.hi, ref.hf, ref.hg, ref.ho):
        lin.bias[...] = jax.random.normal(jax.random.key(id(lin) % 1000), (H,))
    cell = LSTMCell(IN, H, rngs=nnx.Rngs(2))
    cell.wi[...] = jnp.concatenate([_k(ref.ii), _k(ref.if_), _k(ref.ig), _k(ref.io)], axis=1)
    cell.wh[...] = jnp.concatenate([_k(ref.hi), _k(ref.hf), _k(ref.hg), _k(ref.ho)], axis=1)
    cell.b[...] = jnp.concatenate([ref.hi.bias[...], ref.hf.bias[...], ref.hg.bias[...],
                                   ref.ho.bias[...]])
    x, h, c = _inputs()
    (ref_c, ref_h), _ = ref((c, h), x)
    (new_c, new_h), out = cell((c, h), x)
    np.testing.assert_allclose(new_c, ref_c, **TOL)
    np.testing.assert_allclose(new_h, ref_h, **TOL)
    # Gates recomputed from the reference's own layers.
    expected = {
        "i": jax.nn.sigmoid(ref.ii(x) + ref.hi(h)),
        "f": jax.nn.sigmoid(ref.if_(x) + ref.hf(h)),
        "g": jnp.tanh(ref.ig(x) + ref.hg(h)),
        "o": jax.nn.sigmoid(ref.io(x) + ref.ho(h)),
        "c": ref_c, "h": ref_h,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(out[name], value, **TOL, err_msg=name)


def test_gru_matches_flax_gru_cell_including_gates():
    ref = nnx.GRUCell(IN, H, rngs=nnx.Rngs(1))
    ref.dense_i.bias[...] = jax.random.normal(jax.random.key(3), (3 * H,))
    cell = GRUCell(IN, H, rngs=nnx.Rngs(2))
    cell.wi[...] = _k(ref.dense_i)
    cell.wh[...] = _k(ref.dense_h)
    cell.b[...] = ref.dense_i.bias[...]
    cell.bhn[...] = jnp.zeros((H,))  # flax's GRU has no recurrent bias
    x, h, _ = _inputs()
    ref_h, _ = ref(h, x)
    new_h, out = cell(h, x)
    np.testing.assert_allclose(new_h, ref_h, **TOL)
    xr, xz, xn = jnp.split(ref.dense_i(x), 3, axis=-1)
    hr, hz, hn = jnp.split(ref.dense_h(h), 3, axis=-1)
    r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
    expected = {"r": r, "z": z, "n": jnp.tanh(xn + r * hn), "h": ref_h}
    for name, value in expected.items():
        np.testing.assert_allclose(out[name], value, **TOL, err_msg=name)


def test_gru_recurrent_bias_sits_inside_the_reset_gate():
    cell = GRUCell(IN, H, rngs=nnx.Rngs(0))
    x, h, _ = _inputs()
    cell.bhn[...] = jnp.full((H,), 0.5)
    _, out = cell(h, x)
    xr, xz, xn = jnp.split(x @ cell.wi[...] + cell.b[...][None], 3, axis=-1)
    hr, hz, hn = jnp.split(h @ cell.wh[...], 3, axis=-1)
    np.testing.assert_allclose(out["n"], jnp.tanh(xn + out["r"] * (hn + 0.5)), **TOL)


@pytest.mark.parametrize("cell_type", [ElmanCell, LSTMCell, GRUCell])
def test_scan_equals_python_loop_with_padding(cell_type):
    cell = cell_type(IN, H, rngs=nnx.Rngs(0))
    T = 6
    xs = jax.random.normal(jax.random.key(1), (B, T, IN))
    lengths = np.array([6, 3, 1])
    mask = jnp.arange(T)[None, :] < lengths[:, None]
    final, outs = scan(cell, cell.init_carry((B,)), xs, mask, unroll=2)
    for b in range(B):
        carry = cell.init_carry((1,))
        for t in range(T):
            if t < lengths[b]:
                carry, out = cell(carry, xs[b : b + 1, t])
                for name, value in out.items():
                    np.testing.assert_allclose(outs[name][b, t], value[0], **TOL)
            else:  # padding: outputs are zero
                for name in outs:
                    assert np.all(np.asarray(outs[name][b, t]) == 0.0)
        # the carry stopped at the sequence's end
        for got, want in zip(jax.tree.leaves(final), jax.tree.leaves(carry), strict=True):
            np.testing.assert_allclose(got[b], want[0], **TOL)


def test_reverse_padded_reverses_within_length_and_is_an_involution():
    x = jnp.arange(2 * 5).reshape(2, 5)[..., None]
    lengths = jnp.array([5, 3])
    r = reverse_padded(x, lengths)
    assert r[0, :, 0].tolist() == [4, 3, 2, 1, 0]
    assert r[1, :, 0].tolist() == [7, 6, 5, 8, 9]
    np.testing.assert_array_equal(reverse_padded(r, lengths), x)


@pytest.mark.parametrize("arch", ["elman", "lstm", "gru"])
def test_backward_direction_starts_at_the_last_real_token(arch):
    stack = RecurrentStack(arch, IN, H, layers=1, bidirectional=True, rngs=nnx.Rngs(0))
    T, length = 8, 5
    xs = jax.random.normal(jax.random.key(2), (1, T, IN))
    mask = jnp.arange(T)[None, :] < length
    y, trace = stack(xs, mask)
    backward = stack.cells[0][1]
    # Run the backward cell by hand over the real tokens, last to first.
    carry, expected = backward.init_carry((1,)), {}
    for t in reversed(range(length)):
        carry, out = backward(carry, xs[:, t])
        expected[t] = out["h"][0]
    for t in range(length):
        np.testing.assert_allclose(trace.hidden[0, 1, 0, t], expected[t], **TOL)
        np.testing.assert_allclose(y[0, t, H:], expected[t], **TOL)
    assert np.all(np.asarray(y[0, length:]) == 0.0)
