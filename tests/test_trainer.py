"""The Trainer: learning on every task, determinism, events, stop, early stopping, the
non-finite guard, learning-rate changes without recompiling, and resume equality."""

import jax
import numpy as np
import pytest
from flax import nnx

from workbench import DataConfig, ModelConfig, prepare
from workbench.config import TrainConfig
from workbench.errors import NonFiniteLoss
from workbench.train import step as wt
from workbench.train.divergence import Diverged
from workbench.train.trainer import Trainer
from workbench.ui.plots import curves_of

SMALL = dict(hidden=32, embed=16)
TASK_DATA = {
    "classify": DataConfig(dataset="sentiment", size=400, max_len=16, batch_size=16),
    "lm": DataConfig(dataset="prose", tokenizer="char", max_len=32, batch_size=16),
    "tag": DataConfig(dataset="brackets-depth", size=400, max_len=24, batch_size=16),
    "seq2seq": DataConfig(dataset="reverse", size=400, max_len=16, batch_size=16),
}


def _trainer(task="classify", arch="gru", observers=(), **train):
    data = prepare(TASK_DATA[task])
    fields = dict(steps=60, chunk=10, eval_every=0, lr=3e-3) | train
    return Trainer(data, ModelConfig(arch=arch, **SMALL), TrainConfig(**fields),
                   observers=observers)


@pytest.mark.parametrize("task", list(TASK_DATA))
def test_loss_decreases_on_every_task(task):
    trainer = _trainer(task, steps=120, chunk=20, eval_batches=4)
    before = trainer.evaluate(max_batches=4)["loss"]
    final = trainer.fit()
    assert final["loss"] < 0.8 * before, (before, final["loss"])
    assert final["outcome"] == "finished" and trainer.step == 120
    expected = {"classify": "macro_f1", "lm": "perplexity", "tag": "token_accuracy",
                "seq2seq": "bleu"}[task]
    assert expected in final


def test_same_seed_gives_identical_history():
    losses = []
    for _ in range(2):
        trainer = _trainer(steps=30)
        trainer.fit()
        losses.append([r["loss"] for r in trainer.history if r["kind"] == "train"])
    assert losses[0] == losses[1]
    other = _trainer(steps=30, seed=1)
    other.fit()
    assert [r["loss"] for r in other.history if r["kind"] == "train"] != losses[0]


def test_events_stop_and_one_transfer_per_chunk():
    events = []

    def observe(event, trainer, info):
        events.append((event, trainer.step))
        if event == "chunk" and trainer.step == 20:
            trainer.stop()

    trainer = _trainer(observers=(observe,), steps=100)
    final = trainer.fit()
    assert final["outcome"] == "stopped" and trainer.step == 20
    assert events == [("chunk", 10), ("chunk", 20), ("eval", 20), ("stopped", 20)]


def test_periodic_validation_and_early_stopping():
    trainer = _trainer(steps=200, chunk=10, eval_every=20, patience=1, lr=1e-9)
    final = trainer.fit()  # a learning rate this small cannot improve: stop after 2 evals
    assert final["outcome"] == "stopped_early"
    evals = [r["step"] for r in trainer.history if r["kind"] == "eval"]
    assert evals[:2] == [20, 40] and trainer.step == 40


def test_non_finite_loss_restores_the_last_finite_parameters():
    # Adam bounds each update by lr, so it stays finite here even at lr=1e4; SGD does not.
    trainer = _trainer(task="classify", arch="transformer", lr=1e4, optimizer="sgd",
                       clip_norm=0.0, steps=200, chunk=50)
    failures = []
    trainer.observers.append(lambda e, t, i: failures.append(i) if e == "failed" else None)
    with pytest.raises(NonFiniteLoss, match=r"diverged at step \d+: .*restored\. Likely cause: "
                       r"the learning rate 10000 is too high for this model; try 1000"):
        trainer.fit()
    params = jax.tree.leaves(nnx.state(trainer.model, nnx.Param))
    assert all(np.isfinite(np.asarray(p)).all() for p in params)
    assert failures and "learning rate" in failures[0]["error"]


def test_a_finite_loss_that_explodes_stops_the_run_with_good_parameters():
    # Adam at lr=1e3 keeps every number finite, but the loss explodes within a few steps.
    trainer = _trainer(task="classify", lr=1e3, steps=200, chunk=50)
    assert trainer.loss_limit() == pytest.approx(100 * np.log(2))
    with pytest.raises(Diverged, match=r"training diverged at step (\d+): the loss jumped to "
                       r".*over 100x its expected scale.*the parameters after step \d+, the "
                       r"last with a loss in range, were restored\. Likely cause: the "
                       r"learning rate 1000 is too high"):
        trainer.fit()
    batch = next(trainer.data.batches("train"))
    loss, _ = wt.eval_step(trainer.model, batch)
    assert np.isfinite(float(loss)) and float(loss) < trainer.loss_limit()


def test_a_run_that_learns_never_comes_near_the_divergence_limit():
    trainer = _trainer(task="lm", steps=60, chunk=20, lr=1e-2)
    trainer.fit()
    worst = max(r["loss"] for r in trainer.history if r["kind"] == "train")
    assert worst < trainer.loss_limit() / 20


def test_learning_rate_change_reuses_the_compiled_step():
    trainer = _trainer(steps=40)
    trainer.run(5)
    count = wt.TRACE_COUNT["train_step"]
    trainer.set_lr(1e-4)
    record = trainer.run(5)
    assert wt.TRACE_COUNT["train_step"] == count and record["lr"] == pytest.approx(1e-4)


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    whole = _trainer(steps=40)
    whole.fit()
    first = _trainer(steps=20)
    first.fit()
    first.save(tmp_path / "run")
    resumed = Trainer.resume(tmp_path / "run", config=first.config.replace(steps=40))
    assert resumed.step == 20 and len(resumed.history) == len(first.history)
    resumed.fit()
    a = jax.tree.leaves(nnx.state(whole.model, nnx.Param))
    b = jax.tree.leaves(nnx.state(resumed.model, nnx.Param))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-6)
    whole_losses = [r["loss"] for r in whole.history if r["kind"] == "train"]
    resumed_losses = [r["loss"] for r in resumed.history if r["kind"] == "train"]
    assert resumed_losses == pytest.approx(whole_losses, rel=1e-6)


def test_wall_clock_budget_ends_training():
    trainer = _trainer(steps=1000, minutes=1e-6)
    final = trainer.fit()
    assert final["outcome"] == "time_budget" and trainer.step in (0, 10)  # at most one chunk


def test_a_longer_run_reuses_the_compiled_step():
    _trainer(steps=30).run(2)
    count = wt.TRACE_COUNT["train_step"]
    _trainer(steps=90, lr=1e-3).run(2)  # another budget and rate, same constant schedule
    assert wt.TRACE_COUNT["train_step"] == count


def test_a_stop_asked_before_fit_is_not_lost():
    trainer = _trainer(steps=100)
    trainer.stop()
    assert trainer.fit()["outcome"] == "stopped" and trainer.step == 0
    assert trainer.fit()["outcome"] == "finished" and trainer.step == 100  # used up


def test_curves_of_splits_a_history_into_train_and_validation_arrays():
    history = [{"kind": "train", "step": 10, "loss": 2.0, "accuracy": 0.5, "tokens_per_s": 9.0},
               {"kind": "eval", "step": 10, "loss": 2.5},
               {"kind": "train", "step": 20, "loss": 1.0, "tokens_per_s": 11.0}]
    curves = curves_of(history)
    np.testing.assert_array_equal(curves["train_step"], [10, 20])
    np.testing.assert_array_equal(curves["train_loss"], [2.0, 1.0])
    np.testing.assert_array_equal(curves["train_metric"], [0.5, np.nan])
    np.testing.assert_array_equal(curves["val_step"], [10])
    np.testing.assert_array_equal(curves["val_metric"], [np.nan])
    assert curves["metric_name"] == "accuracy"


def test_keep_best_ends_with_the_parameters_of_the_best_validation():
    """A run that overfits (64 examples, a high rate) ends with the parameters of its best
    validation, not its last; its step, optimizer and history stay where they were."""
    data = prepare(DataConfig(dataset="sentiment", size=64, max_len=16, batch_size=16))
    config = TrainConfig(steps=300, eval_every=20, lr=1e-2, keep_best=True)
    trainer = Trainer(data, ModelConfig(arch="gru", hidden=64, embed=32), config)
    final = trainer.fit()
    evals = [r for r in trainer.history if r["kind"] == "eval"]
    best = min(evals[:-2], key=lambda r: r["loss"])
    assert evals[-2]["step"] == 300 and evals[-2]["loss"] > 1.2 * best["loss"]  # it overfit
    assert final["restored_from_step"] == best["step"] < 300 and trainer.step == 300
    assert final["loss"] == pytest.approx(best["loss"], rel=1e-6)
    assert trainer.evaluate()["loss"] == pytest.approx(best["loss"], rel=1e-6)
    plain = Trainer(data, ModelConfig(arch="gru", hidden=64, embed=32),
                    config.replace(keep_best=False)).fit()
    assert "restored_from_step" not in plain and plain["loss"] == pytest.approx(
        evals[-2]["loss"], rel=1e-6)
