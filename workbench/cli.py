"""``python -m workbench``: the workbench from a terminal.

- ``datasets``: list the built-in datasets and the catalog of hub datasets
- ``data``:     load a dataset, detect its columns and task, tokenize, and print a summary

Errors in what the user asked for exit with code 2 and one line naming the problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from .catalog import CATALOG
from .columns import DataError
from .config import TASKS, TOKENIZERS, ConfigError, DataConfig


def _datasets(args) -> None:
    from . import builtin

    print("Built-in (offline):")
    for name, task, description in builtin.describe():
        print(f"  {name:<18} {task:<9} {description}")
    print("\nCatalog (Hugging Face hub; pass the key or the hub id as --dataset):")
    for entry in CATALOG.values():
        config = f" [{entry.name}]" if entry.name else ""
        print(f"  {entry.key:<18} {entry.task:<9} {entry.hub_id}{config}: {entry.description}")


def _data_config(args) -> DataConfig:
    return DataConfig(
        dataset=args.dataset, name=args.name, split=args.split, task=args.task,
        data_files=tuple(_split_path(s) for s in args.data_files),
        text_column=args.text_column, label_column=args.label_column,
        target_column=args.target_column, tokenizer=args.tokenizer,
        vocab_size=args.vocab_size, max_len=args.max_len, batch_size=args.batch_size,
        difficulty=args.difficulty, seed=args.seed)


def _split_path(text: str) -> tuple[str, str]:
    split, sep, path = text.partition("=")
    if not sep or not split or not path:
        raise ConfigError(f"--data-files {text!r} must look like split=path, e.g. "
                          "train=data/train.csv")
    return split, path


def _data(args) -> None:
    from .data import prepare

    prepared = prepare(_data_config(args))
    print(json.dumps(prepared.summary()))


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that choose and shape the data (shared by every command that loads data)."""
    parser.add_argument("--dataset", default="reverse",
                        help="built-in name, catalog key, hub id, or local path")
    parser.add_argument("--name", help="hub dataset configuration")
    parser.add_argument("--split", help="load only this split, e.g. 'train[:20%%]'")
    parser.add_argument("--data-files", action="append", default=[], metavar="SPLIT=PATH")
    parser.add_argument("--task", choices=TASKS)
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")
    parser.add_argument("--target-column")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default="word")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workbench", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("datasets", help="list built-in and catalog datasets").set_defaults(
        run=_datasets)
    data = sub.add_parser("data", help="load a dataset and print its summary as JSON")
    add_data_flags(data)
    data.set_defaults(run=_data)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (ConfigError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
