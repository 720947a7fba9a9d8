"""Command-line flags and the configs they make: a new run's, or a resumed run's checked
against the saved settings (shared by ``main``'s parser and the ``commands``)."""

from __future__ import annotations

import argparse
import dataclasses

from ..config import ARCHS, TASKS, TOKENIZERS, ConfigError, DataConfig, ModelConfig, TrainConfig
from ..presets import PRESETS

MODEL_FLAGS = {"arch": "arch", "layers": "layers", "hidden": "hidden", "embed": "embed",
               "heads": "heads", "dropout": "dropout", "bidirectional": "bidirectional",
               "pooling": "pooling", "attention": "attention"}
DATA_FLAGS = {"dataset": "dataset", "name": "name", "split": "split", "task": "task",
              "text_column": "text_column", "label_column": "label_column",
              "target_column": "target_column", "tokenizer": "tokenizer",
              "vocab_size": "vocab_size", "max_len": "max_len", "batch_size": "batch_size",
              "difficulty": "difficulty", "seed": "seed"}
TRAIN_FLAGS = {"steps": "steps", "minutes": "minutes", "lr": "lr", "seed": "seed",
               "eval_every": "eval_every", "optimizer": "optimizer", "keep_best": "keep_best"}
# What ``--resume`` may change: how much longer and how to train, never what is trained.
RESUMABLE = ("steps", "minutes", "lr", "eval_every", "eval_batches", "patience", "chunk",
             "keep_best")
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


def _requested(args) -> dict[str, dict[str, tuple[str, object]]]:
    """What the command line asks for, by section and field: ``(where it came from,
    value)`` for each field a flag (or the preset) sets; fields left out are absent."""
    out = {"model": {}, "data": {}, "train": {}}
    if args.preset is not None:
        if args.preset not in PRESETS:
            raise ConfigError(f"--preset {args.preset!r} does not exist; choose one of "
                              f"{', '.join(PRESETS)}")
        preset = PRESETS[args.preset]
        for section, config in (("model", preset.model), ("data", preset.data),
                                ("train", preset.train)):
            for f in dataclasses.fields(config):
                out[section][f.name] = (f"--preset {args.preset}", getattr(config, f.name))
    for section, flags in (("model", MODEL_FLAGS), ("data", DATA_FLAGS), ("train", TRAIN_FLAGS)):
        for flag, field in flags.items():
            if getattr(args, flag, None) is not None:
                out[section][field] = (f"--{flag.replace('_', '-')}", getattr(args, flag))
    if args.data_files:
        out["data"]["data_files"] = ("--data-files",
                                     tuple(split_path(s) for s in args.data_files))
    return out


def resume_configs(args, saved: dict, where, task: str
                   ) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """The saved run's configs (``task``: the task its model was built for), with only
    the training fields in ``RESUMABLE`` changed by the flags. A flag (or preset) that
    contradicts a saved model, data or other training setting is refused, every conflict
    listed; a flag left out keeps the saved value, never the CLI's default."""
    model, data, train = saved["model"], saved["data"], saved["train"]
    conflicts: dict[str, None] = {}  # ordered, without repeats (--seed: twice)
    for section, config in (("model", model), ("data", data), ("train", train)):
        for field, (source, value) in _requested(args)[section].items():
            have = getattr(config, field)
            if section == "data" and field == "task":  # None = inferred: the run's task
                have = task if value is not None else None
            if section == "train" and field in RESUMABLE or value == have:
                continue
            if section == "data" and value is None and source.startswith("--preset"):
                continue  # a preset leaving a data field to detection asks for nothing
            conflicts[f"{source} sets {field}={value!r}, the run has {have!r}"] = None
    if conflicts:
        raise ConfigError(
            f"--resume continues the run in {where} with its saved settings, and these flags "
            f"contradict them: {'; '.join(conflicts)}. Drop them (--steps, --minutes, --lr "
            "and --eval-every may change), or train a new run with another --out")
    changes = {field: value for field, (_, value) in _requested(args)["train"].items()
               if field in RESUMABLE}
    return model, data, train.replace(**changes)


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
    p.add_argument("--keep-best", action="store_true", default=None,
                   help="end with the parameters of the best validation, not the last")
    p.add_argument("--out", help="folder for the run: new, empty, or an earlier run (with "
                   "--resume or --overwrite); default: a fresh runs/<time>-<setup>")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out "
                   "(only --steps, --minutes, --lr, --eval-every, --keep-best may change)")
    p.add_argument("--overwrite", action="store_true", help="train a new run in --out over "
                   "the earlier one (only the workbench's files there are replaced)")
