"""One writer per run folder: a lock file, ``.workbench.lock``, holding the writer's pid.

``hold(folder)`` takes the lock (an exclusive ``fcntl.flock`` on the file, so a process
that dies, even by SIGKILL, releases it: its stale lock is simply taken over) or raises
the caller's error naming the holder's pid. Holding is re-entrant within a process: the
CLI locks a run folder for the whole run and ``checkpoint.save`` inside it passes
through. Without ``fcntl`` (Windows) the file is created with ``O_EXCL`` and a lock
whose pid no longer runs is taken over.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".workbench.lock"
_HELD: dict[str, Lock] = {}  # folder (real path) -> the lock this process holds on it


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _read_holder(path: Path) -> tuple[int | None, str]:
    """The pid and start time written in a lock file (None when unreadable)."""
    try:
        first, _, rest = path.read_text("utf-8").partition("\n")
        return int(first.strip()), rest.strip()
    except (OSError, ValueError):
        return None, ""


class Lock:
    """A held lock on ``folder``; ``stale_pid`` is the dead holder it replaced, if any."""

    def __init__(self, folder: Path, fd: int, stale_pid: int | None):
        self.folder, self.path, self.fd, self.stale_pid = folder, folder / LOCK_NAME, fd, stale_pid

    def release(self) -> None:
        _HELD.pop(os.path.realpath(self.folder), None)
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(self.fd), os.stat(self.path)):
                os.unlink(self.path)  # before closing: nobody can lock this file after us
        os.close(self.fd)
        self.fd = None


def held(folder) -> Lock | None:
    """The lock this process holds on ``folder``, if any."""
    return _HELD.get(os.path.realpath(folder))


def acquire(folder, error: type[Exception] = RuntimeError, fix: str = "wait for it to "
            "finish, or write somewhere else") -> Lock:
    """Lock ``folder`` (which must exist) for this process, or raise ``error`` naming the
    pid that holds it, or naming the folder when the lock file cannot be written."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    for _ in range(20):
        fd = _open(path, error, folder, fix)
        stale, _ = _read_holder(path)
        try:  # the holder may have unlinked the file between our open and our lock
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            os.fsync(fd)
        except OSError as e:
            os.close(fd)
            raise error(f"cannot write the lock file {path} ({e.strerror or e}); "
                        "choose a folder you can write") from e
        lock = Lock(folder, fd, stale if stale not in (None, os.getpid()) else None)
        _HELD[os.path.realpath(folder)] = lock
        return lock
    raise error(f"could not lock {folder}: its lock file keeps changing; {fix}")


def _open(path: Path, error, folder: Path, fix: str) -> int:
    """An fd of the lock file, locked exclusively; raises ``error`` when another live
    process holds it."""
    try:
        if fcntl is None:  # pragma: no cover - Windows
            pid, _ = _read_holder(path)
            if path.exists() and pid is not None and not _pid_alive(pid):
                path.unlink(missing_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileExistsError:
        pid, since = _read_holder(path)
        raise error(_busy(folder, pid, since, fix)) from None
    except OSError as e:
        raise error(f"cannot write in {folder} ({e.strerror or e}): choose a folder you "
                    "can write") from e
    if fcntl is None:  # pragma: no cover
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid, since = _read_holder(path)
        os.close(fd)
        raise error(_busy(folder, pid, since, fix)) from None
    return fd


def _busy(folder: Path, pid: int | None, since: str, fix: str) -> str:
    who = f"pid {pid}" if pid is not None else "a process whose pid is not readable"
    when = f", since {since}" if since else ""
    return f"{folder} is being written by another workbench process ({who}{when}); {fix}"


@contextlib.contextmanager
def hold(folder, error: type[Exception] = RuntimeError, fix: str = "wait for it to finish, "
         "or write somewhere else"):
    """Hold the lock on ``folder`` for the ``with`` block (re-entrant in a process)."""
    if held(folder) is not None:
        yield held(folder)
        return
    lock = acquire(folder, error, fix)
    try:
        yield lock
    finally:
        lock.release()
