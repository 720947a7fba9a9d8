"""Behaviour of every architecture x task: padding invariance, causality, attention
weights, finite gradients, and a core that stays free of UI libraries."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB, all_configs, make_batch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import ModelConfig, build_model
from workbench.tasks.batches import loss_and_accuracy, model_inputs

CONFIGS = all_configs()
TOL = dict(rtol=1e-5, atol=1e-5)


def _model(task, config, seed=0):
    model = build_model(config, VOCAB, n_classes=CLASSES, seed=seed, task=task)
    model.eval()
    return model


def _forward(model):
    """A jitted ``batch -> (logits, trace)`` for ``model``."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def run(state, batch):
        return nnx.merge(graphdef, state)(*model_inputs(batch))

    return lambda batch: run(state, batch)


def _real_part(trace, n, m=None):
    """Leaves of a trace restricted to sequence 0's ``n`` real positions (``m`` for the
    source/key side of cross-attention)."""
    m = n if m is None else m
    out = {"hidden": trace.hidden[:, :, 0, :n]}
    out.update({f"gate_{k}": v[:, :, 0, :n] for k, v in trace.gates.items()})
    for name, w in trace.attention.items():
        keys = m if name == "cross" else n
        out[f"attn_{name}"] = w[:, 0, :, : (1 if name == "pool" else n), :keys]
    return out


seq = st.lists(st.integers(1, VOCAB - 1), min_size=1, max_size=8)
others = st.lists(st.lists(st.integers(1, VOCAB - 1), min_size=1, max_size=32),
                  min_size=2, max_size=2)


@pytest.mark.parametrize("task, config", CONFIGS)
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(row=seq, dec_row=seq, fill_a=others, fill_b=others, junk_seed=st.integers(0, 99))
def test_padding_never_changes_a_sequence_result(task, config, row, dec_row, fill_a, fill_b,
                                                 junk_seed):
    """Sequence 0 gives the same logits and trace padded to 8 or 32, whatever else is in
    the batch and whatever junk sits in its padding."""
    forward = _FORWARDS.setdefault((task, config), _forward(_model(task, config)))
    rng = np.random.default_rng(junk_seed)
    short = [row] + [r[:8] for r in fill_a]
    results = []
    for rows, length in ((short, 8), ([row] + fill_b, 32)):
        dec = [dec_row] + [r[: length] for r in fill_a]
        batch = make_batch(task, rows, dec_rows=dec, length=length, rng=rng)
        results.append(forward(batch))
    (logits_a, trace_a), (logits_b, trace_b) = results
    n = len(dec_row) if task == "seq2seq" else len(row)
    if task == "classify":
        np.testing.assert_allclose(logits_a[0], logits_b[0], **TOL)
    else:
        np.testing.assert_allclose(logits_a[0, :n], logits_b[0, :n], **TOL)
    parts_a, parts_b = _real_part(trace_a, n, len(row)), _real_part(trace_b, n, len(row))
    if trace_a.source is not None:
        parts_a.update({"src_" + k: v for k, v in _real_part(trace_a.source, len(row)).items()})
        parts_b.update({"src_" + k: v for k, v in _real_part(trace_b.source, len(row)).items()})
    assert parts_a.keys() == parts_b.keys()
    for key in parts_a:
        np.testing.assert_allclose(parts_a[key], parts_b[key], **TOL, err_msg=key)


_FORWARDS: dict = {}


@pytest.mark.parametrize("arch", ["elman", "lstm", "gru", "transformer"])
def test_language_models_are_causal(arch):
    config = ModelConfig(arch=arch, hidden=16, embed=8, heads=2, layers=2)
    forward = _forward(_model("lm", config))
    tokens = np.random.default_rng(0).integers(1, VOCAB, (1, 10)).astype(np.int32)
    mask = np.ones_like(tokens, bool)
    base, _ = forward({"tokens": tokens, "mask": mask})
    for t in range(9):
        changed = tokens.copy()
        changed[0, t + 1] = (changed[0, t + 1] % (VOCAB - 1)) + 1
        logits, _ = forward({"tokens": changed, "mask": mask})
        np.testing.assert_allclose(logits[0, : t + 1], base[0, : t + 1], **TOL)
        assert not np.allclose(logits[0, t + 1], base[0, t + 1])  # the change is seen


def _check_rows(w, query_mask, key_mask):
    """Rows of ``w`` [..., Tq, Tk] for real queries sum to 1; padded keys get 0."""
    w = np.asarray(w)
    sums = w.sum(-1)
    np.testing.assert_allclose(sums[..., query_mask], 1.0, rtol=1e-5)
    assert np.all(w[..., ~key_mask] == 0.0)


@pytest.mark.parametrize("task, config", [
    ("tag", ModelConfig(arch="transformer", hidden=16, embed=8, heads=4, layers=2)),
    ("lm", ModelConfig(arch="transformer", hidden=16, embed=16, heads=2)),
    ("seq2seq", ModelConfig(arch="transformer", hidden=16, embed=8, heads=2)),
    ("seq2seq", ModelConfig(arch="gru", hidden=16, embed=8, attention="dot")),
    ("seq2seq", ModelConfig(arch="lstm", hidden=16, embed=8, bidirectional=True)),
    ("classify", ModelConfig(arch="elman", hidden=16, embed=8, pooling="attention")),
], ids=lambda c: c if isinstance(c, str) else c.arch)
def test_attention_rows_sum_to_one_and_ignore_padding(task, config):
    forward = _forward(_model(task, config))
    batch = make_batch(task, [[3, 4, 5], [1] * 8], dec_rows=[[2, 2, 2, 2, 2], [3]],
                       length=8, rng=np.random.default_rng(0))
    _, trace = forward(batch)
    src_mask = batch["mask"][0]
    query_mask = batch["dec_mask"][0] if task == "seq2seq" else src_mask
    assert trace.attention, "this config should expose attention"
    for name, w in trace.attention.items():
        w0 = w[:, 0]  # [L, N, Tq, Tk] for sequence 0
        if name == "pool":
            _check_rows(w0, np.ones(1, bool), src_mask)
        elif name == "cross":
            _check_rows(w0, query_mask, src_mask)
        else:
            _check_rows(w0, query_mask, query_mask)
    if "self" in trace.attention and task == "lm":
        w = np.asarray(trace.attention["self"][:, 0])
        assert np.all(np.triu(np.ones((8, 8), bool), 1)[None, None] <= (w == 0.0))


@pytest.mark.parametrize("task, config", CONFIGS)
def test_the_trace_names_its_sides_and_the_tokens_of_every_map(task, config):
    """What the views read instead of branching on the architecture: the sides a person
    picks, the part that reads the input, and each attention map's row and column masks."""
    _, trace = _forward(_model(task, config))(make_batch(task, [[3, 4, 5], [1] * 6],
                                                   dec_rows=[[2, 2], [3]], length=8))
    seq2seq = task == "seq2seq"
    assert list(trace.sides()) == (["encoder", "decoder"] if seq2seq else ["encoder"])
    reads = {name: side for name, (_, side) in trace.sides().items()}
    assert reads == ({"encoder": "source", "decoder": "target"} if seq2seq
                     else {"encoder": "source"})
    assert trace.encoder.mask[0].sum() == 3  # the source's real tokens, on every side
    masks = {"source": trace.encoder.mask, "target": trace.mask}
    for label, (w, (q_side, q_mask), (k_side, k_mask)) in trace.attention_maps().items():
        assert w.shape[-2:] == (q_mask.shape[-1], k_mask.shape[-1]), label
        assert k_side != "pool" and (q_side == "pool") == (label == "attention pooling")
        np.testing.assert_array_equal(k_mask, masks[k_side], err_msg=label)
        if q_side != "pool":
            np.testing.assert_array_equal(q_mask, masks[q_side], err_msg=label)
    if seq2seq:
        assert "cross-attention" in trace.attention_maps()


@pytest.mark.parametrize("task, config", CONFIGS)
def test_gradients_are_finite_and_reach_every_parameter(task, config):
    model = build_model(config, VOCAB, n_classes=CLASSES, task=task)
    rng = np.random.default_rng(1)
    batch = make_batch(task, [[1, 2, 3, 4], [5, 6], [7, 8, 9, 10, 11, 12]], length=8,
                       rng=rng)
    labels_shape = (3,) if task == "classify" else (3, 8)
    key = "labels" if task in ("classify", "tag") else "targets"
    batch[key] = rng.integers(0, CLASSES, labels_shape).astype(np.int32)

    def loss_of(model):
        logits, _ = model(*model_inputs(batch))
        return loss_and_accuracy(logits, batch)[0]

    grads = nnx.jit(nnx.grad(loss_of))(model)
    leaves = jax.tree.leaves_with_path(nnx.state(grads, nnx.Param))
    assert leaves
    for path, g in leaves:
        assert np.all(np.isfinite(g)), jax.tree_util.keystr(path)
    total = sum(float(jnp.abs(g).sum()) for _, g in leaves)
    assert total > 0.0
