"""The setup form of the app: the Data, Model and Training panels' widgets, and the one
mapping between widget values and the three config dataclasses.

Configs are built with ``dataclasses.replace`` over base configs (the last preset,
reloaded run or imported setup), so fields without a widget (warm-up, schedule, buckets,
...) come from the base and survive a round trip through the widgets.
"""

from __future__ import annotations

import dataclasses
import html
import json

import ipywidgets as W
from flax import nnx

from . import builtin
from .app_html import status_html
from .app_panels import STYLE
from .catalog import CATALOG
from .config import (
    ARCHS,
    ATTENTIONS,
    OPTIMIZERS,
    POOLINGS,
    TASKS,
    TOKENIZERS,
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from .data import hub_offline
from .models import build_model, count_params
from .presets import PRESETS, Preset
from .trainer import model_args

SMOKE_STEPS, SMOKE_SIZE = 20, 400
BUILTIN_TASKS = {name: task for name, task, _ in builtin.describe()}
BUILTIN_INFO = {name: f"{task}: {text}" for name, task, text in builtin.describe()}
DEFAULT = Preset(
    "default", "Offline and quick: an LSTM learns the sentiment of synthetic sentences with "
    "negation and 'but'. Try bidirectional, attention pooling, or Inspect's saliency.",
    ModelConfig(arch="lstm", task="classify", hidden=64, embed=32),
    DataConfig(dataset="sentiment", max_len=32, batch_size=32, size=2000),
    TrainConfig(steps=300, lr=3e-3, eval_every=100, chunk=10))
SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}

# widget name -> (config section, config field, conversion): None = as is; 'text': '' is
# None; 'auto': 'auto' is None; 'zero': 0 is None
FIELDS = {
    "dataset": ("data", "dataset", None), "hub_config": ("data", "name", "text"),
    "task": ("data", "task", "auto"), "text_column": ("data", "text_column", "text"),
    "label_column": ("data", "label_column", "text"),
    "target_column": ("data", "target_column", "text"),
    "tokenizer": ("data", "tokenizer", None), "vocab_size": ("data", "vocab_size", None),
    "max_len": ("data", "max_len", None), "difficulty": ("data", "difficulty", None),
    "size": ("data", "size", "zero"), "batch_size": ("data", "batch_size", None),
    "arch": ("model", "arch", None), "bidirectional": ("model", "bidirectional", None),
    "layers": ("model", "layers", None), "hidden": ("model", "hidden", None),
    "embed": ("model", "embed", None), "heads": ("model", "heads", None),
    "dropout": ("model", "dropout", None), "pooling": ("model", "pooling", None),
    "attention": ("model", "attention", None), "tie_weights": ("model", "tie_weights", None),
    "lr": ("train", "lr", None), "steps": ("train", "steps", None),
    "optimizer": ("train", "optimizer", None), "seed": ("train", "seed", None),
    "eval_every": ("train", "eval_every", None), "chunk": ("train", "chunk", None),
}


def to_config(kind: str | None, value):
    """A widget value as a config value (see ``FIELDS``)."""
    if kind == "text":
        return value.strip() or None
    if kind == "auto":
        return None if value == "auto" else value
    return (value or None) if kind == "zero" else value


def to_widget(kind: str | None, value):
    """A config value as a widget value (see ``FIELDS``)."""
    if kind == "text":
        return value or ""
    if kind == "auto":
        return value or "auto"
    return (value or 0) if kind == "zero" else value


def make_config(cls, fields: dict):
    """``cls(**fields)`` naming unknown fields; JSON lists become tuples."""
    if not isinstance(fields, dict):
        raise ConfigError(f"the {cls.__name__} section must be an object, got {fields!r}")
    unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    if "data_files" in fields:
        fields = {**fields, "data_files": tuple(tuple(p) for p in fields["data_files"])}
    return cls(**fields)


def parse_setup(text: str) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """The three configs of a ``Workbench.setup_json()`` text (ConfigError or
    json.JSONDecodeError, both ValueErrors, when it is not one)."""
    setup = json.loads(text)
    if not isinstance(setup, dict) or setup.get("workbench_setup") != 1:
        raise ConfigError("not a workbench setup: expected an object with "
                          "'workbench_setup': 1 and 'data', 'model', 'train'")
    return tuple(make_config(cls, setup.get(s, {})) for s, cls in SECTIONS.items())


def param_count_html(model: ModelConfig, data: DataConfig, loaded, cache: dict) -> str:
    """The parameter count of ``model``: exact with the loaded data's vocabulary and
    labels when ``loaded`` was prepared from ``data``, else for a 100-token vocabulary
    and 2 classes. Counted on abstract shapes (nothing allocated), cached in ``cache``."""
    exact = loaded is not None and loaded.config == data
    args = model_args(loaded) if exact else {
        "vocab_size": 100, "n_classes": 2 if model.task in ("classify", "tag") else None,
        "target_vocab_size": 100 if model.task == "seq2seq" else None}
    key = (model, tuple(sorted(args.items())))
    try:
        if key not in cache:
            cache[key] = count_params(nnx.eval_shape(lambda: build_model(model, **args)))
    except ConfigError as err:
        return status_html(str(err), "error")
    note = (f"vocabulary {args['vocab_size']:,} of the loaded data" if exact else
            "about: vocabulary 100 and 2 classes assumed; Load the data for the exact count")
    return f"<b>{cache[key]:,} parameters</b> ({model.arch}, task {model.task}; {note})"


def preset_configs(name: str, smoke_size: bool = False):
    """``(data, model, train, description)`` of preset ``name`` ('default' or a key of
    ``PRESETS``); the data names the preset's task; ``smoke_size`` cuts it (``smoke``).
    Offline, a preset for a hub dataset runs on its built-in stand-in, and says so."""
    if name != "default" and name not in PRESETS:
        raise ConfigError(f"no preset {name!r}; choose one of default, {', '.join(PRESETS)}")
    preset = DEFAULT if name == "default" else PRESETS[name]
    description = preset.description
    if hub_offline() and preset.stand_in:
        description += (f" [Offline (HF_HUB_OFFLINE is set): on the built-in "
                        f"{preset.stand_in!r} instead of {preset.data.dataset!r}; enter a "
                        "local file in Data to train on your copy.]")
        preset = preset.offline()
    data, train = preset.data.replace(task=preset.data.task or preset.model.task), preset.train
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


class SetupForm:
    """Widgets of the Data, Model and Training panels, and their configs."""

    def __init__(self):
        self.fields: dict[str, W.ValueWidget] = {}
        self.bases = (DEFAULT.data, DEFAULT.model, DEFAULT.train)
        self.filling = False
        self.data_panel = self._data_panel()
        self.model_panel = self._model_panel()
        self.training_panel = self._training_panel()

    def _field(self, name: str, widget: W.ValueWidget) -> W.ValueWidget:
        widget.style = STYLE
        self.fields[name] = widget
        return widget

    def _text(self, name: str, description: str, placeholder: str = "") -> W.Text:
        return self._field(name, W.Text(description=description, placeholder=placeholder,
                                        continuous_update=False))

    def _data_panel(self) -> W.VBox:
        f = self._field
        f("dataset", W.Combobox(options=[*BUILTIN_TASKS, *CATALOG], ensure_option=False,
                                continuous_update=False, description="dataset",
                                placeholder="built-in, catalog key, hub id or local file",
                                layout=W.Layout(width="480px")))
        self.dataset_info = W.HTML()
        self.load_button = W.Button(description="Load", button_style="primary",
                                    tooltip="prepare the data and preview it")
        self.preview = W.HTML("<i>Load a dataset to preview it.</i>")
        columns = [self._text(f"{c}_column", f"{c} column", "detected")
                   for c in ("text", "label", "target")]
        return W.VBox([
            self.fields["dataset"], self.dataset_info,
            W.HBox([self._text("hub_config", "hub config", "e.g. wikitext-2-raw-v1"),
                    f("task", W.Dropdown(options=["auto", *TASKS], description="task"))]),
            W.HBox(columns),
            W.HBox([f("tokenizer", W.Dropdown(options=TOKENIZERS, description="tokenizer")),
                    f("vocab_size", W.BoundedIntText(8000, min=5, max=10**7,
                                                     description="vocab size"))]),
            W.HBox([f("max_len", W.IntSlider(64, min=1, max=2048, description="max_len",
                                             continuous_update=False)),
                    f("difficulty", W.IntSlider(1, min=1, max=10, description="difficulty"))]),
            f("size", W.BoundedIntText(0, min=0, max=10**8, description="examples",
                                       tooltip="generated built-ins: training examples "
                                       "(0 = the default)")),
            self.load_button, self.preview])

    def _model_panel(self) -> W.VBox:
        f, slider = self._field, {"continuous_update": False}
        self.param_label = W.HTML()
        return W.VBox([
            W.HBox([f("arch", W.Dropdown(options=ARCHS, description="architecture")),
                    f("bidirectional", W.Checkbox(False, description="bidirectional",
                                                  indent=False))]),
            f("layers", W.IntSlider(1, min=1, max=8, description="layers", **slider)),
            f("hidden", W.IntSlider(128, min=1, max=2048, description="hidden", **slider)),
            f("embed", W.IntSlider(64, min=1, max=1024, description="embed", **slider)),
            f("heads", W.IntSlider(4, min=1, max=32, description="heads", **slider)),
            f("dropout", W.FloatSlider(0.0, min=0.0, max=0.9, step=0.05, description="dropout",
                                       **slider)),
            W.HBox([f("pooling", W.Dropdown(options=POOLINGS, description="pooling")),
                    f("attention", W.Dropdown(options=ATTENTIONS, description="attention")),
                    f("tie_weights", W.Checkbox(False, description="tie weights (lm)",
                                                indent=False))]),
            self.param_label])

    def _training_panel(self) -> W.VBox:
        f = self._field
        self.preset = W.Dropdown(options=[("default", "default"), *((n, n) for n in PRESETS),
                                          ("(custom)", "")], description="preset", style=STYLE)
        self.preset_info = W.HTML()
        self.setup_text = W.Textarea(layout=W.Layout(width="95%", height="140px"),
                                     placeholder="the setup as JSON: Export, edit, Import")
        self.export_button = W.Button(description="Export")
        self.import_button = W.Button(description="Import")
        return W.VBox([
            self.preset, self.preset_info,
            f("lr", W.FloatLogSlider(1e-3, base=10, min=-5, max=0, step=0.1,
                                     readout_format=".1e", description="learning rate")),
            f("batch_size", W.IntSlider(32, min=1, max=1024, description="batch size")),
            W.HBox([f("steps", W.BoundedIntText(1000, min=1, max=10**8, description="steps")),
                    f("optimizer", W.Dropdown(options=OPTIMIZERS, description="optimizer"))]),
            W.HBox([f("seed", W.BoundedIntText(0, min=0, max=2**31 - 1, description="seed")),
                    f("eval_every", W.BoundedIntText(200, min=0, max=10**8,
                                                     description="eval every")),
                    f("chunk", W.BoundedIntText(20, min=1, max=10**6,
                                                description="steps/update"))]),
            W.HTML("<i>The learning rate applies at once to a running run (no "
                   "recompilation); every other change applies to the next run.</i>"),
            W.HTML("<b>Setup</b>"), W.HBox([self.export_button, self.import_button]),
            self.setup_text])

    # --- values <-> configs ---------------------------------------------------------------
    def values(self) -> dict[str, dict]:
        """section -> the base config's fields with the widget values applied."""
        out = {s: dataclasses.asdict(base) for s, base in zip(SECTIONS, self.bases, strict=True)}
        for name, (section, field, kind) in FIELDS.items():
            out[section][field] = to_config(kind, self.fields[name].value)
        return out

    def data_config(self) -> DataConfig:
        return dataclasses.replace(self.bases[0], **self._section("data"))

    def model_config(self, task: str | None) -> ModelConfig:
        """The model config; ``task`` None keeps the base's (fixed once data loads)."""
        task = {"task": task} if task else {}
        return dataclasses.replace(self.bases[1], **task, **self._section("model"))

    def train_config(self) -> TrainConfig:
        return dataclasses.replace(self.bases[2], **self._section("train"))

    def _section(self, section: str) -> dict:
        return {field: to_config(kind, self.fields[name].value)
                for name, (s, field, kind) in FIELDS.items() if s == section}

    def fill(self, data: DataConfig, model: ModelConfig, train: TrainConfig,
             preset: str = "") -> list[str]:
        """Set the bases, every widget and the preset name ('' = custom); returns the
        values a widget could not hold (outside its range, so clamped). ``filling`` is
        True meanwhile, so observers can ignore the intermediate states."""
        self.bases, configs = (data, model, train), dict(zip(SECTIONS, (data, model, train),
                                                             strict=True))
        clamped, self.filling = [], True
        try:
            for name, (section, field, kind) in FIELDS.items():
                value = to_widget(kind, getattr(configs[section], field))
                self.fields[name].value = value
                if self.fields[name].value != value:
                    clamped.append(f"{field}={value!r} (shown as {self.fields[name].value!r})")
            self.preset.value = preset
        finally:
            self.filling = False
        return clamped

    def setup(self, task: str | None) -> dict:
        """The whole setup, every field of the three configs, as a JSON-able dict (the
        model's ``task`` is ``task`` when known)."""
        values = self.values()
        values["model"]["task"] = task or values["model"]["task"]
        return {"workbench_setup": 1, **values}

    def sync_enabled(self, task: str | None) -> None:
        """Grey out what does not apply to this architecture and task (values are kept)."""
        arch = self.fields["arch"].value
        self.fields["heads"].disabled = arch != "transformer"
        self.fields["pooling"].disabled = task not in (None, "classify")
        self.fields["attention"].disabled = task not in (None, "seq2seq") or arch == "transformer"
        self.fields["tie_weights"].disabled = task not in (None, "lm")
        name = self.fields["dataset"].value.strip()
        info = BUILTIN_INFO.get(name) or (CATALOG[name].description + " (Hugging Face hub)"
                                          if name in CATALOG else "a hub id or a local file "
                                          "(csv, json, jsonl, parquet, txt) or folder")
        self.dataset_info.value = f"<i>{html.escape(info)}</i>"
