"""The app's Compare panel: every finished run in a sortable table of its final metrics,
a button that makes one current again, and the runs' curves grouped by task.

Runs of different tasks never share an axis (a classifier's loss and a language model's
are not comparable): each task present gets its own curves figure, with a checkbox per
run that says whether the run is drawn. Colour is the run (the checkbox shows it), dash
the split (train solid, validation dashed), as in the Live view.

The sort is kernel state (``sort_by`` / ``order`` widgets, or :meth:`ComparePanel.sort`,
which a header click would call: a second call on one column reverses it), so tests and
notebooks drive it as a user does.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

import ipywidgets as W

from ..tasks import TASKS, Task
from .html import fmt, table_html
from .panels import STYLE, Report, guarded, set_options, shown
from .plots.curves import CurvesView, curves_of
from .runs import Run

ORDER = [("\u25b2 ascending", True), ("\u25bc descending", False)]


def missing(value) -> bool:
    """A cell with nothing to sort by: None, '' or NaN (these go last either way)."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def table_columns(runs: Sequence[Run]) -> tuple[list[str], list[Callable[[Run], object]]]:
    """The table's headers and, per column, a run's raw (sortable) value: setup,
    outcome, validation loss, the main metrics of the tasks present, time, checkpoint."""
    keys = sorted({k for run in runs for k in TASKS.get(run.task, Task).main_metrics
                   if k in run.final}, key=lambda k: (k != "accuracy", k))
    columns = [("run", lambda r: r.name),
               ("arch", lambda r: r.model.arch + (" (bi)" if r.model.bidirectional else "")),
               ("task", lambda r: r.task), ("dataset", lambda r: r.data.dataset),
               ("params", lambda r: r.params), ("step", lambda r: r.step),
               ("outcome", lambda r: r.outcome), ("val loss", lambda r: r.final.get("loss")),
               *((k, lambda r, k=k: r.final.get(k)) for k in keys),
               ("train s", lambda r: r.seconds), ("saved", lambda r: r.path or "")]
    return [h for h, _ in columns], [get for _, get in columns]


def sorted_rows(rows: list[list], column: int | None, ascending: bool) -> list[list]:
    """``rows`` by ``column`` (None: as given), text case-blind, missing values last."""
    if column is None:
        return list(rows)
    present = [r for r in rows if not missing(r[column])]
    absent = [r for r in rows if missing(r[column])]

    def key(row):
        value = row[column]
        return (0, value.lower(), 0.0) if isinstance(value, str) else (1, "", float(value))

    return sorted(present, key=key, reverse=not ascending) + absent


def seconds(value) -> str:
    return "" if missing(value) else f"{float(value):.1f}"


class TaskGroup:
    """One task's runs: a header, a checkbox per run (with its colour) and their curves."""

    def __init__(self, task: str):
        self.task = task
        self.curves = CurvesView(title=f"{task}: training curves")
        self.header = W.HTML()
        self.checks_box = W.HBox([], layout=W.Layout(flex_flow="row wrap"))
        self.figure_box = W.VBox([self.curves.fig])
        self.widget = W.VBox([self.header, self.checks_box, self.figure_box])

    def draw(self, runs: list[Run], checks: dict[str, W.Checkbox],
             swatches: dict[str, W.HTML]) -> None:
        """Draw the checked runs among ``runs`` (this task's, oldest first), at most
        ``CurvesView.MAX_RUNS`` of them; unchecked runs keep their colour while there
        are free slots."""
        n = CurvesView.MAX_RUNS
        checked = [r for r in runs if checks[r.name].value]
        drawn = checked[-n:]
        spare = [r for r in runs if r not in drawn]
        spare = spare[len(spare) - (n - len(drawn)):] if len(drawn) < n else []
        kept = [r for r in runs if r in drawn or r in spare]
        self.curves.update({r.name: curves_of(r.history) for r in kept},
                           hidden={r.name for r in spare})
        self.checks_box.children = [W.HBox([swatches[r.name], checks[r.name]]) for r in runs]
        for r in runs:
            colour = self.curves.colour(r.name) if r in drawn else None
            swatches[r.name].value = (
                f"<span style='display:inline-block; width:14px; height:4px; "
                f"margin:14px 4px 0 8px; background:{colour or '#ccc'}'></span>")
        datasets = ", ".join(dict.fromkeys(html.escape(str(r.data.dataset)) for r in runs))
        more = (f"; the last {len(drawn)} of {len(checked)} checked runs are drawn"
                if len(checked) > len(drawn) else "")
        self.header.value = (f"<b>task: {html.escape(self.task)}</b> &middot; "
                             f"{len(runs)} run{'s' * (len(runs) != 1)} on {datasets}"
                             f"{more}{'' if drawn else ' &middot; <i>none checked</i>'}")
        shown(self.figure_box, bool(drawn))


class ComparePanel:
    """Every finished run: a sortable table of final metrics, reload, and the curves of
    each task's checked runs on that task's own figure."""

    def __init__(self, report: Report, reload: Callable[[str], object]):
        self.report = report
        self.sort_by = W.Dropdown(options=[("order trained", "")], value="",
                                  description="sort by", style=STYLE)
        self.order = W.ToggleButtons(options=ORDER, value=True, style={"button_width": "110px"})
        for w in (self.sort_by, self.order):
            w.observe(guarded(report, "Compare", lambda _: self.draw_table()), "value")
        self.table = W.HTML(self._empty())
        self.picker = W.Dropdown(options=[], description="run", style=STYLE)
        self.reload_button = W.Button(description="Make current",
                                      tooltip="its model becomes the one Inspect uses")
        self.reload_button.on_click(guarded(report, "Compare",
                                            lambda _: reload(self.picker.value)))
        self.note = W.HTML()
        self.groups: dict[str, TaskGroup] = {}
        self.groups_box = W.VBox([])
        self.checks: dict[str, W.Checkbox] = {}
        self.swatches: dict[str, W.HTML] = {}
        self.runs: dict[str, Run] = {}
        self._no_curves: CurvesView | None = None
        self.widget = W.VBox([W.HBox([self.sort_by, self.order]), self.table,
                              W.HBox([self.picker, self.reload_button]), self.note,
                              self.groups_box])

    @staticmethod
    def _empty() -> str:
        return "<i>No finished runs yet: train one, then compare.</i>"

    @property
    def curves(self) -> CurvesView:
        """The curves of the newest run's task (a fresh, empty view before any run)."""
        if not self.runs:
            self._no_curves = self._no_curves or CurvesView()
            return self._no_curves
        return self.groups[list(self.runs.values())[-1].task].curves

    def refresh(self, runs: dict[str, Run]) -> None:
        """Show ``runs`` (name -> Run, oldest first): new runs start checked."""
        self.runs = dict(runs)
        for name in list(self.checks):
            if name not in self.runs:
                del self.checks[name], self.swatches[name]
        for name in self.runs:
            if name not in self.checks:
                box = W.Checkbox(value=True, description=name, indent=False,
                                 layout=W.Layout(width="auto"))
                box.observe(guarded(self.report, "Compare", self._redraw), "value")
                self.checks[name], self.swatches[name] = box, W.HTML()
        set_options(self.picker, [(n, n) for n in self.runs] or [("", "")])
        self.draw_table()
        self._redraw()

    def _redraw(self, _change=None) -> None:
        by_task: dict[str, list[Run]] = {}
        for run in self.runs.values():
            by_task.setdefault(run.task, []).append(run)
        for task, runs in by_task.items():
            if task not in self.groups:
                self.groups[task] = TaskGroup(task)
            self.groups[task].draw(runs, self.checks, self.swatches)
        self.groups_box.children = [self.groups[t].widget for t in by_task]
        self.note.value = ("" if len(by_task) < 2 else
                           f"<i>{len(by_task)} tasks: each has its own figure (their losses "
                           "are not comparable)</i>")

    # --- the table ------------------------------------------------------------------------
    def sort(self, column: str, ascending: bool | None = None) -> None:
        """Sort the table by ``column`` (a header), ascending unless it already is: a
        header click. ``ascending`` sets the direction instead."""
        if ascending is None:
            ascending = not (self.sort_by.value == column and self.order.value)
        self.order.value = ascending
        self.sort_by.value = column

    def rows(self) -> tuple[list[str], list[list]]:
        """The headers and the rows as shown (sorted), with raw values."""
        listed = list(self.runs.values())
        header, getters = table_columns(listed)
        rows = [[get(run) for get in getters] for run in listed]
        column = header.index(self.sort_by.value) if self.sort_by.value in header else None
        return header, sorted_rows(rows, column, self.order.value)

    def draw_table(self) -> None:
        header, rows = self.rows()
        set_options(self.sort_by, [("order trained", "")] + [(h, h) for h in header])
        if not rows:
            self.table.value = self._empty()
            return
        arrow = " \u25b2" if self.order.value else " \u25bc"
        shown_header = [h + (arrow if h == self.sort_by.value else "") for h in header]
        cells = [[seconds(v) if h == "train s" else fmt(v) for h, v in zip(header, row,
                                                                          strict=True)]
                 for row in rows]
        self.table.value = table_html(shown_header, cells)
