"""The client side of remote runs: :class:`CeleryRunner` sends a job to the workers, :class:`RemoteRun` follows it.

A remote run is the same handle as a local one (``status``, ``history``, ``wait()``, ``stop()``, ``monitor()``
…): a reader thread ``XREAD``s the run's Redis stream from the last id it saw and feeds every event to the same
``record`` a local run uses, so the monitor widget cannot tell them apart. While the run is ``running``, the
reader also watches the worker's heartbeat; when it lapses the run is marked ``lost`` (see
:meth:`~.store.JobStore.check_lost`) and ``sd.resume(run)`` continues it from its last checkpoint on any
worker.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..training.events import TERMINAL, event_from_json
from ..training.spec import JobSpec
from .base import Run
from .store import JobStore, heartbeat_ttl
from .workers import TASK, make_app

logger = logging.getLogger("slamdunk_lab.training")


def queue_for(config: dict) -> str:
    """``gpu`` for a job that asks for a CUDA device, else ``cpu``."""
    return "gpu" if str(config.get("device") or "auto").startswith("cuda") else "cpu"


class RemoteRun(Run):
    """A run on a Celery worker, followed through its Redis stream (see the module docstring)."""

    runner = "celery"

    def __init__(self, spec: JobSpec, store: JobStore, app: Any, history: list | None = None,
                 tokenizer: Any = None):
        super().__init__(spec, history)
        self._store, self._app = store, app
        self._tokenizer = tokenizer
        self._model = None
        self.last_event_id = "0-0"
        self._reader = threading.Thread(target=self._read, name=f"slamdunk-remote-{spec.id[:8]}", daemon=True)
        self._reader.start()

    # -- the reader
    def _read(self) -> None:
        ttl = heartbeat_ttl()
        last_check = time.monotonic()
        while True:
            try:
                entries = self._store.read(self.id, self.last_event_id, block_ms=500)
            except Exception as exc:  # noqa: BLE001 - Redis restarting: keep the last id and try again
                logger.warning("run %s: reading its events failed (%s); retrying", self.name, exc)
                time.sleep(1)
                continue
            for sid, data in entries:
                self.last_event_id = sid
                try:
                    event = event_from_json(data)
                except ValueError:
                    continue
                if type(event).__name__ == "Started" and self._done.is_set():
                    self._done.clear()  # a lost run delivered again: it is running once more
                self.record(event)
                if isinstance(event, TERMINAL):
                    self._close()
                    return
                if type(event).__name__ == "Lost":
                    self._done.set()  # over unless it is delivered again; keep reading in case it is
            if not entries and self.status == "running" and time.monotonic() - last_check >= min(ttl / 3, 2.0):
                last_check = time.monotonic()
                try:
                    self._store.check_lost(self.id)
                except Exception:
                    logger.exception("run %s: could not check its worker", self.name)

    # -- results
    @property
    def tokenizer(self):
        """The run's tokenizer (the one sent with the job, else from the checkpoint or MLflow)."""
        if self._tokenizer is None:
            self._tokenizer = self._load()[1]
        return self._tokenizer

    @property
    def model(self):
        """The trained model: from the newest checkpoint when this machine sees it (shared runs folder), else
        downloaded from the MLflow run's artifacts. None before the first checkpoint."""
        if self._model is None and (self.last_checkpoint or self.done):
            self._model = self._load()[0]
        return self._model

    def _load(self):
        from ..training.results import load_run

        if self.last_checkpoint:
            try:
                return load_run(self.last_checkpoint)
            except (FileNotFoundError, ValueError):
                pass  # on the worker's disk, not ours
        if not self.mlflow_run_id:
            raise ValueError(f"run {self.name!r} has no checkpoint on this machine and no MLflow run to download "
                             f"it from")
        return load_run(self.mlflow_run_id)

    @property
    def record_status(self) -> str:
        """The status in the job record (the reader's view lags it by at most one event)."""
        return (self._store.get(self.id) or {}).get("status", self.status)

    # -- control
    def stop(self, force: bool = False) -> RemoteRun:
        """Ask the worker to stop after the current step with a checkpoint (a queued run never starts).
        ``force=True`` ends it at once (Celery revoke with terminate, and the worker's own kill switch): the
        run ends ``killed`` and keeps its last checkpoint."""
        stop_job(self._store, self._app, self.id, force)
        return self


class CeleryRunner:
    """Sends jobs to Celery workers over Redis (``slamdunk-lab worker``) and follows them."""

    kind = "celery"

    def __init__(self, redis_url: str | None = None, prefix: str | None = None, owner: str = ""):
        self.store = JobStore(redis_url, prefix)
        self.app = make_app(self.store.url, self.store.prefix)
        self.owner = owner

    def active_mlflow_ids(self) -> set[str]:
        return set()

    def reserve_name(self, experiment: str, base: str) -> str:
        from ..training.spec import run_name_stamp

        stamp, i = run_name_stamp(), 1
        name = f"{base}-{stamp}"
        while not self.store.reserve_name(experiment, name):
            i += 1
            name = f"{base}-{stamp}-{i}"
        return name

    def send(self, spec: JobSpec, queue: str | None = None, owner: str | None = None) -> str:
        """Record the job and put it on its queue; returns the queue."""
        queue = queue or queue_for(spec.config)
        self.store.create(spec.to_json(), owner=self.owner if owner is None else owner, queue=queue)
        self.app.send_task(TASK, args=[spec.to_json()], queue=queue, task_id=spec.id)
        return queue

    def submit(self, spec: JobSpec, *, background: bool, on_queued=None, progress: bool = False,
               queue: str | None = None, tokenizer: Any = None, history: list | None = None,
               **_: Any) -> RemoteRun:
        """Send ``spec`` to the workers (see :class:`~.base.Runner`)."""
        self.send(spec, queue)
        run = RemoteRun(spec, self.store, self.app, history=history, tokenizer=tokenizer)
        if progress:
            from ..training.progress import ConsoleProgress

            run.subscribe(ConsoleProgress(), replay=True)
        if on_queued is not None:
            on_queued(run)
        if not background:
            _wait_interruptibly(run)
        return run

    def attach_stop(self, job_id: str, force: bool = False) -> None:
        """Stop a job by id (see :meth:`RemoteRun.stop`)."""
        stop_job(self.store, self.app, job_id, force)

    def attach(self, job_id: str) -> RemoteRun:
        """A handle of a job already sent (by this or another process), its events replayed from the start."""
        spec = self.store.spec(job_id)
        if spec is None:
            raise ValueError(f"there is no job {job_id!r} in {self.store.url} (prefix {self.store.prefix!r})")
        return RemoteRun(JobSpec.from_json(spec), self.store, self.app)


def stop_job(store: JobStore, app: Any, job_id: str, force: bool = False) -> None:
    """Ask the worker to stop ``job_id`` after its step; ``force``: revoke with terminate and flip its kill
    switch (a solo worker only hears Celery's broadcast between jobs; the switch ends the job now)."""
    store.request_stop(job_id, force=force)
    if force:
        try:
            app.control.revoke(job_id, terminate=True, signal="SIGTERM")
        except Exception as exc:  # noqa: BLE001 - the kill switch in Redis does the work
            logger.warning("job %s: Celery revoke failed (%s)", job_id, exc)


def _wait_interruptibly(run: RemoteRun) -> None:
    """Wait for a remote run; the first Ctrl-C stops it after the current step, a second one ends it at once."""
    interrupts = 0
    while not run.done:
        try:
            run.wait(0.5)
        except KeyboardInterrupt:
            interrupts += 1
            run.stop(force=interrupts > 1)
            if interrupts > 2:
                raise
    run.wait()
    if interrupts:
        raise KeyboardInterrupt
