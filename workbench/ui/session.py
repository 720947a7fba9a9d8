"""What the app owns besides its widgets: the finished runs, the current model, and the
one background job (loading or training) with its thread.

**Threading.** Load and Train run in one daemon thread (one job at a time; a second
click says so). The trainer's observers update widgets and figures from that thread
(``live.LiveObserver``): every chunk the progress bar and speed; the curves every chunk,
and one eval-mode probe (one device-to-host copy) of hidden states, gates and attention
every ``probe_every_s`` seconds, are redrawn only while drawing has cost at most
``visual_share`` (5%) of the run's training time, so live figures never slow training by
more than that (``Pacer``).
Chunks are kept short (``chunk_s`` of wall time each) and the probe is first drawn, and
compiled, before training starts, outside the budget; after that it is redrawn every
``probe_every_s`` seconds, each refresh kept as a frame the replay slider shows again.
Stop asks the trainer to stop, honoured between chunks.

**Imports.** The training code (JAX, Flax, ``datasets``) is loaded by the worker thread
(``stack.py``), never at module level, so the app's widgets answer while JAX loads.

The current model changes only when a run has trained at least one step, so a failed run
never loses the model you had; a diverged run keeps its last finite parameters, which
become current. The views it draws into are the app's (``self.app``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NonFiniteLoss
from .html import data_preview_html, fmt, status_html
from .jobs import Jobs
from .live import LiveObserver, Pacer
from .runs import Run, Runs
from .stack import load as load_stack

if TYPE_CHECKING:
    from ..train.trainer import Trainer

OUTCOME_KIND = {"finished": "ok", "stopped": "warn", "stopped_early": "ok",
                "time_budget": "warn", "diverged": "error", "failed": "error"}


class Session:
    """The runs, the current model and the background job of one app (see the module doc).

    ``runs_dir``: where finished runs are saved (None: in memory only); ``chunk_s``: the
    wall time a chunk aims at (None: the config's fixed chunk); ``observers``: extra
    trainer observers, called after the app's own; ``pacer``: the live drawing budget."""

    def __init__(self, app, runs_dir: Path | None, chunk_s: float | None, observers: tuple,
                 pacer: Pacer):
        self.app = app  # the views: its footer, form, tabs and panels
        self.footer, self.form, self.live = app.footer, app.form, app.live
        self.compare, self.inspect = app.compare, app.inspect_panel
        self.chunk_s, self.observers, self.pacer = chunk_s, observers, pacer
        self.trainer = self.data = self.current_name = self._running = None
        self.runs = Runs(runs_dir, self.footer.report)
        self.stop_requested = False
        self.jobs = Jobs(self.footer.status, self.footer.report, before=load_stack)
        self._counter = 0
        self.observe = LiveObserver(self.footer, self.live, pacer, lambda: self.stop_requested)


    @property
    def run_name(self) -> str | None:
        """The run being trained, or the last one."""
        return self.observe.run_name

    @property
    def busy(self) -> bool:
        """True while a background job (loading or training) runs."""
        return self.jobs.busy

    @property
    def running(self) -> Trainer | None:
        """The trainer being trained now (None when idle)."""
        return self._running if self.busy else None

    def wait(self, timeout: float | None = None) -> bool:
        """Join the background job; True when nothing is running any more."""
        return self.jobs.wait(timeout)

    def load_data(self) -> bool:
        """Prepare the data the widgets describe (in the background) and preview it."""
        config = self.form.data_config()
        return self.jobs.start(f"loading {config.dataset}", self._load_job, config)

    def _load_job(self, config) -> None:
        from ..data.load import prepare

        self.footer.status(f"loading {config.dataset!r} ...", "busy")
        try:
            data = prepare(config)
        except Exception as err:
            self.form.preview.value = status_html(f"could not load: {err}", "error")
            raise
        self.show_data(data)
        self.footer.status(f"loaded {config.dataset!r}: task {data.task}, "
                           f"{data.stats['train']['examples']:,} training examples", "ok")

    def show_data(self, data) -> None:
        if data is not self.data:
            self.data = data
            self.form.preview.value = data_preview_html(data)
            self.app.setup_changed()

    def train(self) -> bool:
        """Start a new run from the widgets, in the background (see the module doc)."""
        if self.jobs.refuse_if_busy():
            return False
        self.stop_requested = False
        name, *configs = self._new_run()
        return self.jobs.start(f"training {name}", self._train_job, name, *configs)

    def _new_run(self):
        """A fresh run's name and configs from the widgets; resets the progress bar."""
        data, model, train = self.app.configs()
        self._counter += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", data.dataset).strip("-")[-24:]
        progress = self.footer.progress
        progress.max, progress.value, self.footer.speed.value = train.steps, 0, ""
        return f"run{self._counter}-{model.arch}-{slug}", data, model, train

    def run_preset(self, name: str) -> bool:
        """The Start tab's Run: apply preset ``name``, train it, show the Live tab."""
        if self.jobs.refuse_if_busy():
            return False
        self.app.apply_preset(name)
        self.app.show_tab("Live")
        return self.train()

    def run_pair(self, first: str, second: str) -> bool:
        """Train preset ``first`` then ``second`` (one job; Stop ends both), so Compare
        shows the pair side by side."""
        if self.jobs.refuse_if_busy():
            return False
        self.stop_requested = False
        self.app.show_tab("Live")
        return self.jobs.start(f"training {first} then {second}", self._pair_job, first, second)

    def _pair_job(self, *presets: str) -> None:
        for preset in presets:
            if self.stop_requested:
                break
            self.app.apply_preset(preset)
            self._train_job(*self._new_run())
        if not self.stop_requested:
            self.app.show_tab("Compare")

    def _train_job(self, name, data_config, model_config, train_config) -> None:
        from ..data.load import prepare
        from ..train.trainer import Trainer

        self.footer.status(f"{name}: preparing data ...", "busy")
        data = prepare(data_config)
        self.show_data(data)
        self.footer.status(f"{name}: building the model (the first chunk compiles it) ...", "busy")
        trainer = Trainer(data, model_config, train_config,
                          observers=(self.observe, *self.observers))
        if self.form.fields["lr"].value != train_config.lr:  # moved while preparing
            trainer.set_lr(self.form.fields["lr"].value)
        self.live.clear("")
        self._fit(name, trainer)

    def continue_training(self) -> bool:
        """Train the current model for the 'steps' field's number of steps more (its own
        data, model and schedule; the learning rate from the slider)."""
        if self.jobs.refuse_if_busy():
            return False
        if self.trainer is None:
            self.footer.status("no current model to continue: press Train first, or make a run "
                               "current in Compare", "warn")
            return False
        trainer, more = self.trainer, int(self.form.fields["steps"].value)
        trainer.config = trainer.config.replace(steps=trainer.step + more)
        trainer.set_lr(self.form.fields["lr"].value)
        if self.observe not in trainer.observers:
            trainer.observers[:0] = [self.observe, *self.observers]
        self.stop_requested = False
        self.footer.progress.max, self.footer.progress.value = trainer.config.steps, trainer.step
        return self.jobs.start(f"continuing {self.current_name}", self._fit, self.current_name,
                           trainer)

    def _fit(self, name: str, trainer: Trainer) -> None:
        """Train ``trainer`` to its step budget with live views, then keep the run."""
        self._running, self.observe.run_name = trainer, name
        trainer.chunk_seconds = self.chunk_s
        self.live.draw_curves(name, trainer.history)
        self.footer.status(f"{name}: drawing the probe before step {trainer.step + 1} ...", "busy")
        try:  # compiles the probe now, outside the drawing budget
            self.live.refresh(trainer)
        except Exception as err:  # noqa: BLE001 - shown; training goes on without it
            self.footer.report("Live view", err)
        self.pacer.start()
        final, outcome = {}, "stopped"
        try:
            if not self.stop_requested:
                final = trainer.fit()
                outcome = final["outcome"]
        except NonFiniteLoss as err:
            self.footer.report(name, err)
            outcome = "diverged"
        except Exception as err:  # noqa: BLE001 - reported; the model trained so far is kept
            self.footer.report(name, err)
            outcome = "failed"
        finally:
            self._running = None
        self._finish(name, trainer, final, outcome)

    def _finish(self, name: str, trainer: Trainer, final: dict, outcome: str) -> None:
        """Keep the run, make its model current (if it trained), save it, tell."""
        if trainer.step == 0:
            self.footer.status(f"{name} {outcome} before its first step; the current model is "
                               "unchanged", OUTCOME_KIND.get(outcome, "warn"))
            return
        if not final:
            final = next((r for r in reversed(trainer.history) if r["kind"] == "eval"), {})
        self.footer.progress.value = min(trainer.step, self.footer.progress.max)
        self.footer.speed.value = f"{outcome} after {trainer.elapsed:.1f} s of training"
        self._set_current(name, trainer)
        self.runs.keep(Run.of(name, trainer, final, outcome), current=trainer)
        for where, update in (("Live view", lambda: self._show_run(name, trainer)),
                              ("Compare", lambda: self.compare.refresh(self.runs))):
            try:
                update()
            except Exception as err:  # noqa: BLE001 - shown; the run is already kept
                self.footer.report(where, err)
        metrics = ", ".join(f"{k} {fmt(final[k])}" for k in ("loss", "accuracy") if k in final)
        if "restored_from_step" in final:  # keep_best went back to the best validation
            metrics += f" (the parameters of step {final['restored_from_step']}, its best)"
        self.footer.status(f"{name} {outcome} at step {trainer.step}/{trainer.config.steps} in "
                           f"{trainer.elapsed:.1f} s; validation {metrics}",
                           OUTCOME_KIND.get(outcome, "warn"))

    def _show_run(self, name: str, trainer: Trainer) -> None:
        self.live.draw_curves(name, trainer.history)
        self.live.refresh(trainer)

    def _set_current(self, name: str, trainer: Trainer) -> None:
        self.trainer, self.current_name = trainer, name
        self.inspect.model_changed()
        self.show_data(trainer.data)
        self.footer.current_label.value = (f"current model: <b>{name}</b> at step {trainer.step} "
                                    "(Inspect uses it)")

    def stop(self) -> None:
        """Stop the running run at the end of its current chunk."""
        if not self.busy or self.jobs.job.startswith("loading"):
            self.footer.status("nothing is training" + (" (loading data finishes by itself)"
                                                        if self.busy else ""), "info")
            return
        self.stop_requested = True
        if self._running is not None:
            self._running.stop()
        self.footer.status(f"stopping {self.run_name or ''} at the end of this chunk ...", "busy")

    def reset(self) -> bool:
        """Forget the current model and clear the live view (runs stay in Compare)."""
        if self.busy:
            self.footer.status("Stop the run first: Reset forgets the current model", "warn")
            return False
        self.trainer = self.current_name = None
        self.inspect.model_changed()
        self.footer.progress.value, self.footer.speed.value = 0, ""
        self.live.clear()
        self.footer.current_label.value = "<i>no current model</i>"
        self.footer.status("reset: the next Train starts from scratch", "info")
        return True

    def reload_run(self, name: str) -> bool:
        """Make a finished run current: its model is the one Inspect uses, its setup
        fills the widgets, its curves and probe are shown."""
        if self.busy:
            self.footer.status("Stop the run first, then reload", "warn")
            return False
        trainer, run = self.runs.trainer_of(name), self.runs[name]
        self.app.fill_setup(run.data, run.model, run.train)
        self._set_current(name, trainer)
        self.live.clear("")
        self._show_run(name, trainer)
        self.footer.status(f"{name} is current", "ok")
        return True
