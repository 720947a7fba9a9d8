"""First-step (compile) time of the app's default model, and whether a learning-rate
change recompiles. Run in a fresh process (``python -m benchmarks.first_step [--app]``) so
nothing is compiled yet; prints one JSON line.

The first step is what a user waits for after clicking Train: building the model (its
weights are drawn by one compiled program), XLA compiling the training step, and running it
once. CPU seconds are reported beside wall seconds: compiling is mostly one thread, so on a
shared machine CPU time is the steadier figure. JAX's persistent compilation cache is on
when ``WORKBENCH_XLA_CACHE`` names a folder (the harness gives each process its own).

``--app`` measures the app instead: a ``Workbench`` opens (and compiles its opening setup in
the background), a user reads the form until that is done, then clicks Train; reported are
the warm-up's seconds and the seconds from the click to the first step's end, timed by
an observer on the first step (chunk size 1).
"""

from __future__ import annotations

import json
import sys
import threading
import time


def trainer_path() -> dict:
    from workbench import xla_cache
    from workbench.data.load import prepare
    from workbench.train import step as train
    from workbench.train.trainer import Trainer
    from workbench.ui.setup_presets import DEFAULT

    xla_cache.enable()
    data = prepare(DEFAULT.data)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(data, DEFAULT.model, DEFAULT.train)
    built = time.perf_counter() - wall
    trainer.run(1)
    first = time.perf_counter() - wall, time.process_time() - cpu
    wall = time.perf_counter()
    trainer.run(1)
    second = time.perf_counter() - wall
    traced = train.TRACE_COUNT["train_step"]
    trainer.set_lr(trainer.lr / 3)
    trainer.run(1)
    return {"first_step_s": first[0], "first_step_cpu_s": first[1], "build_s": built,
            "second_step_s": second,
            "lr_change_recompiles": train.TRACE_COUNT["train_step"] != traced,
            "model": f"{DEFAULT.model.arch} hidden {DEFAULT.model.hidden} embed "
                     f"{DEFAULT.model.embed}, batch {DEFAULT.data.batch_size} x "
                     f"{DEFAULT.data.max_len}"}


def app_path() -> dict:
    from workbench.train import step as train
    from workbench.ui import app

    opened = time.perf_counter()
    wb = app.Workbench(runs_dir=None, smoke=True)
    wb._warm.join()
    warm_up = time.perf_counter() - opened
    first, clicked = threading.Event(), {}

    def observe(event, trainer, info):
        if event == "chunk" and not first.is_set():
            clicked["first_step_s"] = time.perf_counter() - clicked["at"]
            first.set()

    wb.observers = (observe,)
    wb.chunk.value = 1
    traced = train.TRACE_COUNT["train_step"]
    clicked["at"] = time.perf_counter()
    wb.train_button.click()
    first.wait(120)
    wb.stop()
    wb.wait(120)
    return {"app_warm_up_s": warm_up, "app_click_to_first_step_s": clicked["first_step_s"],
            "app_click_compiled_step": train.TRACE_COUNT["train_step"] != traced}


if __name__ == "__main__":
    print(json.dumps(app_path() if "--app" in sys.argv[1:] else trainer_path()))
