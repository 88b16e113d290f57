"""The example notebook, opened and run in a real JupyterLab as a student would (issue 4, items 8 and 9)."""

from __future__ import annotations

import shutil
import uuid

import pytest

from .lab import REPO, cell_errors, open_notebook, run_all_cells, run_code, screenshot, wait_for_widget

pytestmark = pytest.mark.browser


def test_example_notebook_runs_in_jupyterlab(page, lab_server):
    name = f"example-{uuid.uuid4().hex[:8]}.ipynb"
    shutil.copy(REPO / "examples" / "01_build_train_generate.ipynb", lab_server.root_dir / name)
    open_notebook(page, lab_server, name)
    # a short run: the kernel inherits SLAMDUNK_EXAMPLE_STEPS from the test's JupyterLab (see conftest)
    run_all_cells(page, timeout=300_000)
    assert cell_errors(page) == []
    wait_for_widget(page, ".sdl-canvas-root")
    monitor = wait_for_widget(page, ".sdl-monitor-root")  # sd.train showed the monitor by itself
    page.wait_for_function(
        "() => (document.querySelector('.sdl-monitor-status')?.textContent || '').startsWith('finished')",
        timeout=120_000,
    )
    assert monitor.locator('path[data-series="loss"]').count() == 1
    wait_for_widget(page, ".sdl-playground-root")
    assert run_code(page, "print(run.status, run.mlflow_run_id is not None)").strip() == "finished True"
    outputs = run_code(page, "print(namespace['build_model'].__module__, exported.training)")
    assert outputs.strip() == "exported_design False"
    monitor.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "example-notebook-monitor")
