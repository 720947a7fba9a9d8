"""The app's Live panel, and the trace views it shares with Inspect (``app_inspect.py``).
Each panel owns its widgets (``.widget``) and its figures; the
``Workbench`` (``app.py``) owns the configs, the runs and the training thread.

Selectors (layer, direction, unit, map, head) only re-slice the last trace, held as numpy:
they never run the model again.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np

from ..infer import analysis
from ..tasks.batches import model_inputs
from ..train.trainer import curves_of
from .html import probe_batch, shown_tokens
from .plots.attention import AttentionView
from .plots.curves import CurvesView
from .plots.states import GatesView, HiddenView

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


@dataclass
class Run:
    """A finished (or stopped, or failed) training run, kept for comparison and reload."""

    name: str
    data: object  # DataConfig
    model: object  # ModelConfig
    train: object  # TrainConfig
    history: list[dict]
    final: dict
    outcome: str
    params: int
    step: int
    seconds: float
    trainer: object | None = None  # the Trainer; None once only the checkpoint is kept
    path: str | None = None  # checkpoint directory under the runs directory
    notes: list[str] = field(default_factory=list)


# --- trace views ----------------------------------------------------------------------------
def attention_entries(trace, src: list[str], dec: list[str] | None) -> dict:
    """name -> (weights ``[L, N, Tq, Tk]`` of the real positions, queries, keys)."""
    def cut(w, q_mask, k_mask):
        w = np.asarray(w)[:, 0]
        return w[:, :, np.asarray(q_mask, bool)][:, :, :, np.asarray(k_mask, bool)]

    out, own = {}, trace.mask[0]
    for name, w in trace.attention.items():
        if name == "cross":
            out["cross-attention"] = (cut(w, own, trace.source.mask[0]), dec, src)
        elif name == "pool":
            out["attention pooling"] = (cut(w, [True], own), ["pool"], src)
        else:
            tokens = dec if trace.source is not None else src
            label = "decoder self-attention" if trace.source is not None else "self-attention"
            out[label] = (cut(w, own, own), tokens, tokens)
    if trace.source is not None:
        for name, w in trace.source.attention.items():
            mask = trace.source.mask[0]
            out[f"encoder {name}-attention"] = (cut(w, mask, mask), src, src)
    return out


class TraceViews:
    """Hidden states, gates and attention of one probe, with selectors that re-slice."""

    dec_label = "decoder input"  # the rows of a cross-attention map (Inspect: "output")

    def __init__(self, report: Report, title: str = ""):
        self.hidden_view, self.gates_view, self.attention_view = (
            HiddenView(), GatesView(), AttentionView())
        self.part = selector("side", [("encoder", "encoder")])
        self.layer = selector("layer", [("0", 0)])
        self.direction = selector("direction", [("forward", 0)])
        self.unit = W.IntSlider(0, 0, 0, description="unit", style={"description_width": "70px"})
        self.attention = selector("map", [("(none)", "")], width="320px")
        self.att_layer = selector("layer", [("all", "all")])
        self.head = selector("head", [("all", "all")])
        self.caption = W.HTML(title)
        self.gates_note, self.att_note = W.HTML(), W.HTML()
        self.trace, self.src, self.dec, self._syncing = None, [], None, False
        self._lock = threading.RLock()
        self.unit_auto = True  # until the user moves the unit slider (observed first)
        self.unit.observe(self._unit_moved, "value")
        for w in (self.part, self.layer, self.direction, self.unit, self.attention,
                  self.att_layer, self.head):
            w.observe(guarded(report, "selector", self._changed), "value")
        self.gates_box = W.VBox([self.gates_view.fig])
        self.att_box = W.VBox([W.HBox([self.attention, self.att_layer, self.head]),
                               self.attention_view.fig])
        self.body = W.VBox([W.HBox([self.part, self.layer, self.direction, self.unit]),
                            self.hidden_view.fig, self.gates_note, self.gates_box,
                            self.att_note, self.att_box])
        self.widget = W.VBox([self.caption, self.body])
        shown(self.part, False)
        shown(self.body, False)

    def clear(self, caption: str = "") -> None:
        """Forget the trace and hide the figures."""
        self.trace, self.caption.value, self.unit_auto = None, caption, True
        shown(self.body, False)

    def _unit_moved(self, _change) -> None:
        if not self._syncing:
            self.unit_auto = False

    def _pick_unit(self) -> None:
        """While the user has not chosen one, show the unit whose activation varies most
        over the probe's tokens: the informative one, not unit 0."""
        if not self.unit_auto:
            return
        part, _ = self.part_trace()
        hidden = np.asarray(part.hidden[min(self.layer.value, part.hidden.shape[0] - 1),
                                        min(self.direction.value, part.hidden.shape[1] - 1),
                                        0])[np.asarray(part.mask[0], bool)]
        if hidden.shape[0] > 1:
            self.unit.value = int(hidden.var(axis=0).argmax())

    def show(self, trace, src: list[str], dec: list[str] | None = None,
             attention: str | None = None) -> None:
        """Keep ``trace`` (numpy, batch of 1) and its tokens, then draw the selection."""
        with self._lock:  # the training thread and widget callbacks both draw
            self.trace, self.src, self.dec = trace, src, dec
            self._sync_options(attention)
            self.redraw()
            shown(self.body, True)

    def part_trace(self):
        """The selected side's trace (seq2seq: encoder or decoder) and its tokens."""
        if self.trace.source is not None and self.part.value == "encoder":
            return self.trace.source, self.src
        return self.trace, (self.dec if self.trace.source is not None else self.src)

    def _changed(self, _change) -> None:
        with self._lock:
            if not self._syncing and self.trace is not None:
                self._sync_options(None)
                self.redraw()

    def _sync_options(self, attention: str | None) -> None:
        self._syncing = True
        try:
            seq2seq = self.trace.source is not None
            shown(self.part, seq2seq)
            set_options(self.part, [("encoder", "encoder"), ("decoder", "decoder")]
                        if seq2seq else [("encoder", "encoder")])
            part, _ = self.part_trace()
            layers, directions, _, _, units = part.hidden.shape
            set_options(self.layer, [(str(i), i) for i in range(layers)])
            set_options(self.direction, [("forward", 0), ("backward", 1)][:directions])
            self.unit.max = units - 1
            self._pick_unit()
            entries = attention_entries(self.trace, self.src, self.dec)
            set_options(self.attention, [(k, k) for k in entries] or [("(none)", "")])
            if attention in entries:
                self.attention.value = attention
            if self.attention.value in entries:
                w = entries[self.attention.value][0]
                pick = [("all", "all"), ("mean", "mean")]
                set_options(self.att_layer, pick + [(str(i), i) for i in range(w.shape[0])])
                set_options(self.head, pick + [(str(i), i) for i in range(w.shape[1])])
        finally:
            self._syncing = False

    def redraw(self) -> None:
        """Draw the selected layer / direction / unit / map from the kept trace."""
        part, tokens = self.part_trace()
        real = np.asarray(part.mask[0], bool)
        layer = min(self.layer.value, part.hidden.shape[0] - 1)
        direction = min(self.direction.value, part.hidden.shape[1] - 1)
        unit = min(self.unit.value, part.hidden.shape[-1] - 1)
        where = f"layer {layer}, {'backward' if direction else 'forward'}"
        self.hidden_view.update(part.hidden[layer, direction, 0][real], tokens,
                                title=f"Hidden state ({where})")
        self.hidden_view.select_unit(unit)
        gates = {k: g[layer, direction, 0][real] for k, g in part.gates.items()}
        shown(self.gates_box, bool(gates))
        self.gates_note.value = "" if gates else "<i>no gates: Elman and Transformer layers " \
                                                 "have none (LSTM and GRU do)</i>"
        if gates:
            self.gates_view.update(gates, tokens)
            self.gates_view.select_unit(unit)
        self._draw_attention()

    def _draw_attention(self) -> None:
        entries = attention_entries(self.trace, self.src, self.dec)
        shown(self.att_box, bool(entries))
        self.att_note.value = "" if entries else (
            "<i>no attention maps: a recurrent classifier with 'last' or 'mean' pooling has "
            "none; try pooling='attention', a Transformer or seq2seq</i>")
        if not entries:
            return
        w, queries, keys = entries[self.attention.value]
        pick = {"all": None, "mean": "mean"}
        seq2seq = self.attention.value == "cross-attention"
        self.attention_view.update(
            w, queries, keys, layer=pick.get(self.att_layer.value, self.att_layer.value),
            head=pick.get(self.head.value, self.head.value), title=self.attention.value,
            query_label=self.dec_label if seq2seq else "query",
            key_label="source" if seq2seq else "key")


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
    data = trainer.data
    batch = probe_batch(data, text)
    logits, trace = analysis.probe(trainer.model, *model_inputs(batch))
    src, dec = shown_tokens(data, batch)
    caption = f"Probe at step {trainer.step}: {html.escape(' '.join(src)[:200])}"
    if data.task == "classify":
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
