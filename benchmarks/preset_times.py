"""Expected wall time of every preset at full size here: the numbers behind
``Preset.runtime_s``, the runtime the app's Start panel shows beside each preset.

    python benchmarks/preset_times.py [--shared ../shared/data] [--steps 30] [NAME ...]

A preset's run is paid in four parts, each measured on the preset's own shapes:
``prepare`` (read, tokenize, batch: once per data configuration), the first chunk of
steps (it includes the one compilation of the training step), the later steps, and the
validations (the first compiles the evaluation). A short run times each part, and

    runtime = prepare + first chunk + (steps - chunk) * step_s + first eval
              + (validations - 1) * eval_s

capped at the preset's ``minutes`` (training stops there). Timing every step of every
preset would take an hour; the step time of a fixed-shape compiled step is steady, so a
few dozen steps after the compile estimate it well (a full ``lstm-recall`` run is compared
with its estimate in benchmarks/README.md).

Data: a recipe runs on its real dataset when a local copy is in ``--shared`` (the files
of ``../shared/data``, as a user would pass them with ``--data-files``), else on its
offline stand-in, as the app does offline; the table says which. Shapes, not contents,
decide the step time, except the vocabulary (the output layer of a language model or a
decoder), so the stand-in of a large-vocabulary recipe runs faster than the real thing.

Each part is timed twice: wall time and the process's CPU time (all threads). On a
machine shared with other jobs the wall time grows with the load while the CPU time
barely moves, and on the quiet 2-core machine a run's wall time lies between
``cpu_s / 2`` and ``cpu_s``; so ``cpu_s`` (rounded up to 5 s) is the runtime a preset
states: what a user waits at most when the machine is theirs. One JSON line per preset
on stdout, with the load average it was measured under.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import time

from workbench.data.load import prepare
from workbench.presets import PRESETS, Preset
from workbench.train.trainer import Trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]
# catalog key -> (split, file under the shared data folder); TREC holds out 10% of train
LOCAL = {
    "tiny_shakespeare": (("train", "tinyshakespeare/train.jsonl"),
                         ("validation", "tinyshakespeare/val.jsonl")),
    "trec": (("train", "trec/train.jsonl"),),
    "sst2": (("train", "sst2/train.jsonl"), ("validation", "sst2/dev.jsonl")),
    "conll2003": (("train", "conll2003/train.jsonl"), ("validation", "conll2003/valid.jsonl")),
    "multi30k": (("train", "multi30k/train.jsonl"), ("validation", "multi30k/valid.jsonl")),
}


class Clock:
    """Wall and process CPU seconds since the last ``lap()``."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        spent = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return spent


def data_for(preset: Preset, shared: pathlib.Path):
    """The preset's data config: local copies of its real dataset if present, else the
    offline stand-in (a demo's built-in data is its own)."""
    files = LOCAL.get(preset.data.dataset)
    if files and all((shared / path).is_file() for _, path in files):
        paths = tuple((split, str(shared / path)) for split, path in files)
        # the files' columns may not say the task (Tiny Shakespeare's hold metadata too)
        return preset.data.replace(data_files=paths, task=preset.data.task), "local copy"
    offline = preset.offline()
    return offline.data, "built-in" if offline is preset else "stand-in"


def validations(steps: int, eval_every: int) -> int:
    """How many times ``Trainer.fit`` validates: every ``eval_every`` steps before the
    last, and once at the end."""
    return (steps - 1) // eval_every + 1 if eval_every else 1


def measure(preset: Preset, shared: pathlib.Path, steps: int) -> dict:
    clock = Clock()
    data_config, source = data_for(preset, shared)
    data = prepare(data_config)
    parts = {"prepare": clock.lap()}
    c = preset.train
    trainer = Trainer(data, preset.model, c)
    chunk = min(c.chunk, c.steps)
    trainer.run(chunk)
    parts["first_chunk"] = clock.lap()
    later = min(steps, max(c.steps - chunk, 1))
    trainer.run(later)
    step = tuple(t / later for t in clock.lap())
    trainer.evaluate(max_batches=c.eval_batches)
    parts["first_eval"] = clock.lap()
    trainer.evaluate(max_batches=c.eval_batches)
    eval_s = clock.lap()
    n_eval = validations(c.steps, c.eval_every)
    cap = math.inf if c.minutes is None else 60 * c.minutes
    total = [min(cap, sum(p[i] for p in parts.values()) + (c.steps - chunk) * step[i]
                 + (n_eval - 1) * eval_s[i]) for i in (0, 1)]
    return {"preset": preset.name, "data": source, "steps": c.steps,
            "step_ms": round(1000 * step[0], 1), "step_cpu_ms": round(1000 * step[1], 1),
            "validations": n_eval, "eval_s": round(eval_s[0], 2),
            **{f"{name}_s": round(p[0], 1) for name, p in parts.items()},
            "wall_s": round(total[0], 1), "cpu_s": round(total[1], 1),
            "runtime_s": 5 * math.ceil(total[1] / 5), "stated_s": preset.runtime_s,
            "capped": total[1] >= cap, "load": round(os.getloadavg()[0], 1)}


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help="presets (default: all)")
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--steps", type=int, default=30, help="steps timed after the compile")
    args = p.parse_args(argv)
    unknown = set(args.names) - set(PRESETS)
    if unknown:
        p.error(f"no preset {', '.join(sorted(unknown))}; choose from {', '.join(PRESETS)}")
    rows = []
    for name in args.names or list(PRESETS):
        rows.append(measure(PRESETS[name], pathlib.Path(args.shared), args.steps))
        print(json.dumps(rows[-1]), flush=True)
    print("| preset | data | steps | step ms (cpu) | prepare s | compile+chunk s | "
          "validations x s | estimate wall / cpu s | runtime_s |", file=sys.stderr)
    for r in rows:
        print(f"| {r['preset']} | {r['data']} | {r['steps']} | {r['step_ms']} "
              f"({r['step_cpu_ms']}) | {r['prepare_s']} | {r['first_chunk_s']} | "
              f"{r['validations']} x {r['eval_s']} | {r['wall_s']} / {r['cpu_s']}"
              f"{' (cap)' if r['capped'] else ''} | {r['runtime_s']} |", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
