"""Config validation: bad values fail at construction with a message naming the value
and the fix; configs are frozen; derived values are arguments, never written back."""

import dataclasses

import numpy as np
import pytest
from helpers import CLASSES, VOCAB, make_batch

from workbench import ModelConfig, build_model, count_params
from workbench.config import ConfigError


@pytest.mark.parametrize("fields, pattern", [
    (dict(arch="transformer", hidden=30, heads=4), r"heads=4 must divide hidden=30"),
    (dict(arch="rnn"), r"arch='rnn'.*elman, lstm, gru, transformer"),
    (dict(layers=0), r"layers=0 must be an integer >= 1"),
    (dict(hidden=2.5), r"hidden=2.5 must be an integer"),
    (dict(dropout=1.0), r"dropout=1.0 must be in \[0, 1\)"),
    (dict(arch="transformer", bidirectional=True), r"set bidirectional=False"),
    (dict(pooling="max"), r"pooling='max'.*last, mean, attention"),
    (dict(attention="multiplicative"), r"attention='multiplicative'.*additive, dot"),
])
def test_bad_values_are_named_with_a_fix(fields, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ModelConfig(**fields)


@pytest.mark.parametrize("task, fields, pattern", [
    ("translate", {}, r"task='translate'.*classify, lm, tag, seq2seq"),
    ("lm", dict(bidirectional=True), r"bidirectional=True cannot be used with task='lm'"),
])
def test_a_model_the_task_cannot_use_is_refused_when_built(task, fields, pattern):
    """The task comes from the data, so a config is checked against it at build time."""
    config = ModelConfig(hidden=8, embed=8, **fields)
    with pytest.raises(ConfigError, match=pattern):
        build_model(config, VOCAB, n_classes=CLASSES, task=task)


def test_heads_message_suggests_divisors():
    with pytest.raises(ConfigError, match=r"try heads in \[1, 2, 3, 5, 6"):
        ModelConfig(arch="transformer", hidden=30, heads=4)


def test_config_is_frozen_and_replace_validates():
    config = ModelConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden = 3
    assert config.replace(hidden=64).hidden == 64 and config.hidden == 128
    with pytest.raises(ConfigError):
        config.replace(layers=-1)


def test_derived_values_are_arguments():
    config = ModelConfig(hidden=8, embed=8)
    with pytest.raises(ConfigError, match="n_classes=None: pass the number of labels"):
        build_model(config, VOCAB, task="classify")
    with pytest.raises(ConfigError, match="vocab_size=0"):
        build_model(config, 0, n_classes=2, task="classify")
    build_model(config, VOCAB, n_classes=CLASSES, task="classify")
    assert config == ModelConfig(hidden=8, embed=8)  # nothing written back


def test_parameter_count_matches_the_equations():
    v, e, h, c = VOCAB, 8, 16, CLASSES
    lstm = ModelConfig(arch="lstm", hidden=h, embed=e)
    expected = v * e + (e * 4 * h + h * 4 * h + 4 * h) + (h * c + c)
    assert count_params(build_model(lstm, v, n_classes=c, task="classify")) == expected
    tied = ModelConfig(arch="gru", hidden=e, embed=e, tie_weights=True)
    # embedding shared with the output layer, which adds only a bias
    assert count_params(build_model(tied, v, task="lm")) == \
        v * e + (e * 3 * e * 2 + 3 * e + e) + v


def test_dropout_is_random_in_train_mode_and_off_in_eval_mode():
    config = ModelConfig(arch="lstm", hidden=16, embed=8, layers=2, dropout=0.5)
    model = build_model(config, VOCAB, n_classes=CLASSES, task="tag")
    batch = make_batch("tag", [[1, 2, 3, 4]], length=4)
    a, _ = model(batch["tokens"], batch["mask"])
    b, _ = model(batch["tokens"], batch["mask"])
    assert not np.allclose(a, b)
    model.eval()
    a, _ = model(batch["tokens"], batch["mask"])
    b, _ = model(batch["tokens"], batch["mask"])
    np.testing.assert_array_equal(a, b)


def test_a_task_given_to_the_model_config_says_where_it_went():
    with pytest.raises(ConfigError, match=r"task='lm'.*comes from the data.*build_model"):
        ModelConfig(task="lm")
