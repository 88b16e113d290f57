"""Browser test: a run trained on a Celery worker, shown by the same monitor widget in a real JupyterLab."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from remote_harness import Cluster, redis_or_skip

from .lab import cell_errors, open_notebook, run_all_cells, run_code, run_json, screenshot, wait_until

pytestmark = pytest.mark.browser


def points(monitor) -> int:
    return int(monitor.locator(".sdl-monitor").get_attribute("data-points") or 0)


def state(monitor) -> str:
    return monitor.locator(".sdl-monitor").get_attribute("data-state") or ""


@pytest.fixture
def worker(tmp_path):
    client = redis_or_skip()
    c = Cluster(tmp_path)
    c.start_worker("lab-worker")
    try:
        c.wait_ready("lab-worker")
        yield c
    finally:
        c.close(client)


def test_a_run_on_a_worker_shows_in_the_notebook_monitor_like_a_local_one(page, lab_server, worker):
    path = lab_server.copy_notebook("monitor_train.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    env = {k: worker.env[k] for k in ("SLAMDUNK_REDIS_URL", "SLAMDUNK_REDIS_PREFIX", "SLAMDUNK_RUNS_DIR",
                                      "SLAMDUNK_CACHE_DIR", "SLAMDUNK_HEARTBEAT_TTL")}
    run_code(page, f"os.environ.update({json.dumps(env)}); sd.connect(); remote = dict(settings); "
                   f"remote.pop('_hooks')")
    t0 = time.monotonic()
    run_code(page, "run = sd.train(g, corpus, tok, steps=1500, name='remote', mlflow=False, **remote)")
    assert time.monotonic() - t0 < 20  # returns at once: the worker trains
    monitor = page.locator(".sdl-monitor-root").last
    monitor.wait_for(timeout=30_000)
    monitor.evaluate("el => el.scrollIntoView({block: 'center'})")
    wait_until(lambda: points(monitor) >= 20 and state(monitor) == "running", 120, message="live points")
    assert run_json(page, "[run.runner, run.worker]") == ["celery", "lab-worker@test"]
    screenshot(page, "monitor-remote-live", locator=monitor)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sdl-monitor')].pop()?.dataset.state === 'finished'",
        timeout=240_000)
    assert monitor.locator(".sdl-monitor-status").inner_text() == "finished at step 1500"
    assert monitor.locator('path[data-series="loss"]').get_attribute("data-points") == "1500"
    assert monitor.locator('path[data-series="val_loss"]').get_attribute("data-points") == "30"
    assert monitor.locator('[data-figure="steps"]').inner_text() == "1500/1500"
    assert monitor.locator('[data-action="stop"]').is_disabled()
    assert run_json(page, "[run.status, run.step, len(run.history)]")[:2] == ["finished", 1500]
    screenshot(page, "monitor-remote-finished", locator=monitor)

    # the Stop button of a remote run: the worker finishes its step, checkpoints and stops
    run_code(page, "run2 = sd.train(g, corpus, tok, steps=100000, name='remote-stop', mlflow=False, **remote)")
    second = page.locator(".sdl-monitor-root").last
    second.wait_for(timeout=30_000)
    second.evaluate("el => el.scrollIntoView({block: 'center'})")
    wait_until(lambda: points(second) >= 10, 120, message="the second run's points")
    second.locator('[data-action="stop"]').click()
    wait_until(lambda: state(second) == "stopped", 60, message="the stop to take effect")
    status, step, last = run_json(page, "[run2.status, run2.step, run2.last_checkpoint]")
    assert status == "stopped" and last.endswith(f"step-{step:06d}")
