"""``meta.json``: the configs (class name + fields), model sizes, history and digests
of a checkpoint, written without pickle and revived into frozen configs on load."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx, serialization

from .. import config as config_module
from .checkpoint_files import (
    FORMAT_VERSION,
    META,
    PARAMS,
    CheckpointError,
    directory,
    read_file,
    where,
)


def read_configs(path) -> dict[str, Any]:
    """The checkpoint's configs (``ModelConfig``, ``DataConfig``, ...) from meta.json alone."""
    root = directory(path)
    return {name: revive_config(root / META, name, entry)
            for name, entry in read_meta(root)["configs"].items()}


def read_meta(path) -> dict:
    """The checkpoint's meta.json, checked (cheap: reads no arrays and hashes nothing)."""
    root = directory(path)
    file = root / META
    try:
        text = read_file(root, META).decode("utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{root} has no {META}: it is not a checkpoint, or its save was "
                              "interrupted; pass a directory written by checkpoint.save"
                              ) from None
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{file} is corrupt ({e}); restore it from a backup or re-save "
                              "the run") from e
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{file} is corrupt ({e}); restore it from a backup or re-save "
                              "the run") from e
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise CheckpointError(f"{root} was written by a newer workbench (format_version "
                              f"{version} > {FORMAT_VERSION}); upgrade the workbench to load it")
    kinds = {"format_version": int, "configs": dict, "model_args": dict, "history": list,
             "step": int, "extra": dict, "files": list}
    for key, kind in kinds.items():
        if not isinstance(meta, dict) or not isinstance(meta.get(key), kind):
            raise CheckpointError(f"{file} is corrupt: {key!r} is missing or not a "
                                  f"{kind.__name__}; re-save the run")
    digests = meta.get("sha256", {})
    if not (isinstance(digests, dict) and all(isinstance(v, str) for v in digests.values())):
        raise CheckpointError(f"{file} is corrupt: 'sha256' is not a mapping of file names to "
                              "digests; re-save the run")
    for name in (*meta["files"], PARAMS):
        if not isinstance(name, str) or not where(root, name).is_file():
            raise CheckpointError(f"{root} is incomplete: {name} is missing; copy the whole "
                                  "checkpoint directory, or re-save the run")
    return _task_in_model_args(meta)


def _task_in_model_args(meta: dict) -> dict:
    """A version-1 meta.json (saved before the task left ``ModelConfig``) kept the task
    in the model's config, where it defaulted to 'classify'; it is read as version 2 has
    it, a ``build_model`` argument, so every reader sees one layout."""
    model = meta["configs"].get("model")
    fields = model.get("fields") if isinstance(model, dict) else None
    if isinstance(fields, dict) and "task" not in meta["model_args"]:
        meta["model_args"]["task"] = fields.get("task", "classify")
    if isinstance(fields, dict):
        fields.pop("task", None)
    return meta


def pack(node) -> bytes:
    """msgpack of ``nnx.state(node)`` as a pure nested dict of numpy arrays."""
    def plain(var):
        value = var.get_value()
        return np.asarray(jax.random.key_data(value) if is_key(value) else value)
    return serialization.msgpack_serialize(nnx.to_pure_dict(nnx.state(node), plain))


def config_entry(target: Path, name: str, config) -> dict:
    cls = type(config)
    if not dataclasses.is_dataclass(config) or getattr(config_module, cls.__name__, 0) is not cls:
        raise CheckpointError(f"cannot save {target}: config {name!r} is a {cls.__name__}; only "
                              "dataclasses defined in workbench.config can be restored")
    return {"class": cls.__name__, "fields": {f.name: getattr(config, f.name)
                                              for f in dataclasses.fields(config) if f.init}}


def meta_bytes(target: Path, meta: dict, configs: dict) -> bytes:
    """meta.json's bytes; every config is checked to come back equal from them."""
    def plain(x):
        if hasattr(x, "tolist"):  # numpy / jax scalars and arrays in history or extra
            return np.asarray(x).tolist()
        raise TypeError(f"{type(x).__name__} {x!r} is not JSON-serialisable")
    try:
        text = json.dumps(meta, indent=1, default=plain)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"cannot save {target}: {e}; pass plain numbers, strings, "
                              "lists and dicts") from e
    for name, entry in json.loads(text)["configs"].items():
        if revive_config(target, name, entry) != configs[name]:
            raise CheckpointError(f"cannot save {target}: config {name!r} does not survive "
                                  "JSON; give its fields plain, annotated types")
    return text.encode("utf-8")


def key_list(target: Path, key) -> list[int] | None:
    if key is None:
        return None
    data = np.asarray(jax.random.key_data(key) if is_key(key) else key).ravel().tolist()
    if not data or not all(isinstance(v, int) and 0 <= v < 2**32 for v in data):
        raise CheckpointError(f"cannot save {target}: rng_key must be a jax key or uint32 "
                              "key data, e.g. jax.random.key(0)")
    return data


def revive_config(source: Path, name: str, entry):
    """A config dataclass back from its JSON entry; lists become tuples per the field types."""
    cls_name = entry.get("class") if isinstance(entry, dict) else None
    cls = getattr(config_module, cls_name, None) if isinstance(cls_name, str) else None
    fields = entry.get("fields") if isinstance(entry, dict) else None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and isinstance(fields, dict)):
        raise CheckpointError(f"{source}: config {name!r} has class {cls_name!r}, which "
                              "workbench.config does not define; upgrade the workbench")
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: lists become tuples
        hints = {}
    try:
        return cls(**{k: _revive(v, hints.get(k, Any)) for k, v in fields.items()})
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: config {name!r} ({cls_name}) rejects its stored "
                              f"fields ({e}); upgrade the workbench or fix meta.json") from e


def _revive(value, hint=Any):
    """JSON ``value`` back as a field value: lists become tuples (frozen configs hold tuples)
    unless ``hint`` says list; ``save`` checks that every config comes back equal."""
    if not isinstance(value, list):
        return value
    items = [_revive(v) for v in value]
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = typing.get_args(hint) if union else (hint,)
    return items if any((typing.get_origin(o) or o) is list for o in options) else tuple(items)


def is_key(x) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
