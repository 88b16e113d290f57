"""The JupyterLab extension and the widgets on the oldest JupyterLab we support (4.0.x) and on the newest.

The newest is this venv's JupyterLab; the oldest runs from a second small venv (``make test-lab-oldest`` builds it
and sets ``$SLAMDUNK_OLDEST_LAB_PYTHON``), with kernels from this venv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest

from .lab import (
    cell_count,
    cell_errors,
    cell_sources,
    open_lab,
    open_notebook,
    run_all_cells,
    screenshot,
    wait_for_widget,
)

pytestmark = pytest.mark.browser

SERVERS = ["oldest_lab_server", "lab_server"]


def _server_python(server_fixture: str) -> str:
    return os.environ["SLAMDUNK_OLDEST_LAB_PYTHON"] if server_fixture == "oldest_lab_server" else sys.executable


def _labextension_list(server, server_fixture: str) -> str:
    """``jupyter labextension list`` of the server's JupyterLab, seeing the extension the server loads."""
    env = {**os.environ, "JUPYTER_PATH": str(server.root_dir.parent / "data")}
    proc = subprocess.run([_server_python(server_fixture), "-m", "jupyter", "labextension", "list"], env=env, check=False,
                          capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_extension_loads_without_a_compatibility_warning(page, request, server_fixture):
    server = request.getfixturevalue(server_fixture)
    # JupyterLab compares the extension's @jupyterlab/* ranges with its own packages: a range it does not
    # satisfy is listed as incompatible (and flagged in the extension manager)
    listing = _labextension_list(server, server_fixture)
    assert re.search(r"slamdunk-lab v\S+ enabled\s+OK", listing), listing
    assert "incompatible" not in listing and "outdated" not in listing, listing
    open_lab(page, server)
    version = page.evaluate("() => window.jupyterapp.version")
    if server_fixture == "oldest_lab_server":
        assert version.startswith("4.0."), version
    info = page.evaluate("""() => ({
        active: window.jupyterapp.isPluginActivated('slamdunk-lab:plugin'),
        commands: ['slamdunk-lab:insert-cell-below', 'slamdunk-lab:new-notebook']
            .map(c => window.jupyterapp.commands.hasCommand(c)),
    })""")
    assert info == {"active": True, "commands": [True, True]}
    card = page.locator('.jp-LauncherCard[title="SLaM Dunk Lab"]')
    card.wait_for(state="visible", timeout=30_000)
    # a shared package the page cannot satisfy would print a module-federation "Unsatisfied version" warning
    assert not [m for m in page.sdl_console if "slamdunk" in m.lower() and "version" in m.lower()]
    screenshot(page, f"lab-{version}-launcher")
    assert page.sdl_errors == []


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_canvas_renders_and_the_extension_inserts_a_cell(page, request, server_fixture):
    server = request.getfixturevalue(server_fixture)
    path = server.copy_notebook("canvas_skeleton.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    root = wait_for_widget(page)
    page.locator(".react-flow__node").first.wait_for(state="visible")
    assert page.locator(".react-flow__node").count() == 8
    before = cell_count(page)
    anchor = root.get_attribute("data-slamdunk-model-id")
    page.evaluate("""(anchor) => window.jupyterapp.commands.execute('slamdunk-lab:insert-cell-below',
                                 {code: 'print("from the extension")', anchor})""", anchor)
    page.wait_for_function("(n) => window.jupyterapp.shell.currentWidget.content.widgets.length > n",
                           arg=before, timeout=20_000)
    assert 'print("from the extension")' in cell_sources(page)
    version = page.evaluate("() => window.jupyterapp.version")
    screenshot(page, f"lab-{version}-canvas")
    assert page.sdl_errors == []
