"""Optimizers and the pure jitted training step (the loss is in ``tasks.batches``)."""

from __future__ import annotations

import functools

import jax
import optax
from flax import nnx

from ..tasks.batches import hits, loss_and_accuracy, model_inputs, targets_and_weights

# Incremented each time ``train_step`` is traced: a test proves it compiles once.
TRACE_COUNT = {"train_step": 0}


@functools.lru_cache(maxsize=64)
def make_optimizer(learning_rate: float = 1e-3, clip_norm: float = 1.0, name: str = "adam",
                   weight_decay: float = 0.0, warmup_steps: int = 0,
                   schedule: str = "constant", total_steps: int = 1
                   ) -> optax.GradientTransformation:
    """Gradient clipping, the optimizer, then the schedule's factor (warm-up, cosine).

    The peak learning rate is an injected hyperparameter
    (``opt_state.hyperparams['learning_rate']``), so changing it never recompiles. The
    same arguments return the same object: the jitted step is cached on it, so a new
    run with the same settings reuses the compiled step."""
    makers = {"adam": optax.adam,
              "adamw": lambda learning_rate: optax.adamw(learning_rate,
                                                         weight_decay=weight_decay),
              "sgd": lambda learning_rate: optax.sgd(learning_rate, momentum=0.9)}
    if name not in makers:
        raise ValueError(f"optimizer {name!r} is not supported; choose one of {list(makers)}")
    factor = schedule_factor(warmup_steps, schedule, total_steps)

    def chain(learning_rate):
        parts = [optax.clip_by_global_norm(clip_norm)] if clip_norm > 0 else []
        return optax.chain(*parts, makers[name](learning_rate), optax.scale_by_schedule(factor))

    return optax.inject_hyperparams(chain)(learning_rate=learning_rate)


def schedule_factor(warmup_steps: int, schedule: str, total_steps: int):
    """Multiplier of the peak learning rate at each step: linear warm-up, then constant
    or cosine decay to 10% at ``total_steps``."""
    decay_steps = max(total_steps - warmup_steps, 1)
    after = (optax.constant_schedule(1.0) if schedule == "constant"
             else optax.cosine_decay_schedule(1.0, decay_steps, alpha=0.1))
    if warmup_steps == 0:
        return after
    warm = optax.linear_schedule(1.0 / warmup_steps, 1.0, warmup_steps)
    return optax.join_schedules([warm, after], [warmup_steps])


def optimizer_for(model: nnx.Module, config) -> nnx.Optimizer:
    """The ``nnx.Optimizer`` a ``TrainConfig`` describes. The transformation is built
    for a unit rate and the configured rate set afterwards, so runs that differ only in
    learning rate share one compiled step."""
    # Only a cosine schedule depends on the step budget; leaving it out otherwise means a
    # longer run reuses the compiled step.
    total = config.steps if config.schedule == "cosine" else 1
    tx = make_optimizer(1.0, config.clip_norm, config.optimizer, config.weight_decay,
                        config.warmup_steps, config.schedule, total)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    optimizer.opt_state.hyperparams["learning_rate"][...] = config.lr
    return optimizer


@nnx.jit
def train_step(model: nnx.Module, optimizer: nnx.Optimizer, batch: dict,
               key: jax.Array | None = None):
    """One step of gradient descent; returns ``(loss, accuracy)`` as device scalars.

    ``key`` reseeds dropout, so a run is reproducible from ``fold_in(seed_key, step)``."""
    TRACE_COUNT["train_step"] += 1
    if key is not None:
        nnx.reseed(model, dropout=key)

    def loss_of(model):
        logits, _ = model(*model_inputs(batch))
        return loss_and_accuracy(logits, batch)

    (loss, accuracy), grads = nnx.value_and_grad(loss_of, has_aux=True)(model)
    optimizer.update(model, grads)
    return loss, accuracy


@nnx.jit
def eval_step(model: nnx.Module, batch: dict):
    """``(loss, accuracy)`` without updating anything."""
    logits, _ = model(*model_inputs(batch))
    return loss_and_accuracy(logits, batch)


@nnx.jit
def eval_outputs(model: nnx.Module, batch: dict) -> dict:
    """Sums for exact means over a split, and the argmax predictions for metrics.

    ``correct`` counts with ``hits``, as the training step does, so the training and
    validation accuracy drawn on one axis treat a tie for the top logit the same way."""
    logits, _ = model(*model_inputs(batch))
    labels, weights = targets_and_weights(batch)
    weights = weights.astype(logits.dtype)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    predictions = logits.argmax(-1)
    return {"loss_sum": (losses * weights).sum(), "count": weights.sum(),
            "correct": (hits(logits, labels) * weights).sum(), "predictions": predictions}
