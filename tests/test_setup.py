"""The set-up files agree with each other: Binder installs what pyproject.toml declares,
and the README shows the two commands that CI runs."""

import json
import os
import pathlib
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request

import pytest
import yaml

ROOT = pathlib.Path(__file__).parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _binder_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_binder_pip_list_equals_the_package_dependencies():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert sorted(_binder_pip()) == sorted(_pyproject()["project"]["dependencies"])
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


def _require_index() -> None:
    """Skip when the package index cannot be reached, except under CI (a resolution that
    was never tried must not pass there)."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    try:
        urllib.request.urlopen(f"{index}/pip/", timeout=15).close()
    except (urllib.error.URLError, OSError) as err:
        if os.environ.get("CI"):
            pytest.fail(f"the package index {index} is unreachable from CI: {err}")
        pytest.skip(f"the package index {index} is unreachable ({err}); the Binder "
                    "resolution check needs it")


def test_binder_pip_list_resolves_on_python_3_11():
    """What Binder's pip step would install resolves, with every pin as written: a pip
    dry run against the index (metadata only, nothing installed; ~10-30 s). The running
    interpreter is 3.11 on Linux, as Binder's is (a mismatch skips)."""
    if sys.version_info[:2] != (3, 11) or not sys.platform.startswith("linux"):
        pytest.skip("resolves for this interpreter; Binder's is Python 3.11 on Linux")
    _require_index()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
         "--quiet", "--disable-pip-version-check", "--no-input", "--retries", "2",
         "--timeout", "30", "--report", "-", *_binder_pip()],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"pip cannot resolve binder/environment.yml:\n{done.stderr}"
    resolved = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower():
                item["metadata"]["version"] for item in json.loads(done.stdout)["install"]}
    for requirement in _binder_pip():
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()
        pinned = requirement.partition("==")[2]
        assert name in resolved, f"{name} is missing from the resolution"
        if pinned:
            assert resolved[name] == pinned, f"{name} resolved to {resolved[name]}"
