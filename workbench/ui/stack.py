"""The training code (JAX, Flax, ``datasets``), loaded by the app on first use.

The cell that shows the app imports none of it (~2.5 s on a 2-core CPU), so the widgets
appear and answer clicks at once; the warm-up thread (``warm_up``) loads it right after.
Everything that needs it calls ``load()`` first: one thread imports while any other waits
on the lock, because two threads importing the same packages at once can see each other's
half-initialised modules (Python breaks an import deadlock by handing one of them a
partial module). Once loaded, the function-level imports in the panels are dictionary
look-ups."""

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


def warm_up(app) -> None:
    """Load the training code, count the opening setup's parameters (``Workbench`` leaves
    that to this thread) and compile its training step and live probe, while the user
    reads the form: a Train click then finds them compiled (a new ``Trainer`` with the
    same shapes reuses the step) instead of waiting ~2 s for XLA. ``app``: the
    ``Workbench``. Failures to compile are left for the real run to report."""
    try:
        load()
    except Exception as err:  # noqa: BLE001 - shown; the first job will say it again
        app.footer.report("Loading the training code", err)
        return
    from ..data.load import prepare
    from ..train.trainer import Trainer
    from .live import probe_frame

    try:
        app.update_param_count()
    except Exception as err:  # noqa: BLE001 - shown; the count is only information
        app.footer.report("Parameter count", err)
    try:
        data_config, model_config, train_config = app.configs()
        data = prepare(data_config)
        trainer = Trainer(data, model_config, train_config)
        trainer.run(1)
        probe_frame(trainer)  # the live probe's compile too
    except Exception:  # noqa: BLE001 - the run itself shows any problem
        pass
