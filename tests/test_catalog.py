"""Every catalog entry works offline against a local fixture with the feature schema of
its dataset card, so online it works unchanged; and the CLI lists it."""

import subprocess
import sys
from unittest import mock

import datasets
import pytest

from workbench.config import DataConfig
from workbench.data import builtin, hub
from workbench.data import load as data
from workbench.data.catalog import CATALOG


def _feature(spec):
    if spec == "string":
        return datasets.Value("string")
    if isinstance(spec, str):
        return datasets.Value(spec)
    kind, arg = spec
    if kind == "class":
        return datasets.ClassLabel(names=list(arg))
    if kind == "list":
        return datasets.List(_feature(arg))
    return datasets.Translation(languages=list(arg))


def _value(feature, i):
    if isinstance(feature, datasets.ClassLabel):
        return i % feature.num_classes
    if isinstance(feature, datasets.Translation):
        return {lang: f"{lang} sentence number {i % 7}" for lang in feature.languages}
    if isinstance(feature, datasets.List):
        return [_value(feature.feature, i + j) for j in range(3)]
    return f"word{i % 5} text {i % 3}" if feature.dtype == "string" else i


def fixture(entry, n=40):
    features = datasets.Features({k: _feature(v) for k, v in entry.schema.items()})
    rows = {k: [_value(f, i) for i in range(n)] for k, f in features.items()}
    split = datasets.Dataset.from_dict(rows, features=features)
    return datasets.DatasetDict({"train": split, "validation": split})


@pytest.mark.parametrize("key", list(CATALOG))
def test_catalog_entry_loads_with_its_card_schema(key):
    entry = CATALOG[key]
    calls = []

    def fake_load(hub_id, name=None, revision=None, split=None):
        calls.append((hub_id, name, revision, split))
        return fixture(entry)

    with mock.patch.object(data.datasets, "load_dataset", fake_load), \
            mock.patch.object(hub, "reachable", lambda: True):
        prepared = data.prepare(DataConfig(dataset=key, max_len=8, batch_size=4, seed=7))
    assert calls == [(entry.hub_id, entry.name, entry.revision, None)]
    assert prepared.task == entry.task
    if entry.text_column:
        assert prepared.columns.text == entry.text_column
    if entry.target_column:
        assert prepared.columns.target == entry.target_column
    if entry.label_column:
        assert prepared.columns.label == entry.label_column
    if entry.task in ("classify", "tag"):
        label = entry.schema[prepared.columns.label]
        names = label[1] if label[0] == "class" else label[1][1]
        assert prepared.label_names == tuple(names)
    batch = next(prepared.batches("train"))
    assert batch["tokens"].shape == (4, 8)


def test_catalog_covers_every_task():
    assert {e.task for e in CATALOG.values()} == {"classify", "lm", "tag", "seq2seq"}


def test_cli_lists_builtins_and_catalog():
    out = subprocess.run([sys.executable, "-m", "workbench", "datasets"], check=True,
                         capture_output=True, text=True).stdout
    for name in builtin.NAMES:
        assert f"  {name} " in out
    for entry in CATALOG.values():
        assert entry.hub_id in out


def test_cli_reports_bad_data_in_one_line_with_exit_code_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "workbench", "data", "--dataset",
                             str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: local path '{tmp_path / 'missing.csv'}' does not exist"]
