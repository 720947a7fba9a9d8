"""Which setup fields apply to which setup: the reason each greyed-out control gives, and
the bidirectional flag dropped where it cannot apply. Plain data in and out (no widgets),
read from the architecture, the task's facts (``tasks.Task``) and the dataset's name."""

from __future__ import annotations

from ..config import CAUSAL_TASKS
from ..tasks import task_named
from .setup_presets import BUILTIN_TASKS

# Why a task's own model option is greyed out for the tasks that do not list it
ONLY = {"pooling": "pooling: classification only", "tie_weights": "tied weights: language "
        "model only", "attention": "attention kind: recurrent seq2seq only"}


def applicable(model: dict, task: str | None) -> dict:
    """Model fields with the inapplicable bidirectional (greyed out) left unticked."""
    if model.get("bidirectional") and (model.get("arch") == "transformer" or
                                       task in CAUSAL_TASKS):
        return {**model, "bidirectional": False}
    return model


def greyed(arch: str, task: str | None, dataset: str) -> dict[str, str | None]:
    """Field -> why it does not apply to ``arch``, ``task`` (None: not known yet, so no
    task's options are greyed) and ``dataset``; None where it applies."""
    builtin_data, recurrent = dataset in BUILTIN_TASKS, arch != "transformer"
    family = None if task is None else task_named(task)

    def only(option: str) -> str | None:  # a task's own option, greyed for the others
        return None if family is None or option in family.options else ONLY[option]

    fixed = "a built-in's columns are fixed" if builtin_data else None
    return {
        "heads": None if not recurrent else "attention heads: Transformer only",
        "bidirectional": ("a Transformer encoder already reads both ways" if not recurrent
                          else "a language model must not see the tokens it predicts"
                          if family is not None and family.causal else None),
        "pooling": only("pooling"),
        "attention": only("attention") or (None if recurrent else ONLY["attention"]),
        "tie_weights": only("tie_weights"),
        "difficulty": (None if builtin_data and dataset != "prose" else
                       "difficulty: generated built-in datasets only"),
        "size": None if builtin_data else "examples: built-in datasets only",
        "hub_config": "a built-in has no hub configuration" if builtin_data else None,
        "label_column": fixed or ("no label column for this task"
                                  if family is not None and family.labels is None else None),
        "target_column": fixed or (None if family is None or family.target
                                   else "target: seq2seq only"),
        "text_column": fixed,
    }
