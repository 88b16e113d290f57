"""The package type-checks with mypy at the strictness stated in pyproject.toml ([tool.mypy]).

mypy's default checks plus ``check_untyped_defs`` (the bodies of unannotated functions are checked too), the
pydantic plugin, and unused or redundant ``type: ignore``/casts reported. ``strict_optional`` is off for now:
Optional narrowing is the next step (docs/install.md, "Typing").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_clean_under_mypy(tmp_path):
    pytest.importorskip("mypy")
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "slamdunk_lab"]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Success" in done.stdout
