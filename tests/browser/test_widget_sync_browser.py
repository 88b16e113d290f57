"""Browser tests: no widget loses a value that changes between its first render and its subscription (#16).

A view reads the model's values while it renders and subscribes to their changes a moment later (in an effect).
Two ways to hit that moment:

- deterministically: the front-end model's ``on`` is wrapped so that the first time a view subscribes to
  ``change:<key>``, the value changes just before the listener is added (exactly what a message from the kernel
  arriving in that gap does);
- as a student does: ``canvas = sd.Canvas(); canvas`` in one cell and ``canvas.graph = ...`` in the next (and the
  same from a single cell right after ``display``), under Run All, many times.
"""

from __future__ import annotations

import json
import uuid

import nbformat
import pytest

from .lab import open_notebook, run_all_cells, run_code, run_json, screenshot, wait_for_widget, wait_until

pytestmark = pytest.mark.browser

# the rendered widget output of a cell holds the widget manager (ipywidgets' WidgetRenderer._manager)
_FIND_MANAGER = """
async () => {
    const find = w => {
        if (!w) return null;
        if (w._manager && w._manager.promise) return w;
        for (const k of (w.widgets || [])) { const r = find(k); if (r) return r; }
        return null;
    };
    const nb = window.jupyterapp.shell.currentWidget.content;
    for (const cell of nb.widgets) {
        const r = cell.outputArea && find(cell.outputArea);
        if (r) { window.__sdlManager = await r._manager.promise; return true; }
    }
    return false;
}
"""

# wrap the model's `on`: the first subscription to change:<key> is preceded by a change of <key>
_CHANGE_BEFORE_SUBSCRIBE = """
async ([id, values]) => {
    const model = await window.__sdlManager.get_model(id);
    const pending = new Map(Object.entries(values));
    const on = model.on;
    window.__sdlInjected = [];
    model.on = function (name, ...rest) {
        const key = typeof name === 'string' && name.startsWith('change:') ? name.slice(7) : null;
        if (key !== null && pending.has(key)) {
            const value = pending.get(key);
            pending.delete(key);
            model.set(key, value);
            window.__sdlInjected.push(key);
        }
        return on.call(this, name, ...rest);
    };
    return true;
}
"""


def _notebook(server, cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    name = f"sync-{uuid.uuid4().hex[:8]}.ipynb"
    nbformat.write(nb, server.root_dir / name)
    return name


def _prepare(page, lab_server, create: str, var: str, values_expr: str) -> list[str]:
    """Open a notebook, create widget ``var`` without showing it, arm the wrapper with the JSON of
    ``values_expr`` (a dict of traitlet → new value), then display it; returns the keys changed in the gap."""
    open_notebook(page, lab_server, _notebook(lab_server, ["import ipywidgets\nipywidgets.Label('ready')"]))
    run_all_cells(page)
    wait_until(lambda: page.evaluate(_FIND_MANAGER), message="the widget manager")
    run_code(page, f"import slamdunk_lab as sd\n{create}")
    model_id = run_json(page, f"{var}.model_id")
    values = run_json(page, values_expr)
    assert page.evaluate(_CHANGE_BEFORE_SUBSCRIBE, [model_id, values])
    run_code(page, var)
    return sorted(values)


def _injected(page) -> list[str]:
    return sorted(page.evaluate("() => window.__sdlInjected || []"))


def test_canvas_shows_values_that_change_before_it_subscribes(page, lab_server):
    keys = _prepare(
        page,
        lab_server,
        "c = sd.Canvas(height=420)\n"
        "tpl = sd.template('llama3', size='tiny', n_layer=3)\n"
        "later = sd.Canvas(tpl, language='ko', height=520)\n"
        "later._set_notice('test', 'a notice set in the gap')",
        "c",
        "{k: getattr(later, k) for k in ('graph', 'analysis_json', 'language', 'height', 'notices')}",
    )
    wait_for_widget(page)
    n_nodes = run_json(page, "len(tpl['nodes'])")
    canvas = page.locator(".sdl-canvas").first
    wait_until(
        lambda: canvas.locator(".react-flow__node").count() == n_nodes,
        timeout=20,
        message=f"{n_nodes} blocks drawn",
    )
    assert _injected(page) == keys  # every value really changed in the gap
    assert canvas.evaluate("el => el.style.height") == "520px"
    assert "a notice set in the gap" in canvas.locator(".sdl-statusbar").inner_text()
    assert canvas.locator(".sdl-docs .sdl-panel-title").inner_text() == "설명"
    assert canvas.locator(".sdl-totals").get_attribute("data-ok") == "true"
    screenshot(page, "sync-canvas-graph-set-before-subscription", locator=canvas)
    assert page.sdl_errors == []


def test_monitor_playground_runs_show_values_that_change_before_they_subscribe(page, lab_server):
    _prepare(
        page,
        lab_server,
        "m = sd.Monitor(title='before')",
        "m",
        "{'title': 'set in the gap', 'status': 'status from the gap', 'total_steps': 10}",
    )
    mon = wait_for_widget(page, ".sdl-monitor")
    wait_until(lambda: "set in the gap" in mon.inner_text(), message="the monitor's title")
    assert "status from the gap" in mon.inner_text()
    assert _injected(page) == ["status", "title", "total_steps"]

    # the playground needs a model: the smallest one, on a character tokenizer
    run_code(
        page,
        "tok = sd.tokenizers.char('abcdefgh ')\n"
        "net = sd.build(sd.template('gpt2', size='tiny', n_layer=1, vocab_size=tok.vocab_size))\n"
        "pg = sd.Playground(net, tok, prompt='first')",
    )
    pg_model_id = run_json(page, "pg.model_id")
    page.evaluate(_CHANGE_BEFORE_SUBSCRIBE, [pg_model_id, {"prompt": "abc", "output": " def", "title": "gap title"}])
    run_code(page, "pg")
    pg = wait_for_widget(page, ".sdl-playground")
    wait_until(lambda: "gap title" in pg.inner_text(), message="the playground's title")
    # read in the same moment as the title: the prompt box shows Python's prompt in the same render (#16: it once
    # followed one render behind, and a busy page showed the new title beside the first prompt)
    assert (pg.locator(".sdl-prompt").input_value(), pg.locator(".sdl-output-text").inner_text()) == ("abc", " def")
    assert _injected(page) == ["output", "prompt", "title"]

    run_code(page, "rb = sd.Runs()")
    model_id = run_json(page, "rb.model_id")
    row = {
        "run_id": "r1", "name": "gap-run", "design": "d", "status": "FINISHED", "start_time": 0,
        "steps": 5, "planned_steps": 5, "train_loss": 1.5, "val_loss": None, "parameters": 100, "tokens_per_s": 10,
    }
    page.evaluate(_CHANGE_BEFORE_SUBSCRIBE, [model_id, {"rows": [row]}])
    run_code(page, "rb")
    runs = wait_for_widget(page, ".sdl-runs")
    wait_until(lambda: runs.locator('tr[data-run-id="r1"]').count() == 1, message="the run row")
    assert _injected(page) == ["rows"]
    # well after the playground's typing pause, its box has not sent its first text back over the gap's prompt
    assert pg.locator(".sdl-prompt").input_value() == "abc"
    assert page.evaluate("async id => (await window.__sdlManager.get_model(id)).get('prompt')", pg_model_id) == "abc"
    assert page.sdl_errors == []


def test_canvas_set_right_after_display_under_run_all(page, lab_server):
    """The student's notebook from #16, run with Run All again and again: every run draws every block."""
    name = _notebook(
        lab_server,
        [
            "import slamdunk_lab as sd\ntpl = sd.template('llama3', size='tiny', n_layer=3)",
            "canvas = sd.Canvas(height=300)\ncanvas",
            "canvas.graph = tpl",
            "same = sd.Canvas(height=300)\ndisplay(same)\nsame.graph = tpl",
        ],
    )
    open_notebook(page, lab_server, name)
    n_nodes = None
    for attempt in range(20):
        run_all_cells(page)
        if n_nodes is None:
            n_nodes = run_json(page, "len(tpl['nodes'])")
        canvases = page.locator(".sdl-canvas")
        wait_until(lambda: canvases.count() == 2, message="two canvases")
        try:
            wait_until(
                lambda: [canvases.nth(i).locator(".react-flow__node").count() for i in range(2)] == [n_nodes] * 2,
                timeout=10,
                message=f"both canvases drawing {n_nodes} blocks",
            )
        except AssertionError:
            counts = [canvases.nth(i).locator(".react-flow__node").count() for i in range(2)]
            screenshot(page, f"FAILED-sync-run-all-{attempt}")
            raise AssertionError(f"run {attempt + 1}: blocks drawn {counts}, expected {n_nodes} in each") from None
    assert json.loads(json.dumps(page.sdl_errors)) == []
