"""The Inspect tab's action for each task (``Task.inspect`` names it): what the panel
draws for a typed text or a validation example, and the batch (and decoder tokens) its
trace views then show. Each takes the panel, whose widgets it fills.

- ``saliency`` (classify): probabilities, and integrated-gradients saliency as coloured
  text and bars;
- ``generate`` (lm): a continuation at the panel's temperature, each token's probability;
- ``tags`` (tag): predicted tags, and for a validation example the true ones beside them;
- ``translate`` (seq2seq): the greedy output, one decoder row per output token.

The inference code (``infer``, which loads JAX) is imported inside: an action needs a
trained model, so JAX is loaded by then.
"""

from __future__ import annotations

import html

from .html import probabilities_html, shown_tokens, with_target
from .inspect_views import produced_ids, saliency_text_html, tags_html
from .panels import shown


def _lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def saliency(panel, data, model, batch) -> tuple[dict, None]:
    """The class probabilities, and how much each token moved the predicted class."""
    from ..infer import analysis, decode

    probs = decode.predict_proba(model, batch["tokens"], batch["mask"])[0]
    scores = analysis.saliency(model, batch["tokens"], batch["mask"])
    tokens, _ = shown_tokens(data, batch)
    best = data.label_names[int(probs.argmax())]
    panel.result.value = probabilities_html(data.label_names, probs)
    panel.saliency_text.show(saliency_text_html(tokens, scores[: len(tokens)], best,
                                                joined=data.tokenizer.kind != "word"))
    panel.saliency.update(tokens, scores[: len(tokens)], prediction=best)
    return batch, None


def generate(panel, data, model, batch) -> tuple[dict, None]:
    """Continue the text (seed 0, so the same settings give the same continuation)."""
    from ..infer import decode

    tok = data.tokenizer
    prompt = batch["tokens"][0][batch["mask"][0]].tolist()
    out = decode.generate(model, prompt, panel.max_new.value, data.config.max_len,
                          temperature=panel.temperature.value, seed=0)
    tail = " ".join(tok.decode(prompt).split())
    title = (f'Continuation of "{tail if len(tail) <= 40 else "..." + tail[-37:]}" at '
             f"temperature {panel.temperature.value:g}")
    panel.generation.update(tok.tokens(out.new_ids), out.probs, title=title)
    panel.result.value = (f"<b>prompt</b> {_lines(tok.decode(prompt))}<br>"
                          f"<b>continuation</b> {_lines(tok.decode(out.new_ids))}")
    return batch, None


def tags(panel, data, model, batch) -> tuple[dict, None]:
    """The predicted tag of each token; beside the true tags where the batch has them."""
    from ..infer import decode

    pred = decode.tag(model, batch["tokens"], batch["mask"])[0]
    real = batch["mask"][0]
    names = data.label_names
    tokens = data.tokenizer.tokens(batch["tokens"][0][real])
    predicted = [names[p] for p in pred[real]]
    labels = batch.get("labels")
    panel.result.value = ""
    shown(panel.tags_box, labels is not None)
    if labels is None:  # typed text: nothing to be right or wrong against
        panel.tags_text.show(tags_html(tokens, predicted))
    else:
        panel.tags_text.show("")
        panel.tags.update(tokens, [names[y] if y >= 0 else "" for y in labels[0][real]],
                          predicted)
    return batch, None


def translate(panel, data, model, batch) -> tuple[dict, list[str]]:
    """Greedy output; the trace reads BOS then the output, so decoder step ``i`` (row
    ``i`` of the decoder's views) is the one that produced output token ``i``."""
    from ..infer.translate import greedy_translate

    src = batch["tokens"][0][batch["mask"][0]].tolist()
    out = greedy_translate(model, src, data.config.max_len)
    tok = data.tokenizer
    batch = with_target(batch, out.ids)
    steps = int(batch["dec_mask"][0].sum())
    panel.result.value = (f"<b>source</b> {html.escape(tok.decode(src))}<br>"
                          f"<b>greedy output</b> {html.escape(tok.decode(out.ids))}"
                          f"{'' if out.finished else ' (no EOS within max_len)'}<br>"
                          "<i>decoder rows: the output token each step produced (the "
                          "step read BOS or the previous output)</i>")
    return batch, tok.tokens(produced_ids(out.ids, out.finished, steps))


ACTIONS = {"saliency": saliency, "generate": generate, "tags": tags, "translate": translate}
