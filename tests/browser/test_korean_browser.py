"""Browser tests of #8 item 4: one switch (or JupyterLab's language) turns the widgets Korean."""

from __future__ import annotations

import uuid

import nbformat
import pytest

from .lab import open_notebook, run_all_cells, run_code, run_json, screenshot, wait_for_widget, wait_until

pytestmark = pytest.mark.browser


def _open(page, lab_server, source: str, *, widget: bool = True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    name = f"korean-{uuid.uuid4().hex[:8]}.ipynb"
    nbformat.write(nb, lab_server.root_dir / name)
    open_notebook(page, lab_server, name)
    run_all_cells(page)
    if widget:
        wait_for_widget(page)


def test_the_switch_turns_the_canvas_korean_and_back(page, lab_server):
    _open(page, lab_server, "import slamdunk_lab as sd\ncanvas = sd.Canvas(template='gpt2', size='tiny', language='ko')\n"
                            "canvas")
    canvas = page.locator(".sdl-canvas").first
    canvas.locator(".react-flow__node").first.wait_for(state="visible")
    assert canvas.get_attribute("lang") == "ko"
    assert canvas.evaluate("el => getComputedStyle(el).wordBreak") == "keep-all"  # no "어텐/션"
    toolbar = canvas.locator(".sdl-toolbar").inner_text()
    assert "정렬" in toolbar and "코드 내보내기" in toolbar and "매개변수" in toolbar
    assert canvas.locator(".sdl-palette .sdl-panel-title").inner_text() == "블록"
    assert "가중치" in canvas.locator(".sdl-statusbar").inner_text()
    canvas.locator('.react-flow__node[data-id="attn"]').click()
    assert canvas.locator(".sdl-docs .sdl-panel-title").inner_text() == "설명"
    assert "위치" in canvas.locator(".sdl-docs-body").inner_text()  # the catalogue's Korean docs
    # block titles, categories, setting labels and analysis errors: Korean too
    palette = canvas.locator(".sdl-palette").inner_text()
    assert "인과적 셀프 어텐션" in palette and "정규화" in palette
    assert "Causal self-attention" not in palette and "normalization" not in palette
    assert "인과적 셀프 어텐션" in canvas.locator('.react-flow__node[data-id="attn"]').inner_text()
    inspector = canvas.locator(".sdl-inspector")
    assert inspector.inner_text().startswith("인과적 셀프 어텐션 · ")
    assert inspector.locator('[data-field="n_heads"] label').inner_text() == "헤드 수"
    run_code(page, "import copy\ng = copy.deepcopy(canvas.graph)\nfor n in g['nodes']:\n    if n['id'] == 'attn': n['data']['n_heads'] = 0\n"
                   "canvas.graph = g")
    wait_until(lambda: "1 이상 1024 이하여야 합니다" in inspector.inner_text(), message="the Korean analysis error")
    assert "must be" not in inspector.inner_text()
    canvas.evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "korean-canvas", locator=canvas)
    # the switch: English, saved in Python
    canvas.locator(".sdl-lang-button", has_text="EN").click()
    wait_until(lambda: "Layout" in canvas.locator(".sdl-toolbar").inner_text(), message="English toolbar")
    assert run_json(page, "canvas.language") == "en"
    assert page.sdl_errors == []


def test_jupyterlab_in_korean_turns_new_widgets_korean(page, lab_server):
    _open(page, lab_server, "import slamdunk_lab as sd", widget=False)
    page.evaluate("() => { document.documentElement.lang = 'ko-KR'; }")  # what JupyterLab's Korean language pack sets
    run_code(page, "canvas = sd.Canvas()\ncanvas")
    canvas = page.locator(".sdl-canvas").first
    canvas.wait_for()
    assert run_json(page, "canvas.language") == "auto"
    wait_until(lambda: "코드 내보내기" in canvas.locator(".sdl-toolbar").inner_text(), message="Korean toolbar")
    run_code(
        page,
        "sd.set_language('ko')\ntok = sd.tokenizers.char('abcdefgh ')\n"
        "pg = sd.Playground(sd.build(sd.template('gpt2', size='tiny', n_layer=1, vocab_size=tok.vocab_size)), tok)\npg",
    )
    pg = wait_for_widget(page, ".sdl-playground")
    wait_until(lambda: "생성" in pg.inner_text(), message="Korean playground")
    assert pg.get_attribute("lang") == "ko"
    screenshot(page, "korean-playground", locator=pg)
    page.evaluate("() => { document.documentElement.lang = 'en'; }")
    assert page.sdl_errors == []
