"""Evaluation metrics for every task: classification, tagging, translation, language models.

Plain Python and NumPy in, host floats out; nothing here touches JAX. Where a well-kept
library defines the number (sacrebleu for BLEU), we call it instead of re-deriving it.
Every ratio whose denominator is zero (no predictions, no true items, no tokens) is 0.0.

Entity chunking follows conlleval, as seqeval does in its default (non-strict) mode:

- ``B-X`` always starts an entity of type X;
- ``I-X`` continues an entity of type X, and starts one after ``O`` or after another type;
- ``O`` ends the current entity; a tag without a prefix (``PER``) counts as ``I-PER``.

Under these lenient rules BIO (IOB2) and IOB1 decode identically: IOB1 writes ``B-`` only
to split two adjacent entities of the same type, and that is exactly what ``B-`` does here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

SCHEMES = ("BIO", "IOB1")


# --- validation -------------------------------------------------------------------------

def _same_length(a: Sequence, b: Sequence, what: str, a_name: str, b_name: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{a_name} has {len(a)} {what} but {b_name} has {len(b)}; "
                         "they must pair up one to one")


def _paired_seqs(true_seqs: Sequence[Sequence], pred_seqs: Sequence[Sequence]) -> None:
    """Check there are as many predicted sequences as true ones, each of the same length."""
    _same_length(true_seqs, pred_seqs, "sequences", "true_seqs", "pred_seqs")
    for i, (t, p) in enumerate(zip(true_seqs, pred_seqs, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"sequence {i} has {len(t)} true tags but {len(p)} predicted tags")


def _ratio(num: float, den: float) -> float:
    return float(num) / den if den else 0.0


def _prf(tp: int, n_pred: int, n_true: int) -> dict[str, float]:
    """Precision = tp / predicted, recall = tp / true, F1 = their harmonic mean."""
    precision, recall = _ratio(tp, n_pred), _ratio(tp, n_true)
    return {"precision": precision, "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall)}


# --- classification ---------------------------------------------------------------------

def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts ``[C, C]`` (int64): entry ``[i, j]`` is how many examples of true class ``i``
    were predicted as class ``j``. Rows sum to each class's support."""
    if int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes={n_classes!r} must be an integer >= 1")
    t, p = np.asarray(y_true), np.asarray(y_pred)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"{name} must be a flat sequence of integer class ids, "
                             f"got shape {a.shape} and dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            bad = a[(a < 0) | (a >= n_classes)][0]
            raise ValueError(f"{name} holds class id {bad}, outside [0, {n_classes})")
    _same_length(t, p, "labels", "y_true", "y_pred")
    flat = t.astype(np.int64) * n_classes + p.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_report(y_true: Sequence[int], y_pred: Sequence[int],
                          label_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support and their macro F1.

    ``accuracy`` is the fraction of examples predicted right; ``macro_f1`` is the unweighted
    mean of the per-class F1 over every named class (so rare classes count as much as common
    ones); ``confusion`` is :func:`confusion_matrix` as nested lists; ``support`` is how
    many examples truly belong to the class.
    """
    names = list(label_names)
    if len(set(names)) != len(names):
        dupes = sorted(n for n, c in Counter(names).items() if c > 1)
        raise ValueError(f"label_names must be distinct; repeated: {', '.join(dupes)}")
    cm = confusion_matrix(y_true, y_pred, len(names))
    tp, n_pred, n_true = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    per_class = {name: {**_prf(int(tp[c]), int(n_pred[c]), int(n_true[c])),
                        "support": int(n_true[c])} for c, name in enumerate(names)}
    return {
        "accuracy": _ratio(int(tp.sum()), int(cm.sum())),
        "macro_f1": float(np.mean([s["f1"] for s in per_class.values()])),
        "confusion": cm.tolist(),
        "per_class": per_class,
    }


# --- tagging ----------------------------------------------------------------------------

def _split_tag(tag: str, position: int, scheme: str) -> tuple[str, str]:
    """``'B-PER' -> ('B', 'PER')``, ``'O' -> ('O', '')``, ``'PER' -> ('I', 'PER')``."""
    if not isinstance(tag, str):
        raise ValueError(f"tag {tag!r} at position {position} is {type(tag).__name__}, not a "
                         "tag string such as 'B-PER'; map tag ids to names first")
    if tag == "O":
        return "O", ""
    prefix, dash, rest = tag.partition("-")
    if dash and prefix in ("B", "I"):
        return prefix, rest or "_"
    if tag in ("B", "I"):  # a bare prefix: an untyped entity, as seqeval names it
        return tag, "_"
    if dash and prefix in ("E", "S", "L", "U"):
        raise ValueError(f"tag {tag!r} at position {position} uses prefix {prefix}-, which "
                         f"scheme {scheme!r} does not have (it uses B-, I- and O)")
    return "I", tag


def entity_spans(tags: Sequence[str], scheme: str = "BIO") -> list[tuple[str, int, int]]:
    """The entities in one tag sequence as ``(type, start, end_exclusive)``, in order.

    Chunking is conlleval's (see the module docstring), so ``['O', 'I-PER', 'I-LOC',
    'B-LOC']`` gives ``[('PER', 1, 2), ('LOC', 2, 3), ('LOC', 3, 4)]`` under both schemes.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not supported; choose one of {', '.join(SCHEMES)}")
    if isinstance(tags, str):
        raise ValueError(f"tags must be a sequence of tag strings, not one string {tags!r}")
    spans: list[tuple[str, int, int]] = []
    kind, start = "", -1  # the open entity's type and start; start < 0 when none is open
    for i, tag in enumerate(tags):
        prefix, type_ = _split_tag(tag, i, scheme)
        continues = prefix == "I" and start >= 0 and type_ == kind
        if start >= 0 and not continues:
            spans.append((kind, start, i))
            start = -1
        if prefix != "O" and not continues:
            kind, start = type_, i
    if start >= 0:
        spans.append((kind, start, len(tags)))
    return spans


def entity_scores(true_seqs: Sequence[Sequence[str]], pred_seqs: Sequence[Sequence[str]],
                  scheme: str = "BIO") -> dict:
    """Entity-level precision, recall and F1 (micro-averaged), as conlleval and seqeval count.

    A predicted entity is correct only if its type, start and end all match a true entity
    in the same sequence. ``per_type`` gives the same three numbers for each type seen in
    either side, with ``support`` = the number of true entities of that type.
    """
    _paired_seqs(true_seqs, pred_seqs)
    true_spans = {(i, *s) for i, seq in enumerate(true_seqs) for s in entity_spans(seq, scheme)}
    pred_spans = {(i, *s) for i, seq in enumerate(pred_seqs) for s in entity_spans(seq, scheme)}
    hits = true_spans & pred_spans
    n_true, n_pred, n_hit = (Counter(s[1] for s in spans)
                             for spans in (true_spans, pred_spans, hits))
    per_type = {kind: {**_prf(n_hit[kind], n_pred[kind], n_true[kind]), "support": n_true[kind]}
                for kind in sorted(n_true.keys() | n_pred.keys())}
    return {**_prf(len(hits), len(pred_spans), len(true_spans)), "per_type": per_type}


def token_accuracy(true_seqs: Sequence[Sequence], pred_seqs: Sequence[Sequence]) -> float:
    """The fraction of tokens, over all sequences, whose predicted tag equals the true one."""
    _paired_seqs(true_seqs, pred_seqs)
    right = sum(t == p for ts, ps in zip(true_seqs, pred_seqs, strict=True)
                for t, p in zip(ts, ps, strict=True))
    return _ratio(right, sum(len(ts) for ts in true_seqs))


# --- generation -------------------------------------------------------------------------

def _strings(hypotheses: Sequence[str], references: Sequence[str]) -> tuple[list[str], list[str]]:
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(texts, str):
            raise ValueError(f"{name} must be a sequence of strings, not one string")
        bad = next((i for i, s in enumerate(texts) if not isinstance(s, str)), None)
        if bad is not None:
            raise ValueError(f"{name}[{bad}] is {type(texts[bad]).__name__}, not str")
    _same_length(hypotheses, references, "strings", "hypotheses", "references")
    return list(hypotheses), list(references)


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU on a 0-100 scale, as ``sacrebleu.corpus_bleu`` computes it (13a
    tokenisation, one reference per hypothesis, n-grams up to 4).

    It pools n-gram counts over the corpus, so a corpus without any 4-gram scores 0.
    An empty corpus scores 0.0.
    """
    hyps, refs = _strings(hypotheses, references)
    if not hyps:
        return 0.0
    from sacrebleu.metrics import BLEU  # here: the app imports the tasks, not sacrebleu

    return float(BLEU().corpus_score(hyps, [refs]).score)


def bleu_signature() -> str:
    """sacreBLEU's signature of ``bleu``'s settings (``nrefs:1|case:mixed|eff:no|tok:13a|
    smooth:exp|version:...``), printed beside a score so it can be compared."""
    from sacrebleu.metrics import BLEU

    scorer = BLEU()
    scorer.corpus_score(["a"], [["a"]])  # the signature names the references counted
    return str(scorer.get_signature())


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """The fraction of hypotheses equal to their reference in the words BLEU compares:
    both split by sacreBLEU's 13a tokenizer, so whitespace runs, and the space a word-level
    tokenizer puts before punctuation ("end ." for "end."), do not count."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    hyps, refs = _strings(hypotheses, references)
    words = Tokenizer13a()
    same = sum(words(h).split() == words(r).split() for h, r in zip(hyps, refs, strict=True))
    return _ratio(same, len(hyps))


# --- language models --------------------------------------------------------------------

def perplexity(mean_nll: float) -> float:
    """``exp(mean_nll)``: the number of equally likely choices that would leave the model as
    unsure as it is, from the mean cross-entropy in nats. Overflow gives ``inf``."""
    try:
        return math.exp(float(mean_nll))
    except OverflowError:
        return math.inf


def bits_per_token(mean_nll: float) -> float:
    """The mean cross-entropy in bits (``nats / ln 2``): bits per character for a character
    model, the figure usually quoted for text8 or enwik8."""
    return float(mean_nll) / math.log(2)
