"""The files of a checkpoint folder, written atomically and read back verified.

A save stages its files in a hidden folder, marks it committed, then renames them into
place (see ``checkpoint``); every file's sha256 is recorded and checked on reading."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import CheckpointError
from . import locks

# 2: the task is one of ``model_args`` (it comes from the data), no longer a ModelConfig
# field; ``checkpoint_meta.read_meta`` reads version 1 by moving it there.
FORMAT_VERSION = 2


PARAMS, OPTIMIZER, TOKENIZER, META = (
    "params.msgpack", "optimizer.msgpack", "tokenizer.json", "meta.json")


OWN_FILES = (PARAMS, OPTIMIZER, TOKENIZER, META)  # what save may replace or remove


STAGING = ".checkpoint.tmp-"  # prefix of the hidden folder a save writes first


COMMITTED = ".committed"  # in a staging folder: complete, and the new checkpoint


def write_atomically(target: Path, files: dict[str, bytes]) -> None:
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
    if target.is_dir() and (where(target, META).is_file() or not foreign(target)):
        return
    raise CheckpointError(f"cannot save {target}: it exists and is not a checkpoint; "
                          "choose another path or remove it yourself")


def foreign(target: Path) -> list[str]:
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


def where(root: Path, name: str) -> Path:
    """Where ``name`` of the checkpoint in ``root`` is: in the committed staging folder of
    an unfinished save, else in ``root``."""
    staged = _staged(root)
    if staged is not None and (staged / name).is_file():
        return staged / name
    return root / name


def read_file(root: Path, name: str) -> bytes:
    try:
        return where(root, name).read_bytes()
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


def directory(path) -> Path:
    root = Path(path)
    if root.is_dir():
        return root
    if root.exists():
        raise CheckpointError(f"{root} is a file, not a checkpoint directory; pass the "
                              "directory that checkpoint.save wrote")
    raise CheckpointError(f"no checkpoint at {root}: the directory does not exist; check the "
                          "path")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verified_bytes(root: Path, meta: dict, name: str) -> bytes:
    """The bytes of ``name``, checked against the sha256 recorded at save."""
    try:
        data = read_file(root, name)
    except OSError as e:
        raise CheckpointError(f"cannot read {root / name} ({e.strerror or e}); check its "
                              "permissions, or copy the whole checkpoint again") from e
    expected = meta.get("sha256", {}).get(name)
    if expected is not None and digest(data) != expected:
        raise CheckpointError(
            f"{root / name} is corrupt: its sha256 differs from the one recorded in "
            f"{META} when it was saved (the file changed since), so it was not loaded; "
            "restore it from a backup or re-save the run")
    return data
