"""``python -m workbench``: the workbench from a terminal, over the same Trainer.

- ``train``      train a model (flags, or ``--preset`` plus flags) and save the run
- ``eval DIR``   metrics of a saved run on a split, as JSON on the last line
- ``generate DIR --prompt ...``, ``predict DIR TEXT``, ``tag DIR TEXT``,
  ``translate DIR TEXT``: use a saved run
- ``datasets``   list the built-in datasets and the catalog of hub datasets
- ``data``       load a dataset, detect its columns and task, print a summary

Problems with what was asked (bad flags, bad data) exit with code 2 and one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from . import allocator, xla_cache
from .catalog import CATALOG
from .checkpoint import CheckpointError
from .columns import DataError
from .config import ARCHS, TASKS, TOKENIZERS, ConfigError, DataConfig, ModelConfig, TrainConfig
from .presets import PRESETS

MODEL_FLAGS = {"arch": "arch", "layers": "layers", "hidden": "hidden", "embed": "embed",
               "heads": "heads", "dropout": "dropout", "bidirectional": "bidirectional",
               "pooling": "pooling", "attention": "attention", "task": "task"}
DATA_FLAGS = {"dataset": "dataset", "name": "name", "split": "split", "task": "task",
              "text_column": "text_column", "label_column": "label_column",
              "target_column": "target_column", "tokenizer": "tokenizer",
              "vocab_size": "vocab_size", "max_len": "max_len", "batch_size": "batch_size",
              "difficulty": "difficulty", "seed": "seed"}
TRAIN_FLAGS = {"steps": "steps", "minutes": "minutes", "lr": "lr", "seed": "seed",
               "eval_every": "eval_every", "optimizer": "optimizer"}


def split_path(text: str) -> tuple[str, str]:
    split, sep, path = text.partition("=")
    if not sep or not split or not path:
        raise ConfigError(f"--data-files {text!r} must look like split=path, e.g. "
                          "train=data/train.csv")
    return split, path


def _override(config, args, flags: dict):
    given = {field: getattr(args, flag) for flag, field in flags.items()
             if getattr(args, flag, None) is not None}
    return dataclasses.replace(config, **given)


def data_config(args, base: DataConfig | None = None) -> DataConfig:
    config = _override(base or DataConfig(), args, DATA_FLAGS)
    if args.data_files:
        config = config.replace(data_files=tuple(split_path(s) for s in args.data_files))
    return config


def configs(args) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """Preset (or defaults), then every flag that was given."""
    if args.preset is not None and args.preset not in PRESETS:
        raise ConfigError(f"--preset {args.preset!r} does not exist; choose one of "
                          f"{', '.join(PRESETS)}")
    preset = PRESETS.get(args.preset)
    data = data_config(args, preset.data if preset else None)
    model = _override(preset.model if preset else ModelConfig(), args, MODEL_FLAGS)
    train = _override(preset.train if preset else TrainConfig(), args, TRAIN_FLAGS)
    return model, data, train


def _datasets(args) -> None:
    from . import builtin

    print("Built-in (offline):")
    for name, task, description in builtin.describe():
        print(f"  {name:<18} {task:<9} {description}")
    print("\nCatalog (Hugging Face hub; pass the key or the hub id as --dataset):")
    for entry in CATALOG.values():
        config = f" [{entry.name}]" if entry.name else ""
        print(f"  {entry.key:<18} {entry.task:<9} {entry.hub_id}{config}: {entry.description}")
    print("\nPresets (--preset):")
    for preset in PRESETS.values():
        print(f"  {preset.name:<22} {preset.description}")


def _data(args) -> None:
    from .data import prepare

    print(json.dumps(prepare(data_config(args)).summary()))


def add_data_flags(p: argparse.ArgumentParser) -> None:
    """Flags that choose and shape the data (shared by every command that loads data)."""
    p.add_argument("--dataset", help="built-in name, catalog key, hub id, or local path")
    p.add_argument("--name", help="hub dataset configuration")
    p.add_argument("--split", help="load only this split, e.g. 'train[:20%%]'")
    p.add_argument("--data-files", action="append", default=[], metavar="SPLIT=PATH")
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--target-column")
    p.add_argument("--tokenizer", choices=TOKENIZERS)
    p.add_argument("--vocab-size", type=int)
    p.add_argument("--max-len", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--difficulty", type=int)
    p.add_argument("--seed", type=int)


def add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help=f"one of {', '.join(PRESETS)}")
    p.add_argument("--arch", choices=ARCHS)
    p.add_argument("--bidirectional", action="store_true", default=None)
    for flag, kind in (("layers", int), ("hidden", int), ("embed", int), ("heads", int),
                       ("dropout", float), ("steps", int), ("minutes", float), ("lr", float),
                       ("eval_every", int)):
        p.add_argument(f"--{flag.replace('_', '-')}", type=kind)
    p.add_argument("--pooling", choices=("last", "mean", "attention"))
    p.add_argument("--attention", choices=("additive", "dot"))
    p.add_argument("--optimizer", choices=("adam", "adamw", "sgd"))
    p.add_argument("--out", default="runs/latest", help="directory for the saved run")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")


def parser() -> argparse.ArgumentParser:
    from .commands import COMMANDS

    p = argparse.ArgumentParser(prog="python -m workbench",
                                description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_text, add_flags, run) in {
        "datasets": ("list built-in datasets, the catalog and presets", None, _datasets),
        "data": ("load a dataset and print its summary as JSON", add_data_flags, _data),
        **COMMANDS,
    }.items():
        command = sub.add_parser(name, help=help_text)
        if add_flags is not None:
            add_flags(command)
        command.set_defaults(run=run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    allocator.from_env()
    xla_cache.enable()
    try:
        return args.run(args) or 0
    except (ConfigError, DataError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
