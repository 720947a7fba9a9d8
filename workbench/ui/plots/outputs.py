"""Figures of what a model outputs or attends to when asked: gradient flow, saliency,
neurons that match a pattern, the confusion matrix, tags and generated text."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .layout import (
    assign_slots,
    bottom_token_axis,
    cell_labels,
    label,
    on_slot,
    place,
    positions,
    slot_layout,
    stack_rows,
    token_axis,
    token_frame,
)
from .widget import DIVERGING, PALETTE, FigureWidget, View, as_float, check_tokens


class GradientFlowView(View):
    """Gradient norm per time step, one line per architecture or run, log-scale y."""

    MAX_LINES = 8

    def __init__(self) -> None:
        lines = [go.Scatter(x=[], y=[], mode="lines+markers", visible=False,
                            line={"color": PALETTE[k]}) for k in range(self.MAX_LINES)]
        title = ("Gradient flow: |dloss/dh_t| per time step (log scale)<br><sup>A norm that "
                 "shrinks as t moves away from the loss is a vanishing gradient; gated cells "
                 "(LSTM, GRU) keep it flatter than an Elman RNN.</sup>")
        self.fig = FigureWidget(data=lines, layout={
            "title": {"text": title}, "xaxis": {"title": {"text": "time step t"}},
            "yaxis": {"type": "log", "title": {"text": "gradient norm"}}})
        self._slots: dict[str, int] = {}

    def update(self, flows: dict[str, np.ndarray]) -> None:
        """Show ``flows``: name -> gradient norm per time step ``[T]``."""
        self._slots = assign_slots(self._slots, list(flows), self.MAX_LINES)
        used = {k: name for name, k in self._slots.items()}
        with self.fig.batch_update():
            for k, line in enumerate(self.fig.data):
                if k not in used:
                    line.visible = False
                    continue
                y = as_float(flows[used[k]], used[k], ndim=1)
                line.update(x=np.arange(len(y)), y=y, name=used[k], visible=True)


class SaliencyView(View):
    """Per-token saliency as bars under the tokens, diverging colours centred at 0; a long
    text opens on its first ``TOKEN_WINDOW`` tokens with a slider to move along."""

    PLOT_PX = 260

    def __init__(self) -> None:
        bar = go.Bar(x=[], y=[], marker={"color": [], "colorscale": DIVERGING, "cmin": -1,
                                         "cmax": 1, "showscale": True})
        self.fig = FigureWidget(data=[bar], layout={
            "title": {"text": "Saliency"}, "xaxis": {"title": {"text": "token"}},
            "yaxis": {"title": {"text": "saliency"}}, **token_frame([], self.PLOT_PX, 70)})
        self.tokens: list[str] = []

    def update(self, tokens: Sequence[str], scores: np.ndarray, prediction: str = "") -> None:
        """Show one score per token; the title names the prediction being explained."""
        s = as_float(scores, "scores", ndim=1)
        tokens = check_tokens(tokens, len(s))
        keep, self.tokens = tokens == self.tokens, tokens
        top = float(np.nanmax(np.abs(s))) if s.size else 0.0
        top = top if top > 0 else 1.0
        with self.fig.batch_update():
            self.fig.data[0].update(x=np.arange(len(s)), y=s, hovertext=positions(tokens),
                                    hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>")
            self.fig.data[0].marker.update(color=s, cmin=-top, cmax=top)
            self.fig.layout.update(token_frame(tokens, self.PLOT_PX, 70))
            self.fig.layout.xaxis.update(bottom_token_axis(tokens, "token", self.PLOT_PX,
                                                           keep_range=keep))
            self.fig.layout.title.text = f"Saliency for prediction: {label(prediction)}"


def saliency_html(tokens: Sequence[str], scores: np.ndarray) -> str:
    """An HTML snippet: each token in a span shaded red (positive) or blue (negative)."""
    s = np.nan_to_num(as_float(scores, "scores", ndim=1))
    tokens = check_tokens(tokens, len(s))
    top = float(np.abs(s).max()) if s.size and np.abs(s).max() > 0 else 1.0
    spans = []
    for token, v in zip(tokens, s, strict=True):
        rgb = "214, 39, 40" if v > 0 else "31, 119, 180"
        spans.append(f'<span title="{v:+.3f}" style="background-color: rgba({rgb}, '
                     f'{abs(v) / top:.2f}); padding: 0 2px; border-radius: 3px">'
                     f"{html.escape(token)}</span>")
    return '<div class="saliency" style="line-height: 1.9">' + " ".join(spans) + "</div>"


class NeuronView(View):
    """The top K units' activations over a text, with the positions a pattern matches in
    a strip above them; a long text opens on its first ``TOKEN_WINDOW`` tokens."""

    def __init__(self) -> None:
        units = go.Heatmap(z=[[0.0]], colorscale=DIVERGING, zmid=0, **on_slot(0),
                           hovertemplate="%{customdata}: %{z:.3f}<extra></extra>")
        match = go.Heatmap(z=[[0.0]], zmin=0, zmax=1, showscale=False, **on_slot(1),
                           colorscale=[[0, "white"], [1, "#FFA15A"]], hoverinfo="skip")
        boxes, plot_px = self.boxes(1)
        layout = slot_layout(boxes, title={"text": "Units that track a pattern"},
                             **token_frame([], plot_px, 70))
        layout["yaxis"].update(title={"text": "unit (score)"}, autorange="reversed")
        layout["xaxis"]["title"] = {"text": "token"}
        layout["xaxis2"].update(matches="x", showticklabels=False)
        layout["yaxis2"].update(tickmode="array", tickvals=[0], ticktext=["match"])
        self.fig = FigureWidget(data=[units, match], layout=layout)
        self.tokens: list[str] = []

    @staticmethod
    def boxes(n_units: int):
        """The units' and the match strip's boxes, and the plot-area height in pixels:
        22 px per unit (160 at least), the strip 18 px above them."""
        (strip, heat), plot_px = stack_rows([18, max(160, 22 * n_units)], [12])
        return [(0, 1, *heat), (0, 1, *strip)], plot_px

    def update(self, activations: np.ndarray, tokens: Sequence[str], units: Sequence[int],
               scores: Sequence[float], match: np.ndarray | None = None) -> None:
        """Show ``activations [T, K]`` of ``units`` (best first) with ``match [T]`` 0/1."""
        a = as_float(activations, "activations", ndim=2)
        tokens = check_tokens(tokens, a.shape[0])
        if len(units) != a.shape[1] or len(scores) != a.shape[1]:
            raise ValueError(f"need one unit id and score per column of activations "
                             f"({a.shape[1]}), got {len(units)} and {len(scores)}")
        keep, self.tokens = tokens == self.tokens, tokens
        m = np.zeros(a.shape[0]) if match is None else as_float(match, "match", ndim=1)
        labels = [f"unit {int(u)} ({float(s):.2f})" for u, s in zip(units, scores, strict=True)]
        boxes, plot_px = self.boxes(len(labels))
        with self.fig.batch_update():
            self.fig.data[0].update(z=a.T, x=np.arange(a.shape[0]), y=np.arange(a.shape[1]),
                                    customdata=cell_labels(labels, positions(tokens)))
            self.fig.data[1].update(z=m[None, :], x=np.arange(len(m)), y=[0])
            for k, box in enumerate(boxes):
                place(self.fig, k, box)
            self.fig.layout.update(token_frame(tokens, plot_px, 70))
            self.fig.layout.xaxis.update(bottom_token_axis(tokens, "token", plot_px,
                                                           keep_range=keep))
            self.fig.layout.yaxis.update(tickmode="array", tickvals=np.arange(len(labels)),
                                         ticktext=labels)


class ConfusionView(View):
    """A confusion matrix (rows: true class, columns: predicted) with counts as text."""

    def __init__(self) -> None:
        heat = go.Heatmap(z=[[0.0]], text=[["0"]], texttemplate="%{text}", colorscale="Blues",
                          hovertemplate="%{customdata}: %{z}<extra></extra>")
        self.fig = FigureWidget(data=[heat], layout={
            "title": {"text": "Confusion matrix"}, "xaxis": {"title": {"text": "predicted"}},
            "yaxis": {"title": {"text": "true"}, "autorange": "reversed"}, "height": 420})

    def update(self, matrix: np.ndarray, labels: Sequence[str]) -> None:
        """Show ``matrix [C, C]`` of counts; the title gives the accuracy."""
        m = as_float(matrix, "matrix", ndim=2)
        labels = check_tokens(labels, m.shape[0], "labels")
        total = m.sum()
        accuracy = np.trace(m) / total if total else float("nan")
        with self.fig.batch_update():
            self.fig.data[0].update(z=m, x=np.arange(len(labels)), y=np.arange(len(labels)),
                                    text=np.vectorize(lambda v: f"{v:g}")(m),
                                    customdata=cell_labels(
                                        [f"true {label(c)}" for c in labels],
                                        [f"predicted {label(c)}" for c in labels]))
            self.fig.layout.xaxis.update(token_axis(labels, window=None))
            self.fig.layout.yaxis.update(token_axis(labels, reverse=True, window=None))
            self.fig.layout.height = int(min(900, max(420, 160 + 24 * len(labels))))
            self.fig.layout.title.text = f"Confusion matrix (accuracy {accuracy:.1%})"


class TagsView(View):
    """Token, true tag and predicted tag per row; mistakes are shaded red."""

    def __init__(self) -> None:
        table = go.Table(header={"values": ["token", "true", "predicted"]},
                         cells={"values": [[], [], []], "fill": {"color": "white"}})
        self.fig = FigureWidget(data=[table], layout={"title": {"text": "Tags"}})

    def update(self, tokens: Sequence[str], true_tags: Sequence[str],
               pred_tags: Sequence[str]) -> None:
        """Show the three columns; the title counts the mistakes."""
        tokens = [str(t) for t in tokens]
        true_tags = check_tokens(true_tags, len(tokens), "true_tags")
        pred_tags = check_tokens(pred_tags, len(tokens), "pred_tags")
        wrong = [t != p for t, p in zip(true_tags, pred_tags, strict=True)]
        fill = ["#f8c9c4" if w else "white" for w in wrong]
        with self.fig.batch_update():
            self.fig.data[0].cells.update(values=[[label(t) for t in column] for column in
                                                  (tokens, true_tags, pred_tags)],
                                          fill={"color": [fill, fill, fill]})
            self.fig.layout.title.text = f"Tags: {sum(wrong)} of {len(tokens)} wrong"


class GenerationView(View):
    """Generated tokens as bars of their probability, coloured and labelled by it; a long
    generation opens on its first ``TOKEN_WINDOW`` tokens with a slider to move along."""

    PLOT_PX = 280

    def __init__(self) -> None:
        bar = go.Bar(x=[], y=[], text=[], textposition="outside", texttemplate="%{y:.2f}",
                     hovertemplate="%{text}: %{y:.3f}<extra></extra>", marker={
                         "color": [], "colorscale": "Viridis", "cmin": 0, "cmax": 1})
        self.fig = FigureWidget(data=[bar], layout={
            "title": {"text": "Generated text"}, "xaxis": {"title": {"text": "token"}},
            "yaxis": {"title": {"text": "probability"}, "range": [0, 1.1]},
            **token_frame([], self.PLOT_PX, 70)})
        self.tokens: list[str] = []

    def update(self, tokens: Sequence[str], probs: np.ndarray, *, title: str | None = None):
        """Show each generated token with the probability the model gave it; ``title``
        is plain text (shown as typed: quotes stay quotes, ``<b>`` is not bold)."""
        p = as_float(probs, "probs", ndim=1)
        tokens = check_tokens(tokens, len(p))
        keep, self.tokens = tokens == self.tokens, tokens
        text = " ".join(tokens)
        title = title or "Generated: " + (text if len(text) <= 100 else text[:97] + "...")
        with self.fig.batch_update():
            self.fig.data[0].update(x=np.arange(len(p)), y=p, text=[label(t) for t in tokens])
            self.fig.data[0].marker.color = p
            self.fig.layout.update(token_frame(tokens, self.PLOT_PX, 70))
            self.fig.layout.xaxis.update(bottom_token_axis(tokens, "token", self.PLOT_PX,
                                                           keep_range=keep))
            self.fig.layout.title.text = label(title)
