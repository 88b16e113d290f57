"""Designs survive (#8 item 1) and locked blocks (#13 item 4), without a browser.

A canvas bound to a design file loads it and saves every change; a canvas shown in a notebook leaves its design
(picture + JSON) in a second output updated in place, which ``sd.graph.from_notebook`` reads back from the saved
notebook; locked blocks cannot be deleted or changed from the page, and a grader can check them. The notebook
tests run a real kernel (nbclient) and a real HTML export (nbconvert).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("anywidget")

import slamdunk_lab as sd
from slamdunk_lab import GraphError
from slamdunk_lab.graph import GRAPH_MIME, from_notebook, locked_changes
from slamdunk_lab.widgets import Canvas, _base

pytestmark = pytest.mark.skipif(not _base.bundle_available(), reason="front end not built (npm ci && npm run build)")


def tiny() -> dict:
    return sd.template("gpt2", size="tiny")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def node(graph: dict, nid: str) -> dict:
    return next(n for n in graph["nodes"] if n["id"] == nid)


# ---------------------------------------------------------------------------------------------- design files
def test_a_bound_canvas_creates_its_file_then_loads_it_and_saves_every_change(workdir):
    c = Canvas("designs/my_model.json", template="gpt2", size="tiny")
    file = workdir / "designs" / "my_model.json"
    assert c.file == file and c.file_label == "designs/my_model.json"
    assert json.loads(file.read_text()) == c.graph  # the folder was created and the first design written

    g = copy.deepcopy(c.graph)
    node(g, "attn")["data"]["n_heads"] = 8
    node(g, "attn")["position"] = {"x": 333.0, "y": 444.0}
    c.graph = g
    saved = json.loads(file.read_text())
    assert node(saved, "attn")["data"]["n_heads"] == 8 and node(saved, "attn")["position"] == {"x": 333.0, "y": 444.0}
    g = copy.deepcopy(c.graph)
    g["viewport"] = {"x": 10.0, "y": 20.0, "zoom": 0.5}
    c.graph = g  # only the view moved: still saved (reopening shows the same view)
    assert json.loads(file.read_text())["viewport"] == {"x": 10.0, "y": 20.0, "zoom": 0.5}
    assert [p.name for p in file.parent.iterdir()] == ["my_model.json"]  # atomic writes leave no temporaries

    # Run All: the same line loads the file; the template only starts a new file
    again = Canvas("designs/my_model.json", template="llama3", size="tiny")
    assert again.graph == c.graph
    assert Canvas(file="designs/my_model.json").graph == c.graph
    # a named template takes its settings here too; anything else unknown is refused
    assert Canvas(template="gpt2", size="tiny", n_layer=2).analysis.n_layers == 2
    with pytest.raises(TypeError, match="n_layer"):
        Canvas(tiny(), n_layer=2)


def test_a_broken_design_file_is_refused_and_left_as_it_was(workdir):
    (workdir / "bad.json").write_text('{"nodes": [{"id": 3}]}')
    with pytest.raises(GraphError, match="in 'bad.json': node #0: 'id' is invalid"):
        Canvas("bad.json", template="gpt2", size="tiny")
    assert (workdir / "bad.json").read_text() == '{"nodes": [{"id": 3}]}'
    (workdir / "half.json").write_text('{"nodes": [')
    with pytest.raises(GraphError, match="half.json"):
        Canvas("half.json")
    with pytest.raises(TypeError, match="once"):
        Canvas("a.json", file="b.json")


def test_save_save_as_and_open_file(workdir):
    c = Canvas(tiny())
    assert c.file is None and c.file_label == ""
    with pytest.raises(ValueError, match="no design file"):
        c.save()
    copy_path = c.save("copy")  # .json added; the canvas stays unbound
    assert copy_path == workdir / "copy.json" and c.file is None
    with pytest.raises(FileExistsError, match="copy.json"):
        c.save_as("copy.json")
    bound = c.save_as("designs/v1.json")
    assert c.file == bound and c.file_label == "designs/v1.json"
    c.set_vocab(65)
    assert node(json.loads(bound.read_text()), "tok_emb")["data"]["vocab_size"] == 65

    other = Canvas("other.json", template="llama3", size="tiny")
    c.open_file("other.json")
    assert c.graph == other.graph and c.file_label == "other.json"
    assert node(json.loads(bound.read_text()), "tok_emb")["data"]["vocab_size"] == 65  # v1 kept its design


def test_the_pages_file_commands(workdir):
    c = Canvas(tiny(), name="mine")
    answer, _ = c._save_design({}, [])
    assert answer["ok"] is False and "no design file" in answer["error"]
    answer, _ = c._save_design({"path": "designs/mine.json"}, [])
    assert answer == {"ok": True, "file": "designs/mine.json"} and (workdir / "designs/mine.json").is_file()
    Canvas("designs/other.json", template="llama3", size="tiny")
    (workdir / "notes.json").write_text('{"not": "a design"}')
    (workdir / ".hidden").mkdir()
    (workdir / ".hidden" / "x.json").write_text('{"nodes": []}')
    answer, _ = c._list_designs({}, [])
    assert answer == {"ok": True, "files": ["designs/mine.json", "designs/other.json"]}
    answer, _ = c._save_design({"path": "designs/other.json"}, [])
    assert answer["ok"] is False and answer["exists"] is True  # the page asks before replacing
    answer, _ = c._save_design({"path": "designs/other.json", "overwrite": True}, [])
    assert answer["ok"] is True and c.file_label == "designs/other.json"
    answer, _ = c._open_design({"path": "designs/mine.json"}, [])
    assert answer == {"ok": True, "file": "designs/mine.json"}
    answer, _ = c._open_design({"path": "nowhere.json"}, [])
    assert answer["ok"] is False and "nowhere.json" in answer["error"]


# ---------------------------------------------------------------------------------------------- locked blocks
def test_locked_blocks_refuse_page_edits_and_put_the_page_back(workdir):
    c = Canvas("ex1.json", template="gpt2", size="tiny", locked=["tok_emb", "attn"])
    assert c.locked == ["tok_emb", "attn"]
    assert node(json.loads((workdir / "ex1.json").read_text()), "attn")["locked"] is True
    sent: list = []
    c._send = lambda msg, buffers=None: sent.append(msg)  # the comm: what reaches the page

    def from_page(graph: dict) -> None:
        sent.clear()
        c.set_state({"graph": graph})  # what ipywidgets does with an edit from the page

    # moving a locked block is fine
    g = copy.deepcopy(c.graph)
    node(g, "attn")["position"] = {"x": 500.0, "y": 60.0}
    from_page(g)
    assert node(c.graph, "attn")["position"] == {"x": 500.0, "y": 60.0}
    # changing its settings, deleting it or unlocking it is refused; the page gets the design back and a reason
    for change in (lambda g: node(g, "attn")["data"].update(n_heads=8),
                   lambda g: g.update(nodes=[n for n in g["nodes"] if n["id"] != "tok_emb"]),
                   lambda g: node(g, "attn").pop("locked"),
                   lambda g: node(g, "attn").update(parentId=None)):
        before = copy.deepcopy(c.graph)
        g = copy.deepcopy(before)
        change(g)
        from_page(g)
        assert c.graph == before
        states = [m["state"]["graph"] for m in sent if m.get("method") == "update" and "graph" in m["state"]]
        assert states and states[-1] == before, "the page is put back"
        toast = next(m["content"] for m in sent if m.get("method") == "custom")
        assert toast["type"] == "toast" and toast["message"].startswith("Refused: the locked block")
        assert any(n.startswith("[locked] Refused") for n in c.notices)
    assert json.loads((workdir / "ex1.json").read_text()) == c.graph
    # editing an unlocked block still works
    g = copy.deepcopy(c.graph)
    node(g, "mlp")["data"]["hidden"] = 256
    from_page(g)
    assert node(c.graph, "mlp")["data"]["hidden"] == 256 and not any("[locked]" in n for n in c.notices)
    # Open would swap the exercise's design: refused
    answer, _ = c._open_design({"path": "ex1.json"}, [])
    assert answer["ok"] is False and "locked" in answer["error"]
    # in Korean
    c.language = "ko"
    g = copy.deepcopy(c.graph)
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "attn"]
    from_page(g)
    toast = next(m["content"] for m in sent if m.get("method") == "custom")
    assert toast["message"] == "거부했습니다: 잠긴 블록(attn)은 지우거나 바꿀 수 없습니다"
    assert "잠긴 블록" in c._open_design({"path": "ex1.json"}, [])[0]["error"]


def test_a_design_file_that_lost_its_locked_blocks_gets_them_back(workdir):
    template = tiny()
    Canvas("ex2.json", template=template, locked=["tok_emb", "lm_head"])
    g = json.loads((workdir / "ex2.json").read_text())
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "tok_emb"]
    node(g, "lm_head")["data"]["bias"] = True
    node(g, "lm_head").pop("locked")
    node(g, "lm_head")["position"] = {"x": 900.0, "y": 900.0}
    (workdir / "ex2.json").write_text(json.dumps(g))
    c = Canvas("ex2.json", template=template, locked=["tok_emb", "lm_head"])
    assert sorted(c.locked) == ["lm_head", "tok_emb"]
    assert node(c.graph, "lm_head")["data"] == node(template, "lm_head")["data"]
    assert node(c.graph, "lm_head")["position"] == {"x": 900.0, "y": 900.0}  # the student's place is kept
    assert any("restored the locked block(s) lm_head, tok_emb" in n for n in c.notices)
    with pytest.raises(ValueError, match="nope"):
        Canvas(template=template, locked=["nope"])


def test_locked_changes_for_graders():
    template = sd.graph.to_json(sd.graph.parse(tiny())[0])
    for n in template["nodes"]:
        if n["id"] in ("tok_emb", "attn"):
            n["locked"] = True
    assert sd.graph.locked_ids(template) == ["tok_emb", "attn"]
    student = copy.deepcopy(template)
    for n in student["nodes"]:
        n.pop("locked", None)  # flags removed in the file: the content is what counts
        n["position"] = {"x": 1.0, "y": 2.0}
    assert locked_changes(student, template) == []
    node(student, "attn")["data"]["n_heads"] = 2
    student["nodes"] = [n for n in student["nodes"] if n["id"] != "tok_emb"]
    issues = locked_changes(student, template)
    assert [(i.node_id, i.field) for i in issues] == [("tok_emb", None), ("attn", "n_heads")]
    assert "deleted" in issues[0].message and "n_heads=4, got 2" in issues[1].message
    assert sd.graph.parse(template)[0].nodes[1].locked is True  # the schema keeps the flag
    assert sd.graph.to_json(sd.graph.parse(template)[0]) == template


# ---------------------------------------------------------------------------------------------- the notebook
def _notebook(cells: list[str]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _execute(nb, cwd: Path):
    from nbclient import NotebookClient

    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env_path]))
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    return nb


def test_a_saved_notebook_holds_the_current_design_and_a_picture(workdir):
    import nbformat

    pytest.importorskip("nbclient")
    nb = _notebook([
        "import slamdunk_lab as sd, copy\ncanvas = sd.Canvas(template='gpt2', size='tiny')\ncanvas",
        # an edit after the display (as the page makes them): the display's picture is updated in place
        ("g = copy.deepcopy(canvas.graph)\nnext(n for n in g['nodes'] if n['id'] == 'attn')['data']['n_heads'] = 8\n"
         "next(n for n in g['nodes'] if n['id'] == 'attn')['position'] = {'x': 321.0, 'y': 99.0}\n"
         "canvas.graph = g\ncanvas.refresh_static(now=True)"),
        ("exercise = sd.Canvas('designs/ex.json', template='gpt2', size='tiny', locked=['tok_emb'], name='exercise')\n"
         "exercise"),
    ])
    _execute(nb, workdir)
    path = workdir / "assignment.ipynb"
    nbformat.write(nb, path)

    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data", "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in outputs[0].data
    static = outputs[1].data
    assert set(static) >= {"text/html", "text/plain", GRAPH_MIME}
    assert 'class="sdl-static sdl-static-canvas"' in static["text/html"] and "<svg" in static["text/html"]

    designs = from_notebook(path)
    assert [d.name for d in designs] == ["canvas", "exercise"]
    first = designs[0]
    attn = node(first.graph, "attn")
    assert attn["data"]["n_heads"] == 8 and attn["position"] == {"x": 321.0, "y": 99.0}  # the *current* design
    assert first.ok is True and first.params == sd.analyze(first.graph).params and first.cell == 0
    assert f"{first.params:,} parameters" in static["text/html"]
    assert designs[1].file == "designs/ex.json" and designs[1].locked == ["tok_emb"]
    assert from_notebook(path, name="exercise")[0].graph == json.loads((workdir / "designs/ex.json").read_text())
    assert sd.check.builds(first).passed  # a grader's check reads it directly

    # an HTML export (no kernel, no widget state) shows the picture; the style hides the dead widget output
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    assert 'class="sdl-static sdl-static-canvas"' in page and "<svg" in page
    assert f"{first.params:,} parameters" in page and ":not(:has(.sdl-root))" in page


def test_from_notebook_refuses_what_is_not_a_notebook(tmp_path):
    with pytest.raises(FileNotFoundError):
        from_notebook(tmp_path / "none.ipynb")
    (tmp_path / "x.ipynb").write_text("[1, 2")
    with pytest.raises(ValueError, match="not a notebook"):
        from_notebook(tmp_path / "x.ipynb")
    (tmp_path / "y.ipynb").write_text(json.dumps({"cells": [{"outputs": [{"data": {GRAPH_MIME: "{bad"}}]}]}))
    assert from_notebook(tmp_path / "y.ipynb") == []


def test_a_grader_checks_the_locked_blocks_of_a_notebooks_design(workdir):
    template = tiny()
    c = Canvas("ex3.json", template=template, locked=["tok_emb", "lm_head"])
    teacher = sd.graph.to_json(sd.graph.parse(c.graph)[0])  # the exercise's template, locks included
    assert sd.check.locked_unchanged(c, teacher).passed
    student = copy.deepcopy(c.graph)
    node(student, "lm_head")["data"]["bias"] = True
    result = sd.check.locked_unchanged(student, teacher)
    assert not result.passed and result.details["changed"] == ["lm_head"] and "bias" in result.message
    with pytest.raises(sd.check.CheckFailed):
        result.require()
