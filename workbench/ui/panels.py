"""What every panel of the app shares: the error report and widget helpers. Each panel owns
its widgets (``.widget``) and its figures; the ``Workbench`` (``app.py``) owns the configs
and its ``Session`` the runs (``runs.py``) and the training thread."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

Report = Callable[[str, BaseException], None]


STYLE = {"description_width": "110px"}


def guarded(report: Report, where: str, fn: Callable) -> Callable:
    """``fn`` for a widget callback: any exception goes to ``report``, never lost."""
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - shown in the panel, not swallowed
            report(where, err)
    return call


def shown(box: W.Widget, visible: bool) -> None:
    box.layout.display = None if visible else "none"


def set_options(dropdown: W.Dropdown, options: list) -> None:
    """New options (only when they differ), keeping the value when it is still there."""
    if list(dropdown.options) == options:
        return
    values = [v for _, v in options]
    keep = dropdown.value if dropdown.value in values else values[0]
    dropdown.options = options
    dropdown.value = keep


def selector(description: str, options: list, width: str = "200px") -> W.Dropdown:
    """A compact dropdown (with its own Layout, so hiding one hides no other)."""
    return W.Dropdown(options=options, description=description, layout=W.Layout(width=width),
                      style={"description_width": "70px"})
