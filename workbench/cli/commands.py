"""The CLI commands (``main.py`` wires them to flags): ``train`` (``training.py``) and the
commands that use a saved run, which load it verified (``train/checkpoint.py``), refuse a
run of another task, and encode their input with the run's own tokenizer
(``data/saved.py``)."""

from __future__ import annotations

import json

import numpy as np

from ..config import ConfigError
from ..data.tokenizer import UNK
from ..infer import decode
from ..infer.translate import beam_translate, greedy_translate
from ..tasks import task_named
from ..train import checkpoint
from .flags import split_path
from .training import add_flags, print_note, train

COMMAND_TASK = {"eval": None, "predict": "classify", "tag": "tag", "generate": "lm",
                "translate": "seq2seq"}


def _load(args, command: str) -> checkpoint.Checkpoint:
    """The saved run, verified; refused when its task is not the command's."""
    ck = checkpoint.load(args.run_dir)
    for note in ck.notes:
        print_note(note)
    task, needed = ck.task, COMMAND_TASK[command]
    if needed is not None and task != needed:
        held = task_named(task)
        use = held.use.replace("RUN", str(args.run_dir))
        raise ConfigError(f"{command} needs a {task_named(needed).noun}, but {args.run_dir} "
                          f"holds a {held.noun} (task {task!r}); use: python -m workbench {use}")
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
        print_note(note)
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
        print_note(f"none of the {name}'s tokens are in the run's vocabulary (all read as "
              "[UNK]): the result is a guess")
    return ids


def _cut(ids: list[int], max_len: int, name: str = "text", keep: str = "first") -> list[int]:
    if len(ids) > max_len:
        print_note(f"the {name} has {len(ids)} tokens; the model reads at most max_len={max_len}, "
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
    result = (greedy_translate(ck.model, src, max_len) if args.beam == 1
              else beam_translate(ck.model, src, max_len, beam=args.beam))
    print(json.dumps({"source": args.text, "translation": ck.tokenizer.decode(result.ids),
                      "score": float(result.score),
                      "attention": np.round(result.cross_attention, 3).tolist()}))
    return 0


COMMANDS = {
    "train": ("train a model and save the run in --out", add_flags, train),
    "eval": ("metrics of a saved run on a split", add_eval_flags, evaluate),
    "generate": ("continue a prompt with a saved language model", add_generate_flags,
                 generate),
    "predict": ("classify a text with a saved classifier", _text_flags, predict),
    "tag": ("tag a text with a saved tagger", _text_flags, tag),
    "translate": ("translate a text with a saved seq2seq model", add_translate_flags,
                  translate),
}


__all__ = ["COMMANDS"]
