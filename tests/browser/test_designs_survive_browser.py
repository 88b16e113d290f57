"""Browser tests: designs survive (#8 items 1, 9) and locked blocks (#13 item 4), as a student does it.

Edit a design on the canvas, save the notebook, shut the kernel down, reopen: without running anything the
output shows the current design (picture, parameter count); Run All brings the editor back with the same
design, positions included (the canvas is bound to a design file). JupyterLab and Notebook 7.
"""

from __future__ import annotations

import json
import uuid

import pytest

from slamdunk_lab.graph import GRAPH_MIME, from_notebook

from .lab import (
    cell_errors,
    open_notebook,
    run_all_cells,
    run_json,
    screenshot,
    wait_for_widget,
    wait_until,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "window.jupyterapp.shell.currentWidget"


def _canvas_cell(page) -> int:
    return page.evaluate(
        f"() => {NOTEBOOK}.content.widgets.findIndex(c => c.model.sharedModel.getSource().includes('sd.Canvas('))"
    )


def _static_payload(page, index: int):
    """The design the notebook model holds in the canvas cell's static output (None: none yet)."""
    return page.evaluate(
        """([i, mime]) => { const o = window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs;
                for (let k = 0; k < o.length; k++) { const d = o.get(k).data; if (d[mime]) return d[mime]; }
                return null; }""",
        [index, GRAPH_MIME],
    )


def _set_heads(page, node_id: str, heads: int) -> None:
    page.locator(f'.react-flow__node[data-id="{node_id}"]').click()
    field = page.locator('.sdl-canvas .sdl-inspector [data-field="n_heads"] input')
    field.fill(str(heads))
    field.press("Enter")


def _drag(page, node_id: str, dx: float, dy: float) -> None:
    node = page.locator(f'.react-flow__node[data-id="{node_id}"]')
    box = node.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 12
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x + dx * i / 10, y + dy * i / 10)
    page.mouse.up()


def _save_and_shut_down(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(f"() => !{NOTEBOOK}.context.model.dirty", timeout=30_000)
    page.evaluate(f"() => {NOTEBOOK}.sessionContext.shutdown()")
    page.wait_for_function(f"() => !{NOTEBOOK}.sessionContext.session", timeout=30_000)


def _check_reopened(page, server, path: str, params: int, shot: str) -> None:
    """Reopened without running anything: the picture of the current design, not an error."""
    page.goto(server.lab_url(path))
    page.wait_for_function(
        f"(p) => {{ const w = {NOTEBOOK}; return !!w && !!w.context && w.context.path === p && w.context.isReady; }}",
        arg=path,
        timeout=60_000,
    )
    static = page.locator(".sdl-static-canvas").first
    static.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(2_500)  # the widget manager gives up on the missing model after 2 s
    assert f"{params:,} parameters" in static.inner_text()
    assert static.locator("svg.sdl-static-graph").is_visible()
    assert page.locator(".sdl-canvas-root").count() == 0  # no live editor: nothing ran
    for text in ("Error displaying widget", "Loading widget", "Could not"):
        assert not page.get_by_text(text).first.is_visible(), f"'{text}' is shown"
    static.scroll_into_view_if_needed()
    screenshot(page, shot)


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_design_survives_save_close_reopen_and_run_all(page, request, app):
    server = request.getfixturevalue("lab_server" if app == "lab" else "notebook_server")
    path = server.copy_notebook("designs_survive.ipynb", uuid.uuid4().hex[:8])
    design_file = server.root_dir / "designs" / "my_model.json"
    design_file.unlink(missing_ok=True)
    open_notebook(page, server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    wait_for_widget(page)
    page.locator('.react-flow__node[data-id="attn"]').wait_for(state="visible")
    page.locator(".sdl-canvas").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    index = _canvas_cell(page)
    # the static picture is in the output but hidden while the editor renders
    assert page.locator(".sdl-static-canvas").count() == 1
    assert not page.locator(".sdl-static-canvas").first.is_visible()

    # the student edits: 8 heads, and moves the final norm
    _set_heads(page, "attn", 8)
    before = json.loads(design_file.read_text())
    _drag(page, "tokens", 160, 0)
    wait_until(lambda: json.loads(design_file.read_text())["nodes"] != before["nodes"]
               and next(n for n in json.loads(design_file.read_text())["nodes"] if n["id"] == "tokens")["position"]
               != next(n for n in before["nodes"] if n["id"] == "tokens")["position"],
               message="the move saved to the design file")
    wait_until(lambda: next(n for n in json.loads(design_file.read_text())["nodes"] if n["id"] == "attn")
               ["data"]["n_heads"] == 8, message="8 heads saved to the design file")
    edited = run_json(page, "canvas.graph")
    params = run_json(page, "canvas.analysis.params")
    # the notebook's static output follows the design (updated in place, throttled)
    wait_until(lambda: (_static_payload(page, index) or {}).get("graph", {}).get("nodes") == edited["nodes"],
               message="static output updated in place")
    screenshot(page, f"designs-edited-{app}", locator=page.locator(".jp-Cell").nth(index))

    _save_and_shut_down(page)
    # a grader reads the saved notebook with no browser and no kernel
    designs = from_notebook(server.root_dir / path)
    assert len(designs) == 1 and designs[0].graph["nodes"] == edited["nodes"] and designs[0].params == params
    assert designs[0].file == "designs/my_model.json"

    _check_reopened(page, server, path, params, f"designs-reopened-{app}")

    # Run All: the editor comes back with the same design, positions included
    page.wait_for_function(
        f"() => {{ const s = {NOTEBOOK}.sessionContext.session; return !!s && !!s.kernel && s.kernel.status === 'idle'; }}",
        timeout=120_000,
    )
    run_all_cells(page)
    assert cell_errors(page) == []
    wait_for_widget(page)
    page.locator('.react-flow__node[data-id="tokens"]').wait_for(state="visible")
    again = run_json(page, "canvas.graph")
    assert again["nodes"] == edited["nodes"]
    assert not page.locator(".sdl-static-canvas").first.is_visible()
    page.locator(".sdl-canvas").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, f"designs-rerun-{app}", locator=page.locator(".jp-Cell").nth(_canvas_cell(page)))
    ours = [e for e in page.sdl_errors if "notebook_core." not in e]
    assert ours == []


def test_locked_blocks_cannot_be_deleted_or_edited(page, lab_server):
    path = lab_server.copy_notebook("canvas_locked.ipynb", uuid.uuid4().hex[:8])
    (lab_server.root_dir / "designs" / "exercise.json").unlink(missing_ok=True)
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    wait_for_widget(page)
    canvas = page.locator(".sdl-canvas").first
    attn = page.locator('.react-flow__node[data-id="attn"]')
    attn.wait_for(state="visible")
    canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
    # shown locked
    assert attn.locator(".sdl-node-lock").is_visible()
    assert page.locator('.react-flow__node[data-id="tok_emb"] .sdl-node-lock').is_visible()
    assert page.locator('.react-flow__node[data-id="ln_1"] .sdl-node-lock').count() == 0
    # the inspector is read-only
    attn.click()
    assert canvas.locator(".sdl-locked-note").is_visible()
    assert canvas.locator('.sdl-inspector [data-field="n_heads"] input').is_disabled()
    screenshot(page, "canvas-locked-blocks", locator=canvas)
    # Delete does nothing to a locked block
    page.keyboard.press("Delete")
    page.wait_for_timeout(500)
    assert attn.is_visible()
    # deleting the transformer block would take the locked attention with it: refused, with a reason
    page.locator('.react-flow__node[data-id="blocks"] .sdl-group-title').click()
    page.keyboard.press("Delete")
    toast = canvas.locator(".sdl-toast")
    toast.wait_for(timeout=5_000)
    assert "Locked blocks cannot be deleted or changed: attn" in toast.inner_text()
    assert page.locator('.react-flow__node[data-id="blocks"]').is_visible() and attn.is_visible()
    screenshot(page, "canvas-locked-refused", locator=canvas)
    graph = run_json(page, "exercise.graph")
    assert {"blocks", "attn", "tok_emb"} <= {n["id"] for n in graph["nodes"]}
    assert run_json(page, "exercise.locked") == ["tok_emb", "attn"]
    # an unlocked block still edits
    page.locator('.react-flow__node[data-id="mlp"]').click()
    field = canvas.locator('.sdl-inspector [data-field="hidden"] input')
    if field.count():
        field.fill("320")
        field.press("Enter")
        wait_until(lambda: run_json(page, "exercise.node('mlp')['data'].get('hidden')") == 320,
                   message="unlocked block edited")
    assert page.sdl_errors == []


def test_save_as_and_open_buttons(page, lab_server):
    path = lab_server.copy_notebook("canvas_template.ipynb", uuid.uuid4().hex[:8])
    tag = uuid.uuid4().hex[:6]
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    wait_for_widget(page)
    canvas = page.locator(".sdl-canvas").first
    canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
    assert canvas.locator(".sdl-file-name").inner_text() == "no file"
    # Save without a file asks for a name
    canvas.locator('[data-action="save"]').click()
    name = canvas.locator('[data-field="file-name"]')
    name.fill(f"designs/mine-{tag}.json")
    screenshot(page, "canvas-save-as", locator=canvas)
    canvas.locator('[data-action="file-ok"]').click()
    canvas.locator(".sdl-toast").wait_for(timeout=15_000)
    assert f"Saved to designs/mine-{tag}.json" in canvas.locator(".sdl-toast").inner_text()
    saved = lab_server.root_dir / "designs" / f"mine-{tag}.json"
    assert json.loads(saved.read_text()) == run_json(page, "canvas.graph")
    wait_until(lambda: canvas.locator(".sdl-file-name").inner_text() == f"designs/mine-{tag}.json",
               message="file name shown")
    # another design file, then Open it from the page
    run_json(page, f"sd_other := __import__('slamdunk_lab').Canvas('designs/other-{tag}.json', template='llama3', "
                   "size='tiny').file_label")
    canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
    canvas.locator('[data-action="open"]').click()
    choice = canvas.locator('[data-field="design-file"]')
    choice.wait_for(timeout=15_000)
    choice.select_option(f"designs/other-{tag}.json")
    screenshot(page, "canvas-open", locator=canvas)
    canvas.locator('[data-action="file-ok"]').click()
    wait_until(lambda: canvas.locator(".sdl-file-name").inner_text() == f"designs/other-{tag}.json",
               message="opened file shown")
    assert run_json(page, "canvas.graph") == json.loads((lab_server.root_dir / "designs" / f"other-{tag}.json")
                                                         .read_text())
    assert page.locator('.react-flow__node[data-id="attn"]').first.is_visible()
    assert page.sdl_errors == []


def test_monitor_playground_and_analysis_leave_pictures(page, lab_server):
    path = lab_server.copy_notebook("static_outputs.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    wait_for_widget(page, ".sdl-monitor-root, .sdl-root")
    # live: the widgets render and their pictures are hidden; the analysis is an HTML table
    assert not page.locator(".sdl-static-monitor").first.is_visible()
    assert page.locator(".jp-OutputArea-output table").first.is_visible()
    page.wait_for_timeout(500)
    _save_and_shut_down(page)
    page.goto(lab_server.lab_url(path))
    page.wait_for_function(
        f"(p) => {{ const w = {NOTEBOOK}; return !!w && !!w.context && w.context.path === p && w.context.isReady; }}",
        arg=path,
        timeout=60_000,
    )
    monitor = page.locator(".sdl-static-monitor").first
    monitor.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(2_500)
    assert "finished at step 60" in monitor.inner_text() and "what light through yonder" in monitor.inner_text()
    assert monitor.locator('path[data-series="loss"]').count() == 1
    assert monitor.locator('path[data-series="val_loss"]').count() == 1
    playground = page.locator(".sdl-static-playground").first
    assert playground.is_visible() and "HAMLET: and the rest is silence." in playground.inner_text()
    for text in ("Error displaying widget", "Loading widget"):
        assert not page.get_by_text(text).first.is_visible(), f"'{text}' is shown"
    monitor.scroll_into_view_if_needed()
    screenshot(page, "static-outputs-reopened")


def test_html_export_shows_the_pictures(page, tmp_path):
    """An HTML export of an executed notebook (nbconvert, no widget state) opened in Chromium: the canvas's
    picture and the monitor's curves show; the widget outputs that cannot render are hidden."""
    import os
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import slamdunk_lab as sd\ncanvas = sd.Canvas(template='gpt2', size='tiny', n_layer=2)\ncanvas",
        "from slamdunk_lab.widgets import Monitor\nmon = Monitor(title='loop')\nmon",
        "for s in range(30):\n    mon.log(s, loss=3 - s / 20)\nmon.finish('finished at step 30')",
    )]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    old = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), old]))
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = old
    html, _ = HTMLExporter().from_notebook_node(nb)
    (tmp_path / "export.html").write_text(html, encoding="utf-8")
    page.goto((tmp_path / "export.html").as_uri())
    static = page.locator(".sdl-static-canvas")
    static.wait_for(state="visible", timeout=10_000)
    assert "462,336 parameters" in static.inner_text() and static.locator("svg.sdl-static-graph").is_visible()
    assert "Transformer block × 2" in static.inner_text()
    monitor = page.locator(".sdl-static-monitor")
    assert monitor.is_visible() and "finished at step 30" in monitor.inner_text()
    # the widget outputs before each picture render nothing here, and are hidden
    hidden = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-child')]
        .filter(c => c.nextElementSibling && c.nextElementSibling.querySelector('.sdl-static'))
        .map(c => getComputedStyle(c).display)""")
    assert hidden == ["none", "none"]
    static.scroll_into_view_if_needed()
    screenshot(page, "html-export-pictures")
