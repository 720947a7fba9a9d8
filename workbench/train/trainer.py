"""The Trainer: the one stateful object of training.

It owns the model, optimizer, step, history, RNG key and data position. ``run(n)`` does
``n`` jitted steps and brings their losses to the host in one transfer; ``fit()`` runs
chunks until the step budget, the time budget, early stopping or ``stop()``; observers
get events: 'chunk', 'eval', 'finished', 'stopped', 'failed'. Same seed, same history.
"""

from __future__ import annotations

import math
import pathlib
import threading
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..config import ConfigError, ModelConfig, TrainConfig
from ..data.load import prepare
from ..data.prepared import Prepared
from ..nn.models import build_model
from . import checkpoint
from .divergence import divergence_error, loss_limit, params_finite
from .evaluation import evaluate
from .step import optimizer_for, train_step

Observer = Callable[[str, "Trainer", dict], None]
# Early stopping counts a validation loss as better only when it beats the best by this
# fraction: float rounding (two code paths differ by ~1e-8) must not reset the patience.
MIN_IMPROVEMENT = 1e-4


def data_parallel_mesh(devices=None) -> jax.sharding.Mesh:
    """A 1-D mesh named 'data' over ``devices`` (default: every local device): pass it to
    ``Trainer(mesh=...)`` to split each batch across devices, parameters replicated."""
    return jax.sharding.Mesh(np.asarray(devices or jax.local_devices()), ("data",))


def model_args(data: Prepared) -> dict:
    """The data-derived arguments of ``build_model`` for ``data``."""
    return data.family.model_args(data)


class Trainer:
    def __init__(self, data: Prepared, model_config: ModelConfig, config: TrainConfig,
                 observers: tuple[Observer, ...] = (), mesh: jax.sharding.Mesh | None = None):
        self.data, self.model_config, self.config = data, model_config, config
        self.model = build_model(model_config, seed=config.seed, **model_args(data))
        self.optimizer = optimizer_for(self.model, config)
        self.key = jax.random.key(config.seed)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.history: list[dict] = []
        self.observers: list[Observer] = list(observers)
        self.elapsed = 0.0
        # Live views want a chunk every fraction of a second whatever the model's size:
        # ``chunk_seconds`` (set by the app) shortens chunks of slow steps. Chunking never
        # changes the result: the same steps, keys and evaluations run in the same order.
        self.chunk_seconds: float | None = None
        self._step_s: float | None = None  # seconds per step of the last chunk
        self._stop = threading.Event()
        self._batches = None
        self._first_loss: float | None = None  # this trainer's first chunk: a loss scale
        self.mesh = mesh
        if mesh is not None:
            self._shard_state(mesh)

    # -- data -------------------------------------------------------------------------
    def _batch_stream(self):
        """Training batches forever, epoch after epoch, from the saved position."""
        while True:
            for i, batch in enumerate(self.data.batches("train", epoch=self.epoch)):
                if i < self.batch_in_epoch:
                    continue
                self.batch_in_epoch = i + 1
                yield self._place(batch)
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0

    def _next_batch(self) -> dict:
        if self._batches is None:
            self._batches = self._batch_stream()
        return next(self._batches)

    def _shard_state(self, mesh: jax.sharding.Mesh) -> None:
        devices = mesh.devices.size
        if self.data.config.batch_size % devices:
            raise ConfigError(f"batch_size={self.data.config.batch_size} must be a multiple of "
                              f"the {devices} devices for data parallel training")
        replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
        for node in (self.model, self.optimizer):
            nnx.update(node, jax.device_put(nnx.state(node), replicated))
        self._sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))

    def _place(self, batch: dict) -> dict:
        return batch if self.mesh is None else jax.device_put(batch, self._sharding)

    # -- learning rate ----------------------------------------------------------------
    @property
    def lr(self) -> float:
        return float(self.optimizer.opt_state.hyperparams["learning_rate"][...])

    def set_lr(self, value: float) -> None:
        """Change the peak learning rate; the compiled step is reused."""
        if not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"lr={value!r} must be a finite number > 0; try 1e-3")
        self.optimizer.opt_state.hyperparams["learning_rate"][...] = value

    # -- training ---------------------------------------------------------------------
    def _steps(self, batches: list[dict]):
        losses, accuracies = [], []
        for batch in batches:
            key = jax.random.fold_in(self.key, self.step)
            loss, accuracy = train_step(self.model, self.optimizer, batch, key)
            losses.append(loss)
            accuracies.append(accuracy)
            self.step += 1
        return losses, accuracies

    def run(self, n: int) -> dict:
        """``n`` training steps; one device-to-host transfer; returns the chunk's record."""
        start = time.perf_counter()
        snapshot = self._snapshot()
        batches = [self._next_batch() for _ in range(n)]
        losses, accuracies = self._steps(batches)
        losses, accuracies, finite = jax.device_get(
            (jnp.stack(losses), jnp.stack(accuracies), params_finite(self.model)))
        limit = self.loss_limit()
        if not (finite and np.isfinite(losses).all()) or (losses > limit).any():
            self._recover(snapshot, batches, limit)
        if self._first_loss is None:
            self._first_loss = float(losses.mean())
        seconds = time.perf_counter() - start
        if self.history:  # a trainer's first chunk compiles the step: no step time
            self._step_s = seconds / max(n, 1)
        self.elapsed += seconds
        tokens = sum(int(np.asarray(b["mask"]).sum()) for b in batches)
        record = {"kind": "train", "step": self.step, "loss": float(losses.mean()),
                  "accuracy": float(accuracies.mean()), "lr": self.lr,
                  "tokens_per_s": tokens / seconds, "elapsed": self.elapsed,
                  "epoch": self.epoch}
        self.history.append(record)
        self._notify("chunk", record)
        return record

    def _snapshot(self):
        """The current state (arrays are immutable: this copies nothing)."""
        return self.step, jax.tree.map(lambda x: x, (nnx.state(self.model),
                                                     nnx.state(self.optimizer)))

    def _restore(self, snapshot) -> None:
        self.step, (model_state, optimizer_state) = snapshot[0], snapshot[1]
        nnx.update(self.model, model_state)
        nnx.update(self.optimizer, optimizer_state)

    def loss_limit(self) -> float:
        """The loss above which training has diverged (``divergence.loss_limit``)."""
        args = model_args(self.data)
        outputs = args["n_classes"] or args["target_vocab_size"] or args["vocab_size"]
        return loss_limit(outputs, self._first_loss)

    def _recover(self, snapshot, batches, limit: float = math.inf) -> None:
        """Replay the chunk from its (good) start one step at a time; at the first step
        whose loss is not finite or above ``limit``, or whose update makes the parameters
        non-finite, keep the last good parameters and raise ``NonFiniteLoss`` (``Diverged``
        for a finite loss that exploded) naming the step and the cause."""
        self._restore(snapshot)
        previous = None  # the state before the last step whose loss was in range
        for batch in batches:
            before = self._snapshot()
            (loss,), _ = self._steps([batch])
            loss, finite = float(loss), bool(params_finite(self.model))
            if np.isfinite(loss) and loss > limit:
                # these parameters came from the step before: the last good ones are older
                self._restore(previous or before)
                break
            if not (np.isfinite(loss) and finite):
                self._restore(before)
                break
            previous = before
        else:
            return  # the replay stayed in range (a nondeterministic spike): go on
        raise divergence_error(loss, limit, self.lr, before[0] + 1, self.step)

    def evaluate(self, split: str = "validation", max_batches: int | None = None) -> dict:
        """Metrics of the current model on ``split`` (see ``evaluation.py``)."""
        metrics = evaluate(self.model, self.data, split, max_batches, self._place)
        record = {"kind": "eval", "split": split, "step": self.step, **metrics}
        self.history.append(record)
        self._notify("eval", record)
        return record

    def _chunk_size(self) -> int:
        """Steps in the next chunk: at most ``chunk``, ending on validation steps."""
        c = self.config
        n = min(c.chunk, c.steps - self.step)
        if self.chunk_seconds and self._step_s:
            n = max(1, min(n, int(self.chunk_seconds / self._step_s)))
        return min(n, c.eval_every - self.step % c.eval_every) if c.eval_every else n

    def fit(self) -> dict:
        """Train to the step budget, validating every ``eval_every`` steps; returns the
        final validation record with its ``outcome``: 'finished', 'time_budget' (the
        ``minutes`` ran out), 'stopped' (``stop()``, also when asked before ``fit``
        started) or 'stopped_early' (patience). The stop request is used up here."""
        c = self.config
        deadline = None if c.minutes is None else time.monotonic() + 60 * c.minutes
        best, waited, outcome, kept = math.inf, 0, "finished", None
        try:
            while self.step < c.steps and outcome == "finished":
                if self._stop.is_set():
                    outcome = "stopped"
                elif deadline is not None and time.monotonic() > deadline:
                    outcome = "time_budget"
                else:
                    self.run(self._chunk_size())
                    if c.eval_every and self.step % c.eval_every == 0 and self.step < c.steps:
                        loss = self.evaluate(max_batches=c.eval_batches)["loss"]
                        better = best == math.inf or loss < best - MIN_IMPROVEMENT * abs(best)
                        best, waited = (loss, 0) if better else (best, waited + 1)
                        if better and c.keep_best:
                            kept = self._snapshot()
                        if c.patience is not None and waited >= c.patience:
                            outcome = "stopped_early"
        except Exception as err:
            self._notify("failed", {"step": self.step, "error": str(err)})
            raise
        finally:
            self._stop.clear()
        final = {**self.evaluate(max_batches=c.eval_batches), "outcome": outcome}
        if kept is not None and final["loss"] > best:
            final = {**self._back_to(kept), "outcome": outcome}
        self._notify("stopped" if outcome == "stopped" else "finished", final)
        return final

    def _back_to(self, kept) -> dict:
        """Restore the parameters of snapshot ``kept`` (the best validation), keeping the
        step, the optimizer state and the history; the validation record of the restored
        model says where its parameters came from (``restored_from_step``)."""
        nnx.update(self.model, kept[1][0])
        record = self.evaluate(max_batches=self.config.eval_batches)
        record["restored_from_step"] = kept[0]
        return record

    # -- checkpoints ------------------------------------------------------------------
    def save(self, path) -> pathlib.Path:
        """Save parameters, optimizer, configs, tokenizer, labels, history and position."""
        return checkpoint.save(
            path, model=self.model, model_config=self.model_config,
            model_args={**model_args(self.data), "seed": self.config.seed},
            optimizer=self.optimizer, configs={"data": self.data.config, "train": self.config},
            tokenizer=self.data.tokenizer, label_names=self.data.label_names,
            history=self.history, step=self.step,
            extra={"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                   "elapsed": self.elapsed})

    @classmethod
    def resume(cls, path, data: Prepared | None = None, config: TrainConfig | None = None,
               observers: tuple[Observer, ...] = (),
               mesh: jax.sharding.Mesh | None = None) -> Trainer:
        """Continue a saved run: same parameters, optimizer state, step, history and data
        position, so the result equals an uninterrupted run. ``config`` may raise the
        step budget."""
        saved = checkpoint.load(path)
        data = data or prepare(saved.configs["data"])
        if data.task != saved.task:
            raise ConfigError(f"{path} holds a model for task={saved.task!r}, but the data "
                              f"given to resume it is a {data.task!r} dataset; resume on the "
                              "same data configuration")
        if saved.tokenizer is not None and saved.tokenizer.to_json() != data.tokenizer.to_json():
            raise ConfigError(f"the data given to resume {path} trains a different tokenizer "
                              "than the saved run's; resume on the same data configuration")
        trainer = cls(data, saved.configs["model"], config or saved.configs["train"], observers)
        nnx.update(trainer.model, nnx.state(saved.model))
        checkpoint.restore_optimizer(path, trainer.optimizer)
        trainer.step, trainer.history = saved.step, list(saved.history)
        trainer.epoch = saved.extra["epoch"]
        trainer.batch_in_epoch = saved.extra["batch_in_epoch"]
        trainer.elapsed = saved.extra["elapsed"]
        if mesh is not None:
            trainer.mesh = mesh
            trainer._shard_state(mesh)
        return trainer

    def stop(self) -> None:
        """Ask ``fit`` to stop; honoured between chunks."""
        self._stop.set()

    def _notify(self, event: str, info: dict) -> None:
        for observer in self.observers:
            observer(event, self, info)
