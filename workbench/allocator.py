"""Keep freed memory for reuse instead of handing it back to the OS (glibc's malloc).

XLA on CPU allocates a step's intermediates afresh at every step. With glibc's defaults a
large block is ``mmap``-ed, returned with ``munmap`` when freed, and every page of the
next one faults in again: a language-model step on the standard shape (vocabulary 10000,
batch 32 x 128) touched ~110k fresh pages (0.2-0.3 s of kernel time) per step. ``tune()``
serves large blocks from malloc's heaps and never trims them, so the pages stay mapped
from one step to the next. XLA's worker threads share two arenas (one arena made them
queue on its lock). The LM step gains most, small models little (``benchmarks/README.md``).

The price: freed memory stays with the process, and blocks of different sizes no longer
fit the holes others left, so the peak can grow (by more than half for a long sequence
with ``remat``, measured there too).
So it is opt-in: ``WORKBENCH_MALLOC=reuse`` in the environment, and the app and the CLI
call ``from_env()`` before JAX starts its threads (it must come first to take full effect).
Not glibc (macOS, musl): nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENV = "WORKBENCH_MALLOC"
# mallopt(3) parameters
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
SETTINGS = ((M_ARENA_MAX, 2), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1))

_tuned = False


def tune() -> bool:
    """Apply ``SETTINGS`` once per process; True when they are in force."""
    global _tuned
    if _tuned:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _tuned = all(libc.mallopt(param, value) == 1 for param, value in SETTINGS)
    return _tuned


def from_env() -> bool:
    """``tune()`` when ``$WORKBENCH_MALLOC`` is ``reuse``; True when the settings are on."""
    return tune() if os.environ.get(ENV, "").lower() == "reuse" else _tuned
