"""The training code (JAX, Flax, ``datasets``), loaded by the app on first use.

The cell that shows the app imports none of it (~2.5 s on a 2-core CPU), so the widgets
appear and answer clicks at once; the warm-up thread loads it right after (see
``session.py``). Everything that needs it calls ``load()`` first: one thread imports
while any other waits on the lock, because two threads importing the same packages at
once can see each other's half-initialised modules (Python breaks an import deadlock by
handing one of them a partial module). Once loaded, the function-level imports in the
panels are dictionary look-ups."""

from __future__ import annotations

import threading

from .. import xla_cache

_lock = threading.Lock()
_loaded = False


def load() -> None:
    """Import the training and inference code once, and switch the compilation cache on
    before anything compiles."""
    global _loaded
    with _lock:
        if _loaded:
            return
        from ..data import load as _data  # noqa: F401
        from ..infer import analysis, decode, geometry, translate  # noqa: F401
        from ..tasks import batches  # noqa: F401
        from ..train import trainer  # noqa: F401

        xla_cache.enable()
        _loaded = True
