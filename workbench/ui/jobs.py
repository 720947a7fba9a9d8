"""The app's one background job at a time (loading data or training), in a daemon thread.

A second click while a job runs is refused with a message naming the job; a job's error
is reported (never lost), and a job waits for the background warm-up compile rather than
compiling the same step a second time."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Jobs:
    """``start`` a job, ``busy`` while it runs, ``wait`` for it. ``status(text, kind)`` and
    ``report(where, err)`` are the footer's; ``before()`` runs in the thread before each
    job (the app's loads the training code: ``stack.load``)."""

    def __init__(self, status: Callable[[str, str], None],
                 report: Callable[[str, BaseException], None], before: Callable = lambda: None):
        self.status, self.report, self.before = status, report, before
        self.job = ""  # what the last job was, e.g. "training run1-lstm-sentiment"
        self.warm: threading.Thread | None = None  # the warm-up compile, if one was started
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """True while a background job (loading or training) runs."""
        return self._thread is not None and self._thread.is_alive()

    def refuse_if_busy(self) -> bool:
        """True (and says so) while a job runs: one run at a time."""
        if self.busy:
            self.status(f"busy {self.job}: one run at a time; Stop it first", "warn")
        return self.busy

    def start(self, what: str, job: Callable, *args) -> bool:
        """Run ``job(*args)`` in the background, unless a job runs already."""
        if self.busy:
            self.status(f"busy {self.job}: one job at a time; Stop it or wait", "warn")
            return False
        self.job = what

        def work():
            try:
                if self.warm is not None and self.warm.is_alive():  # one compile, not two
                    self.status("finishing the background compile of the training step ...",
                                "busy")
                    self.warm.join()
                self.before()
                job(*args)
            except Exception as err:  # noqa: BLE001 - shown, never lost
                self.report(what[0].upper() + what[1:], err)
        self._thread = threading.Thread(target=work, name=f"workbench {what}", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Join the background job; True when nothing is running any more."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy
