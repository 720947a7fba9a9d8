"""Training steps to time: ours through the app's code path, PyTorch eager on the same shapes.

Ours: ``build_model`` + ``optimizer_for`` + ``train.train_step``, exactly what the
``Trainer`` (and so the app and the CLI) runs each step, with the step's dropout key
``fold_in(key, step)`` as the Trainer passes it. PyTorch: ``nn.Embedding`` -> ``nn.RNN`` /
``nn.LSTM`` / ``nn.GRU`` (batch_first) -> ``nn.Linear``, cross-entropy, gradient clipping
at norm 1 and Adam, as our ``TrainConfig`` defaults do. Both sides read every position of
every sequence (full masks), so both do the same work.

A step is a zero-argument callable; ``sync()`` waits for the device. ``tokens`` is the
number of tokens one step trains on (``B * T``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from workbench.config import ModelConfig, TrainConfig
from workbench.nn.models import build_model
from workbench.train.step import optimizer_for, train_step


@dataclass(frozen=True)
class Shape:
    """The standard configuration of the issue (vocab 10000, embed 128, hidden 256, ...)."""

    vocab: int = 10_000
    embed: int = 128
    hidden: int = 256
    layers: int = 1
    batch: int = 32
    length: int = 128
    classes: int = 4
    heads: int = 4

    @property
    def tokens(self) -> int:
        return self.batch * self.length


@dataclass
class Step:
    """A timed unit: ``run()`` does one training step, ``sync()`` blocks until it is done."""

    name: str
    run: object
    sync: object
    tokens: int
    extra: dict = field(default_factory=dict)


def batch_for(task: str, shape: Shape, seed: int = 0) -> dict:
    """Random tokens with full masks: ``classify`` has ``labels [B]``, ``lm`` ``targets``."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(4, shape.vocab, (shape.batch, shape.length)).astype(np.int32)
    batch = {"tokens": tokens, "mask": np.ones(tokens.shape, bool)}
    if task == "classify":
        batch["labels"] = rng.integers(0, shape.classes, shape.batch).astype(np.int32)
    else:
        batch["targets"] = np.roll(tokens, -1, axis=1)
    return batch


def model_config(arch: str, shape: Shape, **overrides) -> ModelConfig:
    fields = dict(arch=arch, hidden=shape.hidden, embed=shape.embed,
                  layers=shape.layers, heads=shape.heads)
    return ModelConfig(**{**fields, **overrides})


PATHS = ("fused", "remat", "autodiff")


def ours(arch: str, task: str, shape: Shape = Shape(), path: str = "fused",
         **overrides) -> Step:
    """Our training step for ``arch``/``task`` (the Trainer's path), warmed up (compiled).

    ``path`` (recurrent archs): 'fused' is the default model; 'remat' recomputes the gates
    in the backward pass; 'autodiff' differentiates ``lax.scan`` over the cell, the
    reference path (``RecurrentStack.fused = False``)."""
    config = model_config(arch, shape, **overrides)
    classes = shape.classes if task == "classify" else None
    model = build_model(config, vocab_size=shape.vocab, n_classes=classes, task=task)
    if config.recurrent:
        model.stack.fused, model.stack.remat = path != "autodiff", path == "remat"
    optimizer = optimizer_for(model, TrainConfig())
    batch = jax.device_put(batch_for(task, shape))
    key, state = jax.random.key(0), {"step": 0, "out": None}

    def run():
        step_key = jax.random.fold_in(key, state["step"])
        state["out"] = train_step(model, optimizer, batch, step_key)
        state["step"] += 1

    def sync():
        jax.block_until_ready(state["out"])

    run()
    sync()
    suffix = "" if path == "fused" or not config.recurrent else f" ({path})"
    return Step(f"ours {arch} {task}{suffix}", run, sync, shape.tokens, {"model": model})


def torch_step(arch: str, task: str, shape: Shape = Shape()) -> Step:
    """PyTorch eager: the same model, loss, clipping and Adam, warmed up."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    rnn = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[arch]
    out_size = shape.classes if task == "classify" else shape.vocab
    embed = nn.Embedding(shape.vocab, shape.embed)
    core = rnn(shape.embed, shape.hidden, shape.layers, batch_first=True)
    head = nn.Linear(shape.hidden, out_size)
    params = [*embed.parameters(), *core.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    batch = batch_for(task, shape)
    tokens = torch.from_numpy(batch["tokens"]).long()
    target = torch.from_numpy(batch["labels" if task == "classify" else "targets"]).long()

    def run():
        optimizer.zero_grad(set_to_none=True)
        y, _ = core(embed(tokens))
        if task == "classify":
            logits = head(y[:, -1])
        else:
            logits = head(y.reshape(-1, shape.hidden))
        loss = nn.functional.cross_entropy(logits, target.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    run()
    return Step(f"torch {arch} {task}", run, lambda: None, shape.tokens)


def matmul(n: int = 2048) -> Step:
    """A float32 ``[n, n] @ [n, n]`` matmul; its "tokens" are FLOPs, so its tokens/s in
    the interleaved timing is the matmul FLOP/s reached under the same conditions."""
    a = jax.random.normal(jax.random.key(0), (n, n))
    f = jax.jit(lambda a: a @ a)
    state = {"out": f(a)}
    jax.block_until_ready(state["out"])

    def run():
        state["out"] = f(a)

    return Step(f"matmul {n}", run, lambda: jax.block_until_ready(state["out"]), 2 * n ** 3)


def matmul_flops(arch: str, task: str, shape: Shape = Shape()) -> float:
    """FLOPs of one training step's matrix products: 3x the forward's (the forward, the
    input gradient and the weight gradient), per token times tokens. Elementwise work,
    the embedding lookup and the optimizer are left out."""
    e, h, layers = shape.embed, shape.hidden, shape.layers
    if arch == "transformer":
        per_layer = 24 * h * h + 4 * shape.length * h  # q k v o, 4x feed-forward, attention
        forward = (2 * e * h if e != h else 0) + layers * per_layer
    else:
        gates = {"elman": 1, "lstm": 4, "gru": 3}[arch]
        forward = sum(2 * (e if layer == 0 else h) * gates * h + 2 * h * gates * h
                      for layer in range(layers))
    head = 2 * h * shape.vocab if task == "lm" else 0
    return 3 * (forward + head) * shape.tokens
