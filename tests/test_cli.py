"""``python -m workbench`` end to end on built-in data at a small size, for each task."""

import json
import subprocess
import sys

import pytest

from workbench.cli.main import main

SMALL = ["--hidden", "32", "--embed", "16", "--steps", "40", "--eval-every", "20",
         "--batch-size", "16"]
CASES = {
    "classify": ["--dataset", "sentiment", "--arch", "lstm", "--max-len", "16"],
    "lm": ["--dataset", "prose", "--tokenizer", "char", "--arch", "gru", "--max-len", "32"],
    "tag": ["--dataset", "brackets-depth", "--arch", "elman", "--bidirectional",
            "--max-len", "24"],
    "seq2seq": ["--dataset", "reverse", "--arch", "transformer", "--heads", "2",
                "--max-len", "16"],
}


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("task", list(CASES))
def test_train_eval_and_use_a_saved_run(task, tmp_path, capsys):
    out = str(tmp_path / task)
    assert main(["train", *CASES[task], *SMALL, "--out", out]) == 0
    summary = _last_json(capsys)
    assert summary["step"] == 40 and summary["outcome"] == "finished"
    assert {"loss", "wall_s", "out"} <= set(summary)
    metrics = json.loads((tmp_path / task / "metrics.json").read_text())
    assert metrics["loss"] == pytest.approx(summary["loss"])
    assert main(["eval", out]) == 0
    assert _last_json(capsys)["loss"] == pytest.approx(summary["loss"], rel=1e-5)
    if task == "classify":
        assert main(["predict", out, "the soup was not good"]) == 0
        result = _last_json(capsys)
        assert set(result["probabilities"]) == {"negative", "positive"}
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    elif task == "lm":
        assert main(["generate", out, "--prompt", "The ", "--tokens", "20", "--seed", "3"]) == 0
        first = _last_json(capsys)
        assert main(["generate", out, "--prompt", "The ", "--tokens", "20", "--seed", "3"]) == 0
        assert _last_json(capsys) == first and len(first["text"]) > 0
    elif task == "tag":
        assert main(["tag", out, "( [ ] )"]) == 0
        result = _last_json(capsys)
        assert len(result["tokens"]) == len(result["tags"]) == 4
    else:
        assert main(["translate", out, "1 2 3", "--beam", "2"]) == 0
        result = _last_json(capsys)
        assert isinstance(result["translation"], str) and result["attention"]


def test_resume_continues_the_step_count(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", *CASES["classify"], *SMALL, "--out", out]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args[:-2], "--steps", "60", "--out", out, "--resume"]) == 0
    assert _last_json(capsys)["step"] == 60


@pytest.mark.parametrize("argv, message", [
    (["train", "--preset", "nope"], "--preset 'nope' does not exist"),
    (["train", "--dataset", "./missing.csv"], "local path './missing.csv' does not exist"),
    (["train", "--arch", "transformer", "--hidden", "30", "--heads", "4"],
     "heads=4 must divide hidden=30"),
    (["train", "--data-files", "oops"], "must look like split=path"),
    (["train", "--lr", "inf"], "lr=inf must be a finite number > 0"),
    (["translate", "/nonexistent/run", "x", "--beam", "0"], "--beam 0 must be >= 1"),
    (["eval", "/nonexistent/run"], "/nonexistent/run"),
])
def test_bad_requests_exit_2_with_one_line(argv, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "workbench", *argv], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not any((tmp_path / "runs").glob("*"))  # no run folder left by a failed request
