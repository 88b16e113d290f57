"""Fixtures for browser tests: a real JupyterLab server and Playwright Chromium.

Needs: Debian's ``chromium`` (/usr/bin/chromium), ``pip install playwright``
(its bundled driver only; no downloaded browsers), jupyterlab + anywidget,
and the front end built by ``npm run build``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from .lab import REPO, LabServer

CHROMIUM = Path(os.environ.get("SLAMDUNK_CHROMIUM", "/usr/bin/chromium"))
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real JupyterLab in headless Chromium (slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install playwright)"
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_frontend_built() -> None:
    missing = [
        p
        for p in (
            *(REPO / f"slamdunk_lab/static/{view}.{ext}" for view in ("canvas", "monitor", "playground", "runs")
              for ext in ("js", "css")),
            REPO / "slamdunk_lab/labextension/package.json",
        )
        if not p.exists()
    ]
    if missing:
        pytest.fail(f"front end not built ({', '.join(map(str, missing))}); run `npm ci && npm run build`")


def _start_jupyter(base: Path, app: str, server_python: str = sys.executable):
    """Start JupyterLab (app="lab") or Notebook 7 (app="notebook") in ``base``; yields a LabServer.

    ``server_python`` runs the server (another venv's, for another JupyterLab version); kernels always run in
    this interpreter, through a ``python3`` kernel spec that points here."""
    _check_frontend_built()
    root = base / "root"
    shutil.copytree(NOTEBOOKS, root)
    data = base / "data"
    (data / "labextensions").mkdir(parents=True)
    # the extension comes from the repo's build output, whether or not the package is installed
    (data / "labextensions" / "slamdunk-lab").symlink_to(REPO / "slamdunk_lab" / "labextension")
    app_settings = base / "app-settings"
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "fetchNews": "false",
                    "checkForUpdates": False,
                },
            }
        )
    )
    for d in ("config", "runtime", "user-settings", "workspaces", "ipython"):
        (base / d).mkdir()
    if server_python != sys.executable:
        spec = data / "kernels" / "python3"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (ipykernel)",
                                                      "language": "python"}))

    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_PATH=str(data),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    env.setdefault("SLAMDUNK_EXAMPLE_STEPS", "60")  # the example notebook trains briefly in tests
    # The kernels should behave as in a student's JupyterLab, not as in CI (where sd.train blocks).
    env.pop("CI", None)
    env.pop("SLAMDUNK_BACKGROUND", None)
    cls = "LabApp" if app == "lab" else "JupyterNotebookApp"
    module = "jupyterlab" if app == "lab" else "notebook"
    log_path = base / f"{app}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            server_python,
            "-m",
            module,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--{cls}.expose_app_in_browser=True",
            f"--{cls}.app_settings_dir={app_settings}",
            f"--{cls}.user_settings_dir={base / 'user-settings'}",
            f"--{cls}.workspaces_dir={base / 'workspaces'}",
        ]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            log.flush()
            raise RuntimeError(f"{module} exited early:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{module} did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.3)

    try:
        yield LabServer(url=url, token=token, root_dir=root, app=app)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        log.close()
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shutil.copy(log_path, artifacts / log_path.name)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on a random free port, with a token and a temp root dir holding copies of
    tests/browser/notebooks; the labextension is loaded from the repo's build output; the
    news pop-up is off; ``window.jupyterapp`` is exposed."""
    yield from _start_jupyter(tmp_path_factory.mktemp("jupyterlab"), "lab")


@pytest.fixture(scope="session")
def oldest_lab_server(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab 4.0.x, the oldest the extension supports, from the venv whose Python is
    ``$SLAMDUNK_OLDEST_LAB_PYTHON`` (``make test-lab-oldest`` builds it); skipped when it is not set."""
    python = os.environ.get("SLAMDUNK_OLDEST_LAB_PYTHON")
    if not python:
        pytest.skip("SLAMDUNK_OLDEST_LAB_PYTHON is not set (make test-lab-oldest sets it)")
    yield from _start_jupyter(tmp_path_factory.mktemp("jupyterlab-oldest"), "lab", server_python=python)


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory):
    """The same for Notebook 7 (skips when the ``notebook`` package is not installed)."""
    pytest.importorskip("notebook", minversion="7")
    yield from _start_jupyter(tmp_path_factory.mktemp("notebook7"), "notebook")


@pytest.fixture(scope="session")
def browser_context():
    """Headless Debian Chromium via Playwright's bundled driver, fresh user-data dir."""
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="sdl-chromium-")
    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            user_data,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000},
        )
        yield ctx
        ctx.close()
    finally:
        pw.stop()
        shutil.rmtree(user_data, ignore_errors=True)


@pytest.fixture
def page(browser_context, request: pytest.FixtureRequest):
    """A fresh tab; page errors are collected in ``page.sdl_errors``; on failure a screenshot is saved."""
    from .lab import screenshot

    p = browser_context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack or ''}"[:2000]))
    p.sdl_errors = errors  # type: ignore[attr-defined]
    console: list[str] = []
    p.on(
        "console",
        lambda m: console.append(f"[{m.type}] {m.text}") if m.type in ("error", "warning") else None,
    )
    p.sdl_console = console  # type: ignore[attr-defined]
    yield p
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            screenshot(p, f"FAILED-{request.node.name}")
        except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the test failure
            print(f"could not save a failure screenshot: {exc}")
    if console:
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        with open(artifacts / "browser-console.log", "a") as f:
            f.write(f"== {request.node.name}\n" + "\n".join(console) + "\n")
    p.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
