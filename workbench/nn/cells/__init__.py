"""The recurrent cells, one class per file: each holds its reference step and its fast
path side by side (``base.py`` says how). ``CELLS`` maps an arch name to its class; a new
cell is one subclass of ``Cell`` with a ``kind``, registered when it is defined."""

from .base import CELLS, Cell, register, unregister
from .elman import ElmanCell
from .gru import GRUCell
from .lstm import LSTMCell

__all__ = ["CELLS", "Cell", "ElmanCell", "GRUCell", "LSTMCell", "register", "unregister"]
