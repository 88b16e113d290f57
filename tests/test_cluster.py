"""slamdunk-lab cluster up/down on one machine, and artifacts across machines through an MLflow tracking server
with --serve-artifacts: a client loads a finished model by run id when it cannot see the checkpoint folder."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from remote_harness import Cluster, redis_or_skip, wait_for

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slamdunk_lab.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def test_cluster_up_trains_with_mlflow_artifacts_and_down_stops_exactly_its_processes(tmp_path, monkeypatch,
                                                                                     one_torch_thread):
    client = redis_or_skip()
    c = Cluster(tmp_path)
    mlflow_port, api_port = free_port(), free_port()
    folder = tmp_path / "cluster"
    env = {**c.env, "SLAMDUNK_CLUSTER_DIR": str(folder)}
    try:
        up = cli(env, "cluster", "up", "--mlflow-port", str(mlflow_port), "--api-port", str(api_port))
        assert up.returncode == 0, up.stdout + up.stderr
        assert "redis: already answering on port 6379" in up.stdout  # it starts only what is missing
        assert f"mlflow: started on port {mlflow_port}" in up.stdout and "worker-0: started" in up.stdout
        pids = {p.stem: json.loads(p.read_text())["pid"] for p in folder.glob("*.pid")}
        assert set(pids) == {"mlflow", "worker-0", "api"}
        again = cli(env, "cluster", "up", "--mlflow-port", str(mlflow_port), "--api-port", str(api_port))
        assert "workers: 1 already running" in again.stdout and "api: already answering" in again.stdout

        c.apply(monkeypatch)
        monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(folder / "runs"))
        sd.connect(c.env["SLAMDUNK_REDIS_URL"], f"http://127.0.0.1:{mlflow_port}")
        corpus = data.synthetic("reverse", n=300)
        tok = tokenizers.char(corpus)
        g = sd.template("gpt2", size="tiny", n_layer=1, d_model=16, n_head=2, context=16, vocab_size=tok.vocab_size)
        run = sd.train(g, corpus, tok, steps=10, batch_size=4, context=16, eval_every=5, eval_batches=2,
                       sample_every=10, checkpoint_every=5, background=True, progress=False)
        assert run.runner == "celery"
        run.wait(240)
        assert run.status == "finished" and run.mlflow_run_id, cli(env, "cluster", "status").stdout
        table = sd.runs()
        row = table[table["run_id"] == run.mlflow_run_id].iloc[0]
        assert row["status"] == "finished" and row["worker"].startswith("cpu-0@") and row["step"] == 10
        browser = sd.runs(widget=True)  # the runs browser lists the remote run with its worker
        shown = next(r for r in browser.rows if r["run_id"] == run.mlflow_run_id)
        assert shown["worker"] == row["worker"] and shown["status"] == "finished"
        expected = run.model.state_dict()
        shutil.rmtree(Path(run.checkpoint_dir))  # as seen from another machine: no shared runs folder
        model, loaded_tok = sd.load_run(run.mlflow_run_id)  # downloaded from the server's artifacts
        assert loaded_tok.vocab_size == tok.vocab_size
        for k, v in model.state_dict().items():
            assert v.equal(expected[k]), k

        # a remote run stopped and resumed on a worker is one run as the student sees it: one row, two segments
        long = sd.train(g, corpus, tok, steps=120, batch_size=4, context=16, eval_every=0, sample_every=0,
                        checkpoint_every=5, background=True, progress=False, name="remote-lineage")
        wait_for(lambda: long.step >= 6 or long.status not in ("queued", "running"), 240, "a few steps")
        long.stop()
        long.wait(120)
        assert long.status == "stopped" and 6 <= long.step < 120, (long.status, long.step)
        rest = sd.resume(long, background=True, progress=False)
        assert rest.runner == "celery"
        rest.wait(240)
        assert rest.status == "finished" and rest.step == 120 and rest.start_step == long.step
        assert rest.resumed_from == long.last_checkpoint  # the checkpoint the worker loaded, not the run folder
        table = sd.runs()
        mine = table[table["experiment"] == "remote-lineage"]
        assert list(mine.run_id) == [rest.mlflow_run_id], table[["run_id", "name", "status", "step"]]
        row = mine.iloc[0]
        assert row["status"] == "finished" and row["step"] == 120 and row["worker"].startswith("cpu-0@")
        assert [(s["run_id"], s["status"], s["start_step"], s["step"]) for s in row["segments"]] == [
            (long.mlflow_run_id, "stopped", 0, long.step), (rest.mlflow_run_id, "finished", long.step, 120)]
    finally:
        sd.session.disconnect()
        os.environ.pop("MLFLOW_TRACKING_URI", None) if os.environ.get("MLFLOW_TRACKING_URI", "").endswith(
            str(mlflow_port)) else None
        down = cli(env, "cluster", "down")
        c.close(client)
    assert down.returncode == 0 and set(down.stdout.split(": ", 1)[1].strip().split(", ")) == {
        "api", "worker-0", "mlflow"}
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert client.ping()  # the Redis it found running is left alone
    assert not list(folder.glob("*.pid"))


def test_compose_runs_the_same_pieces_and_reserves_a_gpu():
    yaml = pytest.importorskip("yaml")
    root = Path(__file__).resolve().parents[1]
    doc = yaml.safe_load((root / "compose.yaml").read_text())
    services = doc["services"]
    assert set(services) == {"redis", "mlflow", "api", "worker-cpu", "worker-gpu"}
    assert "--serve-artifacts" in services["mlflow"]["command"]
    assert services["worker-cpu"]["command"] == ["slamdunk-lab", "worker", "--device", "cpu"]
    gpu = services["worker-gpu"]
    assert gpu["command"][-1] == "cuda:0" and gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)  # loopback only
        if name != "redis":
            assert service["environment"]["SLAMDUNK_REDIS_URL"] == "redis://redis:6379/0"
    assert (root / "docker" / "Dockerfile").read_text().count("slamdunk") >= 1
