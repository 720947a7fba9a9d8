"""The task families, one class each (``classify``, ``lm``, ``tag``, ``seq2seq``) over
``base.Task``; what a batch holds and how logits are scored (``batches``); the metrics of
every family (``metrics``).

Importing this package defines the four classes, and so registers them: ``task_named``
finds a task by the name a config or a saved run gives. A fifth task is one more
subclass of ``Task`` (see CONTRIBUTING.md). The layer sits under ``nn`` and ``data``,
which read a task's facts instead of comparing its name."""

from .base import TASKS, Task, task_named
from .classify import Classify
from .lm import LanguageModelling
from .seq2seq import Seq2Seq
from .tag import Tag

__all__ = ["TASKS", "Classify", "LanguageModelling", "Seq2Seq", "Tag", "Task", "task_named"]
