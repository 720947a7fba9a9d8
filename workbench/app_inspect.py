"""The Inspect panel: run the current model on a text and look inside.

classify: probabilities and saliency; lm: generation with a temperature and each token's
probability; tag: predicted (and, for a validation example, true) tags; seq2seq: greedy
translation and its cross-attention. For every task: hidden states, gates and attention
of the same input (``TraceViews``), a PCA trajectory of hidden states with a basis fit on
validation data, and a neuron search for a pattern (LSTMVis).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ipywidgets as W
import numpy as np

from . import analysis, decode
from .app_html import example_batch, probabilities_html, shown_tokens, text_batch, with_target
from .app_panels import STYLE, Report, TraceViews, guarded, shown
from .plots import GenerationView, NeuronView, SaliencyView, TagsView, TrajectoryView
from .train import model_inputs


def _lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class InspectPanel:
    """Use the current model on a text: the task's output, then its internals, a PCA
    trajectory and a neuron search."""

    def __init__(self, report: Report, current: Callable):
        self.report, self.current = report, current
        self.text = W.Textarea(placeholder="text to run (empty: the first validation "
                               "example); lm: the prompt; seq2seq: the source",
                               layout=W.Layout(width="95%", height="60px"))
        self.run_button = W.Button(description="Run", button_style="primary")
        self.temperature = W.FloatSlider(0.8, min=0.0, max=2.0, step=0.05,
                                         description="temperature", style=STYLE)
        self.max_new = W.IntSlider(60, min=1, max=400, description="new tokens", style=STYLE)
        self.result = W.HTML()
        self.saliency, self.generation, self.tags = SaliencyView(), GenerationView(), TagsView()
        self.views = TraceViews(report)
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
        self.task_figs = {"classify": W.VBox([self.saliency.fig]),
                          "lm": W.VBox([self.generation.fig]), "tag": W.VBox([self.tags.fig])}
        self.widget = W.VBox([
            self.text, W.HBox([self.run_button]), self.lm_box, self.result,
            *self.task_figs.values(), self.views.widget,
            W.HTML("<b>Hidden-state geometry</b> (selected layer and direction; "
                   "seq2seq: the encoder)"),
            self.trajectory_button, self.trajectory_box,
            W.HBox([self.pattern, self.search_button]), self.neuron_note, self.neurons_box])
        self._show_task(None)
        shown(self.trajectory_box, False)
        shown(self.neurons_box, False)
        self._last = None  # (trainer, batch) of the last run

    def _show_task(self, task: str | None) -> None:
        shown(self.lm_box, task == "lm")
        for name, fig in self.task_figs.items():
            shown(fig, name == task)

    def _trainer(self):
        trainer = self.current()
        if trainer is None:
            raise RuntimeError("no model yet: train one (or reload a run in Compare) first")
        return trainer

    def run(self, text: str | None = None) -> None:
        """Run the current model on ``text`` (default: the text box)."""
        if text is not None:
            self.text.value = text
        trainer = self._trainer()
        data, model, text = trainer.data, trainer.model, self.text.value
        self._show_task(data.task)
        batch = text_batch(data, text) if text.strip() else example_batch(data)
        run = {"classify": self._classify, "lm": self._generate, "tag": self._tag,
               "seq2seq": self._translate}[data.task]
        batch = run(data, model, batch) or batch
        self._last = (trainer, batch)
        _, trace = analysis.probe(model, *model_inputs(batch))
        src, dec = shown_tokens(data, batch)
        self.views.show(trace, src, dec, attention="cross-attention")

    def _classify(self, data, model, batch) -> None:
        probs = decode.predict_proba(model, batch["tokens"], batch["mask"])[0]
        scores = analysis.saliency(model, batch["tokens"], batch["mask"])
        tokens, _ = shown_tokens(data, batch)
        best = data.label_names[int(probs.argmax())]
        self.result.value = probabilities_html(data.label_names, probs)
        self.saliency.update(tokens, scores[: len(tokens)], prediction=best)

    def _generate(self, data, model, batch) -> None:
        tok = data.tokenizer
        prompt = batch["tokens"][0][batch["mask"][0]].tolist()
        out = decode.generate(model, prompt, self.max_new.value, data.config.max_len,
                              temperature=self.temperature.value, seed=0)
        self.generation.update(tok.tokens(out.new_ids), out.probs)
        self.result.value = (f"<b>prompt</b> {_lines(tok.decode(prompt))}<br>"
                             f"<b>continuation</b> {_lines(tok.decode(out.new_ids))}")

    def _tag(self, data, model, batch) -> None:
        pred = decode.tag(model, batch["tokens"], batch["mask"])[0]
        real = batch["mask"][0]
        names = data.label_names
        tokens = data.tokenizer.tokens(batch["tokens"][0][real])
        labels = batch.get("labels")
        true = ([names[y] if y >= 0 else "" for y in labels[0][real]] if labels is not None
                else ["?"] * len(tokens))
        self.tags.update(tokens, true, [names[p] for p in pred[real]])
        self.result.value = "" if labels is not None else \
            "<i>typed text has no true tags: the 'true' column shows '?'</i>"

    def _translate(self, data, model, batch) -> dict:
        src = batch["tokens"][0][batch["mask"][0]].tolist()
        out = decode.greedy_translate(model, src, data.config.max_len)
        tok = data.tokenizer
        self.result.value = (f"<b>source</b> {html.escape(tok.decode(src))}<br>"
                             f"<b>greedy output</b> {html.escape(tok.decode(out.ids))}"
                             f"{'' if out.finished else ' (no EOS within max_len)'}")
        return with_target(batch, out.ids)

    def _inspected(self, trainer) -> dict:
        """The batch last run through ``trainer``'s model, else its first validation
        example."""
        if self._last is not None and self._last[0] is trainer:
            return self._last[1]
        return example_batch(trainer.data)

    def _states(self, model, batch) -> tuple[np.ndarray, int, int]:
        """Hidden states ``[n, H]`` of ``batch``'s real tokens (seq2seq: the encoder's) at
        the selected layer and direction, and that layer and direction (clamped)."""
        _, trace = analysis.probe(model, *model_inputs(batch))
        trace = trace.source if trace.source is not None else trace
        layer = min(self.views.layer.value, trace.hidden.shape[0] - 1)
        direction = min(self.views.direction.value, trace.hidden.shape[1] - 1)
        real = np.asarray(trace.mask[0], bool)
        return trace.hidden[layer, direction, 0][real], layer, direction

    def show_trajectory(self) -> None:
        """PCA basis from a sample of validation hidden states; paths of the inspected
        text and the first three validation examples."""
        trainer = self._trainer()
        data, model = trainer.data, trainer.model
        batches = [self._inspected(trainer)] + [example_batch(data, i) for i in range(3)]
        states = [self._states(model, batch) for batch in batches]
        layer, direction = states[0][1:]
        basis = analysis.pca_basis(analysis.hidden_sample(model, data, "validation", layer,
                                                          direction), k=3)
        paths = [analysis.project(basis, hidden) for hidden, _, _ in states]
        tokens = [shown_tokens(data, batch)[0] for batch in batches]
        self.trajectory.update(paths, tokens, ["inspected"] + [f"validation {i}"
                                                               for i in range(3)])
        shown(self.trajectory_box, True)

    def search(self, pattern: str | None = None) -> None:
        """Units whose activation follows ``pattern`` (a regex over the token strings) on
        validation data, drawn over the inspected text."""
        if pattern is not None:
            self.pattern.value = pattern
        pattern, trainer = self.pattern.value, self._trainer()
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(f"pattern {pattern!r} is not a regular expression: {err}") \
                from None
        data, model = trainer.data, trainer.model
        batch = self._inspected(trainer)
        hidden, layer, direction = self._states(model, batch)
        ranking = analysis.neuron_search_dataset(model, data, pattern, layer, direction, top=8)
        tokens = shown_tokens(data, batch)[0]
        sep = " " if data.tokenizer.kind == "word" else ""
        match = analysis.match_pattern([tokens], pattern, sep)[0]
        self.neurons.update(hidden[:, ranking.units], tokens, ranking.units,
                            ranking.correlation, match)
        shown(self.neurons_box, True)
        self.neuron_note.value = (f"<i>{ranking.matched:,} of {ranking.positions:,} validation "
                                  f"positions match; layer {layer}, direction {direction}</i>")
