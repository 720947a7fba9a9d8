"""The package's layers, read from its source with ``ast``: imports run one way.

Lowest first: the top-level ``config``, ``errors``, ``presets``, ``xla_cache`` and
``allocator``; ``tasks`` (the task families, which ``nn`` and ``data`` consult); ``nn`` and
``data`` (which never import each other); ``infer``; ``train``;
then ``ui`` and ``cli``, which nothing else imports. A module may import its own folder
and any lower layer. Imports inside functions count too (they are how a cycle hides);
only ``if TYPE_CHECKING:`` blocks are skipped.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import workbench

PACKAGE = pathlib.Path(workbench.__file__).parent
BASE = ("config", "errors", "presets", "xla_cache", "allocator")  # top-level modules: one layer
RANK = {"base": 0, "tasks": 1, "nn": 2, "data": 2, "infer": 3, "train": 4, "ui": 5, "cli": 5,
        "__main__": 6}
JAX = ("jax", "jaxlib", "flax", "optax")
WIDGETS = ("ipywidgets", "anywidget")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def imports(name: str) -> list[tuple[str, bool]]:
    """``(imported module, at module level)`` for every import statement in ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # ``from pkg import module`` imports the module
                full = f"{base}.{alias.name}"
                found.append((full if full in MODULES else base, id(node) in top))
    return found


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 1:
        return ""
    return "base" if parts[1] in BASE else parts[1]


def internal(name: str) -> list[str]:
    return sorted({m for m, _ in imports(name) if m.split(".")[0] == "workbench"
                   and m != "workbench"})


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_one_way(name):
    here = layer(name)
    if not here:  # the package's own __init__ loads its names lazily
        assert not internal(name)
        return
    for target in internal(name):
        there = layer(target)
        assert there in RANK, f"{name} imports {target}, which is in no layer"
        if there == here:
            continue
        assert RANK[there] < RANK[here], (
            f"{name} ({here}) imports {target} ({there}): a layer may import only lower ones")


def test_the_imports_between_modules_have_no_cycle():
    graph = {name: set(internal(name)) & set(MODULES) for name in MODULES}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_only_ui_imports_widgets_and_only_its_plots_import_plotly():
    for name in MODULES:
        roots = {m.split(".")[0] for m, _ in imports(name)}
        if roots & set(WIDGETS):
            assert layer(name) == "ui", name
        if "plotly" in roots:
            assert name.startswith("workbench.ui.plots"), name


def test_ui_modules_other_than_the_app_import_no_jax_themselves():
    """The app (``ui.app``, which owns the training thread) is the one UI module that may
    touch JAX itself; the panels and views go through the layers below."""
    for name in MODULES:
        if layer(name) == "ui" and name != "workbench.ui.app":
            roots = {m.split(".")[0] for m, top in imports(name) if top}
            assert not roots & set(JAX), f"{name} imports {sorted(roots & set(JAX))}"


def test_the_app_pulls_in_no_jax_and_the_core_no_widgets():
    """The cell that shows the app imports ``ui.app`` (and with it every panel and plot):
    JAX, Flax and ``datasets`` (~2.5 s of imports on 2 cores) are loaded by its worker
    thread instead, so the widgets appear and answer while they load (``ui/session.py``)."""
    plots = ("import sys, workbench.ui.app\n"
             f"bad = [m for m in {(*JAX, 'datasets', 'sacrebleu')!r} if m in sys.modules]\n"
             "assert not bad, bad\n")
    core = ("import sys, workbench.nn.models, workbench.train.trainer, workbench.cli.main\n"
            f"bad = [m for m in ('plotly', *{WIDGETS!r}) if m in sys.modules]\n"
            "assert not bad, bad\n")
    for code in (plots, core):
        subprocess.run([sys.executable, "-c", code], check=True)


def test_the_layer_table_names_every_folder():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    top = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert folders | (top - set(BASE)) == set(RANK) - {"base"}
    assert set(BASE) <= top
