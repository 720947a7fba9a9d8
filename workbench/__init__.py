"""RNN Workbench: recurrent and attention models you can watch while they train.

The core (this package without ``app`` and ``plots``) imports neither ipywidgets nor
plotly.
"""

from .config import DataConfig, ModelConfig
from .data import prepare
from .models import build_model, count_params
from .trace import Trace

__all__ = ["DataConfig", "ModelConfig", "Trace", "build_model", "count_params", "prepare"]
__version__ = "0.1.0"
