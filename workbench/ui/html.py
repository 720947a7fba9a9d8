"""What the app shows that is not a figure: HTML snippets and the numpy inputs of probes.

Pure functions (numpy and strings in, strings or numpy out; neither ipywidgets nor plotly),
so the app's tables, previews and probe batches can be tested without a browser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from ..data.tokenizer import BOS

SCALARS = (int, float, np.integer, np.floating)
COLOURS = {"info": "#555", "ok": "#1a7f37", "busy": "#0969da", "warn": "#9a6700",
           "error": "#cf222e"}
E = html.escape


def status_html(text: str, kind: str = "info") -> str:
    """One status line, coloured by ``kind`` ('info', 'ok', 'busy', 'warn', 'error')."""
    return f'<span style="color: {COLOURS[kind]}">{E(text)}</span>'


def table_html(header: Sequence[str], rows: Sequence[Sequence], raw: bool = False) -> str:
    """A plain HTML table; cells are escaped unless ``raw``."""
    def cell(value):
        return str(value) if raw else E(str(value))

    head = "".join(f"<th style='text-align:left; padding: 2px 8px'>{E(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding: 2px 8px'>{cell(v)}</td>" for v in row)
                   + "</tr>" for row in rows)
    return f"<table style='border-collapse: collapse'><tr>{head}</tr>{body}</table>"


def fmt(value) -> str:
    """A number for a table: integers with separators, floats with 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, SCALARS):
        return "" if value is None else str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{float(value):.4g}"


# --- data preview -------------------------------------------------------------------------
def histogram_html(lengths: np.ndarray, max_len: int, bins: int = 12) -> str:
    """Sequence lengths as horizontal HTML bars; bins past ``max_len`` (cut) in orange."""
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        return "<i>no sequences</i>"
    low, top = int(lengths.min()), int(lengths.max())
    edges = np.unique(np.linspace(low, top + 1, bins + 1).astype(int))
    counts, _ = np.histogram(lengths, bins=edges)
    rows = []
    for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True):
        colour = "#fb8c00" if hi - 1 > max_len else "#4c78a8"
        width = 100 * n / max(counts.max(), 1)
        bar = (f"<div style='background: {colour}; width: {width:.1f}%; height: 0.9em; "
               f"min-width: {1 if n else 0}px'></div>")
        rows.append((f"{lo}-{hi - 1}", bar, f"{n:,}"))
    table = table_html(("tokens", "", "sequences"), rows, raw=True)
    table = table.replace("<td style='padding: 2px 8px'><div", "<td style='padding: 2px 8px; "
                          "width: 260px'><div")
    return (f"<b>Lengths of the training sequences</b> (orange: longer than max_len={max_len}, "
            f"cut){table}")


def preview_rows(data, n: int = 5) -> tuple[tuple[str, ...], list[tuple]]:
    """``(header, rows)``: the first ``n`` training examples decoded from a batch."""
    batch = next(data.batches("train", epoch=0, train=False))
    task = data.family
    rows = [task.preview(data.tokenizer, data.label_names, batch, i)
            for i in range(min(n, len(batch["tokens"])))]
    return task.preview_header, rows


def data_preview_html(data) -> str:
    """Summary (task, columns, vocabulary, sizes, notes), label names, examples and the
    length histogram of a prepared dataset."""
    s = data.summary()
    columns = ", ".join(f"{k}={v!r}" for k, v in s["columns"].items()
                        if k in ("text", "label", "target") and v)
    parts = [f"<b>{E(str(data.config.dataset))}</b>: task <b>{E(s['task'])}</b>, columns "
             f"{E(columns)}, vocabulary {s['vocab_size']:,} ({E(data.tokenizer.kind)} tokens)"]
    if data.label_names:
        shown = ", ".join(data.label_names[:30]) + (" ..." if len(data.label_names) > 30 else "")
        parts.append(f"<b>{len(data.label_names)} labels</b>: {E(shown)}")
    parts.append(table_html(("split", "examples", "tokens", "cut at max_len"),
                            [(k, fmt(v["examples"]), fmt(v["tokens"]), fmt(v["cut"]))
                             for k, v in s["splits"].items()]))
    parts += [f"note: {E(note)}" for note in s["notes"]]
    header, rows = preview_rows(data)
    parts.append("<b>Examples</b>" + table_html(header, rows))
    lengths = data.stats["train"].get("lengths")
    if lengths is not None:
        parts.append(histogram_html(lengths, data.config.max_len))
    else:
        parts.append(f"<i>Language modelling reads windows of max_len={data.config.max_len} "
                     "tokens from the joined text; there are no sequence lengths.</i>")
    return "<br>".join(parts)


# --- probes -------------------------------------------------------------------------------
def example_batch(data, index: int = 0, split: str = "validation") -> dict[str, np.ndarray]:
    """Example ``index`` of ``split`` as a ``[1, max_len]`` batch (fixed shape, so probes
    compile once); seq2seq adds its teacher-forced decoder input."""
    rows, n = data.rows(split), data.config.max_len
    index = min(index, len(rows["lengths"]) - 1)

    def side(tokens, lengths):
        row = np.zeros((1, n), np.int32)
        row[0, : min(n, tokens.shape[1])] = tokens[index, :n]
        return row, np.arange(n)[None] < min(int(lengths[index]), n)

    batch = dict(zip(("tokens", "mask"), side(rows["tokens"], rows["lengths"]), strict=True))
    if "dec_tokens" in rows:
        batch["dec_tokens"], batch["dec_mask"] = side(rows["dec_tokens"], rows["dec_lengths"])
    if "labels" in rows:
        batch["labels"] = rows["labels"][index: index + 1]
    return batch


def with_target(batch: dict, ids: Sequence[int]) -> dict[str, np.ndarray]:
    """``batch`` with the decoder reading BOS then ``ids`` (cut to the batch's width)."""
    n = batch["tokens"].shape[1]
    dec = [BOS, *(int(i) for i in ids)][:n]
    return {**batch, "dec_tokens": np.pad(np.asarray(dec, np.int32), (0, n - len(dec)))[None],
            "dec_mask": np.arange(n)[None] < len(dec)}


def text_batch(data, text: str) -> dict[str, np.ndarray]:
    """``text`` as a ``[1, max_len]`` batch; seq2seq reads ``text`` as 'source => target',
    the decoder seeing BOS then the target (just BOS without one)."""
    tok = data.tokenizer
    if not data.family.writes:  # spaces matter (a prompt's trailing space, char tokens)
        tokens, mask = tok.encode_padded(text, data.config.max_len)
        return {"tokens": tokens, "mask": mask}
    source, _, target = text.partition("=>")
    tokens, mask = tok.encode_padded(source.strip(), data.config.max_len)
    return with_target({"tokens": tokens, "mask": mask}, tok.encode([target.strip()])[0])


def probe_batch(data, text: str = "") -> dict[str, np.ndarray]:
    """The live probe: ``text`` if given, else the first validation example."""
    return text_batch(data, text) if text.strip() else example_batch(data)


def shown_tokens(data, batch: dict) -> tuple[list[str], list[str] | None]:
    """Display strings of the real source tokens, and of the decoder's (seq2seq)."""
    tok = data.tokenizer
    src = tok.tokens(batch["tokens"][0][batch["mask"][0]])
    if "dec_tokens" not in batch:
        return src, None
    return src, tok.tokens(batch["dec_tokens"][0][batch["dec_mask"][0]])


# --- results ------------------------------------------------------------------------------
def probabilities_html(names: Sequence[str], probs: np.ndarray) -> str:
    """Class probabilities as bars, most likely first."""
    order = np.argsort(-np.asarray(probs))
    rows = [(E(names[i]), f"<div style='background: #4c78a8; width: {100 * probs[i]:.1f}%; "
             "height: 0.9em'></div>", f"{probs[i]:.3f}") for i in order]
    return "<b>Probabilities</b>" + table_html(("class", "", "p"), rows, raw=True).replace(
        "<td style='padding: 2px 8px'><div", "<td style='padding: 2px 8px; width: 240px'><div")

