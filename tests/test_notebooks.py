"""Notebooks are committed without outputs (they are executed by ``pytest --nbmake``,
which ``make test`` runs over ``notebooks/`` at smoke size)."""

import json
import pathlib

import nbformat
import pytest

NOTEBOOKS = sorted(pathlib.Path(__file__).parent.parent.glob("notebooks/*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name == "00_quickstart.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    nbformat.validate(nbformat.from_dict(nb))  # a valid v4.5 notebook: every cell has an id
    assert all("id" in cell for cell in nb["cells"]), f"{path.name}: run nbformat normalize()"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
