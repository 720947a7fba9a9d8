"""The jitted train step: a tiny batch overfits for every architecture x task, the step
compiles once, and the learning rate is a hyperparameter that needs no recompile."""

import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB, all_configs, make_batch

from workbench import ModelConfig, build_model
from workbench.tasks import batches
from workbench.train import step as wt

# Four sequences with distinct first tokens, so every target is a function of the prefix.
ROWS = [[1, 5, 2, 7, 3, 3, 9], [2, 2, 8], [3, 9, 9, 4, 1, 6, 6, 5], [4, 1]]


def tiny_batch(task):
    rng = np.random.default_rng(0)
    if task == "seq2seq":  # reverse each sequence; decoder input starts with BOS=12
        targets = [r[::-1] for r in ROWS]
        batch = make_batch(task, ROWS, dec_rows=[[12] + t[:-1] for t in targets], length=8)
        batch["targets"] = make_batch(task, targets, length=8)["tokens"]
        return batch
    batch = make_batch(task, ROWS, length=8)
    if task == "classify":
        batch["labels"] = np.array([0, 1, 2, 3 % CLASSES], np.int32)
    elif task == "tag":
        batch["labels"] = rng.integers(0, CLASSES, (4, 8)).astype(np.int32)
    else:  # lm: predict the next token; the last real position predicts 0 (end)
        batch["targets"] = np.roll(batch["tokens"], -1, axis=1) * batch["mask"]
        batch["targets"][:, -1] = 0
        batch["targets"] = batch["targets"] * np.roll(batch["mask"], -1, axis=1)
    return batch


@pytest.mark.parametrize("task, config", all_configs(layers=1, hidden=32, embed=16))
def test_a_tiny_batch_overfits(task, config):
    model = build_model(config, VOCAB, n_classes=CLASSES, task=task)
    optimizer = nnx.Optimizer(model, wt.make_optimizer(1e-2), wrt=nnx.Param)
    batch = tiny_batch(task)
    losses = [float(wt.train_step(model, optimizer, batch)[0]) for _ in range(300)]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.05, f"final loss {losses[-1]:.4f} (first {losses[0]:.3f})"


def test_train_step_changes_parameters_and_compiles_once():
    config = ModelConfig(arch="lstm", hidden=16, embed=8)
    model = build_model(config, VOCAB, n_classes=CLASSES, seed=3, task="classify")
    optimizer = nnx.Optimizer(model, wt.make_optimizer(1e-3), wrt=nnx.Param)
    batch = tiny_batch("classify")
    before = np.asarray(model.stack.cells[0][0].wh[...]).copy()
    wt.train_step(model, optimizer, batch)
    count = wt.TRACE_COUNT["train_step"]
    for _ in range(5):
        wt.train_step(model, optimizer, batch)
    optimizer.opt_state.hyperparams["learning_rate"][...] = 3e-3  # a new learning rate
    wt.train_step(model, optimizer, batch)
    assert wt.TRACE_COUNT["train_step"] == count
    assert not np.allclose(before, model.stack.cells[0][0].wh[...])


def test_learning_rate_is_injected_not_baked_in():
    config = ModelConfig(arch="gru", hidden=8, embed=8)
    batch = tiny_batch("classify")
    finals = []
    for lr in (0.0, 1e-2):
        model = build_model(config, VOCAB, n_classes=CLASSES, task="classify")
        optimizer = nnx.Optimizer(model, wt.make_optimizer(1e-2), wrt=nnx.Param)
        optimizer.opt_state.hyperparams["learning_rate"][...] = lr
        wt.train_step(model, optimizer, batch)
        finals.append(np.asarray(model.head.kernel[...]))
    untrained = build_model(config, VOCAB, n_classes=CLASSES, task="classify")
    reference = np.asarray(untrained.head.kernel[...])
    np.testing.assert_array_equal(finals[0], reference)  # lr 0: nothing moved
    assert not np.allclose(finals[1], reference)


def test_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="'rmsprop'.*adam"):
        wt.make_optimizer(name="rmsprop")


def test_accuracy_is_argmax_agreement_and_ties_share_the_point():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 7, 50)).astype(np.float32)
    labels = rng.integers(0, 50, (64, 7))
    labels[:, 0] = logits[:, 0].argmax(-1)  # some hits for certain
    np.testing.assert_array_equal(np.asarray(batches.hits(logits, labels)),
                                  (logits.argmax(-1) == labels).astype(np.float32))
    tied = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 3.0, 3.0, 0.0], [1.0, 3.0, 3.0, 0.0]],
                    np.float32)
    np.testing.assert_allclose(np.asarray(batches.hits(tied, np.array([3, 2, 0]))), [0.25, 0.5, 0])
    batch = {"tokens": np.ones((2, 3), np.int32), "mask": np.array([[1, 1, 1], [1, 0, 0]], bool),
             "targets": np.array([[0, 1, 2], [2, 2, 2]], np.int32)}
    scores = np.eye(3, dtype=np.float32)[[[0, 1, 0], [2, 0, 0]]]  # 3 of the 4 real hit
    assert float(batches.loss_and_accuracy(scores, batch)[1]) == 0.75
