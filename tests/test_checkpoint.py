"""Checkpoints: a saved run loads back identical (logits, configs, tokenizer, history) and
resumes exactly as if never stopped; saving is atomic, replaces only the checkpoint's own
files and is refused while another process writes there; every file is verified by its
sha256; every broken checkpoint fails with a CheckpointError that names the path and the
fix."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx
from helpers import CLASSES, VOCAB, make_batch

from workbench import DataConfig, ModelConfig, build_model
from workbench import config as config_module
from workbench.data.tokenizer import TextTokenizer
from workbench.train import checkpoint as ckpt
from workbench.train import checkpoint_files, checkpoint_meta, locks
from workbench.train import step as wt

# Dropout on: resuming exactly proves the dropout RNG state is saved too.
CONFIG = ModelConfig(arch="lstm", hidden=16, embed=8, dropout=0.1, unroll=1)
DATA = DataConfig(dataset="reviews.csv", data_files=(("train", "a.csv"), ("validation", "b.csv")))
ARGS = {"task": "classify", "vocab_size": VOCAB, "n_classes": CLASSES, "target_vocab_size": None,
        "seed": 3}
BATCH = make_batch("classify", [[1, 5, 2, 7, 3, 3, 9], [2, 2, 8], [3, 9, 9, 4, 1, 6],
                                [4, 1]], labels=[0, 1, 2, 3])
LABELS = ("neg", "pos", "mixed", "other")
HISTORY = [{"step": 1, "loss": 1.5, "split": "train"}, {"step": 3, "loss": 1.25, "acc": 0.5}]
TEXTS = ["the cat sat on the mat", "a dog ran after the cat", "the mat was red"]
# Every config class in workbench.config round-trips; TrainConfig joins when it exists.
CONFIGS = {"data": DATA, **({"train": config_module.TrainConfig(lr=2e-3, minutes=2.5)}
                            if hasattr(config_module, "TrainConfig") else {})}
TX = wt.make_optimizer(1e-2)  # one optax object for all: train_step then compiles once


@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer.train("word", TEXTS, 50)


@nnx.jit
def forward(model, tokens, mask):
    return model(tokens, mask)[0]


def logits(model):
    model.eval()  # deterministic: no dropout, no RNG drawn
    out = np.asarray(forward(model, BATCH["tokens"], BATCH["mask"]))
    model.train()
    return out


def leaves(node):
    return [np.asarray(jax.random.key_data(x) if checkpoint_meta.is_key(x) else x)
            for x in jax.tree.leaves(nnx.state(node))]


def assert_same_state(a, b):
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def save_run(path, model, optimizer, tokenizer, **changes):
    kwargs = dict(model=model, model_config=CONFIG, model_args=ARGS, optimizer=optimizer,
                  configs=CONFIGS, tokenizer=tokenizer, label_names=LABELS,
                  history=HISTORY, step=3, rng_key=jax.random.key(7), extra={"note": "hi"})
    return ckpt.save(path, **{**kwargs, **changes})


@pytest.fixture(scope="module")
def base(tmp_path_factory, tokenizer):
    """A run trained 3 steps and saved; then the same run continued 4 more steps."""
    model = build_model(CONFIG, **ARGS)
    optimizer = nnx.Optimizer(model, TX, wrt=nnx.Param)
    for _ in range(3):
        wt.train_step(model, optimizer, BATCH)
    path = save_run(tmp_path_factory.mktemp("base") / "run", model, optimizer, tokenizer)
    saved = {"path": path, "logits": logits(model), "leaves": leaves(model)}
    for _ in range(4):
        wt.train_step(model, optimizer, BATCH)
    return {**saved, "model": model, "optimizer": optimizer}


@pytest.fixture
def saved(base, tmp_path):
    """A copy of the base checkpoint that a test may damage."""
    return Path(shutil.copytree(base["path"], tmp_path / "run"))


def test_round_trip_restores_model_configs_tokenizer_and_history(saved, base, tokenizer):
    loaded = ckpt.load(saved)
    np.testing.assert_array_equal(logits(loaded.model), base["logits"])
    for x, y in zip(leaves(loaded.model), base["leaves"], strict=True):  # dropout RNGs too
        np.testing.assert_array_equal(x, y)
    assert loaded.configs == {"model": CONFIG, **CONFIGS}
    assert loaded.configs["data"].data_files == (("train", "a.csv"), ("validation", "b.csv"))
    assert loaded.model_config is loaded.configs["model"]
    assert loaded.model_args == ARGS and loaded.label_names == LABELS
    assert loaded.tokenizer.encode(TEXTS + ["an unseen zebra"]) == \
        tokenizer.encode(TEXTS + ["an unseen zebra"])
    assert loaded.history == HISTORY and loaded.step == 3 and loaded.extra == {"note": "hi"}
    assert loaded.rng_key == np.asarray(jax.random.key_data(jax.random.key(7))).tolist()
    assert loaded.path == saved and loaded.optimizer is None


def test_resuming_from_a_checkpoint_equals_never_stopping(saved, base):
    loaded = ckpt.load(saved)
    resumed = nnx.Optimizer(loaded.model, TX, wrt=nnx.Param)
    resumed.opt_state.hyperparams["learning_rate"][...] = 0.5  # overwritten by the restore
    ckpt.restore_optimizer(saved, resumed)
    assert int(resumed.step[...]) == 3
    for _ in range(4):
        wt.train_step(loaded.model, resumed, BATCH)
    assert_same_state(loaded.model, base["model"])
    assert_same_state(resumed, base["optimizer"])


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
    assert meta["format_version"] == checkpoint_files.FORMAT_VERSION == 2
    assert meta["sha256"] == {name: checkpoint_files.digest((saved / name).read_bytes())
                              for name in meta["files"]}
    assert meta["configs"]["data"] == {"class": "DataConfig",
                                       "fields": json.loads(json.dumps(vars(DATA)))}
    (saved / "params.msgpack").write_bytes(b"not read by read_meta")
    assert ckpt.read_meta(saved) == meta and meta["step"] == 3


def test_a_later_config_class_in_workbench_config_round_trips(tmp_path, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class FutureConfig:
        lr: float = 1e-3
        schedule: tuple[float, ...] = ()
        window: tuple[int, int] | None = None
        layers: list[int] = dataclasses.field(default_factory=list)

    monkeypatch.setattr(config_module, "FutureConfig", FutureConfig, raising=False)
    future = FutureConfig(2e-3, (0.1, 0.5), (3, 4), [1, 2])
    model = build_model(CONFIG, **ARGS)
    path = ckpt.save(tmp_path / "run", model=model, model_config=CONFIG, model_args=ARGS,
                     configs={"future": future})
    assert ckpt.load(path).configs == {"model": CONFIG, "future": future}


def test_saving_over_a_checkpoint_replaces_it(saved):
    other = build_model(CONFIG, **{**ARGS, "seed": 9})
    save_run(saved, other, None, None, model_args={**ARGS, "seed": 9}, step=5)
    loaded = ckpt.load(saved)
    assert loaded.step == 5 and loaded.tokenizer is None and loaded.model_args["seed"] == 9
    assert sorted(p.name for p in saved.iterdir()) == ["meta.json", "params.msgpack"]
    assert_same_state(loaded.model, other)
    assert sorted(p.name for p in saved.parent.iterdir()) == ["run"]  # old one deleted


def test_saving_over_a_checkpoint_keeps_files_that_are_not_its_own(saved):
    (saved / "notes.txt").write_text("mine")
    (saved / "plots").mkdir()
    (saved / "plots" / "loss.png").write_bytes(b"png")
    save_run(saved, build_model(CONFIG, **ARGS), None, None, step=5)
    assert sorted(p.name for p in saved.iterdir()) == ["meta.json", "notes.txt",
                                                       "params.msgpack", "plots"]
    assert (saved / "notes.txt").read_text() == "mine"
    assert (saved / "plots" / "loss.png").read_bytes() == b"png"
    assert ckpt.load(saved).step == 5


def test_a_save_cut_short_after_its_commit_reads_as_new_and_is_finished(saved, base,
                                                                        tokenizer,
                                                                        monkeypatch):
    rename = checkpoint_files.os.rename
    done = []

    def crash_after_first(src, dst):  # the process 'dies' after moving one file in
        if done:
            raise OSError("killed")
        done.append(dst)
        rename(src, dst)

    monkeypatch.setattr(checkpoint_files.os, "rename", crash_after_first)
    other = build_model(CONFIG, **{**ARGS, "seed": 9})
    with pytest.raises(OSError, match="killed"):
        save_run(saved, other, None, tokenizer, model_args={**ARGS, "seed": 9}, step=5)
    monkeypatch.undo()
    staged = [p for p in saved.iterdir() if p.name.startswith(checkpoint_files.STAGING)]
    assert len(staged) == 1 and (staged[0] / checkpoint_files.COMMITTED).exists()
    loaded = ckpt.load(saved)  # a reader sees the new checkpoint, whole
    assert loaded.step == 5 and loaded.model_args["seed"] == 9
    assert_same_state(loaded.model, other)
    save_run(saved, other, None, tokenizer, model_args={**ARGS, "seed": 9}, step=6)
    assert sorted(p.name for p in saved.iterdir()) == ["meta.json", "params.msgpack",
                                                       "tokenizer.json"]
    assert ckpt.load(saved).step == 6


def test_an_uncommitted_save_is_discarded(saved, base):
    tmp = saved / f"{checkpoint_files.STAGING}crashed"
    tmp.mkdir()
    (tmp / "params.msgpack").write_bytes(b"half")
    assert ckpt.load(saved).step == 3  # ignored by readers
    save_run(saved, build_model(CONFIG, **ARGS), None, None, step=4)
    assert not tmp.exists() and ckpt.load(saved).step == 4


@pytest.mark.parametrize("name", ["params.msgpack", "optimizer.msgpack", "tokenizer.json"])
def test_a_changed_file_is_refused_by_its_sha256(saved, name):
    file = saved / name
    data = bytearray(file.read_bytes())
    data[len(data) // 3] ^= 0x01  # one bit
    file.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=f"{name} is corrupt: its sha256 differs "
                       "from the one recorded in meta.json.*not loaded"):
        ckpt.load(saved, optimizer_for=lambda m: nnx.Optimizer(m, TX, wrt=nnx.Param))
    with pytest.raises(ckpt.CheckpointError, match=f"{name} is corrupt"):
        ckpt.verify(saved)


def test_a_checkpoint_without_digests_loads_with_a_note(saved, base):
    meta = json.loads((saved / "meta.json").read_text())
    del meta["sha256"]
    (saved / "meta.json").write_text(json.dumps(meta))
    loaded = ckpt.load(saved)
    assert loaded.step == 3 and "cannot be verified" in loaded.notes[0]
    np.testing.assert_array_equal(logits(loaded.model), base["logits"])


def test_a_second_writer_is_refused_naming_the_first_ones_pid(saved):
    code = ("import fcntl, os, time\n"
            f"fd = os.open({str(saved / locks.LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d\\n' % os.getpid())\n"
            "print('locked', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ckpt.CheckpointError, match=f"run is being written by another "
                           f"workbench process \\(pid {holder.pid}"):
            save_run(saved, build_model(CONFIG, **ARGS), None, None, step=9)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert ckpt.load(saved).step == 3
    save_run(saved, build_model(CONFIG, **ARGS), None, None, step=9)  # the dead one's lock
    assert ckpt.load(saved).step == 9
    assert not (saved / locks.LOCK_NAME).exists()


@pytest.mark.parametrize("failing", ["params.msgpack", "meta.json", "rename"])
def test_a_failed_save_leaves_the_old_checkpoint_intact(saved, base, tokenizer, monkeypatch,
                                                       failing):
    write, rename = checkpoint_files._write_file, checkpoint_files.os.rename

    def half_write(path, data):
        if path.name == failing:
            path.write_bytes(data[: len(data) // 2])
            raise OSError("disk full")
        write(path, data)

    def failing_rename(src, dst):  # the new checkpoint's rename into place fails
        if ".tmp-" in str(src):
            raise OSError("rename failed")
        rename(src, dst)

    monkeypatch.setattr(checkpoint_files, "_write_file", half_write)
    monkeypatch.setattr(checkpoint_files.os, "rename",
                        failing_rename if failing == "rename" else rename)
    with pytest.raises(OSError, match="disk full|rename failed"):
        save_run(saved, build_model(CONFIG, **ARGS), None, tokenizer, step=5)
    monkeypatch.undo()
    assert sorted(p.name for p in saved.parent.iterdir()) == ["run"]  # no temp dir left
    assert sorted(p.name for p in saved.iterdir()) == [
        "meta.json", "optimizer.msgpack", "params.msgpack", "tokenizer.json"]
    loaded = ckpt.load(saved, optimizer_for=lambda m: nnx.Optimizer(m, TX, wrt=nnx.Param))
    assert loaded.step == 3 and int(loaded.optimizer.step[...]) == 3
    for x, y in zip(leaves(loaded.model), base["leaves"], strict=True):
        np.testing.assert_array_equal(x, y)


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


def test_a_run_saved_with_the_task_in_its_model_config_still_loads(saved):
    """Format 1 kept the task in ModelConfig's fields (absent there: its default,
    'classify'); it is read as a build_model argument, and the run loads as before."""
    meta = json.loads((saved / "meta.json").read_text())
    before = ckpt.load(saved)
    for fields in ({"task": "classify"}, {}):
        old = {**meta, "format_version": 1, "model_args": {
            k: v for k, v in meta["model_args"].items() if k != "task"}}
        old["configs"] = {**meta["configs"], "model": {"class": "ModelConfig", "fields": {
            **meta["configs"]["model"]["fields"], **fields}}}
        (saved / "meta.json").write_text(json.dumps(old))
        loaded = ckpt.load(saved)
        assert loaded.task == "classify" and loaded.model_config == CONFIG
        assert loaded.model_args == ARGS
        for a, b in zip(jax.tree.leaves(nnx.state(loaded.model, nnx.Param)),
                        jax.tree.leaves(nnx.state(before.model, nnx.Param)), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_newer_format_asks_for_an_upgrade(saved):
    meta = json.loads((saved / "meta.json").read_text())
    (saved / "meta.json").write_text(json.dumps({**meta, "format_version": 3}))
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
    model = build_model(CONFIG, **ARGS)
    bare = save_run(saved.parent / "bare", model, None, tokenizer)
    with pytest.raises(ckpt.CheckpointError, match="bare was saved without optimizer state"):
        ckpt.restore_optimizer(bare, nnx.Optimizer(model, wt.make_optimizer(), wrt=nnx.Param))


@dataclasses.dataclass(frozen=True)
class Elsewhere:  # a config class that workbench.config does not define
    x: int = 1


@pytest.mark.parametrize("change, words", [
    ({"configs": {"odd": Elsewhere()}}, "only dataclasses defined in workbench.config"),
    ({"extra": {"when": object()}}, "not JSON-serialisable"),
    ({"model_args": {"vocab": VOCAB}}, "model_args must hold task, vocab_size"),
    ({"rng_key": [-1, 2]}, "rng_key must be a jax key"),
])
def test_what_cannot_be_saved_is_refused_before_writing(tmp_path, change, words):
    model = build_model(CONFIG, **ARGS)
    with pytest.raises(ckpt.CheckpointError, match=f"cannot save .*run.*{words}"):
        ckpt.save(tmp_path / "run", **{"model": model, "model_config": CONFIG,
                                       "model_args": ARGS, **change})
    assert list(tmp_path.iterdir()) == []


def test_a_config_that_would_not_come_back_equal_is_refused(tmp_path, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class OddConfig:
        pairs: dict = dataclasses.field(default_factory=dict)  # tuples inside a dict

    monkeypatch.setattr(config_module, "OddConfig", OddConfig, raising=False)
    with pytest.raises(ckpt.CheckpointError, match="'odd' does not survive JSON"):
        ckpt.save(tmp_path / "run", model=build_model(CONFIG, **ARGS), model_config=CONFIG,
                  model_args=ARGS, configs={"odd": OddConfig({"a": (1, 2)})})
