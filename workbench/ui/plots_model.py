"""The plumbing every workbench figure shares, and the figures of what a model outputs.

Import views from :mod:`workbench.ui.plots`, which re-exports this module. The rules, for
every view here and there:

- numpy arrays and token strings in (``np.asarray`` is applied defensively; this module
  never imports jax);
- one :class:`FigureWidget` (plotly's, importing its bundle once per page) per view in
  ``.fig``, built ONCE with all its traces passed to the constructor (placeholder
  data), so it renders after a browser reload and in Voila;
- ``update(...)`` assigns whole arrays inside ``with self.fig.batch_update():``; the
  figure is never rebuilt, and repeated updates never add traces;
- ``export_html`` writes standalone offline HTML (plotly.js embedded, no CDN).

Subplots are laid out by hand: slot ``k`` owns the axes ``xaxis{k+1}``/``yaxis{k+1}`` and
the title annotation ``layout.annotations[k]``, so views can move, hide and retitle
slots in place (:func:`place`) when the number of panels depends on the data. Panels are
stacked in pixels (:func:`stack_rows`, :func:`frame`), leaving room under each for its
token labels (:func:`tick_room`), so titles, ticks and panels never overlap; a hidden slot
is parked in :data:`HIDDEN_BOX`. Token axes are numeric positions labelled with the tokens
(:func:`token_axis`), so repeated tokens keep their own cells; past :data:`TOKEN_WINDOW`
tokens they open on a window of readable labels that the user pans (drag, or the range
slider under the bottom axis: :func:`token_frame`, :func:`bottom_token_axis`), and a
redraw of the same tokens keeps the pan. Figures have no width: they fill their output
(see :class:`FigureWidget`).
"""

from __future__ import annotations

import copy
import hashlib
import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import traitlets

DIVERGING = "RdBu_r"  # red positive, blue negative; always centred at 0
PALETTE = plotly.colors.qualitative.Plotly  # 10 colours; one per run / path slot
Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in paper coordinates


# The front end of FigureWidget below: imports plotly's bundle (sent as ``_plotly_esm``)
# once per page and shares the module; each figure still gets its own plotly widget.
# `initialize` returns at once (anywidget waits at most 2 s for it) and plotly's own
# initialize runs when the bundle is there; `render` waits for that.
SHARED_BUNDLE_ESM = """
const KEY = Symbol.for("workbench.plotly-bundle.%s");
function bundle(model) {
  globalThis[KEY] ??= (async () => {
    const url = URL.createObjectURL(new Blob([model.get("_plotly_esm")],
                                             {type: "text/javascript"}));
    try { return await import(url); } finally { URL.revokeObjectURL(url); }
  })().catch((err) => { delete globalThis[KEY]; throw err; });
  return globalThis[KEY];
}
export default () => {
  let plotly = null;
  return {
    initialize(ctx) {
      plotly = bundle(ctx.model).then(async (mod) => {
        const inner = typeof mod.default === "function" ? await mod.default() : mod.default;
        await inner.initialize?.(ctx);
        return inner;
      });
      plotly.catch((err) => console.error("[workbench] plotly did not load:", err));
    },
    async render(ctx) {
      const cleanup = await (await plotly).render(ctx);
      // full width: plotly.js sizes a figure once, from its element's width then (700 px
      // when hidden, as in a closed tab) and later only on window resizes; this follows
      // the element's own width (a tab opened, a sidebar closed) through the figure's
      // responsive handler (config.responsive, set by FigureWidget)
      ctx.el.style.width = "100%%";
      let last = -1;
      const observer = new ResizeObserver((entries) => {
        const width = Math.round(entries[entries.length - 1].contentRect.width);
        if (width > 0 && width !== last) {
          last = width;
          requestAnimationFrame(() => ctx.el._responsiveChartHandler?.());
        }
      });
      observer.observe(ctx.el);
      return () => { observer.disconnect(); if (typeof cleanup === "function") cleanup(); };
    },
  };
};
"""
_PLOTLY_BUNDLE = str(go.FigureWidget._esm)


class FigureWidget(go.FigureWidget):
    """plotly's ``FigureWidget``, made to work when a page opens many figures at once
    (Voila's page, a reloaded tab) and when it opens after the figures changed.

    - anywidget (0.11) gives each widget model 2 s to import and initialize its ES module,
      and drops every later message to a model that misses it ("[anywidget] Failed to
      initialize model." in the browser console). plotly's module is all of plotly.js
      (5 MB), imported from a new blob URL per figure, so Voila opening the quickstart (16
      figures) on 2 busy CPU cores missed it and its charts never changed. Here ``_esm``
      is a small loader (``SHARED_BUNDLE_ESM``) that initializes at once and imports the
      bundle (``_plotly_esm``) once per page.
    - ``get_state`` sends the figure as it is now (see there).
    - Full width: no layout sets a width; ``autosize`` and plotly.js's ``responsive``
      config are on, and the loader resizes the figure whenever its element's width
      changes (a figure drawn in a closed tab was stuck at plotly's default 700 px).

    The first two were found by ``tests/test_browser.py``."""

    _esm = SHARED_BUNDLE_ESM % hashlib.sha256(_PLOTLY_BUNDLE.encode()).hexdigest()[:16]
    _plotly_esm = traitlets.Unicode(_PLOTLY_BUNDLE).tag(sync=True)

    def __init__(self, data=None, layout=None, **kwargs):
        if isinstance(layout, dict):
            if "width" in layout:
                raise ValueError("workbench figures fill their output's width: no 'width'")
            layout = {"autosize": True, **layout}
        super().__init__(data=data, layout=layout, **kwargs)
        self._config = {**self._config, "responsive": True, "displaylogo": False}

    def get_state(self, key=None, drop_defaults=False):
        """The widget's state, with the figure as it is now. plotly refreshes its
        ``_widget_data`` / ``_widget_layout`` traits only when the figure is displayed and
        sends later changes to the open views as messages; a view opened afterwards (Voila's
        page, a reloaded browser tab) is built from this state, so without this it would
        show the figure as it was displayed (the quickstart's loss curve: empty)."""
        state = super().get_state(key, drop_defaults)
        wanted = self.keys if key is None else [key] if isinstance(key, str) else list(key)
        layout = getattr(self, "_layout_obj", None)  # (None while plotly's __init__ runs)
        current = {"_widget_data": getattr(self, "_data", None),
                   "_widget_layout": None if layout is None else layout._props}
        for name, value in current.items():
            if name not in wanted or value is None:
                continue
            try:
                value = copy.deepcopy(value)
            except RuntimeError:  # changed by the training thread mid-copy: keep plotly's
                continue
            state[name] = self.trait_metadata(name, "to_json", self._trait_to_json)(value, self)
        return state


class View:
    """Base of every view: one FigureWidget in ``.fig``; showing the view shows it."""

    fig: FigureWidget

    def _repr_mimebundle_(self, **kwargs):
        return self.fig._repr_mimebundle_(**kwargs)


def as_float(x, name: str = "array", ndim: int | None = None) -> np.ndarray:
    """``x`` as a float numpy array, checking its number of dimensions."""
    a = np.asarray(x, dtype=float)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return a


def check_tokens(tokens: Sequence, n: int, name: str = "tokens") -> list[str]:
    """Tokens as strings, checking there is one per position."""
    tokens = [str(t) for t in tokens]
    if len(tokens) != n:
        raise ValueError(f"{name} has {len(tokens)} entries but the data has {n} positions")
    return tokens


def axis_keys(k: int) -> tuple[str, str, str, str]:
    """Slot k's layout keys and trace references: ('xaxis2', 'yaxis2', 'x2', 'y2')."""
    s = "" if k == 0 else str(k + 1)
    return f"xaxis{s}", f"yaxis{s}", f"x{s}", f"y{s}"


def on_slot(k: int) -> dict:
    """Trace keyword arguments that draw a trace on slot k's axes."""
    _, _, x, y = axis_keys(k)
    return {"xaxis": x, "yaxis": y}


def grid_boxes(rows: int, cols: int, *, bottom: float = 0.0, top: float = 1.0,
               hgap: float = 0.06, vgap: float = 0.08) -> list[Box]:
    """Row-major boxes (row 0 at the top) of a rows x cols grid between bottom and top."""
    w = (1.0 - hgap * (cols - 1)) / cols
    h = (top - bottom - vgap * (rows - 1)) / rows
    boxes = [(c * (w + hgap), c * (w + hgap) + w, top - r * (h + vgap) - h, top - r * (h + vgap))
             for r in range(rows) for c in range(cols)]
    return [tuple(float(np.clip(round(v, 6), 0.0, 1.0)) for v in box) for box in boxes]


HIDDEN_BOX: Box = (0.999, 1.0, 0.999, 1.0)
"""Where a hidden slot's axes go: plotly still draws the plot-area background (and a drag
layer that steals hover) of hidden axes, on top of any earlier slot they overlap, so a
hidden slot must not keep its old, large domain."""


def slot_layout(boxes: Sequence[Box | None], titles: Sequence[str] = (), **layout) -> dict:
    """A layout with one pair of axes and one title annotation per box; a ``None`` box is
    a hidden slot (see :data:`HIDDEN_BOX`)."""
    out = dict(layout, annotations=[])
    titles = list(titles) + [""] * (len(boxes) - len(titles))
    for k, (box, title) in enumerate(zip(boxes, titles, strict=True)):
        xk, yk, x, y = axis_keys(k)
        shown = box is not None
        box = box if shown else HIDDEN_BOX
        out[xk] = {"anchor": y, "domain": box[:2], "visible": shown}
        out[yk] = {"anchor": x, "domain": box[2:], "visible": shown}
        out["annotations"].append({
            "text": title if shown else "", "x": (box[0] + box[1]) / 2, "y": box[3],
            "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
            "showarrow": False, "visible": shown})
    return out


def place(fig: go.FigureWidget, k: int, box: Box | None, title: str = "") -> None:
    """Move slot k to ``box`` and title it; ``None`` hides its axes and title and parks
    them in :data:`HIDDEN_BOX`."""
    xk, yk, _, _ = axis_keys(k)
    xa, ya, note = fig.layout[xk], fig.layout[yk], fig.layout.annotations[k]
    shown = box is not None  # (read back inside batch_update, xa.visible is stale)
    xa.visible = ya.visible = note.visible = shown
    box = box if shown else HIDDEN_BOX
    xa.domain, ya.domain = box[:2], box[2:]
    note.update(text=title if shown else "", x=(box[0] + box[1]) / 2, y=box[3])


def stack_rows(rows_px: Sequence[float], gaps_px: Sequence[float]
               ) -> tuple[list[tuple[float, float]], float]:
    """Vertical domains (top row first) of rows ``rows_px`` pixels high with ``gaps_px``
    pixels between them, and the plot-area height in pixels they need: the figure's
    height is that plus its top and bottom margins."""
    if len(gaps_px) != max(0, len(rows_px) - 1):
        raise ValueError(f"need {len(rows_px) - 1} gaps, got {len(gaps_px)}")
    total = float(sum(rows_px) + sum(gaps_px))
    out, top = [], total
    for h, gap in zip(rows_px, [0.0, *gaps_px], strict=True):
        top -= gap
        out.append((round((top - h) / total, 6), round(top / total, 6)))
        top -= h
    return out, total


def frame(plot_px: float, top: float, bottom: float, *, extra: float = 0) -> dict:
    """Layout settings for a plot area ``plot_px`` pixels high between a ``top`` and a
    ``bottom`` margin (pass to the layout, or to ``fig.layout.update`` to resize);
    ``extra``: pixels plotly will add to the bottom margin itself (a range slider's
    :func:`slider_room`), so the plot area keeps its height."""
    return {"margin": {"t": top, "b": bottom},
            "height": int(round(plot_px + top + bottom + extra))}


MAX_TICK_CHARS = 12  # longer tokens are cut short under an axis (hover shows them whole)
TOKEN_WINDOW = 40  # a token axis shows at most this many positions at once; pan for the rest
SLIDER_PX = 34  # a range slider's height under a windowed token axis


def tick_room(tokens: Sequence[str], font_px: float = 12, width_px: float = 700) -> int:
    """Pixels that token tick labels take under their axis: one line when the shown ones
    (at most ``TOKEN_WINDOW``) fit side by side in ``width_px``, else the longest label's
    length, as plotly turns crowded labels up to 90 degrees. Layouts leave this much
    room below a panel of tokens."""
    longest = max((len(short(t)) for t in tokens), default=1)
    char_px = 0.6 * font_px
    if min(len(tokens), TOKEN_WINDOW) * (longest * char_px + 8) <= width_px:
        return int(font_px + 10)
    return int(longest * char_px + 14)


VISIBLE_SPACE = str.maketrans({" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5"})


def short(token) -> str:
    """A token cut to ``MAX_TICK_CHARS`` characters for a tick label; a token of white
    space shows it (a character-level text's spaces and newlines: ``␣ ↵ ⇥``)."""
    token = str(token)
    if token and not token.strip():
        token = token.translate(VISIBLE_SPACE)
    return token if len(token) <= MAX_TICK_CHARS else token[:MAX_TICK_CHARS - 1] + "\u2026"


def label(token) -> str:
    """A token as text plotly shows literally: its pseudo-HTML would otherwise render
    ``<b>`` as bold and drop ``<br>`` (IMDB text has ``<br />`` tokens). Only ``& < >``
    are escaped: plotly.js does not know ``&quot;``, and would show it as is."""
    return html.escape(str(token), quote=False)


def windowed(tokens: Sequence) -> bool:
    """Whether a token axis over ``tokens`` opens on a window (more than ``TOKEN_WINDOW``)."""
    return len(tokens) > TOKEN_WINDOW


def token_axis(tokens: Sequence[str], title: str | None = None, *, reverse: bool = False,
               window: int | None = TOKEN_WINDOW, keep_range: bool = False) -> dict:
    """Axis settings labelling positions 0..T-1 with tokens: a numeric axis with one tick
    per position, so repeated tokens keep their own cells (a categorical axis would merge
    them); ``reverse`` puts position 0 at the top of a y axis.

    Past ``window`` tokens (None: never) the axis opens on the first ``window`` positions,
    one readable label each, and the rest is a pan away (the data stays whole; panning
    stops at the ends). ``keep_range`` leaves the range alone: a view redrawing the same
    tokens keeps where the user panned to."""
    n = len(tokens)
    out = {"type": "linear", "tickmode": "array", "tickvals": np.arange(n),
           "ticktext": [label(short(t)) for t in tokens], "automargin": True,
           "minallowed": -0.5, "maxallowed": max(n, 1) - 0.5}
    if not keep_range:
        span = [-0.5, (n if window is None else min(n, window)) - 0.5]
        out.update(autorange=False, range=span[::-1] if reverse else span)
    if title is not None:
        out["title"] = {"text": title}
    return out


def window_title(title: str, tokens: Sequence, how: str = "the plot or the slider") -> str:
    """``title`` saying, when the axis shows a window of ``tokens``, how many and how to
    move it."""
    if not windowed(tokens) or not title:
        return title
    return f"{title} ({TOKEN_WINDOW} of {len(tokens)} shown: drag {how} to move along)"


def slider(tokens: Sequence, plot_px: float, room: float) -> dict:
    """A bottom token axis's range slider (shown only when the axis is windowed): the
    whole sequence in miniature with the shown window, ``SLIDER_PX`` high in a plot area
    ``plot_px`` high whose bottom axis has ``room`` pixels of tick labels. plotly adds
    the slider, the labels and a 15 px pad to the bottom margin itself; :func:`frame`
    with ``extra=slider_room(...)`` makes the figure that much taller."""
    if not windowed(tokens):
        return {"visible": False}
    total = plot_px + slider_room(tokens, room)
    return {"visible": True, "thickness": round(SLIDER_PX / total, 4), "autorange": False,
            "range": [-0.5, len(tokens) - 0.5], "bgcolor": "#f4f4f4"}


def slider_room(tokens: Sequence, room: float) -> float:
    """The pixels plotly adds under a windowed axis for its slider (0 when not windowed)."""
    return SLIDER_PX + room + 15 if windowed(tokens) else 0


def drag(tokens: Sequence) -> dict:
    """Dragging pans a windowed figure (it zooms otherwise, plotly's default)."""
    return {"dragmode": "pan" if windowed(tokens) else "zoom"}


def token_frame(tokens: Sequence, plot_px: float, top: float, *, font_px: float = 12,
                below: float = 45) -> dict:
    """Height, margins and drag mode of a figure with a plot area ``plot_px`` high whose
    bottom axis is a token axis over ``tokens``: room for its labels (in ``font_px``
    type) and, ``below`` them, its title; a windowed axis's range slider goes between
    the two (plotly adds the labels' and the slider's room to the margin itself)."""
    room = tick_room(tokens, font_px)
    if windowed(tokens):
        return {**frame(plot_px, top, below, extra=slider_room(tokens, room)), **drag(tokens)}
    return {**frame(plot_px, top, room + below), **drag(tokens)}


def bottom_token_axis(tokens: Sequence[str], title: str | None, plot_px: float, *,
                      font_px: float = 12, keep_range: bool = False) -> dict:
    """:func:`token_axis` for the bottom axis of a :func:`token_frame` figure, with its
    range slider when windowed."""
    return {**token_axis(tokens, None if title is None else window_title(title, tokens),
                         keep_range=keep_range),
            "rangeslider": slider(tokens, plot_px, tick_room(tokens, font_px))}


def cell_labels(row_labels: Sequence[str], col_labels: Sequence[str]) -> np.ndarray:
    """``[rows, cols]`` hover labels ``"row, col"`` for a heatmap's ``customdata``: its
    axes are positions, so the tokens reach the hover box through these."""
    return np.array([[f"{r}, {c}" for c in col_labels] for r in row_labels], dtype=object)


HOVER_CELLS = 20_000  # more heatmap cells than this in a figure: hover shows positions


def heat_hover(rows: Sequence[str], cols: Sequence[str], words: tuple[str, str],
               n_maps: int = 1) -> dict:
    """A heatmap's ``customdata`` and ``hovertemplate``: each cell's row and column label
    (tokens included), or, past ``HOVER_CELLS`` cells over ``n_maps`` maps (labels are
    sent per cell), the positions only, as ``words[0] %{y}, words[1] %{x}``."""
    if len(rows) * len(cols) * n_maps <= HOVER_CELLS:
        return {"customdata": cell_labels(rows, cols),
                "hovertemplate": "%{customdata}: %{z:.3f}<extra></extra>"}
    return {"customdata": None,
            "hovertemplate": f"{words[0]} %{{y}}, {words[1]} %{{x}}: %{{z:.3f}}<extra></extra>"}


def positions(tokens: Sequence[str], word: str = "token") -> list[str]:
    """``"token 3 (the)"`` per position, for :func:`cell_labels`."""
    return [f"{word} {i} ({label(t)})" for i, t in enumerate(tokens)]


def assign_slots(current: dict[str, int], names: Sequence[str], n_slots: int) -> dict[str, int]:
    """A slot per name: known names keep theirs (and their colour), new ones take free
    slots; only the last ``n_slots`` names are kept."""
    names = list(dict.fromkeys(names))[-n_slots:]
    kept = {name: current[name] for name in names if name in current}
    free = iter(sorted(set(range(n_slots)) - set(kept.values())))
    return {name: kept[name] if name in kept else next(free) for name in names}


def export_html(view_or_fig, path) -> Path:
    """Write a view's (or figure's) standalone offline HTML: plotly.js embedded, no CDN."""
    fig = getattr(view_or_fig, "fig", view_or_fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def export_png(view_or_fig, path, *, scale: float = 2.0) -> Path:
    """Write a PNG through kaleido, plotly's optional static-image engine."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "PNG export needs the optional 'kaleido' package: `pip install kaleido` "
            "(kaleido >= 1 also needs Chrome: run `plotly_get_chrome`). "
            "export_html(view, 'figure.html') works without it.") from None
    fig = getattr(view_or_fig, "fig", view_or_fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(str(path), scale=scale)
    return path


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
