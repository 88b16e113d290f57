"""A real Redis and real worker processes for the remote-run tests (no eager mode, no mocks).

Each test session works under its own Redis key prefix (``slamdunk-test-<random>:``), Celery's queues
included, and deletes only its own keys afterwards; the shared database is never flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("SLAMDUNK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip():
    redis = pytest.importorskip("redis")
    pytest.importorskip("celery")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); .ci/run starts one")
    return client


class Cluster:
    """Environment and processes of one test session's workers."""

    def __init__(self, root: Path, heartbeat_ttl: float = 8.0):
        self.root = root
        self.prefix = f"slamdunk-test-{uuid.uuid4().hex[:10]}:"
        self.env = {**os.environ, "SLAMDUNK_REDIS_URL": REDIS_URL, "SLAMDUNK_REDIS_PREFIX": self.prefix,
                    "SLAMDUNK_RUNS_DIR": str(root / "runs"), "SLAMDUNK_CACHE_DIR": str(root / "cache"),
                    "SLAMDUNK_HEARTBEAT_TTL": str(heartbeat_ttl), "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.env.pop("MLFLOW_TRACKING_URI", None)
        self.workers: dict[str, subprocess.Popen] = {}

    def apply(self, mp: pytest.MonkeyPatch) -> None:
        for key in ("SLAMDUNK_REDIS_URL", "SLAMDUNK_REDIS_PREFIX", "SLAMDUNK_RUNS_DIR", "SLAMDUNK_CACHE_DIR",
                    "SLAMDUNK_HEARTBEAT_TTL"):
            mp.setenv(key, self.env[key])

    def start_worker(self, name: str, queues: str = "cpu", **env: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - the worker writes it until it ends
        proc = subprocess.Popen([sys.executable, "-m", "slamdunk_lab.cli", "worker", "--device", "cpu",
                                 "--queues", queues, "--name", f"{name}@test", "--loglevel", "INFO"],
                                stdout=log, stderr=subprocess.STDOUT, env={**self.env, **env}, cwd=self.root)
        self.workers[name] = proc
        return proc

    def wait_ready(self, *names: str, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        for name in names:
            log = self.root / f"{name}.log"
            while b" ready." not in log.read_bytes():
                if self.workers[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited:\n{log.read_text(errors='replace')[-3000:]}")
                if time.monotonic() > end:
                    raise TimeoutError(f"worker {name} not ready:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        proc = self.workers.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def close(self, client) -> None:
        for proc in self.workers.values():
            proc.terminate()
        for proc in self.workers.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])


def wait_for(predicate, timeout: float, what: str, step: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
