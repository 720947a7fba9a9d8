"""The setup form of the app: the Data, Model and Training panels' widgets, and the one
mapping between widget values and the three config dataclasses.

Configs are built with ``dataclasses.replace`` over base configs (the last preset,
reloaded run or imported setup), so fields without a widget (warm-up, schedule, buckets,
...) come from the base and survive a round trip through the widgets.

A setup JSON is all or nothing: ``parse_setup`` lists every unknown section or field and
every wrongly typed value in one ``ConfigError`` before anything changes, and ``fill``
restores the form if a widget refuses a value; a value a widget cannot hold (outside its
range) is clamped and reported, both in the returned notes and in the panel.
Controls that do not apply to the architecture, task or dataset are greyed out
(``sync_enabled``), and a hand-edited dataset resets the task and columns to "auto".
"""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as W

from ..config import (
    ARCHS,
    ATTENTIONS,
    OPTIMIZERS,
    POOLINGS,
    TASKS,
    TOKENIZERS,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from ..data.catalog import CATALOG
from ..presets import PRESETS
from .html import status_html
from .panels import STYLE
from .setup_json import SECTIONS, parse_setup
from .setup_presets import BUILTIN_INFO, BUILTIN_TASKS, DEFAULT
from .setup_rules import applicable, greyed

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


def _range(widget) -> str:
    """A numeric widget's range, as the user sees it."""
    if isinstance(widget, W.FloatLogSlider):
        return f"{widget.base ** widget.min:g}..{widget.base ** widget.max:g}"
    return f"{widget.min:g}..{widget.max:g}" if hasattr(widget, "min") else "of choices"


class SetupForm:
    """Widgets of the Data, Model and Training panels, and their configs."""

    def __init__(self):
        self.fields: dict[str, W.ValueWidget] = {}
        self.bases = (DEFAULT.data, DEFAULT.model, DEFAULT.train)
        self.filling = False
        self._tooltips: dict[str, str | None] = {}  # each control's own, while enabled
        self.data_panel = self._data_panel()
        self.model_panel = self._model_panel()
        self.training_panel = self._training_panel()
        # registered before the app's observers, so the reset happens first
        self.fields["dataset"].observe(self._dataset_changed, "value")

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
        self.setup_note = W.HTML()  # values clamped to a control's range, after a fill
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
            self.setup_note, self.setup_text])

    # --- values <-> configs ---------------------------------------------------------------
    def values(self) -> dict[str, dict]:
        """section -> the base config's fields with the widget values applied."""
        out = {s: dataclasses.asdict(base) for s, base in zip(SECTIONS, self.bases, strict=True)}
        for name, (section, field, kind) in FIELDS.items():
            out[section][field] = to_config(kind, self.fields[name].value)
        out["model"] = applicable(out["model"], out["data"].get("task"))
        return out

    def data_config(self) -> DataConfig:
        return dataclasses.replace(self.bases[0], **self._section("data"))

    def model_config(self, task: str | None) -> ModelConfig:
        """The model config for data of ``task`` (None: not known yet). A greyed-out
        bidirectional box (Transformer, language model) counts as unticked."""
        return dataclasses.replace(self.bases[1], **applicable(self._section("model"), task))

    def train_config(self) -> TrainConfig:
        return dataclasses.replace(self.bases[2], **self._section("train"))

    def _section(self, section: str) -> dict:
        return {field: to_config(kind, self.fields[name].value)
                for name, (s, field, kind) in FIELDS.items() if s == section}

    def parse_json(self, text: str) -> tuple[DataConfig, ModelConfig, TrainConfig]:
        """``parse_setup`` over the form as it is: what the text leaves out stays."""
        return parse_setup(text, base=self.values())

    def load_json(self, text: str) -> list[str]:
        """Fill the form from a setup JSON, all or nothing (ConfigError naming every
        problem, the form untouched); returns the clamp notes (see ``fill``)."""
        return self.fill(*self.parse_json(text))

    def fill(self, data: DataConfig, model: ModelConfig, train: TrainConfig,
             preset: str = "") -> list[str]:
        """Set the bases, every widget and the preset name ('' = custom); returns a note
        for each value a widget could not hold (outside its range, so clamped), also
        shown in the Training panel. All or nothing: if a widget refuses a value, the
        form is restored as it was and the error raised. ``filling`` is True meanwhile,
        so observers can ignore the intermediate states."""
        configs = dict(zip(SECTIONS, (data, model, train), strict=True))
        before = (self.bases, {n: w.value for n, w in self.fields.items()}, self.preset.value)
        clamped, self.filling = [], True
        try:
            self.bases = (data, model, train)
            for name, (section, field, kind) in FIELDS.items():
                value = to_widget(kind, getattr(configs[section], field))
                widget = self.fields[name]
                widget.value = value
                if widget.value != value:
                    clamped.append(f"{field}={value!r} is outside the {widget.description} "
                                   f"control's range {_range(widget)}: set to "
                                   f"{widget.value!r}")
            self.preset.value = preset
        except BaseException:
            self.bases = before[0]
            for name, value in before[1].items():
                self.fields[name].value = value
            self.preset.value = before[2]
            raise
        finally:
            self.filling = False
        self.setup_note.value = status_html(
            "clamped to the controls' ranges: " + "; ".join(clamped), "warn") if clamped else ""
        return clamped

    def setup(self, task: str | None) -> dict:
        """The whole setup, every field of the three configs, as a JSON-able dict (the
        model's fields as they apply to data of ``task``, when known)."""
        values = self.values()
        values["model"] = applicable(values["model"], task)
        return {"workbench_setup": 1, **values}

    def _dataset_changed(self, change) -> None:
        """A dataset typed or picked by hand: the task and the columns named for the
        previous dataset no longer apply, so they go back to 'auto' (detected)."""
        if self.filling or change["new"] == change["old"]:
            return
        self.filling = True  # one change for the app's observers: the dataset's own
        try:
            self.fields["task"].value = "auto"
            for name in ("text_column", "label_column", "target_column", "hub_config"):
                self.fields[name].value = ""
        finally:
            self.filling = False

    def sync_enabled(self, task: str | None) -> None:
        """Grey out what does not apply to this architecture, task and dataset, each
        with a tooltip saying why. Values are kept; a greyed control's value is not used
        (bidirectional, see ``model_config``) or has no effect (difficulty for a file),
        and a text field that holds a name stays editable."""
        name = self.fields["dataset"].value.strip()
        why = greyed(self.fields["arch"].value, task, name)
        for field, reason in why.items():
            widget = self.fields[field]
            if isinstance(widget, W.Text) and widget.value.strip():
                reason = None  # a typed name stays editable (it is still read)
            own = self._tooltips.setdefault(field, widget.tooltip)
            widget.disabled = reason is not None
            widget.tooltip = reason or own
        info = BUILTIN_INFO.get(name) or (CATALOG[name].description + " (Hugging Face hub)"
                                          if name in CATALOG else "a hub id or a local file "
                                          "(csv, json, jsonl, parquet, txt) or folder")
        self.dataset_info.value = f"<i>{html.escape(info)}</i>"
