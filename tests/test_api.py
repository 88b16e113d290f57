"""The HTTP API on a real uvicorn server, a real worker and a real Redis: the original project's endpoints and
shapes, the native /api/v1, SSE resume without gap or duplicate, bearer tokens, teacher limits, 4xx on bad input."""

from __future__ import annotations

import copy
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from remote_harness import Cluster, redis_or_skip, wait_for

import slamdunk_lab as sd

pytestmark = pytest.mark.slow
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

TOKENS = {"alice": "tok-alice-1234", "bob": "tok-bob-5678", "carol": "tok-carol-9012"}
LIMITS = {"SLAMDUNK_LIMIT_STEPS": "5000", "SLAMDUNK_LIMIT_PARAMS": "2000000", "SLAMDUNK_LIMIT_QUEUED": "3",
          "SLAMDUNK_LIMIT_TEXT": "100000"}
SEED = Path(__file__).parent / "data" / "seed" / "gpt2.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port: int):
        self.port = port

    def call(self, method: str, path: str, body=None, token: str | None = "alice", raw: bytes | None = None,
             headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {TOKENS[token]}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def sse(self, path: str, token: str = "alice", last_id: str | None = None, limit: int | None = None):
        """The SSE messages of ``path`` as dicts {id, event, data}, until the server ends the stream (or
        ``limit`` messages with data were read, then the connection is dropped)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": f"Bearer {TOKENS[token]}"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert resp.getheader("content-type").startswith("text/event-stream")
        messages, current = [], {}
        while True:
            line = resp.fp.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if not line:
                if "data" in current:
                    messages.append(current)
                    if limit is not None and len(messages) >= limit:
                        break
                current = {}
                continue
            field, _, value = line.partition(": ")
            if field in ("id", "event"):
                current[field] = value
            elif field == "data":
                current["data"] = json.loads(value)
            elif line.startswith(":"):
                current.setdefault("comments", []).append(line)
        conn.close()
        return messages


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    client = redis_or_skip()
    c = Cluster(tmp_path_factory.mktemp("api"))
    c.env.update(LIMITS)
    c.env["SLAMDUNK_API_TOKENS"] = ",".join(f"{k}:{v}" for k, v in TOKENS.items())
    c.start_worker("w1")
    port = free_port()
    log = open(c.root / "api.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "slamdunk_lab.cli", "serve", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env=c.env, cwd=c.root)
    try:
        c.wait_ready("w1")
        wait_for(lambda: _answers(port) or server.poll() is not None, 90, "the API to answer")
        assert server.poll() is None, (c.root / "api.log").read_text()
        yield Api(port)
    finally:
        server.terminate()
        server.wait(20)
        c.close(client)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tiny_graph(vocab: int = 64) -> dict:
    return sd.template("gpt2", size="tiny", n_layer=1, d_model=16, n_head=2, context=16, vocab_size=vocab)


def job(steps: int = 20, **config) -> dict:
    from slamdunk_lab import data, tokenizers

    vocab = tokenizers.char(data.synthetic("reverse", n=300)).vocab_size  # the char vocabulary the API makes
    return {"graph": tiny_graph(vocab), "data": {"kind": "synthetic", "task": "reverse", "n": 300},
            "tokenizer": "char", "mlflow": False,
            "config": {"steps": steps, "batch_size": 4, "context": 16, "eval_every": 10, "eval_batches": 2,
                       "sample_every": 0, "checkpoint_every": 10, "warmup": 2, **config}}


def seed_payload() -> dict:
    """The original project's gpt-2 example, with a byte-sized vocabulary so it trains quickly here."""
    payload = json.loads(SEED.read_text())
    payload["config"]["vocab_size"] = 256
    payload["config"]["emb_dim"] = 32

    def shrink(nodes):
        for node in nodes:
            d = node["data"]
            for key in ("vocabSize", "outDim"):
                if d.get(key) == 50257:
                    d[key] = 256
            for key in ("embDim", "inDim", "outDim"):
                if d.get(key) == 128:
                    d[key] = 32
            if "hiddenDim" in d:
                d["hiddenDim"] = 64
            shrink(node.get("children") or [])

    shrink(payload["model"])
    payload.update(dataset="reverse", modelName="seed-gpt2", tokenizer="byte", max_steps=12)
    return payload


# ------------------------------------------------------------------ the native API
def test_a_job_runs_and_its_events_resume_without_gap_or_duplicate(api):
    status, made = api.call("POST", "/api/v1/jobs", job(30))
    assert status == 201 and made["status"] == "queued", made
    run_id = made["id"]
    first = api.sse(made["events_url"], limit=3)  # connection dropped after three events
    assert first[0]["event"] == "Started"
    rest = api.sse(made["events_url"], last_id=first[-1]["id"])  # reconnect with Last-Event-ID
    whole = api.sse(made["events_url"])  # a new reader from the start
    ids = [m["id"] for m in first + rest]
    assert ids == [m["id"] for m in whole] and len(set(ids)) == len(ids)  # no gap, no duplicate
    assert whole[-1]["event"] == "Finished" and whole[-1]["data"]["step"] == 30
    steps = [p[0] for m in whole if m["event"] == "Step" for p in m["data"]["points"]]
    assert steps == list(range(1, 31))
    status, rec = api.call("GET", f"/api/v1/runs/{run_id}")
    assert status == 200 and rec["status"] == "finished" and rec["worker"] == "w1@test" and rec["step"] == 30
    status, gen = api.call("POST", f"/api/v1/runs/{run_id}/generate", {"prompt": "abc>", "max_new_tokens": 8})
    assert status == 200 and isinstance(gen["text"], str)
    assert any(m["id"] == run_id for m in api.call("GET", "/api/v1/models")[1]["models"])


def test_stop_and_force_stop_over_http(api):
    _, a = api.call("POST", "/api/v1/jobs", job(4900, eval_every=0))
    wait_for(lambda: api.call("GET", f"/api/v1/runs/{a['id']}")[1].get("step", 0) >= 2, 120, "steps")
    assert api.call("POST", f"/api/v1/runs/{a['id']}/stop", {})[0] == 200
    end = api.sse(a["events_url"])[-1]
    assert end["event"] == "Stopped" and not end["data"]["forced"] and end["data"]["checkpoint"]
    _, b = api.call("POST", "/api/v1/jobs", job(4900, eval_every=0))
    wait_for(lambda: api.call("GET", f"/api/v1/runs/{b['id']}")[1].get("status") == "running", 120, "start")
    assert api.call("POST", f"/api/v1/runs/{b['id']}/stop", {"force": True})[0] == 200
    end = api.sse(b["events_url"])[-1]
    assert end["event"] == "Stopped" and end["data"]["forced"]
    assert api.call("GET", f"/api/v1/runs/{b['id']}")[1]["status"] == "killed"


# ------------------------------------------------------------------ the original project's endpoints
def test_the_original_front_ends_calls_work_with_its_shapes(api):
    status, body = api.call("POST", "/api/v1/train-complete-model", seed_payload())
    assert status == 200, body
    assert {"status", "task_id", "sse_url", "sse_url_abs", "stop_url_abs", "structure_id", "model_name",
            "experiment_name", "mlflow_url", "model_info", "training_config", "message"} <= set(body)
    assert body["status"] == "success" and body["sse_url"] == f"/api/v1/events/{body['task_id']}"
    assert body["model_info"]["total_parameters"] > 0 and body["training_config"]["epochs"] == 1
    messages = api.sse(body["sse_url"])
    names = [m["data"]["event"] for m in messages]
    assert names[:3] == ["connected", "started", "status"] and names[-2:] == ["finished", "status"]
    assert "step" in names and "progress" in names
    step = next(m["data"]["data"] for m in messages if m["data"]["event"] == "step")
    assert {"task_id", "global_step", "epoch", "loss", "ema_loss"} <= set(step)
    assert all(set(m["data"]) == {"event", "data"} for m in messages)
    _, done = api.call("GET", "/api/v1/completed-models")
    assert {"model_name": "seed-gpt2", "has_structure": True, "structure_file": "seed-gpt2.json"} in done["models"]
    status, out = api.call("POST", "/api/v1/generate-text", {"model_name": "seed-gpt2", "input_text": "ab",
                                                             "max_length": 5})
    assert status == 200 and out["status"] == "success" and out["output_text"].startswith("ab")
    status, stop = api.call("POST", "/api/v1/stop-training", {"task_id": body["task_id"]})
    assert status == 200 and stop["mode"] == "cooperative_stop" and stop["celery_state"] == "SUCCESS"


# ------------------------------------------------------------------ tokens
def test_one_token_can_neither_see_nor_stop_anothers_run(api):
    _, mine = api.call("POST", "/api/v1/jobs", job(5), token="alice")
    for method, path, body in (("GET", f"/api/v1/runs/{mine['id']}", None),
                               ("POST", f"/api/v1/runs/{mine['id']}/stop", {}),
                               ("GET", f"/api/v1/runs/{mine['id']}/events", None),
                               ("POST", "/api/v1/stop-training", {"task_id": mine["id"]}),
                               ("GET", f"/api/v1/events/{mine['id']}", None)):
        status, answer = api.call(method, path, body, token="bob")
        assert status == 404 and mine["id"] in answer["detail"], (path, answer)
    assert all(r["id"] != mine["id"] for r in api.call("GET", "/api/v1/runs", token="bob")[1]["runs"])
    assert any(r["id"] == mine["id"] for r in api.call("GET", "/api/v1/runs", token="alice")[1]["runs"])
    assert api.call("GET", "/api/v1/runs", token=None)[0] == 401
    status, answer = api.call("GET", "/api/v1/runs", token=None, headers={"Authorization": "Bearer nope"})
    assert status == 401 and "not one this server knows" in answer["detail"]


# ------------------------------------------------------------------ limits and bad input
def test_teacher_limits_refuse_before_queueing_and_name_the_limit(api):
    status, answer = api.call("POST", "/api/v1/jobs", job(6000), token="carol")
    assert status == 422 and "max_steps=5,000" in answer["detail"]
    big = job(5)
    big["graph"] = sd.template("gpt2", size="tiny", n_layer=4, d_model=256, n_head=4, context=16, vocab_size=64)
    status, answer = api.call("POST", "/api/v1/jobs", big, token="carol")
    assert status == 422 and "max_params=2,000,000" in answer["detail"]
    text = {**job(5), "data": {"kind": "text", "docs": ["abcdefgh" * 20_000]}}
    status, answer = api.call("POST", "/api/v1/jobs", text, token="carol")
    assert status == 413 and "max_text=100,000" in answer["detail"]
    waiting = {**job(5), "queue": "gpu"}  # no gpu worker here: they stay queued
    for _ in range(3):
        assert api.call("POST", "/api/v1/jobs", waiting, token="carol")[0] == 201
    status, answer = api.call("POST", "/api/v1/jobs", waiting, token="carol")
    assert status == 429 and "max_queued_jobs=3" in answer["detail"]
    assert api.call("POST", "/api/v1/jobs", waiting, token="bob")[0] == 201  # per user


BAD = [
    ("POST", "/api/v1/jobs", None, b"{not json", 422),
    ("POST", "/api/v1/jobs", {"graph": {}}, None, 422),
    ("POST", "/api/v1/jobs", {**job(), "graph": {"nodes": "x"}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "data": {"kind": "pickle"}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "data": {"kind": "file", "path": "/etc/passwd-nope"}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "config": {"steps": -1}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "config": {"lr": "fast"}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "config": {"surprise": 1}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "config": {"context": 999}}, None, 400),
    ("POST", "/api/v1/jobs", {**job(), "tokenizer": "pickle"}, None, 422),
    ("POST", "/api/v1/jobs", {**job(), "extra": 1}, None, 422),
    ("GET", "/api/v1/runs/nope", None, None, 404),
    ("GET", "/api/v1/runs/" + "a" * 300, None, None, 404),
    ("POST", "/api/v1/runs/nope/stop", {}, None, 404),
    ("POST", "/api/v1/runs/nope/generate", {"prompt": "x"}, None, 404),
    ("GET", "/api/v1/runs/nope/events", None, None, 404),
    ("POST", "/api/v1/train-complete-model", {"config": {}}, None, 422),
    ("POST", "/api/v1/train-complete-model", {**seed_payload(), "dataset": "no-such-set"}, None, 400),
    ("POST", "/api/v1/train-complete-model", {**seed_payload(), "model": [{"type": "warpDrive", "data": {}}]},
     None, 400),
    ("POST", "/api/v1/train-complete-model", {**seed_payload(), "config": {**seed_payload()["config"],
                                                                          "dtype": "fp16"}}, None, 400),
    ("POST", "/api/v1/stop-training", {"task_id": ""}, None, 422),
    ("POST", "/api/v1/stop-training", {"task_id": "nope"}, None, 404),
    ("POST", "/api/v1/generate-text", {"model_name": "nope", "input_text": "x"}, None, 404),
    ("POST", "/api/v1/generate-text", {"model_name": "x", "input_text": "x", "max_length": 0}, None, 422),
    ("GET", "/api/v1/events/nope", None, None, 404),
]


@pytest.mark.parametrize("method, path, body, raw, code", BAD, ids=[f"{b[0]} {b[1][:40]} {i}" for i, b in
                                                                     enumerate(BAD)])
def test_bad_input_is_a_4xx_with_a_message(api, method, path, body, raw, code):
    status, answer = api.call(method, path, copy.deepcopy(body), raw=raw)
    assert status == code, answer
    assert isinstance(answer, dict) and answer.get("detail")


def test_a_bad_last_event_id_and_a_run_without_checkpoint(api):
    _, queued = api.call("POST", "/api/v1/jobs", {**job(5), "queue": "gpu"}, token="bob")
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    conn.request("GET", queued["events_url"], headers={"Authorization": f"Bearer {TOKENS['bob']}",
                                                        "Last-Event-ID": "drop table"})
    resp = conn.getresponse()
    assert resp.status == 400 and "Last-Event-ID" in json.loads(resp.read())["detail"]
    status, answer = api.call("POST", f"/api/v1/runs/{queued['id']}/generate", {"prompt": "x"}, token="bob")
    assert status == 409 and "no checkpoint" in answer["detail"]


def test_the_openapi_document_describes_the_native_api(api):
    status, doc = api.call("GET", "/openapi.json")
    assert status == 200 and doc["info"]["title"] == "SLaM Dunk Lab"
    for path in ("/api/v1/jobs", "/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/runs/{run_id}/events",
                 "/api/v1/runs/{run_id}/stop", "/api/v1/runs/{run_id}/generate", "/api/v1/models",
                 "/api/v1/train-complete-model", "/api/v1/events/{task_id}", "/api/v1/stop-training",
                 "/api/v1/completed-models", "/api/v1/generate-text"):
        assert path in doc["paths"], path
    time.sleep(0)
