"""The interactive workbench: ``from workbench.ui.app import Workbench; Workbench()`` in a
notebook.

One stateful object, ``Workbench``, holds the views: the tabs (the setup form's fields are
also its attributes: ``wb.hidden``, ``wb.lr``, ...) and the footer (``footer.py``). What
it owns besides them (the finished runs ``wb.runs``, the current model ``wb.trainer``,
the background job and its thread) is its ``Session`` (``session.py``, which also explains
the threading and the live drawing budget). Configs are built from the widgets with
``dataclasses.replace`` (see ``setup.py``), never mutated. The learning-rate slider calls
``set_lr`` on the running trainer (no recompilation); every other change applies to the
next run.

``WORKBENCH_SMOKE=1``: presets and the default setup are cut to a few steps (CI).
"""

from __future__ import annotations

import html
import json
import os
import threading
from pathlib import Path

import ipywidgets as W

from .. import allocator
from ..data.hub import hub_offline
from ..errors import CheckpointError, ConfigError, DataError, NonFiniteLoss
from .compare import ComparePanel
from .footer import Footer
from .html import status_html
from .inspect import InspectPanel
from .live import LivePanel, Pacer
from .panels import guarded
from .session import Session
from .setup import SetupForm
from .setup_presets import param_count_html, preset_configs, task_of
from .stack import warm_up
from .start import StartPanel

KNOWN = (ConfigError, DataError, NonFiniteLoss, CheckpointError)  # messages that say the fix
VISUAL_SHARE = 0.05  # by default, live figures take at most this share of training time
PROBE_EVERY_S = 1.0  # the live probe's refresh interval (wall time), budget permitting
CHUNK_S = 0.3  # chunks of about this long, so a slow model's views still move
TABS = ("Start", "Data", "Model", "Training", "Live", "Inspect", "Compare")
# The session's state and actions, reached through the app (wb.runs, wb.train(), ...)
SESSION = ("runs", "trainer", "data", "current_name", "running", "busy", "pacer",
           "observers", "train", "continue_training", "stop", "reset", "reload_run",
           "run_preset", "run_pair", "load_data", "wait")
FOOTER = ("train_button", "continue_button", "stop_button", "reset_button", "progress",
          "speed", "current_label", "errors", "clear_button", "kernel_notice",
          "error_messages")


class Workbench:
    """The app; show it by making it the last expression of a notebook cell.

    ``preset``: a name in ``presets.PRESETS`` (default: a small offline LSTM on
    'sentiment'); ``runs_dir``: where finished runs are saved (None: kept in memory only);
    ``smoke``: cut presets to a few steps (default: ``WORKBENCH_SMOKE=1``);
    ``probe_every_s``: seconds between probe refreshes while training (0: every chunk);
    ``chunk_s``: the wall time a chunk aims at (None: the config's fixed ``chunk``);
    ``visual_share``:
    the most of a run's training time that drawing live figures may take (None: draw every
    chunk); ``observers``: extra trainer observers ``(event, trainer, info)``, called after
    the app's own; ``precompile``: compile the opening setup's training step in the
    background at once, so the first Train click does not wait for XLA (that thread also
    loads JAX and counts the opening setup's parameters, so the cell showing the app
    returns without waiting for either). The compiled programs are also kept on disk for
    later sessions (``xla_cache``)."""

    def __init__(self, preset: str | None = None, *, runs_dir: str | os.PathLike | None = "runs",
                 smoke: bool | None = None, probe_every_s: float = PROBE_EVERY_S,
                 visual_share: float | None = VISUAL_SHARE, chunk_s: float | None = CHUNK_S,
                 observers=(), precompile: bool = True):
        allocator.from_env()
        self.smoke = os.environ.get("WORKBENCH_SMOKE") == "1" if smoke is None else smoke
        self._param_cache: dict = {}
        self.form = f = SetupForm()
        for name, widget in f.fields.items():
            setattr(self, name, widget)
        self.preset, self.preview, self.param_label = f.preset, f.preview, f.param_label
        self.load_button, self.setup_text = f.load_button, f.setup_text
        self.footer = Footer(KNOWN)
        for name in FOOTER:
            setattr(self, name, getattr(self.footer, name))
        self.status = self.footer.status_line
        report = self.footer.report
        self.live = LivePanel(report)
        self.inspect_panel = InspectPanel(report, lambda: self.session.trainer)
        self.compare = ComparePanel(report, lambda name: self.session.reload_run(name))
        self.session = Session(self, None if runs_dir is None else Path(runs_dir), chunk_s,
                               tuple(observers), Pacer(visual_share, probe_every_s))
        self.start = StartPanel(report, lambda name: self.session.run_preset(name),
                                lambda *names: self.session.run_pair(*names), hub_offline())
        self.tabs = W.Tab(children=[self.start.widget, f.data_panel, f.model_panel,
                                    f.training_panel, self.live.widget,
                                    self.inspect_panel.widget, self.compare.widget],
                          titles=TABS)
        self.widget = W.VBox([self.tabs, self.footer.widget])
        self.widget.add_class("wb-app")  # the kernel notice watches clicks inside it
        self._connect()
        self._count_later = precompile  # the opening count is the warm-up's (it loads JAX)
        self.apply_preset(preset or "default")
        self._count_later = False
        self.footer.status("ready" + (" (smoke mode: presets cut to a few steps)"
                                      if self.smoke else ""))
        self._warm = None  # the warm-up compile's thread, as before the split
        if precompile:
            self._warm = threading.Thread(target=warm_up, args=(self,),
                                          name="workbench warm-up", daemon=True)
            self.session.jobs.warm = self._warm
            self._warm.start()

    def __getattr__(self, name: str):
        """``wb.runs``, ``wb.trainer``, ``wb.train()``, ...: the session's, through the app
        (looked up only for names the app itself lacks)."""
        if name in SESSION and "session" in self.__dict__:
            return getattr(self.__dict__["session"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def show_tab(self, name: str) -> None:
        self.tabs.selected_index = TABS.index(name)

    def clear_errors(self) -> None:
        self.footer.clear_errors()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _connect(self) -> None:
        """Buttons and widget observers, each wrapped so its errors are shown."""
        f, r = self.form, self.footer.report
        actions = ((self.train_button, "Training", self.session.train),
                   (self.continue_button, "Training", self.session.continue_training),
                   (self.stop_button, "Training", self.session.stop),
                   (self.reset_button, "Training", self.session.reset),
                   (f.load_button, "Data", self.session.load_data),
                   (f.export_button, "Setup JSON",
                    lambda: setattr(f.setup_text, "value", self.setup_json())),
                   (f.import_button, "Setup JSON", lambda: self.load_setup_json(
                       f.setup_text.value)),
                   (self.clear_button, "Errors", self.clear_errors))
        for button, where, action in actions:
            button.on_click(guarded(r, where, lambda _, a=action: a()))
        for name, widget in f.fields.items():
            if name != "lr":
                widget.observe(guarded(r, "Setup", self._field_changed), "value")
        f.fields["lr"].observe(guarded(r, "Learning rate", self._lr_changed), "value")
        f.preset.observe(guarded(r, "Preset", self._preset_changed), "value")
        self.live.probe_text.observe(guarded(r, "Live view", self._probe_changed), "value")

    def _probe_changed(self, _change) -> None:
        """A new probe is drawn at once when idle; while training, at the next refresh."""
        if not self.session.busy and self.session.trainer is not None:
            self.live.refresh(self.session.trainer)

    def configs(self):
        """``(DataConfig, ModelConfig, TrainConfig)`` from the widgets (ConfigError if a
        value is invalid); the model's fields as they apply to the data's task."""
        data = self.form.data_config()
        model = self.form.model_config(task_of(data, self.session.data))
        return data, model, self.form.train_config()

    def _task(self) -> str | None:
        try:
            return task_of(self.form.data_config(), self.session.data)
        except ConfigError:
            return None

    def fill_setup(self, data, model, train, preset: str = "") -> list[str]:
        clamped = self.form.fill(data, model, train, preset)
        self.setup_changed()
        if clamped:
            self.footer.status("outside the widgets' ranges, clamped: " + "; ".join(clamped),
                               "warn")
        return clamped

    def apply_preset(self, name: str) -> None:
        """Fill every widget from a preset ('default' or a name in ``PRESETS``)."""
        data, model, train, description = preset_configs(name, self.smoke)
        self.fill_setup(data, model, train, preset=name)
        self.form.preset_info.value = f"<i>{html.escape(description)}</i>"

    def _preset_changed(self, change) -> None:
        if not self.form.filling and change["new"]:
            self.apply_preset(change["new"])
            self.footer.status(f"preset {change['new']!r} applied", "ok")

    def setup_json(self) -> str:
        """The whole setup (every field of the three configs) as JSON."""
        return json.dumps(self.form.setup(self._task()), indent=1)

    def load_setup_json(self, text: str) -> bool:
        """Fill the widgets from ``setup_json()``'s output; an invalid setup changes
        nothing and says why."""
        try:
            configs = self.form.parse_json(text)  # what the text leaves out stays
        except (ValueError, TypeError) as err:
            self.footer.report("Setup JSON", err)
            return False
        clamped = self.fill_setup(*configs)
        self.footer.status("setup loaded" + ("; clamped: " + "; ".join(clamped) if clamped else ""),
                     "warn" if clamped else "ok")
        return True

    def _field_changed(self, change) -> None:
        if self.form.filling:
            return
        if change is not None:  # a hand edit: the setup is no longer the preset's
            self.form.preset.value = ""
        self.form.sync_enabled(self._task())
        self.update_param_count()

    def update_param_count(self) -> None:
        """The parameter count of the model the widgets describe, or why it is invalid."""
        if self._count_later:
            self.form.param_label.value = "<i>counting the parameters ...</i>"
            return
        try:
            data = self.form.data_config()
            model = self.form.model_config(task_of(data, self.session.data))
        except ConfigError as err:
            self.form.param_label.value = status_html(str(err), "error")
            return
        self.form.param_label.value = param_count_html(model, data, self.session.data,
                                                       self._param_cache)

    def _lr_changed(self, change) -> None:
        trainer = self.session.running
        if self.form.filling or trainer is None:
            return
        trainer.set_lr(change["new"])
        self.footer.status(f"learning rate {change['new']:.3g} from step {trainer.step} of "
                     f"{self.session.run_name} (no recompilation)", "busy")

    def setup_changed(self) -> None:
        """The form or the loaded data changed: grey what does not apply, recount."""
        self._field_changed(None)
