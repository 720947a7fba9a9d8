"""The setup JSON, all or nothing: every unknown section or field and every wrongly
typed value is listed in one ``ConfigError`` before anything changes."""

from __future__ import annotations

import difflib
import json
import math
import types
import typing

from ..config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
)

SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_problem(annotation, value) -> str | None:
    """Why ``value`` (from JSON) cannot be a field of type ``annotation``, or None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        annotation = next(a for a in args if a is not type(None))
    if annotation is bool:
        return None if isinstance(value, bool) else "expected true or false"
    if annotation is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else \
            "expected a whole number"
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "expected a number"
        return None if math.isfinite(value) else "expected a finite number"
    if annotation is str:
        return None if isinstance(value, str) else "expected text (a string in quotes)"
    if typing.get_origin(annotation) is tuple:  # data_files: [[split, path], ...]
        ok = isinstance(value, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in value)
        return None if ok else 'expected a list of [split, path] pairs, e.g. [["train", "a.csv"]]'
    return None


def _convert(annotation, value):
    """A checked JSON value as the field's Python value (lists -> tuples, ints -> floats)."""
    if isinstance(value, list):
        return tuple(tuple(p) for p in value)
    if isinstance(value, int) and not isinstance(value, bool) and float in (
            annotation, *typing.get_args(annotation)) and int not in typing.get_args(annotation):
        return float(value)
    return value


def make_config(cls, fields: dict, base: dict | None = None):
    """``cls`` from JSON ``fields`` over ``base`` (field values; None: the defaults),
    naming every unknown field and wrongly typed value at once (ConfigError)."""
    name = cls.__name__
    if not isinstance(fields, dict):
        raise ConfigError(f"the {name} section must be an object of fields, got {fields!r}")
    hints = typing.get_type_hints(cls)
    problems = []
    for key, value in fields.items():
        if key not in hints:
            problems.append(f"{name} has no field {key!r}{_did_you_mean(key, hints)}")
        elif (why := _type_problem(hints[key], value)) is not None:
            problems.append(f"{key}={value!r}: {why}")
    if problems:
        raise ConfigError("; ".join(problems))
    values = {**(base or {}), **{k: _convert(hints[k], v) for k, v in fields.items()}}
    return cls(**values)


def _task_to_data(setup: dict) -> None:
    """A setup exported before the task left the model config named it under 'model'
    (the task the data had): it becomes the data's task, unless the data names one."""
    model, data = setup.get("model"), setup.get("data", {})
    if isinstance(model, dict) and "task" in model and isinstance(data, dict):
        task = model.pop("task")
        if data.get("task") is None:
            setup["data"] = {**data, "task": task}


def parse_setup(text: str, base: dict | None = None
                ) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """The three configs of a ``Workbench.setup_json()`` text, all or nothing: one
    ConfigError (a ValueError) lists every problem (not JSON, an unknown section or field,
    a wrongly typed or invalid value) with its name. A section or field left out takes
    its value from ``base`` (``SetupForm.values()``: the form as it is), or the defaults."""
    try:
        setup = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"the setup is not valid JSON ({err.msg} at line {err.lineno}, "
                          f"column {err.colno}); nothing was changed") from None
    if not isinstance(setup, dict) or setup.get("workbench_setup") != 1:
        raise ConfigError("not a workbench setup: expected an object with "
                          "'workbench_setup': 1 and 'data', 'model', 'train' (Export "
                          "writes one); nothing was changed")
    problems, configs = [], []
    _task_to_data(setup)
    for key in setup:
        if key != "workbench_setup" and key not in SECTIONS:
            problems.append(f"unknown section {key!r}{_did_you_mean(key, SECTIONS)}; the "
                            f"sections are {', '.join(SECTIONS)}")
    for section, cls in SECTIONS.items():
        try:
            configs.append(make_config(cls, setup.get(section, {}),
                                       base and base.get(section)))
        except (ConfigError, TypeError) as err:
            problems.append(f"{section}: {err}")
    if problems:
        raise ConfigError("setup refused, nothing was changed: " + "; ".join(problems))
    return tuple(configs)
