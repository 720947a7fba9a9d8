"""RNN Workbench: recurrent and attention models you can watch while they train.

Layers, lowest first (``tests/test_layers.py`` checks that imports run this way):
``config``, ``errors`` and ``presets``; ``tasks`` (the task families: their facts, how
a split is encoded, what a batch holds and how it is scored); ``nn`` (models) and ``data``;
``infer`` (decoding, analyses); ``train``; then ``ui`` (the app,
the only code that imports ipywidgets or plotly) and ``cli``.

The names below load on first use, so ``import workbench.ui.plots`` pulls in no JAX.
"""

import importlib
import sys

# plotly imports nbformat, which imports jsonschema, which imports the optional
# rfc3987_syntax if it is installed (JupyterLab's dependencies install it): that builds a
# lark grammar at import, 1-4 s of every kernel start here, only to register an 'iri'
# format check that nothing in a workbench kernel uses. jsonschema skips the check when
# the import fails, so the app opens that much sooner (a user's own import still works
# where rfc3987_syntax was imported first).
sys.modules.setdefault("rfc3987_syntax", None)

_EXPORTS = {"DataConfig": "config", "ModelConfig": "config", "TrainConfig": "config",
            "prepare": "data.load", "build_model": "nn.models", "count_params": "nn.models",
            "Trace": "nn.trace"}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
