"""The app's footer under the tabs: Train, Continue, Stop and Forget, the progress bar,
the status line, the current model and the error log (with the kernel-busy notice).

Errors from callbacks, observers or the background thread all land here, never lost:
one line in the status, and in the log with a traceback unless the error is one of the
workbench's own, whose message already says the fix."""

from __future__ import annotations

import threading
import traceback

import ipywidgets as W

from .html import status_html
from .kernel import KernelNotice


class Footer:
    """The footer's widgets (``.widget``), the status line and the error log."""

    def __init__(self, known: tuple[type[BaseException], ...]):
        self.known = known  # errors whose message says the fix: shown without a traceback
        self.error_messages: list[str] = []
        self._last_error: str | None = None
        self._lock = threading.Lock()
        self.train_button = W.Button(description="Train", button_style="success", icon="play",
                                     tooltip="train a new model from scratch with the setup "
                                             "in the tabs")
        self.continue_button = W.Button(
            description="Continue", icon="forward",
            tooltip="train the current model for 'steps' more steps (its own setup; the "
                    "learning rate from the slider)")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop")
        self.reset_button = W.Button(description="Forget model", icon="undo",
                                     tooltip="forget the current model (runs stay in Compare)")
        self.progress = W.IntProgress(0, min=0, max=1, layout=W.Layout(width="260px"))
        self.speed, self.status_line = W.HTML(), W.HTML()
        self.current_label = W.HTML("<i>no current model</i>")
        self.errors = W.Output(layout=W.Layout(max_height="240px", overflow="auto"))
        self.clear_button = W.Button(description="Clear errors")
        self.kernel_notice = KernelNotice()
        self.widget = W.VBox([W.HBox([self.train_button, self.continue_button,
                                      self.stop_button, self.reset_button, self.progress,
                                      self.speed]),
                              self.kernel_notice, self.status_line, self.current_label,
                              self.errors, self.clear_button])

    def status(self, text: str, kind: str = "info") -> None:
        self.status_line.value = status_html(text, kind)

    def report(self, where: str, err: BaseException) -> None:
        """Show an error in the status line and the log (each message once in a row)."""
        prefix = "" if isinstance(err, self.known) else f"{type(err).__name__}: "
        message = f"{where}: {prefix}{err}"
        self.status(message, "error")
        with self._lock:
            if message == self._last_error:
                return
            self._last_error = message
            self.error_messages.append(message)
            self.errors.append_stderr(message + "\n")
            if not isinstance(err, self.known):
                self.errors.append_stderr("".join(traceback.format_exception(err)))

    def clear_errors(self) -> None:
        """Empty the error log, and the status line if it shows an error."""
        shown, self._last_error = self._last_error, None
        self.errors.clear_output()
        if shown is not None:
            self.status("errors cleared", "info")

    def show_current(self, name: str | None, step: int = 0) -> None:
        self.current_label.value = (f"current model: <b>{name}</b> at step {step} "
                                    "(Inspect uses it)" if name else "<i>no current model</i>")
