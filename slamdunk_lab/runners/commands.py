"""``slamdunk-lab worker``, ``slamdunk-lab serve`` and ``slamdunk-lab cluster up|down|status``.

``cluster up`` starts, on this machine, whatever is missing of Redis, an MLflow tracking server
(``--serve-artifacts``), one worker and the HTTP API, each as its own process with a log file and a PID file
in the cluster folder (``$SLAMDUNK_CLUSTER_DIR`` or ``./.slamdunk-cluster``); ``cluster down`` stops exactly
the processes it started (by the PIDs it wrote, after checking each is still the process it started).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def add_commands(sub: Any, positive: Any) -> None:
    """Add the worker, serve and cluster subcommands to the ``slamdunk-lab`` parser."""
    p = sub.add_parser("worker", help="start a Celery worker that trains jobs sent with runner='celery'",
                       description="A Celery worker (solo pool, one job at a time) pinned to one device. "
                                   "Broker: $SLAMDUNK_REDIS_URL (default redis://127.0.0.1:6379/0).")
    p.add_argument("--device", default="cpu", help="the device this worker trains on: cpu (default), cuda, "
                                                   "cuda:1, mps")
    p.add_argument("--queues", default=None, help="comma-separated queues (default: gpu for cuda devices, "
                                                  "else cpu)")
    p.add_argument("--name", default=None, help="the worker's node name (default: <device>-<pid>@<host>)")
    p.add_argument("--redis", default=None, metavar="URL", help="Redis URL (default $SLAMDUNK_REDIS_URL)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("serve", help="start the HTTP API (the original project's endpoints and /api/v1)",
                       description="FastAPI + uvicorn. Binds 127.0.0.1 unless --host says otherwise; "
                                   "$SLAMDUNK_API_TOKENS turns on bearer tokens.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=positive, default=8000)
    p.add_argument("--redis", default=None, metavar="URL")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("cluster", help="start or stop Redis, MLflow, a worker and the API on this machine")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", default=None, help="where PIDs and logs go (default $SLAMDUNK_CLUSTER_DIR or "
                                               "./.slamdunk-cluster)")
    p.add_argument("--redis-port", type=positive, default=6379)
    p.add_argument("--mlflow-port", type=positive, default=5000)
    p.add_argument("--api-port", type=positive, default=8000)
    p.add_argument("--workers", type=positive, default=1)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_cluster)


# ------------------------------------------------------------------ worker
def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker in this process (never forks: solo pool) until Ctrl-C."""
    from ..cli import CommandError

    if args.redis:
        os.environ["SLAMDUNK_REDIS_URL"] = args.redis
    device = args.device
    try:
        _check_device(device)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    queues = [q.strip() for q in (args.queues or ("gpu" if device.startswith("cuda") else "cpu")).split(",")
              if q.strip()]
    os.environ["SLAMDUNK_WORKER_DEVICE"] = device
    from .store import JobStore
    from .workers import make_app, worker_argv

    try:
        JobStore().r.ping()
    except Exception as exc:  # noqa: BLE001
        raise CommandError(f"cannot reach Redis at {JobStore().url}: {exc}") from None
    app = make_app()
    app.worker_main(worker_argv(device, queues, args.name, args.loglevel))
    return 0


def _check_device(device: str) -> None:
    """The worker's device must exist here (checked before the worker takes any job)."""
    if device == "cpu":
        return
    if not device.startswith(("cuda", "mps")):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda, cuda:1 or mps")
    from ..training.trainer import resolve_device

    resolve_device(device)


# ------------------------------------------------------------------ serve
def cmd_serve(args: argparse.Namespace) -> int:
    from ..cli import CommandError

    if args.redis:
        os.environ["SLAMDUNK_REDIS_URL"] = args.redis
    try:
        import uvicorn

        from ..server.api import create_app
    except ImportError as exc:
        raise CommandError(f"the API needs the serve extra: pip install 'slamdunk-lab[serve]' ({exc})") from None
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0


# ------------------------------------------------------------------ cluster
def cluster_dir(given: str | None = None) -> Path:
    return Path(given or os.environ.get("SLAMDUNK_CLUSTER_DIR") or ".slamdunk-cluster").expanduser().resolve()


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _start(folder: Path, name: str, argv: list[str], env: dict | None = None) -> int:
    log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, start_new_session=True, cwd=folder)
    (folder / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "start": _start_time(proc.pid),
                                                    "argv": argv}))
    return proc.pid


def _start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _wait_port(port: int, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if _listening(port):
            return True
        time.sleep(0.2)
    return False


def cmd_cluster(args: argparse.Namespace) -> int:
    from ..cli import CommandError

    folder = cluster_dir(args.dir)
    if args.action == "down":
        stopped = cluster_down(folder)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (no process of this cluster runs)"))
        return 0
    if args.action == "status":
        for name, alive in cluster_status(folder).items():
            print(f"{name}: {'running' if alive else 'stopped'}")
        return 0
    try:
        started = cluster_up(folder, args.redis_port, args.mlflow_port, args.api_port, args.workers, args.device)
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None
    for line in started:
        print(line)
    print(f"in a notebook: sd.connect('redis://127.0.0.1:{args.redis_port}/0', "
          f"'http://127.0.0.1:{args.mlflow_port}'); logs and PIDs in {folder}")
    return 0


def cluster_up(folder: Path, redis_port: int = 6379, mlflow_port: int = 5000, api_port: int = 8000,
               workers: int = 1, device: str = "cpu") -> list[str]:
    """Start what is missing; returns one line per piece (started, or already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    mlflow_uri = f"http://127.0.0.1:{mlflow_port}"
    runs = Path(os.environ.get("SLAMDUNK_RUNS_DIR") or folder / "runs").resolve()
    env = {"SLAMDUNK_REDIS_URL": redis_url, "MLFLOW_TRACKING_URI": mlflow_uri, "SLAMDUNK_RUNS_DIR": str(runs)}
    if _listening(redis_port):
        lines.append(f"redis: already answering on port {redis_port}")
    else:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server), and nothing "
                               f"answers on port {redis_port}")
        _start(folder, "redis", [server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(folder)])
        if not _wait_port(redis_port, 10):
            raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}")
        lines.append(f"redis: started on port {redis_port}")
    if _listening(mlflow_port):
        lines.append(f"mlflow: already answering on port {mlflow_port}")
    else:
        store = folder / "mlflow"
        store.mkdir(exist_ok=True)
        _start(folder, "mlflow", [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                                  str(mlflow_port), "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                                  "--serve-artifacts", "--artifacts-destination", str(store / "artifacts"),
                                  "--workers", "1"])
        if not _wait_port(mlflow_port, 90):
            raise RuntimeError(f"the MLflow server did not start; see {folder / 'mlflow.log'}")
        lines.append(f"mlflow: started on port {mlflow_port} (artifacts served)")
    running = [n for n, alive in cluster_status(folder).items() if n.startswith("worker") and alive]
    for i in range(len(running), workers):
        _start(folder, f"worker-{i}", [sys.executable, "-m", "slamdunk_lab.cli", "worker", "--device", device,
                                       "--name", f"{device.replace(':', '')}-{i}@{socket.gethostname()}"], env)
        lines.append(f"worker-{i}: started on {device}")
    if running:
        lines.append(f"workers: {len(running)} already running")
    if _listening(api_port):
        lines.append(f"api: already answering on port {api_port}")
    else:
        _start(folder, "api", [sys.executable, "-m", "slamdunk_lab.cli", "serve", "--port", str(api_port)], env)
        if not _wait_port(api_port, 60):
            raise RuntimeError(f"the API did not start; see {folder / 'api.log'}")
        lines.append(f"api: started on http://127.0.0.1:{api_port} (docs at /docs)")
    return lines


def cluster_status(folder: Path) -> dict[str, bool]:
    return {p.stem: _ours(p) is not None for p in sorted(folder.glob("*.pid"))} if folder.is_dir() else {}


def _ours(pid_file: Path) -> int | None:
    """The PID in ``pid_file`` if that process is still the one we started (same start time), else None."""
    try:
        info = json.loads(pid_file.read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not Path(f"/proc/{pid}").exists() and sys.platform.startswith("linux"):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    if info.get("start") and _start_time(pid) not in ("", info["start"]):
        return None  # the PID was reused by another process
    return pid


def cluster_down(folder: Path, timeout: float = 20) -> list[str]:
    """Stop exactly the processes ``cluster up`` started (API and workers first, Redis last)."""
    order = {"api": 0, "worker": 1, "mlflow": 2, "redis": 3}
    files = sorted(folder.glob("*.pid"), key=lambda p: order.get(p.stem.split("-")[0], 9)) if folder.is_dir() else []
    stopped = []
    for pid_file in files:
        pid = _ours(pid_file)
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGTERM)  # its own session: the MLflow server's gunicorn workers too
            except OSError:
                os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + timeout
            while time.monotonic() < end and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

