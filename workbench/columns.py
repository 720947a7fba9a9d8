"""Which columns hold the text, labels, tags or targets, and so which task, read from a
Hugging Face dataset's features.

- a translation pair (``Translation`` or a dict of strings) or source/target text -> seq2seq
- per-token tags (a list of class labels) beside a list of words               -> tag
- a class label (``ClassLabel``, or an int/string column named like a label)   -> classify
- text alone                                                                     -> lm

Any column can be named explicitly; a name that does not exist, or a choice that is
ambiguous, raises ``DataError`` listing the columns there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasets import ClassLabel, Features, List, Sequence, Translation, Value

TEXT_NAMES = ("text", "sentence", "content", "review", "document", "question", "tokens",
              "words", "source", "src", "input", "prompt")
LABEL_NAMES = ("label", "labels", "coarse_label", "category", "class", "sentiment", "intent",
               "topic", "ner_tags", "tags")
PAIRS = (("source", "target"), ("src", "tgt"), ("input", "output"), ("question", "answer"),
         ("en", "de"), ("en", "fr"), ("de", "en"), ("fr", "en"))


class DataError(ValueError):
    """The data cannot be used as asked; the message names the value and the fix."""


@dataclass(frozen=True)
class Columns:
    """The detected (or chosen) task and columns. For seq2seq, ``text`` is the source and
    ``target`` the target; a dotted name ``'translation.fr'`` reads inside a dict column.
    For tagging, ``text`` holds the word lists and ``label`` the aligned tags."""

    task: str
    text: str
    label: str | None = None
    target: str | None = None
    label_names: tuple[str, ...] | None = None


def _is_string(f) -> bool:
    return isinstance(f, Value) and f.dtype in ("string", "large_string")


def _is_int(f) -> bool:
    return isinstance(f, Value) and f.dtype.startswith(("int", "uint"))


def _inner(f):
    return f.feature if isinstance(f, List | Sequence) else None


def _is_word_list(f) -> bool:
    return _is_string(_inner(f))


def _is_tag_list(f) -> bool:
    inner = _inner(f)
    return isinstance(inner, ClassLabel) or _is_int(inner)


def _string_columns(features: Features) -> list[str]:
    """String columns, with translation dicts flattened to ``'col.lang'``."""
    out = []
    for name, f in features.items():
        if _is_string(f):
            out.append(name)
        elif isinstance(f, Translation):
            out.extend(f"{name}.{lang}" for lang in f.languages)
        elif isinstance(f, dict) and all(_is_string(v) for v in f.values()):
            out.extend(f"{name}.{key}" for key in f)
    return out


def feature_of(features: Features, column: str):
    """The feature of ``column``; ``'a.b'`` looks inside dict/translation column ``a``."""
    if column in features:
        return features[column]
    head, _, key = column.partition(".")
    if head in features and key:
        return Value("string")
    names = list(features) + [s for s in _string_columns(features) if s not in features]
    raise DataError(f"column {column!r} does not exist; the columns are {', '.join(names)}")


def _pick(candidates: list[str], preferred: tuple[str, ...], what: str, flag: str,
          features: Features) -> str:
    if len(candidates) == 1:
        return candidates[0]
    for name in preferred:
        if name in candidates:
            return name
    if not candidates:
        raise DataError(f"no {what} column found; the columns are {', '.join(features)} "
                        f"({_describe(features)}); name one with {flag}")
    raise DataError(f"several columns could be the {what} ({', '.join(candidates)}); "
                    f"choose one with {flag}")


def _describe(features: Features) -> str:
    return "; ".join(f"{k}: {_kind(v)}" for k, v in features.items())


def _label_names(f) -> tuple[str, ...] | None:
    f = _inner(f) or f
    return tuple(f.names) if isinstance(f, ClassLabel) else None


def _infer_task(features: Features, label: str | None, target: str | None) -> str:
    strings = _string_columns(features)
    if target is not None or any(isinstance(f, Translation | dict) for f in features.values()):
        return "seq2seq"
    if any(a in strings and b in strings for a, b in PAIRS):
        return "seq2seq"
    if label is not None:
        return "tag" if _is_tag_list(feature_of(features, label)) else "classify"
    words = [n for n, f in features.items() if _is_word_list(f)]
    if words and any(_is_tag_list(f) for f in features.values()):
        return "tag"
    if any(isinstance(f, ClassLabel) for f in features.values()):
        return "classify"
    if any(n in LABEL_NAMES and (_is_int(f) or _is_string(f)) for n, f in features.items()):
        return "classify"
    if strings:
        return "lm"
    raise DataError(f"cannot tell the task from the columns ({_describe(features)}); "
                    "name the text column and the task")


def detect_columns(features: Features, task: str | None = None, text: str | None = None,
                   label: str | None = None, target: str | None = None) -> Columns:
    """Detect the task and columns, honouring every explicit choice."""
    for column in (text, label, target):
        if column is not None:
            feature_of(features, column)
    columns = _detect(features, task or _infer_task(features, label, target), text, label,
                      target)
    _check_text(features, columns)
    return columns


def _check_text(features: Features, columns: Columns) -> None:
    """The text columns must hold text (word lists, for tagging)."""
    wanted = _is_word_list if columns.task == "tag" else _is_string
    for column in filter(None, (columns.text, columns.target)):
        f = feature_of(features, column)
        if not wanted(f):
            kind = "lists of words" if columns.task == "tag" else "strings"
            raise DataError(f"column {column!r} holds {_kind(f)}, not {kind}; choose a text "
                            f"column with --text-column (string columns: "
                            f"{', '.join(_string_columns(features)) or 'none'})")


def _kind(f) -> str:
    return f"{f.dtype} values" if isinstance(f, Value) else type(f).__name__


def _detect(features: Features, task: str, text, label, target) -> Columns:
    strings = _string_columns(features)
    if task == "seq2seq":
        return _seq2seq_columns(features, strings, text, target)
    if task == "tag":
        tags = [n for n, f in features.items() if _is_tag_list(f)]
        label = label or _pick(tags, ("ner_tags", "tags"), "tag", "--label-column", features)
        words = [n for n, f in features.items() if _is_word_list(f)]
        text = text or _pick(words, ("tokens", "words"), "word-list", "--text-column",
                             features)
        return Columns("tag", text, label, None, _label_names(features[label]))
    if task == "classify":
        if label is None:
            classes = [n for n, f in features.items() if isinstance(f, ClassLabel)]
            named = [n for n in LABEL_NAMES if n in features]
            label = _pick(classes or named, LABEL_NAMES, "label", "--label-column", features)
        texts = [s for s in strings if s != label]
        text = text or _pick(texts, TEXT_NAMES, "text", "--text-column", features)
        return Columns("classify", text, label, None, _label_names(features[label]))
    text = text or _pick(strings, TEXT_NAMES, "text", "--text-column", features)
    return Columns("lm", text)


def _seq2seq_columns(features, strings, source, target) -> Columns:
    if source is None or target is None:
        dicts = [n for n, f in features.items() if isinstance(f, Translation | dict)]
        pairs = [tuple(s for s in strings if s.startswith(d + "."))[:2] for d in dicts]
        pairs += [(s, t) for s, t in PAIRS if s in strings and t in strings]
        pair = next((p for p in pairs if len(p) == 2), None)
        if pair is None and len(strings) == 2:
            pair = (strings[0], strings[1])
        if pair is None:
            raise DataError(f"cannot tell source from target among {', '.join(strings)}; "
                            "name them with --text-column and --target-column")
        source, target = source or pair[0], target or pair[1]
    return Columns("seq2seq", source, None, target)


def column_values(ds, column: str) -> list:
    """Values of ``column``; ``'a.b'`` reads key ``b`` of dict column ``a``."""
    if column in ds.column_names:
        return ds[column][:]
    head, _, key = column.partition(".")
    return [row[key] for row in ds[head][:]]
