"""The app's Start tab: every preset as one line (the idea it shows, its expected runtime
here, one Run button), so a newcomer's first click trains something worth watching. A
preset with a ``pair`` (the LSTM and Elman recall demos) also offers to run both, one
after the other, so Compare shows them side by side.

The tab only lists and calls back; the ``Workbench`` (``app.py``) applies the preset,
trains it and switches to the Live tab.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as W

from ..presets import PRESETS, Preset
from .panels import Report, guarded

INTRO = ("<b>Pick a preset and press Run</b>: it trains at once and the <b>Live</b> tab shows "
         "the loss curves and the model's hidden states, gates and attention while it "
         "learns. Or set up your own run in the <b>Data</b>, <b>Model</b> and "
         "<b>Training</b> tabs and press <b>Train</b>.")


def runtime_text(seconds: float) -> str:
    """'~40 s' or '~3 min': what a person plans with, not a measurement's digits."""
    if seconds < 90:
        return f"~{max(5, round(seconds / 5) * 5):.0f} s"
    return f"~{round(seconds / 60):.0f} min"


def preset_line_html(preset: Preset, offline: bool) -> str:
    """One preset: name, idea, runtime, and where it trains when offline."""
    where = ""
    if offline and preset.stand_in:
        where = (f" <span style='color:#8a6d3b'>(offline: on the built-in "
                 f"'{html.escape(preset.stand_in)}')</span>")
    return (f"<b>{html.escape(preset.name)}</b> &middot; {html.escape(preset.idea)} "
            f"<span style='color:#666'>&middot; {runtime_text(preset.runtime_s)} here"
            f"</span>{where}")


class StartPanel:
    """One line per preset with a Run button (and 'Run both' for a pair)."""

    def __init__(self, report: Report, run: Callable[[str], object],
                 run_pair: Callable[[str, str], object], offline: bool = False):
        self.buttons: dict[str, W.Button] = {}
        rows = [W.HTML(INTRO)]
        for title, kind in (("Demos (built-in data; the runtime is on each line)", "demo"),
                            ("Recipes (standard datasets, tuned to published numbers; "
                             "offline, a small built-in stand-in of the same task)",
                             "recipe")):
            rows.append(W.HTML(f"<h4 style='margin:10px 0 2px'>{title}</h4>"))
            rows += [self._row(p, report, run, run_pair, offline)
                     for p in PRESETS.values() if kind_of(p) == kind]
        self.widget = W.VBox(rows)

    def _row(self, preset: Preset, report: Report, run, run_pair, offline: bool) -> W.HBox:
        button = W.Button(description="Run", icon="play", button_style="success",
                          tooltip=preset.description[:300], layout=W.Layout(width="70px"))
        button.add_class("wb-start-run")
        button.on_click(guarded(report, "Start", lambda _, n=preset.name: run(n)))
        self.buttons[preset.name] = button
        items = [button]
        if preset.pair:
            both = W.Button(description=f"Run both (with {preset.pair})",
                            layout=W.Layout(width="auto"),
                            tooltip="trains this preset, then its pair; Compare shows both")
            both.on_click(guarded(report, "Start",
                                  lambda _, a=preset.name, b=preset.pair: run_pair(a, b)))
            self.buttons[f"{preset.name}+{preset.pair}"] = both
            items.append(both)
        return W.HBox([*items, W.HTML(preset_line_html(preset, offline))],
                      layout=W.Layout(align_items="center"))


def kind_of(preset: Preset) -> str:
    """'recipe' for presets tuned to a standard dataset (they have a stand-in), else
    'demo'."""
    return "recipe" if preset.stand_in else "demo"
