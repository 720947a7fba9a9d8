"""PCA paths of hidden states along sentences (2-D or 3-D)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .layout import label
from .widget import PALETTE, FigureWidget, View, as_float, check_tokens


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
