"""Training curves: loss, metric and tokens per second of up to 8 runs, resent only
where a run grew."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import plotly.graph_objects as go

from .layout import assign_slots, frame, label, on_slot, place, slot_layout, stack_rows
from .widget import PALETTE, FigureWidget, View, as_float


def curves_of(history: Sequence[dict]) -> dict[str, np.ndarray | str]:
    """A run's ``history`` as the arrays ``CurvesView.update`` takes: train and
    validation loss by step, tokens/s, and accuracy as the metric (NaN where absent)."""
    train = [r for r in history if r["kind"] == "train"]
    evals = [r for r in history if r["kind"] == "eval"]

    def column(records, key):
        return np.asarray([r.get(key, np.nan) for r in records], float)

    return {"train_step": column(train, "step"), "train_loss": column(train, "loss"),
            "train_metric": column(train, "accuracy"), "tokens_per_s": column(train,
                                                                             "tokens_per_s"),
            "val_step": column(evals, "step"), "val_loss": column(evals, "loss"),
            "val_metric": column(evals, "accuracy"), "metric_name": "accuracy"}


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
