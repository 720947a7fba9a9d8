"""Quality: train a preset (or any flags) on any dataset, through the normal path, and
print the metric it reaches and the time it took.

    python benchmarks/quality.py --preset char-transformer \
        --data-files train=../shared/data/tinyshakespeare/train.jsonl \
        --data-files validation=../shared/data/tinyshakespeare/val.jsonl --minutes 3

It takes the same flags as ``python -m workbench train`` (``--preset``, ``--dataset``,
``--data-files``, ``--steps``, ``--minutes``, ...), builds the configs exactly as the CLI
does, then runs ``prepare`` and ``Trainer.fit``. Why not the CLI itself: the CLI's final
validation is capped at ``eval_batches`` (quick feedback while training); a benchmark
must score the *whole* held-out split, and the test split when there is one, so that
its number is comparable with a published one. ``--set section.field=value`` reaches
fields the CLI has no flag for (``train.warmup_steps=100``, ``model.tie_weights=true``),
which is how settings are tried before they go into a preset.

Progress goes to stderr; the last line of stdout is one JSON object: the metric, the
loss, steps, tokens/s, training and wall time, parameters, and the preset's published
reference. ``cpu_s`` is the CPU time of training (all threads, validation included):
on a shared machine, ``cpu_s / cores`` estimates the wall time the run would take alone.
``--out DIR`` also saves the run (then ``python -m workbench generate DIR``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from workbench.cli.flags import add_data_flags, add_train_flags, configs
from workbench.data.load import prepare
from workbench.nn.models import count_params
from workbench.presets import PRESETS
from workbench.tasks import metrics
from workbench.train.evaluation import evaluate
from workbench.train.trainer import Trainer

# The headline metric of each task, and whether higher is better.
METRICS = {"lm": ("loss", False), "classify": ("accuracy", True),
           "tag": ("entity_f1", True), "seq2seq": ("bleu", True)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_flags(p)
    add_train_flags(p)
    p.set_defaults(out=None)
    p.add_argument("--eval-split", help="split scored at the end (default: test if the data "
                                        "has one, else validation)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field; VALUE is read as JSON, else as text")
    p.add_argument("--sample", type=int, default=0, help="LM: characters/tokens to sample")
    p.add_argument("--prompt", default="\n", help="LM: the sample's prompt")
    return p.parse_args(argv)


def apply_sets(model, data, train, sets: list[str]):
    """``section.field=value`` overrides on the three configs (validated again)."""
    sections = {"model": model, "data": data, "train": train}
    for text in sets:
        key, _, raw = text.partition("=")
        section, _, name = key.partition(".")
        if section not in sections or not name:
            raise SystemExit(f"--set {text!r}: use model.FIELD=, data.FIELD= or train.FIELD=")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        sections[section] = dataclasses.replace(sections[section], **{name: value})
    return sections["model"], sections["data"], sections["train"]


def progress(event, trainer, info) -> None:
    """One stderr line per validation: step, seconds, loss, tokens/s so far."""
    if event == "eval":
        last = next((r for r in reversed(trainer.history) if r["kind"] == "train"), {})
        print(f"step {info['step']:>6}  {trainer.elapsed:7.1f}s  val loss {info['loss']:.4f}"
              f"  acc {info['accuracy']:.4f}  {last.get('tokens_per_s', 0):,.0f} tok/s",
              file=sys.stderr, flush=True)


def mean_tokens_per_s(trainer: Trainer) -> float:
    """Training tokens/s over the whole run (compilation included, validation not)."""
    tokens, before = 0.0, 0.0
    for record in (r for r in trainer.history if r["kind"] == "train"):
        tokens += record["tokens_per_s"] * (record["elapsed"] - before)
        before = record["elapsed"]
    return tokens / before if before else 0.0


def sample(trainer: Trainer, prompt: str, n: int) -> str:
    from workbench.infer import decode

    tok = trainer.data.tokenizer
    ids = tok.encode([prompt])[0]
    result = decode.generate(trainer.model, ids, n, trainer.data.config.max_len,
                             temperature=0.8, seed=0)
    return prompt + tok.decode(result.new_ids)


def main(argv=None) -> dict:
    args = parse_args(argv)
    model_cfg, data_cfg, train_cfg = apply_sets(*configs(args), args.set)
    start = time.perf_counter()
    data = prepare(data_cfg)
    trainer = Trainer(data, model_cfg, train_cfg, observers=(progress,))
    cpu = time.process_time()
    outcome = trainer.fit()["outcome"]
    cpu = time.process_time() - cpu
    split = args.eval_split or ("test" if "test" in data.splits else "validation")
    scores = evaluate(trainer.model, data, split)
    name, _ = METRICS[data.task]
    # Settings are chosen on validation; the test split is only reported.
    held_out = evaluate(trainer.model, data, "validation") if split != "validation" else scores
    preset = PRESETS.get(args.preset)
    result = {
        "preset": args.preset, "data": [p for _, p in data_cfg.data_files] or data_cfg.dataset,
        "split": split, "metric": name, "value": scores.get(name, scores["loss"]),
        "validation": held_out.get(name, held_out["loss"]),
        "loss": scores["loss"], "accuracy": scores["accuracy"], "steps": trainer.step,
        "epochs": trainer.epoch, "outcome": outcome, "train_s": round(trainer.elapsed, 1),
        "wall_s": round(time.perf_counter() - start, 1), "cpu_s": round(cpu, 1),
        "tokens_per_s": round(mean_tokens_per_s(trainer)),
        "params": count_params(trainer.model),
        "reference": getattr(preset, "reference", "") if preset else ""}
    if name == "bleu":  # every sentence of the split, against its text as the file has it
        result.update(translated=scores["translated"], bleu_signature=metrics.bleu_signature())
    if args.sample and data.task == "lm":
        print(sample(trainer, args.prompt, args.sample), file=sys.stderr)
    if args.out:
        trainer.save(args.out)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
