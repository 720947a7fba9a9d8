"""Peak memory of LSTM classification training at a long length, in a fresh process:
``python -m benchmarks.memory LENGTH MODE`` prints one JSON line.

MODE: 'fused' (the default path: hand-written backward that keeps carries and gates),
'remat' (the same, recomputing the gates in the backward pass), 'autodiff' (the reference
path: autodiff of ``lax.scan``). Peak resident memory of the whole process (the JAX
runtime, compilation and the step) is what the machine must have; ``base_mib`` is the
process before the model is built, for comparison.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _peak_mib() -> float:
    """The process's resident high-water mark (``VmHWM``; ``ru_maxrss`` would carry the
    parent's peak over ``fork``/``exec``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB


def main(length: int, mode: str) -> dict:
    from workbench import allocator

    allocator.from_env()  # as the app and the CLI do
    import jax

    from benchmarks import steps

    jax.block_until_ready(jax.numpy.zeros(1))
    base = _peak_mib()
    shape = steps.Shape(length=length)
    start = time.perf_counter()
    step = steps.ours("lstm", "classify", shape, path=mode)  # builds, compiles, runs once
    for _ in range(2):
        step.run()
    step.sync()
    return {"length": length, "mode": mode, "peak_mib": _peak_mib(), "base_mib": base,
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])))
