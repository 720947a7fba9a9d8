"""The speed harness: ``python -m benchmarks [--quick]`` from the repository root.

Measures, interleaved in one process (A B A B ..., medians, spread = lowest..highest
round-matched ratio):

1. tokens/s of full training steps (forward + backward + clipping + Adam) of our Elman,
   LSTM, GRU and Transformer through the Trainer's code path, and of PyTorch eager
   ``nn.RNN``/``nn.LSTM``/``nn.GRU`` on identical shapes (``steps.Shape``), classification
   and language modelling; the ratios ours / PyTorch; our LSTM's autodiff-of-scan path
   for reference; a large matmul's GFLOP/s and each model's share of it;
2. the first (compiling) step of the app's default model in fresh processes (cold, with the
   persistent compilation cache warm, and through the app after its warm-up), and
   whether a learning-rate change recompiles;
3. the Live view's cost: chunks with the app's observer against plain chunks;
4. peak memory of LSTM classification at length 1024 and 4096, default / remat /
   autodiff, each in a fresh process.

Prints a table as it goes and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(ROOT))

from benchmarks import timing  # noqa: E402 - no JAX yet: --threads must come first

TARGETS = {"lstm_classify_vs_torch": 1.2, "gru_classify_vs_torch": 1.2,
           "elman_classify_vs_torch": 1.2, "lstm_lm_vs_torch": 1.6}


def speed(quick: bool, with_torch: bool, rounds: int | None = None) -> dict:
    """Section 1: every training step, interleaved; ratios and matmul shares."""
    from benchmarks import steps

    archs = ("lstm", "gru", "elman") if quick else ("lstm", "gru", "elman", "transformer")
    contestants = [steps.matmul()]
    for task in ("classify", "lm"):
        for arch in archs:
            contestants.append(steps.ours(arch, task))
            if with_torch and arch != "transformer":
                contestants.append(steps.torch_step(arch, task))
    contestants.append(steps.ours("lstm", "classify", path="autodiff"))
    default_rounds, per_sample = (3, 2) if quick else (7, 2)
    rounds = rounds or default_rounds
    timings = timing.interleaved(contestants, rounds, per_sample)
    for t in timings.values():
        print(t.line(), flush=True)
    flops = timings["matmul 2048"].tokens_per_s
    result = {"matmul_gflops": flops / 1e9, "rounds": rounds, "steps_per_sample": per_sample,
              "tokens_per_s": {n: t.tokens_per_s for n, t in timings.items()
                               if not n.startswith("matmul")},
              "tokens_per_cpu_s": {n: t.cpu_tokens_per_s for n, t in timings.items()
                                   if not n.startswith("matmul")}}
    for task in ("classify", "lm"):
        for arch in archs:
            mine = timings[f"ours {arch} {task}"]
            share = steps.matmul_flops(arch, task) / mine.median / flops
            result[f"{arch}_{task}_matmul_share"] = share
            theirs = timings.get(f"torch {arch} {task}")
            if theirs is not None:
                _put_ratio(result, f"{arch}_{task}_vs_torch", timing.ratio(mine, theirs))
    _put_ratio(result, "lstm_classify_fused_vs_autodiff",
               timing.ratio(timings["ours lstm classify"],
                            timings["ours lstm classify (autodiff)"]))
    return result


def _put_ratio(result: dict, key: str, r: dict) -> None:
    result[key] = r["ratio"]
    result[f"{key}_spread"] = [r["low"], r["high"]]
    result[f"{key}_cpu"] = r["cpu_ratio"]
    print(f"{key:34s} {r['ratio']:.2f}x  (rounds {r['low']:.2f}..{r['high']:.2f}, "
          f"per CPU-s {r['cpu_ratio']:.2f}x)", flush=True)


def fresh_process(module: str, *args: str, env: dict | None = None) -> dict:
    """Run ``python -m benchmarks.<module> args`` and read its JSON line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_step() -> dict:
    """Section 2: median of three fresh processes building the default model and compiling
    its step from scratch (each with an empty compilation cache), one that finds both in
    the persistent cache (a second session), and the app's path: the step compiled in the
    background while the form is read, then the Train click (median of three, each with an
    empty cache)."""
    with tempfile.TemporaryDirectory() as cache:
        runs = [fresh_process("first_step", env=_cache_env(f"{cache}/{i}")) for i in range(3)]
        warm = fresh_process("first_step", env=_cache_env(f"{cache}/0"))
        apps = [fresh_process("first_step", "--app", env=_cache_env(f"{cache}/app{i}"))
                for i in range(3)]
    for r in [*runs, warm]:
        print(f"first step {r['first_step_s']:.2f} s (CPU {r['first_step_cpu_s']:.2f} s; "
              f"model built in {r['build_s']:.2f} s), next step {1e3 * r['second_step_s']:.1f}"
              f" ms; lr change recompiles: {r['lr_change_recompiles']}"
              + (" [warm cache]" if r is warm else ""), flush=True)
    for r in apps:
        print(f"app: warm-up {r['app_warm_up_s']:.2f} s after opening, then Train -> first "
              f"step {r['app_click_to_first_step_s']:.2f} s (compiled on click: "
              f"{r['app_click_compiled_step']})", flush=True)
    median = lambda rs, key: sorted(r[key] for r in rs)[len(rs) // 2]  # noqa: E731
    return {"first_step_s": median(runs, "first_step_s"),
            "first_step_cpu_s": median(runs, "first_step_cpu_s"),
            "first_step_build_s": median(runs, "build_s"),
            "first_step_spread": [min(r["first_step_s"] for r in runs),
                                  max(r["first_step_s"] for r in runs)],
            "first_step_warm_cache_s": warm["first_step_s"],
            "app_warm_up_s": median(apps, "app_warm_up_s"),
            "app_click_to_first_step_s": median(apps, "app_click_to_first_step_s"),
            "app_click_compiled_step": any(r["app_click_compiled_step"] for r in apps),
            "lr_change_recompiles": any(r["lr_change_recompiles"] for r in runs),
            "first_step_model": runs[0]["model"]}


def _cache_env(path: str) -> dict:
    return {"WORKBENCH_XLA_CACHE": path}


def visuals(quick: bool) -> dict:
    """Section 3: the app's default refresh (every 2nd chunk) and every chunk."""
    from benchmarks import visual

    rounds = 3 if quick else 7
    result = visual.measure(rounds, refresh_every=2)
    every = visual.measure(rounds, refresh_every=1)
    result["visual_overhead_every_chunk"] = every["visual_overhead"]
    print(f"live visuals cost {100 * result['visual_overhead']:.0f}% of tokens/s (probe every "
          f"2nd chunk), {100 * every['visual_overhead']:.0f}% (every chunk)", flush=True)
    return result


def memory(quick: bool) -> dict:
    """Section 4: peak resident memory, one fresh process per configuration."""
    runs = [("4096", "fused"), ("4096", "remat")]
    if not quick:
        runs = [("1024", "fused"), ("1024", "remat"), ("1024", "autodiff"), *runs,
                ("4096", "autodiff")]
    result = {}
    for length, mode in runs:
        r = fresh_process("memory", length, mode)
        key = f"peak_mib_{length}" + ("" if mode == "fused" else f"_{mode}")
        result[key] = r["peak_mib"]
        result["process_base_mib"] = r["base_mib"]
        print(f"LSTM classify length {length} {mode:8s} peak {r['peak_mib']:.0f} MiB "
              f"(process before the model: {r['base_mib']:.0f} MiB)", flush=True)
    return result


def targets(result: dict) -> dict:
    met = {key: result[key] >= goal for key, goal in TARGETS.items() if key in result}
    if "first_step_s" in result:
        met["first_step_s"] = result["first_step_s"] <= 1.0
        met["app_click_to_first_step_s"] = result["app_click_to_first_step_s"] <= 1.0
        met["lr_change_no_recompile"] = not result["lr_change_recompiles"]
    if "visual_overhead" in result:
        met["visual_overhead"] = result["visual_overhead"] <= 0.05
    if "peak_mib_4096" in result:
        met["peak_mib_4096"] = result["peak_mib_4096"] <= 2048
        met["peak_mib_4096_remat"] = result["peak_mib_4096_remat"] <= 2048
    return met


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and configurations")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the interleaved timing (default 7, quick 3)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch (not installed)")
    parser.add_argument("--only", nargs="+", choices=("speed", "first", "visual", "memory"),
                        default=("speed", "first", "visual", "memory"))
    parser.add_argument("--threads", type=int, default=None,
                        help="pin this process (and its fresh processes) to the first N "
                             "CPUs and give PyTorch N threads: a fair match on a shared "
                             "machine, where two spinning threads suffer most")
    parser.add_argument("--malloc-reuse", action="store_true",
                        help="WORKBENCH_MALLOC=reuse here and in the fresh processes: "
                             "malloc keeps freed memory for the next step "
                             "(workbench/allocator.py); PyTorch runs under it too")
    args = parser.parse_args(argv)
    if args.threads:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])
    if args.malloc_reuse:
        os.environ["WORKBENCH_MALLOC"] = "reuse"
    from workbench import allocator

    malloc = "reuse" if allocator.from_env() else "default"
    import jax

    start = time.perf_counter()
    result = {"load_average_start": os.getloadavg()[0], "cpus": len(os.sched_getaffinity(0)),
              "jax": jax.__version__, "backend": jax.default_backend(), "malloc": malloc}
    if not args.no_torch:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        result["torch"], result["torch_threads"] = torch.__version__, torch.get_num_threads()
    sections = {"speed": lambda: speed(args.quick, not args.no_torch, args.rounds),
                "first": first_step, "visual": lambda: visuals(args.quick),
                "memory": lambda: memory(args.quick)}
    for name in args.only:
        result.update(sections[name]())
    result["targets_met"] = targets(result)
    result["contended"] = max(result["load_average_start"], os.getloadavg()[0]) > result["cpus"]
    if result["contended"]:
        print(f"note: load average {os.getloadavg()[0]:.1f} on {result['cpus']} CPUs: other "
              "jobs share this machine; PyTorch's spinning OpenMP threads suffer most from "
              "that, so compare with --threads 1 and the per-CPU-s ratios", flush=True)
    result["load_average_end"] = os.getloadavg()[0]
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
