"""`make lab`: starts JupyterLab on examples/ as any user (root too), passes ARGS through, prints no stack trace,
and leaves the Hugging Face hub usable (only the tests switch it off)."""

from __future__ import annotations

import os
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

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(*args: str, user: list[str] | None = None) -> str:
    out = subprocess.run([*(user or []), "make", "-n", "-C", str(REPO), *args], capture_output=True, text=True,
                         check=True, env={**os.environ, "MAKEFLAGS": ""})
    return out.stdout


def _lab_line(text: str) -> str:
    return next(line for line in text.splitlines() if "jupyter lab" in line)


def _installed() -> bool:
    """Whether `make lab` would start JupyterLab at once (the venv is this interpreter's and up to date)."""
    if not (VENV / "bin" / "jupyter").exists() or Path(sys.prefix).resolve() != VENV.resolve():
        return False
    return subprocess.run(["make", "-q", "-C", str(REPO), "install"], check=False,
                          capture_output=True).returncode == 0


def test_lab_passes_args_through_and_allows_root():
    line = _lab_line(_dry_run("lab", 'ARGS=--port 8899 --no-browser'))
    assert "jupyter lab --notebook-dir=examples" in line
    assert line.rstrip().endswith("--port 8899 --no-browser")
    assert ("--allow-root" in line) == (os.geteuid() == 0)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_lab_as_another_user_does_not_pass_allow_root():
    # the same Makefile read by an ordinary user (uid 65534), in a folder that user can read: no --allow-root
    make_dir = Path(tempfile.mkdtemp(prefix="sdl-make-"))
    try:
        shutil.copy(REPO / "Makefile", make_dir / "Makefile")
        make_dir.chmod(0o755)
        (make_dir / "Makefile").chmod(0o644)
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "make", "-n", "-C",
                              str(make_dir), "-o", "install", "lab", "ARGS=--no-browser"],
                             check=False, capture_output=True, text=True, env={**os.environ, "MAKEFLAGS": ""})
    finally:
        shutil.rmtree(make_dir)
    assert out.returncode == 0, out.stderr
    line = _lab_line(out.stdout)
    assert "--allow-root" not in line and line.rstrip().endswith("--no-browser")


def test_only_the_tests_switch_the_hub_off():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    offline = [line for line in makefile.splitlines() if "HF_HUB_OFFLINE" in line and not line.startswith("#")]
    assert offline == ["test test-python test-lowest bench: export HF_HUB_OFFLINE ?= 1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not _installed(), reason="needs this checkout's .venv, installed and up to date")
def test_make_lab_starts_jupyterlab_without_a_stack_trace(tmp_path):
    port = _free_port()
    env = {**os.environ, "MAKEFLAGS": "", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "-C", str(REPO), "lab", f"ARGS=--port {port} --no-browser --ServerApp.port_retries=0"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"make lab exited:\n{log.read_text()[-3000:]}"
            try:
                # the lab page itself (not just the API): JupyterLab's handlers have run
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                    pass
                break
            except urllib.error.HTTPError:  # 403 without a token: the server is up
                break
            except OSError:
                assert time.monotonic() < deadline, f"no JupyterLab on port {port}:\n{log.read_text()[-3000:]}"
                time.sleep(0.3)
        time.sleep(2)  # start-up work that runs after the port opens (the yarn configuration, extensions)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = log.read_text()
    assert f":{port}/lab" in text
    command = next(line for line in text.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    for bad in ("Traceback", "Error:", "Fail to get yarn configuration", "[E "):
        assert bad not in text, f"{bad!r} in the start-up output:\n{text[-4000:]}"
