"""The fast recurrences (``scan.sequence`` over a cell's ``forward`` and ``backward``)
compute what ``scan.scan`` over the cell's step computes,
and their hand-written backward passes give autodiff's gradients (to 1e-4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workbench.nn.cells import CELLS
from workbench.nn.cells.base import sigmoid_tanh
from workbench.nn.rnn import RecurrentStack
from workbench.nn.scan import scan

B, T, E, H = 3, 7, 5, 4
KINDS = tuple(CELLS)  # every cell the package defines: adding one adds its parity tests
# left-aligned lengths 7, 3, 0, and a mask with a hole (the carry is held over it)
MASKS = {"lengths": np.arange(T)[None] < np.array([7, 3, 0])[:, None],
         "holes": np.array([[1, 1, 0, 1, 0, 0, 1]] * 2 + [[0] * T], bool)}


def _cell(kind: str):
    """A cell with non-zero biases, split into graph and parameters."""
    cell = CELLS[kind](E, H, rngs=nnx.Rngs(0))
    cell.b[...] = cell.b[...] + 0.3 * jnp.sin(jnp.arange(cell.b.shape[0]))
    if kind == "gru":
        cell.bhn[...] = 0.2 * jnp.cos(jnp.arange(H))
    return nnx.split(cell)


def _inputs(cell_graph, params):
    keys = jax.random.split(jax.random.key(1), 3)
    x = jax.random.normal(keys[0], (B, T, E))
    zeros = nnx.merge(cell_graph, params).init_carry((B,))
    carry = jax.tree.map(lambda z: 0.5 * jax.random.normal(keys[1], z.shape), zeros)
    return x, carry


def _runs(kind, mask, remat):
    """The reference and the fused run as functions of (params, x, carry)."""
    graph, _ = _cell(kind)

    def reference(params, x, carry):
        return scan(nnx.merge(graph, params), carry, x, mask)

    def fast(params, x, carry):
        return nnx.merge(graph, params).sequence(carry, x, mask, unroll=2, remat=remat)

    return reference, fast


def _loss(run, names):
    """A weighted sum of the chosen outputs and of the final carry: every cotangent path."""
    def loss(params, x, carry):
        final, outs = run(params, x, carry)
        total = sum((jnp.sin(1.0 + jnp.arange(outs[n].size)).reshape(outs[n].shape)
                     * outs[n]).sum() for n in names)
        return total + sum((0.7 * c).sum() for c in jax.tree.leaves(final))
    return loss


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_fused_values_equal_the_scan(kind, mask_name):
    graph, params = _cell(kind)
    x, carry = _inputs(graph, params)
    reference, fast = _runs(kind, jnp.asarray(MASKS[mask_name]), remat=False)
    (ref_final, ref_outs), (final, outs) = reference(params, x, carry), fast(params, x, carry)
    assert set(outs) == set(ref_outs) == {"h", *CELLS[kind].gates}
    for name in ref_outs:
        np.testing.assert_allclose(outs[name], ref_outs[name], atol=1e-6, err_msg=name)
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(ref_final), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("remat", [False, True])
@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_fused_gradients_equal_autodiff(kind, mask_name, remat):
    """Gradients for the parameters, the inputs and the initial carry, both when only
    ``h`` is used (the gates' cotangents are symbolic zeros) and when every gate is."""
    graph, params = _cell(kind)
    x, carry = _inputs(graph, params)
    reference, fast = _runs(kind, jnp.asarray(MASKS[mask_name]), remat)
    for names in (["h"], ["h", *CELLS[kind].gates]):
        want = jax.grad(_loss(reference, names), argnums=(0, 1, 2))(params, x, carry)
        got = jax.grad(_loss(fast, names), argnums=(0, 1, 2))(params, x, carry)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_stack_fused_equals_reference_path(kind):
    """A two-layer bidirectional stack: same trace and same gradients on either path."""
    stack = RecurrentStack(kind, E, H, layers=2, bidirectional=True, rngs=nnx.Rngs(0))
    graph, params, rest = nnx.split(stack, nnx.Param, ...)
    x = jax.random.normal(jax.random.key(2), (B, T, E))
    mask = jnp.asarray(MASKS["lengths"])

    def run(params, use_fused):
        model = nnx.merge(graph, params, rest)
        model.fused = use_fused
        return model(x, mask)

    (y, trace), (y_ref, trace_ref) = run(params, True), run(params, False)
    for a, b in zip(jax.tree.leaves((y, trace)), jax.tree.leaves((y_ref, trace_ref)),
                    strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    grads = [jax.grad(lambda p, f=f: (jnp.cos(run(p, f)[0]) ** 2).sum())(params)
             for f in (True, False)]
    for a, b in zip(*map(jax.tree.leaves, grads), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_one_tanh_gives_sigmoid_and_tanh():
    a = jnp.linspace(-6.0, 6.0, 8)[None]
    got = sigmoid_tanh(a, (0.5, 1.0))
    np.testing.assert_allclose(got[:, :4], jax.nn.sigmoid(a[:, :4]), atol=1e-6)
    np.testing.assert_allclose(got[:, 4:], jnp.tanh(a[:, 4:]), atol=1e-6)


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_model_config_remat_changes_memory_not_results(task):
    """``ModelConfig(remat=True)`` reaches every recurrent stack (encoder included) and the
    model's loss and gradients stay those of the default."""
    from workbench import ModelConfig, build_model

    rng = np.random.default_rng(0)
    tokens = jnp.asarray(rng.integers(1, 20, (2, 6)))
    mask = jnp.asarray(np.arange(6)[None] < np.array([6, 4])[:, None])
    args = (tokens, mask, tokens, mask) if task == "seq2seq" else (tokens, mask)
    results = []
    for remat in (False, True):
        config = ModelConfig(arch="lstm", hidden=8, embed=6, remat=remat)
        model = build_model(config, vocab_size=20, n_classes=3, target_vocab_size=20,
                            task=task)
        stacks = [m for _, m in nnx.iter_modules(model) if isinstance(m, RecurrentStack)]
        assert stacks and all(s.remat == remat for s in stacks)
        graph, params, rest = nnx.split(model, nnx.Param, ...)

        def loss(p, graph=graph, rest=rest):
            return jnp.sum(nnx.merge(graph, p, rest)(*args)[0] ** 2)

        results.append(jax.value_and_grad(loss)(params))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(results[0][1]), jax.tree.leaves(results[1][1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
