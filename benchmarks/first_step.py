"""First-step (compile) time of the app's default model, and whether a learning-rate
change recompiles. Run in a fresh process (``python -m benchmarks.first_step``) so no
compiled step is cached; prints one JSON line.

The first step is what a user waits for after clicking Train: tracing the model, XLA
compiling the step, and running it once. CPU seconds are reported beside wall seconds:
compiling is mostly one thread, so on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import json
import time


def main() -> dict:
    from workbench import train
    from workbench.app_setup import DEFAULT
    from workbench.data import prepare
    from workbench.trainer import Trainer

    data = prepare(DEFAULT.data)
    trainer = Trainer(data, DEFAULT.model, DEFAULT.train)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.run(1)
    first = time.perf_counter() - wall, time.process_time() - cpu
    wall = time.perf_counter()
    trainer.run(1)
    second = time.perf_counter() - wall
    traced = train.TRACE_COUNT["train_step"]
    trainer.set_lr(trainer.lr / 3)
    trainer.run(1)
    return {"first_step_s": first[0], "first_step_cpu_s": first[1], "second_step_s": second,
            "lr_change_recompiles": train.TRACE_COUNT["train_step"] != traced,
            "model": f"{DEFAULT.model.arch} hidden {DEFAULT.model.hidden} embed "
                     f"{DEFAULT.model.embed}, batch {DEFAULT.data.batch_size} x "
                     f"{DEFAULT.data.max_len}"}


if __name__ == "__main__":
    print(json.dumps(main()))
