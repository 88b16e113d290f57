"""Remote runs: Celery workers over Redis against training in the kernel, event latency, many jobs, many readers.

Starts its own worker processes (``slamdunk-lab worker``) and HTTP API (``slamdunk-lab serve``) under a private
Redis key prefix on ``$SLAMDUNK_REDIS_URL`` (default 127.0.0.1:6379/0), and prints:

1. throughput: the same job (GPT-2 tiny at 4 layers × 128 by default, context 64, batch 12, char vocab, synthetic
   arithmetic text) in this process with ``sd.train`` and on a worker, tokens/s from each run's
   ``Finished.elapsed`` (the training loop) and end to end (submit → final event in the notebook), as the median
   of paired ratios over interleaved repeats (goal: worker/local ≥ 0.97);
2. event latency from the worker's ``XADD`` (the event's own timestamp) to the notebook's reader thread and to an
   SSE client of the API, p50 and p99 over every event of the remote runs (goal: p99 < 250 ms on loopback);
3. 20 jobs queued at once on 2 workers: all finish, wall time, jobs per worker;
4. 100 SSE clients on one run: every client gets every event once, in order.

Both sides train with the same number of torch threads (``--threads``, default 2; the worker gets it through
OMP_NUM_THREADS).

    .venv/bin/python bench/bench_remote.py [--steps 300] [--repeats 3] [--threads 2] [--jobs 20] [--clients 100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers

REDIS_URL = os.environ.get("SLAMDUNK_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self, root: Path, threads: int):
        self.root = root
        self.prefix = f"slamdunk-bench-{uuid.uuid4().hex[:8]}:"
        self.env = {**os.environ, "SLAMDUNK_REDIS_URL": REDIS_URL, "SLAMDUNK_REDIS_PREFIX": self.prefix,
                    "SLAMDUNK_RUNS_DIR": str(root / "runs"), "SLAMDUNK_CACHE_DIR": str(root / "cache"),
                    "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
        self.env.pop("MLFLOW_TRACKING_URI", None)
        self.procs: list[subprocess.Popen] = []
        for key in ("SLAMDUNK_REDIS_URL", "SLAMDUNK_REDIS_PREFIX", "SLAMDUNK_RUNS_DIR", "SLAMDUNK_CACHE_DIR"):
            os.environ[key] = self.env[key]

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "slamdunk_lab.cli", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=self.env, cwd=self.root)
        self.procs.append(proc)
        return proc

    def worker(self, name: str) -> None:
        self.start(name, "worker", "--device", "cpu", "--name", f"{name}@bench")

    def wait_ready(self, *names: str) -> None:
        for name in names:
            while b" ready." not in (self.root / f"{name}.log").read_bytes():
                time.sleep(0.2)

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # a worker waits for its job to end: not here
                proc.kill()
        from slamdunk_lab.runners.store import JobStore

        r = JobStore().r
        keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i:i + 500])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def sse_reader(port: int, path: str, out: list, ready: threading.Event | None = None) -> None:
    """Collect (stream id, event dict, receipt time) of one SSE connection until the server ends it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path)
    resp = conn.getresponse()
    if ready is not None:
        ready.set()
    ident = None
    while True:
        line = resp.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            out.append((ident, json.loads(line[6:]), time.time()))
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--sse-steps", type=int, default=3000, help="steps of the run the SSE clients follow")
    ap.add_argument("--job-steps", type=int, default=100, help="steps of each of the queued jobs")
    ap.add_argument("--parts", default="1234", help="which measurements to make (1+2 go together)")
    args = ap.parse_args()
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:  # noqa: BLE001
        print(f"skipped: no Redis at {REDIS_URL} ({exc})")
        return
    import torch

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    b = Bench(root, args.threads)
    try:
        run_all(b, args)
    finally:
        b.close()


def run_all(b: Bench, args) -> None:
    corpus = data.synthetic("arithmetic", n=20_000)
    tok = tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", n_layer=args.layers, n_head=4, d_model=args.width, context=64,
                    vocab_size=tok.vocab_size)
    settings = {"batch_size": 12, "context": 64, "eval_every": 0, "sample_every": 0, "checkpoint_every": 0,
                "mlflow": False, "progress": False}
    tokens = args.steps * 12 * 64
    b.worker("w1")
    b.worker("w2")
    port = free_port()
    b.start("api", "serve", "--port", str(port))
    b.wait_ready("w1", "w2")
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    print(f"torch threads {args.threads}, {args.steps} steps × {12 * 64} tokens; Redis {REDIS_URL}")

    # warm-up: the worker imports torch with its first job, the token caches fill
    sd.train(g, corpus, tok, steps=5, runner="celery", background=True, **settings).wait()
    sd.train(g, corpus, tok, steps=5, background=False, **settings)

    # 1 + 2: throughput and latency
    ratios, e2e_ratios, notebook_lat, sse_lat = [], [], [], []
    for i in range(args.repeats if "1" in args.parts or "2" in args.parts else 0):
        t0 = time.perf_counter()
        local = sd.train(g, corpus, tok, steps=args.steps, background=False, **settings)
        local_wall = time.perf_counter() - t0
        local_tps = tokens / local.events[-1].elapsed
        seen: list[tuple[float, float]] = []
        t0 = time.perf_counter()
        remote = sd.train(g, corpus, tok, steps=args.steps, runner="celery", background=True, **settings)
        remote.subscribe(lambda e: None)
        received: list = []
        reader = threading.Thread(target=sse_reader, args=(port, f"/api/v1/runs/{remote.id}/events", received))
        reader.start()
        orig_record = remote.record

        def timed(event, _orig=orig_record, seen=seen):
            seen.append((event.time, time.time()))
            _orig(event)

        remote.record = timed  # the reader thread calls it as each event arrives
        remote.wait()
        remote_wall = time.perf_counter() - t0
        reader.join(60)
        remote_tps = tokens / remote.events[-1].elapsed
        ratios.append(remote_tps / local_tps)
        e2e_ratios.append(local_wall / remote_wall)
        notebook_lat += [(got - made) * 1000 for made, got in seen]
        sse_lat += [(got - ev["time"]) * 1000 for _, ev, got in received if "time" in ev]
        print(f"  repeat {i + 1}: local {local_tps / 1000:.1f}k tok/s ({local_wall:.1f} s wall), worker "
              f"{remote_tps / 1000:.1f}k tok/s ({remote_wall:.1f} s wall, {remote.worker})")
    if ratios:
        print(f"1. throughput worker/local: median {statistics.median(ratios):.3f} (training loop), "
              f"{statistics.median(e2e_ratios):.3f} end to end incl. queueing and set-up (goal ≥ 0.97)")
        print(f"2. event latency XADD → notebook reader: p50 {pct(notebook_lat, 50):.1f} ms, p99 "
              f"{pct(notebook_lat, 99):.1f} ms ({len(notebook_lat)} events); → SSE client: p50 "
              f"{pct(sse_lat, 50):.1f} ms, p99 {pct(sse_lat, 99):.1f} ms ({len(sse_lat)} events) (goal p99 < 250 ms)")
    if "3" in args.parts:
        queued_jobs(args, corpus, tok, settings)
    if "4" in args.parts:
        many_clients(args, corpus, tok, settings, port)


def tiny_design(tok):
    return sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=32, context=32, vocab_size=tok.vocab_size)


def queued_jobs(args, corpus, tok, settings) -> None:

    """3: ``--jobs`` jobs queued at once on the 2 workers."""
    t0 = time.perf_counter()
    small = {**settings, "batch_size": 4, "context": 32}
    runs = [sd.train(tiny_design(tok), corpus, tok, steps=args.job_steps, runner="celery", background=True,
                     **small) for _ in range(args.jobs)]
    for r in runs:
        r.wait()
    wall = time.perf_counter() - t0
    by_worker: dict[str, int] = {}
    for r in runs:
        by_worker[r.worker] = by_worker.get(r.worker, 0) + 1
    finished = sum(r.status == "finished" for r in runs)
    print(f"3. {args.jobs} jobs queued at once on 2 workers: {finished}/{args.jobs} finished in {wall:.1f} s; "
          f"per worker {dict(sorted(by_worker.items()))}")


def many_clients(args, corpus, tok, settings, port: int) -> None:
    """4: ``--clients`` SSE clients on one run, each compared with the stream."""
    small = {**settings, "batch_size": 4, "context": 32}
    run = sd.train(tiny_design(tok), corpus, tok, steps=args.sse_steps, runner="celery", background=True, **small)
    outs = [[] for _ in range(args.clients)]
    readies = [threading.Event() for _ in range(args.clients)]
    threads = [threading.Thread(target=sse_reader, args=(port, f"/api/v1/runs/{run.id}/events", o, e), daemon=True)
               for o, e in zip(outs, readies)]
    for t in threads:
        t.start()
    run.wait()
    for t in threads:
        t.join(120)
    from slamdunk_lab.runners.store import JobStore

    truth = [sid for sid, _ in JobStore().read(run.id, "0-0", count=1_000_000)]
    complete = sum([o_id for o_id, _, _ in out] == truth for out in outs)
    print(f"4. {args.clients} SSE clients on one run of {len(truth)} events: {complete}/{args.clients} got every "
          f"event once, in order")


if __name__ == "__main__":
    main()
