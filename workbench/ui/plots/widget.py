"""The figure widget every view draws into, the ``View`` base, input checks and export."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import anywidget
import ipywidgets as W
import numpy as np
import pandas  # noqa: F401 - before any figure: see below
import plotly.colors
import plotly.graph_objects as go
import traitlets

# plotly checks its arrays against pandas only if ``sys.modules`` holds it, without
# importing it; the app's worker thread imports pandas (through ``datasets``) while the
# figures are first displayed, and plotly then found it half-initialised ("partially
# initialized module 'pandas' has no attribute 'Series'"). Imported here, it is whole.
DIVERGING = "RdBu_r"  # red positive, blue negative; always centred at 0


PALETTE = plotly.colors.qualitative.Plotly  # 10 colours; one per run / path slot


# The front end of FigureWidget below: imports plotly's bundle (the text of the one
# ``PlotlyBundle`` widget each figure refers to) once per page and shares the module; each
# figure still gets its own plotly widget. `initialize` returns at once (anywidget waits
# at most 2 s for it) and plotly's own initialize runs when the bundle is there; `render`
# waits for that.
SHARED_BUNDLE_ESM = """
const KEY = Symbol.for("workbench.plotly-bundle.%s");
function bundle(model) {
  globalThis[KEY] ??= (async () => {
    const ref = model.get("_plotly_bundle");  // "IPY_MODEL_<id>": a widget reference
    const source = await model.widget_manager.get_model(ref.slice("IPY_MODEL_".length));
    const url = URL.createObjectURL(new Blob([source.get("bundle")],
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


class PlotlyBundle(anywidget.AnyWidget):
    """plotly.js's widget bundle (5 MB of text) in one widget that every figure refers to,
    so the front end receives it once per kernel. Sent in each figure's own state, it
    crossed the kernel's and the browser's websocket once per figure every time the app
    was displayed, and the page decoded all of it before the app appeared (measured in
    ``benchmarks/README.md``)."""

    _esm = "export default {};"  # no view: the figures' loader reads ``bundle``
    bundle = traitlets.Unicode(_PLOTLY_BUNDLE).tag(sync=True)


_bundle_lock = threading.Lock()
_bundle: PlotlyBundle | None = None


def shared_bundle() -> PlotlyBundle:
    """The kernel's one ``PlotlyBundle``; a new one if it was closed (``Widget.close_all``)."""
    global _bundle
    with _bundle_lock:
        if _bundle is None or _bundle.comm is None:
            _bundle = PlotlyBundle()
        return _bundle


class FigureWidget(go.FigureWidget):
    """plotly's ``FigureWidget``, made to work when a page opens many figures at once
    (Voila's page, a reloaded tab) and when it opens after the figures changed.

    - anywidget (0.11) gives each widget model 2 s to import and initialize its ES module,
      and drops every later message to a model that misses it ("[anywidget] Failed to
      initialize model." in the browser console). plotly's module is all of plotly.js
      (5 MB), imported from a new blob URL per figure, so Voila opening the quickstart (16
      figures) on 2 busy CPU cores missed it and its charts never changed. Here ``_esm``
      is a small loader (``SHARED_BUNDLE_ESM``) that initializes at once and imports the
      bundle once per page, from the one ``PlotlyBundle`` widget every figure refers to
      (``_plotly_bundle``), so the bundle also crosses the websocket once.
    - ``get_state`` sends the figure as it is now (see there).
    - Full width: no layout sets a width; ``autosize`` and plotly.js's ``responsive``
      config are on, and the loader resizes the figure whenever its element's width
      changes (a figure drawn in a closed tab was stuck at plotly's default 700 px).

    The first two were found by ``tests/test_browser.py``."""

    _esm = SHARED_BUNDLE_ESM % hashlib.sha256(_PLOTLY_BUNDLE.encode()).hexdigest()[:16]
    _plotly_bundle = traitlets.Instance(PlotlyBundle).tag(sync=True, **W.widget_serialization)

    @traitlets.default("_plotly_bundle")
    def _shared_bundle(self) -> PlotlyBundle:
        return shared_bundle()

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
