"""RNN Workbench: recurrent and attention models you can watch while they train.

The core (this package without ``app`` and ``plots``) imports neither ipywidgets nor
plotly.
"""

import sys

# plotly imports nbformat, which imports jsonschema, which imports the optional
# rfc3987_syntax if it is installed (JupyterLab's dependencies install it): that builds a
# lark grammar at import, 1-4 s of every kernel start here, only to register an 'iri'
# format check that nothing in a workbench kernel uses. jsonschema skips the check when
# the import fails, so the app opens that much sooner (a user's own import still works
# where rfc3987_syntax was imported first).
sys.modules.setdefault("rfc3987_syntax", None)

from .config import DataConfig, ModelConfig  # noqa: E402 - after the import guard
from .data import prepare  # noqa: E402
from .models import build_model, count_params  # noqa: E402
from .trace import Trace  # noqa: E402

__all__ = ["DataConfig", "ModelConfig", "Trace", "build_model", "count_params", "prepare"]
__version__ = "0.1.0"
