"""The worker side of remote runs: the Celery app, its one task, and what the task does.

``slamdunk-lab worker`` starts a Celery worker on this app: broker and result backend are Redis
(``$SLAMDUNK_REDIS_URL``), messages are JSON only (nothing from the queue is ever unpickled), one job at a time
per worker process (``--pool solo``, prefetch 1), each worker pinned to one device and listening on the queue
of its kind (``cpu`` or ``gpu``). This module never imports torch: the task imports the trainer when it runs,
in the worker's own (never forking) process.

Delivery: messages are acknowledged when the job ends (``acks_late``), with a visibility timeout longer than
the longest job (``$SLAMDUNK_VISIBILITY_TIMEOUT``, default one day), so a message whose worker died is
delivered again. The job's Redis lock (``SET NX`` with the worker's name, refreshed with its heartbeat) makes a
second delivery of a running job a no-op; a delivery after the holder died resumes the job from its own last
checkpoint instead of starting over.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .store import JobStore, heartbeat_ttl, key_prefix, redis_url

logger = logging.getLogger("slamdunk_lab.worker")

TASK = "slamdunk.train"
QUEUES = ("cpu", "gpu")


def visibility_timeout() -> int:
    """Seconds before an unacknowledged message is delivered again: longer than any job may take."""
    try:
        return max(5, int(float(os.environ.get("SLAMDUNK_VISIBILITY_TIMEOUT") or 86400)))
    except ValueError:
        return 86400


def make_app(url: str | None = None, prefix: str | None = None):
    """The Celery app of SLaM Dunk Lab workers and clients (JSON only, one job per worker process)."""
    from celery import Celery

    url = url or redis_url()
    prefix = key_prefix() if prefix is None else prefix
    app = Celery("slamdunk_lab", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", event_serializer="json",
        accept_content=["json"], result_accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue="cpu", task_create_missing_queues=True, task_track_started=True,
        broker_transport_options={"visibility_timeout": visibility_timeout(), "global_keyprefix": prefix,
                                  "unacked_restore_interval": 5, "unacked_restore_throttle": 1},
        result_backend_transport_options={"global_keyprefix": prefix},
        result_expires=7 * 86400, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False, worker_send_task_events=False, worker_enable_remote_control=True,
    )
    app.task(name=TASK, bind=True)(_train_task)
    return app


def _train_task(self, spec: dict) -> dict:
    """Celery task body: a JSON spec in, the run's final event out (everything else goes to Redis)."""
    worker = self.request.hostname or f"worker@{socket.gethostname()}"
    return run_job(spec, worker=worker, device=os.environ.get("SLAMDUNK_WORKER_DEVICE") or None)


def pinned_config(config: dict, device: str | None) -> dict:
    """The job's settings on a worker pinned to ``device``: "auto" and the same kind of device become it."""
    if not device:
        return config
    asked = str(config.get("device") or "auto")
    kind = device.split(":")[0]
    if asked == "auto" or asked.split(":")[0] == kind:
        return {**config, "device": device}
    raise ValueError(f"this worker trains on {device}, but the job asks for device {asked!r}; submit it to the "
                     f"{'gpu' if asked.startswith('cuda') else 'cpu'} queue")


def run_job(spec_json: dict, worker: str, device: str | None = None, store: JobStore | None = None) -> dict:
    """Run one delivered job on this worker unless another copy is running or it has already ended."""
    from ..training.events import Event, Failed, Stopped
    from ..training.spec import JobSpec

    store = store or JobStore()
    try:
        spec = JobSpec.from_json(spec_json)
    except ValueError as exc:  # a malformed message: nothing to run, nothing to retry
        logger.error("refused a job message: %s", exc)
        return {"type": "Refused", "error": str(exc)}
    rec = store.get(spec.id)
    if rec is None:  # submitted straight to Celery: the record is made here
        store.create(spec.to_json())
        rec = store.get(spec.id) or {}
    status = rec.get("status", "queued")
    if status in ("finished", "stopped", "failed", "killed") or rec.get("continued_by"):
        return {"type": "Skipped", "status": status}  # a late redelivery of a job that has ended
    ttl = heartbeat_ttl()
    if not store.acquire(spec.id, worker, ttl):
        store.r.hincrby(store.k("job", spec.id), "duplicates", 1)
        logger.warning("job %s is already running on %s: this delivery is dropped", spec.id,
                       store.lock_holder(spec.id))
        return {"type": "Duplicate", "running_on": store.lock_holder(spec.id) or ""}
    beat = _Heartbeat(store, spec.id, worker, ttl)
    try:
        attempt = store.r.hincrby(store.k("job", spec.id), "attempts", 1)
        if store.stop_request(spec.id) and status == "queued":  # stopped while it waited in the queue
            end: Event = Stopped(run=spec.name, step=0, checkpoint="", forced=store.stop_request(spec.id) == "kill")
            _finish(store, spec.id, end)
            return end.to_json()
        if attempt > 1 and _has_checkpoint(spec):  # its worker died: continue from its own last checkpoint
            spec.resume_from, spec.resume_steps = spec.checkpoint_dir or str(spec.run_folder()), None
            logger.warning("job %s was delivered again after its worker died: resuming from its checkpoint",
                           spec.id)
        store.update(spec.id, status="running", worker=worker, started=time.time(), stop_reason="")
        try:
            spec.config = pinned_config(spec.config, device)
        except ValueError as exc:
            end = Failed(run=spec.name, step=0, error=str(exc))
            _finish(store, spec.id, end)
            return end.to_json()
        beat.start()
        end = _execute(spec, store, worker, beat)
        if beat.superseded:  # another worker runs this job now: its record and stream are not ours to end
            return {"type": "Superseded"}
        _finish(store, spec.id, end)
        return end.to_json()
    finally:
        beat.stop()
        store.release(spec.id, worker)


def _has_checkpoint(spec: Any) -> bool:
    from ..training import checkpoint as ckpt

    try:
        ckpt.resolve(spec.run_folder())
        return True
    except (FileNotFoundError, ValueError):
        return False


def _execute(spec: Any, store: JobStore, worker: str, beat: _Heartbeat):
    """Train with every event going to MLflow (when on) and then to the run's stream."""
    from ..training import tracking
    from ..training.execute import execute

    sinks: list[Callable[[Any], None]] = []
    if spec.mlflow:
        try:
            mlf = tracking.MlflowLogger(spec, tags={"slamdunk.worker": worker, "slamdunk.job_id": spec.id})
            spec.mlflow_run_id = mlf.run_id
            store.update(spec.id, mlflow_run_id=mlf.run_id)
            sinks.append(mlf)
        except Exception as exc:  # noqa: BLE001 - tracking is a convenience; training must not depend on it
            logger.warning("job %s: MLflow tracking is off (%s: %s)", spec.id, type(exc).__name__, exc)

    def to_stream(event) -> None:
        if beat.superseded:
            return
        kind = type(event).__name__
        if kind in ("Started", "Step"):
            store.update(spec.id, step=event.step)
        elif kind == "Checkpoint":
            store.update(spec.id, checkpoint=event.path, checkpoint_step=event.step)
        store.append(spec.id, event)

    sinks.insert(0, lambda e: setattr(e, "worker", worker) if type(e).__name__ == "Started" else None)
    sinks.append(to_stream)

    def emit(event) -> None:
        for sink in sinks:
            sink(event)

    beat.target = threading.get_ident()
    end = execute(spec, emit, beat.stopping.is_set)
    for sink in sinks[:-1]:  # MLflow has the final state before the stream tells anyone
        sink(end)
    return end


def _finish(store: JobStore, job_id: str, end: Any) -> None:
    """Record the final status, then append the final event (a reader that sees it finds the record final)."""
    kind = type(end).__name__
    status = {"Finished": "finished", "Failed": "failed",
              "Stopped": "killed" if getattr(end, "forced", False) else "stopped"}.get(kind, "failed")
    fields = {"status": status, "ended": time.time(), "step": end.step}
    if getattr(end, "checkpoint", ""):
        fields["checkpoint"] = end.checkpoint
    if kind == "Failed":
        fields["error"] = end.error[:5000]
    store.update(job_id, **fields)
    store.append(job_id, end)


class _Heartbeat:
    """Refreshes the job's heartbeat and lock, and watches its stop key, on a thread of its own.

    ``stop`` requests set :attr:`stopping` (the trainer polls it once per step); ``kill`` raises
    :class:`~slamdunk_lab.training.execute.Killed` in the training thread, which ends the run at once."""

    def __init__(self, store: JobStore, job_id: str, worker: str, ttl: float):
        self.store, self.job_id, self.worker, self.ttl = store, job_id, worker, ttl
        self.stopping = threading.Event()
        self.target: int | None = None
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"slamdunk-heartbeat-{job_id}", daemon=True)
        self._killed = False
        self.superseded = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._end.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _loop(self) -> None:
        last_beat = time.monotonic()
        while not self._end.wait(0.2):
            try:
                if time.monotonic() - last_beat >= self.ttl / 3:
                    if not self.store.beat(self.job_id, self.worker, self.ttl):
                        self._lapsed()
                    last_beat = time.monotonic()
                request = self.store.stop_request(self.job_id)
            except Exception as exc:  # noqa: BLE001 - Redis away for a moment: try again next round
                logger.warning("job %s: heartbeat failed (%s)", self.job_id, exc)
                continue
            if request:
                self.stopping.set()
            if request == "kill" and not self._killed and self.target is not None:
                self._killed = True
                _raise_in(self.target)

    def _lapsed(self) -> None:
        """The heartbeat lapsed while this process was starved of CPU (the job is alive): take the lock back
        and undo a ``lost`` mark; if another worker has taken the job over meanwhile, this copy ends at once
        and writes nothing more."""
        if self.store.acquire(self.job_id, self.worker, self.ttl):
            if self.store.revive(self.job_id):
                logger.warning("job %s: the heartbeat lapsed and the run was marked lost; it is alive and goes "
                               "on", self.job_id)
        elif self.target is not None and not self._killed:
            logger.error("job %s: another worker has taken this job over; this copy stops now", self.job_id)
            self.superseded = True
            self._killed = True
            _raise_in(self.target)


def _raise_in(thread_id: int) -> None:
    """Raise Killed in the thread ``thread_id`` at its next Python instruction."""
    from ..training.execute import Killed

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(Killed))


def worker_argv(device: str, queues: list[str], name: str | None, loglevel: str = "INFO") -> list[str]:
    """The Celery worker command line: solo pool, prefetch 1, this device's queue(s)."""
    node = name or f"{device.replace(':', '')}-{os.getpid()}@{socket.gethostname()}"
    return ["worker", "--pool", "solo", "--concurrency", "1", "--prefetch-multiplier", "1",
            "--queues", ",".join(queues), "--hostname", node, "--loglevel", loglevel, "--without-gossip",
            "--without-mingle"]

