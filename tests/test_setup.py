"""The set-up files agree with each other: Binder installs what pyproject.toml declares,
and the README shows the two commands that CI runs."""

import pathlib
import tomllib

import yaml

ROOT = pathlib.Path(__file__).parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_binder_pip_list_equals_the_package_dependencies():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(_pyproject()["project"]["dependencies"])
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post


def test_conda_environment_installs_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(line.startswith("-e .") for line in pip)


def test_readme_ci_and_makefile_agree():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "\nlab:" in makefile and "\ntest:" in makefile


def test_dev_extra_has_the_test_tools():
    dev = " ".join(_pyproject()["project"]["optional-dependencies"]["dev"])
    for tool in ("pytest", "nbmake", "hypothesis", "playwright", "ruff"):
        assert tool in dev
