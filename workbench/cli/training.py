"""``train``: check and lock the run folder before loading any data (``train/runs.py``),
train with a progress bar, save, and print the metrics as JSON on the last line.

Ctrl-C or SIGTERM while it trains stops at the end of the chunk, saves, says where, and
exits 130; a second one aborts at once. A save that fails goes to a rescue folder, named."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

import jax

from ..config import ConfigError
from ..data.load import prepare
from ..errors import NonFiniteLoss
from ..train import checkpoint, checkpoint_meta, runs
from ..train.trainer import Trainer, data_parallel_mesh
from .flags import add_data_flags, add_train_flags, configs, resume_configs

INTERRUPTED = 130  # the shell's code for a run ended by Ctrl-C


def print_note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def _progress(total: int):
    """An observer that draws a one-line progress bar on stderr."""
    def observe(event, trainer, info):
        if event == "chunk":
            done = trainer.step / total
            bar = "#" * int(30 * done)
            print(f"\r[{bar:<30}] {trainer.step}/{total} loss {info['loss']:.4f} "
                  f"{info['tokens_per_s']:,.0f} tok/s", end="", file=sys.stderr, flush=True)
        elif event == "eval":
            print(f"\n  validation at step {info['step']}: loss {info['loss']:.4f} "
                  f"accuracy {info['accuracy']:.3f}", file=sys.stderr)
    return observe


def _jsonable(record: dict) -> dict:
    return {k: v for k, v in record.items() if isinstance(v, int | float | str | bool)}


class Interrupts:
    """SIGINT and SIGTERM while ``train`` runs. Before training starts, a signal stops
    the command at once (nothing to save). Once a trainer exists, the first signal asks
    it to stop after the current chunk (``Trainer.stop``); the run is then saved. A
    second signal aborts at once (``KeyboardInterrupt``). Only the main thread can take
    signals: elsewhere this does nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.trainer: Trainer | None = None
        self.received: str | None = None
        self.saved_to = None  # where the run was saved after the signal, if it was
        self._previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.trainer is None:
            raise KeyboardInterrupt(f"{name} before training started; nothing to save")
        if self.received is not None:
            saved = (f"the run was saved at the interrupt, in {self.saved_to}"
                     if self.saved_to else "the run was not saved")
            raise KeyboardInterrupt(f"aborted by a second {name}: {saved}")
        self.received = name
        print(f"\n{name}: stopping after this chunk and saving the run (press Ctrl-C again "
              "to abort without saving)", file=sys.stderr, flush=True)
        self.trainer.stop()


def _setup_name(model_config, data_config, preset: str | None) -> str:
    files = dict(data_config.data_files)
    dataset = files.get("train") or next(iter(files.values()), None) or data_config.dataset
    return f"{preset or runs.slug(dataset)}-{model_config.arch}"


def train(args) -> int:
    if args.resume:
        folder = runs.open_folder(args.out, resume=True, overwrite=args.overwrite)
        try:
            saved = checkpoint_meta.read_configs(folder.path)
            task = checkpoint_meta.read_meta(folder.path)["model_args"]["task"]
            model_config, data_cfg, train_config = resume_configs(args, saved, folder.path,
                                                                  task)
            meta = checkpoint.verify(folder.path)  # before any data is loaded
            step = meta["step"]
            if "sha256" not in meta:
                print_note(f"{folder.path} was saved before checkpoints recorded sha256 digests: "
                      "its files cannot be verified; this run's save adds them")
            if train_config.steps <= step:
                raise ConfigError(
                    f"the run in {folder.path} has done {step} steps, and its budget is "
                    f"{train_config.steps}: pass --steps above {step} to train it further")
        except BaseException:
            folder.release()
            raise
    else:
        model_config, data_cfg, train_config = configs(args)
        folder = runs.open_folder(args.out, overwrite=args.overwrite,
                                  setup=_setup_name(model_config, data_cfg, args.preset))
    try:
        return _train(args, folder, model_config, data_cfg, train_config)
    finally:
        folder.release()


def _train(args, folder: runs.RunFolder, model_config, data_cfg, train_config) -> int:
    start = time.perf_counter()
    if folder.lock.stale_pid is not None:
        print_note(f"took over the lock of pid {folder.lock.stale_pid}, which no longer runs")
    with Interrupts() as interrupts:
        data = prepare(data_cfg)
        for note in data.notes:
            print_note(note)
        print(f"training; the run is saved in {folder.path}", file=sys.stderr)
        observers = (_progress(train_config.steps), _save_when_interrupted(interrupts, folder))
        mesh = data_parallel_mesh() if jax.local_device_count() > 1 else None
        if args.resume:
            trainer = Trainer.resume(folder.path, data, train_config, observers=observers,
                                     mesh=mesh)
            if args.lr is not None:  # the restored optimizer holds the saved rate
                trainer.set_lr(train_config.lr)
        else:
            trainer = Trainer(data, model_config, train_config, observers=observers, mesh=mesh)
        interrupts.trainer = trainer
        try:
            final = trainer.fit()
        except NonFiniteLoss as err:
            path, rescued = runs.save_or_rescue(trainer.save, folder.path)
            runs.write_json(path / runs.METRICS, {"outcome": "diverged", "step": trainer.step,
                                                  "error": str(err)})
            print(f"\nerror: {str(err).rstrip('.')}. The parameters kept are saved in {path}",
                  file=sys.stderr)
            if rescued:
                print(f"error: {rescued}", file=sys.stderr)
            return 1
        path, rescued = runs.save_or_rescue(trainer.save, folder.path)
        runs.write_json(path / runs.METRICS, final)
    summary = {**_jsonable(final), "wall_s": round(time.perf_counter() - start, 2),
               "train_s": round(trainer.elapsed, 2), "out": str(path)}
    print(file=sys.stderr)
    print(json.dumps(summary))
    if rescued:
        print(f"error: {rescued}", file=sys.stderr)
    if interrupts.received:
        print(f"interrupted by {interrupts.received} at step {trainer.step}: the run is saved "
              f"in {path}; continue it with: python -m workbench train --out {path} --resume",
              file=sys.stderr)
        return INTERRUPTED
    return 1 if rescued else 0


def _save_when_interrupted(interrupts: Interrupts, folder: runs.RunFolder):
    """Save right after the chunk in which a signal arrived, before the final validation
    (which may be long): a second Ctrl-C then loses nothing."""
    def observe(event, trainer, info):
        if event == "chunk" and interrupts.received and interrupts.saved_to is None:
            interrupts.saved_to, rescued = runs.save_or_rescue(trainer.save, folder.path)
            if rescued:
                print(f"\nerror: {rescued}", file=sys.stderr)
    return observe


def add_flags(p) -> None:
    add_data_flags(p)
    add_train_flags(p)
