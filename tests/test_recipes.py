"""The recipes of CONTRIBUTING.md, followed by a test without touching the package: a
fifth cell defined here trains, shows its gates and passes the parity checks every cell
passes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workbench import DataConfig, ModelConfig, build_model, prepare
from workbench.config import ARCHS, ConfigError, TrainConfig
from workbench.nn.cells import CELLS, Cell, unregister
from workbench.nn.cells.base import affine, gate_cotangent, sigmoid_tanh
from workbench.nn.gates import GATE_LABELS, GATES
from workbench.nn.scan import scan
from workbench.train.trainer import Trainer


def define_light_gru():
    """The light GRU (Ravanelli et al. 2018, with a tanh candidate): a GRU without its
    reset gate. Exactly the recipe: one class, its step and its fast path side by side."""

    class LightGRUCell(Cell):
        """``z = sigmoid(a_z)``, ``n = tanh(a_n)``, ``h' = z h + (1 - z) n``, where
        ``[a_z, a_n] = x W_i + h W_h + b``."""

        kind = "light-gru"
        gates = ("z", "n")
        gate_labels = {"z": "update gate", "n": "candidate state"}
        blocks = 2  # [a_z, a_n]; Cell.__init__ lays out W_i, W_h and b for them

        def __call__(self, h, x):
            a_z, a_n = jnp.split(affine(x, self.wi, self.b) + h @ self.wh[...], 2, axis=-1)
            z, n = jax.nn.sigmoid(a_z), jnp.tanh(a_n)
            h = z * h + (1.0 - z) * n
            return h, {"h": h, "z": z, "n": n}

        @staticmethod
        def forward(a_x, a_h, h, extra):
            z, n = jnp.split(sigmoid_tanh(a_x + a_h, (0.5, 1.0)), 2, axis=-1)
            return n + z * (h - n), {"z": z, "n": n}

        @staticmethod
        def backward(gates, h_prev, new_h, dh, d_gates, extra):
            z, n = gates["z"], gates["n"]
            dz = dh * (h_prev - n) + gate_cotangent(d_gates, "z")
            dn = dh * (1.0 - z) + gate_cotangent(d_gates, "n")
            return jnp.concatenate([dz * z * (1.0 - z), dn * (1.0 - n * n)], -1), None, dh * z

        @staticmethod
        def outputs(carries, gates):
            return {"h": carries, "z": gates["z"], "n": gates["n"]}

    return LightGRUCell


@pytest.fixture
def light_gru():
    cls = define_light_gru()
    yield cls
    unregister(cls.kind)
    assert "light-gru" not in ARCHS and "light-gru" not in CELLS


def test_defining_a_cell_registers_it_everywhere(light_gru):
    assert CELLS["light-gru"] is light_gru
    assert "light-gru" in ARCHS and GATES["light-gru"] == ("z", "n")
    assert GATE_LABELS["z"] == "update gate"
    ModelConfig(arch="light-gru")  # accepted by name, like a built-in cell


def test_an_unknown_arch_is_still_refused_by_name():
    with pytest.raises(ConfigError, match="arch='light-gru'.*lstm"):
        ModelConfig(arch="light-gru")


def test_the_new_cells_fast_path_equals_its_step(light_gru):
    B, T, E, H = 3, 6, 5, 4
    cell = light_gru(E, H, rngs=nnx.Rngs(0))
    cell.b[...] = 0.3 * jnp.sin(jnp.arange(2 * H))
    graph, params = nnx.split(cell)
    x = jax.random.normal(jax.random.key(1), (B, T, E))
    carry = 0.5 * jax.random.normal(jax.random.key(2), (B, H))
    mask = jnp.asarray(np.arange(T)[None] < np.array([6, 2, 0])[:, None])

    def loss(run):
        def f(p, x, carry):
            final, outs = run(nnx.merge(graph, p), carry, x)
            return sum((jnp.cos(1.0 + o) * o).sum() for o in outs.values()) + final.sum()
        return f

    def reference(c, carry, x):
        return scan(c, carry, x, mask)

    def fast(c, carry, x):
        return c.sequence(carry, x, mask)

    for a, b in zip(jax.tree.leaves(fast(cell, carry, x)),
                    jax.tree.leaves(reference(cell, carry, x)), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    got = jax.grad(loss(fast), argnums=(0, 1, 2))(params, x, carry)
    want = jax.grad(loss(reference), argnums=(0, 1, 2))(params, x, carry)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_the_new_cell_trains_stacked_and_bidirectional_and_shows_its_gates(light_gru):
    data = prepare(DataConfig(dataset="sentiment", size=200, max_len=16, batch_size=16))
    config = ModelConfig(arch="light-gru", hidden=16, embed=8, layers=2, bidirectional=True)
    trainer = Trainer(data, config, TrainConfig(steps=30, chunk=10, eval_every=0, lr=3e-3))
    first = trainer.evaluate()["loss"]
    trainer.fit()
    assert trainer.evaluate()["loss"] < first
    model = build_model(config.replace(task="lm", bidirectional=False), vocab_size=20)
    tokens = jnp.ones((2, 5), jnp.int32)
    _, trace = model(tokens, jnp.ones((2, 5), bool))
    assert set(trace.gates) == {"z", "n"} and trace.gates["z"].shape == (2, 1, 2, 5, 16)
