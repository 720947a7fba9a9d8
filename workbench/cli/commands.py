"""The CLI commands that train and use models (``cli.py`` wires them to flags).

``train`` checks and locks its run folder before loading any data (``runs.py``). Ctrl-C
or SIGTERM while it trains stops at the end of the chunk, saves, says where, and exits
130; a second one aborts at once. A save that fails goes to a rescue folder, named.
The commands that use a saved run load it verified (``checkpoint.py``), refuse a run of
another task, and encode their input with the run's own tokenizer (``encode_saved.py``).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

import jax
import numpy as np

from ..config import ConfigError
from ..data.load import prepare
from ..data.tokenizer import UNK
from ..infer import decode
from ..train import checkpoint, checkpoint_meta, runs
from ..train.trainer import NonFiniteLoss, Trainer, data_parallel_mesh
from .flags import add_data_flags, add_train_flags, configs, resume_configs, split_path

INTERRUPTED = 130  # the shell's code for a run ended by Ctrl-C


def _note(text: str) -> None:
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
            model_config, data_cfg, train_config = resume_configs(args, saved, folder.path)
            meta = checkpoint.verify(folder.path)  # before any data is loaded
            step = meta["step"]
            if "sha256" not in meta:
                _note(f"{folder.path} was saved before checkpoints recorded sha256 digests: "
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
        _note(f"took over the lock of pid {folder.lock.stale_pid}, which no longer runs")
    with Interrupts() as interrupts:
        data = prepare(data_cfg)
        for note in data.notes:
            _note(note)
        print(f"training; the run is saved in {folder.path}", file=sys.stderr)
        if model_config.task != data.task:
            model_config = model_config.replace(task=data.task)
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


# --- commands on a saved run ------------------------------------------------------------

COMMAND_TASK = {"eval": None, "predict": "classify", "tag": "tag", "generate": "lm",
                "translate": "seq2seq"}
TASK_USE = {"classify": "predict RUN TEXT", "tag": "tag RUN TEXT",
            "lm": "generate RUN --prompt TEXT", "seq2seq": "translate RUN TEXT"}
TASK_NAME = {"classify": "classifier", "tag": "tagger", "lm": "language model",
             "seq2seq": "seq2seq (translation) model"}


def _load(args, command: str) -> checkpoint.Checkpoint:
    """The saved run, verified; refused when its task is not the command's."""
    ck = checkpoint.load(args.run_dir)
    for note in ck.notes:
        _note(note)
    task, needed = ck.model_config.task, COMMAND_TASK[command]
    if needed is not None and task != needed:
        use = TASK_USE[task].replace("RUN", str(args.run_dir))
        raise ConfigError(f"{command} needs a {TASK_NAME[needed]}, but {args.run_dir} holds a "
                          f"{TASK_NAME[task]} (task {task!r}); use: python -m workbench {use}")
    return ck


def add_eval_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("--split", help="split to score (default: validation, or the one split "
                   "given with --data-files)")
    p.add_argument("--data-files", action="append", default=[], metavar="SPLIT=PATH",
                   help="score these files (any split name) with the run's own tokenizer")


def evaluate(args) -> int:
    from ..data.saved import prepare_saved
    from ..train.evaluation import evaluate as run_eval

    ck = _load(args, "eval")
    files = tuple(split_path(s) for s in args.data_files)
    split = args.split or (files[0][0] if len({s for s, _ in files}) == 1 else "validation")
    data = prepare_saved(ck, files, splits=[split])
    for note in data.notes:
        _note(note)
    result = run_eval(ck.model, data, split)
    print(json.dumps({**result, "split": split, "examples": data.stats[split]["examples"]},
                     default=str))
    return 0


def _text_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("text")


def _ids(ck, text: str, what: str, name: str = "text") -> list[int]:
    """``text`` as the run's token ids; refused when empty, a note when no token is in
    the run's vocabulary."""
    if not text.strip():
        raise ConfigError(f"the {name} is empty; give the {name} to {what} (in quotes)")
    ids = ck.tokenizer.encode([text])[0]
    if not ids:
        raise ConfigError(f"the {name} {text!r} has no tokens the run's tokenizer reads; "
                          f"give some words")
    if all(i == UNK for i in ids):
        _note(f"none of the {name}'s tokens are in the run's vocabulary (all read as "
              "[UNK]): the result is a guess")
    return ids


def _cut(ids: list[int], max_len: int, name: str = "text", keep: str = "first") -> list[int]:
    if len(ids) > max_len:
        _note(f"the {name} has {len(ids)} tokens; the model reads at most max_len={max_len}, "
              f"so only the {keep} {max_len} were used")
    return ids[:max_len] if keep == "first" else ids[-max_len:]


def _encode(ck, text: str, what: str):
    max_len = ck.configs["data"].max_len
    ids = _cut(_ids(ck, text, what), max_len)
    tokens = np.zeros((1, max_len), np.int32)
    tokens[0, : len(ids)] = ids
    return tokens, np.arange(max_len)[None, :] < len(ids)


def predict(args) -> int:
    ck = _load(args, "predict")
    tokens, mask = _encode(ck, args.text, "classify")
    probs = decode.predict_proba(ck.model, tokens, mask)[0]
    ranked = sorted(zip(ck.label_names, probs.tolist(), strict=True), key=lambda x: -x[1])
    print(json.dumps({"label": ranked[0][0], "probabilities": dict(ranked)}))
    return 0


def tag(args) -> int:
    ck = _load(args, "tag")
    tokens, mask = _encode(ck, args.text, "tag")
    ids = decode.tag(ck.model, tokens, mask)[0]
    words = ck.tokenizer.tokens(tokens[0][mask[0]])
    print(json.dumps({"tokens": words, "tags": [ck.label_names[i] for i in ids[mask[0]]]}))
    return 0


def add_generate_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("--prompt", default="")
    p.add_argument("--tokens", type=int, default=200, help="new tokens to generate")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=0, help="0 = off")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)


def _check_sampling(args) -> None:
    problems = [
        (args.tokens >= 0, f"--tokens {args.tokens} must be >= 0 (new tokens); try 200"),
        (args.temperature >= 0 and np.isfinite(args.temperature),
         f"--temperature {args.temperature} must be a number >= 0 (0 = greedy); try 0.8"),
        (args.top_k >= 0, f"--top-k {args.top_k} must be >= 0 (0 = off); try 40"),
        (0 < args.top_p <= 1, f"--top-p {args.top_p} must be in (0, 1] (1 = off); try 0.95"),
        (args.seed >= 0, f"--seed {args.seed} must be >= 0"),
    ]
    for ok, message in problems:
        if not ok:
            raise ConfigError(message)


def generate(args) -> int:
    _check_sampling(args)
    ck = _load(args, "generate")
    max_len = ck.configs["data"].max_len
    prompt = _ids(ck, args.prompt, "generate from", "prompt") if args.prompt else []
    _cut(prompt, max_len, "prompt", keep="last")
    result = decode.generate(ck.model, prompt, args.tokens, max_len,
                             args.temperature, args.top_k, args.top_p, args.seed)
    text = ck.tokenizer.decode(result.new_ids)
    print(args.prompt + text)
    print(json.dumps({"prompt": args.prompt, "text": text,
                      "mean_prob": float(np.mean(result.probs)) if len(result.probs) else None}))
    return 0


def add_translate_flags(p) -> None:
    _text_flags(p)
    p.add_argument("--beam", type=int, default=1, help="1 = greedy")


def translate(args) -> int:
    if args.beam < 1:
        raise ConfigError(f"--beam {args.beam} must be >= 1 (1 = greedy); try 4")
    ck = _load(args, "translate")
    max_len = ck.configs["data"].max_len
    src = _cut(_ids(ck, args.text, "translate"), max_len)
    result = (decode.greedy_translate(ck.model, src, max_len) if args.beam == 1
              else decode.beam_translate(ck.model, src, max_len, beam=args.beam))
    print(json.dumps({"source": args.text, "translation": ck.tokenizer.decode(result.ids),
                      "score": float(result.score),
                      "attention": np.round(result.cross_attention, 3).tolist()}))
    return 0


def _add_train(p) -> None:
    add_data_flags(p)
    add_train_flags(p)


COMMANDS = {
    "train": ("train a model and save the run in --out", _add_train, train),
    "eval": ("metrics of a saved run on a split", add_eval_flags, evaluate),
    "generate": ("continue a prompt with a saved language model", add_generate_flags,
                 generate),
    "predict": ("classify a text with a saved classifier", _text_flags, predict),
    "tag": ("tag a text with a saved tagger", _text_flags, tag),
    "translate": ("translate a text with a saved seq2seq model", add_translate_flags,
                  translate),
}
__all__ = ["COMMANDS"]
