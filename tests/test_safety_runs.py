"""Fault injection for runs: nothing a user trained or wrote is lost, and a bad request gets
one line instead of a traceback (issue 14, classes 1-4, 6, 7; issue 13's eval on any file).

Each test names the promise it backs. Runs are small (a GRU of width 16 on the built-in
sentiment data) and share one compiled step; two tests signal a real ``train`` process.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.cli import commands, training
from workbench.cli.main import main
from workbench.config import ConfigError, TrainConfig
from workbench.train import checkpoint, checkpoint_files, locks, runs

SMALL = ["--dataset", "sentiment", "--arch", "gru", "--hidden", "16", "--embed", "8",
         "--max-len", "16", "--batch-size", "16", "--eval-every", "0"]


def train(out, *extra, steps=4) -> int:
    return main(["train", *SMALL, "--steps", str(steps), *(["--out", str(out)] if out else []),
                 *extra])


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def one_error_line(capsys) -> str:
    """The command's stderr, which must be a single 'error: ...' line after any notes."""
    lines = [line for line in capsys.readouterr().err.strip().splitlines()
             if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A classifier trained 40 steps and saved by the CLI (do not modify: copy it)."""
    out = tmp_path_factory.mktemp("saved") / "run"
    assert train(out, steps=40) == 0
    return out


@pytest.fixture
def run_copy(saved_run, tmp_path):
    return Path(shutil.copytree(saved_run, tmp_path / "run"))


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if the command loads any data."""
    def refuse(*args, **kwargs):
        raise AssertionError("data was loaded before --out was checked")
    monkeypatch.setattr(training, "prepare", refuse)


# --- 1. run folders are never destroyed -----------------------------------------------------

@pytest.mark.parametrize("case", ["earlier run", "not a run", "a file", "under a file",
                                  "resume nothing", "resume and overwrite"])
def test_out_is_checked_before_any_data_is_loaded(case, run_copy, tmp_path, no_data, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    (tmp_path / "file.txt").write_text("x")
    out, extra, words = {
        "earlier run": (run_copy, [], r"holds an earlier run \(step 40 .*--resume.*--overwrite"),
        "not a run": (tmp_path / "mine", [], r"not a run folder and not empty \(it holds "
                                             r"thesis.tex\).*choose another --out"),
        "a file": (tmp_path / "file.txt", [], "is a file, not a folder"),
        "under a file": (tmp_path / "file.txt" / "run", [], "cannot create --out .*Not a "
                                                            "directory.*you can write"),
        "resume nothing": (tmp_path / "mine", ["--resume"], "not a run folder"),
        "resume and overwrite": (run_copy, ["--resume", "--overwrite"], "contradict"),
    }[case]
    before = sorted(p.name for p in Path(out).iterdir()) if Path(out).is_dir() else None
    assert train(out, *extra) == 2
    line = one_error_line(capsys)
    assert str(out) in line or case == "resume and overwrite"
    assert re.search(words, line), line
    if before is not None:
        assert sorted(p.name for p in Path(out).iterdir()) == before  # nothing written
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"


def test_a_users_files_survive_overwrite_and_resume(run_copy, capsys):
    (run_copy / "notes.txt").write_text("lr 3e-3 was better")
    (run_copy / "plots").mkdir()
    (run_copy / "plots" / "curve.png").write_bytes(b"\x89PNG...")
    old_params = (run_copy / "params.msgpack").read_bytes()
    assert train(run_copy, "--overwrite", "--seed", "3", steps=8) == 0
    assert last_json(capsys)["step"] == 8
    assert (run_copy / "params.msgpack").read_bytes() != old_params
    assert checkpoint.load(run_copy).step == 8
    assert main(["train", "--out", str(run_copy), "--resume", "--steps", "12"]) == 0
    assert last_json(capsys)["step"] == 12
    assert (run_copy / "notes.txt").read_text() == "lr 3e-3 was better"
    assert (run_copy / "plots" / "curve.png").read_bytes() == b"\x89PNG..."
    assert sorted(p.name for p in run_copy.iterdir()) == [
        "meta.json", "metrics.json", "notes.txt", "optimizer.msgpack", "params.msgpack",
        "plots", "tokenizer.json"]  # no lock, no temp files left


def test_files_a_user_adds_while_a_new_run_trains_do_not_stop_its_save(tmp_path, monkeypatch,
                                                                        capsys):
    out = tmp_path / "run"
    real = training.Trainer.fit

    def fit_while_the_user_writes_notes(trainer):
        (out / "notes.txt").write_text("started at 9")
        return real(trainer)

    monkeypatch.setattr(training.Trainer, "fit", fit_while_the_user_writes_notes)
    assert train(out) == 0
    assert checkpoint.load(out).step == 4
    assert (out / "notes.txt").read_text() == "started at 9"


def test_without_out_each_run_gets_a_fresh_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert train(None) == 0
    first = last_json(capsys)["out"]
    assert train(None) == 0
    second = last_json(capsys)["out"]
    assert first != second
    for out in (first, second):
        assert re.fullmatch(r"runs/\d{8}-\d{6}-sentiment-gru(-\d+)?", out), out
        assert checkpoint.load(out).step == 4
    assert not (tmp_path / "runs" / "latest").exists()


def test_a_folder_that_failed_before_saving_is_not_left_behind(tmp_path, monkeypatch,
                                                               capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "./missing.csv"]) == 2
    assert "missing.csv" in one_error_line(capsys)
    assert list((tmp_path / "runs").iterdir()) == []


def _hold_lock(folder: Path) -> subprocess.Popen:
    """Another process that holds ``folder``'s lock as a writer does (no workbench import)."""
    code = ("import fcntl, os, sys, time\n"
            f"fd = os.open({str(folder / locks.LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.write(fd, b'%d\\n' % os.getpid())\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_with_the_holders_pid(run_copy, no_data, capsys):
    holder = _hold_lock(run_copy)
    try:
        assert train(run_copy, "--overwrite") == 2
        line = one_error_line(capsys)
        assert f"being written by another workbench process (pid {holder.pid}" in line
        assert "choose another --out" in line
        ck = checkpoint.load(run_copy)  # readers are not blocked
        with pytest.raises(checkpoint.CheckpointError, match=f"pid {holder.pid}"):
            checkpoint.save(run_copy, model=ck.model, model_config=ck.model_config,
                            model_args=ck.model_args)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert checkpoint.load(run_copy).step == 40


def test_a_stale_lock_of_a_dead_process_is_taken_over(run_copy, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (run_copy / locks.LOCK_NAME).write_text(f"{pid}\n2020-01-01 00:00:00\n")
    assert main(["train", "--out", str(run_copy), "--resume", "--steps", "44"]) == 0
    assert f"took over the lock of pid {pid}" in capsys.readouterr().err
    assert not (run_copy / locks.LOCK_NAME).exists()


def test_an_unwritable_out_is_refused_before_any_data(tmp_path, monkeypatch, no_data, capsys):
    real_open = locks.os.open

    def read_only(path, flags, *args):
        if str(path).endswith(locks.LOCK_NAME):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(locks.os, "open", read_only)
    assert train(tmp_path / "ro") == 2
    line = one_error_line(capsys)
    assert f"cannot write in {tmp_path / 'ro'} (Read-only file system)" in line
    assert "choose a folder you can write" in line


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="as root, chmod does not stop writes: the injected OSError above "
                           "and the path under a file test the same refusal")
def test_a_read_only_folder_is_refused(tmp_path, no_data, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert train(folder) == 2
        assert "cannot write in" in one_error_line(capsys)
    finally:
        folder.chmod(0o755)


# --- 2. training is never thrown away --------------------------------------------------------

class _Output:
    """A child's stderr, read on a thread (the progress bar writes no newlines)."""

    def __init__(self, stream):
        self.text, self._stream = "", stream
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with self._stream:
            for chunk in iter(lambda: self._stream.read1(4096), b""):
                self.text += chunk.decode("utf-8", "replace")

    def step(self) -> int:
        steps = re.findall(r"(\d+)/100000", self.text)
        return int(steps[-1]) if steps else 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_train_saves_and_exits_130(sig, tmp_path, capsys):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "train", *SMALL,
                             "--steps", "100000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = _Output(proc.stderr)
    try:
        deadline = time.monotonic() + 300
        while err.step() < 40 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # two chunks trained
        assert err.step() >= 40, err.text[-2000:]
        if sig == signal.SIGINT:  # meanwhile a second writer is refused, naming the pid
            assert train(out, "--overwrite") == 2
            assert f"pid {proc.pid}" in one_error_line(capsys)
        proc.send_signal(sig)
        rc = proc.wait(timeout=300)
        stdout = proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    time.sleep(0.2)  # let the reader thread take the last bytes
    assert rc == 130, err.text[-3000:]
    assert "Traceback" not in err.text
    assert f"interrupted by {sig.name} at step" in err.text and f"saved in {out}" in err.text
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "stopped" and summary["step"] >= 40
    assert checkpoint.load(out).step == summary["step"]
    assert main(["train", "--out", str(out), "--resume", "--steps",
                 str(summary["step"] + 10)]) == 0
    assert last_json(capsys)["step"] == summary["step"] + 10


def test_a_second_interrupt_aborts_at_once():
    class Trainer:
        stopped = False

        def stop(self):
            self.stopped = True

    with training.Interrupts() as interrupts:
        with pytest.raises(KeyboardInterrupt, match="before training started"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        interrupts.trainer = Trainer()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        assert interrupts.trainer.stopped and interrupts.received == "SIGINT"
        with pytest.raises(KeyboardInterrupt, match="aborted by a second SIGTERM: the run was "
                                                    "not saved"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def test_a_failed_save_goes_to_a_named_rescue_folder(tmp_path, monkeypatch, capsys):
    out, rescue = tmp_path / "run", tmp_path / "rescue"
    monkeypatch.setenv("WORKBENCH_RESCUE_DIR", str(rescue))
    write = checkpoint_files._write_file

    def disk_full(path, data):
        if str(path).startswith(str(out)):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write(path, data)

    monkeypatch.setattr(checkpoint_files, "_write_file", disk_full)
    assert train(out) == 1
    captured = capsys.readouterr()
    saved = Path(json.loads(captured.out.strip().splitlines()[-1])["out"])
    assert saved.parent == rescue and checkpoint.load(saved).step == 4
    assert (f"could not save the run to {out} (OSError: No space left on device); it was "
            f"saved instead to {saved}") in captured.err
    assert not out.exists()  # nothing half-written left there (it was created by this run)


# --- 3. checkpoints are verified -------------------------------------------------------------

@pytest.mark.parametrize("name", ["params.msgpack", "optimizer.msgpack", "tokenizer.json"])
def test_any_changed_byte_is_refused_naming_the_file(name, run_copy):
    file = run_copy / name
    original = file.read_bytes()
    for position in np.linspace(0, len(original) - 1, 12).astype(int):  # byte by byte
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        file.write_bytes(bytes(damaged))
        named = f"{re.escape(str(file))} is corrupt: its sha256 differs"
        with pytest.raises(checkpoint.CheckpointError, match=named):
            checkpoint.verify(run_copy)
        with pytest.raises(checkpoint.CheckpointError, match=named):
            checkpoint.load(run_copy, optimizer_for=_optimizer)
    file.write_bytes(original)
    assert checkpoint.load(run_copy, optimizer_for=_optimizer).step == 40


def _optimizer(model):
    from flax import nnx

    from workbench.train.step import make_optimizer
    return nnx.Optimizer(model, make_optimizer(), wrt=nnx.Param)


def test_forty_flipped_bytes_in_params_are_refused_by_every_command(run_copy, capsys):
    file = run_copy / "params.msgpack"
    data = bytearray(file.read_bytes())
    for i in range(40):
        data[len(data) // 2 + i] ^= 0xFF
    file.write_bytes(bytes(data))
    for argv in (["predict", str(run_copy), "good"], ["eval", str(run_copy)],
                 ["train", "--out", str(run_copy), "--resume", "--steps", "80"]):
        assert main(argv) == 2
        assert f"{file} is corrupt: its sha256 differs" in one_error_line(capsys)


def test_a_checkpoint_saved_before_digests_loads_with_a_note(run_copy, capsys):
    meta = json.loads((run_copy / "meta.json").read_text())
    del meta["sha256"]
    (run_copy / "meta.json").write_text(json.dumps(meta))
    assert "cannot be verified" in checkpoint.load(run_copy).notes[0]
    assert main(["predict", str(run_copy), "good"]) == 0
    assert "note: " in capsys.readouterr().err


# --- 4. --resume continues the saved run -------------------------------------------------------

def test_resume_refuses_every_conflicting_flag_at_once(run_copy, no_data, capsys):
    assert main(["train", "--out", str(run_copy), "--resume", "--arch", "lstm", "--max-len",
                 "32", "--hidden", "16", "--tokenizer", "char", "--optimizer", "sgd",
                 "--steps", "80"]) == 2
    line = one_error_line(capsys)
    for conflict in ("--arch sets arch='lstm', the run has 'gru'",
                     "--max-len sets max_len=32, the run has 16",
                     "--tokenizer sets tokenizer='char', the run has 'word'",
                     "--optimizer sets optimizer='sgd', the run has 'adam'"):
        assert conflict in line
    assert "hidden" not in line.split("Drop them")[0]  # the same value is no conflict
    assert "--steps, --minutes, --lr and --eval-every may change" in line


def test_resume_keeps_saved_data_settings_and_takes_new_training_ones(run_copy, capsys):
    assert main(["train", "--out", str(run_copy), "--resume", "--steps", "60", "--lr",
                 "5e-4"]) == 0
    assert last_json(capsys)["step"] == 60
    ck = checkpoint.load(run_copy)
    assert ck.configs["data"].max_len == 16 and ck.configs["data"].batch_size == 16  # not 64
    assert ck.configs["train"].lr == 5e-4 and ck.configs["train"].steps == 60
    assert [r for r in ck.history if r["kind"] == "train"][-1]["lr"] == pytest.approx(5e-4)


def test_resume_asks_for_more_steps_than_done(run_copy, no_data, capsys):
    assert main(["train", "--out", str(run_copy), "--resume"]) == 2
    assert "has done 40 steps, and its budget is 40: pass --steps above 40" in \
        one_error_line(capsys)


# --- 5. no traceback for a user error ------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["generate", "RUN"], "generate needs a language model, but RUN holds a classifier"),
    (["tag", "RUN", "good"], "tag needs a tagger.*use: python -m workbench predict RUN TEXT"),
    (["translate", "RUN", "good"], "translate needs a seq2seq"),
    (["predict", "RUN", "  "], "the text is empty"),
    (["generate", "RUN", "--temperature", "-1"], r"--temperature -1.0 must be a number >= 0"),
    (["generate", "RUN", "--tokens", "-5"], "--tokens -5 must be >= 0"),
    (["generate", "RUN", "--top-p", "1.5"], r"--top-p 1.5 must be in \(0, 1\]"),
    (["translate", "RUN", "x", "--beam", "0"], "--beam 0 must be >= 1"),
    (["translate", "RUN", "x", "--beam", "two"], "invalid int value: 'two'.*--help"),
    (["eval", "RUN", "--split", "test"], "split 'test' does not exist.*train, validation"),
    (["eval", "RUN/nowhere"], "no checkpoint at RUN/nowhere"),
    (["train", "--lr", "inf"], "lr=inf must be a finite number > 0"),
    (["train", "--steps", "-3"], "steps=-3 must be an integer >= 1"),
])
def test_user_errors_exit_2_with_one_line(argv, words, saved_run, capsys):
    argv = [a.replace("RUN", str(saved_run)) for a in argv]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    assert rc == 2
    assert re.search(words.replace("RUN", re.escape(str(saved_run))), one_error_line(capsys))


def test_a_text_longer_than_max_len_is_cut_with_a_note(saved_run, capsys):
    assert main(["predict", str(saved_run), " ".join(["good"] * 30)]) == 0
    assert ("note: the text has 30 tokens; the model reads at most max_len=16, so only the "
            "first 16 were used") in capsys.readouterr().err


def test_a_bug_shows_its_traceback_and_says_it_is_one(saved_run, monkeypatch, capsys):
    monkeypatch.setattr(commands.decode, "predict_proba", lambda *a: {}["oops"])
    assert main(["predict", str(saved_run), "good"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("Traceback") and "KeyError: 'oops'" in err
    assert err[-1].startswith("error: this is a bug in the workbench") and "report" in err[-1]


# --- 6. divergence is caught, not "finished" -----------------------------------------------------

def test_an_exploding_loss_stops_the_run_and_keeps_good_parameters(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--lr", "1000", steps=40) == 1
    err = capsys.readouterr().err
    assert re.search(r"error: training diverged at step \d+: the loss jumped to .*over 100x "
                     r"its expected scale.*were restored\. Likely cause: the learning rate "
                     r"1000 is too high.*saved in " + re.escape(str(out)), err)
    ck = checkpoint.load(out)
    assert json.loads((out / "metrics.json").read_text())["outcome"] == "diverged"
    from flax import nnx
    params = nnx.state(ck.model, nnx.Param)
    assert all(np.isfinite(np.asarray(p)).all() for p in __import__("jax").tree.leaves(params))


def test_an_infinite_learning_rate_is_refused_at_configuration():
    for lr in (float("inf"), float("nan"), -1.0, 0.0):
        with pytest.raises(ConfigError, match="must be a finite number > 0"):
            TrainConfig(lr=lr)


# --- 7. a saved run scores any file with its own tokenizer (issue 13) ----------------------------

def test_eval_scores_any_file_as_any_split_with_the_saved_tokenizer(saved_run, tmp_path,
                                                                    capsys):
    rows = [("the soup was good", "positive"), ("i did n't like the film", "negative"),
            ("zebra quux never seen words", "negative")]
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    assert main(["eval", str(saved_run), "--data-files", f"test={new}"]) == 0
    result = last_json(capsys)
    assert result["split"] == "test" and result["examples"] == 3
    assert set(result["per_class"]) == {"negative", "positive"}
    csv = tmp_path / "ids.csv"
    csv.write_text("text,label\nthe soup was good,1\nawful service,0\n")
    assert main(["eval", str(saved_run), "--data-files", f"holdout={csv}"]) == 0
    assert last_json(capsys)["examples"] == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "good", "label": "neutral"}) + "\n")
    assert main(["eval", str(saved_run), "--data-files", f"test={bad}"]) == 2
    assert "'neutral'" in one_error_line(capsys)


def test_eval_on_the_runs_own_data_matches_training(saved_run, capsys):
    metrics = json.loads((saved_run / "metrics.json").read_text())
    assert main(["eval", str(saved_run)]) == 0
    assert last_json(capsys)["loss"] == pytest.approx(metrics["loss"], rel=1e-5)


def test_rescue_candidates_honour_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_RESCUE_DIR", str(tmp_path))
    assert runs.rescue_candidates()[0] == tmp_path
