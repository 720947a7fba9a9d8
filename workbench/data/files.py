"""Local files: which ``datasets`` builder reads each extension, in which encoding, and
a message naming the line and the fix when a file cannot be read."""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import pathlib

import datasets

from ..config import DataConfig
from .columns import DataError

BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
            ".parquet": "parquet", ".txt": "text", ".arrow": "arrow"}


TEXT_BUILDERS = ("csv", "json", "text")  # read as text: their encoding matters


def _builder(path: str) -> tuple[str, dict]:
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in BUILDERS:
        raise DataError(f"cannot read {path!r}: use a {', '.join(BUILDERS)} file or a "
                        "dataset folder")
    return BUILDERS[suffix], ({"delimiter": "\t"} if suffix == ".tsv" else {})


def encoding_for(config: DataConfig) -> str | None:
    """The text encoding of local files, when the config has such a setting."""
    return getattr(config, "encoding", None)


def load_files(files: dict[str, str], encoding: str | None = None) -> datasets.DatasetDict:
    for split, path in files.items():
        if not os.path.exists(path):
            raise DataError(f"data file {path!r} does not exist")
        if os.path.getsize(path) == 0:
            raise DataError(f"data file {path!r} ({split}) is empty")
    builder, kwargs = _builder(next(iter(files.values())))
    if encoding and builder in TEXT_BUILDERS:
        kwargs["encoding"] = encoding
    try:
        return datasets.load_dataset(builder, data_files=files, **kwargs)
    except Exception as err:  # noqa: BLE001 - the reader's own error, named with the file
        for split, path in files.items():
            why = _diagnose(path, split, builder, encoding)
            if why:
                raise DataError(why) from None
        cause = err.__cause__ or err
        raise DataError(f"could not read {', '.join(files.values())} as {builder}: "
                        f"{type(cause).__name__}: {cause}") from err


def _guess_encoding(raw: bytes) -> str:
    """A likely encoding of bytes that are not UTF-8 (a byte-order mark, else the
    Windows Western code page, which reads latin-1 text too)."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return name
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _diagnose(path: str, split: str, builder: str, encoding: str | None) -> str | None:
    """Why a text file could not be read, in words that say the fix (None: unknown):
    not UTF-8 (with the line, and the encoding it looks like), a header and no rows,
    only blank lines, or the first line that is not a JSON object."""
    if builder not in TEXT_BUILDERS:
        return None
    raw = pathlib.Path(path).read_bytes()
    name = pathlib.Path(path).name
    try:
        text = raw.decode(encoding or "utf-8")
    except (UnicodeDecodeError, LookupError) as err:
        if isinstance(err, LookupError):
            return f"encoding={encoding!r} is not a known text encoding; try 'utf-8' or 'cp1252'"
        line = raw.count(b"\n", 0, err.start) + 1
        guess = _guess_encoding(raw)
        has_setting = any(f.name == "encoding" for f in dataclasses.fields(DataConfig))
        how = (f"set the encoding (encoding={guess!r}), or re-save it as UTF-8" if has_setting
               else "re-save it as UTF-8 (a spreadsheet's Save As 'CSV UTF-8', or "
               f"iconv -f {guess} -t utf-8 {name} > utf8-{name}) and load that")
        return (f"data file {path!r} ({split}) is not {encoding or 'UTF-8'} text: byte "
                f"0x{raw[err.start]:02x} on line {line} cannot be read as "
                f"{encoding or 'UTF-8'}; it looks like {guess} text: {how}")
    lines = text.splitlines()
    rows = [(i, line) for i, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        return f"data file {path!r} ({split}) holds only blank lines: add some rows"
    if builder == "csv" and len(rows) == 1:
        return (f"data file {path!r} ({split}) holds only a header line ({rows[0][1][:80]!r}) "
                "and no rows: add rows below the header")
    if builder == "json":
        return _diagnose_json(path, split, text, rows)
    return None


def _diagnose_json(path: str, split: str, text: str, rows) -> str | None:
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as err:
        whole, whole_err = None, err
    else:
        if isinstance(whole, list) and not whole:
            return f"data file {path!r} ({split}) holds an empty list: add some rows"
        return None  # one JSON document: the reader failed for another reason
    if text.lstrip().startswith("[") or len(rows) == 1:
        return (f"data file {path!r} ({split}) line {whole_err.lineno} is not valid JSON "
                f"({whole_err.msg}, column {whole_err.colno}): fix that line")
    for number, line in rows:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            return (f"data file {path!r} ({split}) line {number} is not valid JSON "
                    f"({err.msg}, column {err.colno}): {line.strip()[:80]!r}; each line of "
                    "a JSON-lines file must be one object such as {\"text\": \"...\", "
                    "\"label\": \"...\"}: fix or delete that line")
        if not isinstance(value, dict):
            return (f"data file {path!r} ({split}) line {number} holds a "
                    f"{type(value).__name__} ({line.strip()[:40]}), not an object such as "
                    "{\"text\": \"...\"}: every line must be one object with the same keys")
    return None
