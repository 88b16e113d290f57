"""Browser tests: the training monitor and the runs browser on real training runs in a real JupyterLab."""

from __future__ import annotations

import time
import uuid

import pytest

from .lab import (
    cell_errors,
    open_notebook,
    run_all_cells,
    run_code,
    run_json,
    screenshot,
    start_code,
    wait_kernel_idle,
    wait_until,
)

pytestmark = pytest.mark.browser


def kernel_status(page) -> str:
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")


def points(monitor) -> int:
    return int(monitor.locator(".sdl-monitor").get_attribute("data-points") or 0)


def state(monitor) -> str:
    return monitor.locator(".sdl-monitor").get_attribute("data-state") or ""


def test_monitor_follows_training_stops_and_runs_browser_compares(page, lab_server):
    path = lab_server.copy_notebook("monitor_train.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []

    # sd.train in the background shows the monitor under the cell and returns at once
    t0 = time.monotonic()
    run_code(page, "run = train(g, corpus, tok, steps=300, name='fast', **settings)")
    assert time.monotonic() - t0 < 20
    monitors = page.locator(".sdl-monitor-root")
    first = monitors.nth(0)
    first.wait_for(timeout=30_000)
    first.evaluate("el => el.scrollIntoView({block: 'center'})")
    wait_until(lambda: points(first) >= 5, 60, message="the first points")
    # the curve advances while the kernel is idle
    before = points(first)
    wait_until(lambda: points(first) > before + 10, 20, message="more points")
    assert state(first) == "running"
    # dtype="auto": the precision it chose (its reason on hover) and the MFU against this machine's peak
    chip = first.locator('[data-figure="precision"]')
    assert chip.inner_text() in ("float32 (auto)", "bfloat16 (auto)")
    assert "probes on this machine" in chip.get_attribute("title")
    wait_until(lambda: first.locator('[data-figure="mfu"]').inner_text() != "MFU –", 20, message="the MFU")
    assert first.locator('[data-figure="mfu"]').inner_text().startswith("MFU ")
    assert "Model FLOPs utilisation" in first.locator('[data-figure="mfu"]').get_attribute("title")
    screenshot(page, "monitor-live", locator=first)

    # another cell runs (and finishes) while the run trains: the kernel is not blocked, the monitor still moves
    mid = points(first)
    start_code(page, "time.sleep(2); print('other cell done')")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'"
    )
    time.sleep(1.0)
    during = points(first)
    assert kernel_status(page) == "busy" and during > mid  # updates arrive while another cell runs
    wait_kernel_idle(page)
    assert "other cell done" in page.locator(".jp-OutputArea-output").last.inner_text()
    assert state(first) == "running"  # that cell completed before the run did

    # the end: every step plotted, validation points, learning-rate chart, status, MLflow id, sample
    page.wait_for_function(
        "() => document.querySelector('.sdl-monitor')?.dataset.state === 'finished'", timeout=90_000
    )
    assert first.locator(".sdl-monitor-status").inner_text() == "finished at step 300"
    assert first.locator('path[data-series="loss"]').get_attribute("data-points") == "300"
    assert first.locator('path[data-series="val_loss"]').get_attribute("data-points") == "6"
    assert first.locator('path[data-series="lr"]').count() == 1
    assert first.locator('[data-figure="steps"]').inner_text() == "300/300"
    assert first.locator('[data-action="stop"]').is_disabled()
    mlflow_id = run_json(page, "run.mlflow_run_id")
    assert first.locator('[data-field="mlflow-run-id"]').inner_text() == mlflow_id
    assert first.locator(".sdl-monitor-sample").inner_text().strip()
    screenshot(page, "monitor-finished", locator=first)

    # re-display in another cell: a fresh widget with the whole history and the final state
    run_code(page, "run.monitor()")
    second = monitors.nth(1)
    second.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.sdl-monitor')[1]?.dataset.points === "
        "document.querySelectorAll('.sdl-monitor')[0].dataset.points",
        timeout=20_000,
    )
    assert state(second) == "finished"
    assert second.locator('path[data-series="loss"]').get_attribute("data-points") == "300"

    # Stop: a long run with another design, stopped from the page
    run_code(
        page,
        "g2 = sd.template('gpt2', size='tiny', n_layer=2, d_model=48, n_head=4, context=32, "
        "vocab_size=tok.vocab_size)\nrun2 = train(g2, corpus, tok, steps=100000, name='wide', "
        "**{**settings, 'lr': 3e-3})",
    )
    third = monitors.nth(2)
    third.wait_for(timeout=30_000)
    third.evaluate("el => el.scrollIntoView({block: 'center'})")
    wait_until(lambda: points(third) >= 10 and state(third) == "running", 60, message="run2 to train")
    stop = third.locator('[data-action="stop"]')
    assert stop.is_enabled()
    stop.click()
    page.wait_for_function(
        "() => document.querySelectorAll('.sdl-monitor')[2]?.dataset.state === 'stopped'", timeout=30_000
    )
    assert stop.is_disabled()
    assert third.locator(".sdl-monitor-status").inner_text().startswith("stopped at step")
    assert run_json(page, "run2.status") == "stopped"
    assert run_json(page, "run2.step") < 100000
    screenshot(page, "monitor-stopped", locator=third)

    # the runs browser: both runs, select two, overlaid curves and the diff
    run_code(page, "table = runs(widget=True)\ntable")
    browser = page.locator(".sdl-runs-root").first
    browser.wait_for(timeout=30_000)
    browser.evaluate("el => el.scrollIntoView({block: 'start'})")
    rows = browser.locator("tbody tr[data-run-id]")
    assert rows.count() == 2
    ids = rows.evaluate_all("els => els.map(e => e.dataset.runId)")
    assert set(ids) == {mlflow_id, run_json(page, "run2.mlflow_run_id")}
    text = browser.inner_text()
    assert "stopped" in text and "finished" in text and "killed" not in text  # a stopped run is stopped
    for rid in ids:
        browser.locator(f'tr[data-run-id="{rid}"] input[type="checkbox"]').check()
    page.wait_for_function(
        "() => document.querySelectorAll('.sdl-runs path[data-series$=\":loss\"]').length === 2",
        timeout=30_000,
    )
    assert run_json(page, "table.selected") == ids
    fin = browser.locator(f'path[data-series="{mlflow_id}:loss"]')
    assert fin.get_attribute("data-points") == "300"
    design = browser.locator('[data-diff="design"]')
    assert design.locator('tr[data-node="tokenEmbedding"][data-field="d_model"]').count() == 1
    assert design.locator('tr[data-node="transformerBlock"][data-field="repeat"]').count() == 1
    differs = browser.locator('[data-diff="params"] tr.sdl-differs')
    keys = differs.evaluate_all("els => els.map(e => e.dataset.param)")
    assert {"lr", "width", "layers", "steps"} <= set(keys) and "batch_size" not in keys
    screenshot(page, "runs-compare", locator=browser)

    # Refresh picks up a new run
    run_code(page, "run3 = train(g, corpus, tok, steps=5, monitor=False, **settings); run3.wait(60); None")
    browser.locator('[data-action="refresh"]').click()
    page.wait_for_function(
        "() => document.querySelectorAll('.sdl-runs tbody tr[data-run-id]').length === 3", timeout=30_000
    )

    # a reloaded page: the live widgets come back from the kernel and ask for their full history once
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    open_notebook(page, lab_server, path)
    page.locator(".sdl-monitor").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.sdl-monitor path[data-series=\"loss\"]')?.dataset.points === '300'",
        timeout=30_000,
    )
    assert page.locator(".sdl-monitor").first.get_attribute("data-state") == "finished"
    assert page.sdl_errors == []
