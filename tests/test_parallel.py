"""Data parallel training over 4 virtual CPU devices gives the same losses as one device."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json
    import jax
    import numpy as np
    from workbench import DataConfig, ModelConfig, prepare
    from workbench.config import TrainConfig
    from workbench.train.trainer import Trainer, data_parallel_mesh

    assert jax.device_count() == 4, jax.devices()
    data = prepare(DataConfig(dataset="sentiment", size=300, max_len=16, batch_size=16))
    model = ModelConfig(arch="lstm", hidden=32, embed=16)
    train = TrainConfig(steps=12, chunk=4, eval_every=0)
    mesh = data_parallel_mesh()
    runs = {}
    for name, m in (("one", None), ("four", mesh)):
        trainer = Trainer(data, model, train, mesh=m)
        final = trainer.fit()
        runs[name] = {"losses": [r["loss"] for r in trainer.history if r["kind"] == "train"],
                      "val": final["loss"]}
    leaf = trainer.model.head.kernel[...]
    runs["sharding"] = str(leaf.sharding)
    print(json.dumps(runs))
""")


def test_four_devices_match_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = json.loads(out.stdout.strip().splitlines()[-1])
    for a, b in zip(runs["one"]["losses"], runs["four"]["losses"], strict=True):
        assert abs(a - b) < 1e-4 * max(1.0, abs(a)), (runs["one"], runs["four"])
    assert abs(runs["one"]["val"] - runs["four"]["val"]) < 1e-4
    assert "NamedSharding" in runs["sharding"]
