"""MLflow tracking for training runs, through ``MlflowClient`` only (the fluent API keeps its active run in
thread-local state, which a training thread must not rely on).

* Store: ``$MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<cwd>/mlflow.db``.
* One experiment per design name; one MLflow run per training job, tagged with its owner (host, pid and the
  process start time) so a later run can mark runs of a dead kernel as KILLED.
* Metrics are buffered and written with ``log_batch`` every few seconds and at the end (a single synchronous
  ``log_metric`` costs ~20 ms against sqlite; a batch of 1000 about 0.1 s).

MLflow is on by default (``mlflow=None``); ``mlflow=False`` or ``mlflow.autolog(disable=True)`` turn it off,
and ``mlflow=True`` turns it on even after ``autolog(disable=True)``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

from .._files import safe_name

logger = logging.getLogger("slamdunk_lab.training")

OWNER_HOST = "slamdunk.owner_host"
OWNER_PID = "slamdunk.owner_pid"
OWNER_START = "slamdunk.owner_start"
LIBRARY_TAG = "slamdunk.lab"
CHECKPOINT_TAG = "slamdunk.checkpoint_dir"
STEP_TAG = "slamdunk.step"  # the last step a run reached (its "steps" param is the plan)
FLUSH_SECONDS = 5.0
BATCH_LIMIT = 1000  # MLflow's maximum metrics per log_batch call


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, or a sqlite file ``mlflow.db`` in the current directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path.cwd() / 'mlflow.db').as_posix()}"


def autolog_disabled() -> bool:
    """True after ``mlflow.autolog(disable=True)`` (or ``mlflow.pytorch.autolog(disable=True)``).

    MLflow records autolog settings per integration in ``AUTOLOGGING_INTEGRATIONS``; ``mlflow.autolog`` is
    itself the integration ``"mlflow"``. Before any autolog call the entries are absent or empty, which means on.
    """
    if "mlflow" not in sys.modules:  # nobody called mlflow.autolog in this process
        return False
    try:
        from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS
    except ImportError:
        return False
    return any(bool(AUTOLOGGING_INTEGRATIONS.get(name, {}).get("disable")) for name in ("mlflow", "pytorch"))


def wanted(mlflow_arg: bool | None) -> bool:
    """Whether to track a run: ``True``/``False`` decide; ``None`` means on unless MLflow autolog is disabled."""
    if mlflow_arg is not None:
        return bool(mlflow_arg)
    return not autolog_disabled()


def available() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` (Linux: jiffies since boot from /proc), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    except OSError:
        return False
    return not start or _process_start(pid) in ("", start)


def owner_tags() -> dict[str, str]:
    pid = os.getpid()
    return {OWNER_HOST: socket.gethostname(), OWNER_PID: str(pid), OWNER_START: _process_start(pid)}


def client(uri: str | None = None):
    from mlflow import MlflowClient

    # Creating a fresh sqlite store logs schema migrations at INFO into whatever cell is running; a student
    # needs none of it (real problems still come through as warnings and errors).
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri or tracking_uri())


def _library_filter() -> str:
    return f"tags.`{LIBRARY_TAG}` LIKE '%'"


def kill_stale_runs(mlflow_client, active_ids: set[str] = frozenset()) -> list[str]:
    """Mark RUNNING runs of this library whose process is gone (a dead kernel) as KILLED; returns their ids.

    Only runs started on this host are judged; a run of this very process that is not active any more is
    stale too (its thread cannot come back).
    """
    from mlflow.entities import ViewType

    host, me = socket.gethostname(), os.getpid()
    with _LIVE_LOCK:
        active_ids = set(active_ids) | _LIVE  # a run of ours still being set up is not in the queue's list yet
    experiments = [e.experiment_id for e in mlflow_client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiments:
        return []
    runs = mlflow_client.search_runs(experiments, filter_string=f"attributes.status = 'RUNNING' and "
                                                                 f"{_library_filter()}", max_results=1000)
    killed = []
    for r in runs:
        tags = r.data.tags
        if tags.get(OWNER_HOST) != host or r.info.run_id in active_ids:
            continue
        try:
            pid = int(tags.get(OWNER_PID, ""))
        except ValueError:
            continue
        if pid == me or not _pid_alive(pid, tags.get(OWNER_START, "")):
            if STEP_TAG not in tags:  # the process died before saying where it was: tell from what it left
                step = _last_step(mlflow_client, r)
                if step is not None:
                    mlflow_client.set_tag(r.info.run_id, STEP_TAG, str(step))
            mlflow_client.set_terminated(r.info.run_id, "KILLED")
            killed.append(r.info.run_id)
    return killed


def _last_step(mlflow_client, run) -> int | None:
    """The last step a run whose process died reached: the later of its last logged loss and its newest
    checkpoint (metrics are written every few seconds, so the checkpoint can be ahead of them)."""
    steps = []
    try:
        history = mlflow_client.get_metric_history(run.info.run_id, "loss")
        if history:
            steps.append(max(m.step for m in history))
    except Exception:
        logger.debug("run %s: no loss history", run.info.run_id, exc_info=True)
    folder = run.data.tags.get(CHECKPOINT_TAG)
    if folder:
        from . import checkpoint as ckpt

        try:
            steps.append(ckpt.LoadedCheckpoint(folder).step)
        except (OSError, ValueError):
            pass
    return max(steps) if steps else None


_LIVE: set[str] = set()  # MLflow runs this process created and has not ended yet
_LIVE_LOCK = threading.Lock()


class Tracker:
    """One MLflow run: params at the start, buffered metrics, artifacts and the final status."""

    def __init__(self, experiment: str, run_name: str, params: dict, tags: dict, active_ids: set[str]):
        from mlflow.entities import Param

        self.uri = tracking_uri()
        self.client = client(self.uri)
        kill_stale_runs(self.client, active_ids)
        exp = self.client.get_experiment_by_name(experiment)
        if exp is None:
            exp_id = self.client.create_experiment(experiment, artifact_location=self._artifact_location(experiment))
        elif exp.lifecycle_stage == "deleted":
            self.client.restore_experiment(exp.experiment_id)
            exp_id = exp.experiment_id
        else:
            exp_id = exp.experiment_id
        run = self.client.create_run(exp_id, run_name=run_name, tags={**tags, **owner_tags()})
        self.run_id: str = run.info.run_id
        with _LIVE_LOCK:
            _LIVE.add(self.run_id)
        self.experiment_id = exp_id
        self._metrics: list = []
        self._last_flush = time.monotonic()
        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        try:
            for i in range(0, len(items), 100):
                self.client.log_batch(self.run_id, params=items[i:i + 100])
        except BaseException:
            self.end("FAILED")  # never leave a RUNNING run behind that nothing will end
            raise

    def _artifact_location(self, experiment: str) -> str | None:
        # MLflow's default is ./mlruns relative to the *current* directory; keep artifacts next to the database.
        if self.uri.startswith("sqlite:///"):
            db = Path(self.uri[len("sqlite:///"):])
            return (db.parent / "mlartifacts" / safe_name(experiment)).resolve().as_uri()
        return None

    def metric(self, key: str, value: float, step: int) -> None:
        from mlflow.entities import Metric

        self._metrics.append(Metric(key, float(value), int(time.time() * 1000), int(step)))

    def maybe_flush(self) -> None:
        if len(self._metrics) >= BATCH_LIMIT or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        pending, self._metrics = self._metrics, []
        self._last_flush = time.monotonic()
        for i in range(0, len(pending), BATCH_LIMIT):
            self.client.log_batch(self.run_id, metrics=pending[i:i + BATCH_LIMIT])

    def set_tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.run_id, key, value)

    def artifact(self, path: str | os.PathLike, folder: str | None = None) -> None:
        p = Path(path)
        if p.is_dir():
            self.client.log_artifacts(self.run_id, str(p), folder)
        else:
            self.client.log_artifact(self.run_id, str(p), folder)

    def end(self, status: str, step: int | None = None) -> None:
        """Flush metrics, record the last ``step`` reached and set the final status (FINISHED, KILLED or
        FAILED); never raises."""
        try:
            self.flush()
            if step is not None:
                self.client.set_tag(self.run_id, STEP_TAG, str(int(step)))
        except Exception:
            logger.exception("MLflow: could not write the last metrics of run %s", self.run_id)
        try:
            self.client.set_terminated(self.run_id, status)
        except Exception:
            logger.exception("MLflow: could not set run %s to %s", self.run_id, status)
        with _LIVE_LOCK:
            _LIVE.discard(self.run_id)


def search(active_ids: set[str] = frozenset(), uri: str | None = None) -> list:
    """Every MLflow run this library started in the tracking store, newest first (stale RUNNING ones are
    marked KILLED first)."""
    from mlflow.entities import ViewType

    c = client(uri)
    kill_stale_runs(c, active_ids)
    experiments = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiments:
        return []
    return c.search_runs(experiments, filter_string=_library_filter(), max_results=5000,
                         order_by=["attributes.start_time DESC"])


def experiment_name(name: str, limit: int = 250) -> str:
    """The design name as an MLflow experiment name: MLflow refuses names over 500 characters, so a long one is
    cut, with a hash of the whole name so that two long names that start alike stay apart."""
    if len(name) <= limit:
        return name
    import hashlib

    return f"{name[:limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class MlflowLogger:
    """Logs one run to MLflow by listening to its events, like the console progress does.

    Created when the run starts (the MLflow run exists, with the design's ``graph.json`` and ``model.py``, before
    the first event, so ``Started`` can name it); then called with every event on the thread that emits them:
    parameters at ``Started``, every step's loss, learning rate and gradient norm from the ``Step`` events
    (buffered, written with ``log_batch`` every few seconds), evaluations, and at the end the samples, the model
    and tokenizer of the last checkpoint and the final status. A failure of MLflow is logged once and turns the
    logging off; it never reaches the run.
    """

    def __init__(self, spec, active_ids: set[str] = frozenset(), tags: dict | None = None):
        from .._version import __version__

        folder = spec.run_folder()
        base = {LIBRARY_TAG: __version__, CHECKPOINT_TAG: str(folder),
                "mlflow.note.content": f"SLaM Dunk Lab run {spec.name}", **(tags or {})}
        self.tracker = Tracker(experiment_name(spec.experiment or "design"), spec.name, {}, base, active_ids)
        self.run_id = self.tracker.run_id
        self.folder = folder
        self.samples: list[str] = []
        self.ok = True
        try:
            self._log_design(spec.graph)
        except BaseException:
            self.tracker.end("FAILED")  # training goes on without MLflow; the MLflow run must not stay RUNNING
            raise

    def _log_design(self, graph: dict) -> None:
        """graph.json and model.py (the code generator's), written into the run folder, then logged."""
        import json

        from .._files import write_text_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.folder / "graph.json", json.dumps(graph, indent=1))
        self.tracker.artifact(self.folder / "graph.json")
        try:
            from ..interop.codegen import to_code

            write_text_atomic(self.folder / "model.py", to_code(graph))
            self.tracker.artifact(self.folder / "model.py")
        except Exception:
            logger.exception("could not generate model.py for MLflow")

    def __call__(self, event) -> None:
        if not self.ok:
            return
        try:
            self._on(event)
        except Exception as exc:  # noqa: BLE001 - tracking is a convenience; training must not depend on it
            self.ok = False
            logger.warning("MLflow logging of run %s stopped (%s: %s)", self.run_id, type(exc).__name__, exc)
            if type(event).__name__ in ("Finished", "Stopped", "Failed"):
                self.tracker.end("FAILED" if type(event).__name__ == "Failed" else "KILLED", step=event.step)

    def _on(self, event) -> None:
        from mlflow.entities import Param

        kind = type(event).__name__
        t = self.tracker
        if kind == "Started":
            params = {**event.config, **event.design, "run_name": event.run, "resumed_from": event.resumed_from}
            items = [Param(k, str(v)[:6000]) for k, v in params.items()]
            for i in range(0, len(items), 100):
                t.client.log_batch(t.run_id, params=items[i:i + 100])
            if event.worker:
                t.set_tag("slamdunk.worker", event.worker)
        elif kind == "Step":
            for step, loss, lr, grad_norm in event.points:
                t.metric("loss", loss, step)
                t.metric("lr", lr, step)
                t.metric("grad_norm", grad_norm, step)
            t.metric("tokens_per_s", event.tokens_per_s, event.step)
            t.maybe_flush()
        elif kind == "Eval":
            t.metric("train_loss", event.train_loss, event.step)
            t.metric("val_loss", event.val_loss, event.step)
        elif kind == "Sample":
            self.samples.append(f"--- step {event.step} ---\n{event.prompt}{event.text}\n\n")
        elif kind in ("Finished", "Stopped"):
            self._log_results()
            t.end("KILLED" if kind == "Stopped" else "FINISHED", step=event.step)
        elif kind == "Failed":
            try:
                t.set_tag("slamdunk.error", event.error[:5000])
            except Exception:
                logger.exception("run %s: could not record the error in MLflow", t.run_id)
            t.end("FAILED", step=event.step)

    def _log_results(self) -> None:
        from .._files import write_text_atomic
        from . import checkpoint as ckpt

        try:
            if self.samples:
                write_text_atomic(self.folder / "samples.txt", "".join(self.samples))
                self.tracker.artifact(self.folder / "samples.txt")
            try:
                last = ckpt.resolve(self.folder)
            except FileNotFoundError:
                return
            self.tracker.artifact(Path(last) / ckpt.WEIGHTS, "model")
            self.tracker.artifact(Path(last) / "tokenizer", "model/tokenizer")
        except Exception:
            logger.exception("run %s: could not log artifacts to MLflow", self.tracker.run_id)
