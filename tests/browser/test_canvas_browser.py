"""Browser tests: the canvas widget and the JupyterLab extension in a real JupyterLab."""

from __future__ import annotations

import re
import uuid

import pytest

from .lab import (
    cell_count,
    cell_errors,
    cell_sources,
    open_lab,
    open_notebook,
    run_all_cells,
    run_code,
    run_json,
    screenshot,
    wait_for_widget,
    wait_kernel_idle,
    wait_until,
)

pytestmark = pytest.mark.browser


def _open_canvas(page, lab_server, name="canvas_skeleton.ipynb"):
    path = lab_server.copy_notebook(name, uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    root = wait_for_widget(page)
    page.locator(".react-flow__node").first.wait_for(state="visible")
    # mouse gestures need the whole canvas on screen
    page.locator(".sdl-canvas").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(200)
    return root


def _zoom(page) -> float:
    transform = page.locator(".react-flow__viewport").first.evaluate("el => el.style.transform")
    m = re.search(r"scale\(([\d.]+)\)", transform)
    return float(m.group(1)) if m else 1.0


def test_canvas_renders_nodes_and_groups(page, lab_server):
    root = _open_canvas(page, lab_server)
    ids = page.locator(".react-flow__node").evaluate_all("els => els.map(e => e.dataset.id)")
    assert set(ids) == {"tokens", "tok_emb", "block", "norm", "attn", "add", "head", "logits"}
    # children are nested under the group node's coordinate system
    assert page.locator('.react-flow__node[data-id="block"] .sdl-group-header').is_visible()
    assert page.locator('.react-flow__node[data-id="block"]').get_attribute("class").find("sdl-group") >= 0
    # handles: tokens has no input, logits no output, add has a and b
    assert page.locator('.react-flow__node[data-id="tokens"] .react-flow__handle.target').count() == 0
    assert page.locator('.react-flow__node[data-id="logits"] .react-flow__handle.source').count() == 0
    add_handles = page.locator('.react-flow__node[data-id="add"] .react-flow__handle.target').evaluate_all(
        "els => els.map(e => e.dataset.handleid)"
    )
    assert sorted(add_handles) == ["a", "b"]
    assert page.locator(".react-flow__edge").count() == 7
    # the widget root carries the anchor attribute and suppresses notebook shortcuts
    assert root.get_attribute("data-slamdunk-model-id")
    assert root.get_attribute("data-lm-suppress-shortcuts") == "true"
    screenshot(page, "canvas-skeleton")
    assert page.sdl_errors == []


def test_drag_syncs_position_to_python(page, lab_server):
    _open_canvas(page, lab_server)
    before = run_json(page, "canvas.node('tokens')['position']")
    node = page.locator('.react-flow__node[data-id="tokens"]')
    node.scroll_into_view_if_needed()
    box = node.bounding_box()
    zoom = _zoom(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x + 12 * i, y + 4 * i)
    page.mouse.up()
    screenshot(page, "canvas-after-drag")

    after = run_json(page, "canvas.node('tokens')['position']")
    # Python has exactly the position React Flow shows (a top-level node: absolute = relative)
    shown = node.evaluate("el => el.style.transform")
    m = re.search(r"translate\(([-\d.]+)px,\s*([-\d.]+)px\)", shown)
    assert m, shown
    assert (after["x"], after["y"]) == pytest.approx((float(m.group(1)), float(m.group(2))), abs=0.1)
    # and it moved about as far as the mouse did (less React Flow's drag threshold and grid snap)
    assert after["x"] - before["x"] == pytest.approx(120 / zoom, abs=24 / zoom)
    assert after["y"] - before["y"] == pytest.approx(40 / zoom, abs=24 / zoom)
    # React Flow's run-time fields never reach Python
    node_py = run_json(page, "canvas.node('tokens')")
    assert set(node_py) <= {"id", "type", "position", "data", "parentId"}
    # other nodes did not move; group children keep parent-relative positions
    assert run_json(page, "canvas.node('attn')") == {
        "id": "attn",
        "type": "attention",
        "position": {"x": 40, "y": 160},
        "data": {"n_heads": 4},
        "parentId": "block",
    }


def test_python_graph_change_rerenders(page, lab_server):
    _open_canvas(page, lab_server)
    run_json(
        page,
        "(canvas.__setattr__('graph', {**canvas.graph, 'nodes': canvas.graph['nodes'] + "
        "[{'id': 'drop', 'type': 'dropout', 'position': {'x': 300, 'y': 0}, 'data': {'p': 0.1}}]}), 1)[1]",
    )
    page.locator('.react-flow__node[data-id="drop"]').wait_for(state="visible", timeout=10_000)
    run_json(
        page, "(canvas.__setattr__('graph', {**canvas.graph, 'nodes': canvas.graph['nodes'][:-1]}), 1)[1]"
    )
    page.locator('.react-flow__node[data-id="drop"]').wait_for(state="detached", timeout=10_000)


def test_keys_in_widget_do_not_trigger_notebook_shortcuts(page, lab_server):
    _open_canvas(page, lab_server)
    n = cell_count(page)
    # command mode, focus inside the canvas pane, then notebook shortcut keys
    page.keyboard.press("Escape")
    page.locator(".react-flow__pane").first.click(position={"x": 20, "y": 20})
    for key in ("a", "b", "m", "y"):
        page.keyboard.press(key)
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.wait_for_timeout(300)
    assert cell_count(page) == n


def test_insert_cell_below_widget_from_python(page, lab_server):
    _open_canvas(page, lab_server)
    sources_before = cell_sources(page)
    canvas_index = next(i for i, s in enumerate(sources_before) if s.startswith("canvas = Canvas"))
    # run from a cell further down: the new cell must land below the *canvas* cell
    run_json(page, "(canvas.insert_cell_below('inserted_marker = 42'), 1)[1]")
    wait_until(lambda: "inserted_marker = 42" in cell_sources(page), message="inserted cell")
    sources = cell_sources(page)
    assert sources[canvas_index + 1] == "inserted_marker = 42"
    assert sources[canvas_index + 2] == sources_before[canvas_index + 1]
    result = wait_until(lambda: run_json(page, "canvas.last_insert"), message="insert result")
    assert result["ok"] is True and result["anchored"] is True and result["index"] == canvas_index + 1
    screenshot(page, "insert-cell-below")


def test_launcher_card_creates_starter_notebook(page, lab_server):
    open_lab(page, lab_server)
    page.evaluate("() => window.jupyterapp.commands.execute('launcher:create')")
    card = page.locator('.jp-LauncherCard[title="SLaM Dunk Lab"]')
    card.wait_for(state="visible", timeout=20_000)
    # it sits in the Notebook section
    section = card.locator("xpath=ancestor::div[contains(@class,'jp-Launcher-section')]")
    assert "Notebook" in section.locator(".jp-Launcher-sectionTitle").inner_text()
    screenshot(page, "launcher")
    card.click()
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   return w && w.content && w.context && w.context.isReady && w.content.widgets.length > 2; }""",
        timeout=30_000,
    )
    sources = cell_sources(page)
    wait_kernel_idle(page)
    # the starter is examples/01_build_train_generate.ipynb: canvas → train → generate
    text = "\n".join(sources)
    for call in ("import slamdunk_lab as sd", "sd.Canvas(", "sd.train(", "sd.Playground("):
        assert call in text
    screenshot(page, "starter-notebook")


def test_insert_cell_command_falls_back_to_active_cell(page, lab_server):
    path = lab_server.copy_notebook("canvas_skeleton.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    result = page.evaluate(
        """() => window.jupyterapp.commands.execute('slamdunk-lab:insert-cell-below',
                                                    {code: 'x = 1', anchor: 'no-such-widget'})"""
    )
    assert result["anchored"] is False and result["index"] == 1
    assert cell_sources(page)[1] == "x = 1"


def test_inspector_docs_palette_on_template(page, lab_server):
    _open_canvas(page, lab_server, "canvas_template.ipynb")
    canvas = page.locator(".sdl-canvas").first
    n_cells = cell_count(page)

    # select the attention node: inspector form from its JSON Schema, docs of its block
    page.locator('.react-flow__node[data-id="attn"]').click()
    field = canvas.locator('.sdl-inspector [data-field="n_heads"] input')
    field.wait_for(state="visible")
    assert "nodrag" in field.get_attribute("class") and "nokey" in field.get_attribute("class")
    assert canvas.locator(".sdl-docs .sdl-docs-title").inner_text() != ""
    screenshot(page, "canvas-template-selected", locator=canvas)

    # shapes on the edges, params on the nodes, totals in the header (from Python's analysis)
    labels = canvas.locator(".react-flow__edge-text").evaluate_all("els => els.map(e => e.textContent)")
    assert "B×T" in labels and "B×T×128" in labels and "B×T×256" in labels  # ids, hidden states, logits
    assert "params" in page.locator('.react-flow__node[data-id="attn"] .sdl-node-params').inner_text()
    assert canvas.locator(".sdl-totals").inner_text().startswith("859K params")
    assert "buildable" in canvas.locator(".sdl-totals").inner_text()

    # a value the analysis rejects (3 heads do not divide width 128): error on the node and under the
    # field, the header says so; Python has the value and the failing analysis
    field.fill("3")
    field.press("Enter")
    wait_until(lambda: run_json(page, "canvas.node('attn')['data']['n_heads']") == 3, message="n_heads=3")
    node_error = page.locator('.react-flow__node[data-id="attn"] .sdl-node-badge')  # full text on hover
    node_error.wait_for(timeout=10_000)
    assert "n_heads" in node_error.get_attribute("title") and "3" in node_error.get_attribute("title")
    assert canvas.locator('.sdl-inspector [data-field="n_heads"] .sdl-field-error').count() >= 1
    assert "problem" in canvas.locator(".sdl-totals").inner_text()
    assert run_json(page, "[canvas.analysis.ok, [e.node_id for e in canvas.analysis.errors]]") == [False, ["attn"]]
    screenshot(page, "canvas-field-error", locator=canvas)
    # typing in the widget did not touch the notebook
    assert cell_count(page) > n_cells  # only the run_json cells were added
    n_cells = cell_count(page)

    # text that is not a number never reaches Python
    field.fill("abc")
    field.press("Enter")
    assert "must be a number" in canvas.locator('.sdl-inspector [data-field="n_heads"]').inner_text()
    field.fill("4")
    field.press("Enter")
    wait_until(lambda: run_json(page, "canvas.node('attn')['data']['n_heads']") == 4, message="n_heads=4")
    page.locator('.react-flow__node[data-id="attn"] .sdl-node-error').wait_for(
        state="detached", timeout=10_000
    )

    # docs language: the toggle is durable state in Python
    canvas.locator(".sdl-lang-button", has_text="한").click()
    wait_until(lambda: run_json(page, "canvas.language") == "ko", message="language=ko")
    assert canvas.locator(".sdl-docs .sdl-panel-title").inner_text() == "설명"
    screenshot(page, "canvas-docs-ko", locator=canvas)

    # palette: clicking a block adds a node (with schema defaults) and syncs it
    before = run_json(page, "len(canvas.graph['nodes'])")
    canvas.locator('.sdl-palette-item[data-block-type="dropout"]').click()
    wait_until(lambda: run_json(page, "len(canvas.graph['nodes'])") == before + 1, message="new node")
    new = run_json(page, "canvas.graph['nodes'][-1]")
    assert new["type"] == "dropout" and new["id"].startswith("dropout_")
    page.locator(f'.react-flow__node[data-id="{new["id"]}"]').wait_for(state="visible")

    # dark theme follows JupyterLab's CSS variables
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    page.wait_for_timeout(500)
    bg = canvas.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert page.locator(".sdl-flow .react-flow.dark").count() == 1
    screenshot(page, "canvas-dark", locator=canvas)
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    assert page.sdl_errors == []


def test_monitor_updates_from_thread_and_playground_streams(page, lab_server):
    path = lab_server.copy_notebook("monitor_playground.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    monitor = wait_for_widget(page, ".sdl-monitor-root")
    # the training thread logs after the cell finished; the page follows
    page.wait_for_function(
        "() => document.querySelector('.sdl-monitor-status')?.textContent === 'done: 60 steps'",
        timeout=30_000,
    )
    assert monitor.locator('path[data-series="loss"]').get_attribute("d").count("L") >= 30
    assert monitor.locator('path[data-series="val_loss"]').count() == 1
    assert "loss" in monitor.locator(".sdl-legend").inner_text()
    screenshot(page, "monitor", locator=monitor)

    pg = wait_for_widget(page, ".sdl-playground-root")
    n = cell_count(page)
    prompt = pg.locator("textarea")
    prompt.fill("Hello")
    prompt.press("a")  # typing in the widget must not insert a cell
    pg.locator('[data-action="generate"]').click()
    page.wait_for_function(
        "() => (document.querySelector('.sdl-output-text')?.textContent || '').includes('tok7')",
        timeout=20_000,
    )
    page.wait_for_function("() => document.querySelector('.sdl-playground')?.dataset.running === 'false'")
    assert pg.locator('[data-action="generate"]').is_enabled()
    assert pg.locator(".sdl-output-prompt").inner_text() == "Helloa"
    assert cell_count(page) == n
    assert run_json(page, "pg.output") == "".join(f" tok{i}" for i in range(8))
    screenshot(page, "playground", locator=pg)


def _drag(page, locator, dx, dy, steps=10):
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + min(12, box["height"] / 2)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 2, y + 2)  # past React Flow's drag threshold
    for i in range(1, steps + 1):
        page.mouse.move(x + dx * i / steps, y + dy * i / steps)
    page.mouse.up()


def test_child_drag_is_parent_relative_and_syncs_once(page, lab_server):
    _open_canvas(page, lab_server)
    run_code(page, "changes = []\ncanvas.observe(lambda c: changes.append(c['new']), 'graph')")
    before = run_json(page, "canvas.node('attn')['position']")
    zoom = _zoom(page)
    _drag(page, page.locator('.react-flow__node[data-id="attn"]'), 80, 0)
    page.wait_for_timeout(1000)  # time for any echo to show up
    after = run_json(page, "canvas.node('attn')")
    assert after["parentId"] == "block"
    assert after["position"]["x"] - before["x"] == pytest.approx(80 / zoom, abs=24 / zoom)
    assert after["position"]["y"] == pytest.approx(before["y"], abs=8)
    # exactly one graph update reached Python: no echo loop, no update during the drag
    assert run_json(page, "len(changes)") == 1
    # the group box grew to keep its moved child inside
    group = page.locator('.react-flow__node[data-id="block"]').bounding_box()
    child = page.locator('.react-flow__node[data-id="attn"]').bounding_box()
    assert child["x"] + child["width"] <= group["x"] + group["width"] + 1


def test_connect_and_delete_sync_to_python(page, lab_server):
    _open_canvas(page, lab_server)
    canvas = page.locator(".sdl-canvas").first
    canvas.locator('.sdl-palette-item[data-block-type="dropout"]').click()
    new_id = wait_until(
        lambda: next(
            (n["id"] for n in run_json(page, "canvas.graph['nodes']") if n["type"] == "dropout"), None
        ),
        message="dropout node",
    )
    node = page.locator(f'.react-flow__node[data-id="{new_id}"]')
    node.wait_for(state="visible")
    # connect tok_emb.out → dropout.in by dragging between the handles
    src = page.locator('.react-flow__node[data-id="tok_emb"] .react-flow__handle.source').bounding_box()
    dst = node.locator(".react-flow__handle.target").bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(
            src["x"] + (dst["x"] - src["x"]) * i / 10 + dst["width"] / 2,
            src["y"] + (dst["y"] - src["y"]) * i / 10 + dst["height"] / 2,
        )
    page.mouse.up()
    edge = wait_until(
        lambda: next((e for e in run_json(page, "canvas.graph['edges']") if e["target"] == new_id), None),
        message="new edge",
    )
    assert edge["source"] == "tok_emb" and edge["sourceHandle"] == "out" and edge["targetHandle"] == "in"
    screenshot(page, "canvas-connected", locator=canvas)
    # select the new node and delete it with the keyboard
    node.click()
    page.keyboard.press("Delete")
    wait_until(
        lambda: all(n["id"] != new_id for n in run_json(page, "canvas.graph['nodes']")),
        message="node deleted",
    )
    assert all(e["target"] != new_id for e in run_json(page, "canvas.graph['edges']"))


def test_notebook7_canvas_and_insert_cell(page, notebook_server):
    path = notebook_server.copy_notebook("canvas_skeleton.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, notebook_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    wait_for_widget(page)
    page.locator('.react-flow__node[data-id="attn"]').wait_for(state="visible")
    sources_before = cell_sources(page)
    canvas_index = next(i for i, s in enumerate(sources_before) if s.startswith("canvas = Canvas"))
    run_json(page, "(canvas.insert_cell_below('nb7_marker = 1'), 1)[1]")
    wait_until(lambda: "nb7_marker = 1" in cell_sources(page), message="inserted cell (Notebook 7)")
    assert cell_sources(page)[canvas_index + 1] == "nb7_marker = 1"
    screenshot(page, "notebook7-canvas")
    # Notebook 7.6 itself raises "Cannot read properties of undefined (reading 'schema')" from its
    # shortcuts plugin at start-up (also without this extension); only errors of ours count here
    ours = [e for e in page.sdl_errors if "notebook_core." not in e]
    assert ours == []


def test_viewport_is_saved_in_the_graph(page, lab_server):
    _open_canvas(page, lab_server)
    before = run_json(page, "canvas.graph['viewport']")
    page.locator(".sdl-canvas .react-flow__controls-zoomin").click()
    wait_until(
        lambda: run_json(page, "canvas.graph['viewport']['zoom']") > before["zoom"] * 1.05,
        message="zoom saved in the graph",
    )
    assert _zoom(page) == pytest.approx(run_json(page, "canvas.graph['viewport']['zoom']"), abs=0.002)


def test_drag_into_and_out_of_a_transformer_block(page, lab_server):
    _open_canvas(page, lab_server)
    # the dropout-free skeleton: move the LM head into the block ...
    group = page.locator('.react-flow__node[data-id="block"]').bounding_box()
    head = page.locator('.react-flow__node[data-id="head"]')
    hb = head.bounding_box()
    target_y = group["y"] + group["height"] - 30
    _drag(page, head, 0, target_y - (hb["y"] + min(12, hb["height"] / 2)))
    node = wait_until(
        lambda: (n := run_json(page, "canvas.node('head')")).get("parentId") == "block" and n,
        message="head in block",
    )
    # its position is now relative to the block (the block sits at x=0, so x is unchanged)
    assert node["position"]["x"] == pytest.approx(40, abs=8)
    screenshot(page, "canvas-reparented-in", locator=page.locator(".sdl-canvas").first)
    # ... and drag the attention block far out to the right
    attn = page.locator('.react-flow__node[data-id="attn"]')
    _drag(page, attn, group["width"] + 120, 0)
    wait_until(lambda: "parentId" not in run_json(page, "canvas.node('attn')"), message="attn out of block")
    attn_py = run_json(page, "canvas.node('attn')")
    assert attn_py["position"]["x"] > 200  # absolute now, right of the block
    screenshot(page, "canvas-reparented-out", locator=page.locator(".sdl-canvas").first)


@pytest.mark.slow
def test_real_training_run_in_monitor_and_playground(page, lab_server):
    path = lab_server.copy_notebook("real_run.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    monitor = wait_for_widget(page, ".sdl-monitor-root")
    monitor.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_function(
        "() => (document.querySelector('.sdl-monitor-status')?.textContent || '').startsWith('finished at step 20')",
        timeout=180_000,
    )
    assert monitor.locator('path[data-series="loss"]').count() == 1
    assert monitor.locator('path[data-series="val_loss"]').count() == 1
    screenshot(page, "monitor-real-run", locator=monitor)
    pg = wait_for_widget(page, ".sdl-playground-root")
    pg.locator('[data-action="generate"]').click()
    page.wait_for_function("() => document.querySelector('.sdl-playground')?.dataset.running === 'false'")
    page.wait_for_function("() => (document.querySelector('.sdl-output-text')?.textContent || '').length > 0")
    assert run_json(page, "pg.error") == ""
    screenshot(page, "playground-real-model", locator=pg)


# ------------------------------------------------------------------ issue "Widgets in JupyterLab", items 2 and 6
def _flow_point(page, fx: float, fy: float) -> tuple[float, float]:
    """Screen point of flow coordinates (fx, fy) in the first canvas."""
    vp = page.locator(".react-flow__viewport").first.evaluate("el => el.style.transform")
    m = re.search(r"translate\(([-\d.]+)px,\s*([-\d.]+)px\)\s*scale\(([\d.]+)\)", vp)
    assert m, vp
    tx, ty, k = map(float, m.groups())
    box = page.locator(".react-flow").first.bounding_box()
    return box["x"] + tx + fx * k, box["y"] + ty + fy * k


def _drop_block(page, block_type: str, x: float, y: float) -> None:
    """Drag a palette block with the mouse (HTML5 drag and drop) and drop it at screen point (x, y)."""
    item = page.locator(f'.sdl-canvas .sdl-palette-item[data-block-type="{block_type}"]').first
    flow = page.locator(".sdl-flow").first
    fb = flow.bounding_box()
    item.drag_to(flow, target_position={"x": x - fb["x"], "y": y - fb["y"]})


def _center(page) -> None:
    page.locator(".sdl-canvas").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(100)


def _nodes(page) -> dict:
    return {n["id"]: n for n in run_json(page, "canvas.graph['nodes']")}


def test_drag_from_palette_connect_and_drop_into_block(page, lab_server):
    _open_canvas(page, lab_server)
    canvas = page.locator(".sdl-canvas").first
    # an empty spot right of the design, in flow coordinates
    x, y = _flow_point(page, 420, 120)
    _drop_block(page, "dropout", x, y)
    new = wait_until(
        lambda: next((n for n in _nodes(page).values() if n["type"] == "dropout"), None), message="dropped node"
    )
    assert "parentId" not in new
    # dropped where the mouse let go (React Flow's screenToFlowPosition, snapped to the 8 px grid at most)
    assert new["position"]["x"] == pytest.approx(420, abs=12) and new["position"]["y"] == pytest.approx(120, abs=12)
    node = page.locator(f'.react-flow__node[data-id="{new["id"]}"]')
    node.wait_for(state="visible")
    # connect tok_emb.out → dropout.in with the mouse
    src = page.locator('.react-flow__node[data-id="tok_emb"] .react-flow__handle.source').bounding_box()
    dst = node.locator(".react-flow__handle.target").bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(
            src["x"] + (dst["x"] - src["x"]) * i / 10 + dst["width"] / 2,
            src["y"] + (dst["y"] - src["y"]) * i / 10 + dst["height"] / 2,
        )
    page.mouse.up()
    edge = wait_until(
        lambda: next((e for e in run_json(page, "canvas.graph['edges']") if e["target"] == new["id"]), None),
        message="edge into the dropped block",
    )
    assert (edge["source"], edge["sourceHandle"], edge["targetHandle"]) == ("tok_emb", "out", "in")
    screenshot(page, "canvas-palette-drop-connected", locator=canvas)

    # a connection the rules refuse is not made: tokens → dropout (token ids only go into an embedding)
    n_edges = len(run_json(page, "canvas.graph['edges']"))
    _center(page)  # run_json's cells scrolled the notebook
    drop2_x, drop2_y = _flow_point(page, 420, 40)
    _drop_block(page, "layerNorm", drop2_x, drop2_y)
    ln = wait_until(
        lambda: next((n for n in _nodes(page).values() if n["type"] == "layerNorm" and "parentId" not in n), None),
        message="second dropped node",
    )
    _center(page)
    src = page.locator('.react-flow__node[data-id="tokens"] .react-flow__handle.source').bounding_box()
    dst = page.locator(f'.react-flow__node[data-id="{ln["id"]}"] .react-flow__handle.target').bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(
            src["x"] + (dst["x"] - src["x"]) * i / 10 + dst["width"] / 2,
            src["y"] + (dst["y"] - src["y"]) * i / 10 + dst["height"] / 2,
        )
    page.mouse.up()
    toast = canvas.locator(".sdl-toast")
    toast.wait_for(timeout=5_000)
    assert toast.inner_text() == "Not connected: Token input gives token ids, which only Token embedding can read."
    screenshot(page, "canvas-connection-refused", locator=canvas)
    assert len(run_json(page, "canvas.graph['edges']")) == n_edges

    # dropping a block inside the transformer block makes it a child (position relative to the block)
    _center(page)
    group = page.locator('.react-flow__node[data-id="block"]').bounding_box()
    _drop_block(page, "dropout", group["x"] + group["width"] - 60, group["y"] + group["height"] - 30)
    child = wait_until(
        lambda: next((n for n in _nodes(page).values() if n.get("parentId") == "block" and n["type"] == "dropout"),
                     None),
        message="block dropped into the transformer block",
    )
    assert 0 < child["position"]["x"] < group["width"] and 0 < child["position"]["y"] < group["height"] + 100
    assert page.sdl_errors == []


def test_export_code_button_inserts_cell_that_builds_the_model(page, lab_server):
    _open_canvas(page, lab_server, "canvas_template.ipynb")
    sources_before = cell_sources(page)
    canvas_index = next(i for i, s in enumerate(sources_before) if s.startswith("canvas = Canvas"))
    # the display is the widget view, then a static picture for kernel-less viewers (hidden while the view renders)
    mimes = page.evaluate(
        """(i) => { const o = window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs;
                    return [Object.keys(o.get(0).data), Object.keys(o.get(1).data)]; }""",
        canvas_index,
    )
    assert "application/vnd.jupyter.widget-view+json" in mimes[0]
    assert "text/html" in mimes[1] and "application/vnd.slamdunk.graph+json" in mimes[1]
    assert not page.locator(".sdl-static-canvas").first.is_visible()
    page.locator('.sdl-canvas [data-action="export-code"]').click()
    wait_until(lambda: len(cell_sources(page)) == len(sources_before) + 1, message="exported cell")
    code = cell_sources(page)[canvas_index + 1]
    assert code == run_json(page, "__import__('slamdunk_lab.widgets.canvas', fromlist=['x']).code_cell(canvas.graph)")
    assert "def build_model" in code and code.rstrip().splitlines()[-2] == "model = build_model()"
    # run the new cell: it builds the model
    page.evaluate(
        """(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
                    nb.activeCellIndex = i; nb.deselectAll();
                    return window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        canvas_index + 1,
    )
    page.wait_for_function(
        """(i) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];
                    return c.model.executionCount !== null && c.model.outputs.length > 0; }""",
        arg=canvas_index + 1,
        timeout=60_000,
    )
    out = page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs.get(0).toJSON()",
        canvas_index + 1,
    )
    assert out["output_type"] == "stream", out
    assert "".join(out["text"]) .strip() == "built Model with 858,880 parameters"
    page.locator(".jp-Cell").nth(canvas_index + 1).scroll_into_view_if_needed()
    screenshot(page, "canvas-export-code-ran")


def test_export_code_without_the_extension_copies_to_the_clipboard(page, lab_server, browser_context):
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    _open_canvas(page, lab_server, "canvas_template.ipynb")
    n = cell_count(page)
    page.evaluate("() => { delete window.__slamdunkLab; }")  # as in VS Code or Colab
    page.locator('.sdl-canvas [data-action="export-code"]').click()
    toast = page.locator(".sdl-canvas .sdl-toast")
    toast.wait_for(timeout=15_000)
    assert "Copied the code to the clipboard" in toast.inner_text()
    assert cell_count(page) == n
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "def build_model" in copied and "model = build_model()" in copied
    screenshot(page, "canvas-export-clipboard", locator=page.locator(".sdl-canvas").first)


def test_undo_redo_copy_paste_in_python(page, lab_server):
    _open_canvas(page, lab_server)
    canvas = page.locator(".sdl-canvas").first
    page.locator('.react-flow__node[data-id="attn"]').click()
    field = canvas.locator('.sdl-inspector [data-field="n_heads"] input')
    field.fill("8")
    field.press("Enter")
    wait_until(lambda: run_json(page, "canvas.node('attn')['data']['n_heads']") == 8, message="n_heads=8")
    _drag(page, page.locator('.react-flow__node[data-id="tokens"]'), 120, 0)
    moved = wait_until(
        lambda: (p := run_json(page, "canvas.node('tokens')['position']"))["x"] > 60 and p, message="tokens moved"
    )
    def key(combo):
        # focus in the canvas (not a form field; run_json's cells took the focus), then the keys
        page.locator(".react-flow__pane").first.click(position={"x": 30, "y": 300})
        page.keyboard.press(combo)

    # Ctrl+Z twice: the drag, then the field edit
    key("Control+z")
    wait_until(lambda: run_json(page, "canvas.node('tokens')['position']")["x"] == 40, message="drag undone")
    assert run_json(page, "canvas.node('attn')['data']['n_heads']") == 8
    key("Control+z")
    wait_until(lambda: run_json(page, "canvas.node('attn')['data']['n_heads']") == 4, message="edit undone")
    key("Control+Shift+z")
    wait_until(lambda: run_json(page, "canvas.node('attn')['data']['n_heads']") == 8, message="edit redone")
    key("Control+y")
    wait_until(lambda: run_json(page, "canvas.node('tokens')['position']") == moved, message="drag redone")
    # the toolbar buttons do the same
    canvas.locator('[data-action="undo"]').click()
    wait_until(lambda: run_json(page, "canvas.node('tokens')['position']")["x"] == 40, message="undo button")

    # copy the attention block, paste it: a new id, same parent and settings, in Python
    page.locator('.react-flow__node[data-id="attn"]').click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    pasted = wait_until(lambda: _nodes(page).get("attention_1"), message="pasted node")
    assert pasted["parentId"] == "block" and pasted["data"] == {"n_heads": 8}
    key("Control+v")
    wait_until(lambda: "attention_2" in _nodes(page), message="pasted again")
    key("Control+z")
    wait_until(lambda: "attention_2" not in _nodes(page), message="paste undone")
    # the keys never reached the notebook: its own three cells are still first and unchanged
    assert cell_sources(page)[2] == 'print("after the canvas")'
    screenshot(page, "canvas-pasted", locator=canvas)


def test_templates_menu_and_auto_layout(page, lab_server):
    _open_canvas(page, lab_server, "canvas_template.ipynb")
    canvas = page.locator(".sdl-canvas").first
    options = canvas.locator('[data-action="templates"] option').all_inner_texts()
    assert any(o.startswith("Llama 3 tiny") or "tiny" in o for o in options) and len(options) > 5
    value = canvas.locator('[data-action="templates"] option', has_text="tiny").nth(2).get_attribute("value")
    name, size = value.split("\u0000")
    canvas.locator('[data-action="templates"]').select_option(value)
    wait_until(
        lambda: run_json(
            page,
            f"(lambda t: [canvas.graph[k] == t[k] for k in ('nodes', 'edges')])"
            f"(__import__('slamdunk_lab').template({name!r}, size={size!r}))",
        )
        == [True, True],  # the view is the page's own (fitted to the new design)
        message=f"template {name} {size} in Python",
        timeout=45,
    )
    page.locator(".react-flow__node").first.wait_for()
    screenshot(page, f"canvas-template-{name}", locator=canvas)
    # scramble a few positions from Python, then lay out: layers top to bottom, synced back
    run_code(
        page,
        "import copy\ng = copy.deepcopy(canvas.graph)\nfor i, n in enumerate(g['nodes']):\n    if 'parentId' not in n: n['position'] = "
        "{'x': (i * 137) % 500, 'y': (i * 71) % 300}\ncanvas.graph = g",
    )
    canvas.locator('[data-action="layout"]').click()
    wait_until(
        lambda: (ys := [n["position"]["y"] for n in run_json(page, "[n for n in canvas.graph['nodes'] if 'parentId' not in n]")])
        == sorted(ys),
        message="top-level blocks laid out top to bottom",
        timeout=45,
    )
    # the layout is one undoable edit
    canvas.locator('[data-action="undo"]').click()
    wait_until(
        lambda: run_json(page, "[n['position'] for n in canvas.graph['nodes'] if 'parentId' not in n][:2]")
        == [{"x": 0, "y": 0}, {"x": 137, "y": 71}],
        message="layout undone",
        timeout=45,
    )
    canvas.locator('[data-action="redo"]').click()
    page.wait_for_timeout(300)
    assert canvas.locator(".react-flow__minimap").count() == 1
    screenshot(page, "canvas-auto-layout", locator=canvas)


def test_import_seed_shows_the_design_and_its_notes(page, lab_server):
    """A preset of the original project, imported from Python: the canvas redraws it, a toast counts the
    differences from what the original built, and the status bar lists them."""
    from pathlib import Path

    body = Path(__file__).parents[1] / "data" / "seed" / "original" / "llama2.body.json"
    _open_canvas(page, lab_server)
    count = run_json(page, f"len(canvas.import_seed(open({str(body)!r}).read()))")
    assert count >= 2
    page.locator('.react-flow__node[data-id="transformerBlock-1757673618412"]').wait_for(state="visible",
                                                                                           timeout=15_000)
    toast = page.locator(".sdl-canvas .sdl-toast")
    toast.wait_for(timeout=15_000)
    assert f"{count} difference(s)" in toast.inner_text()
    notice = page.locator(".sdl-canvas .sdl-notice").filter(has_text="imported from the original project")
    notice.wait_for(timeout=15_000)
    text = notice.inner_text()
    assert "the same weights in every repeat" in text and "real skip connections" in text
    screenshot(page, "canvas_import_seed", locator=page.locator(".sdl-canvas").first)
