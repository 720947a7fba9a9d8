"""The app, headless: click buttons, set widget values, read figure data and the error
Output. Every run uses one tiny setup (same model, data and step budget), so the training
step compiles once for the whole file; a ``Pause`` observer holds the training thread at a
chosen step so Stop and the learning-rate slider are tested at a known point."""

import threading

import jax
import numpy as np
import pytest

from workbench.config import DataConfig, ModelConfig
from workbench.data import hub
from workbench.errors import NonFiniteLoss
from workbench.infer import analysis
from workbench.train import step as wt
from workbench.train.trainer import Trainer
from workbench.ui import app
from workbench.ui.html import histogram_html
from workbench.ui.setup_presets import SMOKE_STEPS

TINY = dict(dataset="sentiment", size=200, max_len=16, batch_size=16, arch="gru", hidden=16,
            embed=8, layers=1, bidirectional=False, steps=40, chunk=5, eval_every=20, lr=3e-3)


class Pause:
    """A trainer observer that holds the training thread at ``step`` until released."""

    def __init__(self, step: int):
        self.step, self.reached, self.go = step, threading.Event(), threading.Event()

    def __call__(self, event, trainer, info):
        if event == "chunk" and trainer.step == self.step:
            self.reached.set()
            self.go.wait(60)


def workbench(tmp_path, observers=(), visual_share=None, **values) -> app.Workbench:
    """A workbench with the tiny setup (plus ``values``) in its widgets; it draws every
    chunk unless ``visual_share`` is given."""
    wb = app.Workbench(runs_dir=tmp_path / "runs", observers=observers,
                       visual_share=visual_share, precompile=False, chunk_s=None)
    for name, value in {**TINY, **values}.items():
        getattr(wb, name).value = value
    return wb


def train(wb: app.Workbench) -> None:
    wb.train_button.click()
    assert wb.wait(120), "training did not finish"


def outputs_text(wb: app.Workbench) -> str:
    return "".join(o.get("text", "") for o in wb.errors.outputs)


def test_builds_and_counts_parameters_as_sliders_move(tmp_path):
    wb = app.Workbench(runs_dir=tmp_path, precompile=False, chunk_s=None)
    assert wb.widget is not None and wb._repr_mimebundle_()
    wb.arch.value, wb.hidden.value = "gru", 16
    small = wb.param_label.value
    wb.hidden.value = 32
    assert "parameters" in small and wb.param_label.value != small
    wb.arch.value, wb.hidden.value, wb.heads.value = "transformer", 30, 4
    assert "heads=4 must divide hidden=30" in wb.param_label.value
    assert wb.error_messages == []


def test_the_parameter_count_says_when_the_task_is_only_assumed():
    """Before a file loads its task is unknown: the count says which task it assumed."""
    from workbench.ui.setup_presets import param_count_html

    model = ModelConfig(arch="gru", hidden=16, embed=8)
    known = param_count_html(model, DataConfig(dataset="prose"), None, {})
    assert "task lm" in known and "assumed" not in known.split(";")[0]
    unknown = param_count_html(model, DataConfig(dataset="reviews.csv"), None, {})
    assert "counted as task classify: the data's task is known once it loads" in unknown


def test_load_previews_examples_labels_and_lengths(tmp_path):
    wb = workbench(tmp_path)
    wb.load_button.click()
    assert wb.wait(60)
    preview = wb.preview.value
    assert "2 labels" in preview and "negative" in preview and "positive" in preview
    assert "Examples" in preview and "Lengths of the training sequences" in preview
    assert wb.data is not None and wb.data.task == "classify"
    assert "vocabulary 1" in wb.param_label.value  # exact count with the loaded vocabulary


def test_histogram_marks_cut_lengths():
    out = histogram_html(np.array([3, 4, 5, 30]), max_len=10, bins=4)
    assert "#fb8c00" in out and "#4c78a8" in out


def test_train_updates_live_views_and_refuses_a_second_run(tmp_path):
    lengths, pause = [], Pause(10)

    def record(event, trainer, info):
        if event == "chunk":
            lengths.append(len(wb.live.curves.fig.data[0].y))

    wb = workbench(tmp_path, observers=(record, pause))
    wb.train_button.click()
    assert pause.reached.wait(120)
    wb.train_button.click()  # while the first run is going
    assert "one run at a time" in wb.status.value
    assert sum(t.name.startswith("workbench") for t in threading.enumerate()) == 1
    pause.go.set()
    assert wb.wait(120)
    assert lengths == sorted(lengths) and lengths[0] >= 1 and lengths[-1] > lengths[0]
    assert len(wb.live.curves.fig.data[0].y) == 8  # 40 steps in chunks of 5
    z = np.asarray(wb.live.views.hidden_view.fig.data[0].z)
    assert z.size > 1 and z.shape[0] == 16  # units x tokens
    assert "finished" in wb.status.value and wb.progress.value == 40
    assert len(wb.runs) == 1 and wb.trainer is wb.runs[wb.current_name].trainer
    assert wb.error_messages == []


def test_live_figures_skip_chunks_once_they_used_their_share_of_training_time(tmp_path):
    lengths = []
    wb = workbench(tmp_path, visual_share=1e-9, observers=(
        lambda event, trainer, info: lengths.append(len(wb.live.curves.fig.data[0].y))
        if event == "chunk" else None,))
    wb.train_button.click()
    assert wb.wait(120)
    # drawn at the first chunk, then over budget: redrawn only by the validation at step 20
    assert lengths == [1] * 4 + [4] * 4
    assert len(wb.live.curves.fig.data[0].y) == 8  # the finished run is drawn whole
    assert wb.error_messages == []


def test_stop_takes_effect_within_one_chunk(tmp_path):
    pause = Pause(10)
    wb = workbench(tmp_path, observers=(pause,))
    wb.train_button.click()
    assert pause.reached.wait(120)
    wb.stop_button.click()
    pause.go.set()
    assert wb.wait(120)
    assert wb.trainer.step <= 15 < TINY["steps"]
    assert "stopped" in wb.status.value
    assert next(iter(wb.runs.values())).outcome == "stopped"


def test_lr_slider_changes_the_running_lr_without_recompiling(tmp_path):
    pause = Pause(10)
    wb = workbench(tmp_path, observers=(pause,))
    wb.train_button.click()
    assert pause.reached.wait(120)
    compiled = wt.TRACE_COUNT["train_step"]
    wb.lr.value = 0.02
    assert wb.running.lr == pytest.approx(0.02)
    pause.go.set()
    assert wb.wait(120)
    later = [r["lr"] for r in wb.trainer.history if r["kind"] == "train" and r["step"] > 10]
    assert later and all(lr == pytest.approx(0.02) for lr in later)
    assert wt.TRACE_COUNT["train_step"] == compiled


def test_selectors_reslice_without_running_the_model(tmp_path):
    wb = workbench(tmp_path)
    train(wb)
    views, probes = wb.live.views, analysis.TRACE_COUNT["probe"]
    assert views.layer.layout.display != "none" and views.part.layout.display == "none"
    before = np.asarray(views.hidden_view.fig.data[1].y).copy()
    other = (views.unit.value + 1) % (views.unit.max + 1)  # the default is the busiest unit
    views.unit.value = other
    assert not np.allclose(np.asarray(views.hidden_view.fig.data[1].y), before)
    assert views.hidden_view.unit == other and analysis.TRACE_COUNT["probe"] == probes


def test_bad_dataset_id_is_named_and_the_model_is_kept(tmp_path):
    wb = workbench(tmp_path)
    train(wb)
    model = wb.trainer
    wb.dataset.value = "no-such-user/no-such-dataset"
    wb.load_button.click()
    assert wb.wait(60)
    assert "no-such-user/no-such-dataset" in wb.preview.value
    assert "no-such-user/no-such-dataset" in outputs_text(wb)
    wb.train_button.click()
    assert wb.wait(60)
    assert "no-such-user/no-such-dataset" in wb.status.value
    assert wb.trainer is model and len(wb.runs) == 1


def test_a_diverged_run_keeps_its_last_finite_model(tmp_path, monkeypatch):
    real_run = Trainer.run

    def run(self, n):
        if self.step >= 10:
            raise NonFiniteLoss(f"training diverged at step {self.step + 1}")
        return real_run(self, n)

    monkeypatch.setattr(Trainer, "run", run)
    wb = workbench(tmp_path)
    train(wb)
    assert "diverged at step 11" in outputs_text(wb)
    assert wb.trainer is not None and wb.trainer.step == 10
    assert next(iter(wb.runs.values())).outcome == "diverged"


def test_callback_exceptions_land_in_the_error_output(tmp_path, monkeypatch):
    wb = workbench(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("boom in a view")

    monkeypatch.setattr(wb.live.views.hidden_view, "update", broken)
    train(wb)  # the training thread's observer fails; training goes on
    assert "boom in a view" in outputs_text(wb)
    assert wb.trainer.step == TINY["steps"] and len(wb.runs) == 1
    monkeypatch.setattr(wb.inspect_panel, "run", lambda: 1 / 0)
    wb.inspect_panel.run_button.click()
    assert "ZeroDivisionError" in wb.error_messages[-1]
    assert "Traceback" in outputs_text(wb)


def test_inspect_a_classifier(tmp_path):
    wb = workbench(tmp_path)
    wb.inspect_panel.run_button.click()
    assert "train a model or make a run current in Compare first" in \
        wb.inspect_panel.note.value
    train(wb)
    wb.inspect_panel.text.value = "the soup was not good"
    wb.inspect_panel.run_button.click()
    result = wb.inspect_panel.result.value
    assert "Probabilities" in result and "negative" in result and "positive" in result
    assert len(wb.inspect_panel.saliency.fig.data[0].y) == 5
    assert np.asarray(wb.inspect_panel.views.hidden_view.fig.data[0].z).shape == (16, 5)
    wb.inspect_panel.trajectory_button.click()
    assert len(wb.inspect_panel.trajectory.fig.data[0].x) == 5
    wb.inspect_panel.pattern.value = r"\bnot\b"
    wb.inspect_panel.search_button.click()
    assert list(wb.inspect_panel.neurons.fig.data[1].z[0]) == [0, 0, 0, 1, 0]
    assert wb.error_messages == []


def test_a_preset_fills_every_widget():
    wb = app.Workbench(runs_dir=None, smoke=True, precompile=False, chunk_s=None)
    wb.preset.value = "attention-reverse"
    assert (wb.arch.value, wb.task.value, wb.attention.value) == ("gru", "seq2seq", "dot")
    assert wb.dataset.value == "reverse" and wb.hidden.value == 64
    assert wb.steps.value == SMOKE_STEPS
    wb.preset.value = "bilstm-sentiment"
    assert wb.bidirectional.value and wb.arch.value == "lstm" and wb.dropout.value == 0.2
    assert app.Workbench(runs_dir=None, smoke=False, precompile=False).steps.value == 300


def test_compare_two_runs_and_reload_the_first(tmp_path):
    wb = workbench(tmp_path)
    train(wb)
    wb.seed.value = 1
    train(wb)
    first, second = wb.runs
    assert first in wb.compare.table.value and second in wb.compare.table.value
    names = [t.name for t in wb.compare.curves.fig.data if t.visible]
    assert any(first in n for n in names) and any(second in n for n in names)
    assert wb.current_name == second
    wb.seed.value = 7
    wb.compare.picker.value = first
    wb.compare.reload_button.click()
    assert wb.current_name == first and wb.trainer is wb.runs[first].trainer
    assert wb.seed.value == 0  # the reloaded run's setup is back in the widgets
    wb.runs[first].trainer = None  # dropped from memory: reloaded from its checkpoint
    assert wb.reload_run(first)
    assert wb.trainer.step == TINY["steps"] and (tmp_path / "runs").is_dir()
    wb.reset_button.click()
    assert wb.trainer is None and len(wb.runs) == 2


def test_setup_json_round_trips(tmp_path):
    wb = workbench(tmp_path, pooling="attention", dropout=0.15, text_column="text",
                   tokenizer="char", optimizer="adamw", lr=0.0123, task="classify")
    before = {name: w.value for name, w in wb.form.fields.items()}
    text = wb.setup_json()
    wb.preset.value = "char-lstm-prose"
    assert wb.dataset.value == "prose"
    assert wb.load_setup_json(text)
    assert {name: w.value for name, w in wb.form.fields.items()} == before
    assert not wb.load_setup_json('{"workbench_setup": 1, "model": {"colour": 1}}')
    assert "ModelConfig has no field 'colour'" in wb.error_messages[-1]
    assert not wb.load_setup_json("not json")
    assert {name: w.value for name, w in wb.form.fields.items()} == before


def test_offline_a_hub_preset_runs_on_its_stand_in_and_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    wb = app.Workbench(runs_dir=None, smoke=True, precompile=False, chunk_s=None)
    wb.preset.value = "bigru-trec"
    assert wb.dataset.value == "sentiment" and wb.arch.value == "gru" and wb.bidirectional.value
    assert "Offline" in wb.form.preset_info.value and "trec" in wb.form.preset_info.value
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub, "reachable", lambda: True)  # online, without a network
    wb.preset.value = "default"
    wb.preset.value = "bigru-trec"
    assert wb.dataset.value == "trec" and "Offline" not in wb.form.preset_info.value


def test_the_opening_setup_is_compiled_before_train_is_clicked():
    jax.clear_caches()
    before = wt.TRACE_COUNT["train_step"]
    wb = app.Workbench(runs_dir=None, smoke=True)
    wb._warm.join(120)
    assert wt.TRACE_COUNT["train_step"] == before + 1, "the warm-up compiled the step"
    assert "28,162 parameters" in wb.param_label.value, "the warm-up counted them (not __init__)"
    train(wb)
    assert wt.TRACE_COUNT["train_step"] == before + 1, "Train found the step compiled"
    assert len(wb.runs) == 1 and wb.trainer.step == SMOKE_STEPS
