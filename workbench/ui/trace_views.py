"""The hidden-state, gate and attention views of one trace, with their selectors,
shared by the Live panel and Inspect.

Selectors (layer, direction, unit, map, head) only re-slice the last trace, held as numpy:
they never run the model again."""

from __future__ import annotations

import threading

import ipywidgets as W
import numpy as np

from .panels import Report, guarded, selector, set_options, shown
from .plots.attention import AttentionView
from .plots.states import GatesView, HiddenView


# --- trace views ----------------------------------------------------------------------------
def attention_entries(trace, src: list[str], dec: list[str] | None) -> dict:
    """name -> (weights ``[L, N, Tq, Tk]`` of the real positions, queries, keys)."""
    tokens = {"source": src, "target": dec, "pool": ["pool"]}
    out = {}
    for name, (w, (q_side, q_mask), (k_side, k_mask)) in trace.attention_maps().items():
        w = np.asarray(w)[:, 0]
        q, k = np.asarray(q_mask[0], bool), np.asarray(k_mask[0], bool)
        out[name] = (w[:, :, q][:, :, :, k], tokens[q_side], tokens[k_side])
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
        """The selected side's trace (encoder, or an encoder-decoder's decoder) and the
        tokens it reads."""
        sides = self.trace.sides()
        part, reads = sides.get(self.part.value, sides["encoder"])
        return part, (self.src if reads == "source" else self.dec)

    def _changed(self, _change) -> None:
        with self._lock:
            if not self._syncing and self.trace is not None:
                self._sync_options(None)
                self.redraw()

    def _sync_options(self, attention: str | None) -> None:
        self._syncing = True
        try:
            sides = list(self.trace.sides())
            shown(self.part, len(sides) > 1)
            set_options(self.part, [(name, name) for name in sides])
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
