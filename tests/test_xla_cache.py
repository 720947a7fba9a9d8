"""The compiled training step is kept on disk: a second session finds it there."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax

from workbench import xla_cache

ROOT = Path(__file__).resolve().parents[1]

SESSION = """
import json, jax
from workbench import xla_cache
from workbench.ui.setup import DEFAULT
from workbench.data.load import prepare
from workbench.train.trainer import Trainer
events = []
jax.monitoring.register_event_listener(lambda event, **_: events.append(event))
folder = xla_cache.enable()
data = prepare(DEFAULT.data)
Trainer(data, DEFAULT.model, DEFAULT.train).run(1)
print(json.dumps({"folder": str(folder),
                  "hits": events.count("/jax/compilation_cache/cache_hits")}))
"""


def session(cache: Path) -> dict:
    env = {**os.environ, xla_cache.ENV: str(cache)}
    out = subprocess.run([sys.executable, "-c", SESSION], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_session_loads_the_compiled_step_from_disk(tmp_path):
    cache = tmp_path / "xla"
    first = session(cache)
    assert first == {"folder": str(cache), "hits": 0}
    assert any(cache.iterdir()), "the compiled programs were written"
    second = session(cache)
    assert second["hits"] >= 2  # the weight initialisation and the training step


def test_off_leaves_jax_untouched(monkeypatch):
    monkeypatch.setenv(xla_cache.ENV, "off")
    assert xla_cache.enable() is None
    assert not jax.config.jax_compilation_cache_dir


def test_the_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert xla_cache.default_dir() == tmp_path / "rnn-workbench" / "xla"
