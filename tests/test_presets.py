"""Presets: each is complete and valid, each recipe runs and learns on its offline stand-in,
and ``benchmarks/quality.py`` scores a preset on a split."""

import importlib.util
import json
import pathlib

import pytest
from flax import nnx

from workbench.config import DataConfig, ModelConfig, TrainConfig
from workbench.data import builtin
from workbench.data.catalog import CATALOG
from workbench.data.load import prepare
from workbench.nn.models import build_model, count_params
from workbench.presets import PRESETS, RECIPES
from workbench.train.step import eval_step
from workbench.train.trainer import Trainer
from workbench.ui.setup_presets import smoke

BUILTIN_TASKS = {name: task for name, task, _ in builtin.describe()}
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_complete_and_needs_no_files(name):
    preset = PRESETS[name]
    assert preset.name == name and len(preset.description) > 40
    assert not preset.data.data_files  # nothing outside the package is read
    offline = preset.offline()
    assert offline.data.dataset in BUILTIN_TASKS
    assert BUILTIN_TASKS[offline.data.dataset] == preset.data.task
    task = preset.data.task
    args = {"task": task, "vocab_size": 100,
            "n_classes": 3 if task in ("classify", "tag") else None,
            "target_vocab_size": 100 if task == "seq2seq" else None}
    assert count_params(nnx.eval_shape(lambda: build_model(preset.model, **args))) > 0


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_has_one_idea_a_runtime_and_a_mutual_pair(name):
    """What the Start panel shows: one short line, the expected time here, and the preset
    to run beside it in Compare (pairs name each other and share the task and data)."""
    preset = PRESETS[name]
    assert preset.idea and len(preset.idea) <= 70 and "\n" not in preset.idea
    assert preset.idea != preset.description
    assert preset.runtime_s > 0
    if preset.train.minutes is not None:
        assert preset.runtime_s <= 60 * preset.train.minutes
    if preset.pair:
        other = PRESETS[preset.pair]
        assert other.pair == name and other.name != name
        assert other.data == preset.data and other.data.task == preset.data.task


def test_the_recall_demos_are_a_pair():
    assert PRESETS["lstm-recall"].pair == "elman-recall"
    assert PRESETS["elman-recall"].pair == "lstm-recall"
    assert [p.name for p in PRESETS.values() if p.pair] == ["lstm-recall", "elman-recall"]


@pytest.mark.parametrize("preset", RECIPES, ids=lambda p: p.name)
def test_a_recipe_names_its_standard_dataset_and_reference(preset):
    assert preset.data.dataset in CATALOG
    assert CATALOG[preset.data.dataset].task == preset.data.task
    assert preset.reference and preset.stand_in


def _train_loss(trainer: Trainer, batches: int = 4) -> float:
    """Mean loss of the first training batches, dropout off (no decoding, unlike
    ``evaluate`` for seq2seq, so the test stays quick)."""
    trainer.model.eval()
    stream = trainer.data.batches("train", train=False)
    losses = [float(eval_step(trainer.model, next(stream))[0]) for _ in range(batches)]
    trainer.model.train()
    return sum(losses) / batches


@pytest.mark.parametrize("preset", RECIPES, ids=lambda p: p.name)
def test_a_recipe_learns_on_its_stand_in(preset):
    """The recipe's tokenizer, architecture, pooling, dropout and optimizer, at a smaller
    width and smoke size, fit its offline stand-in: the training loss falls."""
    offline = preset.offline()
    data_config, train_config = smoke(offline.data.replace(buckets=1), offline.train)
    trainer = Trainer(prepare(data_config), preset.model.replace(hidden=32, embed=32),
                      train_config.replace(steps=120, eval_every=0, minutes=None, chunk=40))
    before = _train_loss(trainer)
    trainer.run(120)
    assert _train_loss(trainer) < 0.9 * before


def _quality():
    spec = importlib.util.spec_from_file_location("quality", ROOT / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quality_scores_a_preset_on_a_split_and_prints_json(capsys, tmp_path):
    result = _quality().main([
        "--preset", "bigru-trec", "--dataset", "sentiment", "--steps", "20",
        "--set", "model.hidden=16", "--set", "train.minutes=null", "--set", "data.size=300",
        "--out", str(tmp_path / "run")])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result
    assert result["metric"] == "accuracy" and 0 <= result["value"] <= 1
    assert result["steps"] == 20 and result["split"] == "validation"
    assert result["reference"] == PRESETS["bigru-trec"].reference
    assert (tmp_path / "run").is_dir()


def _preset_times():
    spec = importlib.util.spec_from_file_location("preset_times",
                                                  ROOT / "benchmarks" / "preset_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("steps, eval_every", [(7, 3), (6, 3), (5, 0), (4, 10)])
def test_runtime_estimates_count_the_validations_fit_runs(steps, eval_every):
    """``benchmarks/preset_times.py`` multiplies the validation time by the number of
    validations ``Trainer.fit`` runs (every ``eval_every`` steps before the last, and one
    at the end): counted here on a real fit."""
    data = prepare(DataConfig(dataset="recall", size=64, max_len=14, batch_size=8))
    trainer = Trainer(data, ModelConfig(arch="elman", hidden=8, embed=8),
                      TrainConfig(steps=steps, eval_every=eval_every, chunk=2))
    trainer.fit()
    evals = [r for r in trainer.history if r.get("kind") == "eval"]
    assert _preset_times().validations(steps, eval_every) == len(evals)

