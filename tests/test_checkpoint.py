"""Checkpoints: a saved run loads back identical (logits, configs, tokenizer, history) and
resumes exactly as if never stopped; saving is atomic; every broken checkpoint fails with a
CheckpointError that names the path and the fix."""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB, make_batch

from workbench import DataConfig, ModelConfig, build_model
from workbench import checkpoint as ckpt
from workbench import config as config_module
from workbench import train as wt
from workbench.tokenizer import TextTokenizer

# Dropout on: resuming exactly proves the dropout RNG state is saved too.
CONFIG = ModelConfig(arch="lstm", task="classify", layers=2, hidden=16, embed=8, dropout=0.1)
DATA = DataConfig(dataset="reviews.csv", data_files=(("train", "a.csv"), ("validation", "b.csv")))
ARGS = {"vocab_size": VOCAB, "n_classes": CLASSES, "target_vocab_size": None, "seed": 3}
BATCH = make_batch(CONFIG, [[1, 5, 2, 7, 3, 3, 9], [2, 2, 8], [3, 9, 9, 4, 1, 6], [4, 1]],
                   labels=[0, 1, 2, 3])
LABELS = ("neg", "pos", "mixed", "other")
HISTORY = [{"step": 1, "loss": 1.5, "split": "train"}, {"step": 3, "loss": 1.25, "acc": 0.5}]
TEXTS = ["the cat sat on the mat", "a dog ran after the cat", "the mat was red"]


@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer.train("word", TEXTS, 50)


def trained(steps=3, config=CONFIG):
    model = build_model(config, **ARGS)
    optimizer = nnx.Optimizer(model, wt.make_optimizer(1e-2), wrt=nnx.Param)
    for _ in range(steps):
        wt.train_step(model, optimizer, BATCH)
    return model, optimizer


def save_run(path, model, optimizer, tokenizer, **changes):
    kwargs = dict(model=model, model_config=CONFIG, model_args=ARGS, optimizer=optimizer,
                  configs={"data": DATA}, tokenizer=tokenizer, label_names=LABELS,
                  history=HISTORY, step=3, rng_key=jax.random.key(7), extra={"note": "hi"})
    return ckpt.save(path, **{**kwargs, **changes})


def logits(model):
    model.eval()  # deterministic: no dropout, no RNG drawn
    out = np.asarray(model(BATCH["tokens"], BATCH["mask"])[0])
    model.train()
    return out


def leaves(node):
    state = nnx.state(node)
    return [np.asarray(jax.random.key_data(x) if ckpt._is_key(x) else x)
            for x in jax.tree.leaves(state)]


@pytest.fixture
def saved(tmp_path, tokenizer):
    model, optimizer = trained()
    return save_run(tmp_path / "run", model, optimizer, tokenizer)


def test_round_trip_restores_model_configs_tokenizer_and_history(tmp_path, tokenizer):
    model, optimizer = trained()
    path = save_run(tmp_path / "run", model, optimizer, tokenizer)
    loaded = ckpt.load(path)
    np.testing.assert_array_equal(logits(loaded.model), logits(model))
    assert loaded.configs == {"model": CONFIG, "data": DATA}
    assert loaded.configs["data"].data_files == (("train", "a.csv"), ("validation", "b.csv"))
    assert loaded.model_config is loaded.configs["model"]
    assert loaded.model_args == ARGS and loaded.label_names == LABELS
    assert loaded.tokenizer.encode(TEXTS + ["an unseen zebra"]) == \
        tokenizer.encode(TEXTS + ["an unseen zebra"])
    assert loaded.history == HISTORY and loaded.step == 3 and loaded.extra == {"note": "hi"}
    assert loaded.rng_key == np.asarray(jax.random.key_data(jax.random.key(7))).tolist()
    assert loaded.path == path and loaded.optimizer is None
    for a, b in zip(leaves(loaded.model), leaves(model), strict=True):  # dropout RNGs too
        np.testing.assert_array_equal(a, b)


def test_resuming_from_a_checkpoint_equals_never_stopping(saved):
    model, optimizer = trained()
    loaded = ckpt.load(saved)
    # A different learning rate on purpose: the saved one is restored with the state.
    resumed = nnx.Optimizer(loaded.model, wt.make_optimizer(1e-3), wrt=nnx.Param)
    ckpt.restore_optimizer(saved, resumed)
    assert int(resumed.step[...]) == 3
    for _ in range(4):
        wt.train_step(model, optimizer, BATCH)
        wt.train_step(loaded.model, resumed, BATCH)
    for a, b in zip(leaves(loaded.model), leaves(model), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(leaves(resumed), leaves(optimizer), strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_can_build_and_restore_the_optimizer(saved):
    loaded = ckpt.load(saved, optimizer_for=lambda m: nnx.Optimizer(
        m, wt.make_optimizer(1e-3), wrt=nnx.Param))
    assert int(loaded.optimizer.step[...]) == 3
    assert float(loaded.optimizer.opt_state.hyperparams["learning_rate"][...]) == \
        pytest.approx(1e-2)


def test_meta_is_plain_json_and_read_meta_loads_no_arrays(saved):
    files = sorted(p.name for p in saved.iterdir())
    assert files == ["meta.json", "optimizer.msgpack", "params.msgpack", "tokenizer.json"]
    assert not any(p.read_bytes().startswith(b"\x80") for p in saved.iterdir())  # no pickle
    meta = json.loads((saved / "meta.json").read_text())
    assert meta["format_version"] == ckpt.FORMAT_VERSION == 1
    assert meta["configs"]["data"] == {"class": "DataConfig",
                                       "fields": json.loads(json.dumps(vars(DATA)))}
    (saved / "params.msgpack").write_bytes(b"not read by read_meta")
    assert ckpt.read_meta(saved) == meta and meta["step"] == 3


def test_a_later_config_class_in_workbench_config_round_trips(tmp_path, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class TrainConfig:
        lr: float = 1e-3
        schedule: tuple[float, ...] = ()
        window: tuple[int, int] | None = None
        layers: list[int] = dataclasses.field(default_factory=list)

    monkeypatch.setattr(config_module, "TrainConfig", TrainConfig, raising=False)
    train = TrainConfig(2e-3, (0.1, 0.5), (3, 4), [1, 2])
    model = build_model(CONFIG, **ARGS)
    path = ckpt.save(tmp_path / "run", model=model, model_config=CONFIG, model_args=ARGS,
                     configs={"train": train})
    assert ckpt.load(path).configs == {"model": CONFIG, "train": train}


def test_saving_over_a_checkpoint_replaces_it(saved, tokenizer):
    model, _ = trained(steps=5)
    save_run(saved, model, None, None, step=5)
    loaded = ckpt.load(saved)
    assert loaded.step == 5 and loaded.tokenizer is None
    np.testing.assert_array_equal(logits(loaded.model), logits(model))
    assert sorted(p.name for p in saved.parent.iterdir()) == ["run"]


@pytest.mark.parametrize("failing", ["params.msgpack", "meta.json", "rename"])
def test_a_failed_save_leaves_the_old_checkpoint_intact(saved, tokenizer, monkeypatch, failing):
    before = logits(ckpt.load(saved).model)
    write, rename = ckpt._write_file, ckpt.os.rename

    def half_write(path, data):
        if path.name == failing:
            path.write_bytes(data[: len(data) // 2])
            raise OSError("disk full")
        write(path, data)

    def failing_rename(src, dst):  # the new checkpoint's rename into place fails
        if ".tmp-" in str(src):
            raise OSError("rename failed")
        rename(src, dst)

    monkeypatch.setattr(ckpt, "_write_file", half_write)
    monkeypatch.setattr(ckpt.os, "rename", failing_rename if failing == "rename" else rename)
    model, _ = trained(steps=5)
    with pytest.raises(OSError, match="disk full|rename failed"):
        save_run(saved, model, None, tokenizer, step=5)
    monkeypatch.undo()
    assert sorted(p.name for p in saved.parent.iterdir()) == ["run"]  # no temp dir left
    loaded = ckpt.load(saved)
    assert loaded.step == 3
    np.testing.assert_array_equal(logits(loaded.model), before)


def test_save_refuses_to_replace_a_directory_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ckpt.CheckpointError, match="not a checkpoint.*another path"):
        ckpt.save(tmp_path, model=build_model(CONFIG, **ARGS), model_config=CONFIG,
                  model_args=ARGS)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_directory_and_files_are_named(tmp_path, saved):
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint at .*nowhere.*check the path"):
        ckpt.load(tmp_path / "nowhere")
    (saved / "tokenizer.json").unlink()
    with pytest.raises(ckpt.CheckpointError, match="run is incomplete: tokenizer.json is missing"):
        ckpt.load(saved)
    (saved / "meta.json").unlink()
    with pytest.raises(ckpt.CheckpointError, match="run has no meta.json.*not a checkpoint"):
        ckpt.read_meta(saved)


@pytest.mark.parametrize("name", ["params.msgpack", "meta.json"])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_files_are_named(saved, name, damage):
    file = saved / name
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\xff\x00junk" * 9)
    with pytest.raises(ckpt.CheckpointError, match=f"{name} is corrupt.*re-save the run"):
        ckpt.load(saved)


def test_a_newer_format_asks_for_an_upgrade(saved):
    meta = json.loads((saved / "meta.json").read_text())
    (saved / "meta.json").write_text(json.dumps({**meta, "format_version": 2}))
    with pytest.raises(ckpt.CheckpointError, match="run was written by a newer workbench.*"
                                                   "upgrade"):
        ckpt.read_meta(saved)


def test_an_unknown_config_class_is_named(saved):
    meta = json.loads((saved / "meta.json").read_text())
    meta["configs"]["data"]["class"] = "NoSuchConfig"
    (saved / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="meta.json.*'NoSuchConfig'.*upgrade"):
        ckpt.load(saved)


def test_parameters_of_another_shape_name_the_path_and_both_shapes(saved):
    meta = json.loads((saved / "meta.json").read_text())
    meta["configs"]["model"]["fields"]["hidden"] = 12  # edited to another architecture
    (saved / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match=r"params.msgpack does not match the model "
                       r"at 'head/kernel': shape \(16, 4\).*shape \(12, 4\).*re-save"):
        ckpt.load(saved)


def test_restoring_into_an_optimizer_of_another_model_names_the_mismatch(saved, tokenizer):
    other = build_model(CONFIG.replace(hidden=12), **ARGS)
    optimizer = nnx.Optimizer(other, wt.make_optimizer(1e-2), wrt=nnx.Param)
    with pytest.raises(ckpt.CheckpointError, match=r"optimizer.msgpack does not match the "
                       r"optimizer at '.*mu/head/kernel': shape \(16, 4\).*\(12, 4\)"):
        ckpt.restore_optimizer(saved, optimizer)
    model, _ = trained(steps=0)
    bare = save_run(saved.parent / "bare", model, None, tokenizer)
    with pytest.raises(ckpt.CheckpointError, match="bare was saved without optimizer state"):
        ckpt.restore_optimizer(bare, nnx.Optimizer(model, wt.make_optimizer(), wrt=nnx.Param))
