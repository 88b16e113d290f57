"""What a user installs: one version, ranges not pins, a licence and notices in the wheel, type information."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import slamdunk_lab as sd
from slamdunk_lab._version import __version__

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_version_is_written_once_and_everything_reads_it():
    assert sd.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", __version__)
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "slamdunk_lab/_version.py"
    assert json.loads((REPO / "package.json").read_text())["version"] == __version__, \
        "package.json's version must equal slamdunk_lab/_version.py"
    built = REPO / "slamdunk_lab/labextension/package.json"
    if built.exists():
        assert json.loads(built.read_text())["version"] == __version__
    # modules take the version from _version.py, never from the package root (which imports them)
    for module in (REPO / "slamdunk_lab").rglob("*.py"):
        assert not re.search(r"from \.+ import __version__", module.read_text()), module


def test_requirements_are_ranges_and_exact_versions_live_in_the_constraints_file():
    deps = PYPROJECT["project"]["dependencies"]
    pinned = [d for d in deps if "==" in d]
    assert not pinned, f"a library declares ranges, not pins: {pinned}"
    assert "torch>=2.4" in deps
    assert any(d.startswith("mlflow-skinny>=") for d in deps) and not any(d.startswith("mlflow>") for d in deps)
    unbounded = [d for d in deps if not re.search(r">=|~=", d)]
    assert not unbounded, f"every requirement has a tested lower bound: {unbounded}"
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {re.split(r"[<>=!~]", d)[0] for d in extras["lab"]} == {"jupyterlab", "notebook", "ipykernel", "matplotlib"}
    assert {re.split(r"[<>=!~\[]", d)[0] for d in extras["serve"]} >= {"celery", "redis", "fastapi", "uvicorn"}
    constraints = (REPO / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0+cpu" in constraints, "CI must never resolve a CUDA build of torch"
    assert "-c constraints.txt" in (REPO / "Makefile").read_text()


def test_the_readme_starts_with_pip_install_beside_the_two_make_commands():
    head = (REPO / "README.md").read_text()[:1500]
    assert 'pip install "slamdunk-lab[lab]"' in head
    assert "make lab" in head and "make test" in head


def test_licence_notices_and_type_marker_are_in_the_tree():
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert (REPO / "slamdunk_lab/py.typed").exists()
    assert (REPO / "CHANGELOG.md").read_text().startswith("# Changelog")
    notices = REPO / "slamdunk_lab/static/THIRD_PARTY_NOTICES.txt"
    if not notices.exists():
        pytest.skip("the front end is not built")
    text = notices.read_text()
    for package in ("react ", "react-dom ", "@xyflow/react ", "@xyflow/system ", "zustand "):
        assert f"\n{package}" in text, f"{package.strip()} is bundled but has no notice"
    assert text.count("Permission is hereby granted") >= 5  # the MIT texts themselves, not only names


@pytest.mark.slow
def test_the_wheel_carries_the_licence_notices_and_py_typed(tmp_path):
    if not (REPO / "slamdunk_lab/static/canvas.js").exists():
        pytest.skip("the front end is not built")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("slamdunk_lab-*.whl"))
    assert wheel.name.startswith(f"slamdunk_lab-{__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"slamdunk_lab-{__version__}.dist-info/licenses/LICENSE" in names
    assert "slamdunk_lab/py.typed" in names
    assert "slamdunk_lab/static/THIRD_PARTY_NOTICES.txt" in names
    assert any(n.endswith("labextensions/slamdunk-lab/package.json") for n in names)
    for view in ("canvas", "monitor", "playground", "runs"):  # one ESM per widget view
        assert f"slamdunk_lab/static/{view}.js" in names, f"{view}.js is not in the wheel"
    meta = zipfile.ZipFile(wheel).read(f"slamdunk_lab-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta
    assert "Requires-Dist: torch>=2.4" in meta
    assert "Provides-Extra: lab" in meta and "Provides-Extra: serve" in meta
