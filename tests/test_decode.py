"""Decoding, as a specification: sampling honours temperature, top-k and top-p; generation
is reproducible, equals a plain greedy loop, slides its window, stops at EOS and compiles
once; a GRU encoder-decoder trained for seconds reverses held-out sequences, attends along
the anti-diagonal, and beam search with one beam is greedy search."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB, pad

from workbench import DataConfig, ModelConfig, build_model, prepare
from workbench.data.tokenizer import BOS, EOS
from workbench.infer import decode as wd
from workbench.infer import translate as wtr
from workbench.train import step as wt
from workbench.train.evaluation import evaluate

LOGITS = np.array([2.0, -1.0, 0.5, 1.5, 0.0, -3.0], np.float32)  # argmax 0, runner-up 3


def _keys(n, seed=0):
    return list(jax.random.split(jax.random.key(seed), n))  # a list: cheap to iterate


def test_greedy_settings_pick_the_argmax():
    rng = np.random.default_rng(0)
    for logits in [LOGITS, *rng.normal(size=(5, 13)).astype(np.float32)]:
        best = int(np.argmax(logits))
        for key in _keys(5):
            assert wd.sample_logits(logits, key, temperature=0.0) == best
            assert wd.sample_logits(logits, key, temperature=0.0, top_k=3, top_p=0.5) == best
            assert wd.sample_logits(logits, key, top_p=1e-3) == best
            for temperature in (0.3, 1.0, 10.0):
                assert wd.sample_logits(logits, key, temperature, top_k=1) == best


def test_top_k_two_never_leaves_the_top_two():
    drawn = {wd.sample_logits(LOGITS, key, temperature=5.0, top_k=2) for key in _keys(300)}
    assert drawn == {0, 3}  # both appear at a high temperature, nothing else does


def test_frequencies_follow_the_tempered_and_filtered_softmax():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    n = 2000

    def frequencies(**settings):
        draws = [wd.sample_logits(logits, key, **settings) for key in _keys(n, seed=1)]
        return np.bincount(draws, minlength=4) / n

    tempered = np.exp(logits / 0.7) / np.exp(logits / 0.7).sum()
    np.testing.assert_allclose(frequencies(temperature=0.7), tempered, atol=0.035)
    # nucleus 0.7: {0, 1} is the smallest set reaching 0.7 (0.5 alone does not)
    np.testing.assert_allclose(frequencies(top_p=0.7), [0.625, 0.375, 0, 0], atol=0.035)
    np.testing.assert_allclose(frequencies(top_k=3), np.array([0.5, 0.3, 0.15, 0]) / 0.95,
                               atol=0.035)


def test_the_same_key_gives_the_same_token_and_bad_settings_are_named():
    for key in _keys(20):
        assert wd.sample_logits(LOGITS, key) == wd.sample_logits(LOGITS, key)
    with pytest.raises(ValueError, match="top_p"):
        wd.sample_logits(LOGITS, _keys(1)[0], top_p=0.0)


def _lm(arch="gru", dropout=0.5):
    config = ModelConfig(arch=arch, hidden=16, embed=8, heads=2, dropout=dropout,
                         unroll=1)
    return build_model(config, VOCAB, seed=1, task="lm")


def _manual_greedy(model, prompt, n, max_len):
    """Call the model on the growing prefix (its last ``max_len`` tokens), unpadded."""
    graphdef, state = nnx.split(model)
    forward = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x, jnp.ones(x.shape, bool)))
    ids = list(prompt)
    for _ in range(n):
        logits, _ = forward(state, jnp.asarray([ids[-max_len:]], jnp.int32))
        ids.append(int(jnp.argmax(logits[0, -1])))
    return ids


def test_greedy_generation_equals_a_plain_loop_and_slides_its_window():
    model = _lm()
    model.eval()
    prompt, n, max_len = [4, 5, 6, 7, 8, 9], 6, 8  # 12 tokens through an 8-token window
    result = wd.generate(model, prompt, n, max_len, temperature=0.0, stop_at_eos=False)
    assert result.ids == _manual_greedy(model, prompt, n, max_len)
    assert result.ids == prompt + result.new_ids and len(result.new_ids) == n
    np.testing.assert_array_equal(result.probs, 1.0)  # greedy: a point mass
    np.testing.assert_array_equal(result.top_ids[:, 0], result.new_ids)


def test_generation_is_reproducible_and_probabilities_are_the_ones_used():
    model = _lm()
    runs = [wd.generate(model, [4, 5], 10, 8, seed=seed, stop_at_eos=False)
            for seed in (0, 0, 1, 2, 3)]
    assert runs[0].ids == runs[1].ids
    np.testing.assert_array_equal(runs[0].probs, runs[1].probs)
    assert len({tuple(r.new_ids) for r in runs[1:]}) >= 3  # different seeds differ
    for r in runs:
        assert np.all((r.probs > 0) & (r.probs <= 1))
        np.testing.assert_allclose(r.probs, r.model_probs, rtol=1e-4)  # nothing filtered
    filtered = wd.generate(model, [4, 5], 10, 8, top_k=3, stop_at_eos=False)
    assert np.all(filtered.probs >= filtered.model_probs) and np.all(filtered.probs <= 1)
    np.testing.assert_allclose(filtered.probs, filtered.model_probs  # renormalised top 3
                               / filtered.top_probs[:, :3].sum(axis=1), rtol=1e-4)
    assert all(t in row for t, row in zip(filtered.new_ids, filtered.top_ids[:, :3],
                                          strict=True))
    assert wd.generate(model, [], 3, 8).ids[0] == BOS  # an empty prompt starts from BOS


def test_generation_stops_at_eos_and_leaves_the_model_mode_alone():
    model = _lm()  # built in train mode: dropout on
    model.head.bias[...] = model.head.bias[...].at[EOS].set(50.0)
    assert wd.generate(model, [4], 6, 8).new_ids == [EOS]
    assert wd.generate(model, [4], 6, 8, stop_at_eos=False).new_ids == [EOS] * 6
    model.head.bias[...] = jnp.zeros(VOCAB)
    first = wd.generate(model, [4, 5, 6], 12, 8, temperature=0.0, stop_at_eos=False)
    assert model.dropout.deterministic is False  # still in train mode
    model.eval()
    again = wd.generate(model, [4, 5, 6], 12, 8, temperature=0.0, stop_at_eos=False)
    assert again.ids == first.ids  # dropout was off in both runs


def test_generation_compiles_once_per_length():
    model = _lm()
    wd.generate(model, [4, 5], 3, 8)
    before = wd.TRACE_COUNT["lm_chunk"]
    for prompt, n, settings in (([], 1, {}), ([4] * 20, 40, {"temperature": 0.0}),
                                ([7, 8, 9], 17, {"top_k": 2, "top_p": 0.5, "seed": 3})):
        wd.generate(model, prompt, n, 8, **settings)
    model.head.bias[...] = jnp.ones(VOCAB)  # new weights, same graph
    wd.generate(model, [4, 5], 5, 8)
    assert wd.TRACE_COUNT["lm_chunk"] == before
    wd.generate(model, [4, 5], 5, 9)  # a new length is a new shape: the counter sees it
    assert wd.TRACE_COUNT["lm_chunk"] == before + 1


def test_classifier_probabilities_and_tags():
    tokens, mask = pad([[4, 5, 6], [7, 8], [9]], 6)
    config = ModelConfig(arch="gru", hidden=16, embed=8, unroll=1)
    classifier = build_model(config, VOCAB, n_classes=CLASSES, task="classify")
    probs = wd.predict_proba(classifier, tokens, mask)
    assert probs.shape == (3, CLASSES) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    classifier.head.bias[...] = jnp.zeros(CLASSES).at[2].set(30.0)
    np.testing.assert_allclose(wd.predict_proba(classifier, tokens, mask)[:, 2], 1.0)
    tagger = build_model(config, VOCAB, n_classes=CLASSES, task="tag")
    tagger.head.bias[...] = jnp.zeros(CLASSES).at[1].set(30.0)  # every real token: tag 1
    np.testing.assert_array_equal(wd.tag(tagger, tokens, mask), np.where(mask, 1, -1))
    with pytest.raises(TypeError, match="task='tag'"):
        wd.tag(classifier, tokens, mask)


MAX_LEN = 12


@pytest.fixture(scope="module")
def reverser():
    """A GRU encoder-decoder trained for a few hundred steps to reverse symbol strings."""
    data = prepare(DataConfig(dataset="reverse", size=3000, max_len=MAX_LEN, batch_size=64))
    config = ModelConfig(arch="gru", hidden=64, embed=32, attention="dot",
                         unroll=1)
    model = build_model(config, data.vocab_size, task="seq2seq")
    optimizer = nnx.Optimizer(model, wt.make_optimizer(5e-3), wrt=nnx.Param)
    steps = 0
    for epoch in range(100):
        for batch in data.batches("train", epoch=epoch):
            wt.train_step(model, optimizer, batch)
            steps += 1
            if steps == 400:
                val = data.arrays["validation"]
                sources = [val["tokens"][i, : val["lengths"][i]].tolist() for i in range(20)]
                return model, sources
    raise AssertionError("unreachable")


def test_a_trained_reverser_reverses_held_out_sources_along_the_anti_diagonal(reverser):
    model, sources = reverser
    exact, on_diagonal, rows = 0, 0, 0
    for src in sources:
        result = wtr.greedy_translate(model, src, MAX_LEN)
        exact += result.ids == src[::-1] and result.finished
        n = len(src)
        if len(result.ids) == n:
            w = result.cross_attention
            np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
            on_diagonal += int((w.argmax(axis=1) == n - 1 - np.arange(n)).sum())
        rows += n
    assert exact >= 16, f"{exact}/20 reversed exactly"
    assert on_diagonal >= 0.75 * rows, f"{on_diagonal}/{rows} rows peak on the anti-diagonal"


def test_beam_search_with_one_beam_is_greedy_and_wider_beams_score_no_worse(reverser):
    model, sources = reverser
    for i, src in enumerate(sources):
        if i == 1:  # compiled by now; sources of other lengths reuse it
            before = dict(wd.TRACE_COUNT)
        greedy = wtr.greedy_translate(model, src, MAX_LEN)
        one = wtr.beam_translate(model, src, MAX_LEN, beam=1)
        assert (one.ids, one.finished) == (greedy.ids, greedy.finished)
        np.testing.assert_allclose(one.log_prob, greedy.log_prob, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(one.cross_attention, greedy.cross_attention, atol=1e-6)
        four = wtr.beam_translate(model, src, MAX_LEN, beam=4, length_penalty=0.6)
        assert four.score == pytest.approx(four.normalized(0.6), rel=1e-5)
        assert four.score >= greedy.normalized(0.6) - 1e-5
    assert len({len(s) for s in sources}) > 1
    assert wd.TRACE_COUNT == before


def test_greedy_rows_translate_a_batch_as_greedy_translate_does_each_row(reverser):
    """What scoring a whole split relies on: batching changes no output, a row without
    tokens gives nothing, and the loop compiles once for the batch shape."""
    model, sources = reverser
    tokens, mask = pad(sources + [[]], MAX_LEN)
    rows = wtr.greedy_rows(model, tokens, mask)
    before = dict(wd.TRACE_COUNT)
    assert wtr.greedy_rows(model, tokens[::-1].copy(), mask[::-1].copy()) == rows[::-1]
    assert wd.TRACE_COUNT == before
    assert rows[-1] == [] and len(rows) == len(sources) + 1
    for src, out in zip(sources, rows, strict=False):
        assert out == wtr.greedy_translate(model, src, MAX_LEN).ids
    assert sum(out == src[::-1] for src, out in zip(sources, rows, strict=False)) >= 16


def test_bleu_scores_every_validation_row_against_its_target_text(reverser):
    """Scoring a seq2seq split translates each of its rows once, in file order, and
    compares the output with the row's target as the file has it."""
    model, _ = reverser
    data = prepare(DataConfig(dataset="reverse", size=3000, max_len=MAX_LEN, batch_size=64))
    rows = data.rows("validation")
    scores = evaluate(model, data, "validation")
    assert scores["translated"] == len(rows["lengths"]) == 375
    hits = 0
    for tokens, n, text in zip(rows["tokens"], rows["lengths"], rows["target_text"],
                               strict=True):
        out = wtr.greedy_translate(model, tokens[:n].tolist(), MAX_LEN).ids
        hits += " ".join(data.tokenizer.decode(out).split()) == " ".join(text.split())
    assert scores["exact_match"] == pytest.approx(hits / 375)
    assert scores["bleu"] == pytest.approx(evaluate(model, data, "validation")["bleu"])
    assert evaluate(model, data, "validation", max_batches=2)["translated"] == 200


_teacher_forced = nnx.jit(lambda model, *inputs: model(*inputs)[0])  # one compile per graph


def _exhaustive_best(model, src, u, alpha):
    """Score every output of up to ``u`` tokens (EOS included) over a target vocabulary
    of 5 by teacher forcing; return the best ``(ids, log_prob, normalised score)``."""
    outputs = [list(y) for k in range(u) for y in itertools.product([0, 1, 2, 4], repeat=k)]
    dec, dec_mask = pad([[BOS, *y] for y in outputs], u)
    targets = pad([[*y, EOS] for y in outputs], u)[0]
    tokens, mask = pad([src] * len(outputs), u)
    logits = _teacher_forced(model, tokens, mask, dec, dec_mask)
    log_probs = np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)),
                                   targets[..., None], axis=-1)[..., 0]
    log_probs = (log_probs * dec_mask).sum(axis=1)
    scores = [lp / wtr.length_penalty(len(y) + 1, alpha)
              for lp, y in zip(log_probs, outputs, strict=True)]
    best = int(np.argmax(scores))
    return outputs[best], log_probs[best], scores[best]


def test_a_beam_wide_enough_to_hold_everything_finds_the_exact_best():
    """Target vocabulary 5, max_len 3: a beam of 80 never prunes, so it must return the
    best of all 21 finished outputs under the same length-normalised score."""
    config = ModelConfig(arch="transformer", hidden=8, embed=8, heads=2)
    lengths = []
    for seed, src in ((0, [4, 9, 6]), (3, [7, 8, 1]), (2, [4, 9, 6])):
        model = build_model(config, VOCAB, target_vocab_size=5, seed=seed, task="seq2seq")
        model.head.kernel[...] = model.head.kernel[...] * 8.0  # peaky, varied distributions
        model.eval()
        ids, log_prob, score = _exhaustive_best(model, src, 3, 0.6)
        result = wtr.beam_translate(model, src, 3, beam=80, length_penalty=0.6)
        assert result.finished and result.ids == ids
        np.testing.assert_allclose([result.log_prob, result.score], [log_prob, score],
                                   rtol=1e-4)
        assert result.cross_attention.shape == (len(ids), len(src))
        lengths.append(len(ids))
    assert sorted(lengths) == [0, 2, 2]  # the cases cover an empty and a full-length best
