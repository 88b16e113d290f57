"""The canvas widget's Python side (no browser): graph sync rules, catalogue/analysis, events."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("anywidget")

from slamdunk_lab.widgets import BundleMissingError, Canvas, _base, clean_graph, empty_graph
from slamdunk_lab.widgets import canvas as canvas_mod

needs_bundle = pytest.mark.skipif(
    not _base.bundle_available(), reason="front end not built (npm ci && npm run build)"
)

SMALL = {
    "version": 1,
    "nodes": [
        {"id": "tokens", "type": "tokens", "position": {"x": 0, "y": 0}, "data": {"context": 64}},
        {"id": "blk", "type": "transformerBlock", "position": {"x": 0, "y": 100}, "data": {"repeat": 2}},
        {"id": "ln", "type": "layerNorm", "position": {"x": 20, "y": 40}, "data": {}, "parentId": "blk"},
        {"id": "logits", "type": "logits", "position": {"x": 0, "y": 400}, "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "tokens", "target": "ln", "sourceHandle": "out", "targetHandle": "in"},
        {"id": "e2", "source": "ln", "target": "logits", "sourceHandle": "out", "targetHandle": "in"},
    ],
    "viewport": {"x": 0, "y": 0, "zoom": 1},
}


def test_clean_graph_strips_react_flow_fields_and_copies():
    g = copy.deepcopy(SMALL)
    g["nodes"][0].update(measured={"width": 1, "height": 2}, selected=True, dragging=False, width=3, height=4)
    g["edges"][0]["selected"] = True
    out = clean_graph(g)
    assert out["nodes"][0] == SMALL["nodes"][0]
    assert out["edges"][0] == SMALL["edges"][0]
    out["nodes"][0]["data"]["context"] = 1
    assert g["nodes"][0]["data"]["context"] == 64  # deep copy


def test_clean_graph_rejects_other_versions_and_types():
    with pytest.raises(ValueError, match="version"):
        clean_graph({"version": 2, "nodes": [], "edges": []})
    with pytest.raises(TypeError):
        clean_graph([])  # type: ignore[arg-type]
    assert clean_graph({"nodes": []}) == empty_graph()


def test_missing_bundle_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(_base, "ESM_PATH", tmp_path / "widgets.js")
    monkeypatch.setattr(_base, "CSS_PATH", tmp_path / "widgets.css")
    with pytest.raises(BundleMissingError, match="npm ci && npm run build"):
        Canvas(SMALL)


@needs_bundle
def test_canvas_syncs_cleaned_graph_and_anchor():
    c = Canvas(SMALL, live_analysis=False)
    assert c._view == "canvas"
    assert c._anchor == c.model_id
    assert c.graph == SMALL
    assert c.node("ln")["parentId"] == "blk"
    c.graph = {**SMALL, "nodes": [{**SMALL["nodes"][0], "measured": {"width": 5}}]}
    assert "measured" not in c.graph["nodes"][0]
    with pytest.raises(KeyError):
        c.node("nope")
    state = c.get_state()
    assert state["_esm"] == _base.ESM_PATH.read_text(encoding="utf-8")
    assert state["_css"] == _base.CSS_PATH.read_text(encoding="utf-8")
    assert state["_view"] == "canvas"


@needs_bundle
def test_canvas_loads_catalog_and_analysis_or_says_why(monkeypatch):
    calls = []
    monkeypatch.setattr(
        canvas_mod,
        "_library_function",
        lambda name: {
            "catalog": lambda: {"version": 1, "blocks": [], "categories": []},
            "analyze": lambda g: calls.append(g) or {"ok": True, "params": 1, "errors": []},
        }[name],
    )
    c = Canvas(SMALL)
    assert c.catalog == {"version": 1, "blocks": [], "categories": []}
    assert c.analysis["params"] == 1 and c.notices == []
    n = len(calls)
    c.graph = {**SMALL, "nodes": SMALL["nodes"][:1]}
    assert len(calls) == n + 1  # re-analysed on every change of nodes or edges
    c.graph = {**c.graph, "viewport": {"x": 5, "y": 5, "zoom": 0.5}}
    assert len(calls) == n + 1  # ... but not when only the viewport moved

    def broken(name):
        def fail(*a):
            raise RuntimeError("boom")

        return fail

    monkeypatch.setattr(canvas_mod, "_library_function", broken)
    c2 = Canvas(SMALL)
    assert c2.catalog == {} and c2.analysis == {}
    assert any("catalogue unavailable: boom" in n for n in c2.notices)
    assert any("analysis unavailable: boom" in n for n in c2.notices)


@needs_bundle
def test_library_function_absent_is_a_clear_error(monkeypatch):
    import slamdunk_lab

    monkeypatch.delattr(slamdunk_lab, "analyze", raising=False)
    with pytest.raises(RuntimeError, match=r"slamdunk_lab\.analyze\(\) is not available"):
        canvas_mod._library_function("analyze")


@needs_bundle
def test_events_insert_cell_and_request_code(monkeypatch):
    c = Canvas(SMALL, live_analysis=False, name="my_canvas")
    sent = []
    monkeypatch.setattr(c, "send", lambda content, buffers=None: sent.append(content))
    c.insert_cell_below("x = 1", run=True)
    assert sent[-1]["type"] == "insert_cell" and sent[-1]["code"] == "x = 1" and sent[-1]["run"] is True
    nonce = sent[-1]["nonce"]
    # the page asks for code → Python answers with an insert_cell event
    c._dispatch_msg(c, {"type": "request_code"}, [])
    assert sent[-1]["type"] == "insert_cell" and sent[-1]["code"].startswith("graph = my_canvas.graph")
    assert sent[-1]["nonce"] > nonce
    c._dispatch_msg(c, {"type": "insert_cell_result", "nonce": nonce, "ok": True, "index": 3}, [])
    assert c.last_insert == {"nonce": nonce, "ok": True, "index": 3}
    c._dispatch_msg(c, {"type": "unknown"}, [])
    c._dispatch_msg(c, "not a dict", [])
    with pytest.raises(TypeError):
        c.insert_cell_below(42)  # type: ignore[arg-type]


@needs_bundle
def test_template_uses_the_library(monkeypatch):
    seen = {}

    def template(name, size=None):
        seen.update(name=name, size=size)
        return SMALL

    monkeypatch.setattr(
        canvas_mod, "_library_function", lambda name: template if name == "template" else (lambda *a: {})
    )
    c = Canvas(template="gpt2", size="tiny")
    assert seen == {"name": "gpt2", "size": "tiny"} and c.graph == SMALL
    with pytest.raises(TypeError, match="either"):
        Canvas(SMALL, template="gpt2")


@needs_bundle
def test_real_library_end_to_end_if_present():
    import slamdunk_lab as sd

    if not all(callable(getattr(sd, n, None)) for n in ("template", "catalog", "analyze")):
        pytest.skip("slamdunk_lab.template/catalog/analyze not available yet")
    c = Canvas(template="gpt2", size="tiny")
    assert c.notices == []
    assert {b["type"] for b in c.catalog["blocks"]} >= {"tokens", "attention", "logits", "transformerBlock"}
    assert c.analysis["ok"] is True and c.analysis["params"] > 0
