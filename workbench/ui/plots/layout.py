"""Hand-made subplot slots stacked in pixels, and token axes that stay readable.

See the package docstring for the slot rules."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in paper coordinates


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
