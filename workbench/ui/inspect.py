"""The Inspect panel: run the current model on a text and look inside.

First the task's own action (``inspect_actions.py``: saliency, generation, tags or
translation). For every task: hidden states, gates and
attention of the same input (``TraceViews``), a PCA trajectory of hidden states with a
basis fit on validation data, and a neuron search for a pattern (LSTMVis).

Every view belongs to one model: the panel remembers the trainer (and its step) its views
were computed from and clears them all when the current model is another one, whether the
app says so (``model_changed``) or the panel finds out itself before its next action.

The inference code (``infer``, which loads JAX) is imported inside the actions: they need
a trained model, so JAX is loaded by then, and the app appears without waiting for it
(``stack.py``).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable

import ipywidgets as W
import numpy as np

from ..config import ConfigError
from ..tasks import task_named
from .html import example_batch, shown_tokens, text_batch
from .inspect_actions import ACTIONS
from .inspect_views import (
    MODEL_CHANGED,
    NO_MODEL,
    TextView,
)
from .panels import STYLE, Report, guarded, shown
from .plots.outputs import GenerationView, NeuronView, SaliencyView, TagsView
from .plots.trajectory import TrajectoryView
from .trace_views import TraceViews


def _visible(box: W.Widget) -> bool:
    return box.layout.display != "none"


class InspectPanel:
    """Use the current model (``current()``: the current trainer, or None) on a text: the
    task's output, then its internals, a PCA trajectory and a neuron search."""

    def __init__(self, report: Report, current: Callable):
        self.report, self.current = report, current
        self.text = W.Textarea(placeholder="text to run (empty: the first validation "
                               "example); lm: the prompt; seq2seq: the source",
                               layout=W.Layout(width="95%", height="60px"))
        self.run_button = W.Button(description="Run", button_style="primary")
        self.temperature = W.FloatSlider(0.8, min=0.0, max=2.0, step=0.05,
                                         description="temperature", style=STYLE)
        self.max_new = W.IntSlider(60, min=1, max=400, description="new tokens", style=STYLE)
        self.note, self.result = TextView(), W.HTML()
        self.saliency_text, self.tags_text = TextView(), TextView()
        self.saliency, self.generation, self.tags = SaliencyView(), GenerationView(), TagsView()
        self.tags_box = W.VBox([self.tags.fig])
        self.views = TraceViews(report)
        self.views.dec_label = "output"  # seq2seq rows: the token each decoder step produced
        self.trajectory, self.neurons = TrajectoryView(), NeuronView()
        self.trajectory_box, self.neurons_box = (W.VBox([self.trajectory.fig]),
                                                 W.VBox([self.neurons.fig]))
        self.neuron_note = W.HTML()
        self.trajectory_button = W.Button(description="PCA trajectory")
        self.pattern = W.Text(value=r"\bnot\b", description="pattern", style=STYLE,
                              continuous_update=False)
        self.search_button = W.Button(description="Search neurons")
        self.run_button.on_click(guarded(report, "Inspect", lambda _: self.run()))
        self.trajectory_button.on_click(guarded(report, "Trajectory",
                                                lambda _: self.show_trajectory()))
        self.search_button.on_click(guarded(report, "Neuron search",
                                            lambda _: self.search()))
        self.lm_box = W.HBox([self.temperature, self.max_new])
        self.task_figs = {"saliency": W.VBox([self.saliency_text.widget, self.saliency.fig]),
                          "generate": W.VBox([self.generation.fig]),
                          "tags": W.VBox([self.tags_text.widget, self.tags_box])}
        self.widget = W.VBox([
            self.text, W.HBox([self.run_button]), self.note.widget, self.lm_box, self.result,
            *self.task_figs.values(), self.views.widget,
            W.HTML("<b>Hidden-state geometry</b> (selected layer and direction; "
                   "seq2seq: the encoder)"),
            self.trajectory_button, self.trajectory_box,
            W.HBox([self.pattern, self.search_button]), self.neuron_note, self.neurons_box])
        self._lock = threading.RLock()  # the training thread may call model_changed
        self._source = None  # (weak reference to the trainer, its step) the views are of
        self._batch = None  # the batch last run through that model
        self._clear()

    # --- which model the views belong to ------------------------------------------------
    def model_changed(self) -> None:
        """Clear every view: they belong to the model that was current. The app calls this
        whenever the current model changes (a run becomes current, Reset, a run reloaded
        from Compare); the panel also checks before each action (``_trainer``)."""
        with self._lock:
            had_views = self._source is not None
            self._clear()
            self.note.show(NO_MODEL if self.current() is None
                           else MODEL_CHANGED if had_views else "")

    def _clear(self) -> None:
        self._source = self._batch = None
        self.result.value, self.neuron_note.value = "", ""
        self.saliency_text.show("")
        self.tags_text.show("")
        self._show_task(None)
        self.views.clear()
        shown(self.trajectory_box, False)
        shown(self.neurons_box, False)

    def _is_source(self, trainer) -> bool:
        return (self._source is not None and self._source[0]() is trainer
                and self._source[1] == trainer.step)

    def _trainer(self):
        """The current trainer, once views of any other model (or of this one at another
        step) are cleared; None, with the panel saying what to do, when there is none."""
        trainer = self.current()
        if trainer is None:
            self._clear()
            self.note.show(NO_MODEL)
            return None
        if self._source is not None and not self._is_source(trainer):
            self._clear()
        self.note.show("")
        return trainer

    def _computed_from(self, trainer) -> None:
        self._source = (weakref.ref(trainer), trainer.step)

    def _show_task(self, task: str | None) -> None:
        """Show the figures of the task's Inspect action (``Task.inspect``)."""
        action = None if task is None else task_named(task).inspect
        shown(self.lm_box, action == "generate")
        for name, fig in self.task_figs.items():
            shown(fig, name == action)

    # --- the task's output and the trace -------------------------------------------------
    def run(self, text: str | None = None) -> None:
        """Run the current model on ``text`` (default: the text box; empty: the first
        validation example). The PCA trajectory and the neuron search, when shown, follow
        the new text."""
        from ..infer import analysis
        from ..tasks.batches import model_inputs

        if text is not None:
            self.text.value = text
        with self._lock:
            trainer = self._trainer()
            if trainer is None:
                return
            data, model, text = trainer.data, trainer.model, self.text.value
            batch = text_batch(data, text) if text.strip() else example_batch(data)
            if not batch["mask"][0].any():
                raise ConfigError("the text has no tokens to run (seq2seq: type the source, "
                                  "or 'source => target')")
            self._show_task(data.task)
            batch, dec = ACTIONS[data.family.inspect](self, data, model, batch)
            _, trace = analysis.probe(model, *model_inputs(batch))
            self.views.caption.value = f"<i>the current model at step {trainer.step}</i>"
            self.views.show(trace, shown_tokens(data, batch)[0], dec,
                            attention="cross-attention")
            self._batch = batch
            self._computed_from(trainer)
            if _visible(self.trajectory_box):
                self.show_trajectory()
            if _visible(self.neurons_box):
                self.search()

    # --- hidden-state geometry ------------------------------------------------------------
    def _inspected(self, trainer) -> dict:
        """The batch last run through the current model, else the text box's text (or the
        first validation example)."""
        if self._batch is not None and self._is_source(trainer):
            return self._batch
        text = self.text.value
        return text_batch(trainer.data, text) if text.strip() else example_batch(trainer.data)

    def _states(self, model, batch) -> tuple[np.ndarray, int, int]:
        """Hidden states ``[n, H]`` of ``batch``'s real tokens (seq2seq: the encoder's) at
        the selected layer and direction, and that layer and direction (clamped)."""
        from ..infer import analysis
        from ..tasks.batches import model_inputs

        _, trace = analysis.probe(model, *model_inputs(batch))
        trace = trace.encoder
        layer = min(self.views.layer.value, trace.hidden.shape[0] - 1)
        direction = min(self.views.direction.value, trace.hidden.shape[1] - 1)
        real = np.asarray(trace.mask[0], bool)
        return trace.hidden[layer, direction, 0][real], layer, direction

    def show_trajectory(self) -> None:
        """PCA basis from a sample of validation hidden states; paths of the inspected
        text and the first three validation examples."""
        from ..infer import geometry

        with self._lock:
            trainer = self._trainer()
            if trainer is None:
                return
            data, model = trainer.data, trainer.model
            batches = [self._inspected(trainer)] + [example_batch(data, i) for i in range(3)]
            states = [self._states(model, batch) for batch in batches]
            layer, direction = states[0][1:]
            basis = geometry.pca_basis(geometry.hidden_sample(model, data, "validation",
                                                              layer, direction), k=3)
            paths = [geometry.project(basis, hidden) for hidden, _, _ in states]
            tokens = [shown_tokens(data, batch)[0] for batch in batches]
            self.trajectory.update(paths, tokens, ["inspected"] + [f"validation {i}"
                                                                   for i in range(3)])
            shown(self.trajectory_box, True)
            self._computed_from(trainer)

    def search(self, pattern: str | None = None) -> None:
        """Units whose activation follows ``pattern`` (a regex over the token strings) on
        validation data, drawn over the inspected text."""
        from ..infer import geometry

        if pattern is not None:
            self.pattern.value = pattern
        pattern = self.pattern.value
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"the pattern {pattern!r} is not a regular expression: {err}") \
                from None
        with self._lock:
            trainer = self._trainer()
            if trainer is None:
                return
            data, model = trainer.data, trainer.model
            batch = self._inspected(trainer)
            hidden, layer, direction = self._states(model, batch)
            ranking = geometry.neuron_search_dataset(model, data, pattern, layer, direction,
                                                     top=8)
            tokens = shown_tokens(data, batch)[0]
            sep = " " if data.tokenizer.kind == "word" else ""
            match = geometry.match_pattern([tokens], pattern, sep)[0]
            self.neurons.update(hidden[:, ranking.units], tokens, ranking.units,
                                ranking.correlation, match)
            shown(self.neurons_box, True)
            self.neuron_note.value = (f"<i>{ranking.matched:,} of {ranking.positions:,} "
                                      f"validation positions match; layer {layer}, "
                                      f"direction {direction}</i>")
            self._computed_from(trainer)
