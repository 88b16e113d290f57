"""The HTTP API: ``slamdunk-lab serve`` (FastAPI + uvicorn, bound to 127.0.0.1 unless told otherwise).

Two sets of endpoints drive the same Celery workers:

* **The original project's**, with its request bodies and response shapes, so its React front end works
  against us: ``POST /api/v1/train-complete-model`` (its payload through ``sd.graph.from_seed``),
  ``GET /api/v1/events/{task_id}`` (SSE with its event names: connected, started, status, step, progress,
  stopped, finished, error), ``POST /api/v1/stop-training``, ``GET /api/v1/completed-models`` and
  ``POST /api/v1/generate-text``.
* **The native one**, versioned under ``/api/v1`` beside them (``/jobs``, ``/runs``, ``/runs/{id}``,
  ``/runs/{id}/events``, ``/runs/{id}/stop``, ``/runs/{id}/generate``, ``/models``), described by the OpenAPI
  document at ``/openapi.json`` (browsable at ``/docs``).

Limits a teacher sets (environment variables, checked before anything is queued; each refusal is a 4xx that
names the limit): ``SLAMDUNK_LIMIT_PARAMS`` (model parameters), ``SLAMDUNK_LIMIT_STEPS`` (training steps),
``SLAMDUNK_LIMIT_QUEUED`` (jobs queued or running per user), ``SLAMDUNK_LIMIT_TEXT`` (bytes of text sent with a
job). ``SLAMDUNK_API_TOKENS`` (``token`` or ``name:token``, comma-separated) turns on bearer tokens: every
request then needs ``Authorization: Bearer <token>`` (or ``?token=`` for an EventSource), and each run belongs
to the token that submitted it — another token can neither see nor stop it.

Bad input is a 4xx with a message, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..runners.store import JobStore
from . import sse

API_VERSION = "1"
ACTIVE = ("queued", "running")


# ------------------------------------------------------------------ settings
def _limit(name: str) -> int | None:
    raw = os.environ.get(f"SLAMDUNK_LIMIT_{name}", "").strip()
    if not raw:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


def _tokens() -> dict[str, str]:
    """Bearer token → user name, from ``SLAMDUNK_API_TOKENS``."""
    out = {}
    for item in os.environ.get("SLAMDUNK_API_TOKENS", "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, token = item.rpartition(":")
        out[token] = name or f"user-{hashlib.sha256(token.encode()).hexdigest()[:8]}"
    return out


def owner(request: Request) -> str:
    """The caller's owner id ("" when tokens are off); 401 without a valid token when they are on."""
    tokens = _tokens()
    if not tokens:
        return ""
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.query_params.get("token", "")
    if not given:
        raise HTTPException(401, "this server needs a bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    for token in tokens:
        if hmac.compare_digest(token.encode(), given.encode()):
            return "u-" + hashlib.sha256(token.encode()).hexdigest()[:16]
    raise HTTPException(401, "this bearer token is not one this server knows", headers={"WWW-Authenticate": "Bearer"})


# ------------------------------------------------------------------ request bodies
class ModelConfig(BaseModel):
    """The original project's ``config`` (training and template settings)."""

    model_config = ConfigDict(extra="allow")
    model: str
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    vocab_size: int = Field(ge=1)
    context_length: int = Field(ge=1)
    stride: int = Field(ge=1)
    emb_dim: int = Field(ge=1)
    n_heads: int = Field(ge=1)
    n_blocks: int = Field(ge=1)
    dtype: str = "fp32"


class CompleteModelRequest(BaseModel):
    """The original project's ``POST /train-complete-model`` body; ``tokenizer``, ``lr`` and ``max_steps`` are
    our additions (the original always used its family's tokenizer and trained whole epochs)."""

    model_config = ConfigDict(extra="allow")
    config: ModelConfig
    model: list[dict]
    dataset: str
    modelName: str = Field(min_length=1, max_length=200)  # the original project's field name
    dataset_config: str = "default"
    tokenizer: Literal["family", "byte", "char", "gpt2"] = "family"
    lr: float = Field(default=4e-4, gt=0, le=1)
    max_steps: int | None = Field(default=None, ge=1)


class StopRequest(BaseModel):
    task_id: str = Field(min_length=1, max_length=200)
    force_kill: bool = False


class InferenceRequest(BaseModel):
    model_name: str = Field(min_length=1, max_length=500)
    input_text: str = Field(max_length=100_000)
    max_length: int = Field(default=50, ge=1, le=4096)
    temperature: float = Field(default=0.7, ge=0, le=10)
    top_k: int = Field(default=40, ge=0, le=1_000_000)


class JobRequest(BaseModel):
    """A native job: a v1 graph, the data (a spec dict: named, synthetic, text, file), a tokenizer kind and the
    ``sd.train`` settings."""

    model_config = ConfigDict(extra="forbid")
    graph: dict
    data: dict
    tokenizer: Literal["char", "byte"] = "char"
    config: dict = Field(default_factory=dict)
    name: str | None = Field(default=None, max_length=200)
    queue: Literal["cpu", "gpu"] | None = None
    mlflow: bool = True


class StopBody(BaseModel):
    force: bool = False


class GenerateBody(BaseModel):
    prompt: str = Field(default="", max_length=100_000)
    max_new_tokens: int = Field(default=200, ge=1, le=4096)
    temperature: float = Field(default=0.8, ge=0, le=10)
    top_k: int | None = Field(default=40, ge=1)
    top_p: float = Field(default=0.95, gt=0, le=1)
    seed: int | None = 0


# ------------------------------------------------------------------ the app
def create_app(redis_url: str | None = None, prefix: str | None = None) -> FastAPI:
    """The API over the workers listening on ``redis_url`` (default ``$SLAMDUNK_REDIS_URL``)."""
    from redis import asyncio as aioredis

    from ..runners.remote import CeleryRunner

    runner = CeleryRunner(redis_url, prefix)
    store = runner.store
    aredis = aioredis.Redis.from_url(store.url, decode_responses=True)
    models = _ModelCache()
    app = FastAPI(title="SLaM Dunk Lab", version=f"{API_VERSION}.0",
                  description="Train small language models on shared workers: the original project's "
                              "endpoints and the native /api/v1 API.")
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(parts) or "invalid request", "errors": _plain(exc.errors())},
                            status_code=422)

    def record_for(job_id: str, who: str) -> dict:
        rec = store.get(job_id) if len(job_id) <= 64 else None
        if rec is None or rec.get("owner", "") != who:
            raise HTTPException(404, f"no run {job_id!r}")  # another user's run does not exist for you
        store.check_lost(job_id) if rec.get("status") == "running" else None
        return store.get(job_id) or rec

    def check_queue_limit(who: str) -> None:
        limit = _limit("QUEUED")
        if limit is None:
            return
        active = sum(1 for i in store.ids(limit=10_000) if store.r.hget(store.k("job", i), "owner") == who
                     and store.r.hget(store.k("job", i), "status") in ACTIVE)
        if active >= limit:
            raise HTTPException(429, f"you have {active} jobs queued or running; the limit max_queued_jobs="
                                     f"{limit} set by the teacher allows no more until one ends")

    def submit(spec, who: str, queue: str | None = None) -> str:
        check_queue_limit(who)
        return runner.send(spec, queue=queue, owner=who)

    # -------------------------------------------------------------- the original project's endpoints
    @app.get("/", include_in_schema=False)
    def root():
        return {"message": "SLM Trainer is running!"}

    @app.post("/api/v1/train-complete-model", tags=["original"])
    def train_complete_model(body: CompleteModelRequest, request: Request, who: str = Depends(owner)):
        """Validate the original project's payload, queue its training, and answer in its shape."""
        spec, info = _seed_job(body, runner)
        submit(spec, who)
        base = str(request.base_url).rstrip("/")
        mlflow_uri = os.environ.get("MLFLOW_TRACKING_URI", "")
        return {"status": "success", "task_id": spec.id, "sse_url": f"/api/v1/events/{spec.id}",
                "sse_url_abs": f"{base}/api/v1/events/{spec.id}", "stop_url_abs": f"{base}/api/v1/stop-training",
                "structure_id": body.modelName, "model_name": body.modelName, "experiment_name": spec.experiment,
                "mlflow_url": mlflow_uri if mlflow_uri.startswith("http") else "",
                "model_info": {"total_parameters": info["params"], "trainable_parameters": info["params"],
                               "config": body.config.model_dump(exclude_none=True), "dataset": body.dataset},
                "training_config": {"dataset": body.dataset, "dataset_config": body.dataset_config,
                                    "epochs": body.config.epochs, "steps": spec.config["steps"]},
                "message": "The design was checked and its training queued; progress comes as server-sent "
                           "events."}

    @app.get("/api/v1/events/{task_id}", tags=["original"])
    async def events(task_id: str, request: Request, who: str = Depends(owner)):
        """The run's events as the original project sent them (``data: {"event": ..., "data": ...}``)."""
        rec = record_for(task_id, who)
        last = _last_event_id(request)
        first = [b"retry: 5000\n\n"]
        if last == "0-0":
            first.append(sse.message({"event": "connected", "data": {"channel": f"task:{task_id}"}}))
        render = _original_renderer(task_id, rec)
        return _sse_response(sse.stream(aredis, store.k("events", task_id), last, render, first,
                                        lambda: store.check_lost(task_id)))

    @app.post("/api/v1/stop-training", tags=["original"])
    def stop_training(body: StopRequest, who: str = Depends(owner)):
        task_id = body.task_id.strip()
        if not task_id:
            raise HTTPException(400, "task_id is required")
        rec = record_for(task_id, who)
        state = _celery_state(rec.get("status", ""))
        runner.attach_stop(task_id, force=body.force_kill and rec.get("status") in ACTIVE)
        killed = body.force_kill and rec.get("status") in ACTIVE
        return {"status": "ok", "task_id": task_id, "celery_state": state,
                "mode": "force_kill" if body.force_kill else "cooperative_stop",
                "message": "Stop requested (flag set). Hard-kill executed." if killed else "Stop requested (flag set)."}

    @app.get("/api/v1/completed-models", tags=["original"])
    def completed_models(who: str = Depends(owner)):
        names = sorted({rec.get("experiment", "") for rec in _records(store, who) if rec.get("status") == "finished"})
        return {"models": [{"model_name": n, "has_structure": True, "structure_file": f"{n}.json"} for n in names]}

    @app.post("/api/v1/generate-text", tags=["original"])
    def generate_text(body: InferenceRequest, who: str = Depends(owner)):
        rec = _newest_finished(store, who, body.model_name)
        if rec is None:
            raise HTTPException(404, f"no finished model named {body.model_name!r}")
        model, tok = models.get(rec)
        from ..generation import generate

        try:
            text = generate(model, tok, body.input_text, max_new_tokens=body.max_length, temperature=body.temperature,
                            top_k=body.top_k or None, top_p=1.0, seed=None)
        except ValueError as exc:  # e.g. a design whose vocabulary is larger than its tokenizer's
            raise HTTPException(422, f"generation failed: {exc}") from None
        return {"status": "success", "input_text": body.input_text, "output_text": body.input_text + text}

    # -------------------------------------------------------------- the native API
    @app.post("/api/v1/jobs", status_code=201, tags=["jobs"])
    def submit_job(body: JobRequest, who: str = Depends(owner)):
        """Queue a training job: a v1 graph, the data and the settings of ``sd.train``."""
        spec = _native_job(body, runner)
        queue = submit(spec, who, body.queue)
        return {"id": spec.id, "name": spec.name, "status": "queued", "queue": queue,
                "events_url": f"/api/v1/runs/{spec.id}/events"}

    @app.get("/api/v1/runs", tags=["runs"])
    def list_runs(who: str = Depends(owner)):
        store.sweep_lost()
        return {"runs": [_public(rec) for rec in _records(store, who)]}

    @app.get("/api/v1/runs/{run_id}", tags=["runs"])
    def get_run(run_id: str, who: str = Depends(owner)):
        return _public(record_for(run_id, who))

    @app.get("/api/v1/runs/{run_id}/events", tags=["runs"])
    async def run_events(run_id: str, request: Request, who: str = Depends(owner)):
        """The run's events as SSE (``event:`` is the event type, ``data:`` its JSON); resumable with
        ``Last-Event-ID``."""
        record_for(run_id, who)
        last = _last_event_id(request)

        def render(sid: str, event: dict) -> list[bytes]:
            return [sse.message(event, event=event.get("type"), ident=sid)]

        return _sse_response(sse.stream(aredis, store.k("events", run_id), last, render, [b"retry: 3000\n\n"],
                                        lambda: store.check_lost(run_id)))

    @app.post("/api/v1/runs/{run_id}/stop", tags=["runs"])
    def stop_run(run_id: str, body: StopBody | None = None, who: str = Depends(owner)):
        rec = record_for(run_id, who)
        force = bool(body and body.force)
        if rec.get("status") in ACTIVE:
            runner.attach_stop(run_id, force=force)
        return {"id": run_id, "status": rec.get("status"), "stop": "force" if force else "after the current step"}

    @app.post("/api/v1/runs/{run_id}/generate", tags=["runs"])
    def generate_run(run_id: str, body: GenerateBody, who: str = Depends(owner)):
        rec = record_for(run_id, who)
        if not rec.get("checkpoint"):
            raise HTTPException(409, f"run {run_id!r} has no checkpoint yet")
        model, tok = models.get(rec)
        from ..generation import generate

        try:
            text = generate(model, tok, body.prompt, max_new_tokens=body.max_new_tokens, temperature=body.temperature,
                            top_k=body.top_k, top_p=body.top_p, seed=body.seed)
        except ValueError as exc:  # e.g. a design whose vocabulary is larger than its tokenizer's
            raise HTTPException(422, f"generation failed: {exc}") from None
        return {"id": run_id, "prompt": body.prompt, "text": text}

    @app.get("/api/v1/models", tags=["runs"])
    def list_models(who: str = Depends(owner)):
        return {"models": [_public(rec) for rec in _records(store, who) if rec.get("status") == "finished"]}

    return app


# ------------------------------------------------------------------ helpers
def _plain(errors: Sequence[Any]) -> list:
    return json.loads(json.dumps(errors, default=str))


def _sse_response(body) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _last_event_id(request: Request) -> str:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or "0-0"
    head, _, tail = raw.partition("-")
    if not (head.isdigit() and (tail.isdigit() or not tail)):
        raise HTTPException(400, f"Last-Event-ID {raw!r} is not a stream id (like 1700000000000-0)")
    return raw


def _records(store: JobStore, who: str) -> list[dict]:
    out = []
    for job_id in store.ids(limit=10_000):
        rec = store.get(job_id)
        if rec and rec.get("owner", "") == who:
            out.append({**rec, "id": job_id})
    return out


def _newest_finished(store: JobStore, who: str, name: str) -> dict | None:
    for rec in _records(store, who):  # newest first
        if rec.get("status") == "finished" and name in (rec.get("experiment"), rec.get("name"), rec.get("id")):
            return rec
    return None


def _public(rec: dict) -> dict:
    keep = ("name", "experiment", "status", "worker", "queue", "step", "checkpoint", "mlflow_run_id", "error",
            "created", "started", "ended", "attempts", "continued_by")
    out = {k: rec.get(k) for k in keep if rec.get(k) not in (None, "")}
    out["id"] = rec.get("id") or json.loads(rec.get("spec", "{}")).get("id")
    for k in ("step", "attempts"):
        if k in out:
            out[k] = int(float(out[k]))
    for k in ("created", "started", "ended"):
        if k in out:
            out[k] = float(out[k])
    return out


def _celery_state(status: str) -> str:
    return {"queued": "PENDING", "running": "STARTED", "finished": "SUCCESS", "failed": "FAILURE",
            "killed": "REVOKED", "stopped": "SUCCESS", "lost": "FAILURE"}.get(status, "PENDING")


def _original_renderer(task_id: str, rec: dict):
    """Our events in the original project's names and shapes (``step``, ``progress``, ``finished`` …)."""
    name = rec.get("experiment", "")
    state = {"total": 0}

    def render(sid: str, e: dict) -> list[bytes]:
        kind = e.get("type")
        out: list[dict] = []
        if kind == "Started":
            state["total"] = int(e.get("total_steps") or 0)
            out = [{"event": "started", "data": {"task_id": task_id, "model_name": name,
                                                 "run_id": e.get("mlflow_run_id"), "epochs": 1,
                                                 "total_steps": state["total"], "worker": e.get("worker")}},
                   {"event": "status", "data": {"task_id": task_id, "state": "running", "epoch": 0, "epochs": 1,
                                                "global_step": e.get("step", 0)}}]
        elif kind == "Step":
            points = e.get("points") or [[e.get("step"), e.get("loss")]]
            mean = sum(p[1] for p in points) / len(points)
            out = [{"event": "step", "data": {"task_id": task_id, "global_step": e.get("step"), "epoch": 1,
                                              "loss": e.get("loss"), "ema_loss": mean,
                                              "tokens_per_s": e.get("tokens_per_s")}}]
        elif kind == "Eval":
            out = [{"event": "progress", "data": {"task_id": task_id, "epoch": 1, "epochs": 1,
                                                  "avg_epoch_loss": e.get("train_loss"),
                                                  "train_loss": e.get("train_loss"), "val_loss": e.get("val_loss"),
                                                  "global_step": e.get("step")}}]
        elif kind == "Sample":
            out = [{"event": "sample", "data": {"task_id": task_id, "global_step": e.get("step"),
                                                "text": (e.get("prompt") or "") + (e.get("text") or "")}}]
        elif kind == "Finished":
            out = [{"event": "finished", "data": {"task_id": task_id, "model_name": name, "status": "finished",
                                                  "global_step": e.get("step"), "train_loss": e.get("train_loss"),
                                                  "val_loss": e.get("val_loss")}},
                   {"event": "status", "data": {"task_id": task_id, "state": "finished"}}]
        elif kind == "Stopped":
            out = [{"event": "stopped", "data": {"task_id": task_id, "global_step": e.get("step"), "epoch": 1,
                                                 "status": "killed" if e.get("forced") else "stopped"}},
                   {"event": "status", "data": {"task_id": task_id, "state": "stopped",
                                                "global_step": e.get("step")}}]
        elif kind in ("Failed", "Lost"):
            message = e.get("error") or (f"the worker {e.get('worker')} stopped answering at step {e.get('step')}; "
                                         f"resume the run from its last checkpoint")
            out = [{"event": "error", "data": {"task_id": task_id, "message": message}},
                   {"event": "status", "data": {"task_id": task_id, "state": "error", "message": message}}]
        return [sse.message(d, ident=sid if i == len(out) - 1 else None) for i, d in enumerate(out)]

    return render


def _check_limits(params: int, steps: int, text_bytes: int = 0) -> None:
    for name, value, what, code in (("PARAMS", params, "parameters", 422), ("STEPS", steps, "training steps", 422),
                                    ("TEXT", text_bytes, "bytes of text", 413)):
        limit = _limit(name)
        if limit is not None and value > limit:
            raise HTTPException(code, f"the job has {value:,} {what}, above the limit max_{name.lower()}={limit:,} "
                                      f"set by the teacher")


def _analysed(graph: dict):
    from ..analysis import analyze
    from ..errors import GraphError

    try:
        analysis = analyze(graph)
    except (GraphError, ValueError, TypeError, KeyError) as exc:
        raise HTTPException(400, f"the design cannot be read: {exc}") from None
    if not analysis.ok:
        raise HTTPException(400, "the design is invalid: " + "; ".join(str(i) for i in analysis.errors))
    return analysis


def _tokenizer(kind: str, corpus: Any):
    from .. import tokenizers

    if kind == "byte":
        return tokenizers.byte()
    if kind == "char":
        return tokenizers.char(corpus)
    try:
        return tokenizers.tiktoken("gpt2")
    except Exception as exc:  # noqa: BLE001 - offline: no tiktoken files
        raise HTTPException(400, f"the gpt2 tokenizer is not available on this server ({exc}); send "
                                 f"tokenizer='byte' or 'char'") from None


def _seed_job(body: CompleteModelRequest, runner: Any):
    """The original payload as a job spec: its design through from_seed, whole epochs as steps."""
    from .. import data
    from .._files import safe_name
    from ..errors import GraphError
    from ..interop.seed import from_seed
    from ..tokcache import tokenize_corpus
    from ..training.spec import JobSpec, tokenizer_spec
    from ..training.trainer import TrainConfig

    try:
        graph = from_seed(body.model_dump(include={"config", "model", "dataset", "modelName", "dataset_config"}))
    except GraphError as exc:
        raise HTTPException(400, f"the design cannot be imported: {exc}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise HTTPException(400, f"the design cannot be imported: {exc}") from None
    graph["name"] = body.modelName
    analysis = _analysed(graph)
    dtype = {"fp32": "float32", "bf16": "bfloat16", "float32": "float32", "bfloat16": "bfloat16"}.get(body.config.dtype)
    if dtype is None:
        raise HTTPException(400, f"config.dtype {body.config.dtype!r} cannot train here; use fp32 or bf16")
    try:
        corpus = data.load(body.dataset)
    except Exception as exc:  # noqa: BLE001 - unknown or unreachable set: the student's input
        raise HTTPException(400, f"dataset {body.dataset!r} cannot be loaded: {exc}") from None
    kind = body.tokenizer if body.tokenizer != "family" else ("gpt2" if body.config.model in ("gpt-2", "gpt2")
                                                              else "byte")
    tok = _tokenizer(kind, corpus)
    if tok.vocab_size > analysis.plan.vocab_size:
        raise HTTPException(400, f"the {tok.name} tokenizer has {tok.vocab_size} tokens but config.vocab_size is "
                                 f"{analysis.plan.vocab_size}")
    context = min(body.config.context_length, analysis.plan.context)
    tokens = len(tokenize_corpus(corpus, tok).train)
    windows = max(1, (tokens - context) // body.config.stride)
    steps = body.config.epochs * math.ceil(windows / body.config.batch_size)
    if body.max_steps is not None:
        steps = min(steps, body.max_steps)
    _check_limits(analysis.params, steps)
    cfg = TrainConfig(steps=steps, batch_size=body.config.batch_size, context=context, lr=body.lr, dtype=dtype,
                      warmup=min(100, steps // 10), eval_every=max(1, steps // 10), eval_batches=10,
                      sample_every=max(1, steps // 4), checkpoint_every=max(1, steps // 10), device="auto")
    name = runner.reserve_name(body.modelName, safe_name(body.modelName))
    spec = JobSpec(name=name, experiment=body.modelName, graph=analysis.graph,
                   data={"kind": "named", "name": body.dataset}, config=cfg.to_json(),
                   tokenizer=tokenizer_spec(tok))
    return spec, {"params": analysis.params}


def _native_job(body: JobRequest, runner: Any):
    from .._files import safe_name
    from ..training.spec import DATA_KINDS, JobSpec, max_text_bytes, open_corpus, tokenizer_spec
    from ..training.trainer import TrainConfig

    analysis = _analysed(body.graph)
    kind = body.data.get("kind")
    if kind not in DATA_KINDS or kind == "cache":
        raise HTTPException(400, f"data kind {kind!r} is not one of text, file, named, synthetic")
    unknown = set(body.config) - set(TrainConfig().to_json())
    if unknown:
        raise HTTPException(400, f"unknown training setting(s): {', '.join(sorted(unknown))}")
    try:
        cfg = TrainConfig.from_json({**TrainConfig().to_json(), "device": "auto", **body.config})
        device, cfg.device = cfg.device, "cpu"
        cfg.check()
        cfg.device = device
    except (ValueError, TypeError) as exc:
        raise HTTPException(400, f"config: {exc}") from None
    text_bytes = sum(len(str(d).encode()) for d in body.data.get("docs") or []) if kind == "text" else 0
    _check_limits(analysis.params, cfg.steps, text_bytes)
    if text_bytes > max_text_bytes():
        raise HTTPException(413, f"the job carries {text_bytes:,} bytes of text, above the limit "
                                 f"max_text={max_text_bytes():,}")
    corpus = None
    if body.tokenizer == "char":  # a char vocabulary is made from the text itself, here, and sent as JSON
        try:
            corpus = open_corpus(body.data)
        except Exception as exc:  # noqa: BLE001 - unreadable data is the caller's input
            raise HTTPException(400, f"data: {exc}") from None
    tok = _tokenizer(body.tokenizer, corpus)
    if tok.vocab_size > analysis.plan.vocab_size:
        raise HTTPException(400, f"the {body.tokenizer} tokenizer has {tok.vocab_size} tokens but the design's "
                                 f"vocabulary holds {analysis.plan.vocab_size}")
    if cfg.context > analysis.plan.context:
        raise HTTPException(400, f"config.context={cfg.context} is longer than the design's {analysis.plan.context}")
    experiment = body.name or analysis.graph.get("name") or "design"
    name = runner.reserve_name(experiment, safe_name(experiment))
    return JobSpec(name=name, experiment=experiment, graph=analysis.graph, data=dict(body.data),
                   config=cfg.to_json(), tokenizer=tokenizer_spec(tok), mlflow=body.mlflow)


class _ModelCache:
    """Models loaded for generation, newest few kept (loading one reads its checkpoint or MLflow artifacts)."""

    def __init__(self, size: int = 4):
        self.size, self.lock = size, threading.Lock()
        self.items: dict[str, Any] = {}

    def get(self, rec: dict):
        from ..training.results import load_run

        key = rec.get("checkpoint") or rec.get("mlflow_run_id") or ""
        with self.lock:
            if key in self.items:
                return self.items[key]
        try:
            loaded = load_run(rec["checkpoint"]) if rec.get("checkpoint") else load_run(rec["mlflow_run_id"])
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise HTTPException(409, f"the model of run {rec.get('name')!r} cannot be loaded here: {exc}") from None
        with self.lock:
            self.items[key] = loaded
            while len(self.items) > self.size:
                self.items.pop(next(iter(self.items)))
        return loaded
