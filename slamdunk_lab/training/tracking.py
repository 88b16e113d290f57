"""MLflow tracking for training runs, through ``MlflowClient`` only (the fluent API keeps its active run in
thread-local state, which a training thread must not rely on).

* Store: ``$MLFLOW_TRACKING_URI`` if set, else the one ``mlflow.set_tracking_uri()`` chose, else
  ``sqlite:///<cwd>/mlflow.db`` (MLflow's own default).
* Experiment: the one the caller chose (``mlflow.set_experiment()`` or ``$MLFLOW_EXPERIMENT_NAME``/``_ID``), else
  one per design name. A run started inside the caller's ``mlflow.start_run()`` becomes its nested child run.
  The caller's context is read on the caller's thread (:func:`user_context`) and travels with the job.
* One MLflow run per training job, tagged with its owner (host, pid and the process start time) so a later run
  can mark runs of a dead kernel as KILLED, with MLflow's source and user tags and the caller's own tags.
* Metrics are buffered and written with ``log_batch`` every few seconds and at the end (a single synchronous
  ``log_metric`` costs ~20 ms against sqlite; a batch of 1000 about 0.1 s).
* The data is an MLflow dataset input (the corpus digest); the trained model is an MLflow model
  (:mod:`.mlflow_model`, models-from-code: nothing pickled) that ``mlflow.pyfunc.load_model("runs:/<id>/model")``
  loads; system metrics are logged when asked for (``system_metrics=True`` or
  ``$MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``).

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
from typing import Any

from .._files import safe_name

logger = logging.getLogger("slamdunk_lab.training")

OWNER_HOST = "slamdunk.owner_host"
OWNER_PID = "slamdunk.owner_pid"
OWNER_START = "slamdunk.owner_start"
LIBRARY_TAG = "slamdunk.lab"
CHECKPOINT_TAG = "slamdunk.checkpoint_dir"
STEP_TAG = "slamdunk.step"  # the last step a run reached (its "steps" param is the plan)
#: How the run ended in this library's words (MLflow's KILLED is both "stopped", with a checkpoint to resume
#: from, and "killed"/"lost"): finished, stopped, killed, failed or lost.
STATE_TAG = "slamdunk.state"
#: A resumed run's segments share one lineage: the MLflow run id of the first segment, and the segment before.
LINEAGE_TAG = "slamdunk.lineage"
PARENT_TAG = "slamdunk.parent"
FLUSH_SECONDS = 5.0
BATCH_LIMIT = 1000  # MLflow's maximum metrics per log_batch call


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the store ``mlflow.set_tracking_uri()`` chose in this process, else a
    sqlite file ``mlflow.db`` in the current directory."""
    return (os.environ.get("MLFLOW_TRACKING_URI") or _uri_set_in_mlflow()
            or f"sqlite:///{(Path.cwd() / 'mlflow.db').as_posix()}")


def _uri_set_in_mlflow() -> str | None:
    if "mlflow" not in sys.modules:  # nobody called mlflow.set_tracking_uri in this process
        return None
    try:
        from mlflow.tracking._tracking_service import utils
    except ImportError:
        return None
    uri = getattr(utils, "_tracking_uri", None)
    return str(uri) if uri else None


PARENT_TAG = "mlflow.parentRunId"
_SYSTEM_METRICS_ENV = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"


def system_metrics_wanted(system_metrics: bool | None) -> bool:
    """``True``/``False`` decide; ``None`` follows MLflow's switch (``mlflow.enable_system_metrics_logging()``
    or ``$MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``)."""
    if system_metrics is not None:
        return bool(system_metrics)
    return os.environ.get(_SYSTEM_METRICS_ENV, "").strip().lower() in ("true", "1")


def check_tags(tags: Any) -> dict[str, str]:
    """The caller's ``tags=`` as MLflow tags (strings); a ``ValueError`` names a bad one."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise TypeError(f"tags must be a dict of names to values, got {type(tags).__name__}")
    out = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 250:
            raise ValueError(f"tag name {key!r} must be a non-empty string of at most 250 characters")
        if key.startswith(("mlflow.", "slamdunk.")):
            raise ValueError(f"tag name {key!r} is reserved (mlflow.* and slamdunk.* are set by the library)")
        out[key] = str(value)[:5000]
    return out


def _source_tags() -> dict[str, str]:
    """MLflow's own context tags (user, source name and type, git commit), with the notebook as the source in
    Jupyter (``$JPY_SESSION_NAME``, which Jupyter sets to the notebook's path)."""
    try:
        from mlflow.tracking.context.registry import resolve_tags

        tags = {k: str(v) for k, v in resolve_tags().items()}
    except Exception:
        logger.debug("MLflow context tags unavailable", exc_info=True)
        tags = {}
    notebook = os.environ.get("JPY_SESSION_NAME")
    if notebook:
        tags.update({"mlflow.source.name": notebook, "mlflow.source.type": "NOTEBOOK"})
    return tags


def user_context(tags: dict | None = None, system_metrics: bool | None = None) -> dict:
    """What the caller's MLflow session says, read on the caller's thread (MLflow keeps the active run per
    thread): the store and experiment they chose, their active run (ours nests under it), the source, user and
    ``tags``, and whether to log system metrics. JSON, so it travels with a job."""
    ctx: dict[str, Any] = {"tags": {**_source_tags(), **check_tags(tags)},
                           "system_metrics": system_metrics_wanted(system_metrics)}
    if "mlflow" not in sys.modules:  # the caller never touched MLflow: nothing of theirs to respect
        return ctx
    import mlflow
    from mlflow.tracking import fluent

    active = mlflow.active_run()
    experiment_id = active.info.experiment_id if active is not None else (
        fluent._active_experiment_id or os.environ.get("MLFLOW_EXPERIMENT_ID"))
    if active is not None:
        ctx["parent_run_id"] = active.info.run_id
    if experiment_id or os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        ctx["tracking_uri"] = mlflow.get_tracking_uri()  # the store that experiment and that run live in
        try:
            ctx["experiment"] = (client(ctx["tracking_uri"]).get_experiment(experiment_id).name if experiment_id
                                 else os.environ["MLFLOW_EXPERIMENT_NAME"])
        except Exception as exc:  # noqa: BLE001
            logger.warning("MLflow: the active experiment %s cannot be read (%s); the run goes to the design's "
                           "experiment", experiment_id, exc)
            ctx.pop("parent_run_id", None)
    return ctx


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


def kill_stale_runs(mlflow_client, active_ids: set[str] | frozenset[str] = frozenset()) -> list[str]:
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

    def __init__(self, experiment: str, run_name: str, params: dict, tags: dict, active_ids: set[str] | frozenset[str],
                 uri: str | None = None, parent_run_id: str | None = None):
        from mlflow.entities import Param

        self.uri = uri or tracking_uri()
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
        parent = {PARENT_TAG: parent_run_id} if parent_run_id else {}
        run = self.client.create_run(exp_id, run_name=run_name, tags={**tags, **parent, **owner_tags()})
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

    def end(self, status: str, step: int | None = None, state: str | None = None) -> None:
        """Flush metrics, record the last ``step`` reached and set the final status (FINISHED, KILLED or
        FAILED; ``state``: this library's word for it, see :data:`STATE_TAG`); never raises."""
        try:
            self.flush()
            if step is not None:
                self.client.set_tag(self.run_id, STEP_TAG, str(int(step)))
            if state is not None:
                self.client.set_tag(self.run_id, STATE_TAG, state)
        except Exception:
            logger.exception("MLflow: could not write the last metrics of run %s", self.run_id)
        try:
            self.client.set_terminated(self.run_id, status)
        except Exception:
            logger.exception("MLflow: could not set run %s to %s", self.run_id, status)
        with _LIVE_LOCK:
            _LIVE.discard(self.run_id)


def _end_state(event) -> str:
    kind = type(event).__name__
    if kind == "Stopped":
        return "killed" if getattr(event, "forced", False) else "stopped"
    return {"Finished": "finished", "Failed": "failed", "Lost": "lost"}.get(kind, kind.lower())


def _tags(values: dict):
    from mlflow.entities import RunTag

    return [RunTag(k, str(v)) for k, v in values.items()]


def find_by_checkpoint_dir(mlflow_client, folder: str, exclude: str = ""):
    """The newest run of this library whose checkpoint folder is ``folder`` (None when there is none)."""
    from mlflow.entities import ViewType

    experiments = [e.experiment_id for e in mlflow_client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiments:
        return None
    quoted = folder.replace("\\", "\\\\").replace("'", "\\'")
    found = mlflow_client.search_runs(experiments, filter_string=f"tags.`{CHECKPOINT_TAG}` = '{quoted}'",
                                      max_results=10, order_by=["attributes.start_time DESC"])
    return next((r for r in found if r.info.run_id != exclude), None)


def state_of(run) -> str:
    """An MLflow run's state in this library's words: queued, running, finished, stopped, killed, failed, lost."""
    tagged = run.data.tags.get(STATE_TAG)
    if tagged and run.info.status != "RUNNING":
        return tagged
    return {"SCHEDULED": "queued"}.get(run.info.status, run.info.status.lower())


def search(active_ids: set[str] | frozenset[str] = frozenset(), uri: str | None = None) -> list:
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

    def __init__(self, spec, active_ids: set[str] | frozenset[str] = frozenset(), tags: dict | None = None):
        from .._version import __version__

        folder = spec.run_folder()
        ctx = getattr(spec, "mlflow_context", None) or {}
        base = {LIBRARY_TAG: __version__, CHECKPOINT_TAG: str(folder),
                "mlflow.note.content": f"SLaM Dunk Lab run {spec.name}", **(ctx.get("tags") or {}), **(tags or {})}
        experiment = ctx.get("experiment") or experiment_name(spec.experiment or "design")
        self.tracker = Tracker(experiment, spec.name, {}, base, active_ids, uri=ctx.get("tracking_uri"),
                               parent_run_id=ctx.get("parent_run_id"))
        self.run_id = self.tracker.run_id
        self.folder = folder
        self.samples: list[str] = []
        self.ok = True
        self.sample_prompt = str(spec.config.get("sample_prompt") or "\n")
        self.system_metrics = None
        try:
            self._log_design(spec.graph)
        except BaseException:
            self.tracker.end("FAILED")  # training goes on without MLflow; the MLflow run must not stay RUNNING
            raise
        if ctx.get("system_metrics"):
            self.system_metrics = _start_system_metrics(self.run_id, self.tracker.uri)

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
                self._stop_system_metrics()
                failed = type(event).__name__ == "Failed"
                self.tracker.end("FAILED" if failed else "KILLED", step=event.step,
                                 state="failed" if failed else _end_state(event))

    def _on(self, event) -> None:
        from mlflow.entities import Param

        kind = type(event).__name__
        t = self.tracker
        if kind == "Started":
            # the device it really runs on ("cuda", "cpu"), not the "auto" it was asked for
            params = {**event.config, **event.design, "device": event.device,
                      "device_requested": event.config.get("device", event.device), "run_name": event.run,
                      "resumed_from": event.resumed_from,
                      # the precision dtype="auto" chose and why, and what MFU is measured against
                      "precision": event.dtype, "precision_reason": (event.precision or {}).get("reason", ""),
                      "peak_flops": f"{event.peak_flops:.4g}", "train_flops_per_token": f"{event.flops_per_token:.6g}"}
            items = [Param(k, str(v)[:6000]) for k, v in params.items()]
            for i in range(0, len(items), 100):
                t.client.log_batch(t.run_id, params=items[i:i + 100])
            if event.worker:
                t.set_tag("slamdunk.worker", event.worker)
            if event.dataset:
                log_dataset(t.client, t.run_id, event.dataset)
            if event.resumed_from:
                self._tag_lineage(event.resumed_from)
        elif kind == "Step":
            for step, loss, lr, grad_norm in event.points:
                t.metric("loss", loss, step)
                t.metric("lr", lr, step)
                t.metric("grad_norm", grad_norm, step)
            t.metric("tokens_per_s", event.tokens_per_s, event.step)
            if event.mfu:
                t.metric("mfu", event.mfu, event.step)
            t.maybe_flush()
        elif kind == "Eval":
            t.metric("train_loss", event.train_loss, event.step)
            t.metric("val_loss", event.val_loss, event.step)
        elif kind == "Sample":
            self.samples.append(f"--- step {event.step} ---\n{event.prompt}{event.text}\n\n")
        elif kind in ("Finished", "Stopped"):
            self._log_results(event.step)
            self._stop_system_metrics()
            t.end("KILLED" if kind == "Stopped" else "FINISHED", step=event.step, state=_end_state(event))
        elif kind == "Failed":
            try:
                t.set_tag("slamdunk.error", event.error[:5000])
            except Exception:
                logger.exception("run %s: could not record the error in MLflow", t.run_id)
            self._stop_system_metrics()
            t.end("FAILED", step=event.step, state="failed")

    def _tag_lineage(self, resumed_from: str) -> None:
        """A resumed run continues the lineage of the run that wrote its checkpoint (found by that run's
        checkpoint folder), so ``sd.runs()`` shows the segments as one run."""
        t = self.tracker
        try:
            parent = find_by_checkpoint_dir(t.client, str(Path(resumed_from).parent), exclude=t.run_id)
        except Exception:
            logger.debug("run %s: could not find the run it resumes", t.run_id, exc_info=True)
            return
        if parent is None:
            return
        root = parent.data.tags.get(LINEAGE_TAG) or parent.info.run_id
        t.client.log_batch(t.run_id, tags=_tags({LINEAGE_TAG: root, PARENT_TAG: parent.info.run_id}))

    def _stop_system_metrics(self) -> None:
        monitor, self.system_metrics = self.system_metrics, None
        if monitor is not None:
            try:
                monitor.finish()
            except Exception:
                logger.exception("run %s: could not stop MLflow's system metrics", self.run_id)

    def _log_results(self, step: int) -> None:
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
            log_model(self.tracker, last, step, self.sample_prompt)
        except Exception:
            logger.exception("run %s: could not log the model to MLflow", self.tracker.run_id)


class _quiet:
    """Raise MLflow loggers to WARNING for a moment (their INFO lines would print from the training thread)."""

    def __init__(self, *names: str):
        self.loggers = [logging.getLogger(n) for n in names]

    def __enter__(self):
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.WARNING)

    def __exit__(self, *exc):
        for lg, level in zip(self.loggers, self.levels):
            lg.setLevel(level)


def _start_system_metrics(run_id: str, uri: str):
    """MLflow's system metrics monitor (CPU, memory, GPU every 10 s as ``system/*`` metrics) for ``run_id``."""
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        try:
            monitor = SystemMetricsMonitor(run_id, tracking_uri=uri)
        except TypeError:  # MLflow before 3.2 logs to the process's tracking URI
            monitor = SystemMetricsMonitor(run_id)
        with _quiet("mlflow.system_metrics.system_metrics_monitor"):
            monitor.start()
        return monitor
    except Exception as exc:  # noqa: BLE001 - e.g. psutil missing (mlflow-skinny leaves it out)
        logger.warning("MLflow system metrics are off for run %s (%s: %s); pip install psutil", run_id,
                       type(exc).__name__, exc)
        return None


def log_dataset(mlflow_client, run_id: str, dataset: dict) -> None:
    """The run's data as an MLflow dataset input (context ``training``): a metadata-only dataset named after
    the corpus whose digest is the corpus content's fingerprint, so two runs on the same text share it."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.types.schema import ColSpec, Schema

    source = CodeDatasetSource(tags={k: str(dataset.get(k, "")) for k in ("source", "cache", "tokenizer",
                                                                           "tokenizer_digest", "train_tokens",
                                                                           "val_tokens")})
    digest = str(dataset.get("digest") or "")[:36] or None  # MLflow keeps digests of at most 36 characters
    ds = MetaDataset(source,  # type: ignore[abstract]  # mlflow's stubs mark profile abstract; the class defines it
                     name=str(dataset.get("name") or "corpus"), digest=digest,
                     schema=Schema([ColSpec("string", "text")]))
    mlflow_client.log_inputs(run_id, datasets=[DatasetInput(ds._to_mlflow_entity(),
                                                            tags=[InputTag("mlflow.data.context", "training")])])


MODEL_NAME = "model"


def model_signature():
    """predict's signature: prompts in, text out, with the generation settings as parameters."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    from .mlflow_model import PARAMS

    kinds = {int: "long", float: "double", str: "string"}
    return ModelSignature(inputs=Schema([ColSpec("string")]), outputs=Schema([ColSpec("string", "text")]),
                          params=ParamSchema([ParamSpec(k, kinds[type(v)], v) for k, v in PARAMS.items()]))


def log_model(tracker: Tracker, checkpoint: str | os.PathLike, step: int, prompt: str = "\n") -> str:
    """Log the checkpoint's model as the run's MLflow model ``model`` (an MLflow 3 logged model linked to the
    run as its output at ``step``); returns its model id. The model is :mod:`.mlflow_model` (code, not a
    pickle) and a :func:`slamdunk_lab.save` folder (safetensors and JSON)."""
    import tempfile

    import mlflow
    import pandas as pd
    from mlflow.entities import LoggedModelOutput

    from .. import io
    from .._version import __version__
    from . import checkpoint as ckpt
    from . import mlflow_model

    loaded = ckpt.LoadedCheckpoint(checkpoint)
    model = loaded.build_model("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        weights = io.save(model, Path(tmp) / mlflow_model.WEIGHTS_ARTIFACT, tokenizer=loaded.tokenizer())
        del model
        local = Path(tmp) / MODEL_NAME
        import torch

        with _quiet("mlflow.pyfunc", "mlflow.models"):  # its INFO lines would land in whatever cell runs
            mlflow.pyfunc.save_model(
                path=str(local), python_model=str(Path(mlflow_model.__file__)),
                artifacts={mlflow_model.WEIGHTS_ARTIFACT: str(weights)}, signature=model_signature(),
                input_example=pd.DataFrame({"prompt": [prompt]}),
                pip_requirements=[f"slamdunk-lab=={__version__}", f"torch=={torch.__version__.split('+')[0]}",
                                  f"mlflow-skinny=={mlflow.__version__}"],
                metadata={"slamdunk_lab": __version__, "step": int(step)})
        c = tracker.client
        lm = c.create_logged_model(tracker.experiment_id, name=MODEL_NAME, source_run_id=tracker.run_id,
                                   tags={LIBRARY_TAG: __version__}, model_type="slamdunk-lab language model")
        c.log_model_artifacts(lm.model_id, str(local))
        c.finalize_logged_model(lm.model_id, "READY")
        c.log_outputs(tracker.run_id, [LoggedModelOutput(lm.model_id, int(step))])
    return lm.model_id
