"""Browser tests of #8 item 5: runs read as a student thinks (live repr, stopped and resumed runs as one run in
the runs browser, its size in the notebook) and the runs browser and monitor in Korean."""

from __future__ import annotations

import uuid

import pytest

from .lab import cell_errors, open_notebook, run_all_cells, run_code, run_json, screenshot, start_code, wait_until

pytestmark = pytest.mark.browser


def cell_text(page, cell_id: str) -> str:
    """The text/plain outputs of a cell, as the page holds them now (updates of displays included)."""
    return page.evaluate(
        """(id) => { const c = window.jupyterapp.shell.currentWidget.content.widgets.find(w => w.model.id === id);
                     const o = c.model.outputs; const r = [];
                     for (let k = 0; k < o.length; k++) { const d = o.get(k).toJSON().data || {};
                       r.push(String(d['text/plain'] || '')); }
                     return r.join('\\n'); }""",
        cell_id,
    )


def test_a_shown_run_stays_live_and_a_resumed_run_is_one_row(page, lab_server):
    path = lab_server.copy_notebook("monitor_train.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    run_code(page, f"os.environ['MLFLOW_TRACKING_URI'] = 'sqlite:///' + os.path.abspath('mlflow-runs-{path}.db')")

    # the run as a cell's value: it says "running" while it trains and "finished" once it has, without rerunning
    cell = start_code(page, "run = train(g, corpus, tok, steps=60, name='live', monitor=False, **settings)\nrun")
    wait_until(lambda: "running, step" in cell_text(page, cell) or "queued" in cell_text(page, cell), 60,
               message="the run's repr")
    wait_until(lambda: "finished at step 60/60" in cell_text(page, cell), 90, message="the repr to say finished")
    assert "running" not in cell_text(page, cell)

    # stopped, then resumed: the runs browser shows one run, stopped first, then finished and resumed once
    run_code(page, "stop_at = lambda e: run2.stop() if type(e).__name__ == 'Step' and e.step >= 5 else None\n"
                   "run2 = train(g, corpus, tok, steps=40, name='again', monitor=False, **settings)\n"
                   "run2.subscribe(stop_at); run2.wait(60); None")
    assert run_json(page, "run2.status") == "stopped"
    run_code(page, "table = runs(widget=True)\ntable")
    browser = page.locator(".sdl-runs").first
    browser.wait_for(timeout=30_000)
    stopped = browser.locator(f'tr[data-run-id="{run_json(page, "run2.mlflow_run_id")}"]')
    assert stopped.locator("[data-status]").inner_text() == "stopped"
    assert "sd.resume continues from" in stopped.locator("[data-status]").get_attribute("title")
    assert stopped.locator('[data-field="worker"]').inner_text() == "this kernel"
    run_code(page, "rest = sd.resume(run2, monitor=False); rest.wait(90); table.refresh(); None")
    rest_id = run_json(page, "rest.mlflow_run_id")
    page.wait_for_function(f"() => !!document.querySelector('.sdl-runs tr[data-run-id=\"{rest_id}\"]')",
                           timeout=30_000)
    rows = browser.locator("tbody tr[data-run-id]")
    assert rows.count() == 2  # 'live' and 'again' (its two segments in one row)
    again = browser.locator(f'tr[data-run-id="{rest_id}"]')
    assert again.locator("[data-status]").inner_text() == "finished"
    assert "resumed 1×" in again.inner_text() and run_json(page, "run2.name") in again.inner_text()

    # select both: the overlaid curves and the diffs stay inside a widget of a sensible size
    for rid in rows.evaluate_all("els => els.map(e => e.dataset.runId)"):
        browser.locator(f'tr[data-run-id="{rid}"] input[type="checkbox"]').check()
    page.wait_for_function("() => document.querySelectorAll('.sdl-runs path[data-series$=\":loss\"]').length === 2",
                           timeout=30_000)
    curve = browser.locator(f'path[data-series="{rest_id}:loss"]')
    assert curve.get_attribute("data-points") == "40"  # the whole curve: steps 1-5 and 6-40
    size = browser.evaluate("el => ({h: el.getBoundingClientRect().height, sw: el.scrollWidth, cw: el.clientWidth,"
                            " ow: el.parentElement.getBoundingClientRect().width, w: el.getBoundingClientRect().width})")
    assert size["h"] <= 660 and size["w"] <= size["ow"] + 1 and size["sw"] <= size["cw"] + 1
    browser.evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "runs-resumed", locator=browser)

    # Korean: the runs browser and a monitor
    run_code(page, "sd.set_language('ko')\nko_table = runs(widget=True)\nko_table")
    ko = page.locator(".sdl-runs").nth(1)
    ko.wait_for(timeout=30_000)
    wait_until(lambda: "학습 기록" in ko.inner_text(), 20, message="the Korean runs browser")
    text = ko.inner_text()
    assert ko.get_attribute("lang") == "ko" and "완료" in text and "새로 고침" in text and "이 커널" in text
    assert "finished" not in text and "Refresh" not in text and "worker" not in text
    run_code(page, "mon = run2.monitor()\nmon")
    monitor = page.locator(".sdl-monitor").last
    monitor.wait_for(timeout=30_000)
    wait_until(lambda: "5단계에서 멈춤" in monitor.inner_text() or "단계에서 멈춤" in monitor.inner_text(), 20,
               message="the Korean monitor")
    assert monitor.get_attribute("lang") == "ko" and "멈춤" in monitor.inner_text()
    assert "stopped" not in monitor.inner_text() and "Stop" not in monitor.inner_text()
    screenshot(page, "runs-korean", locator=ko)
    run_code(page, "sd.set_language('auto')")
    assert page.sdl_errors == []
