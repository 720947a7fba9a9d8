"""Every view shows exactly the numbers and labels it was given, updates in place (same
figure, same traces) and exports standalone HTML; no browser needed: figure data is read
back from the FigureWidget."""

import sys

import numpy as np
import pytest

from workbench.nn.gates import GATE_LABELS
from workbench.ui.plots.attention import AttentionView
from workbench.ui.plots.curves import CurvesView, downsample
from workbench.ui.plots.layout import (
    HIDDEN_BOX,
    SLIDER_PX,
    assign_slots,
    axis_keys,
    slider_room,
    stack_rows,
    tick_room,
)
from workbench.ui.plots.outputs import (
    ConfusionView,
    GenerationView,
    GradientFlowView,
    NeuronView,
    SaliencyView,
    TagsView,
    saliency_html,
)
from workbench.ui.plots.states import GatesView, HiddenView
from workbench.ui.plots.trajectory import TrajectoryView
from workbench.ui.plots.widget import export_html, export_png

RNG = np.random.default_rng(0)
TOKENS = ["the", "cat", "sat", "the", "end"]  # a duplicate on purpose


def run(n: int, metric: bool = False) -> dict:
    """One run's history as the trainer hands it over: numpy arrays."""
    out = {"train_step": np.arange(n), "train_loss": RNG.random(n),
           "val_step": np.arange(0, n, 10), "val_loss": RNG.random(len(range(0, n, 10))),
           "tokens_per_s": np.array([1500.0, 2500.0])}
    if metric:
        out.update(train_metric=RNG.random(n), val_metric=RNG.random(len(out["val_step"])),
                   metric_name="accuracy")
    return out


# --- downsample ------------------------------------------------------------------------


def test_downsample_keeps_ends_and_extremes_within_the_cap():
    x, y = np.arange(100_000), RNG.standard_normal(100_000)
    y[31_337], y[77_777] = -50.0, 50.0
    xs, ys = downsample(x, y, max_points=2000)
    assert len(xs) == len(ys) <= 2000
    assert (xs[0], xs[-1]) == (0, 99_999)
    assert ys.min() == -50.0 and ys.max() == 50.0
    assert np.all(np.diff(xs) > 0)
    np.testing.assert_array_equal(ys, y[xs])


def test_downsample_is_the_identity_on_short_curves_and_skips_nans():
    x, y = np.arange(10), RNG.random(10)
    xs, ys = downsample(x, y, max_points=2000)
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)
    y = np.full(5000, np.nan)
    y[123] = 7.0
    _, ys = downsample(np.arange(5000), y, max_points=100)
    assert 7.0 in ys


def test_slots_are_stable_and_reused():
    slots = assign_slots({}, ["a", "b"], 3)
    assert slots == {"a": 0, "b": 1}
    assert assign_slots(slots, ["b", "c"], 3) == {"b": 1, "c": 0}
    assert assign_slots(slots, ["a", "b", "c", "d"], 3) == {"b": 1, "c": 0, "d": 2}


# --- training curves -------------------------------------------------------------------


def test_curves_show_each_run_and_update_in_place():
    view = CurvesView()
    fig, n_traces = view.fig, len(view.fig.data)
    runs = {"lstm": run(50, metric=True), "gru": run(30)}
    view.update(runs)
    view.update(runs)
    assert view.fig is fig and len(fig.data) == n_traces
    train, val, train_m, val_m, speed = fig.data[:5]
    np.testing.assert_array_equal(train.x, runs["lstm"]["train_step"])
    np.testing.assert_array_equal(train.y, runs["lstm"]["train_loss"])
    np.testing.assert_array_equal(val.y, runs["lstm"]["val_loss"])
    np.testing.assert_array_equal(val_m.y, runs["lstm"]["val_metric"])
    np.testing.assert_array_equal(speed.y, [1500.0, 2500.0])
    assert train.name == "lstm train loss" and train.visible
    gru = fig.data[5:10]
    np.testing.assert_array_equal(gru[0].y, runs["gru"]["train_loss"])
    assert [t.visible for t in gru] == [True, True, False, False, True]  # no metric
    assert not any(t.visible for t in fig.data[10:CurvesView.KEYS])
    assert [t.name for t in fig.data[CurvesView.KEYS:] if t.visible] == [
        "lstm", "gru", "train", "validation"]  # the legend's keys
    assert fig.layout.yaxis2.title.text == "accuracy"
    assert "lstm 2,500" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.title.text == "loss"


def test_curves_keep_a_runs_colour_and_downsample_long_runs():
    view = CurvesView()
    view.update({"a": run(10)})
    colour = view.fig.data[0].line.color
    view.update({"b": run(10), "a": run(100_000)})
    n = len(CurvesView.SERIES)
    assert view.fig.data[0].line.color == colour and view.fig.data[0].name == "a train loss"
    assert view.fig.data[n].name == "b train loss"
    assert 2 < len(view.fig.data[0].x) <= 2000 and view.fig.data[0].x[-1] == 99_999


def test_curves_reject_mismatched_lengths():
    bad = run(10)
    bad["train_loss"] = bad["train_loss"][:5]
    with pytest.raises(ValueError, match="train_loss"):
        CurvesView().update({"x": bad})


# --- hidden states and gates -----------------------------------------------------------


def test_hidden_view_shows_tokens_by_units_and_one_unit():
    hidden = RNG.standard_normal((5, 7))
    view = HiddenView()
    fig = view.fig
    view.update(hidden, TOKENS)
    view.select_unit(3)
    view.update(hidden * 2, TOKENS)
    assert view.fig is fig and len(fig.data) == 2
    np.testing.assert_array_equal(fig.data[0].z, (hidden * 2).T)
    assert list(fig.layout.xaxis.ticktext) == TOKENS
    np.testing.assert_array_equal(fig.layout.xaxis.tickvals, np.arange(5))
    assert fig.layout.xaxis.title.text == "token" and fig.layout.yaxis.title.text == "unit"
    np.testing.assert_array_equal(fig.data[1].y, hidden[:, 3] * 2)
    shape = fig.layout.shapes[0]
    assert (shape.y0, shape.y1, shape.visible) == (2.5, 3.5, True)
    with pytest.raises(ValueError, match="unit 7"):
        view.select_unit(7)
    with pytest.raises(ValueError, match="tokens"):
        view.update(hidden, TOKENS[:4])



def sent_updates(fig, monkeypatch) -> list[tuple[dict, dict]]:
    """Collect the (restyle, relayout) messages ``fig`` sends to the browser."""
    sent = []
    monkeypatch.setattr(fig, "_send_update_msg", lambda restyle_data, relayout_data, **_:
                        sent.append((dict(restyle_data), dict(relayout_data))))
    return sent


def count_assignments(monkeypatch) -> list[int]:
    """Count plotly's validated property assignments (its costly Python-side work: an
    assignment is validated and compared even when it changes nothing)."""
    from plotly.basedatatypes import BasePlotlyType

    count, real = [0], BasePlotlyType._set_prop

    def counted(self, prop, val):
        count[0] += 1
        return real(self, prop, val)

    monkeypatch.setattr(BasePlotlyType, "_set_prop", counted)
    return count


def test_the_same_text_again_sends_only_the_new_values(monkeypatch):
    """While a run trains the probe's text and shape stay the same: a refresh sends the
    changed values and no layout (plotly validates and sends every assignment, which made
    a refresh cost ~100 ms); a new text or a new shape lays the figure out again."""
    hidden = RNG.standard_normal((5, 7))
    gates = {name: RNG.random((5, 7)) for name in "rzn"}
    queries, keys = ["a", "b", "c"], TOKENS
    weights = RNG.random((1, 2, 3, 5))
    views = HiddenView(), GatesView(), AttentionView()
    first = (hidden, TOKENS), (gates, TOKENS), (weights, queries, keys)
    for view, args in zip(views, first, strict=True):
        view.update(*args)
    view_sent = [sent_updates(view.fig, monkeypatch) for view in views]
    assigned = count_assignments(monkeypatch)
    views[0].update(hidden * 2, TOKENS)
    views[0].select_unit(views[0].unit)
    views[1].update({k: g / 2 for k, g in gates.items()}, TOKENS)
    views[1].select_unit(views[1].unit)
    views[2].update(weights / 2, queries, keys)
    assert assigned[0] <= 2 + 6 + 3  # the values only (a layout pass made ~500)
    for sent in view_sent[:2]:
        assert len(sent) == 1 and sent[0][1] == {}  # one message, no layout in it
    assert len(view_sent[2]) == 1 and set(view_sent[2][0][1]) == {"coloraxis.cmax"}
    np.testing.assert_array_equal(views[0].fig.data[0].z, (hidden * 2).T)
    np.testing.assert_array_equal(views[0].fig.data[1].y, hidden[:, views[0].unit] * 2)
    np.testing.assert_array_equal(views[1].fig.data[0].z, (gates["r"] / 2).T)
    np.testing.assert_array_equal(views[2].fig.data[1].z, weights[0, 1] / 2)
    views[0].update(hidden[:4], TOKENS[:4])  # a new text: tokens and layout follow
    assert list(views[0].fig.layout.xaxis.ticktext) == TOKENS[:4]
    views[2].update(weights[:, :, :2], queries[:2], keys)
    assert list(views[2].fig.layout.yaxis.ticktext) == queries[:2]
    views[1].update({k: g[:, :3] for k, g in gates.items()}, TOKENS)
    views[1].select_unit(2)
    np.testing.assert_array_equal(views[1].fig.data[GatesView.MAX_GATES].y, gates["r"][:, 2])


def test_a_growing_run_sends_only_its_new_points(monkeypatch):
    view = CurvesView()
    runs = {"done": run(30), "live": run(20)}
    view.update(runs)
    sent = sent_updates(view.fig, monkeypatch)
    assigned = count_assignments(monkeypatch)
    runs["live"] = {**runs["live"], "train_step": np.arange(21),
                    "train_loss": np.append(runs["live"]["train_loss"], 0.5)}
    view.update(runs)
    assert assigned[0] <= 3  # the grown trace's x and y, and the title
    [(restyle, relayout)] = sent
    assert relayout == {}  # the same tokens/s: not even the title is sent again
    assert restyle["y"][-1].tolist()[-1] == 0.5 and len(restyle["y"]) == 1  # one trace
    np.testing.assert_array_equal(view.fig.data[5].x, np.arange(21))
    view.update({**runs, "new": run(5)})  # a new run: its slot is named and shown
    assert view.fig.data[10].name == "new train loss" and view.fig.data[10].visible

def test_gates_view_relabels_slots_when_the_architecture_changes():
    lstm = {name: RNG.random((5, 6)) for name in "cfgio"}  # alphabetical, as probe gives
    gru = {name: RNG.random((5, 4)) for name in "zrn"}
    view = GatesView()
    fig, n_traces = view.fig, len(view.fig.data)
    view.update(lstm, TOKENS)
    assert [a.text for a in fig.layout.annotations[:5]] == [
        f"{n}: {GATE_LABELS[n]}" for n in "ifgoc"]
    np.testing.assert_array_equal(fig.data[1].z, lstm["f"].T)
    view.select_unit(5)
    view.update(gru, TOKENS)
    view.update(gru, TOKENS)
    assert view.fig is fig and len(fig.data) == n_traces
    assert [t.visible for t in fig.data[:5]] == [True, True, True, False, False]
    assert fig.layout.annotations[0].text == "r: reset gate"  # the cell's order: r z n
    assert fig.layout.annotations[3].text == "" and fig.layout.xaxis4.visible is False
    np.testing.assert_array_equal(fig.data[2].z, gru["n"].T)
    assert view.unit == 3  # clamped to the GRU's 4 units
    view.select_unit(1)
    lines = fig.data[5:]
    for k, name in enumerate("rzn"):
        np.testing.assert_array_equal(lines[k].y, gru[name][:, 1])
        assert lines[k].name == name
    assert [t.visible for t in lines] == [True, True, True, False, False]
    assert fig.layout.xaxis6.title.text == "token" and fig.layout.yaxis.title.text == "unit"
    assert list(fig.layout.xaxis6.ticktext) == TOKENS


# --- trajectories and attention --------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
def test_trajectories_draw_each_sentence_with_its_tokens(dims):
    paths = [RNG.standard_normal((5, 3)), RNG.standard_normal((2, 3))]
    tokens = [TOKENS, ["a", "b"]]
    view = TrajectoryView(dims=dims)
    fig = view.fig
    view.update(paths, tokens, ["one", "two"])
    view.update(paths, tokens, ["one", "two"])
    assert view.fig is fig and len(fig.data) == TrajectoryView.MAX_PATHS
    for k, path in enumerate(paths):
        trace = fig.data[k]
        np.testing.assert_array_equal(trace.x, path[:, 0])
        np.testing.assert_array_equal(trace.y, path[:, 1])
        if dims == 3:
            np.testing.assert_array_equal(trace.z, path[:, 2])
        assert list(trace.text) == tokens[k] and trace.visible
    assert fig.data[1].name == "two" and not fig.data[2].visible
    title = fig.layout.scene.xaxis.title.text if dims == 3 else fig.layout.xaxis.title.text
    assert title == "PC1"


def test_trajectory_rejects_bad_dims():
    with pytest.raises(ValueError, match="dims"):
        TrajectoryView(dims=4)


def test_attention_grid_shows_each_layer_and_head():
    w = RNG.random((2, 3, 4, 5))
    queries, keys = list("abcd"), list("vwxyz")
    view = AttentionView()
    fig = view.fig
    view.update(w, queries, keys)
    view.update(w, queries, keys)
    assert view.fig is fig and len(fig.data) == 16
    assert [t.visible for t in fig.data] == [True] * 6 + [False] * 10
    for k in range(6):
        np.testing.assert_array_equal(fig.data[k].z, w[k // 3, k % 3])
    assert fig.layout.annotations[4].text == "layer 1, head 1"
    assert list(fig.layout.xaxis4.ticktext) == keys and list(fig.layout.yaxis.ticktext) == queries
    assert fig.layout.xaxis4.title.text == "key" and fig.layout.yaxis.title.text == "query"


def test_attention_grid_is_capped_at_four_by_four():
    w = RNG.random((6, 5, 2, 2))
    view = AttentionView()
    view.update(w, ["a", "b"], ["c", "d"])
    assert all(t.visible for t in view.fig.data)
    np.testing.assert_array_equal(view.fig.data[15].z, w[3, 3])


def test_attention_one_map_and_means_for_cross_attention():
    w = RNG.random((2, 3, 4, 6))  # target 4 x source 6
    view = AttentionView()
    view.update(w, list("ABCD"), list("uvwxyz"), layer=1, head=2,
                query_label="target", key_label="source")
    assert [t.visible for t in view.fig.data] == [True] + [False] * 15
    np.testing.assert_array_equal(view.fig.data[0].z, w[1, 2])
    assert view.fig.layout.xaxis.title.text == "source"
    assert view.fig.layout.yaxis.title.text == "target"
    view.update(w, list("ABCD"), list("uvwxyz"), head="mean")
    np.testing.assert_allclose(view.fig.data[1].z, w[1].mean(0))
    assert view.fig.layout.annotations[1].text == "layer 1, mean of heads"
    view.update(w, list("ABCD"), list("uvwxyz"), layer="mean", head="mean")
    np.testing.assert_allclose(view.fig.data[0].z, w.mean((0, 1)))
    view.update(w[0, 0], list("ABCD"), list("uvwxyz"))  # a plain [Tq, Tk] map
    np.testing.assert_array_equal(view.fig.data[0].z, w[0, 0])
    with pytest.raises(ValueError, match="layer=5"):
        view.update(w, list("ABCD"), list("uvwxyz"), layer=5)


# --- model outputs ---------------------------------------------------------------------


def test_gradient_flow_is_one_log_scale_line_per_architecture():
    flows = {"elman": np.array([1e-6, 1e-3, 1.0]), "lstm": np.array([0.1, 0.5, 1.0])}
    view = GradientFlowView()
    fig = view.fig
    view.update(flows)
    view.update(flows)
    assert view.fig is fig and len(fig.data) == GradientFlowView.MAX_LINES
    np.testing.assert_array_equal(fig.data[0].y, flows["elman"])
    np.testing.assert_array_equal(fig.data[1].x, [0, 1, 2])
    assert fig.data[1].name == "lstm" and not fig.data[2].visible
    assert fig.layout.yaxis.type == "log" and "vanishing" in fig.layout.title.text


def test_saliency_view_and_html():
    scores = np.array([0.5, -2.0, 1.0])
    view = SaliencyView()
    view.update(["good", "<not>", "bad"], scores, "positive")
    bar = view.fig.data[0]
    np.testing.assert_array_equal(bar.y, scores)
    np.testing.assert_array_equal(bar.marker.color, scores)
    assert (bar.marker.cmin, bar.marker.cmax) == (-2.0, 2.0)  # centred at 0
    assert list(view.fig.layout.xaxis.ticktext) == ["good", "&lt;not&gt;", "bad"]  # literal
    assert "positive" in view.fig.layout.title.text
    snippet = saliency_html(["<b>", "ok"], [1.0, -1.0])
    assert "&lt;b&gt;" in snippet and "<b>" not in snippet
    pos, neg = snippet.split("</span>")[:2]
    assert "214, 39, 40" in pos and "31, 119, 180" in neg


def test_neuron_view_marks_matches():
    acts, match = RNG.random((5, 3)), np.array([0, 1, 0, 0, 1])
    view = NeuronView()
    view.update(acts, TOKENS, [7, 2, 9], [0.9, 0.8, 0.5], match)
    np.testing.assert_array_equal(view.fig.data[0].z, acts.T)
    np.testing.assert_array_equal(view.fig.data[1].z, match[None, :])
    assert list(view.fig.layout.yaxis.ticktext) == ["unit 7 (0.90)", "unit 2 (0.80)",
                                                    "unit 9 (0.50)"]
    assert list(view.fig.layout.xaxis.ticktext) == TOKENS
    with pytest.raises(ValueError, match="unit id"):
        view.update(acts, TOKENS, [1], [0.5], match)


def test_confusion_tags_and_generation_views():
    confusion = ConfusionView()
    confusion.update(np.array([[3, 1], [0, 4]]), ["neg", "pos"])
    np.testing.assert_array_equal(confusion.fig.data[0].z, [[3, 1], [0, 4]])
    np.testing.assert_array_equal(confusion.fig.data[0].text, [["3", "1"], ["0", "4"]])
    assert list(confusion.fig.layout.xaxis.ticktext) == ["neg", "pos"]
    assert confusion.fig.layout.xaxis.title.text == "predicted"
    assert "87.5%" in confusion.fig.layout.title.text

    tags = TagsView()
    tags.update(["I", "saw", "Ann"], ["O", "O", "B-PER"], ["O", "B-PER", "B-PER"])
    cells = tags.fig.data[0].cells
    assert [list(c) for c in cells.values] == [["I", "saw", "Ann"], ["O", "O", "B-PER"],
                                               ["O", "B-PER", "B-PER"]]
    assert cells.fill.color[0][1] != cells.fill.color[0][0] == "white"
    assert tags.fig.layout.title.text == "Tags: 1 of 3 wrong"

    generation = GenerationView()
    generation.update(["a", "b", "a"], np.array([0.2, 0.9, 0.4]))
    np.testing.assert_array_equal(generation.fig.data[0].y, [0.2, 0.9, 0.4])
    assert list(generation.fig.data[0].text) == ["a", "b", "a"]
    assert list(generation.fig.layout.xaxis.ticktext) == ["a", "b", "a"]


# --- layout: what a screenshot shows -----------------------------------------------------

SOURCE = ["0", "b", "2", "c", "d", "6", "c", "1", "d"]  # repeated tokens, as in `reverse`


def slots(fig, n: int) -> list[dict]:
    """Slot k's domains (x0, x1, y0, y1), visibility and title annotation."""
    out = []
    for k in range(n):
        xk, yk, _, _ = axis_keys(k)
        xa, ya = fig.layout[xk], fig.layout[yk]
        out.append({"box": (*xa.domain, *ya.domain), "visible": xa.visible is not False,
                    "title": fig.layout.annotations[k]})
    return out


def plot_px(fig) -> float:
    """The plot area's height in pixels: the figure's less its margins, and less what
    plotly adds to the bottom margin for a range slider (see plots.layout.slider)."""
    extra = sum(slider_room(axis.ticktext, tick_room(axis.ticktext))
                for axis in (fig.layout[k] for k in fig.layout if k.startswith("xaxis"))
                if axis.rangeslider.visible)
    return fig.layout.height - fig.layout.margin.t - fig.layout.margin.b - extra


def px(fig, fraction: float) -> float:
    """A height in paper coordinates, in pixels."""
    return fraction * plot_px(fig)


def overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def assert_clean_layout(fig, n: int, min_gap_px: float = 50) -> list[dict]:
    """Visible slots have valid domains (plotly silently resets a domain narrower than
    1/4096 to [0, 1], covering the figure), never overlap, and stacked ones leave room
    for tick labels and the next title; hidden slots are parked in a corner."""
    found = slots(fig, n)
    shown = [s for s in found if s["visible"]]
    for s in shown:
        x0, x1, y0, y1 = s["box"]
        assert 0 <= x0 < x1 - 1 / 4096 <= 1 and 0 <= y0 < y1 - 1 / 4096 <= 1, s["box"]
        assert s["title"].y == y1 and s["title"].visible is not False
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            assert not overlap(a["box"], b["box"]), (a["box"], b["box"])
            if a["box"][0] < b["box"][1] and b["box"][0] < a["box"][1]:  # one above the other
                gap = max(a["box"][2] - b["box"][3], b["box"][2] - a["box"][3])
                assert px(fig, gap) >= min_gap_px, (a["box"], b["box"])
    for s in found:
        if not s["visible"]:
            assert s["box"] == HIDDEN_BOX and not s["title"].text
    return shown


def assert_token_axis(axis, tokens) -> None:
    """A numeric axis, one tick per position labelled with its token (duplicates kept)."""
    assert axis.type == "linear" and axis.tickmode == "array"
    np.testing.assert_array_equal(axis.tickvals, np.arange(len(tokens)))
    assert list(axis.ticktext) == list(tokens)


def test_stack_rows_converts_pixels_to_domains():
    rows, total = stack_rows([100, 50], [50])
    assert total == 200 and rows == [(0.5, 1.0), (0.0, 0.25)]
    with pytest.raises(ValueError, match="gaps"):
        stack_rows([100, 50], [])


@pytest.mark.parametrize(("layer", "head", "n_maps"), [(0, 0, 1), (None, None, 8), (1, None, 4)])
def test_attention_has_a_cell_per_position_with_repeated_tokens(layer, head, n_maps):
    w = RNG.random((2, 4, len(SOURCE) + 1, len(SOURCE)))
    targets = SOURCE[::-1] + ["[EOS]"]
    view = AttentionView()
    view.update(w, targets, SOURCE, layer=layer, head=head, query_label="output",
                key_label="input")
    shown = assert_clean_layout(view.fig, 16, min_gap_px=40)
    assert len(shown) == n_maps and view.fig.layout.height >= 500
    for k in range(n_maps):
        heat, s = view.fig.data[k], str(k + 1) if k else ""
        np.testing.assert_array_equal(heat.x, np.arange(len(SOURCE)))
        np.testing.assert_array_equal(heat.y, np.arange(len(targets)))
        assert np.shape(heat.z) == (len(targets), len(SOURCE))
        assert_token_axis(view.fig.layout[f"xaxis{s}"], SOURCE)
        assert_token_axis(view.fig.layout[f"yaxis{s}"], targets)
    assert view.fig.data[0].customdata[2][6] == "output 2 (c), input 6 (c)"
    if n_maps > 1:  # the query tokens only on the left column
        assert view.fig.layout.yaxis.showticklabels and not view.fig.layout.yaxis2.showticklabels


def test_token_views_keep_repeated_tokens_apart():
    view = HiddenView()
    view.update(RNG.random((len(SOURCE), 6)), SOURCE)
    np.testing.assert_array_equal(view.fig.data[0].x, np.arange(len(SOURCE)))
    assert_token_axis(view.fig.layout.xaxis, SOURCE)
    assert_token_axis(view.fig.layout.xaxis2, SOURCE)
    assert view.fig.data[0].customdata[4][6] == "unit 4, token 6 (c)"
    neurons = NeuronView()
    neurons.update(RNG.random((len(SOURCE), 2)), SOURCE, [3, 1], [0.9, 0.5])
    np.testing.assert_array_equal(neurons.fig.data[0].x, np.arange(len(SOURCE)))
    assert_token_axis(neurons.fig.layout.xaxis, SOURCE)
    for bars in (SaliencyView(), GenerationView()):
        bars.update(SOURCE, RNG.random(len(SOURCE)))
        np.testing.assert_array_equal(bars.fig.data[0].x, np.arange(len(SOURCE)))
        assert_token_axis(bars.fig.layout.xaxis, SOURCE)
    confusion = ConfusionView()
    confusion.update(np.eye(3), ["O", "B-PER", "O"])
    assert_token_axis(confusion.fig.layout.yaxis, ["O", "B-PER", "O"])
    tags = TagsView()
    tags.update(SOURCE, ["O"] * len(SOURCE), ["O"] * len(SOURCE))
    assert list(tags.fig.data[0].cells.values[0]) == SOURCE


def test_tokens_are_shown_literally_not_as_html():
    tokens = ["a", "<br />", "<b>", "&"]
    view = HiddenView()
    view.update(RNG.random((4, 2)), tokens)
    assert list(view.fig.layout.xaxis.ticktext) == ["a", "&lt;br /&gt;", "&lt;b&gt;", "&amp;"]
    tags = TagsView()
    tags.update(tokens, ["O"] * 4, ["O"] * 4)
    assert tags.fig.data[0].cells.values[0][1] == "&lt;br /&gt;"


@pytest.mark.parametrize("names", ["rzn", "ifgoc"])
def test_gates_stack_heatmaps_above_the_unit_panel_without_overlap(names):
    view = GatesView()
    view.update({n: RNG.random((len(SOURCE), 8)) for n in "ifgoc"}, SOURCE)  # then shrink
    view.update({n: RNG.random((len(SOURCE), 8)) for n in names}, SOURCE)
    view.select_unit(2)
    fig, n = view.fig, len(names)
    shown = assert_clean_layout(fig, GatesView.MAX_GATES + 1)
    heats, lines = shown[:-1], shown[-1]
    assert len(heats) == n and lines["box"][:2] == (0, 1)
    assert all(lines["box"][3] < h["box"][2] for h in heats)  # the unit's panel is below
    assert fig.layout.height >= 150 * n + 250
    bars = []
    for k, h in enumerate(heats):
        bar = fig.data[k].colorbar
        low, high = bar.y - bar.len / 2, bar.y + bar.len / 2  # beside its own heatmap
        assert h["box"][2] - 1e-9 <= low < high <= h["box"][3] + 1e-9
        bars.append((low, high))
        assert_token_axis(fig.layout[axis_keys(k)[0]], SOURCE)
        shape = fig.layout.shapes[k]
        assert (shape.y0, shape.y1, shape.visible) == (1.5, 2.5, True)
    assert not any(s.visible for s in fig.layout.shapes[n:])
    assert fig.layout.legend.y <= lines["box"][3] < min(low for low, _ in bars)
    assert_token_axis(fig.layout[axis_keys(GatesView.MAX_GATES)[0]], SOURCE)


def test_gates_figure_grows_with_the_number_of_gates():
    view = GatesView()
    view.update({n: RNG.random((3, 4)) for n in "rzn"}, ["a", "b", "a"])
    gru = view.fig.layout.height
    view.update({n: RNG.random((3, 4)) for n in "ifgoc"}, ["a", "b", "a"])
    assert view.fig.layout.height > gru + 200


def test_curves_hide_the_metric_panel_without_a_metric():
    view = CurvesView()
    view.update({"gru": run(50)})
    shown = assert_clean_layout(view.fig, 3, min_gap_px=80)  # 'step' clears the next title
    assert [s["title"].text for s in shown] == ["loss", "tokens/s per chunk"]
    assert shown[0]["box"][:2] == (0, 1)
    view.update({"gru": run(50), "lstm": run(50, metric=True)})
    shown = assert_clean_layout(view.fig, 3, min_gap_px=80)
    assert [s["title"].text for s in shown] == ["loss", "accuracy", "tokens/s per chunk"]
    assert shown[0]["box"][1] < shown[1]["box"][0]
    view.update({})
    assert [s["title"].text for s in assert_clean_layout(view.fig, 3)] == [
        "loss", "tokens/s per chunk"]


def test_long_texts_leave_room_for_turned_token_labels():
    words = ["absolutely", "recommended", "the", "wonderful"] * 12  # 48 long tokens
    cut = "a" * 30
    hidden = HiddenView()
    hidden.update(RNG.random((49, 4)), words + [cut])
    assert_clean_layout(hidden.fig, 2, min_gap_px=75 + 11 * 7)  # 'recommended' turned
    _, _, plot = HiddenView.boxes(tick_room(words + [cut]))
    assert plot_px(hidden.fig) == pytest.approx(plot, abs=1)
    layout = hidden.fig.layout  # below the plot: turned labels, the slider, 'token'
    assert layout.height - layout.margin.t - plot >= 11 * 7 + SLIDER_PX + 40
    assert hidden.fig.layout.xaxis.ticktext[-1] == "a" * 11 + "\u2026"
    assert hidden.fig.data[0].customdata[0][-1].endswith(f"({cut})")  # hover: whole token
    gates = GatesView()
    gates.update({n: RNG.random((48, 4)) for n in "rzn"}, words)
    assert_clean_layout(gates.fig, GatesView.MAX_GATES + 1, min_gap_px=35 + 11 * 6)
    attention = AttentionView()
    attention.update(RNG.random((2, 2, 48, 48)), words, words)
    assert_clean_layout(attention.fig, 16, min_gap_px=35 + 11 * 7)


def test_big_heatmaps_hover_positions_instead_of_sending_a_label_per_cell():
    view = HiddenView()
    view.update(RNG.random((200, 128)), ["x"] * 200)  # 25,600 cells
    assert view.fig.data[0].customdata is None
    assert view.fig.data[0].hovertemplate.startswith("unit %{y}, token %{x}")
    view.update(RNG.random((5, 7)), TOKENS)  # and back
    assert view.fig.data[0].customdata[0][3] == "unit 0, token 3 (the)"


def test_hidden_view_leaves_room_between_its_panels():
    view = HiddenView()
    view.update(RNG.random((5, 7)), TOKENS)
    view.select_unit(2)
    heat, line = assert_clean_layout(view.fig, 2, min_gap_px=80)
    bar = view.fig.data[0].colorbar
    assert bar.y - bar.len / 2 >= heat["box"][2] - 1e-9


# --- export and imports ----------------------------------------------------------------


def test_export_html_embeds_plotly_js_without_a_cdn(tmp_path):
    view = HiddenView()
    view.update(np.full((2, 3), 0.5), ["aardvark", "zebu"])
    path = export_html(view, tmp_path / "out" / "hidden.html")
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size > 1_000_000  # plotly.js itself
    assert "<script src=" not in text and 'src="https://cdn.plot.ly' not in text
    assert "aardvark" in text and "zebu" in text  # the figure's own data (arrays are base64)
    assert export_html(view.fig, tmp_path / "fig.html").stat().st_size > 1_000_000


def test_export_png_without_kaleido_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido -> ImportError
    with pytest.raises(RuntimeError, match="pip install kaleido"):
        export_png(HiddenView(), tmp_path / "x.png")
