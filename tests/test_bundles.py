"""One ESM per view: a monitor, playground or runs browser never carries the canvas's React Flow (#10 item 5)."""

from __future__ import annotations

import pytest

import slamdunk_lab as sd
from slamdunk_lab.widgets import _base

pytestmark = pytest.mark.skipif(not _base.bundle_available(), reason="front end not built (npm ci && npm run build)")

#: Strings only React Flow's code and stylesheet contain.
REACT_FLOW_MARKS = ("react-flow__", "xyflow")


@pytest.mark.parametrize("view", ["monitor", "playground", "runs"])
def test_small_views_have_no_react_flow(view):
    esm = _base.esm_path(view).read_text(encoding="utf-8")
    css = _base.css_path(view).read_text(encoding="utf-8")
    for mark in REACT_FLOW_MARKS:
        assert mark not in esm and mark not in css, f"{view}.js carries React Flow ({mark!r})"
    # and no canvas code either: the design editor's styles and palette stay in the canvas bundle
    assert "sdl-palette" not in esm + css


def test_each_widget_ships_its_own_view():
    canvas = sd.Canvas()
    monitor = sd.widgets.Monitor()
    assert canvas._esm == _base.esm_path("canvas").read_text(encoding="utf-8")
    assert monitor._esm == _base.esm_path("monitor").read_text(encoding="utf-8")
    assert "react-flow__" in canvas._esm
    # (what each adds to a saved notebook: bench/bench_bundles.py, figures in docs/benchmarks.md)
