"""The interactive workbench: ``from workbench import app; app.Workbench()`` in a notebook.

One stateful object, ``Workbench``, holds the widgets (the setup form's fields are also
its attributes: ``wb.hidden``, ``wb.lr``, ...), the current model (``wb.trainer``), the
running trainer and the finished runs (``wb.runs``). Configs are built from the widgets
with ``dataclasses.replace`` (see ``app_setup``), never mutated.

**Threading.** Load and Train run in one daemon thread (one job at a time; a second
click says so). The trainer's observers update widgets and figures from that thread:
every chunk the progress bar and speed; the curves every chunk, and one eval-mode probe
(one device-to-host copy) of hidden states, gates and attention every ``probe_every_s``
seconds, are redrawn only while drawing has cost at most ``visual_share`` (5%) of the
run's training time, so live figures never slow training by more than that (``Pacer``).
Chunks are kept short (``CHUNK_S`` of wall time each) and the probe is first drawn, and
compiled, before training starts, outside the budget; after that it is redrawn every
``probe_every_s`` seconds, each refresh kept as a frame the replay slider shows again.
Stop asks the trainer to stop, honoured between chunks. The learning-rate slider calls
``set_lr`` on the running trainer (no recompilation); every other change applies to the
next run. ``wait(timeout)`` joins the thread.

**Errors** (in callbacks, observers or the thread) land in the status line and the error
``Output`` under the tabs, never lost. The current model changes only when a run has
trained at least one step, so a failed run never loses the model you had; a diverged run
keeps its last finite parameters, which become current.

``WORKBENCH_SMOKE=1``: presets and the default setup are cut to a few steps (CI).
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
import traceback
from pathlib import Path

import ipywidgets as W

from .. import allocator, xla_cache
from ..config import ConfigError
from ..data.hub import hub_offline
from ..data.load import DataError, prepare
from ..nn.models import count_params
from ..train.checkpoint import CheckpointError
from ..train.trainer import NonFiniteLoss, Trainer
from .compare import ComparePanel
from .html import data_preview_html, fmt, status_html
from .inspect import InspectPanel
from .kernel import KernelNotice
from .live import LivePanel, Pacer, probe_frame
from .panels import Run, guarded
from .setup import SetupForm, param_count_html, preset_configs, task_of
from .start import StartPanel

KEEP_IN_MEMORY = 8  # older runs keep only their checkpoint (reloaded from disk)
KNOWN = (ConfigError, DataError, NonFiniteLoss, CheckpointError)  # messages that say the fix
VISUAL_SHARE = 0.05  # by default, live figures take at most this share of training time
PROBE_EVERY_S = 1.0  # the live probe's refresh interval (wall time), budget permitting
CHUNK_S = 0.3  # chunks of about this long, so a slow model's views still move
TABS = ("Start", "Data", "Model", "Training", "Live", "Inspect", "Compare")
OUTCOME_KIND = {"finished": "ok", "stopped": "warn", "stopped_early": "ok",
                "time_budget": "warn", "diverged": "error", "failed": "error"}


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
    background at once, so the first Train click does not wait for XLA. The compiled
    programs are also kept on disk for later sessions (``xla_cache``)."""

    def __init__(self, preset: str | None = None, *, runs_dir: str | os.PathLike | None = "runs",
                 smoke: bool | None = None, probe_every_s: float = PROBE_EVERY_S,
                 visual_share: float | None = VISUAL_SHARE, chunk_s: float | None = CHUNK_S,
                 observers=(),
                 precompile: bool = True):
        allocator.from_env()
        xla_cache.enable()
        self.smoke = os.environ.get("WORKBENCH_SMOKE") == "1" if smoke is None else smoke
        self.runs_dir = None if runs_dir is None else Path(runs_dir)
        self.observers = tuple(observers)
        self.pacer = Pacer(visual_share, probe_every_s)
        self.chunk_s = chunk_s  # None: the training config's fixed chunk (tests)
        self.trainer = self.data = self.current_name = None
        self._running = self._thread = self._run_name = None
        self.runs: dict[str, Run] = {}
        self.error_messages: list[str] = []
        self._stop_requested = False
        self._job = ""
        self._counter, self._last_error = 0, None
        self._param_cache: dict = {}
        self._lock = threading.Lock()
        self.form = SetupForm()
        for name, widget in self.form.fields.items():
            setattr(self, name, widget)
        f = self.form
        self.preset, self.preview, self.param_label = f.preset, f.preview, f.param_label
        self.load_button, self.setup_text = f.load_button, f.setup_text
        self.live = LivePanel(self._report)
        self.inspect_panel = InspectPanel(self._report, lambda: self.trainer)
        self.compare = ComparePanel(self._report, self.reload_run)
        self.start = StartPanel(self._report, self.run_preset, self.run_pair, hub_offline())
        self.tabs = W.Tab(children=[self.start.widget, f.data_panel, f.model_panel,
                                    f.training_panel, self.live.widget,
                                    self.inspect_panel.widget, self.compare.widget],
                          titles=TABS)
        self.widget = W.VBox([self.tabs, self._footer()])
        self.widget.add_class("wb-app")  # the kernel notice watches clicks inside it
        self._connect()
        self.apply_preset(preset or "default")
        self._status("ready" + (" (smoke mode: presets cut to a few steps)" if self.smoke
                                else ""))
        self._warm = threading.Thread(target=self._warm_up, name="workbench warm-up",
                                      daemon=True) if precompile else None
        if self._warm is not None:
            self._warm.start()

    def _warm_up(self) -> None:
        """Compile the opening setup's training step in the background, while the user
        reads the form: a Train click then finds it compiled (a new ``Trainer`` with the
        same shapes reuses the step) instead of waiting ~2 s for XLA. Failures are left
        for the real run to report."""
        try:
            data_config, model_config, train_config = self.configs()
            data = prepare(data_config)
            trainer = Trainer(data, model_config.replace(task=data.task), train_config)
            trainer.run(1)
            probe_frame(trainer)  # the live probe's compile too
        except Exception:  # noqa: BLE001 - the run itself shows any problem
            pass

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _footer(self) -> W.VBox:
        self.train_button = W.Button(description="Train", button_style="success", icon="play",
                                     tooltip="train a new model from scratch with the setup "
                                             "in the tabs")
        self.continue_button = W.Button(
            description="Continue", icon="forward",
            tooltip="train the current model for 'steps' more steps (its own setup; the "
                    "learning rate from the slider)")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop")
        self.reset_button = W.Button(description="Forget model", icon="undo",
                                     tooltip="forget the current model (runs stay in Compare)")
        self.progress = W.IntProgress(0, min=0, max=1, layout=W.Layout(width="260px"))
        self.speed, self.status = W.HTML(), W.HTML()
        self.current_label = W.HTML("<i>no current model</i>")
        self.errors = W.Output(layout=W.Layout(max_height="240px", overflow="auto"))
        self.clear_button = W.Button(description="Clear errors")
        self.kernel_notice = KernelNotice()
        return W.VBox([W.HBox([self.train_button, self.continue_button, self.stop_button,
                               self.reset_button, self.progress, self.speed]),
                       self.kernel_notice, self.status, self.current_label, self.errors,
                       self.clear_button])

    def _connect(self) -> None:
        """Buttons and widget observers, each wrapped so its errors are shown."""
        f, r = self.form, self._report
        actions = ((self.train_button, "Training", self.train),
                   (self.continue_button, "Training", self.continue_training),
                   (self.stop_button, "Training", self.stop),
                   (self.reset_button, "Training", self.reset),
                   (f.load_button, "Data", self.load_data),
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

    def clear_errors(self) -> None:
        """Empty the error log, and the status line if it shows an error."""
        shown, self._last_error = self._last_error, None
        self.errors.clear_output()
        if shown is not None:
            self._status("errors cleared", "info")

    def _probe_changed(self, _change) -> None:
        """A new probe is drawn at once when idle; while training, at the next refresh."""
        if not self.busy and self.trainer is not None:
            self.live.refresh(self.trainer)

    # --- status and errors --------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a background job (loading or training) runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def running(self) -> Trainer | None:
        """The trainer being trained now (None when idle)."""
        return self._running if self.busy else None

    def _status(self, text: str, kind: str = "info") -> None:
        self.status.value = status_html(text, kind)

    def _report(self, where: str, err: BaseException) -> None:
        """Show an error in the status line and the error Output (with a traceback
        unless it is one of the workbench's own errors, whose messages say the fix)."""
        prefix = "" if isinstance(err, KNOWN) else f"{type(err).__name__}: "
        message = f"{where}: {prefix}{err}"
        self._status(message, "error")
        with self._lock:
            if message == self._last_error:
                return
            self._last_error = message
            self.error_messages.append(message)
            self.errors.append_stderr(message + "\n")
            if not isinstance(err, KNOWN):
                self.errors.append_stderr("".join(traceback.format_exception(err)))

    # --- setup: configs, presets, JSON --------------------------------------------------
    def configs(self):
        """``(DataConfig, ModelConfig, TrainConfig)`` from the widgets (ConfigError if a
        value is invalid). The model's task is the data's, when it is known."""
        data = self.form.data_config()
        return data, self.form.model_config(task_of(data, self.data)), self.form.train_config()

    def _task(self) -> str | None:
        try:
            return task_of(self.form.data_config(), self.data)
        except ConfigError:
            return None

    def _fill(self, data, model, train, preset: str = "") -> list[str]:
        clamped = self.form.fill(data, model, train, preset)
        self._field_changed(None)
        if clamped:
            self._status("outside the widgets' ranges, clamped: " + "; ".join(clamped), "warn")
        return clamped

    def apply_preset(self, name: str) -> None:
        """Fill every widget from a preset ('default' or a name in ``PRESETS``)."""
        data, model, train, description = preset_configs(name, self.smoke)
        self._fill(data, model, train, preset=name)
        self.form.preset_info.value = f"<i>{html.escape(description)}</i>"

    def _preset_changed(self, change) -> None:
        if not self.form.filling and change["new"]:
            self.apply_preset(change["new"])
            self._status(f"preset {change['new']!r} applied", "ok")

    def setup_json(self) -> str:
        """The whole setup (every field of the three configs) as JSON."""
        return json.dumps(self.form.setup(self._task()), indent=1)

    def load_setup_json(self, text: str) -> bool:
        """Fill the widgets from ``setup_json()``'s output; an invalid setup changes
        nothing and says why."""
        try:
            configs = self.form.parse_json(text)  # what the text leaves out stays
        except (ValueError, TypeError) as err:
            self._report("Setup JSON", err)
            return False
        clamped = self._fill(*configs)
        self._status("setup loaded" + ("; clamped: " + "; ".join(clamped) if clamped else ""),
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
        try:
            data = self.form.data_config()
            model = self.form.model_config(task_of(data, self.data))
        except ConfigError as err:
            self.form.param_label.value = status_html(str(err), "error")
            return
        self.form.param_label.value = param_count_html(model, data, self.data,
                                                       self._param_cache)

    def _lr_changed(self, change) -> None:
        trainer = self.running
        if self.form.filling or trainer is None:
            return
        trainer.set_lr(change["new"])
        self._status(f"learning rate {change['new']:.3g} from step {trainer.step} of "
                     f"{self._run_name} (no recompilation)", "busy")

    # --- background jobs ----------------------------------------------------------------
    def _start(self, what: str, job, *args) -> bool:
        if self.busy:
            self._status(f"busy {self._job}: one job at a time; Stop it or wait", "warn")
            return False
        self._job = what

        def work():
            try:
                if self._warm is not None and self._warm.is_alive():  # one compile, not two
                    self._status("finishing the background compile of the training step ...",
                                 "busy")
                    self._warm.join()
                job(*args)
            except Exception as err:  # noqa: BLE001 - shown, never lost
                self._report(what[0].upper() + what[1:], err)
        self._thread = threading.Thread(target=work, name=f"workbench {what}", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Join the background job; True when nothing is running any more."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy

    def load_data(self) -> bool:
        """Prepare the data the widgets describe (in the background) and preview it."""
        config = self.form.data_config()
        return self._start(f"loading {config.dataset}", self._load_job, config)

    def _load_job(self, config) -> None:
        self._status(f"loading {config.dataset!r} ...", "busy")
        try:
            data = prepare(config)
        except Exception as err:
            self.form.preview.value = status_html(f"could not load: {err}", "error")
            raise
        self._show_data(data)
        self._status(f"loaded {config.dataset!r}: task {data.task}, "
                     f"{data.stats['train']['examples']:,} training examples", "ok")

    def _show_data(self, data) -> None:
        if data is not self.data:
            self.data = data
            self.form.preview.value = data_preview_html(data)
            self._field_changed(None)

    # --- training -----------------------------------------------------------------------
    def train(self) -> bool:
        """Start a new run from the widgets, in the background (see the module doc)."""
        if self.busy:
            self._status(f"busy {self._job}: one run at a time; Stop it first", "warn")
            return False
        self._stop_requested = False
        name, *configs = self._new_run()
        return self._start(f"training {name}", self._train_job, name, *configs)

    def _new_run(self):
        """A fresh run's name and configs from the widgets; resets the progress bar."""
        data, model, train = self.configs()
        self._counter += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", data.dataset).strip("-")[-24:]
        self.progress.max, self.progress.value, self.speed.value = train.steps, 0, ""
        return f"run{self._counter}-{model.arch}-{slug}", data, model, train

    def run_preset(self, name: str) -> bool:
        """The Start tab's Run: apply preset ``name``, train it, show the Live tab."""
        if self.busy:
            self._status(f"busy {self._job}: one run at a time; Stop it first", "warn")
            return False
        self.apply_preset(name)
        self.tabs.selected_index = TABS.index("Live")
        return self.train()

    def run_pair(self, first: str, second: str) -> bool:
        """Train preset ``first`` then ``second`` (one job; Stop ends both), so Compare
        shows the pair side by side."""
        if self.busy:
            self._status(f"busy {self._job}: one run at a time; Stop it first", "warn")
            return False
        self._stop_requested = False
        self.tabs.selected_index = TABS.index("Live")
        return self._start(f"training {first} then {second}", self._pair_job, first, second)

    def _pair_job(self, *presets: str) -> None:
        for preset in presets:
            if self._stop_requested:
                break
            self.apply_preset(preset)
            self._train_job(*self._new_run())
        if not self._stop_requested:
            self.tabs.selected_index = TABS.index("Compare")

    def _train_job(self, name, data_config, model_config, train_config) -> None:
        self._status(f"{name}: preparing data ...", "busy")
        data = prepare(data_config)
        self._show_data(data)
        if model_config.task != data.task:
            model_config = model_config.replace(task=data.task)
        self._status(f"{name}: building the model (the first chunk compiles it) ...", "busy")
        trainer = Trainer(data, model_config, train_config,
                          observers=(self._observe, *self.observers))
        if self.form.fields["lr"].value != train_config.lr:  # moved while preparing
            trainer.set_lr(self.form.fields["lr"].value)
        self.live.clear("")
        self._fit(name, trainer)

    def continue_training(self) -> bool:
        """Train the current model for the 'steps' field's number of steps more (its own
        data, model and schedule; the learning rate from the slider)."""
        if self.busy:
            self._status(f"busy {self._job}: one run at a time; Stop it first", "warn")
            return False
        if self.trainer is None:
            self._status("no current model to continue: press Train first, or make a run "
                         "current in Compare", "warn")
            return False
        trainer, more = self.trainer, int(self.form.fields["steps"].value)
        trainer.config = trainer.config.replace(steps=trainer.step + more)
        trainer.set_lr(self.form.fields["lr"].value)
        if self._observe not in trainer.observers:
            trainer.observers[:0] = [self._observe, *self.observers]
        self._stop_requested = False
        self.progress.max, self.progress.value = trainer.config.steps, trainer.step
        return self._start(f"continuing {self.current_name}", self._fit, self.current_name,
                           trainer)

    def _fit(self, name: str, trainer: Trainer) -> None:
        """Train ``trainer`` to its step budget with live views, then keep the run."""
        self._running, self._run_name = trainer, name
        trainer.chunk_seconds = self.chunk_s
        self.live.draw_curves(name, trainer.history)
        self._status(f"{name}: drawing the probe before step {trainer.step + 1} ...", "busy")
        try:  # compiles the probe now, outside the drawing budget
            self.live.refresh(trainer)
        except Exception as err:  # noqa: BLE001 - shown; training goes on without it
            self._report("Live view", err)
        self.pacer.start()
        final, outcome = {}, "stopped"
        try:
            if not self._stop_requested:
                final = trainer.fit()
                outcome = final["outcome"]
        except NonFiniteLoss as err:
            self._report(name, err)
            outcome = "diverged"
        except Exception as err:  # noqa: BLE001 - reported; the model trained so far is kept
            self._report(name, err)
            outcome = "failed"
        finally:
            self._running = None
        self._finish(name, trainer, final, outcome)

    def _observe(self, event: str, trainer: Trainer, info: dict) -> None:
        """The app's trainer observer (training thread); its errors never stop training."""
        try:
            if event == "chunk":
                self._on_chunk(trainer, info)
            elif event == "eval":
                self.live.draw_curves(self._run_name, trainer.history)
        except Exception as err:  # noqa: BLE001 - shown, and training goes on
            self._report("Live view", err)

    def _on_chunk(self, trainer: Trainer, info: dict) -> None:
        if self._stop_requested:
            trainer.stop()
        steps = trainer.config.steps
        left = trainer.elapsed / max(trainer.step, 1) * (steps - trainer.step)
        self.progress.value = min(trainer.step, steps)
        self.speed.value = f"{info['tokens_per_s']:,.0f} tokens/s, ~{left:.0f} s left"
        self._status(f"{self._run_name}: step {trainer.step}/{steps}, loss "
                     f"{info['loss']:.4f}", "busy")
        pacer = self.pacer
        if not pacer.allows(trainer.elapsed):
            return  # the figures have had their share of this run's time: skip a chunk
        with pacer.drawing() as probe_due:
            self.live.draw_curves(self._run_name, trainer.history)
            if probe_due:
                self.live.refresh(trainer)
                pacer.probed(trainer.step)

    def _finish(self, name: str, trainer: Trainer, final: dict, outcome: str) -> None:
        """Keep the run, make its model current (if it trained), save it, tell."""
        if trainer.step == 0:
            self._status(f"{name} {outcome} before its first step; the current model is "
                         "unchanged", OUTCOME_KIND.get(outcome, "warn"))
            return
        if not final:
            final = next((r for r in reversed(trainer.history) if r["kind"] == "eval"), {})
        run = Run(name, trainer.data.config, trainer.model_config, trainer.config,
                  list(trainer.history), final, outcome, count_params(trainer.model),
                  trainer.step, trainer.elapsed, trainer)
        self.runs[name] = run
        self.progress.value = min(trainer.step, self.progress.max)
        self.speed.value = f"{outcome} after {trainer.elapsed:.1f} s of training"
        self._set_current(name, trainer)
        run.path = self._save(name, trainer)
        self._forget_old()
        for where, update in (("Live view", lambda: self._show_run(name, trainer)),
                              ("Compare", lambda: self.compare.refresh(self.runs))):
            try:
                update()
            except Exception as err:  # noqa: BLE001 - shown; the run is already kept
                self._report(where, err)
        metrics = ", ".join(f"{k} {fmt(final[k])}" for k in ("loss", "accuracy") if k in final)
        self._status(f"{name} {outcome} at step {trainer.step}/{trainer.config.steps} in "
                     f"{trainer.elapsed:.1f} s; validation {metrics}",
                     OUTCOME_KIND.get(outcome, "warn"))

    def _save(self, name: str, trainer: Trainer) -> str | None:
        if self.runs_dir is None:
            return None
        try:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            return str(trainer.save(self.runs_dir / f"{stamp}-{name}"))
        except Exception as err:  # noqa: BLE001 - the run stays in memory
            self._report(f"Saving {name} (the trained model is kept in memory: fix the "
                         f"folder, then save it with wb.runs[{name!r}].trainer.save(path), "
                         "or press Continue, which saves again when it ends)", err)
            return None

    def _forget_old(self) -> None:
        """Only the last ``KEEP_IN_MEMORY`` runs keep their trainer; older saved ones are
        reloaded from their checkpoint."""
        for run in list(self.runs.values())[:-KEEP_IN_MEMORY]:
            if run.path and run.trainer is not self.trainer:
                run.trainer = None

    def _show_run(self, name: str, trainer: Trainer) -> None:
        self.live.draw_curves(name, trainer.history)
        self.live.refresh(trainer)

    def _set_current(self, name: str, trainer: Trainer) -> None:
        self.trainer, self.current_name = trainer, name
        self.inspect_panel.model_changed()
        self._show_data(trainer.data)
        self.current_label.value = (f"current model: <b>{name}</b> at step {trainer.step} "
                                    "(Inspect uses it)")

    def stop(self) -> None:
        """Stop the running run at the end of its current chunk."""
        if not self.busy or self._job.startswith("loading"):
            self._status("nothing is training" + (" (loading data finishes by itself)"
                                                  if self.busy else ""), "info")
            return
        self._stop_requested = True
        if self._running is not None:
            self._running.stop()
        self._status(f"stopping {self._run_name or ''} at the end of this chunk ...", "busy")

    def reset(self) -> bool:
        """Forget the current model and clear the live view (runs stay in Compare)."""
        if self.busy:
            self._status("Stop the run first: Reset forgets the current model", "warn")
            return False
        self.trainer = self.current_name = None
        self.inspect_panel.model_changed()
        self.progress.value, self.speed.value = 0, ""
        self.live.clear()
        self.current_label.value = "<i>no current model</i>"
        self._status("reset: the next Train starts from scratch", "info")
        return True

    def reload_run(self, name: str) -> bool:
        """Make a finished run current: its model is the one Inspect uses, its setup
        fills the widgets, its curves and probe are shown."""
        if self.busy:
            self._status("Stop the run first, then reload", "warn")
            return False
        if name not in self.runs:
            raise ConfigError(f"no run named {name!r}; finished runs: {', '.join(self.runs)}")
        run = self.runs[name]
        if run.trainer is None:
            run.trainer = Trainer.resume(run.path)
        self._fill(run.data, run.model, run.train)
        self._set_current(name, run.trainer)
        self.live.clear("")
        self._show_run(name, run.trainer)
        self._status(f"{name} is current", "ok")
        return True
