"""Figures a person can read (issue 13, "Readable figures"): full width, token axes that
stay readable for long texts, one legend entry per meaning (colour = run, dash =
split), Compare grouped by task with run checkboxes and a sortable table, titles shown
as typed. No browser: figure state is read back from the FigureWidgets in the kernel
(what the browser draws from); the screenshots in the report show how it looks."""

from types import SimpleNamespace

import numpy as np
import pytest

from workbench.presets import PRESETS
from workbench.ui.compare import ComparePanel
from workbench.ui.plots.attention import AttentionView
from workbench.ui.plots.curves import CurvesView
from workbench.ui.plots.layout import TOKEN_WINDOW
from workbench.ui.plots.outputs import (
    ConfusionView,
    GenerationView,
    GradientFlowView,
    NeuronView,
    SaliencyView,
    TagsView,
)
from workbench.ui.plots.states import GatesView, HiddenView
from workbench.ui.plots.trajectory import TrajectoryView
from workbench.ui.plots.widget import PALETTE, FigureWidget
from workbench.ui.runs import Run

RNG = np.random.default_rng(0)
TEXT = list(("the quick brown fox jumps over the lazy dog " * 3)[:128])  # 128 characters


def curves(n: int = 30, metric: bool = True, val: bool = True) -> dict:
    out = {"train_step": np.arange(n), "train_loss": RNG.random(n),
           "tokens_per_s": np.array([1000.0, 1200.0])}
    if val:
        out.update(val_step=np.arange(0, n, 10), val_loss=RNG.random(len(range(0, n, 10))))
    if metric:
        out.update(train_metric=RNG.random(n), metric_name="accuracy")
        if val:
            out["val_metric"] = RNG.random(len(out["val_step"]))
    return out


def legend(fig) -> list:
    """The entries plotly's legend shows: visible traces with showlegend not False."""
    return [t for t in fig.data if t.visible is True and t.showlegend is not False]


# --- curves: colour = run, dash = split ----------------------------------------------------
def test_curves_legend_has_one_entry_per_meaning():
    view = CurvesView()
    view.update({"lstm": curves(), "elman": curves()})
    fig = view.fig
    entries = legend(fig)
    assert [t.name for t in entries] == ["lstm", "elman", "train", "validation"]
    lstm, elman, train, validation = entries
    assert lstm.line.color != elman.line.color
    assert train.line.dash == "solid" and validation.line.dash == "dash"
    assert train.line.color == validation.line.color not in PALETTE  # grey: no run's
    for key in (lstm, elman):  # a run's key and its curves share a colour and a group
        drawn = [t for t in fig.data if t.visible is True and t.legendgroup == key.legendgroup
                 and t is not key]
        assert len(drawn) == 5  # train/val loss, train/val accuracy, tokens/s
        assert {t.line.color for t in drawn} == {key.line.color}
        assert all(t.showlegend is False for t in drawn)
    for t in fig.data[:CurvesView.KEYS]:  # dash by split, in the loss and metric panels
        if t.visible is True and " val " in f" {t.name} ":
            assert t.line.dash == "dash", t.name
        elif t.visible is True and " train " in f" {t.name} ":
            assert t.line.dash == "solid", t.name
    names = {t.name for t in fig.data if t.visible is True}
    assert {"lstm train loss", "lstm val loss", "lstm train accuracy", "elman val accuracy",
            "elman tokens/s"} <= names


def test_curves_legend_follows_the_runs():
    view = CurvesView()
    view.update({"a": curves(val=False, metric=False)})
    assert [t.name for t in legend(view.fig)] == ["a", "train"]  # no validation yet
    view.update({"a": curves(), "b": curves()}, hidden={"a"})
    assert [t.name for t in legend(view.fig)] == ["b", "train", "validation"]
    assert not any(t.visible for t in view.fig.data[:len(CurvesView.SERIES)])  # a's curves
    colour = view.colour("a")
    view.update({"a": curves(), "b": curves()})
    assert view.colour("a") == colour and legend(view.fig)[0].name == "a"
    view.update({})
    assert legend(view.fig) == []


def test_tokens_per_second_is_a_thin_strip():
    view = CurvesView()
    view.update({"a": curves()})
    layout = view.fig.layout
    loss, speed = layout.yaxis.domain, layout.yaxis3.domain
    assert (speed[1] - speed[0]) <= 0.25 * (loss[1] - loss[0])
    assert (speed[1] - speed[0]) * CurvesView.PLOT_PX <= 60  # pixels
    assert "a 1,200" in layout.title.text  # and its last value is in the title


# --- full width ------------------------------------------------------------------------------
ALL_VIEWS = [CurvesView, HiddenView, GatesView, AttentionView, TrajectoryView, SaliencyView,
             NeuronView, ConfusionView, TagsView, GenerationView, GradientFlowView]


@pytest.mark.parametrize("make", ALL_VIEWS, ids=lambda v: v.__name__)
def test_every_figure_fills_the_width(make):
    fig = make().fig
    assert fig.layout.width is None and fig.layout.autosize is True
    assert fig._config["responsive"] is True
    assert "ResizeObserver" in fig._esm and "_responsiveChartHandler" in fig._esm
    assert fig.get_state()["_config"]["responsive"] is True  # what a page receives


def test_a_fixed_width_is_refused():
    with pytest.raises(ValueError, match="width"):
        FigureWidget(layout={"width": 700})


# --- long token axes ---------------------------------------------------------------------------
def window(axis) -> float:
    """How many positions an axis shows at once."""
    low, high = sorted(axis.range)
    assert axis.autorange is False
    return high - low


def assert_windowed(axis, n: int = len(TEXT)) -> None:
    """A readable window of at most TOKEN_WINDOW positions over all ``n`` labels; the
    user can pan to either end and no further."""
    assert window(axis) <= TOKEN_WINDOW
    assert min(axis.range) == -0.5
    np.testing.assert_array_equal(axis.tickvals, np.arange(n))
    assert len(axis.ticktext) == n
    assert (axis.minallowed, axis.maxallowed) == (-0.5, n - 0.5)


def test_a_128_character_heatmap_opens_on_a_readable_window():
    view = HiddenView()
    view.update(RNG.random((128, 32)), TEXT)
    view.select_unit(3)
    fig = view.fig
    assert np.shape(fig.data[0].z) == (32, 128)  # every token's data is there
    assert len(fig.data[1].y) == 128
    assert_windowed(fig.layout.xaxis)
    assert_windowed(fig.layout.xaxis2)
    assert fig.layout.xaxis.matches == "x2"  # the heatmap pans with the line
    slider = fig.layout.xaxis2.rangeslider
    assert slider.visible and list(slider.range) == [-0.5, 127.5]
    assert fig.layout.dragmode == "pan"
    assert "40 of 128 shown" in fig.layout.xaxis2.title.text
    assert fig.layout.xaxis.ticktext[3] == "\u2423"  # a space is shown, not blank


def test_a_short_text_shows_whole_without_a_slider():
    view = HiddenView()
    view.update(RNG.random((9, 4)), list("the cat !"))
    assert list(view.fig.layout.xaxis2.range) == [-0.5, 8.5]
    assert not view.fig.layout.xaxis2.rangeslider.visible
    assert view.fig.layout.dragmode == "zoom" and view.fig.layout.xaxis2.title.text == "token"


def test_redrawing_the_same_text_keeps_where_the_user_panned():
    view = HiddenView()
    view.update(RNG.random((128, 8)), TEXT)
    view.fig.layout.xaxis2.range = [60.5, 100.5]  # as plotly.js reports a pan
    view.update(RNG.random((128, 8)), TEXT)  # the next probe of training: same text
    assert list(view.fig.layout.xaxis2.range) == [60.5, 100.5]
    view.update(RNG.random((128, 8)), TEXT[::-1])  # another text starts at its beginning
    assert list(view.fig.layout.xaxis2.range) == [-0.5, TOKEN_WINDOW - 0.5]


def test_every_token_view_windows_a_long_text():
    gates = GatesView()
    gates.update({n: RNG.random((128, 6)) for n in "ifgoc"}, TEXT)
    for k in range(1, 7):
        assert_windowed(gates.fig.layout[f"xaxis{k if k > 1 else ''}"])
    assert gates.fig.layout.xaxis6.rangeslider.visible
    assert all(gates.fig.layout[f"xaxis{k if k > 1 else ''}"].matches == "x6"
               for k in range(1, 6))
    attention = AttentionView()
    attention.update(RNG.random((128, 128)), TEXT, TEXT)
    assert np.shape(attention.fig.data[0].z) == (128, 128)
    assert_windowed(attention.fig.layout.xaxis)
    assert_windowed(attention.fig.layout.yaxis)
    assert attention.fig.layout.yaxis.range[0] > attention.fig.layout.yaxis.range[1]  # 0 on top
    assert "shown: drag a map" in attention.fig.layout.title.text
    rows = attention.fig.layout.height - attention.fig.layout.margin.t - \
        attention.fig.layout.margin.b
    assert rows / window(attention.fig.layout.yaxis) >= 14  # a readable label per row
    grid = AttentionView()
    grid.update(RNG.random((2, 2, 128, 128)), TEXT, TEXT)
    per_map = (grid.fig.layout.yaxis.domain[1] - grid.fig.layout.yaxis.domain[0]) * (
        grid.fig.layout.height - grid.fig.layout.margin.t - grid.fig.layout.margin.b)
    assert per_map / window(grid.fig.layout.yaxis) >= 14
    assert grid.fig.layout.xaxis4.matches == "x" and grid.fig.layout.yaxis4.matches == "y"
    for view in (SaliencyView(), GenerationView()):
        view.update(TEXT, RNG.random(128))
        assert_windowed(view.fig.layout.xaxis)
        assert view.fig.layout.xaxis.rangeslider.visible
        assert len(view.fig.data[0].y) == 128
    neurons = NeuronView()
    neurons.update(RNG.random((128, 3)), TEXT, [1, 2, 3], [0.9, 0.8, 0.7])
    assert_windowed(neurons.fig.layout.xaxis)
    assert neurons.fig.layout.xaxis.rangeslider.visible


# --- titles as typed -------------------------------------------------------------------------
def test_generation_and_saliency_titles_show_quotes_as_quotes():
    view = GenerationView()
    view.update(["he", "said", '"hi"', "<b>", "&", "it's"], RNG.random(6))
    title = view.fig.layout.title.text
    assert '"hi"' in title and "it's" in title
    assert "&quot;" not in title and "&#x27;" not in title
    assert "&lt;b&gt;" in title and "&amp;" in title  # markup still shown literally
    view.update(["a"], [0.5], title='Prompt "x" <i>')
    assert view.fig.layout.title.text == 'Prompt "x" &lt;i&gt;'
    saliency = SaliencyView()
    saliency.update(["a"], [1.0], 'label "pos"')
    assert saliency.fig.layout.title.text.endswith('label "pos"')


# --- Compare: grouped by task, checkboxes, sortable table ------------------------------------
def history(n: int = 40, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    train = [{"kind": "train", "step": s, "loss": float(rng.random()), "accuracy": 0.5,
              "tokens_per_s": 1000.0} for s in range(0, n, 5)]
    evals = [{"kind": "eval", "step": s, "loss": float(rng.random()), "accuracy": 0.6}
             for s in range(0, n, 20)]
    return train + evals


def make_run(name: str, task: str = "classify", dataset: str = "recall", loss=0.5,
             seconds: float = 1.0, model=None, data=None) -> Run:
    model = model or SimpleNamespace(arch="lstm", bidirectional=False)
    data = data or SimpleNamespace(dataset=dataset)
    final = {} if loss is None else {"loss": loss}
    if task == "classify" and loss is not None:
        final["accuracy"] = 1 - loss
    return Run(name, data, model, None, history(seed=len(name)), final, "finished", 1000,
               40, seconds, task=task)


def panel() -> tuple[ComparePanel, list]:
    errors = []
    return ComparePanel(lambda where, err: errors.append((where, err)), lambda name: None), \
        errors


def drawn(view: CurvesView) -> set[str]:
    """The runs whose curves a CurvesView draws (from its train-loss traces)."""
    return {t.name.removesuffix(" train loss") for t in view.fig.data
            if t.visible is True and (t.name or "").endswith(" train loss")}


def test_compare_never_puts_two_tasks_on_one_axis():
    compare, errors = panel()
    runs = {"c1": make_run("c1"), "lm1": make_run("lm1", task="lm", dataset="prose"),
            "c2": make_run("c2", dataset="sentiment")}
    compare.refresh(runs)
    assert set(compare.groups) == {"classify", "lm"}
    classify, lm = compare.groups["classify"], compare.groups["lm"]
    assert classify.curves.fig is not lm.curves.fig  # two figures, so two loss axes
    assert drawn(classify.curves) == {"c1", "c2"} and drawn(lm.curves) == {"lm1"}
    assert [g.widget for g in (classify, lm)] == list(compare.groups_box.children)
    assert "classify" in classify.curves.fig.layout.title.text
    assert "2 tasks" in compare.note.value and not errors
    assert compare.curves is classify.curves  # the newest run's task


def test_unchecking_a_run_hides_its_curves_and_keeps_its_colour():
    compare, errors = panel()
    compare.refresh({"a": make_run("a"), "b": make_run("b")})
    view = compare.groups["classify"].curves
    colour = view.colour("a")
    compare.checks["a"].value = False
    assert drawn(view) == {"b"} and "a" not in [t.name for t in legend(view.fig)]
    assert "#ccc" in compare.swatches["a"].value
    compare.checks["b"].value = False
    assert drawn(view) == set()
    assert compare.groups["classify"].figure_box.layout.display == "none"
    assert "none checked" in compare.groups["classify"].header.value
    compare.checks["a"].value = True
    assert drawn(view) == {"a"} and view.colour("a") == colour
    assert colour in compare.swatches["a"].value
    compare.refresh({"a": make_run("a"), "b": make_run("b"), "c": make_run("c")})
    assert compare.checks["c"].value and not compare.checks["b"].value  # kept; new: on
    assert drawn(view) == {"a", "c"} and not errors


def test_the_table_sorts_by_a_column_both_ways():
    compare, errors = panel()
    compare.refresh({"b": make_run("b", loss=0.3, seconds=9.0),
                     "a": make_run("a", loss=0.7, seconds=2.0),
                     "c": make_run("c", loss=None, seconds=5.0),
                     "D": make_run("D", loss=0.1, seconds=1.0)})

    def column(name):
        header, rows = compare.rows()
        return [row[header.index(name)] for row in rows]

    assert column("run") == ["b", "a", "c", "D"]  # as trained
    compare.sort("val loss")
    assert column("run") == ["D", "b", "a", "c"]  # missing last
    assert "val loss \u25b2" in compare.table.value
    compare.sort("val loss")  # a second click reverses
    assert column("run") == ["a", "b", "D", "c"] and not compare.order.value
    assert "val loss \u25bc" in compare.table.value
    compare.sort_by.value = "run"  # the dropdown, as a user would
    assert column("run") == ["D", "c", "b", "a"]  # descending, case-blind
    compare.order.value = True
    assert column("run") == ["a", "b", "c", "D"]
    compare.sort("train s", ascending=False)
    assert column("train s") == [9.0, 5.0, 2.0, 1.0]
    assert compare.table.value.index(">b<") < compare.table.value.index(">D<")
    assert "accuracy" in compare.rows()[0] and not errors


def test_the_paired_recall_demo_lands_on_one_figure_with_both_runs_checked():
    compare, errors = panel()
    runs = {}
    for preset in ("lstm-recall", "elman-recall"):  # run_pair trains them in this order
        p = PRESETS[preset]
        runs[f"run{len(runs) + 1}-{preset}"] = make_run(f"run{len(runs) + 1}-{preset}",
                                                        model=p.model, data=p.data,
                                                        task=p.data.task)
        compare.refresh(runs)  # app.py refreshes Compare after each run
    assert list(compare.groups) == [PRESETS["lstm-recall"].data.task]
    view = compare.groups[PRESETS["lstm-recall"].data.task].curves
    assert all(box.value for box in compare.checks.values())
    assert drawn(view) == set(runs)
    colours = {view.colour(name) for name in runs}
    assert len(colours) == 2 and not errors


# --- plotly's bundle crosses the websocket once ------------------------------------------
def test_figures_share_one_bundle_widget_and_their_states_stay_small():
    """Each figure's state names the one PlotlyBundle widget instead of carrying plotly.js
    (5 MB): the app's 12 figures once sent 60 MB each time the app was displayed."""
    import json

    from workbench.ui.plots.widget import PlotlyBundle

    first, second = HiddenView().fig, CurvesView().fig
    assert isinstance(first._plotly_bundle, PlotlyBundle)
    assert first._plotly_bundle is second._plotly_bundle
    assert len(first._plotly_bundle.bundle) > 1_000_000  # plotly.js itself
    state = first.get_state()
    assert state["_plotly_bundle"] == "IPY_MODEL_" + first._plotly_bundle.model_id
    assert len(json.dumps(state)) < 100_000
    first._plotly_bundle.close()  # (as Widget.close_all does) a closed bundle is replaced
    third = HiddenView().fig
    assert third._plotly_bundle.comm is not None
    assert third._plotly_bundle is not first._plotly_bundle
