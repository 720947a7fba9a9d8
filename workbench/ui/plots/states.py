"""The hidden state and the gates of a probe sentence: tokens x units heatmaps plus
one unit's line, redrawn in place while a model trains."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ...nn.gates import GATE_LABELS, GATES
from .layout import (
    axis_keys,
    bottom_token_axis,
    heat_hover,
    on_slot,
    place,
    positions,
    slot_layout,
    stack_rows,
    tick_room,
    token_axis,
    token_frame,
)
from .widget import DIVERGING, PALETTE, FigureWidget, View, as_float, check_tokens


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
        order = [n for names in GATES.values() for n in names]
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
