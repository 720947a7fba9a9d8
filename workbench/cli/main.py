"""``python -m workbench``: the workbench from a terminal, over the same Trainer.

- ``train``      train a model (flags, or ``--preset`` plus flags) and save the run
- ``eval DIR``   metrics of a saved run on a split, as JSON on the last line
- ``generate DIR --prompt ...``, ``predict DIR TEXT``, ``tag DIR TEXT``,
  ``translate DIR TEXT``: use a saved run
- ``datasets``   list the built-in datasets and the catalog of hub datasets
- ``data``       load a dataset, detect its columns and task, print a summary

Problems with what was asked (bad flags, bad data, a run folder that cannot be used) exit
with code 2 and one line that names the value and the fix; Ctrl-C exits with 130 (during
``train``: after saving, see ``training.py``); anything else is a bug, shown with its
traceback and a last line that says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback

from .. import allocator, xla_cache
from ..config import ConfigError
from ..data.catalog import CATALOG
from ..data.columns import DataError
from ..presets import PRESETS
from ..train.checkpoint import CheckpointError
from .commands import COMMANDS
from .flags import add_data_flags, data_config

BUG = ("this is a bug in the workbench, not a problem with what you asked: please report "
       "it on the workbench's issue tracker with the command you ran and the traceback above")


def _datasets(args) -> None:
    from ..data import builtin

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
    from ..data.load import prepare

    print(json.dumps(prepare(data_config(args)).summary()))


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line: the problem and where to read more."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m workbench",
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
    except KeyboardInterrupt as err:
        print(f"\nerror: {err or 'interrupted; nothing was saved'}", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; lower --batch-size, --max-len or the model's size",
              file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder the user named, or the disk: not a bug
        where = f" ({err.filename})" if err.filename else ""
        print(f"error: {err.strerror or err}{where}; check the path, its permissions and the "
              "free space", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug: shown in full, and said to be one
        if "RESOURCE_EXHAUSTED" in str(err):
            print("error: out of device memory; lower --batch-size, --max-len or the model's "
                  "size", file=sys.stderr)
            return 2
        traceback.print_exc()
        print(f"error: {BUG}", file=sys.stderr)
        return 1
