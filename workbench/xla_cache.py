"""XLA's compiled programs kept on disk, so a new session skips compiling what an earlier
one compiled (JAX's persistent compilation cache).

Compiling is most of a cold first step: a few seconds for the app's default LSTM on a
2-core CPU (then milliseconds a step), a quarter of that with the cache warm in a later
session (``benchmarks/README.md``). The app (``Workbench``) and the CLI call ``enable()``;
library code never does it behind a user's back.

Where: ``$WORKBENCH_XLA_CACHE`` if set (a folder, or ``off``), else
``$XDG_CACHE_HOME/rnn-workbench/xla`` (``~/.cache/...``). A folder already chosen with
``jax.config.update("jax_compilation_cache_dir", ...)`` is left as it is. The cache holds
executable code: like JAX's own, keep it in a folder only you can write to.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "WORKBENCH_XLA_CACHE"
MIN_COMPILE_S = 0.0  # every program: ~20 small eager ops cost ~25 ms each to compile
MAX_BYTES = 1 << 30  # least recently used entries go beyond 1 GiB


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnn-workbench" / "xla"


def enable(path: str | os.PathLike | None = None) -> Path | None:
    """Turn the cache on (``path``, else the environment's choice, else ``default_dir()``);
    returns the folder in use, or None when ``$WORKBENCH_XLA_CACHE`` is ``off`` or the
    folder cannot be created (then everything still works, only compiles each session).
    JAX is imported here, not above, so the app can name this module before JAX loads."""
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current and path is None:
        return Path(current)
    choice = path if path is not None else os.environ.get(ENV) or default_dir()
    if str(choice).lower() == "off":
        return None
    folder = Path(choice).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return folder
