"""Run folders of the CLI: checked before any data is loaded, locked while written, and
never destroyed.

``open_folder(out, resume=, overwrite=)`` accepts a folder that is absent, empty, or an
earlier run (which needs ``--resume`` or ``--overwrite``); anything else is refused with a
message that names the path and the fix, before a minute is spent on data or training.
Without ``--out`` every run gets a fresh folder of its own, ``runs/<time>-<setup>``. The
folder is locked (``locks.py``) until the run ends: a second writer is refused with the
pid of the first. Only the workbench's own files are ever replaced there
(``checkpoint_files.OWN_FILES`` and ``metrics.json``); a user's notes and plots stay.

When a save fails (disk full, permission) ``save_or_rescue`` writes the run to a named
fallback folder instead (``$WORKBENCH_RESCUE_DIR``, else the temp folder, else home).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError
from . import checkpoint, locks

RUNS_ROOT = Path("runs")
METRICS = "metrics.json"


class RunFolderError(ConfigError):
    """``--out`` cannot be used as asked; the message names the path and the fix."""


@dataclass
class RunFolder:
    """A run folder this process holds the lock on. ``earlier``: the meta.json of the run
    that was already there (``--resume`` / ``--overwrite``), else None."""

    path: Path
    created: bool
    lock: locks.Lock
    earlier: dict | None = None

    def release(self) -> None:
        """Unlock; a folder this run created and left empty is removed."""
        self.lock.release()
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()


def slug(text: str, limit: int = 40) -> str:
    """``text`` as a safe piece of a folder name: 'data/My Reviews.csv' -> 'My-Reviews'."""
    stem = Path(str(text).rstrip("/\\")).name or str(text)
    stem = stem.rsplit(".", 1)[0] if "." in stem[1:] else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")[:limit] or "run"


def default_name(setup: str) -> str:
    """``<YYYYmmdd-HHMMSS>-<setup>``: the folder name of a run without ``--out``."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(setup)}"


def describe(meta: dict | None) -> str:
    """'step 40 of lstm on sentiment, saved 2024-...' from a run's meta.json."""
    if not meta:
        return "its meta.json cannot be read"
    fields = lambda name: (meta.get("configs", {}).get(name) or {}).get("fields", {})  # noqa: E731
    arch, dataset = fields("model").get("arch", "?"), fields("data").get("dataset", "?")
    return f"step {meta.get('step', '?')} of {arch} on {dataset}, saved {meta.get('saved_at', '?')}"


def _earlier_run(path: Path) -> tuple[bool, dict | None]:
    """Whether ``path`` holds a saved run, and its meta (None when unreadable)."""
    if not checkpoint.holds_checkpoint(path):
        return False, None
    try:
        return True, checkpoint.read_meta(path)
    except checkpoint.CheckpointError:
        return True, None


def claim_fresh(root: Path, name: str) -> Path:
    """A new folder ``root/name`` (``-2``, ``-3``, ... when taken), created atomically."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunFolderError(f"cannot create the runs folder {root} ({e.strerror or e}); "
                             "pass --out with a folder you can write") from e
    for i in range(1, 1000):
        path = root / (name if i == 1 else f"{name}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise RunFolderError(f"cannot create {path} ({e.strerror or e}); pass --out with "
                                 "a folder you can write") from e
    raise RunFolderError(f"{root} already holds 999 runs named {name}; pass --out")


def open_folder(out: str | os.PathLike | None, *, resume: bool = False,
                overwrite: bool = False, setup: str = "run") -> RunFolder:
    """Check ``out`` and lock it for this run (see the module docstring). ``setup`` names
    a fresh folder when ``out`` is None."""
    if resume and overwrite:
        raise RunFolderError("--resume and --overwrite contradict each other: --resume "
                             "continues the run in --out, --overwrite starts a new one over "
                             "it; pass one of them")
    if out is None:
        if resume:
            raise RunFolderError("--resume needs --out: the folder of the run to continue, "
                                 "e.g. --out runs/sent --resume")
        path = claim_fresh(RUNS_ROOT, default_name(setup))
        return RunFolder(path, True, _lock(path))
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"--out {path} is a file, not a folder: choose a folder for the "
                             f"run, e.g. --out {path.with_suffix('')}-run")
    if not path.exists():
        if resume:
            raise RunFolderError(f"--resume: {path} does not exist; pass --out with the "
                                 "folder of the run to continue")
        try:
            path.mkdir(parents=True)
        except FileExistsError:  # created meanwhile: check it like any other folder
            return open_folder(out, resume=resume, overwrite=overwrite, setup=setup)
        except OSError as e:
            raise RunFolderError(f"cannot create --out {path} ({e.strerror or e}): choose a "
                                 f"folder you can write, e.g. --out "
                                 f"{RUNS_ROOT / slug(setup)}") from e
        return RunFolder(path, True, _lock(path))
    _classify(path, resume, overwrite)  # refuse before writing anything there
    lock = _lock(path)
    try:
        meta = _classify(path, resume, overwrite)  # again: it may have changed meanwhile
    except BaseException:
        lock.release()
        raise
    return RunFolder(path, False, lock, meta)


def _classify(path: Path, resume: bool, overwrite: bool) -> dict | None:
    """Check an existing folder for this run; returns the earlier run's meta, if any."""
    is_run, meta = _earlier_run(path)
    if is_run and not (resume or overwrite):
        raise RunFolderError(
            f"--out {path} holds an earlier run ({describe(meta)}); pass --resume to "
            "continue it, or --overwrite to replace its model (files you added there "
            "stay), or choose another --out")
    if not is_run:
        foreign = checkpoint.foreign_files(path)
        if foreign:
            shown = ", ".join(foreign[:4]) + (" ..." if len(foreign) > 4 else "")
            raise RunFolderError(
                f"--out {path} is not a run folder and not empty (it holds {shown}): the "
                "workbench writes only into a new or empty folder or an earlier run; "
                f"choose another --out, e.g. {path / 'run'}")
        if resume:
            raise RunFolderError(f"--resume: {path} holds no saved run (no "
                                 f"{checkpoint.META}); pass --out with the folder of a "
                                 "run that train saved")
    return meta if is_run else None


def _lock(path: Path) -> locks.Lock:
    return locks.acquire(path, RunFolderError, "wait for it to finish, or choose another "
                         "--out")


def rescue_candidates() -> list[Path]:
    """Where a run goes when its folder cannot be written, in order of preference."""
    env = os.environ.get("WORKBENCH_RESCUE_DIR")
    return [Path(p) for p in (env, Path(tempfile.gettempdir()) / "workbench-rescue",
                              Path.home() / "workbench-rescue") if p]


def save_or_rescue(save: Callable[[Path], Path], folder: Path) -> tuple[Path, str | None]:
    """``save(folder)``; if that fails (disk full, permission, ...), save to
    the first rescue folder that works. Returns the path and, after a rescue, a message
    that names both folders and why; raises ``RunFolderError`` when nothing worked."""
    try:
        return save(folder), None
    except (OSError, checkpoint.CheckpointError) as e:
        why = f"{type(e).__name__}: {getattr(e, 'strerror', None) or e}"
    tried = []
    for base in rescue_candidates():
        target = base / f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        try:
            return save(target), (
                f"could not save the run to {folder} ({why}); it was saved instead to "
                f"{target}: move it where you want it, or continue it with "
                f"--out {target} --resume")
        except (OSError, checkpoint.CheckpointError) as e:
            tried.append(f"{target} ({getattr(e, 'strerror', None) or e})")
    raise RunFolderError(f"could not save the run to {folder} ({why}) nor to a rescue "
                         f"folder ({'; '.join(tried)}); free some space or set "
                         "WORKBENCH_RESCUE_DIR to a folder you can write")


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temp file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, default=str)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
