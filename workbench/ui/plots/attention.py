"""Attention maps: a layer x head grid, one map, or means over heads or layers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .layout import (
    TOKEN_WINDOW,
    frame,
    grid_boxes,
    heat_hover,
    on_slot,
    place,
    positions,
    slot_layout,
    stack_rows,
    tick_room,
    token_axis,
)
from .widget import FigureWidget, View, check_tokens


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
