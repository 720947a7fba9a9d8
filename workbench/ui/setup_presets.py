"""What fills the setup form: a preset (cut to a few steps in smoke mode), the default
setup, the built-in datasets' tasks, and the parameter count of what the form describes."""

from __future__ import annotations

from ..config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from ..data import builtin
from ..data.catalog import CATALOG
from ..data.hub import offline_reason
from ..presets import PRESETS, Preset
from ..tasks import task_named
from .html import status_html
from .stack import load as load_stack

SMOKE_STEPS, SMOKE_SIZE = 20, 400


BUILTIN_TASKS = {name: task for name, task, _ in builtin.describe()}


BUILTIN_INFO = {name: f"{task}: {text}" for name, task, text in builtin.describe()}


DEFAULT = Preset(
    "default", "Offline and quick: an LSTM learns the sentiment of synthetic sentences with "
    "negation and 'but'. Try bidirectional, attention pooling, or Inspect's saliency.",
    ModelConfig(arch="lstm", hidden=64, embed=32),
    DataConfig(task="classify", dataset="sentiment", max_len=32, batch_size=32, size=2000),
    TrainConfig(steps=300, lr=3e-3, eval_every=100, chunk=10))


def param_count_html(model: ModelConfig, data: DataConfig, loaded, cache: dict) -> str:
    """The parameter count of ``model``: exact with the loaded data's vocabulary and
    labels when ``loaded`` was prepared from ``data``, else for a 100-token vocabulary
    and 2 classes. Counted on abstract shapes (nothing allocated), cached in ``cache``.
    (Building the model needs JAX, loaded here, so the form itself does not load it.)"""
    load_stack()
    from ..nn.models import count_params_of
    from ..train.trainer import model_args

    exact, known = loaded is not None and loaded.config == data, task_of(data, loaded)
    task = task_named(known or "classify")  # a file's task is known once it loads
    args = model_args(loaded) if exact else {
        "task": task.name, "vocab_size": 100, "n_classes": None if task.labels is None else 2,
        "target_vocab_size": 100 if task.target else None}
    key = (model, tuple(sorted(args.items())))
    try:
        if key not in cache:
            cache[key] = count_params_of(model, **args)
    except ConfigError as err:
        return status_html(str(err), "error")
    note = (f"vocabulary {args['vocab_size']:,} of the loaded data" if exact else
            "about: vocabulary 100 and 2 classes assumed; Load the data for the exact count")
    named = (f"task {task.name}" if known else
             "counted as task classify: the data's task is known once it loads")
    return f"<b>{cache[key]:,} parameters</b> ({model.arch}, {named}; {note})"


def preset_configs(name: str, smoke_size: bool = False):
    """``(data, model, train, description)`` of preset ``name`` ('default' or a key of
    ``PRESETS``); the data names the preset's task; ``smoke_size`` cuts it (``smoke``).
    Offline, a preset for a hub dataset runs on its built-in stand-in, and says so."""
    if name != "default" and name not in PRESETS:
        raise ConfigError(f"no preset {name!r}; choose one of default, {', '.join(PRESETS)}")
    preset = DEFAULT if name == "default" else PRESETS[name]
    description = preset.description
    reason = offline_reason() if preset.stand_in else None  # probes only when it matters
    if reason:
        description += (f" [Offline ({reason}): on the built-in {preset.stand_in!r} "
                        f"instead of {preset.data.dataset!r}; enter a local file in Data "
                        "to train on your copy.]")
        preset = preset.offline()
    data, train = preset.data, preset.train
    if smoke_size:
        data, train = smoke(data, train)
    return data, preset.model, train, description


def smoke(data: DataConfig, train: TrainConfig) -> tuple[DataConfig, TrainConfig]:
    """A preset cut to a few steps (and generated built-ins to a few examples) for CI."""
    steps = min(train.steps, SMOKE_STEPS)
    train = train.replace(
        steps=steps, chunk=min(train.chunk, max(1, steps // 4)),
        eval_every=min(train.eval_every, max(1, steps // 2)) if train.eval_every else 0,
        eval_batches=min(train.eval_batches or 4, 4))
    if data.dataset in BUILTIN_TASKS and data.dataset != "prose":
        data = data.replace(size=min(data.size or SMOKE_SIZE, SMOKE_SIZE))
    return data, train


def task_of(data: DataConfig, loaded=None) -> str | None:
    """The task ``data`` will have: its override, the loaded data's, the built-in's or
    the catalog entry's; None when it is only known after loading."""
    if data.task:
        return data.task
    if loaded is not None and loaded.config == data:
        return loaded.task
    if data.dataset in BUILTIN_TASKS:
        return BUILTIN_TASKS[data.dataset]
    entry = CATALOG.get(data.dataset)
    return entry.task if entry else None
