"""Figures of a model's internals and its training: numpy in, FigureWidgets updated in place.

The plotting half of the workbench (with :mod:`workbench.ui.plots_model`, re-exported here;
these two are the only importers of plotly). Every view holds one ``FigureWidget`` in
``.fig`` created once with all its traces, and an ``update(...)`` that assigns whole
arrays inside ``fig.batch_update()``; see ``plots_model`` for the rules and the slot
layout. Inputs are numpy arrays and token strings, never JAX arrays.

- :class:`CurvesView`      loss / metric / tokens-per-second of up to 8 runs
- :class:`HiddenView`      hidden state, tokens x units, plus one unit's line
- :class:`GatesView`       LSTM ``i f g o c`` or GRU ``z r n`` heatmaps, plus one unit
- :class:`TrajectoryView`  PCA paths of hidden states along sentences (2-D or 3-D)
- :class:`AttentionView`   layer x head grid, one map, or means over heads / layers
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import plotly.graph_objects as go

from ..nn.gates import GATE_LABELS, GATES
from .plots_model import (
    DIVERGING,
    PALETTE,
    TOKEN_WINDOW,
    ConfusionView,
    FigureWidget,
    GenerationView,
    GradientFlowView,
    NeuronView,
    SaliencyView,
    TagsView,
    View,
    as_float,
    assign_slots,
    axis_keys,
    bottom_token_axis,
    check_tokens,
    export_html,
    export_png,
    frame,
    grid_boxes,
    heat_hover,
    label,
    on_slot,
    place,
    positions,
    saliency_html,
    slot_layout,
    stack_rows,
    tick_room,
    token_axis,
    token_frame,
)

__all__ = [
    "AttentionView", "ConfusionView", "CurvesView", "GatesView", "GenerationView",
    "GradientFlowView", "HiddenView", "NeuronView", "SaliencyView", "TagsView",
    "TrajectoryView", "downsample", "export_html", "export_png", "saliency_html",
]


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = 2000):
    """At most ``max_points`` of a curve: the first and last points, and in each of
    equal-width buckets between them the minimum and the maximum of ``y`` (NaNs are
    skipped), in their original order. Short curves come back unchanged."""
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got {x.shape} and {y.shape}")
    if len(y) <= max_points:
        return x, y
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    buckets = (max_points - 2) // 2
    edges = np.linspace(1, len(y) - 1, buckets + 1).astype(int)
    low, high = np.where(np.isnan(y), np.inf, y), np.where(np.isnan(y), -np.inf, y)
    keep = [0, len(y) - 1]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            keep += [a + int(np.argmin(low[a:b])), a + int(np.argmax(high[a:b]))]
    keep = np.unique(keep)
    return x[keep], y[keep]


class CurvesView(View):
    """Training curves of up to 8 runs, overlaid by name: loss, the task metric beside it
    when some run has one, and tokens/s per chunk in a thin strip below.

    Colour is the run, dash the split: train solid, validation dashed with markers, in
    both panels. The legend says so once: one entry per run (its colour; a click hides
    the run's curves) and a grey "train" and "validation" entry; the curves themselves
    have no legend entries (their names, "<run> train loss" ..., show on hover).

    Each run owns a fixed slot of 5 traces created in the constructor, so updates never
    add traces; a run keeps its slot and colour, unused slots are hidden; the legend's
    keys follow (``KEYS``: a key per run slot, then ``SPLITS``: train, validation).
    Without a metric the metric panel is hidden and the loss panel takes the whole
    width."""

    MAX_RUNS = 8
    SERIES = ("train loss", "val loss", "train metric", "val metric", "tokens/s")
    KEYS = MAX_RUNS * len(SERIES)  # index of the first run's legend key
    SPLITS = KEYS + MAX_RUNS  # index of the "train" key ("validation" follows)
    GREY = "#555"
    # loss/metric row and the tokens/s strip in pixels; the gap holds the loss panel's
    # tick labels and 'step' title and the strip's title
    (TOP, BOTTOM), PLOT_PX = stack_rows([280, 50], [90])

    def __init__(self, title: str = "Training curves") -> None:
        self.title = title
        traces = []
        for r in range(self.MAX_RUNS):
            for j, _ in enumerate(self.SERIES):
                traces.append(go.Scatter(
                    x=[], y=[], visible=False, showlegend=False, legendgroup=f"run{r}",
                    mode="lines" if j in (0, 2, 4) else "lines+markers",
                    line={"color": PALETTE[r], "dash": "dash" if j in (1, 3) else "solid",
                          "width": 1.5 if j == 4 else 2},
                    **on_slot((0, 0, 1, 1, 2)[j])))
        for r in range(self.MAX_RUNS):  # legend keys: no data, a coloured line each
            traces.append(go.Scatter(x=[None], y=[None], mode="lines", visible=False,
                                     legendgroup=f"run{r}", legendrank=100 + r,
                                     line={"color": PALETTE[r], "width": 4},
                                     hoverinfo="skip", **on_slot(0)))
        for k, (name, dash, mode) in enumerate((("train", "solid", "lines"),
                                                ("validation", "dash", "lines+markers"))):
            traces.append(go.Scatter(x=[None], y=[None], mode=mode, name=name, visible=False,
                                     legendgroup=name, legendrank=200 + k,
                                     line={"color": self.GREY, "dash": dash},
                                     marker={"color": self.GREY}, hoverinfo="skip",
                                     **on_slot(0)))
        layout = slot_layout(self._boxes(False), ["loss", "metric", "tokens/s per chunk"],
                             title={"text": title},
                             legend={"tracegroupgap": 4, "x": 1.02, "xanchor": "left",
                                     "y": 1, "yanchor": "top",
                                     "title": {"text": "colour: run"}},
                             **frame(self.PLOT_PX, 90, 40))
        for key, (xt, yt) in zip(("", "2", "3"), [("step", "loss"), ("step", "metric"),
                                                  ("", "")], strict=True):
            layout[f"xaxis{key}"]["title"] = {"text": xt}
            layout[f"yaxis{key}"]["title"] = {"text": yt}
        layout["yaxis3"].update(nticks=3, rangemode="tozero", tickfont={"size": 10})
        layout["xaxis3"].update(tickfont={"size": 10})
        self.fig = FigureWidget(data=traces, layout=layout)
        self._slots: dict[str, int] = {}
        self._drawn = None  # what the layout and the names were last set for
        self._sent: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # trace -> its (x, y)

    def colour(self, name: str) -> str | None:
        """The colour of run ``name`` (None when it has no slot)."""
        slot = self._slots.get(name)
        return None if slot is None else PALETTE[slot]

    def _boxes(self, metric: bool) -> list:
        """Loss, metric (None: hidden) and tokens/s boxes."""
        loss_x, metric_x = ((0, 0.47), (0.53, 1)) if metric else ((0, 1), None)
        return [(*loss_x, *self.TOP), (*metric_x, *self.TOP) if metric else None,
                (0, 1, *self.BOTTOM)]

    def update(self, runs: dict[str, dict], *, hidden: Collection[str] = ()) -> None:
        """Show ``runs``: name -> arrays ``train_step, train_loss, val_step, val_loss``,
        optionally ``train_metric, val_metric, metric_name, tokens_per_s`` (per chunk).
        Runs named in ``hidden`` keep their slot and colour but are not drawn."""
        self._slots = assign_slots(self._slots, list(runs), self.MAX_RUNS)
        used = {r: name for name, r in self._slots.items() if name not in hidden}
        metric = next((runs[n]["metric_name"] for n in used.values()
                       if runs[n].get("metric_name")), "metric")
        has_metric = any(len(runs[n].get(k, ())) > 0 for n in used.values()
                         for k in ("train_metric", "val_metric"))
        has_val = any(len(runs[n].get("val_loss", ())) > 0 for n in used.values())
        speeds = [f"{n} {float(np.asarray(runs[n]['tokens_per_s'])[-1]):,.0f}"
                  for n in used.values() if len(runs[n].get("tokens_per_s", ())) > 0]
        series = {r: self._series(name, runs[name]) for r, name in used.items()}
        key = (tuple(used.items()), metric, has_metric, has_val,
               tuple((r, tuple(len(y) > 0 for _, y in s)) for r, s in series.items()))
        title = self.title + ("<br><sup>tokens/s (last chunk): " + ", ".join(speeds)
                              + "</sup>" if speeds else "")
        with self.fig.batch_update():
            if key == self._drawn:  # a run grew: only its points (and the title) change
                for r, pairs in series.items():
                    self._points(r, pairs)
                self.fig.layout.title.text = title
                return
            self._drawn = None
            for r in range(self.MAX_RUNS):
                self._show_run(r, used.get(r), series.get(r), metric)
            train_key, val_key = self.fig.data[self.SPLITS:self.SPLITS + 2]
            train_key.visible, val_key.visible = bool(used), has_val
            for k, box in enumerate(self._boxes(has_metric)):
                place(self.fig, k, box, ("loss", metric, "tokens/s per chunk")[k])
            self.fig.layout.yaxis2.title.text = metric
            self.fig.layout.title.text = title
        self._drawn = key

    def _series(self, name: str, run: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (x, y) points of run ``name``'s 5 series, downsampled; an absent optional
        series is empty."""
        chunks = np.arange(1, len(run.get("tokens_per_s", ())) + 1)
        xs = ("train_step", "val_step", "train_step", "val_step", None)
        ys = ("train_loss", "val_loss", "train_metric", "val_metric", "tokens_per_s")
        out = []
        for xk, yk in zip(xs, ys, strict=True):
            y = as_float(run.get(yk, ()), yk, ndim=1)
            x = chunks if xk is None else np.asarray(run.get(xk, ()))
            x = x if len(y) else x[:0]
            if len(x) != len(y):
                raise ValueError(f"run {name!r}: {yk} has {len(y)} values, {xk} {len(x)}")
            out.append(downsample(x, y))
        return out

    def _points(self, r: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Set the points of run slot ``r``'s traces that changed since they were sent
        (plotly sends every assignment to the browser, and validates it in Python)."""
        for j, (x, y) in enumerate(pairs):
            k = r * len(self.SERIES) + j
            sent = self._sent.get(k)
            if sent is None or not (np.array_equal(sent[0], x) and np.array_equal(sent[1], y)):
                self.fig.data[k].update(x=x, y=y)
                self._sent[k] = (x, y)

    def _show_run(self, r: int, name: str | None, pairs: list | None, metric: str) -> None:
        """Fill (or hide, when ``name`` is None) the 5 traces and the key of run slot
        ``r``; they are named for the hover box: '<run> train loss', '<run> val
        <metric>' ..."""
        traces = self.fig.data[r * len(self.SERIES):(r + 1) * len(self.SERIES)]
        key = self.fig.data[self.KEYS + r]
        if name is None:
            for trace in (*traces, key):
                trace.visible = False
            return
        key.update(name=label(name), visible=True)
        for j, (trace, what, (_, y)) in enumerate(zip(traces, self.SERIES, pairs, strict=True)):
            self._sent.pop(r * len(self.SERIES) + j, None)
            trace.update(name=f"{label(name)} {what.replace('metric', metric)}",
                         visible=len(y) > 0)
        self._points(r, pairs)


def colorbar_beside(box) -> dict:
    """A colour bar to the right of the plot area, as tall as ``box``'s panel."""
    return {"y": (box[2] + box[3]) / 2, "yanchor": "middle", "len": box[3] - box[2],
            "lenmode": "fraction", "thickness": 14, "x": 1.01, "xanchor": "left"}


def unit_marker(k: int) -> dict:
    """A hidden outline on slot k's axes, moved onto the selected unit's row."""
    _, _, x, y = axis_keys(k)
    return {"type": "rect", "xref": x, "yref": y, "x0": 0, "x1": 0, "y0": 0, "y1": 0,
            "line": {"color": "black", "width": 1.5}, "visible": False}


class HiddenView(View):
    """Hidden states as a tokens x units heatmap, and the selected unit's line below.

    A text longer than ``TOKEN_WINDOW`` tokens opens on its first ones, one readable
    label each; both panels pan together, by dragging either or the range slider under
    the line (the heatmap keeps every token)."""

    def __init__(self) -> None:
        heat_box, self._line_box, plot_px = self.boxes(tick_room([]))
        heat = go.Heatmap(z=[[0.0]], colorscale=DIVERGING, zmid=0, **on_slot(0),
                          colorbar=colorbar_beside(heat_box))
        line = go.Scatter(x=[], y=[], mode="lines+markers", name="unit", **on_slot(1))
        layout = slot_layout([heat_box, self._line_box], title={"text": "Hidden state"},
                             showlegend=False, **token_frame([], plot_px, 70))
        for key, (xt, yt) in {"": ("token", "unit"), "2": ("token", "activation")}.items():
            layout[f"xaxis{key}"]["title"] = {"text": xt}
            layout[f"yaxis{key}"]["title"] = {"text": yt}
        layout["xaxis"]["matches"] = "x2"  # the heatmap pans with the line and its slider
        layout["shapes"] = [unit_marker(0)]
        self.fig = FigureWidget(data=[heat, line], layout=layout)
        self.hidden, self.tokens, self.unit = None, [], 0
        self._drawn = self._unit_drawn = None  # what the layout was last built for

    @staticmethod
    def boxes(room: float):
        """The heatmap's and the line's boxes and the plot-area height in pixels, when
        token labels take ``room`` pixels below each: the gap between the panels holds
        the heatmap's tokens, its 'token' title and the line panel's title."""
        (heat, line), plot_px = stack_rows([300, 140], [room + 75])
        return (0, 1, *heat), (0, 1, *line), plot_px

    def update(self, hidden: np.ndarray, tokens: Sequence[str], *, title: str | None = None):
        """Show ``hidden [T, H]`` (one row per token) and the selected unit's line."""
        self.hidden = as_float(hidden, "hidden", ndim=2)
        tokens = check_tokens(tokens, self.hidden.shape[0])
        key = (tuple(tokens), self.hidden.shape, title)
        if key == self._drawn:  # the probe while training: only the values change
            with self.fig.batch_update():
                self.fig.data[0].z = self.hidden.T
                self.fig.data[1].y = self.hidden[:, self.unit]
            return
        self._drawn = None
        keep, self.tokens = tokens == self.tokens, tokens  # same text: keep the user's pan
        T, H = self.hidden.shape
        self.unit = min(self.unit, H - 1)
        hover = heat_hover([f"unit {u}" for u in range(H)], positions(self.tokens),
                           ("unit", "token"))
        room = tick_room(self.tokens)
        heat_box, self._line_box, plot_px = self.boxes(room)
        with self.fig.batch_update():
            self.fig.data[0].update(z=self.hidden.T, x=np.arange(T), y=np.arange(H),
                                    colorbar=colorbar_beside(heat_box), **hover)
            place(self.fig, 0, heat_box)
            self.fig.layout.update(token_frame(self.tokens, plot_px, 70))
            self.fig.layout.xaxis.update(token_axis(self.tokens, "token", keep_range=keep))
            self.fig.layout.xaxis2.update(bottom_token_axis(self.tokens, "token", plot_px,
                                                            keep_range=keep))
            self.fig.layout.title.text = title or f"Hidden state ({T} tokens x {H} units)"
            self._draw_unit()
        self._drawn, self._unit_drawn = key, (key, self.unit)

    def select_unit(self, u: int) -> None:
        """Highlight unit ``u``'s row and draw its activation over the tokens."""
        if self.hidden is not None and not 0 <= u < self.hidden.shape[1]:
            raise ValueError(f"unit {u} out of range: there are {self.hidden.shape[1]} units")
        self.unit = int(u)
        if self._drawn is not None and self._unit_drawn == (self._drawn, self.unit):
            return  # drawn already (``update`` keeps the line's values current)
        with self.fig.batch_update():
            self._draw_unit()
        self._unit_drawn = (self._drawn, self.unit)

    def _draw_unit(self) -> None:
        if self.hidden is None:
            return
        T, u = self.hidden.shape[0], self.unit
        self.fig.data[1].update(x=np.arange(T), y=self.hidden[:, u], name=f"unit {u}",
                                customdata=positions(self.tokens),
                                hovertemplate="%{customdata}: %{y:.3f}<extra></extra>")
        self.fig.layout.shapes[0].update(x0=-0.5, x1=T - 0.5, y0=u - 0.5, y1=u + 0.5,
                                         visible=True)
        place(self.fig, 1, self._line_box, f"unit {u}")


class GatesView(View):
    """One heatmap per gate (tokens x units), stacked, each with its colour bar beside
    it, and the selected unit's gates as lines below them.

    The figure is made once with ``MAX_GATES`` (5, LSTM's ``i f g o c``) heatmap slots;
    an update with fewer gates (GRU's ``r z n``) hides the unused slots, retitles the rest
    with ``nn.gates.GATE_LABELS``, stacks them again and sets the figure's height to fit,
    so nothing is rebuilt. Long texts open on a window, as in :class:`HiddenView`: every
    panel pans with the unit's lines and the range slider under them."""

    MAX_GATES = 5
    SIGMOID = frozenset("ifozr")  # gates in [0, 1]; the others are centred at 0
    HEAT_PX, LINES_PX = 120, 180
    def __init__(self) -> None:
        heats = [go.Heatmap(z=[[0.0]], visible=False, **on_slot(k))
                 for k in range(self.MAX_GATES)]
        lines = [go.Scatter(x=[], y=[], mode="lines+markers", visible=False,
                            line={"color": PALETTE[k]}, **on_slot(self.MAX_GATES))
                 for k in range(self.MAX_GATES)]
        heat_boxes, line_box, plot_px = self.boxes(self.MAX_GATES, [])
        layout = slot_layout(heat_boxes + [line_box], title={"text": "Gates"},
                             legend={"title": {"text": "gate"}},
                             **token_frame([], plot_px, 70))
        last = f"x{self.MAX_GATES + 1}"
        for k in range(self.MAX_GATES):
            layout["yaxis" + (str(k + 1) if k else "")]["title"] = {"text": "unit"}
            layout["xaxis" + (str(k + 1) if k else "")]["matches"] = last
        last = str(self.MAX_GATES + 1)
        layout[f"xaxis{last}"]["title"] = {"text": "token"}
        layout[f"yaxis{last}"]["title"] = {"text": "activation"}
        layout["shapes"] = [unit_marker(k) for k in range(self.MAX_GATES)]
        self.fig = FigureWidget(data=heats + lines, layout=layout)
        self.gates: dict[str, np.ndarray] = {}
        self.tokens: list[str] = []
        self.unit = 0
        self._drawn = self._unit_drawn = None  # what the layout was last built for

    @classmethod
    def boxes(cls, n: int, tokens: Sequence[str]):
        """The boxes of ``n`` stacked heatmaps and of the line panel below them, and the
        plot-area height in pixels they need; each gap holds the tokens under a heatmap
        (in 10 px type) and the next panel's title."""
        gap = tick_room(tokens, font_px=10) + 35
        rows, plot_px = stack_rows([cls.HEAT_PX] * n + [cls.LINES_PX], [gap] * n)
        return [(0, 1, *row) for row in rows[:-1]], (0, 1, *rows[-1]), plot_px

    def update(self, gates: dict[str, np.ndarray], tokens: Sequence[str]) -> None:
        """Show each gate's ``[T, H]`` activations over ``tokens``, in the cell's own order
        (LSTM ``i f g o c``, GRU ``r z n``; other names after them, as given)."""
        if not 0 < len(gates) <= self.MAX_GATES:
            raise ValueError(f"need 1 to {self.MAX_GATES} gates, got {list(gates)}")
        order = [*GATES["lstm"], *GATES["gru"]]
        names = sorted(gates, key=lambda n: order.index(n) if n in order else len(order))
        self.gates = {name: as_float(gates[name], f"gates[{name!r}]", ndim=2) for name in names}
        T, H = next(iter(self.gates.values())).shape
        tokens = check_tokens(tokens, T)
        key = (tuple(tokens), tuple(self.gates), (T, H))
        if key == self._drawn:  # the probe while training: only the values change
            with self.fig.batch_update():
                for k, g in enumerate(self.gates.values()):
                    self.fig.data[k].z = g.T
                    self.fig.data[self.MAX_GATES + k].y = g[:, self.unit]
            return
        self._drawn = None
        keep, self.tokens = tokens == self.tokens, tokens  # same text: keep the user's pan
        self.unit = min(self.unit, H - 1)
        heat_boxes, _, plot_px = self.boxes(len(gates), self.tokens)
        names = list(self.gates)
        hover = heat_hover([f"unit {u}" for u in range(H)], positions(self.tokens),
                           ("unit", "token"), len(gates))
        with self.fig.batch_update():
            for k in range(self.MAX_GATES):
                name = names[k] if k < len(names) else None
                self._show_gate(k, name, heat_boxes[k] if name else None, hover, keep)
            self.fig.layout[f"xaxis{self.MAX_GATES + 1}"].update(
                bottom_token_axis(self.tokens, "token", plot_px, keep_range=keep))
            self.fig.layout.update(token_frame(self.tokens, plot_px, 70))
            self._draw_unit()
        self._drawn, self._unit_drawn = key, (key, self.unit)

    def _show_gate(self, k: int, name: str | None, box, hover: dict, keep: bool) -> None:
        heat = self.fig.data[k]
        place(self.fig, k, box, f"{name}: {GATE_LABELS.get(name, name)}" if name else "")
        if name is None:
            heat.visible = False
            return
        z = self.gates[name].T
        scale = ({"colorscale": "Viridis", "zauto": False, "zmin": 0, "zmax": 1, "zmid": None}
                 if name in self.SIGMOID else
                 {"colorscale": DIVERGING, "zauto": True, "zmin": None, "zmax": None, "zmid": 0})
        heat.update(z=z, x=np.arange(z.shape[1]), y=np.arange(z.shape[0]), visible=True,
                    colorbar=colorbar_beside(box), **hover, **scale)
        self.fig.layout["xaxis" + (str(k + 1) if k else "")].update(
            token_axis(self.tokens, keep_range=keep), tickfont={"size": 10})

    def select_unit(self, u: int) -> None:
        """Draw unit ``u``'s activation in every gate over the tokens."""
        if self.gates and not 0 <= u < next(iter(self.gates.values())).shape[1]:
            raise ValueError(f"unit {u} out of range for gates of shape "
                             f"{next(iter(self.gates.values())).shape}")
        self.unit = int(u)
        if self._drawn is not None and self._unit_drawn == (self._drawn, self.unit):
            return  # drawn already (``update`` keeps the lines' values current)
        with self.fig.batch_update():
            self._draw_unit()
        self._unit_drawn = (self._drawn, self.unit)

    def _draw_unit(self) -> None:
        names = list(self.gates)
        for k, line in enumerate(self.fig.data[self.MAX_GATES:]):
            if k >= len(names):
                line.visible = False
                continue
            y = self.gates[names[k]][:, self.unit]
            line.update(x=np.arange(len(y)), y=y, name=names[k], visible=True,
                        customdata=positions(self.tokens),
                        hovertemplate=f"{names[k]}, %{{customdata}}: %{{y:.3f}}<extra></extra>")
        for k, shape in enumerate(self.fig.layout.shapes):
            shape.update(x0=-0.5, x1=len(self.tokens) - 0.5, y0=self.unit - 0.5,
                         y1=self.unit + 0.5, visible=k < len(names))
        _, line_box, _ = self.boxes(max(1, len(names)), self.tokens)
        place(self.fig, self.MAX_GATES, line_box, f"unit {self.unit} in every gate")
        self.fig.layout.legend.update(y=line_box[3], yanchor="top", x=1.01, xanchor="left")


class TrajectoryView(View):
    """Paths of hidden states through PCA space, one per sentence, tokens as labels; each
    path's first token is a larger diamond, so its direction can be read."""

    MAX_PATHS = 8
    TITLE = ("Hidden-state trajectories (PCA){more}<br><sup>one path per sentence; "
             "the diamond is its first token</sup>")

    def __init__(self, *, dims: int = 2) -> None:
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        self.dims = dims
        kind, extra = (go.Scatter, {}) if dims == 2 else (go.Scatter3d, {"z": []})
        paths = [kind(x=[], y=[], **extra, mode="lines+markers+text", textposition="top center",
                      visible=False, line={"color": PALETTE[k]}, textfont={"size": 10},
                      marker={"color": PALETTE[k]},
                      hovertemplate="%{text} (position %{customdata})")
                 for k in range(self.MAX_PATHS)]
        titles = {f"{a}axis": {"title": {"text": f"PC{i + 1}"}} for i, a in enumerate("xyz")}
        layout = {"title": {"text": self.TITLE.format(more="")}, "height": 600,
                  "margin": {"t": 80}}
        if dims == 2:
            layout.update(xaxis=titles["xaxis"], yaxis=titles["yaxis"])
        else:
            titles["camera"] = {"eye": {"x": 1.6, "y": 1.6, "z": 1.0}}  # all of the box
            layout.update(scene=titles, margin={"t": 80, "l": 0, "r": 0, "b": 0})
        self.fig = FigureWidget(data=paths, layout=layout)

    def update(self, paths: Sequence[np.ndarray], tokens: Sequence[Sequence[str]],
               names: Sequence[str] | None = None) -> None:
        """Show ``paths[i] [T_i, k >= dims]`` labelled with ``tokens[i]``; the first
        ``MAX_PATHS`` are drawn and the title says when some are left out."""
        names = list(names) if names is not None else [f"sentence {i + 1}"
                                                       for i in range(len(paths))]
        if not len(paths) == len(tokens) == len(names):
            raise ValueError(f"got {len(paths)} paths, {len(tokens)} token lists, "
                             f"{len(names)} names")
        with self.fig.batch_update():
            for k, trace in enumerate(self.fig.data):
                if k >= len(paths):
                    trace.visible = False
                    continue
                self._draw(trace, as_float(paths[k], f"paths[{k}]", ndim=2),
                           check_tokens(tokens[k], len(paths[k]), f"tokens[{k}]"), names[k])
            left = len(paths) - self.MAX_PATHS
            self.fig.layout.title.text = self.TITLE.format(
                more=f" (first {self.MAX_PATHS} of {len(paths)})" if left > 0 else "")

    def _draw(self, trace, p: np.ndarray, tokens: list[str], name: str) -> None:
        if p.shape[1] < self.dims:
            raise ValueError(f"path {name!r} has {p.shape[1]} components, need {self.dims}")
        small, first = (6, 14) if self.dims == 2 else (7, 12)
        coords = dict(zip("xyz", p[:, :self.dims].T, strict=False))
        trace.update(**coords, text=[label(t) for t in tokens], name=label(name),
                     customdata=np.arange(len(p)), visible=True,
                     marker={"symbol": ["diamond"] + ["circle"] * (len(p) - 1),
                             "size": [first] + [small] * (len(p) - 1)})


def attention_maps(weights: np.ndarray, layer=None, head=None):
    """The maps to draw from ``weights [L, N, Tq, Tk]`` and a title for each, plus the grid
    shape. ``layer``/``head``: an index, ``None`` (the first 4) or ``'mean'``."""
    picks = []
    for which, n, word in ((layer, weights.shape[0], "layer"), (head, weights.shape[1], "head")):
        if which is None:
            picks.append(list(range(min(n, AttentionView.MAX_GRID))))
        elif which == "mean":
            picks.append(["mean"])
        elif isinstance(which, int | np.integer) and 0 <= which < n:
            picks.append([int(which)])
        else:
            raise ValueError(f"{word}={which!r}: use None, 'mean' or 0..{n - 1}")
    maps, titles = [], []
    for lyr in picks[0]:
        per_layer = weights.mean(0) if lyr == "mean" else weights[lyr]
        for hd in picks[1]:
            maps.append(per_layer.mean(0) if hd == "mean" else per_layer[hd])
            titles.append(("mean of layers" if lyr == "mean" else f"layer {lyr}") + ", " +
                          ("mean of heads" if hd == "mean" else f"head {hd}"))
    return maps, titles, (len(picks[0]), len(picks[1]))


class AttentionView(View):
    """Attention maps (rows: queries / target tokens, columns: keys / source tokens).

    ``update`` draws a layer x head grid capped at the first ``MAX_GRID`` (4) layers and
    heads, or one layer's heads, one head across layers, one (layer, head) map, or means
    (``head='mean'`` / ``layer='mean'``). 16 heatmap slots share one colour axis; every
    map has one cell per (query, key) position, tokens label the positions (repeated
    tokens keep their own rows and columns) and the figure grows with the rows. Past
    ``TOKEN_WINDOW`` queries or keys every map opens on the first ones, readable, and
    all maps pan together (drag any of them; the title says so)."""

    MAX_GRID = 4
    def __init__(self) -> None:
        n = self.MAX_GRID ** 2
        heats = [go.Heatmap(z=[[0.0]], coloraxis="coloraxis", visible=False, **on_slot(k))
                 for k in range(n)]
        boxes, plot_px = self.boxes(1, 1, [])
        layout = slot_layout(boxes + [None] * (n - 1), title={"text": "Attention"},
                             **frame(plot_px, 80, tick_room([]) + 45),
                             coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": 1,
                                        "colorbar": {"title": {"text": "weight"}}})
        for k in range(1, n):  # every map shows the same positions: they pan together
            layout[f"xaxis{k + 1}"]["matches"] = "x"
            layout[f"yaxis{k + 1}"]["matches"] = "y"
        self.fig = FigureWidget(data=heats, layout=layout)
        self._tokens: tuple[list[str], list[str]] = ([], [])
        self._drawn = None  # what the layout was last built for

    ROW_PX = 15  # pixels per query row that its label needs

    @classmethod
    def boxes(cls, rows: int, cols: int, keys: Sequence[str], queries: Sequence[str] = ()):
        """Row-major boxes of a rows x cols grid of maps, and the plot-area height in
        pixels: one map is 460 px high (taller for a long text: ``ROW_PX`` for each of
        its first ``TOKEN_WINDOW`` queries), a grid's are smaller, never below 200 px;
        the gap between rows holds the key tokens and the next row's titles."""
        row_px = {1: max(460, cls.ROW_PX * min(len(queries), TOKEN_WINDOW)),
                  2: 300}.get(rows, 200)
        ys, plot_px = stack_rows([row_px] * rows, [tick_room(keys) + 35] * (rows - 1))
        xs = [box[:2] for box in grid_boxes(1, cols, hgap=0.03)]
        return [(*x, *y) for y in ys for x in xs], plot_px

    @classmethod
    def query_window(cls, rows: int, queries: Sequence[str]) -> int:
        """How many query rows a map of a ``rows``-row grid shows at once, each readable."""
        _, plot_px = cls.boxes(rows, 1, [], queries)
        return max(8, min(TOKEN_WINDOW, int(plot_px / rows // cls.ROW_PX)))

    def update(self, weights: np.ndarray, query_tokens: Sequence[str],
               key_tokens: Sequence[str], *, layer=None, head=None, title: str | None = None,
               query_label: str = "query", key_label: str = "key") -> None:
        """Show ``weights [L, N, Tq, Tk]`` (``[N, Tq, Tk]`` and ``[Tq, Tk]`` also work);
        for cross-attention pass target tokens as queries and source tokens as keys."""
        w = np.asarray(weights, dtype=float)
        w = w.reshape((1,) * max(0, 4 - w.ndim) + w.shape)
        if w.ndim != 4:
            raise ValueError(f"weights must be [L, N, Tq, Tk], got shape {w.shape}")
        queries = check_tokens(query_tokens, w.shape[2], "query_tokens")
        keys = check_tokens(key_tokens, w.shape[3], "key_tokens")
        maps, titles, (rows, cols) = attention_maps(w, layer, head)
        top = max(float(np.max(m)) for m in maps)
        key = (tuple(queries), tuple(keys), w.shape, layer, head, title, query_label,
               key_label)
        if key == self._drawn:  # the probe while training: only the values change
            with self.fig.batch_update():
                for heat, m in zip(self.fig.data, maps, strict=False):
                    heat.z = m
                self.fig.layout.coloraxis.cmax = top if top > 0 else 1.0
            return
        self._drawn = None
        keep, self._tokens = (queries, keys) == self._tokens, (queries, keys)
        boxes, plot_px = self.boxes(rows, cols, keys, queries)
        q_window = self.query_window(rows, queries)
        hover = heat_hover(positions(queries, query_label), positions(keys, key_label),
                           (query_label, key_label), len(maps))
        with self.fig.batch_update():
            for k, heat in enumerate(self.fig.data):
                shown = k < len(maps)
                place(self.fig, k, boxes[k] if shown else None, titles[k] if shown else "")
                heat.visible = shown
                if shown:
                    heat.update(z=maps[k], x=np.arange(len(keys)), y=np.arange(len(queries)),
                                **hover)
                    self._axes(k, queries, keys, (k >= len(maps) - cols, k % cols == 0),
                               (query_label, key_label), keep, q_window)
            self.fig.layout.coloraxis.cmax = top if top > 0 else 1.0
            hint = self.hint(len(queries), q_window, len(keys), (query_label, key_label))
            self.fig.layout.title.text = (title or "Attention") + (
                f"<br><sup>{hint}</sup>" if hint else "")
            self.fig.layout.update(frame(plot_px, 80, tick_room(keys) + 45),
                                   dragmode="pan" if hint else "zoom")
        self._drawn = key

    @staticmethod
    def hint(n_queries: int, shown: int, n_keys: int, labels) -> str:
        """What part of a long map shows, and how to move it ('' when it all shows)."""
        parts = [f"{min(n, w)} of {n} {word} positions" for n, w, word in
                 ((n_queries, shown, labels[0]), (n_keys, TOKEN_WINDOW, labels[1])) if n > w]
        return " and ".join(parts) + " shown: drag a map to move along" if parts else ""

    def _axes(self, k: int, queries, keys, edges, labels, keep: bool, shown: int) -> None:
        """Label slot k's axes with the tokens; axis titles only on the bottom row and
        the left column, query tokens only on the left column (the rows share them)."""
        s = str(k + 1) if k else ""
        self.fig.layout[f"xaxis{s}"].update(
            token_axis(keys, labels[1] if edges[0] else "", keep_range=keep))
        self.fig.layout[f"yaxis{s}"].update(
            token_axis(queries, labels[0] if edges[1] else "", reverse=True, window=shown,
                       keep_range=keep), showticklabels=edges[1])
