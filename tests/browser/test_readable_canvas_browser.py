"""Browser tests of #8 item 3: a canvas that stays readable (JupyterLab + Chromium), with screenshots."""

from __future__ import annotations

import re
import uuid

import nbformat
import pytest

from .lab import open_notebook, run_all_cells, run_code, run_json, screenshot, wait_for_widget, wait_until

pytestmark = pytest.mark.browser


def _zoom(canvas) -> float:
    transform = canvas.locator(".react-flow__viewport").evaluate("el => el.style.transform")
    m = re.search(r"scale\(([\d.]+)\)", transform)
    return float(m.group(1)) if m else 1.0


def _open(page, lab_server, source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    name = f"readable-{uuid.uuid4().hex[:8]}.ipynb"
    nbformat.write(nb, lab_server.root_dir / name)
    open_notebook(page, lab_server, name)
    run_all_cells(page)
    wait_for_widget(page)
    canvas = page.locator(".sdl-canvas").first
    canvas.evaluate("el => el.scrollIntoView({block: 'start'})")
    return canvas


def _boxes(canvas) -> dict[str, dict]:
    return canvas.locator(".react-flow__node").evaluate_all(
        "els => Object.fromEntries(els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.dataset.id, {x: r.x, y: r.y, w: r.width, h: r.height, group: e.classList.contains('sdl-group')}]; }))"
    )


def _overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def test_default_canvas_shows_the_palette_and_a_tiny_template_readably(page, lab_server):
    canvas = _open(page, lab_server, "import slamdunk_lab as sd\ncanvas = sd.Canvas(template='gpt2', size='tiny')\ncanvas")
    canvas.locator(".react-flow__node").first.wait_for(state="visible")
    page.wait_for_timeout(400)
    assert canvas.evaluate("el => el.getBoundingClientRect().height") >= 700
    body = canvas.locator(".sdl-palette .sdl-panel-body")
    assert body.evaluate("el => el.scrollHeight <= el.clientHeight + 1"), "the palette needs scrolling"
    assert 0.74 <= _zoom(canvas) <= 1
    screenshot(page, "readable-default-canvas", locator=canvas)
    assert page.sdl_errors == []


def test_problems_collapse_to_a_badge_and_blocks_never_overlap(page, lab_server):
    canvas = _open(page, lab_server, "import slamdunk_lab as sd\ncanvas = sd.Canvas(template='gpt2', size='tiny')\ncanvas")
    canvas.locator(".react-flow__node").first.wait_for(state="visible")
    page.wait_for_timeout(300)
    before = _boxes(canvas)
    run_code(page, "import copy\ng = copy.deepcopy(canvas.graph)\nfor n in g['nodes']:\n"
                   "    if n['type'] == 'attention': n['data'].update(n_heads=3, n_kv_heads=2)\ncanvas.graph = g")
    badge = canvas.locator('.react-flow__node[data-id="attn"] .sdl-node-badge')
    badge.wait_for(timeout=10_000)
    assert badge.inner_text().strip() == "⚠ 2"
    title = badge.get_attribute("title")
    assert "not divisible by n_heads 3" in title and "not divisible by n_kv_heads 2" in title
    after = _boxes(canvas)
    assert after["attn"]["h"] == pytest.approx(before["attn"]["h"], abs=0.5)  # the block did not grow
    blocks = {k: v for k, v in after.items() if not v["group"]}
    for a in blocks:
        for b in blocks:
            assert a >= b or not _overlaps(blocks[a], blocks[b]), f"{a} overlaps {b}"
    # the header names every problem in full on hover
    problems = canvas.locator(".sdl-totals [data-problems]")
    assert problems.get_attribute("data-problems") == "2"
    assert "attn · n_kv_heads: n_heads 3 is not divisible by n_kv_heads 2" in problems.get_attribute("title")
    # and the inspector under the fields
    canvas.locator('.react-flow__node[data-id="attn"]').click()
    assert "not divisible by n_kv_heads 2" in canvas.locator('.sdl-inspector [data-field="n_kv_heads"]').inner_text()
    screenshot(page, "readable-problem-badge", locator=canvas)


def test_first_drop_stays_at_1x_layout_keeps_loose_blocks_aside_and_the_edge_resizes(page, lab_server):
    canvas = _open(page, lab_server, "import slamdunk_lab as sd\ncanvas = sd.Canvas()\ncanvas")
    flow = canvas.locator(".react-flow__pane")
    box = flow.bounding_box()
    item = canvas.locator('.sdl-palette-item[data-block-type="tokens"]')
    item.drag_to(flow, target_position={"x": box["width"] / 2, "y": 120})
    canvas.locator(".react-flow__node").first.wait_for(state="visible")
    page.wait_for_timeout(400)
    assert _zoom(canvas) <= 1.0
    # a half-wired design: three loose blocks, then Layout
    run_code(page, "g = sd.template('gpt2', size='tiny')\n"
                   "g['nodes'] += [{'id': f'loose_{i}', 'type': 'dropout', 'position': {'x': 0, 'y': 0}, 'data': {}} "
                   "for i in range(3)]\ncanvas.graph = g")
    canvas.locator('.react-flow__node[data-id="loose_2"]').wait_for(state="visible")
    canvas.locator('[data-action="layout"]').click()
    wait_until(lambda: run_json(page, "canvas.node('loose_0')['position']['x']") > 0, message="laid out")
    page.wait_for_timeout(500)
    positions = run_json(page, "{n['id']: n['position'] for n in canvas.graph['nodes'] if 'parentId' not in n}")
    wired_right = max(p["x"] for k, p in positions.items() if not k.startswith("loose")) + 176
    assert all(positions[f"loose_{i}"]["x"] > wired_right - 176 for i in range(3))
    assert _zoom(canvas) >= 0.74
    canvas.evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "readable-layout-half-wired", locator=canvas)
    # drag the bottom edge down by 120 px: the page follows and Python keeps the new height
    edge = canvas.locator(".sdl-resize").bounding_box()
    x, y = edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 60)
    page.mouse.move(x, y + 120)
    page.mouse.up()
    wait_until(lambda: run_json(page, "canvas.height") == 840, message="the new height in Python")
    assert page.sdl_errors == []


def test_vocabulary_follows_the_tokenizer(page, lab_server):
    canvas = _open(
        page, lab_server,
        "import slamdunk_lab as sd\ncanvas = sd.Canvas(template='gpt2', size='tiny')\ncanvas",
    )
    canvas.locator(".react-flow__node").first.wait_for(state="visible")
    size = run_json(page, "canvas.set_vocab(sd.tokenizers.char('To be, or not to be'))")
    assert size == run_json(page, "sd.tokenizers.char('To be, or not to be').vocab_size")
    canvas.locator('.react-flow__node[data-id="lm_head"]').click()
    inspector = canvas.locator(".sdl-inspector")
    inspector.get_by_text(f"= the tokenizer's vocabulary ({size})").wait_for(timeout=10_000)
    field = inspector.locator('[data-field="vocab_size"] input')
    field.fill("300")
    field.press("Enter")
    inspector.locator('[data-action="vocab-from-tokenizer"]').click()
    wait_until(lambda: run_json(page, "canvas.node('lm_head')['data']['vocab_size']") == size, message="the size back")
    screenshot(page, "readable-vocab-from-tokenizer", locator=canvas)
