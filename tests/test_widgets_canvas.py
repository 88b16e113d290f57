"""The canvas widget's Python side (no browser): graph sync rules, catalogue/analysis, files, events."""

from __future__ import annotations

import copy
import json

import pytest
import traitlets

pytest.importorskip("anywidget")

import slamdunk_lab as sd
from slamdunk_lab import GraphError
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
    monkeypatch.setattr(_base, "STATIC_DIR", tmp_path)
    with pytest.raises(BundleMissingError, match="npm ci && npm run build"):
        Canvas(SMALL)
    assert not _base.bundle_available()


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
    assert state["_esm"] == _base.esm_path("canvas").read_text(encoding="utf-8")
    assert state["_css"] == _base.css_path("canvas").read_text(encoding="utf-8")
    assert state["_view"] == "canvas"



def tiny() -> dict:
    return sd.template("gpt2", size="tiny", n_layer=2)


def page_edit(canvas: Canvas, graph: dict) -> None:
    """What the front end does: a state update from the comm (property lock held)."""
    canvas.set_state({"graph": graph})


def with_data(graph: dict, node_id: str, **data) -> dict:
    g = copy.deepcopy(graph)
    for n in g["nodes"]:
        if n["id"] == node_id:
            n["data"].update(data)
    return g


@needs_bundle
def test_canvas_from_template_has_catalog_templates_and_analysis_object():
    c = Canvas(template="gpt2", size="tiny")
    assert c.graph == sd.template("gpt2", size="tiny")
    assert c.notices == []
    assert {b["type"] for b in c.catalog["blocks"]} >= {"tokens", "attention", "logits", "transformerBlock"}
    assert {(t["name"], t["size"]) for t in c.templates} >= {("gpt2", "tiny"), ("llama3", "tiny")}
    a = c.analysis
    assert isinstance(a, sd.Analysis) and a.ok and a.params == 858880
    # the page gets the same analysis as JSON in its own traitlet
    assert c.analysis_json["params"] == a.params and c.analysis_json["ok"] is True
    assert c.analysis_json["nodes"]["attn"]["shape"] == ["B", "T", 128]
    with pytest.raises(TypeError, match="either"):
        Canvas(SMALL, template="gpt2")


@needs_bundle
def test_bad_edit_from_the_page_is_kept_and_analysed():
    c = Canvas(tiny())
    page_edit(c, with_data(c.graph, "attn", n_heads=3))  # 128 is not divisible by 3
    assert c.node("attn")["data"]["n_heads"] == 3
    assert not c.analysis.ok
    issue = next(e for e in c.analysis.errors if e.node_id == "attn")
    assert "3" in issue.message
    assert any(e["node_id"] == "attn" for e in c.analysis_json["errors"])
    page_edit(c, with_data(c.graph, "attn", n_heads=4))
    assert c.analysis.ok and c.analysis_json["ok"] is True


@needs_bundle
def test_graph_assigned_from_python_is_checked_with_parse():
    c = Canvas(tiny())
    broken = copy.deepcopy(c.graph)
    broken["nodes"].append(copy.deepcopy(broken["nodes"][0]))  # duplicate id
    with pytest.raises(GraphError, match="more than one node"):
        c.graph = broken
    assert c.graph == tiny()  # unchanged
    with pytest.raises(traitlets.TraitError):
        c.graph = "not a graph"  # type: ignore[assignment]
    with pytest.raises(GraphError):
        Canvas({"version": 1, "nodes": [{"id": 5, "type": "tokens"}], "edges": []})


@needs_bundle
def test_analysis_is_recomputed_on_design_changes_only(monkeypatch):
    calls = []
    real = canvas_mod.analyze
    monkeypatch.setattr(canvas_mod, "analyze", lambda g: calls.append(1) or real(g))
    c = Canvas(tiny())
    n = len(calls)
    c.graph = with_data(c.graph, "attn", n_heads=8)
    assert len(calls) == n + 1
    c.graph = {**c.graph, "viewport": {"x": 5, "y": 5, "zoom": 0.5}}
    assert len(calls) == n + 1  # only the view moved
    assert c.analysis.ok


@needs_bundle
def test_a_design_edited_in_place_and_assigned_back_reaches_the_page_and_the_analysis():
    """The example notebook's way: take canvas.graph, change a block's setting in place, assign it back."""
    c = Canvas(tiny())
    before = c.analysis.params
    sent = []
    c.observe(lambda change: sent.append(change["new"]), names="graph")  # ipywidgets syncs on this notification
    g = c.graph
    ff = next(n for n in g["nodes"] if n["type"] == "feedForward")
    ff["data"]["activation"] = "swiglu"
    c.graph = g
    assert sent and next(n for n in sent[-1]["nodes"] if n["id"] == ff["id"])["data"]["activation"] == "swiglu"
    assert c.analysis.params > before  # a gated feed-forward has a third matrix
    # and again: the second in-place edit is compared with the design after the first
    g = c.graph
    next(n for n in g["nodes"] if n["id"] == ff["id"])["data"]["activation"] = "gelu"
    c.graph = g
    assert c.analysis.params == before


@needs_bundle
def test_analysis_failure_is_a_notice_not_a_crash(monkeypatch):
    def boom(graph):
        raise RuntimeError("boom")

    monkeypatch.setattr(canvas_mod, "analyze", boom)
    c = Canvas(tiny())
    assert c.analysis_json == {}
    assert any("analysis unavailable: RuntimeError: boom" in n for n in c.notices)


@needs_bundle
def test_on_change_from_page_and_python_errors_become_notices():
    c = Canvas(tiny())
    seen = []
    remove = c.on_change(lambda g: seen.append(next(n for n in g["nodes"] if n["id"] == "attn")["data"]["n_heads"]))

    def broken(graph):
        raise ValueError("my callback failed")

    remove_broken = c.on_change(broken)
    page_edit(c, with_data(c.graph, "attn", n_heads=2))
    c.graph = with_data(c.graph, "attn", n_heads=8)
    assert seen == [2, 8]
    assert c.node("attn")["data"]["n_heads"] == 8  # syncing went on despite the failing callback
    assert any("broken() raised ValueError: my callback failed" in n for n in c.notices)
    remove_broken()
    c.graph = with_data(c.graph, "attn", n_heads=4)
    assert not any("callback" in n for n in c.notices)  # the notice clears once callbacks succeed
    remove()
    before = len(seen)
    c.graph = with_data(c.graph, "attn", n_heads=2)
    assert len(seen) == before
    # a viewport move is not an edit
    c.on_change(lambda g: seen.append("moved"))
    c.graph = {**c.graph, "viewport": {"x": 1, "y": 2, "zoom": 1}}
    assert "moved" not in seen
    with pytest.raises(TypeError):
        c.on_change("nope")  # type: ignore[arg-type]


@needs_bundle
def test_save_and_load_round_trip(tmp_path):
    c = Canvas(tiny())
    c.graph = with_data(c.graph, "attn", n_heads=8)
    path = c.save(tmp_path / "design")
    assert path == tmp_path / "design.json"
    assert json.loads(path.read_text()) == c.graph
    assert [p.name for p in tmp_path.iterdir()] == ["design.json"]  # no temp file left behind
    again = Canvas.load(path)
    assert again.graph == c.graph and again.analysis.ok
    # overwrite in place
    c.graph = with_data(c.graph, "attn", n_heads=4)
    c.save(str(path))
    assert Canvas.load(str(path)).node("attn")["data"]["n_heads"] == 4
    # a model folder saved by sd.save holds graph.json
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "graph.json").write_text(json.dumps(c.graph))
    assert Canvas.load(folder).graph == c.graph


@needs_bundle
def test_load_and_save_refuse_bad_paths_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no design file"):
        Canvas.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GraphError, match="not a JSON graph file"):
        Canvas.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(GraphError, match="list, not a graph"):
        Canvas.load(bad)
    bad.write_text(json.dumps({"version": 1, "nodes": [{"id": "a"}], "edges": []}))
    with pytest.raises(GraphError, match="type"):
        Canvas.load(bad)
    bad.write_text(json.dumps({"version": 2, "nodes": [], "edges": []}))
    with pytest.raises(GraphError, match="version"):
        Canvas.load(bad)
    c = Canvas(tiny())
    with pytest.raises(ValueError, match="NUL"):
        c.save("de\x00sign.json")
    with pytest.raises(ValueError, match="empty"):
        c.save("  ")
    with pytest.raises(IsADirectoryError):
        c.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        c.save(tmp_path / "no" / "such" / "design.json")
    with pytest.raises(TypeError):
        c.save(42)  # type: ignore[arg-type]


@needs_bundle
def test_build_and_to_code_use_the_current_graph():
    c = Canvas(tiny())
    c.graph = with_data(c.graph, "attn", n_heads=8)
    model = c.build()
    assert sum(p.numel() for p in model.parameters()) == c.analysis.params
    assert c.to_code() == sd.to_code(c.graph)


@needs_bundle
def test_export_code_cell_builds_the_model_when_run():
    c = Canvas(tiny())
    code = canvas_mod.code_cell(c.graph)
    assert code.startswith(sd.to_code(c.graph).split('\n\nif __name__ == "__main__":')[0])
    assert code.rstrip().splitlines()[-2] == "model = build_model()"
    assert "__main__" not in code
    ns: dict = {"__name__": "__main__"}
    exec(compile(code, "<cell>", "exec"), ns)  # noqa: S102 - what running the inserted cell does
    assert sum(p.numel() for p in ns["model"].parameters()) == c.analysis.params


@needs_bundle
def test_export_code_through_the_extension_or_the_next_input(monkeypatch):
    c = Canvas(tiny())
    sent, queued = [], []
    monkeypatch.setattr(c, "send", lambda content, buffers=None: sent.append(content))
    monkeypatch.setattr(canvas_mod, "_set_next_input", queued.append)
    # no page with the extension has said hello: IPython's next input (VS Code, Colab, a script)
    code = c.export_code()
    assert queued == [code] and sent == []
    c._dispatch_msg(c, {"type": "hello", "hook": True}, [])
    assert c.export_code() == code
    assert sent[-1]["type"] == "insert_cell" and sent[-1]["code"] == code and len(queued) == 1


@needs_bundle
def test_page_requests_code_and_templates():
    c = Canvas(tiny(), name="my_canvas")
    sent = []
    c.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    # "Export code": one request (anywidget's invoke of the `_export_code` command), one response
    c._handle_custom_msg({"kind": "anywidget-command", "id": "q1", "name": "_export_code", "msg": {}}, [])
    assert sent[-1]["id"] == "q1" and sent[-1]["kind"] == "anywidget-command-response"
    assert sent[-1]["response"] == {"ok": True, "code": canvas_mod.code_cell(c.graph)}
    # an invalid design: the reason instead of code
    page_edit(c, with_data(c.graph, "attn", n_heads=3))
    c._handle_custom_msg({"kind": "anywidget-command", "id": "q2", "name": "_export_code", "msg": {}}, [])
    answer = sent[-1]["response"]
    assert sent[-1]["id"] == "q2" and answer["ok"] is False and answer["error"].startswith("Cannot export code: ")
    assert "n_heads" in answer["error"]
    c._dispatch_msg(c, {"type": "load_template", "name": "llama3", "size": "tiny"}, [])
    assert c.graph == sd.template("llama3", size="tiny") and c.analysis.ok
    c._dispatch_msg(c, {"type": "load_template", "name": "nope", "size": "tiny"}, [])
    assert sent[-1]["type"] == "toast" and "nope" in sent[-1]["message"]
    assert c.graph == sd.template("llama3", size="tiny")


@needs_bundle
def test_events_insert_cell_and_results(monkeypatch):
    c = Canvas(SMALL, live_analysis=False)
    sent = []
    monkeypatch.setattr(c, "send", lambda content, buffers=None: sent.append(content))
    c.insert_cell_below("x = 1", run=True)
    assert sent[-1]["type"] == "insert_cell" and sent[-1]["code"] == "x = 1" and sent[-1]["run"] is True
    nonce = sent[-1]["nonce"]
    c._dispatch_msg(c, {"type": "insert_cell_result", "nonce": nonce, "ok": True, "index": 3}, [])
    assert c.last_insert == {"nonce": nonce, "ok": True, "index": 3}
    c._dispatch_msg(c, {"type": "unknown"}, [])
    c._dispatch_msg(c, "not a dict", [])
    with pytest.raises(TypeError):
        c.insert_cell_below(42)  # type: ignore[arg-type]


@needs_bundle
def test_static_output_carries_a_static_svg_of_the_design():
    g = tiny()
    g["nodes"][0]["id"] = "<tok&ens>"
    for e in g["edges"]:
        e["source"] = "<tok&ens>" if e["source"] == "tokens" else e["source"]
    c = Canvas(g)
    bundle = c._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == c.model_id
    assert "text/html" not in data  # the picture is a second output, updated in place (test_designs_survive)
    page = c._static_data()["text/html"]
    assert "<svg" in page and f"{c.analysis.params:,} parameters" in page
    for n in g["nodes"]:
        if n["id"] != "<tok&ens>":
            assert f'data-node-id="{n["id"]}"' in page
    assert "&lt;tok&amp;ens&gt;" in page and "<tok&ens>" not in page  # escaped
    assert "B×T×128" in page  # edge labels carry shapes
    assert page.count('marker-end="url(#sdl-arrow)"') == len(g["edges"])  # one arrow per edge
    assert "Transformer block × 2" in page


@needs_bundle
def test_import_seed_shows_the_design_and_its_differences_from_the_original(monkeypatch):
    import json
    from pathlib import Path

    body = json.loads((Path(__file__).parent / "data" / "seed" / "original" / "llama2.body.json").read_text())
    c = Canvas()
    sent = []
    monkeypatch.setattr(c, "send", lambda content, buffers=None: sent.append(content))
    notes = c.import_seed(body)
    assert c.graph == sd.graph.from_seed(body)
    assert notes and notes == sd.graph.from_seed(body, report=True)[1]
    (notice,) = [n for n in c.notices if n.startswith("[seed] ")]
    assert f"{len(notes)} difference(s)" in notice and all(n.message[:40] in notice for n in notes)
    toast = next(m for m in sent if m.get("type") == "toast")
    assert str(len(notes)) in toast["message"]
    c.language = "ko"
    c.import_seed(json.dumps(body))  # its JSON text too; the next import replaces the notes
    assert len([n for n in c.notices if n.startswith("[seed] ")]) == 1
    assert "원래 프로젝트" in [m for m in sent if m.get("type") == "toast"][-1]["message"]
    before = c.graph
    with pytest.raises(sd.GraphError):
        c.import_seed({"nodes": [], "edges": []})  # an empty canvas of the original: refused, nothing lost
    assert c.graph == before
