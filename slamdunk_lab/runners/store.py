"""What a run on a worker leaves in Redis: its job record, its event stream, its heartbeat and its lock.

Keys (all under ``$SLAMDUNK_REDIS_PREFIX``, default ``slamdunk:``):

* ``job:<id>`` — a hash: the spec (JSON), ``status`` (queued, running, finished, stopped, failed, killed,
  lost), ``worker``, ``owner`` (a token's hash, for the HTTP API), ``mlflow_run_id``, ``attempts``, times.
* ``events:<id>`` — a Redis Stream with every event of the run as JSON (``XADD``, capped at
  :data:`STREAM_MAXLEN` entries). Readers ``XREAD`` from the last id they saw, so one that disconnects and
  comes back gets every event once, in order — unlike Pub/Sub, which drops what nobody was listening to.
* ``hb:<id>`` — the worker's heartbeat, refreshed every ``ttl/3`` seconds with a TTL; ``lock:<id>`` — the
  worker that holds the job (``SET NX``), with the same TTL, so a redelivered message never starts a second
  copy while the first is alive, and a dead worker's lock lapses with its heartbeat.
* ``stop:<id>`` — ``stop`` (finish the step, checkpoint, stop) or ``kill`` (end now).
* ``runs`` — a sorted set of job ids by submission time; ``name:<experiment>/<name>`` reserves run names.

A run whose heartbeat has lapsed while its record says ``running`` is *lost*: whoever looks next
(:meth:`JobStore.check_lost`, called by readers, ``sd.runs()`` and the API) marks it so in one atomic step and
appends a ``Lost`` event, so it is marked once however many look.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

STREAM_MAXLEN = 100_000
DEFAULT_URL = "redis://127.0.0.1:6379/0"
FINAL = ("finished", "stopped", "failed", "killed", "lost")

# status running + no heartbeat + no lock → lost, with its Lost event, atomically
_MARK_LOST = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'lost', 'ended', ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[1])
return 1
"""
# refresh the lock only while this worker holds it
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2]); redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]); return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]); return 1 end
return 0
"""


def redis_url() -> str:
    """``$SLAMDUNK_REDIS_URL``, default ``redis://127.0.0.1:6379/0``."""
    return os.environ.get("SLAMDUNK_REDIS_URL") or DEFAULT_URL


def key_prefix() -> str:
    """``$SLAMDUNK_REDIS_PREFIX``, default ``slamdunk:`` (Celery's queues live under it too)."""
    return os.environ.get("SLAMDUNK_REDIS_PREFIX") or "slamdunk:"


def heartbeat_ttl() -> float:
    """Seconds a worker's heartbeat lives (``$SLAMDUNK_HEARTBEAT_TTL``, default 30); a run is lost when its
    worker has not refreshed it for that long."""
    try:
        return max(1.0, float(os.environ.get("SLAMDUNK_HEARTBEAT_TTL") or 30))
    except ValueError:
        return 30.0


class JobStore:
    """The Redis side of remote runs (see the module docstring)."""

    def __init__(self, url: str | None = None, prefix: str | None = None):
        import redis

        self.url = url or redis_url()
        self.prefix = key_prefix() if prefix is None else prefix
        # Any: redis-py's stubs cannot say that decode_responses=True makes every reply a str
        self.r: Any = redis.Redis.from_url(self.url, decode_responses=True, health_check_interval=30)
        self._lost = self.r.register_script(_MARK_LOST)
        self._refresh = self.r.register_script(_REFRESH)
        self._release = self.r.register_script(_RELEASE)

    def k(self, kind: str, ident: str) -> str:
        return f"{self.prefix}{kind}:{ident}"

    # -- records
    def create(self, spec_json: dict, owner: str = "", queue: str = "cpu") -> None:
        now = time.time()
        self.r.hset(self.k("job", spec_json["id"]), mapping={
            "spec": json.dumps(spec_json, ensure_ascii=True), "status": "queued", "owner": owner, "queue": queue,
            "name": spec_json["name"], "experiment": spec_json["experiment"], "created": now, "attempts": 0})
        self.r.zadd(f"{self.prefix}runs", {spec_json["id"]: now})

    def get(self, job_id: str) -> dict | None:
        rec = self.r.hgetall(self.k("job", job_id))
        return rec or None

    def spec(self, job_id: str) -> dict | None:
        raw = self.r.hget(self.k("job", job_id), "spec")
        return json.loads(raw) if raw else None

    def update(self, job_id: str, **fields: Any) -> None:
        self.r.hset(self.k("job", job_id), mapping={k: "" if v is None else v for k, v in fields.items()})

    def ids(self, newest_first: bool = True, limit: int = 1000) -> list[str]:
        key = f"{self.prefix}runs"
        return self.r.zrevrange(key, 0, limit - 1) if newest_first else self.r.zrange(key, 0, limit - 1)

    def reserve_name(self, experiment: str, name: str) -> bool:
        return bool(self.r.set(self.k("name", f"{experiment}/{name}"), "1", nx=True))

    # -- events
    def append(self, job_id: str, event: Any) -> str:
        data = event.to_json() if hasattr(event, "to_json") else dict(event)
        return self.r.xadd(self.k("events", job_id), {"e": json.dumps(data, ensure_ascii=True)},
                           maxlen=STREAM_MAXLEN, approximate=True)

    def read(self, job_id: str, last_id: str = "0-0", block_ms: int | None = None,
             count: int = 1000) -> list[tuple[str, dict]]:
        """Events after ``last_id`` (``(stream id, event dict)``), waiting up to ``block_ms`` for the first."""
        got = self.r.xread({self.k("events", job_id): last_id}, count=count, block=block_ms)
        return [(sid, json.loads(fields["e"])) for _, entries in got or [] for sid, fields in entries]

    # -- the worker's side
    def acquire(self, job_id: str, worker: str, ttl: float) -> bool:
        """Take the job's lock (``SET NX``) and start its heartbeat; False when another worker holds it."""
        if not self.r.set(self.k("lock", job_id), worker, nx=True, ex=max(1, round(ttl))):
            return False
        self.r.set(self.k("hb", job_id), worker, ex=max(1, round(ttl)))
        return True

    def beat(self, job_id: str, worker: str, ttl: float) -> bool:
        return bool(self._refresh(keys=[self.k("lock", job_id), self.k("hb", job_id)],
                                  args=[worker, max(1, round(ttl))]))

    def revive(self, job_id: str) -> bool:
        """A run marked lost whose worker turned out alive (it was starved of CPU) is running again."""
        from ..training.events import Started

        rec = self.get(job_id) or {}
        if rec.get("status") != "lost":
            return False
        self.update(job_id, status="running", ended="")
        steps = json.loads(rec.get("spec") or "{}").get("config", {}).get("steps", 0)
        self.append(job_id, Started(run=rec.get("name", ""), step=int(float(rec.get("step") or 0)),
                                    total_steps=int(steps), worker=rec.get("worker", "")))
        return True

    def release(self, job_id: str, worker: str) -> None:
        self._release(keys=[self.k("lock", job_id), self.k("hb", job_id)], args=[worker])

    def lock_holder(self, job_id: str) -> str | None:
        return self.r.get(self.k("lock", job_id))

    # -- stopping
    def request_stop(self, job_id: str, force: bool = False) -> None:
        # a kill always wins over a stop; a day is longer than any wait for a queued job to be picked up
        if force:
            self.r.set(self.k("stop", job_id), "kill", ex=86400)
        else:
            self.r.set(self.k("stop", job_id), "stop", ex=86400, nx=True)

    def stop_request(self, job_id: str) -> str | None:
        return self.r.get(self.k("stop", job_id))

    # -- lost runs
    def alive(self, job_id: str) -> bool:
        return bool(self.r.exists(self.k("hb", job_id)))

    def check_lost(self, job_id: str) -> bool:
        """Mark the run lost if it is ``running`` with no heartbeat and no lock; True if this call marked it
        (then its MLflow run is set to KILLED too)."""
        from ..training.events import Lost

        rec = self.get(job_id)
        if not rec or rec.get("status") != "running":
            return False
        last = self.last_checkpoint(job_id)
        event = Lost(run=rec.get("name", ""), step=int(rec.get("step") or 0), checkpoint=last,
                     worker=rec.get("worker", ""))
        marked = bool(self._lost(keys=[self.k("job", job_id), self.k("hb", job_id), self.k("lock", job_id),
                                       self.k("events", job_id)],
                                 args=[json.dumps(event.to_json()), time.time(), STREAM_MAXLEN]))
        if marked and rec.get("mlflow_run_id"):
            _mlflow_killed(rec["mlflow_run_id"])
        return marked

    def sweep_lost(self) -> list[str]:
        """Mark every running job whose worker has gone silent as lost; returns their ids."""
        return [i for i in self.ids(limit=10_000) if self.r.hget(self.k("job", i), "status") == "running"
                and self.check_lost(i)]

    def last_checkpoint(self, job_id: str) -> str:
        return self.r.hget(self.k("job", job_id), "checkpoint") or ""


def _mlflow_killed(run_id: str) -> None:
    """Set an MLflow run that lost its worker to KILLED (a failure here is logged, never raised)."""
    import logging

    try:
        from ..training import tracking

        client = tracking.client()
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, tracking.STATE_TAG, "lost")
            client.set_terminated(run_id, "KILLED")
    except Exception as exc:  # noqa: BLE001 - the run is lost either way
        logging.getLogger("slamdunk_lab.training").warning("could not mark MLflow run %s KILLED (%s)", run_id, exc)
