"""The Live view at a human pace, headless: the probe is redrawn while a run trains (not
only at its end), each refresh is kept as a frame that the replay slider shows again,
Continue trains the current model further, the Start tab runs a preset and a pair, and
the kernel notice answers its pings. (``test_app.py`` covers the rest of the app;
``test_browser.py`` the same things in a real browser.)"""

import numpy as np
import pytest

from workbench.data.load import prepare
from workbench.presets import PRESETS
from workbench.train.trainer import Trainer
from workbench.ui import app
from workbench.ui.live import Frame, Pacer, thin

TINY = dict(dataset="sentiment", size=200, max_len=16, batch_size=16, arch="gru", hidden=16,
            embed=8, layers=1, bidirectional=False, steps=40, chunk=5, eval_every=20, lr=3e-3)


def workbench(tmp_path, **kwargs) -> app.Workbench:
    wb = app.Workbench(runs_dir=tmp_path / "runs", precompile=False, chunk_s=None, **kwargs)
    for name, value in TINY.items():
        getattr(wb, name).value = value
    return wb


def train(wb: app.Workbench, button=None) -> None:
    (button or wb.train_button).click()
    assert wb.wait(120), "training did not finish"
    assert wb.error_messages == []


def test_the_probe_is_redrawn_while_it_trains_and_every_refresh_is_a_frame(tmp_path):
    wb = workbench(tmp_path, visual_share=None, probe_every_s=0)
    train(wb)
    steps = [f.step for f in wb.live.frames]
    # before the first step (it compiles the probe), after each chunk of 5, and at the end
    assert steps == [0, 5, 10, 15, 20, 25, 30, 35, 40, 40]
    assert [s for _, s in wb.pacer.refreshes] == steps[1:-1]
    assert "Probe at step 40" in wb.live.views.caption.value
    assert wb.live.replay.max == len(steps) - 1 == wb.live.replay.value


def test_replay_shows_an_earlier_frame_and_stays_there_while_new_ones_arrive(tmp_path):
    wb = workbench(tmp_path, visual_share=None, probe_every_s=0)
    train(wb)
    live = wb.live
    first = np.asarray(live.views.hidden_view.fig.data[0].z).copy()
    live.replay_buttons["first"].click()
    assert "Probe at step 0" in live.views.caption.value and live.replay.value == 0
    assert "step 0 &middot; frame 1 of 10" in live.replay_label.value
    assert not np.allclose(np.asarray(live.views.hidden_view.fig.data[0].z), first)
    live.replay_buttons["forward"].click()
    assert "Probe at step 5" in live.views.caption.value
    live.refresh(wb.trainer)  # a new frame while replaying: the replayed one stays shown
    assert "Probe at step 5" in live.views.caption.value and live.replay.max == 10
    live.replay_buttons["latest"].click()
    assert "Probe at step 40" in live.views.caption.value


def test_thin_keeps_the_first_and_latest_frames_within_the_limit():
    frames = [Frame(i, None, [], None, "") for i in range(300)]
    for _ in range(5):
        frames = thin(frames + [Frame(frames[-1].step + 1, None, [], None, "")], 200)
    steps = [f.step for f in frames]
    assert len(steps) <= 200 and steps[0] == 0 and steps[-1] == 304
    assert steps == sorted(steps) and steps[-50:] == list(range(255, 305))


def test_pacer_spends_at_most_its_share_and_refreshes_the_probe_on_time(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("workbench.ui.live.time.monotonic", lambda: clock[0])
    pacer = Pacer(share=0.05, probe_s=1.0)
    drawn, elapsed = [], 0.0
    for _ in range(100):  # chunks of 0.25 s of training; each drawing costs 20 ms
        clock[0] += 0.25
        elapsed += 0.25
        if pacer.allows(elapsed):
            with pacer.drawing() as probe_due:
                clock[0] += 0.02
                if probe_due:
                    pacer.probed(len(drawn))
            drawn.append(probe_due)
    assert pacer.spent <= 0.05 * elapsed + 0.02  # one drawing may cross the line
    gaps = np.diff([t for t, _ in pacer.refreshes])
    assert len(pacer.refreshes) >= 15 and gaps.max() <= 2.0


def test_the_unit_shown_first_is_the_one_that_varies_most(tmp_path):
    wb = workbench(tmp_path, visual_share=None)
    train(wb)
    views = wb.live.views
    part, _ = views.part_trace()
    hidden = np.asarray(part.hidden[0, 0, 0])[np.asarray(part.mask[0], bool)]
    assert views.unit.value == int(hidden.var(axis=0).argmax())
    views.unit.value = (views.unit.value + 1) % (views.unit.max + 1)  # the user's choice
    chosen = views.unit.value
    wb.live.refresh(wb.trainer)
    assert views.unit.value == chosen


def test_continue_trains_the_current_model_further_in_the_same_run(tmp_path):
    wb = workbench(tmp_path, visual_share=None)
    wb.continue_button.click()
    assert "no current model to continue" in wb.status.value
    train(wb)
    name, trainer = wb.current_name, wb.trainer
    wb.steps.value = 20
    train(wb, wb.continue_button)
    assert wb.trainer is trainer and trainer.step == 60 and wb.current_name == name
    assert len(wb.runs) == 1 and wb.runs[name].step == 60
    assert [r["step"] for r in trainer.history if r["kind"] == "train"][-1] == 60
    assert wb.live.frames[0].step == 0 and wb.live.frames[-1].step == 60


def test_chunks_shorten_for_slow_steps_without_changing_the_result():
    data = prepare(app.Workbench(runs_dir=None, precompile=False).configs()[0].replace(
        dataset="sentiment", size=200, max_len=16, batch_size=16))
    from workbench.config import ModelConfig, TrainConfig

    model = ModelConfig(arch="gru", hidden=16, embed=8)
    config = TrainConfig(steps=30, chunk=10, eval_every=15, lr=3e-3)
    plain, paced = Trainer(data, model, config), Trainer(data, model, config)
    paced.chunk_seconds = 1e-9  # every step looks slow: chunks of one step
    plain.fit()
    paced.fit()
    chunks = [r["step"] for r in paced.history if r["kind"] == "train"]
    # the first chunk compiles (no step time yet) and the second ends on the validation
    assert chunks == [10, 15, *range(16, 31)]
    def evals(trainer):
        return [r for r in trainer.history if r["kind"] == "eval"]

    assert [r["step"] for r in evals(plain)] == [r["step"] for r in evals(paced)] == [15, 30]
    assert [r["loss"] for r in evals(plain)] == pytest.approx(
        [r["loss"] for r in evals(paced)], rel=1e-5)


def test_start_tab_runs_a_preset_and_a_pair_side_by_side(tmp_path):
    wb = app.Workbench(runs_dir=None, smoke=True, precompile=False, visual_share=None)
    assert set(PRESETS) <= set(wb.start.buttons)
    wb.start.buttons["bilstm-sentiment"].click()
    assert wb.wait(300) and wb.error_messages == []
    assert wb.tabs.selected_index == app.TABS.index("Live")
    assert len(wb.runs) == 1 and wb.preset.value == "bilstm-sentiment"
    pair = next(p for p in PRESETS.values() if p.pair)
    wb.start.buttons[f"{pair.name}+{pair.pair}"].click()
    assert wb.wait(300) and wb.error_messages == []
    archs = [r.model.arch for r in list(wb.runs.values())[1:]]
    assert archs == [PRESETS[pair.name].model.arch, PRESETS[pair.pair].model.arch]
    assert wb.tabs.selected_index == app.TABS.index("Compare")


def test_kernel_notice_answers_each_ping(monkeypatch):
    wb = app.Workbench(runs_dir=None, precompile=False, chunk_s=None)
    sent = []
    monkeypatch.setattr(wb.kernel_notice, "send", sent.append)
    wb.kernel_notice._answer(wb.kernel_notice, {"ping": 7}, [])
    assert sent == [{"pong": 7}] and "wb-app" in wb.widget._dom_classes


def test_a_replayed_frame_stays_shown_when_old_frames_are_thinned(tmp_path, monkeypatch):
    wb = workbench(tmp_path, visual_share=None, probe_every_s=0)
    train(wb)
    live = wb.live
    monkeypatch.setattr(live, "MAX_FRAMES", 9)  # 10 frames: the next refresh thins them
    live.show_frame(7)  # step 35
    live.refresh(wb.trainer)
    assert len(live.frames) <= 9 and "Probe at step 35" in live.views.caption.value
    assert live.frames[live.replay.value].step == 35
