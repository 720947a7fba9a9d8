"""Save and load a training run, atomically, verified, and without pickle. A checkpoint is
a directory:

- ``params.msgpack``: all of the model's nnx state (``nnx.to_pure_dict``): parameters, and
  the dropout RNG keys (as uint32 key data) and counts, so a resumed run draws the same
  dropout masks as one never stopped;
- ``optimizer.msgpack``: the nnx.Optimizer's state (step, optax state, injected learning rate);
- ``tokenizer.json``: ``TextTokenizer.to_json()``;
- ``meta.json``: format_version, configs (class name + fields; classes are looked up by name
  in ``workbench.config``), model_args, label_names, history, step, rng_key, extra, files,
  and ``sha256``: each file's digest, checked when it is loaded (a changed or corrupted
  file is refused, named). Checkpoints saved before digests existed load with a note.

The directory may hold other files (a user's notes, plots): ``save`` replaces only the
files above and leaves everything else alone. It writes the new files into a hidden
``.checkpoint.tmp-*`` folder inside the directory, fsyncs them, marks that folder
committed, then renames each file into place (``meta.json`` last) and removes the files of
the old checkpoint that the new one lacks. Until the mark, the old checkpoint is intact;
after it, the new one is what every reader sees (a save cut short after the mark is
finished by the next save, and read through in the meantime). While saving, the
directory is locked (``locks.py``): a second writer is refused with the first one's pid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, serialization, traverse_util

from .. import config as config_module
from ..data.tokenizer import TextTokenizer
from ..nn.models import build_model
from .checkpoint_files import (
    FORMAT_VERSION,
    META,
    OPTIMIZER,
    PARAMS,
    TOKENIZER,
    CheckpointError,
    digest,
    directory,
    foreign,
    verified_bytes,
    where,
    write_atomically,
)
from .checkpoint_meta import (
    config_entry,
    is_key,
    key_list,
    meta_bytes,
    pack,
    read_meta,
    revive_config,
)

MODEL_ARGS = ("task", "vocab_size", "n_classes", "target_vocab_size", "seed")


@dataclass
class Checkpoint:
    """A loaded run. ``optimizer`` is set only when ``load`` was given ``optimizer_for``."""

    model: nnx.Module
    configs: dict[str, Any]
    model_args: dict[str, Any]
    tokenizer: TextTokenizer | None = None
    label_names: tuple | None = None
    history: list[dict] = field(default_factory=list)
    step: int = 0
    rng_key: list[int] | None = None
    extra: dict = field(default_factory=dict)
    path: Path | None = None
    optimizer: nnx.Optimizer | None = None
    notes: list[str] = field(default_factory=list)  # e.g. saved without digests

    @property
    def model_config(self) -> config_module.ModelConfig:
        return self.configs["model"]

    @property
    def task(self) -> str:
        """The task the model was built for (its data's)."""
        return self.model_args["task"]


def save(path, *, model: nnx.Module, model_config, model_args: dict, optimizer=None,
         configs: dict | None = None, tokenizer: TextTokenizer | None = None,
         label_names: Iterable | None = None, history: Iterable[Mapping] = (), step: int = 0,
         rng_key=None, extra: dict | None = None) -> Path:
    """Write a checkpoint directory at ``path`` atomically; over an earlier checkpoint,
    only its files are replaced (anything else in the directory stays). ``model_args``
    are ``build_model``'s keywords. Returns the path."""
    target = Path(path)
    configs = dict(configs or {})
    if configs.setdefault("model", model_config) != model_config:
        raise CheckpointError(f"cannot save {target}: configs['model'] differs from "
                              "model_config; pass the model's config once, as model_config")
    unknown = set(model_args) - set(MODEL_ARGS)
    if unknown or not {"task", "vocab_size"} <= set(model_args):
        raise CheckpointError(f"cannot save {target}: model_args must hold task, vocab_size and "
                              f"only {', '.join(MODEL_ARGS)}; got {sorted(model_args)}")
    files = {PARAMS: pack(model)}
    if optimizer is not None:
        files[OPTIMIZER] = pack(optimizer)
    if tokenizer is not None:
        files[TOKENIZER] = tokenizer.to_json().encode("utf-8")
    meta = {"format_version": FORMAT_VERSION,
            "configs": {name: config_entry(target, name, c) for name, c in configs.items()},
            "model_args": dict(model_args),
            "label_names": None if label_names is None else list(label_names),
            "history": [dict(row) for row in history], "step": int(step),
            "rng_key": key_list(target, rng_key), "extra": dict(extra or {}),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": sorted(files),
            "sha256": {name: digest(data) for name, data in sorted(files.items())}}
    files[META] = meta_bytes(target, meta, configs)
    write_atomically(target, files)
    return target


def load(path, *, optimizer_for: Callable[[nnx.Module], nnx.Optimizer] | None = None
         ) -> Checkpoint:
    """Rebuild the model with ``build_model(configs['model'], **model_args)`` and restore all
    its nnx state. ``optimizer_for(model)``, if given, builds an optimizer for the restored
    model whose state is then restored too (see ``restore_optimizer``). Every file is
    checked against the sha256 that ``save`` recorded; a mismatch is a ``CheckpointError``
    naming the file."""
    root = directory(path)
    for attempt in range(3):  # a save finishing meanwhile changes meta.json: read again
        meta = read_meta(root)
        try:
            return _load(root, meta, optimizer_for)
        except CheckpointError:
            if attempt == 2 or _unchanged(root, meta):
                raise
    raise AssertionError("unreachable")


def _unchanged(root: Path, meta: dict) -> bool:
    try:
        return read_meta(root) == meta
    except CheckpointError:
        return True


def _load(root: Path, meta: dict, optimizer_for) -> Checkpoint:
    notes = [] if "sha256" in meta else [
        f"{root} was saved before checkpoints recorded sha256 digests: its files cannot be "
        "verified; save it again (e.g. train --resume, or Trainer.save) to add them"]
    configs = {name: revive_config(root / META, name, entry)
               for name, entry in meta["configs"].items()}
    try:
        model = build_model(configs["model"], **meta["model_args"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{root / META}: cannot build the model from its config and "
                              f"model_args ({e}); fix meta.json or re-save the run") from e
    _restore(root / PARAMS, verified_bytes(root, meta, PARAMS), model, "the model",
             "the model built from meta.json; was meta.json edited, or params.msgpack copied "
             "from another run? re-save the run")
    tokenizer = None
    if TOKENIZER in meta["files"]:
        data = verified_bytes(root, meta, TOKENIZER)
        try:
            tokenizer = TextTokenizer.from_json(data.decode("utf-8"))
        except Exception as e:  # any decoding failure means a corrupt file
            raise CheckpointError(f"{root / TOKENIZER} is corrupt ({e}); re-save the run") from e
    optimizer = None
    if optimizer_for is not None:
        optimizer = optimizer_for(model)
        _restore_optimizer(root, meta, optimizer)
    labels = meta.get("label_names")
    return Checkpoint(model, configs, dict(meta["model_args"]), tokenizer,
                      None if labels is None else tuple(labels), meta["history"], meta["step"],
                      meta.get("rng_key"), meta["extra"], root, optimizer, notes)


def restore_optimizer(checkpoint_path, optimizer: nnx.Optimizer) -> None:
    """Load the checkpoint's optimizer state into ``optimizer``, which must be built for the
    restored model with the same optimizer kind (e.g. ``make_optimizer``)."""
    root = directory(checkpoint_path)
    _restore_optimizer(root, read_meta(root), optimizer)


def _restore_optimizer(root: Path, meta: dict, optimizer: nnx.Optimizer) -> None:
    if OPTIMIZER not in meta["files"]:
        raise CheckpointError(f"{root} was saved without optimizer state; pass optimizer= to "
                              "save(), or continue with a fresh optimizer")
    _restore(root / OPTIMIZER, verified_bytes(root, meta, OPTIMIZER), optimizer, "the optimizer",
             "build it with nnx.Optimizer(checkpoint.model, make_optimizer(...), "
             "wrt=nnx.Param) for the restored model")


def verify(path) -> dict:
    """Check every file of the checkpoint against its recorded sha256 (no model is
    built); returns the meta. Raises ``CheckpointError`` naming a file that changed."""
    root = directory(path)
    meta = read_meta(root)
    for name in meta["files"]:
        verified_bytes(root, meta, name)
    return meta


def holds_checkpoint(path) -> bool:
    """True when the directory ``path`` holds a checkpoint's meta.json (not checked)."""
    return Path(path).is_dir() and where(Path(path), META).is_file()


def foreign_files(path) -> list[str]:
    """Names in the directory ``path`` that no workbench save wrote (a user's files)."""
    return foreign(Path(path))


def _restore(file: Path, data: bytes, node, what: str, fix: str) -> None:
    """Load ``data`` (the bytes of ``file``) into ``node``'s nnx state; the structure,
    shapes and dtypes must match."""
    try:
        tree = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises many types on bad bytes
        raise CheckpointError(f"{file} is corrupt (cannot decode it: {e}); restore it from a "
                              "backup or re-save the run") from e
    stored = traverse_util.flatten_dict(tree) if isinstance(tree, dict) else {}
    if not stored or not all(isinstance(v, np.ndarray) for v in stored.values()):
        raise CheckpointError(f"{file} is corrupt (it holds no tree of arrays); restore it "
                              "from a backup or re-save the run")
    state = nnx.state(node)
    values = {}
    for path, var in nnx.to_flat_state(state):
        current, name = var.get_value(), "/".join(map(str, path))
        expected = jax.random.key_data(current) if is_key(current) else current
        value = stored.pop(path, None)
        if value is None or (value.shape, value.dtype) != (expected.shape, expected.dtype):
            got = "nothing" if value is None else f"shape {value.shape} {value.dtype}"
            raise CheckpointError(f"{file} does not match {what} at {name!r}: {got} in the "
                                  f"checkpoint, shape {expected.shape} {expected.dtype} in "
                                  f"{what}; {fix}")
        value = jnp.asarray(value)
        values[path] = (jax.random.wrap_key_data(value, impl=jax.random.key_impl(current))
                        if is_key(current) else value)
    if stored:
        raise CheckpointError(f"{file} does not match {what}: it holds "
                              f"{'/'.join(map(str, next(iter(stored))))!r}, which {what} "
                              f"lacks; {fix}")
    nnx.replace_by_pure_dict(state, traverse_util.unflatten_dict(values))
    nnx.update(node, state)
