"""The CLI commands that train and use models (``cli.py`` wires them to flags)."""

from __future__ import annotations

import json
import sys
import time

import jax
import numpy as np

from . import checkpoint, decode
from .cli import add_data_flags, add_train_flags, configs, split_path
from .config import ConfigError
from .data import prepare
from .trainer import NonFiniteLoss, Trainer, data_parallel_mesh


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


def train(args) -> int:
    model_config, data_cfg, train_config = configs(args)
    start = time.perf_counter()
    data = prepare(data_cfg)
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    if model_config.task != data.task:
        model_config = model_config.replace(task=data.task)
    observers = (_progress(train_config.steps),)
    mesh = data_parallel_mesh() if jax.local_device_count() > 1 else None
    if args.resume:
        trainer = Trainer.resume(args.out, data, train_config, observers=observers, mesh=mesh)
    else:
        trainer = Trainer(data, model_config, train_config, observers=observers, mesh=mesh)
    try:
        final = trainer.fit()
    except NonFiniteLoss as err:
        trainer.save(args.out)
        print(f"\nerror: {err}", file=sys.stderr)
        return 1
    path = trainer.save(args.out)
    summary = {**_jsonable(final), "wall_s": round(time.perf_counter() - start, 2),
               "train_s": round(trainer.elapsed, 2), "out": str(path)}
    (path / "metrics.json").write_text(json.dumps(final, indent=1, default=str))
    print(file=sys.stderr)
    print(json.dumps(summary))
    return 0


def add_eval_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("--split", default="validation")
    p.add_argument("--data-files", action="append", default=[], metavar="SPLIT=PATH")


def evaluate(args) -> int:
    from .evaluation import evaluate as run_eval

    ck = checkpoint.load(args.run_dir)
    data_cfg = ck.configs["data"]
    if args.data_files:
        data_cfg = data_cfg.replace(data_files=tuple(split_path(s) for s in args.data_files))
    data = prepare(data_cfg)
    if data.tokenizer.to_json() != ck.tokenizer.to_json():
        raise ConfigError("this data trains a different tokenizer than the saved run's; "
                          "evaluate on data with the same training split")
    if args.split not in data.splits:
        raise ConfigError(f"--split {args.split!r} does not exist; the splits are "
                          f"{', '.join(data.splits)}")
    print(json.dumps(run_eval(ck.model, data, args.split), default=str))
    return 0


def _text_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("text")


def _encode(ck, text: str):
    return ck.tokenizer.encode_padded(text, ck.configs["data"].max_len)


def predict(args) -> int:
    ck = checkpoint.load(args.run_dir)
    tokens, mask = _encode(ck, args.text)
    probs = decode.predict_proba(ck.model, tokens, mask)[0]
    ranked = sorted(zip(ck.label_names, probs.tolist(), strict=True), key=lambda x: -x[1])
    print(json.dumps({"label": ranked[0][0], "probabilities": dict(ranked)}))
    return 0


def tag(args) -> int:
    ck = checkpoint.load(args.run_dir)
    tokens, mask = _encode(ck, args.text)
    ids = decode.tag(ck.model, tokens, mask)[0]
    words = ck.tokenizer.tokens(tokens[0][mask[0]])
    print(json.dumps({"tokens": words, "tags": [ck.label_names[i] for i in ids[mask[0]]]}))
    return 0


def add_generate_flags(p) -> None:
    p.add_argument("run_dir")
    p.add_argument("--prompt", default="")
    p.add_argument("--tokens", type=int, default=200, help="new tokens to generate")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)


def generate(args) -> int:
    ck = checkpoint.load(args.run_dir)
    prompt = ck.tokenizer.encode([args.prompt])[0] if args.prompt else []
    result = decode.generate(ck.model, prompt, args.tokens, ck.configs["data"].max_len,
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
    ck = checkpoint.load(args.run_dir)
    src = ck.tokenizer.encode([args.text])[0][: ck.configs["data"].max_len]
    max_len = ck.configs["data"].max_len
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
