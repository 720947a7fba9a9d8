"""The Live panel: curves every chunk, the probe redrawn about every second within the
drawing budget (``Pacer``), and a replay slider over every refresh (``Frame``)."""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from .html import probe_batch, shown_tokens
from .panels import STYLE, Report, guarded, shown
from .plots.curves import CurvesView, curves_of
from .trace_views import TraceViews


# --- live -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One probe refresh: the trace (numpy, batch of 1) as it was at ``step``."""

    step: int
    trace: object
    src: list[str]
    dec: list[str] | None
    caption: str


def thin(frames: list[Frame], limit: int) -> list[Frame]:
    """At most ``limit`` frames: drop every other one of the older half, so a long run
    keeps its whole history at a coarser grain and its recent frames at full grain."""
    if len(frames) <= limit:
        return frames
    half = len(frames) // 2
    return frames[:half:2] + frames[half:]


class LivePanel:
    """The current run's curves and a probe's internals, refreshed while it trains; every
    refresh is kept as a ``Frame`` that the replay slider shows again (training history of
    the probe: watch the attention map form after the fact)."""

    MAX_FRAMES = 200

    def __init__(self, report: Report):
        self.curves = CurvesView()
        self.views = TraceViews(report, "<i>Train a model to see its hidden states.</i>")
        self.probe_text = W.Text(
            value="", continuous_update=False, layout=W.Layout(width="95%"), style=STYLE,
            description="probe", placeholder="empty: the first validation example "
            "(seq2seq: 'source => target')")
        self.frames: list[Frame] = []
        self.replay = W.IntSlider(0, 0, 0, description="replay", readout=False,
                                  layout=W.Layout(width="420px"),
                                  style={"description_width": "70px"})
        self.replay_label = W.HTML()
        buttons = [("first", "fast-backward", lambda: 0),
                   ("back", "step-backward", lambda: self.replay.value - 1),
                   ("forward", "step-forward", lambda: self.replay.value + 1),
                   ("latest", "fast-forward", lambda: self.replay.max)]
        self.replay_buttons = {}
        for name, icon, target in buttons:
            b = W.Button(icon=icon, tooltip=f"{name} frame", layout=W.Layout(width="40px"))
            b.add_class(f"wb-replay-{name}")
            b.on_click(guarded(report, "Replay", lambda _, t=target: self.show_frame(t())))
            self.replay_buttons[name] = b
        self.replay.observe(guarded(report, "Replay", self._replayed), "value")
        self.replay_box = W.HBox([self.replay, *self.replay_buttons.values(),
                                  self.replay_label])
        shown(self.replay_box, False)
        self.widget = W.VBox([self.curves.fig, self.probe_text, self.replay_box,
                              self.views.widget])
        self.name, self._setting = None, False
        self._lock = threading.RLock()

    def _replayed(self, change) -> None:
        if not self._setting:
            self.show_frame(change["new"])

    def clear(self, caption: str = "<i>Reset: train a model to see its hidden states.</i>"
              ) -> None:
        """Forget the curves, the frames and the trace (a new run starts)."""
        with self._lock:
            self.name, self.frames = None, []
            self.curves.update({})
            self.views.clear(caption)
            shown(self.replay_box, False)

    def draw_curves(self, name: str, history: list[dict]) -> None:
        self.name = name
        self.curves.update({name: curves_of(history)})

    def refresh(self, trainer) -> Frame:
        """One eval-mode pass of the probe (one device-to-host copy): a new frame, shown
        unless the user is replaying an older one."""
        frame = probe_frame(trainer, self.probe_text.value)
        with self._lock:
            following = not self.frames or self.replay.value >= self.replay.max
            replayed = None if following else self.frames[self.replay.value].step
            self.frames = thin([*self.frames, frame], self.MAX_FRAMES)
            shown(self.replay_box, len(self.frames) > 1)
            self.replay.max = len(self.frames) - 1
            if following:
                self.show_frame(self.replay.max)
            else:  # thinning may move the replayed frame: find it (or the one before) again
                self.show_frame(max(i for i, f in enumerate(self.frames)
                                    if f.step <= replayed or i == 0))
        return frame

    def show_frame(self, index: int) -> None:
        """Show frame ``index`` (clipped to the frames there are)."""
        with self._lock:
            if not self.frames:
                return
            index = max(0, min(int(index), len(self.frames) - 1))
            frame = self.frames[index]
            self._setting = True
            try:
                self.replay.value = index
            finally:
                self._setting = False
            self.replay_label.value = (f"step {frame.step} &middot; frame {index + 1} of "
                                       f"{len(self.frames)}")
            self.views.caption.value = frame.caption
            self.views.show(frame.trace, frame.src, frame.dec)


def probe_frame(trainer, text: str = "") -> Frame:
    """The probe (``text``, or the first validation example) through the current model."""
    from ..infer import analysis  # here: a trainer exists, so JAX is loaded (stack.py)
    from ..tasks.batches import model_inputs

    data = trainer.data
    batch = probe_batch(data, text)
    logits, trace = analysis.probe(trainer.model, *model_inputs(batch))
    src, dec = shown_tokens(data, batch)
    caption = f"Probe at step {trainer.step}: {html.escape(' '.join(src)[:200])}"
    if data.family.labels == "row":  # one class per text: name it
        p = np.exp(logits[0] - logits[0].max())
        label = html.escape(data.label_names[int(p.argmax())])
        caption += f" &rarr; <b>{label}</b> (p = {p.max() / p.sum():.2f})"
    return Frame(trainer.step, trace, src, dec, caption)


class Pacer:
    """When the Live view draws during a run. The curves are redrawn every chunk and the
    probe every ``probe_s`` seconds of wall time (0: every chunk), but only while drawing
    has cost at most ``share`` of the run's training time (None: no limit), so the live
    figures never slow training by more than that. The first chunk always draws; the
    probe's first pass, which compiles it, happens before training, outside the budget.
    ``refreshes`` keeps (wall time, step) of each probe refresh, for tests and notes."""

    def __init__(self, share: float | None, probe_s: float):
        self.share, self.probe_s = share, max(0.0, float(probe_s))
        self.start()

    def start(self) -> None:
        """A run begins: nothing drawn yet."""
        self.spent, self.chunks = 0.0, 0
        self.last_probe = time.monotonic()
        self.refreshes: list[tuple[float, int]] = []

    def allows(self, elapsed: float) -> bool:
        """Counts a chunk; True while drawing is within its share of ``elapsed``."""
        self.chunks += 1
        return self.share is None or self.chunks == 1 or self.spent <= self.share * elapsed

    @contextlib.contextmanager
    def drawing(self):
        """Time the drawing inside the block; yields whether the probe is due."""
        started = time.monotonic()
        try:
            yield started - self.last_probe >= self.probe_s
        finally:
            self.spent += time.monotonic() - started

    def probed(self, step: int) -> None:
        self.last_probe = time.monotonic()
        self.refreshes.append((self.last_probe, step))


class LiveObserver:
    """The app's trainer observer (training thread): every chunk the footer's progress,
    speed and status, then the curves and, when due, the probe, while the ``Pacer``
    allows; Stop (``stopping()``) is passed on to the trainer between chunks. Its errors
    are shown and never stop training. ``run_name``: the run being trained."""

    def __init__(self, footer, live: LivePanel, pacer: Pacer, stopping: Callable[[], bool]):
        self.footer, self.live, self.pacer, self.stopping = footer, live, pacer, stopping
        self.run_name: str | None = None

    def __call__(self, event: str, trainer, info: dict) -> None:
        try:
            if event == "chunk":
                self._on_chunk(trainer, info)
            elif event == "eval":
                self.live.draw_curves(self.run_name, trainer.history)
        except Exception as err:  # noqa: BLE001 - shown, and training goes on
            self.footer.report("Live view", err)

    def _on_chunk(self, trainer, info: dict) -> None:
        if self.stopping():
            trainer.stop()
        steps = trainer.config.steps
        left = trainer.elapsed / max(trainer.step, 1) * (steps - trainer.step)
        self.footer.progress.value = min(trainer.step, steps)
        self.footer.speed.value = f"{info['tokens_per_s']:,.0f} tokens/s, ~{left:.0f} s left"
        self.footer.status(f"{self.run_name}: step {trainer.step}/{steps}, loss "
                           f"{info['loss']:.4f}", "busy")
        if not self.pacer.allows(trainer.elapsed):
            return  # the figures have had their share of this run's time: skip a chunk
        with self.pacer.drawing() as probe_due:
            self.live.draw_curves(self.run_name, trainer.history)
            if probe_due:
                self.live.refresh(trainer)
                self.pacer.probed(trainer.step)
