"""The app's Compare panel: every finished run, its curves overlaid and its final metrics
in a table, and a button that makes one current again."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

from .app_html import runs_table_html
from .app_panels import STYLE, Report, Run, guarded, set_options
from .plots import CurvesView
from .trainer import curves_of


# --- compare --------------------------------------------------------------------------------
class ComparePanel:
    """Every finished run: overlaid curves, a table of final metrics, reload."""

    def __init__(self, report: Report, reload: Callable[[str], object]):
        self.curves = CurvesView()
        self.table = W.HTML(runs_table_html([]))
        self.picker = W.Dropdown(options=[], description="run", style=STYLE)
        self.reload_button = W.Button(description="Make current",
                                      tooltip="its model becomes the one Inspect uses")
        self.reload_button.on_click(guarded(report, "Compare",
                                            lambda _: reload(self.picker.value)))
        self.note = W.HTML()
        self.widget = W.VBox([self.table, W.HBox([self.picker, self.reload_button]),
                              self.note, self.curves.fig])

    def refresh(self, runs: dict[str, Run]) -> None:
        """Show ``runs`` (name -> Run, oldest first); curves of the last 8."""
        listed = list(runs.values())
        self.table.value = runs_table_html(listed)
        set_options(self.picker, [(r.name, r.name) for r in listed] or [("", "")])
        last = listed[-CurvesView.MAX_RUNS:]
        self.curves.update({r.name: curves_of(r.history) for r in last})
        self.note.value = "" if len(listed) <= len(last) else \
            f"<i>curves of the last {len(last)} of {len(listed)} runs</i>"
