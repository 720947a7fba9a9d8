"""The recipes of CONTRIBUTING.md, followed by a test without touching the package: a
fifth cell defined here trains, shows its gates and passes the parity checks every cell
passes; a fifth task defined here is detected, encoded, batched, built, trained, scored,
saved and reloaded like the four."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workbench import DataConfig, ModelConfig, build_model, prepare
from workbench.config import ARCHS, ConfigError, TrainConfig
from workbench.infer.translate import greedy_translate
from workbench.nn.cells import CELLS, Cell, unregister
from workbench.nn.cells.base import affine, gate_cotangent, sigmoid_tanh
from workbench.nn.gates import GATE_LABELS, GATES
from workbench.nn.scan import scan
from workbench.tasks import TASKS, Task, task_named
from workbench.tasks.base import pad, until
from workbench.train import checkpoint
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
    model = build_model(config.replace(bidirectional=False), vocab_size=20, task="lm")
    tokens = jnp.ones((2, 5), jnp.int32)
    _, trace = model(tokens, jnp.ones((2, 5), bool))
    assert set(trace.gates) == {"z", "n"} and trace.gates["z"].shape == (2, 1, 2, 5, 16)


# --- a fifth task ----------------------------------------------------------------------------
def define_reverse_words():
    """Write a sentence's words in reverse order: a seq2seq model trained on plain text,
    the target computed from the source (the file has no target column). Exactly the
    recipe: one class, its facts and the methods that differ."""

    class ReverseWords(Task):
        name, writes, head = "reverse-words", True, "seq2seq"
        options, main_metrics, inspect = frozenset({"attention"}), ("exact_match",), "translate"
        noun, use = "word reverser", "translate RUN TEXT"
        preview_header = ("source", "reversed")

        def encode(self, split, tokenizer, max_len):
            arrays = super().encode(split, tokenizer, max_len)
            target = tokenizer.encode([" ".join(t.split()[::-1]) for t in split.read("text")])
            arrays["dec_tokens"], _ = pad([[tokenizer.bos, *t] for t in target], max_len)
            arrays["targets"], arrays["dec_lengths"] = pad(
                [[*t, tokenizer.eos] for t in target], max_len)
            return arrays

        def model_args(self, data):
            return {**super().model_args(data), "target_vocab_size": data.vocab_size}

        def scores(self, data, split, kept, loss, translate):
            eos, hits = data.tokenizer.eos, []
            for batch, _ in kept[:2]:
                for tokens, mask, targets in zip(batch["tokens"], batch["mask"],
                                                 batch["targets"], strict=True):
                    if mask.any():
                        [out] = translate(tokens[None], mask[None])
                        hits.append(out == until(targets, eos))
            return {"exact_match": float(np.mean(hits))}

        def preview(self, tokenizer, names, batch, i):
            ids = batch["tokens"][i][batch["mask"][i]]
            return tokenizer.decode(ids), tokenizer.decode(until(batch["targets"][i],
                                                                 tokenizer.eos))

    return ReverseWords


@pytest.fixture
def reverse_words():
    cls = define_reverse_words()
    yield cls
    cls.remove()
    assert "reverse-words" not in TASKS
    with pytest.raises(ConfigError, match="task='reverse-words'.*seq2seq"):
        ModelConfig().check_task("reverse-words")


@pytest.fixture
def sentences(tmp_path):
    """Plain text, one sentence of 3-5 of eight words a line, as a user's JSON-lines file."""
    rng, words = np.random.default_rng(0), "red green blue cat dog sun moon tree".split()
    paths = []
    for split, n in (("train", 600), ("validation", 64)):
        path = tmp_path / f"{split}.jsonl"
        path.write_text("".join(json.dumps({"text": " ".join(rng.choice(words, rng.integers(
            3, 6)))}) + "\n" for _ in range(n)))
        paths.append((split, str(path)))
    return tuple(paths)


def test_defining_a_task_registers_it(reverse_words):
    assert TASKS["reverse-words"] is reverse_words
    assert isinstance(task_named("reverse-words"), reverse_words)
    ModelConfig().check_task("reverse-words")  # accepted by name, like a built-in task
    DataConfig(dataset="x.jsonl", task="reverse-words")


def test_the_new_task_reads_its_columns_and_batches_like_seq2seq(reverse_words, sentences):
    data = prepare(DataConfig(data_files=sentences, task="reverse-words", tokenizer="word",
                              max_len=8, batch_size=16))
    assert data.task == "reverse-words" and data.columns.text == "text"
    batch = next(data.batches("train"))
    assert set(batch) == {"tokens", "mask", "dec_tokens", "dec_mask", "targets"}
    source = data.tokenizer.decode(batch["tokens"][0][batch["mask"][0]])
    target = data.tokenizer.decode(until(batch["targets"][0], data.tokenizer.eos))
    assert target.split() == source.split()[::-1]


def test_the_new_task_trains_is_scored_saved_and_reloaded(reverse_words, sentences, tmp_path):
    data = prepare(DataConfig(data_files=sentences, task="reverse-words", tokenizer="word",
                              max_len=8, batch_size=16))
    config = ModelConfig(arch="gru", hidden=32, embed=16,
                         attention="dot")
    trainer = Trainer(data, config, TrainConfig(steps=200, chunk=50, eval_every=0, lr=1e-2))
    first = trainer.evaluate()
    trainer.fit()
    after = trainer.evaluate()
    assert set(first) >= {"loss", "accuracy", "exact_match"}
    assert after["loss"] < 0.5 * first["loss"] and after["accuracy"] > 0.6
    assert after["exact_match"] > 0.5 > first["exact_match"]  # its own scores, greedy decoding
    trainer.save(tmp_path / "run")
    ck = checkpoint.load(tmp_path / "run")
    source = data.tokenizer.hf.encode("red cat sun", add_special_tokens=False).ids
    assert greedy_translate(ck.model, source, 8).ids == greedy_translate(
        trainer.model, source, 8).ids
