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

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
import types
import typing
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
from . import locks

FORMAT_VERSION = 1
PARAMS, OPTIMIZER, TOKENIZER, META = (
    "params.msgpack", "optimizer.msgpack", "tokenizer.json", "meta.json")
MODEL_ARGS = ("vocab_size", "n_classes", "target_vocab_size", "seed")
OWN_FILES = (PARAMS, OPTIMIZER, TOKENIZER, META)  # what save may replace or remove
STAGING = ".checkpoint.tmp-"  # prefix of the hidden folder a save writes first
COMMITTED = ".committed"  # in a staging folder: complete, and the new checkpoint


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read; the message names the path and the fix."""


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
    if unknown or "vocab_size" not in model_args:
        raise CheckpointError(f"cannot save {target}: model_args must hold vocab_size and "
                              f"only {', '.join(MODEL_ARGS)}; got {sorted(model_args)}")
    files = {PARAMS: _pack(model)}
    if optimizer is not None:
        files[OPTIMIZER] = _pack(optimizer)
    if tokenizer is not None:
        files[TOKENIZER] = tokenizer.to_json().encode("utf-8")
    meta = {"format_version": FORMAT_VERSION,
            "configs": {name: _config_entry(target, name, c) for name, c in configs.items()},
            "model_args": dict(model_args),
            "label_names": None if label_names is None else list(label_names),
            "history": [dict(row) for row in history], "step": int(step),
            "rng_key": _key_list(target, rng_key), "extra": dict(extra or {}),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": sorted(files),
            "sha256": {name: _digest(data) for name, data in sorted(files.items())}}
    files[META] = _meta_bytes(target, meta, configs)
    _write_atomically(target, files)
    return target


def load(path, *, optimizer_for: Callable[[nnx.Module], nnx.Optimizer] | None = None
         ) -> Checkpoint:
    """Rebuild the model with ``build_model(configs['model'], **model_args)`` and restore all
    its nnx state. ``optimizer_for(model)``, if given, builds an optimizer for the restored
    model whose state is then restored too (see ``restore_optimizer``). Every file is
    checked against the sha256 that ``save`` recorded; a mismatch is a ``CheckpointError``
    naming the file."""
    root = _directory(path)
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
    configs = {name: _revive_config(root / META, name, entry)
               for name, entry in meta["configs"].items()}
    try:
        model = build_model(configs["model"], **meta["model_args"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{root / META}: cannot build the model from its config and "
                              f"model_args ({e}); fix meta.json or re-save the run") from e
    _restore(root / PARAMS, _verified(root, meta, PARAMS), model, "the model",
             "the model built from meta.json; was meta.json edited, or params.msgpack copied "
             "from another run? re-save the run")
    tokenizer = None
    if TOKENIZER in meta["files"]:
        data = _verified(root, meta, TOKENIZER)
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
    root = _directory(checkpoint_path)
    _restore_optimizer(root, read_meta(root), optimizer)


def _restore_optimizer(root: Path, meta: dict, optimizer: nnx.Optimizer) -> None:
    if OPTIMIZER not in meta["files"]:
        raise CheckpointError(f"{root} was saved without optimizer state; pass optimizer= to "
                              "save(), or continue with a fresh optimizer")
    _restore(root / OPTIMIZER, _verified(root, meta, OPTIMIZER), optimizer, "the optimizer",
             "build it with nnx.Optimizer(checkpoint.model, make_optimizer(...), "
             "wrt=nnx.Param) for the restored model")


def verify(path) -> dict:
    """Check every file of the checkpoint against its recorded sha256 (no model is
    built); returns the meta. Raises ``CheckpointError`` naming a file that changed."""
    root = _directory(path)
    meta = read_meta(root)
    for name in meta["files"]:
        _verified(root, meta, name)
    return meta


def read_configs(path) -> dict[str, Any]:
    """The checkpoint's configs (``ModelConfig``, ``DataConfig``, ...) from meta.json alone."""
    root = _directory(path)
    return {name: _revive_config(root / META, name, entry)
            for name, entry in read_meta(root)["configs"].items()}


def holds_checkpoint(path) -> bool:
    """True when the directory ``path`` holds a checkpoint's meta.json (not checked)."""
    return Path(path).is_dir() and _where(Path(path), META).is_file()


def foreign_files(path) -> list[str]:
    """Names in the directory ``path`` that no workbench save wrote (a user's files)."""
    return _foreign(Path(path))


def read_meta(path) -> dict:
    """The checkpoint's meta.json, checked (cheap: reads no arrays and hashes nothing)."""
    root = _directory(path)
    file = root / META
    try:
        text = _read(root, META).decode("utf-8")
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
        if not isinstance(name, str) or not _where(root, name).is_file():
            raise CheckpointError(f"{root} is incomplete: {name} is missing; copy the whole "
                                  "checkpoint directory, or re-save the run")
    return meta


def _pack(node) -> bytes:
    """msgpack of ``nnx.state(node)`` as a pure nested dict of numpy arrays."""
    def plain(var):
        value = var.get_value()
        return np.asarray(jax.random.key_data(value) if _is_key(value) else value)
    return serialization.msgpack_serialize(nnx.to_pure_dict(nnx.state(node), plain))


def _config_entry(target: Path, name: str, config) -> dict:
    cls = type(config)
    if not dataclasses.is_dataclass(config) or getattr(config_module, cls.__name__, 0) is not cls:
        raise CheckpointError(f"cannot save {target}: config {name!r} is a {cls.__name__}; only "
                              "dataclasses defined in workbench.config can be restored")
    return {"class": cls.__name__, "fields": {f.name: getattr(config, f.name)
                                              for f in dataclasses.fields(config) if f.init}}


def _meta_bytes(target: Path, meta: dict, configs: dict) -> bytes:
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
        if _revive_config(target, name, entry) != configs[name]:
            raise CheckpointError(f"cannot save {target}: config {name!r} does not survive "
                                  "JSON; give its fields plain, annotated types")
    return text.encode("utf-8")


def _key_list(target: Path, key) -> list[int] | None:
    if key is None:
        return None
    data = np.asarray(jax.random.key_data(key) if _is_key(key) else key).ravel().tolist()
    if not data or not all(isinstance(v, int) and 0 <= v < 2**32 for v in data):
        raise CheckpointError(f"cannot save {target}: rng_key must be a jax key or uint32 "
                              "key data, e.g. jax.random.key(0)")
    return data


def _write_atomically(target: Path, files: dict[str, bytes]) -> None:
    """Replace the checkpoint files in ``target`` by ``files`` (see the module docstring);
    anything else in ``target`` stays. A directory this process holds the lock on (a CLI
    run folder, checked when it was opened) is a run folder whatever else it holds."""
    vouched = locks.held(target) is not None
    if not vouched:
        _refuse_foreign(target)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        with locks.hold(target, CheckpointError, "wait for it to finish, or save elsewhere"):
            _finish_interrupted(target)
            if not vouched:
                _refuse_foreign(target)
            tmp = Path(tempfile.mkdtemp(prefix=STAGING, dir=target))
            moved: list[str] = []
            try:
                for name, data in files.items():  # meta.json last
                    _write_file(tmp / name, data)
                _fsync_dir(tmp)
                _write_file(tmp / COMMITTED, b"")  # from here on, this is the checkpoint
                _fsync_dir(tmp)
                _move_in(tmp, target, list(files), moved)
            except BaseException as err:
                if not moved:  # nothing replaced yet: the old checkpoint is intact
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                # committed and half moved: finish now, or leave it committed for readers
                # and the next save to finish
                finished = False
                with contextlib.suppress(OSError):
                    _move_in(tmp, target, list(files), moved)
                    finished = True
                if not (finished and isinstance(err, Exception)):
                    raise
    finally:
        if created:
            with contextlib.suppress(OSError):
                target.rmdir()  # only if the save left it empty


def _refuse_foreign(target: Path) -> None:
    """A directory that holds files but no checkpoint is someone else's: refuse it."""
    if not target.exists():
        return
    if target.is_dir() and (_where(target, META).is_file() or not _foreign(target)):
        return
    raise CheckpointError(f"cannot save {target}: it exists and is not a checkpoint; "
                          "choose another path or remove it yourself")


def _foreign(target: Path) -> list[str]:
    """Names in ``target`` that are neither checkpoint files nor the workbench's own."""
    own = {*OWN_FILES, locks.LOCK_NAME, "metrics.json"}
    return sorted(p.name for p in target.iterdir()
                  if p.name not in own and not p.name.startswith(STAGING))


def _staged(root: Path) -> Path | None:
    """The committed staging folder of a save that was cut short, if any."""
    try:
        found = [p for p in root.iterdir() if p.name.startswith(STAGING)
                 and (p / COMMITTED).is_file()]
    except OSError:
        return None
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def _where(root: Path, name: str) -> Path:
    """Where ``name`` of the checkpoint in ``root`` is: in the committed staging folder of
    an unfinished save, else in ``root``."""
    staged = _staged(root)
    if staged is not None and (staged / name).is_file():
        return staged / name
    return root / name


def _read(root: Path, name: str) -> bytes:
    try:
        return _where(root, name).read_bytes()
    except FileNotFoundError:  # moved into place meanwhile
        return (root / name).read_bytes()


def _move_in(tmp: Path, target: Path, names: list[str], moved: list[str]) -> None:
    """Rename the staged files into ``target`` (meta.json last), remove the old
    checkpoint's files that the new one lacks, then the staging folder."""
    for name in sorted(names, key=lambda n: n == META):
        if (tmp / name).is_file():
            os.rename(tmp / name, target / name)
            moved.append(name)
    _fsync_dir(target)
    for name in set(OWN_FILES) - set(names):
        (target / name).unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _finish_interrupted(target: Path) -> None:
    """Complete a committed save that was cut short; discard uncommitted ones."""
    for tmp in sorted(target.glob(f"{STAGING}*")):
        if not (tmp / COMMITTED).is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        meta_file = tmp / META if (tmp / META).is_file() else target / META
        try:
            names = [*json.loads(meta_file.read_text("utf-8"))["files"], META]
        except (OSError, ValueError, KeyError, TypeError):
            names = [p.name for p in tmp.iterdir() if p.name in OWN_FILES]
        _move_in(tmp, target, names, [])


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _directory(path) -> Path:
    root = Path(path)
    if root.is_dir():
        return root
    if root.exists():
        raise CheckpointError(f"{root} is a file, not a checkpoint directory; pass the "
                              "directory that checkpoint.save wrote")
    raise CheckpointError(f"no checkpoint at {root}: the directory does not exist; check the "
                          "path")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified(root: Path, meta: dict, name: str) -> bytes:
    """The bytes of ``name``, checked against the sha256 recorded at save."""
    try:
        data = _read(root, name)
    except OSError as e:
        raise CheckpointError(f"cannot read {root / name} ({e.strerror or e}); check its "
                              "permissions, or copy the whole checkpoint again") from e
    expected = meta.get("sha256", {}).get(name)
    if expected is not None and _digest(data) != expected:
        raise CheckpointError(
            f"{root / name} is corrupt: its sha256 differs from the one recorded in "
            f"{META} when it was saved (the file changed since), so it was not loaded; "
            "restore it from a backup or re-save the run")
    return data


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
        expected = jax.random.key_data(current) if _is_key(current) else current
        value = stored.pop(path, None)
        if value is None or (value.shape, value.dtype) != (expected.shape, expected.dtype):
            got = "nothing" if value is None else f"shape {value.shape} {value.dtype}"
            raise CheckpointError(f"{file} does not match {what} at {name!r}: {got} in the "
                                  f"checkpoint, shape {expected.shape} {expected.dtype} in "
                                  f"{what}; {fix}")
        value = jnp.asarray(value)
        values[path] = (jax.random.wrap_key_data(value, impl=jax.random.key_impl(current))
                        if _is_key(current) else value)
    if stored:
        raise CheckpointError(f"{file} does not match {what}: it holds "
                              f"{'/'.join(map(str, next(iter(stored))))!r}, which {what} "
                              f"lacks; {fix}")
    nnx.replace_by_pure_dict(state, traverse_util.unflatten_dict(values))
    nnx.update(node, state)


def _revive_config(where: Path, name: str, entry):
    """A config dataclass back from its JSON entry; lists become tuples per the field types."""
    cls_name = entry.get("class") if isinstance(entry, dict) else None
    cls = getattr(config_module, cls_name, None) if isinstance(cls_name, str) else None
    fields = entry.get("fields") if isinstance(entry, dict) else None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and isinstance(fields, dict)):
        raise CheckpointError(f"{where}: config {name!r} has class {cls_name!r}, which "
                              "workbench.config does not define; upgrade the workbench")
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: lists become tuples
        hints = {}
    try:
        return cls(**{k: _revive(v, hints.get(k, Any)) for k, v in fields.items()})
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: config {name!r} ({cls_name}) rejects its stored "
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


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
