"""The numbers behind the visual views: gradient flow shows vanishing gradients, saliency
is complete, PCA finds the dominant direction, patterns map to tokens, planted neurons
are found, and probing compiles once without changing the model's mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB

from workbench import DataConfig, ModelConfig, build_model, prepare
from workbench.infer import analysis as an
from workbench.infer import geometry as geo
from workbench.nn.trace import Trace


@pytest.fixture(scope="module")
def recall():
    return prepare(DataConfig(dataset="recall", difficulty=3, size=64, max_len=40,
                              batch_size=32))


def _recall_model(data, arch, hidden=64, embed=32):
    config = ModelConfig(arch=arch, hidden=hidden, embed=embed,
                         pooling="last", unroll=1)  # unroll: compile speed, same numbers
    return build_model(config, data.vocab_size, n_classes=len(data.label_names), seed=0,
                       task="classify")


# --- gradient flow --------------------------------------------------------------------------
def test_gradients_vanish_faster_in_an_elman_network_than_in_an_lstm(recall):
    batch = next(recall.batches("validation", train=False))
    real = batch["mask"].any(axis=0)
    assert not real.all(), "the batch should have positions padded in every sequence"
    ratios = {}
    for arch in ("elman", "lstm"):
        flow = an.gradient_flow(_recall_model(recall, arch), batch)
        assert flow.shape == (batch["mask"].shape[1],)
        assert np.all(np.isnan(flow[~real]))
        assert np.all(np.isfinite(flow[real])) and np.all(flow[real] > 0)
        ratios[arch] = an.gradient_ratio(flow)
    print(f"first/last gradient ratio at init on recall-3: elman {ratios['elman']:.4g}, "
          f"lstm {ratios['lstm']:.4g}")
    assert ratios["elman"] < ratios["lstm"]


def test_gradient_ratio_reads_the_first_and_last_real_steps():
    assert an.gradient_ratio(np.array([np.nan, 0.5, 1.0, 2.0, np.nan])) == 0.25
    assert np.isnan(an.gradient_ratio(np.full(3, np.nan)))


# --- saliency -------------------------------------------------------------------------------
SMALL = dict(hidden=16, embed=8, unroll=1)
SALIENCY_CONFIGS = [("classify", ModelConfig(arch="lstm", **SMALL)),
                    ("tag", ModelConfig(arch="transformer", heads=2, **SMALL)),
                    ("seq2seq", ModelConfig(arch="elman", attention="dot", **SMALL))]
TOKENS = np.array([[4, 5, 6, 7, 8, 9, 0, 0]], np.int32)
MASK = TOKENS > 0


def _extra(task):
    return dict(dec_tokens=TOKENS, dec_mask=MASK) if task == "seq2seq" else {}


def _scored_logits(model, task):
    """Logits ``[C]`` that saliency explains: the classifier's, or at the last real step."""
    logits, _ = an.probe(model, TOKENS, MASK, **_extra(task))
    return logits[0] if logits.ndim == 2 else logits[0, MASK.sum() - 1]


@pytest.mark.parametrize("task, config", SALIENCY_CONFIGS,
                         ids=lambda c: c if isinstance(c, str) else c.arch)
def test_integrated_gradients_are_complete(task, config):
    """sum_t IG_t = f(x) - f(zero embeddings), within 2%."""
    model = build_model(config, VOCAB, n_classes=CLASSES, seed=0, task=task)
    baseline = nnx.clone(model)
    table = (baseline.src_embed if task == "seq2seq" else baseline.embed).embedding
    table[...] = jnp.zeros_like(table[...])
    f_x, f_0 = _scored_logits(model, task), _scored_logits(baseline, task)
    c = int(f_x.argmax())
    ig = an.saliency(model, TOKENS, MASK, method="integrated", **_extra(task))
    assert ig.shape == (TOKENS.shape[1],)
    np.testing.assert_allclose(ig.sum(), f_x[c] - f_0[c], rtol=0.02)


def test_grad_x_input_is_zero_on_padding_and_follows_the_target():
    model = build_model(SALIENCY_CONFIGS[0][1], VOCAB, n_classes=CLASSES, seed=0,
                        task="classify")
    s0 = an.saliency(model, TOKENS[0], MASK[0], target=0)
    s1 = an.saliency(model, TOKENS[0], MASK[0], target=1)
    assert np.all(s0[~MASK[0]] == 0.0) and np.all(s0[MASK[0]] != 0.0)
    assert not np.allclose(s0, s1)
    with pytest.raises(ValueError, match="method"):
        an.saliency(model, TOKENS, MASK, method="occlusion")


# --- PCA ------------------------------------------------------------------------------------
def test_pca_finds_the_dominant_direction():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=12)
    direction /= np.linalg.norm(direction)
    states = 3.0 + rng.normal(size=(400, 1)) * 5.0 * direction + rng.normal(size=(400, 12)) * 0.3
    basis = geo.pca_basis(states, k=3)
    assert basis.components.shape == (3, 12) and basis.explained.shape == (3,)
    assert abs(basis.components[0] @ direction) > 0.99
    assert np.all(np.diff(basis.explained) <= 0) and basis.explained.sum() <= 1.0 + 1e-12
    np.testing.assert_allclose(geo.project(basis, basis.mean), 0.0, atol=1e-12)
    assert geo.project(basis, states.reshape(20, 20, 12)).shape == (20, 20, 3)


# --- pattern matching and neuron search ------------------------------------------------------
def test_match_pattern_maps_character_matches_back_to_tokens():
    brackets = ["a", "b", "(", "c", ")"]
    for sep in (" ", ""):
        (marks,) = geo.match_pattern([brackets], r"\(.*?\)", sep=sep)
        np.testing.assert_array_equal(marks, [0, 0, 1, 1, 1])
    words = ["the", "cat", "sat", "on", "the", "mat"]
    got = geo.match_pattern([words, ["no", "match"]], r"the \w+")
    np.testing.assert_array_equal(got[0], [1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(got[1], [0, 0])
    np.testing.assert_array_equal(geo.match_pattern([words], "at")[0], [0, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(geo.match_pattern([words], " ")[0], np.zeros(6))


def test_neuron_search_finds_a_planted_unit():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(20, 30, 16))
    mask = np.arange(30)[None, :] < rng.integers(5, 31, size=20)[:, None]
    target = (rng.random((20, 30)) < 0.2).astype(float)
    acts[..., 7] = target + 0.05 * rng.normal(size=(20, 30))
    acts[..., 2] = -target + 0.3 * rng.normal(size=(20, 30))  # dips on the pattern
    acts[..., 3] = 0.5  # constant
    acts[~mask] = 99.0  # padding must not count
    ranking = geo.neuron_search(acts, mask, target, top=16)
    assert ranking.units[0] == 7 and ranking.units[1] == 2
    assert ranking.correlation[0] > 0.95 and ranking.correlation[1] < -0.7
    assert ranking.precision[0] > 0.95 and ranking.precision[1] > 0.7
    assert ranking.all_correlation[3] == 0.0
    assert ranking.precision[list(ranking.units).index(3)] == 0.0
    assert ranking.positions == mask.sum() and ranking.matched == target[mask].sum()
    flat = geo.neuron_search(acts, mask, np.zeros((20, 30)), top=3)
    assert np.all(flat.correlation == 0.0) and np.all(flat.precision == 0.0)


def test_dataset_glue_samples_hidden_states_and_searches_a_pattern(recall):
    model = _recall_model(recall, "gru", hidden=16, embed=8)
    states = geo.hidden_sample(model, recall, max_batches=1)
    ranking = geo.neuron_search_dataset(model, recall, r"\?", max_batches=1, top=5)
    batch = next(recall.batches("validation", train=False))
    real_rows = int(batch["mask"].any(axis=1).sum())
    assert states.shape == (batch["mask"].sum(), 16)
    assert ranking.units.shape == (5,) and ranking.positions == states.shape[0]
    assert ranking.matched == real_rows  # one '?' per recall example


# --- probe ----------------------------------------------------------------------------------
def test_probe_compiles_once_and_leaves_the_mode_alone():
    config = ModelConfig(arch="lstm", dropout=0.5, **SMALL)
    model = build_model(config, VOCAB, n_classes=CLASSES, seed=0, task="classify")  # train
    rng = np.random.default_rng(0)
    before = an.TRACE_COUNT["probe"]
    outs = [an.probe(model, rng.integers(1, VOCAB, (2, 8)), np.ones((2, 8), bool))
            for _ in range(3)]
    other = build_model(config, VOCAB, n_classes=CLASSES, seed=1,  # new weights, same shape
                        task="classify")
    logits, trace = an.probe(other, outs[0][1].mask * 5, outs[0][1].mask)
    assert an.TRACE_COUNT["probe"] == before + 1
    assert not model.dropout.deterministic  # still in train mode
    tokens = rng.integers(1, VOCAB, (2, 8))
    a, _ = an.probe(model, tokens, np.ones((2, 8), bool))
    b, _ = an.probe(model, tokens, np.ones((2, 8), bool))
    np.testing.assert_array_equal(a, b)  # eval mode inside: no dropout noise
    assert isinstance(logits, np.ndarray) and isinstance(trace, Trace)
    assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(trace))


def test_trace_to_numpy_keeps_the_structure():
    def trace(t, source=None):
        return Trace(hidden=jnp.ones((1, 1, 2, t, 3)), gates={"z": jnp.zeros((1, 1, 2, t, 3))},
                     attention={"cross": jnp.ones((1, 2, 1, t, 5))},
                     mask=jnp.ones((2, t), bool), source=source)

    device = trace(4, source=trace(5))
    host = an.trace_to_numpy(device)
    assert isinstance(host, Trace) and isinstance(host.source, Trace)
    assert jax.tree.structure(host) == jax.tree.structure(device)
    assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(host))
    np.testing.assert_array_equal(host.gates["z"], 0.0)
