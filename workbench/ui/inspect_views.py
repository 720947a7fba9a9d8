"""What the Inspect panel shows as text rather than as a figure: saliency as coloured text
with its scale, predicted tags under their tokens, the panel's notes, and the labels of a
seq2seq decoder's steps.

The HTML helpers are pure (tokens and numpy in, a string out); ``TextView`` is the one
widget, an ``ipywidgets.HTML`` that hides itself while empty.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as W
import numpy as np

from ..data.tokenizer import EOS

E = html.escape
RED, BLUE = "214, 39, 40", "31, 119, 180"  # plotly's red and blue, as in the bar chart's ends

NO_MODEL = ("<i>There is no model to inspect yet: train a model or make a run current in "
            "Compare first.</i>")
MODEL_CHANGED = ("<i>The current model changed: its views are cleared. Run to inspect the "
                 "new one.</i>")


def saliency_text_html(tokens: Sequence[str], scores: np.ndarray, prediction: str,
                       joined: bool = False) -> str:
    """The text with each token (one ``<span class="wb-token">``) on a background shaded
    by its saliency: red pushes toward ``prediction``, blue away from it, full colour at the
    largest ``|score|`` (the legend gives that scale). ``joined``: the tokens are pieces of
    the text (characters, byte-level BPE) shown side by side, spaces and line breaks kept;
    else words, separated by spaces."""
    s = np.nan_to_num(np.asarray(scores, dtype=float).reshape(-1))
    tokens = [str(t) for t in tokens]
    if len(tokens) != len(s):
        raise ValueError(f"{len(tokens)} tokens but {len(s)} saliency scores")
    top = float(np.abs(s).max()) if s.size else 0.0
    top = top if top > 0 else 1.0
    pad = "0" if joined else "1px 2px"
    spans = [f'<span class="wb-token" title="{E(t)}: {v:+.3g}" style="background-color: '
             f'rgba({RED if v > 0 else BLUE}, {abs(v) / top:.2f}); padding: {pad}; '
             f'border-radius: 3px">{E(t)}</span>' for t, v in zip(tokens, s, strict=True)]
    text = (f'<div class="wb-saliency" style="line-height: 2; white-space: '
            f'{"pre-wrap" if joined else "normal"}; margin: 4px 0">'
            + ("" if joined else " ").join(spans) + "</div>")
    return ("<b>Saliency</b> (gradient &times; input: what each token adds to the logit of "
            f"<b>{E(prediction)}</b>; hover a token for its score)" + text
            + saliency_legend(top, prediction))


def saliency_legend(top: float, prediction: str) -> str:
    """The colour scale of :func:`saliency_text_html`: -top (blue) through 0 to +top (red)."""
    bar = (f"background: linear-gradient(to right, rgba({BLUE}, 1), rgba({BLUE}, 0) 50%, "
           f"rgba({RED}, 0) 50%, rgba({RED}, 1)); width: 240px; height: 0.9em; "
           "border: 1px solid #ccc; display: inline-block; vertical-align: middle")
    return (f'<div class="wb-saliency-legend" style="font-size: 90%; color: #555">'
            f"{-top:+.3g} away from {E(prediction)} <div style='{bar}'></div> "
            f"{top:+.3g} toward {E(prediction)}</div>")


def tags_html(tokens: Sequence[str], tags: Sequence[str]) -> str:
    """Each token with its predicted tag beneath it (``O``, no entity, in grey)."""
    cells = []
    for token, tag in zip(tokens, tags, strict=True):
        colour = "#999" if tag in ("O", "") else "#0969da"
        cells.append(f'<span class="wb-tagged" style="display: inline-block; text-align: '
                     f'center; margin: 0 4px 6px 0">{E(str(token))}<br><span style="font-size: '
                     f'80%; color: {colour}">{E(str(tag))}</span></span>')
    return ("<b>Predicted tags</b> (typed text has no true tags to check them against; "
            "leave the box empty to see a validation example's)"
            f'<div style="line-height: 1.3; margin-top: 4px">{"".join(cells)}</div>')


def produced_ids(out_ids: Sequence[int], finished: bool, steps: int) -> list[int]:
    """The token each decoder step produced, for ``steps`` steps: the decoder read BOS then
    the outputs shifted right, so step ``i`` produced output ``i``, and the step after the
    last output produced EOS when decoding finished."""
    return ([*(int(i) for i in out_ids), *([EOS] if finished else [])])[:steps]


class TextView:
    """An HTML widget that is hidden while it has nothing to say."""

    def __init__(self):
        self.widget = W.HTML()
        self.show("")

    @property
    def value(self) -> str:
        return self.widget.value

    def show(self, value: str) -> None:
        self.widget.value = value
        self.widget.layout.display = None if value else "none"
