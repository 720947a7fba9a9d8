"""Figures of a model's internals and its training: numpy in, FigureWidgets updated in place.

The only importers of plotly. One module per kind of figure (``curves``, ``states``,
``trajectory``, ``attention``, ``outputs``) over the shared ``widget`` and ``layout``;
notebooks import the views from here (``from workbench.ui import plots``).

- :class:`CurvesView`      loss / metric / tokens-per-second of up to 8 runs (``curves_of``
  turns a run's history into its arrays)
- :class:`HiddenView`      hidden state, tokens x units, plus one unit's line
- :class:`GatesView`       LSTM ``i f g o c`` or GRU ``z r n`` heatmaps, plus one unit
- :class:`TrajectoryView`  PCA paths of hidden states along sentences (2-D or 3-D)
- :class:`AttentionView`   layer x head grid, one map, or means over heads / layers
- ``outputs``: gradient flow, saliency, neurons, confusion matrix, tags, generation

The rules, for every view:

- numpy arrays and token strings in (``np.asarray`` is applied defensively; this
  package never imports jax);
- one :class:`FigureWidget` (plotly's, importing its bundle once per page) per view in
  ``.fig``, built ONCE with all its traces passed to the constructor (placeholder
  data), so it renders after a browser reload and in Voila;
- ``update(...)`` assigns whole arrays inside ``with self.fig.batch_update():``; the
  figure is never rebuilt, and repeated updates never add traces;
- ``export_html`` writes standalone offline HTML (plotly.js embedded, no CDN).

Subplots are laid out by hand: slot ``k`` owns the axes ``xaxis{k+1}``/``yaxis{k+1}`` and
the title annotation ``layout.annotations[k]``, so views can move, hide and retitle
slots in place (:func:`place`) when the number of panels depends on the data. Panels are
stacked in pixels (:func:`stack_rows`, :func:`frame`), leaving room under each for its
token labels (:func:`tick_room`), so titles, ticks and panels never overlap; a hidden slot
is parked in :data:`HIDDEN_BOX`. Token axes are numeric positions labelled with the tokens
(:func:`token_axis`), so repeated tokens keep their own cells; past :data:`TOKEN_WINDOW`
tokens they open on a window of readable labels that the user pans (drag, or the range
slider under the bottom axis: :func:`token_frame`, :func:`bottom_token_axis`), and a
redraw of the same tokens keeps the pan. Figures have no width: they fill their output
(see :class:`FigureWidget`).
"""

from .attention import AttentionView
from .curves import CurvesView, curves_of, downsample
from .outputs import (
    ConfusionView,
    GenerationView,
    GradientFlowView,
    NeuronView,
    SaliencyView,
    TagsView,
    saliency_html,
)
from .states import GatesView, HiddenView
from .trajectory import TrajectoryView
from .widget import export_html, export_png

__all__ = [
    "AttentionView", "ConfusionView", "CurvesView", "GatesView", "GenerationView",
    "GradientFlowView", "HiddenView", "NeuronView", "SaliencyView", "TagsView",
    "TrajectoryView", "curves_of", "downsample", "export_html", "export_png", "saliency_html",
]
