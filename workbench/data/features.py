"""What a column holds, read off its ``datasets`` feature: text, a word list, a class
label, a list of tags. The predicates column detection (``columns.py``) is built from.
"""

from __future__ import annotations

import datasets
from datasets import ClassLabel, Features, List, Sequence, Translation, Value

_JSON = getattr(datasets, "Json", None)  # mixed-type JSON columns (datasets >= 4)
TEXT_NAMES = ("text", "sentence", "content", "review", "document", "question", "tokens",
              "words", "source", "src", "input", "prompt")
TAG_NAMES = ("ner_tags", "tags", "labels", "label", "ner", "pos", "pos_tags", "chunk_tags")


def is_string(f) -> bool:
    return isinstance(f, Value) and f.dtype in ("string", "large_string")


def is_json(f) -> bool:
    return _JSON is not None and isinstance(f, _JSON)


def is_int(f) -> bool:
    return isinstance(f, Value) and f.dtype.startswith(("int", "uint"))


def is_number(f) -> bool:
    """int, float or bool values (what a CSV label column with blanks or decimals is)."""
    return isinstance(f, Value) and f.dtype.startswith(("int", "uint", "float", "bool"))


def is_scalar_label(f) -> bool:
    return isinstance(f, ClassLabel) or is_number(f) or is_string(f) or is_json(f)


def inner_feature(f):
    return f.feature if isinstance(f, List | Sequence) else None


def is_word_list(f) -> bool:
    return is_string(inner_feature(f))


def is_tag_list(f) -> bool:
    inside = inner_feature(f)
    return isinstance(inside, ClassLabel) or is_int(inside)


def tag_named(name: str) -> bool:
    low = name.lower()
    return low in TAG_NAMES or low.endswith(("_tags", "_labels"))


def tag_columns(features: Features) -> list[str]:
    """Per-word tag columns: lists of class labels or ints, or lists of strings in a
    column named like tags (CoNLL-style JSON: ``"tags": ["B-PER", "O"]``)."""
    return [n for n, f in features.items()
            if is_tag_list(f) or (is_word_list(f) and tag_named(n))]


def word_columns(features: Features, tags: list[str]) -> list[str]:
    return [n for n, f in features.items() if is_word_list(f) and n not in tags]


def string_columns(features: Features) -> list[str]:
    """String columns, with translation dicts flattened to ``'col.lang'``."""
    out = []
    for name, f in features.items():
        if is_string(f):
            out.append(name)
        elif isinstance(f, Translation):
            out.extend(f"{name}.{lang}" for lang in f.languages)
        elif isinstance(f, dict) and all(is_string(v) for v in f.values()):
            out.extend(f"{name}.{key}" for key in f)
    return out


def text_columns(features: Features) -> list[str]:
    """Columns that can hold one text per row: strings, and mixed (JSON) columns named
    like text, whose cells are checked row by row."""
    return string_columns(features) + [n for n, f in features.items()
                                        if is_json(f) and n.lower() in TEXT_NAMES]


def feature_kind(f) -> str:
    if isinstance(f, Value):
        return f"{f.dtype} values"
    if isinstance(f, ClassLabel):
        return "class labels"
    if is_json(f):
        return "mixed values (Json)"
    if inner_feature(f) is not None:
        return f"lists of {feature_kind(inner_feature(f))}"
    return type(f).__name__


def label_names(f) -> tuple[str, ...] | None:
    f = inner_feature(f) or f
    return tuple(f.names) if isinstance(f, ClassLabel) else None
