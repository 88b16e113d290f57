"""Helpers to drive a real JupyterLab in Chromium (Playwright, sync API).

Every helper takes a Playwright ``Page`` showing JupyterLab started with
``expose_app_in_browser`` (``window.jupyterapp``).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    root_dir: Path
    app: str = "lab"  # or "notebook" (Notebook 7)

    def lab_url(self, path: str = "") -> str:
        if self.app == "notebook":
            page = f"/notebooks/{path}" if path else "/tree"
            return f"{self.url}{page}?token={self.token}"
        suffix = f"/tree/{path}" if path else ""
        # `reset` starts from a clean workspace (no tabs restored from earlier tests)
        return f"{self.url}/lab{suffix}?reset&token={self.token}"

    def copy_notebook(self, name: str, tag: str) -> str:
        """Copy notebook ``name`` (in the root dir) to a fresh file for one test; returns its path."""
        src = self.root_dir / name
        dst = self.root_dir / f"{src.stem}-{tag}{src.suffix}"
        shutil.copy(src, dst)
        return dst.name


def screenshot(page: Any, name: str, *, full_page: bool = False, locator: Any = None) -> Path:
    """Save a PNG under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    if locator is not None:
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_for_app(page: Any, timeout: float = 60_000) -> None:
    """Wait until JupyterLab has started and restored its layout."""
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=timeout)
    page.evaluate("() => window.jupyterapp.restored")
    page.wait_for_selector("#jp-main-dock-panel, #main-panel", timeout=timeout)


def open_lab(page: Any, server: LabServer, path: str = "") -> None:
    page.goto(server.lab_url(path))
    wait_for_app(page)


def wait_kernel_idle(page: Any, timeout: float = 120_000) -> None:
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return !!k && k.status === 'idle';
        }""",
        timeout=timeout,
    )


def open_notebook(page: Any, server: LabServer, path: str) -> None:
    """Open ``path`` (relative to the server root) and wait for an idle kernel."""
    open_lab(page, server, path)
    page.wait_for_function(
        """(path) => {
            const w = window.jupyterapp.shell.currentWidget;
            return !!w && !!w.content && !!w.context && w.context.path === path && w.context.isReady;
        }""",
        arg=path,
        timeout=60_000,
    )
    wait_kernel_idle(page)


def cell_count(page: Any) -> int:
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")


def cell_sources(page: Any) -> list[str]:
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.sharedModel.getSource())"
    )


def run_all_cells(page: Any, timeout: float = 180_000) -> None:
    """Run every cell and wait until each code cell has an execution count."""
    n = cell_count(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """(n) => {
            const cells = window.jupyterapp.shell.currentWidget.content.widgets.slice(0, n);
            return cells.every(c => c.model.type !== 'code' || c.model.executionCount !== null);
        }""",
        arg=n,
        timeout=timeout,
    )
    wait_kernel_idle(page)


def cell_errors(page: Any) -> list[str]:
    """Texts of error outputs in the current notebook."""
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code')
            .flatMap(c => { const o = c.model.outputs; const r = [];
                for (let i = 0; i < o.length; i++) { const j = o.get(i).toJSON();
                    if (j.output_type === 'error') r.push(j.ename + ': ' + j.evalue); }
                return r; })"""
    )


def start_code(page: Any, code: str, wait: bool = False) -> str:
    """Append a code cell at the end and run it; returns the cell's model id (it stays valid if running the
    cell inserts cells above it). ``wait`` waits for the run command to be accepted, not for the cell."""
    return page.evaluate(
        """async ([code, wait]) => {
            const app = window.jupyterapp;
            const nb = app.shell.currentWidget.content;
            const index = nb.widgets.length;
            nb.model.sharedModel.insertCell(index, {cell_type: 'code', source: code});
            nb.activeCellIndex = index;
            nb.deselectAll();
            const id = nb.widgets[index].model.id;
            const running = app.commands.execute('notebook:run-cell');
            if (wait) await running;
            return id;
        }""",
        [code, wait],
    )


def run_code(page: Any, code: str, timeout: float = 60_000) -> str:
    """Append a code cell at the end, run it, and return its text output."""
    cell_id = start_code(page, code, wait=True)
    find = "window.jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.id === id)"
    page.wait_for_function(
        f"(id) => {{ const c = {find}; return !!c && c.model.executionCount !== null; }}",
        arg=cell_id,
        timeout=timeout,
    )
    wait_kernel_idle(page)
    outputs = page.evaluate(
        f"""(id) => {{ const o = {find}.model.outputs;
                    const r = []; for (let k = 0; k < o.length; k++) r.push(o.get(k).toJSON()); return r; }}""",
        cell_id,
    )
    text = []
    for out in outputs:
        if out.get("output_type") == "stream":
            text.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        elif out.get("output_type") == "error":
            raise AssertionError(f"cell raised {out['ename']}: {out['evalue']}")
        elif "data" in out:
            text.append(str(out["data"].get("text/plain", "")))
    return "".join(text)


def run_json(page: Any, expr: str) -> Any:
    """Evaluate a Python expression in the notebook's kernel and return it (via JSON)."""
    out = run_code(page, f"import json as _j; print(_j.dumps({expr}))")
    return json.loads(out.strip().splitlines()[-1])


def wait_for_widget(page: Any, selector: str = ".sdl-canvas-root", timeout: float = 60_000) -> Any:
    """Wait for a SLaM Dunk widget view to render; returns its locator."""
    loc = page.locator(selector).first
    loc.wait_for(state="visible", timeout=timeout)
    return loc


def wait_until(
    predicate: Any, timeout: float = 20.0, interval: float = 0.2, message: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)
