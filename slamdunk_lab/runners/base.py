"""What every runner shares: the :class:`Runner` protocol and the :class:`Run` handle.

A runner decides only where a :class:`~slamdunk_lab.training.spec.JobSpec` runs and how its events come back;
the work itself is :func:`slamdunk_lab.training.execute.execute` in every case. The handle a runner returns is
the same for all of them: its state (``status``, ``history``, ``step``, ``mlflow_run_id`` …) is rebuilt from
the run's events alone, so a run training in this kernel and one training on a worker across the network look
and behave the same to the monitor widget, ``sd.runs()`` and the student.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..training import events as ev
from ..training.events import Dispatcher, Event, Subscription
from ..training.spec import JobSpec
from ..training.trainer import TrainConfig

#: The states of a run: the last four are final ("lost": its worker died; sd.resume continues it).
STATUSES = ("queued", "running", "finished", "stopped", "failed", "killed", "lost")
FINAL = ("finished", "stopped", "failed", "killed", "lost")


@runtime_checkable
class Runner(Protocol):
    """Where jobs run. ``submit`` returns the job's :class:`Run` at once (``background=True``) or once it
    has ended (``background=False``: the calling thread waits; Ctrl-C stops the run after the current step
    with a checkpoint, a second one ends it at once)."""

    kind: str

    def submit(self, spec: JobSpec, *, background: bool, on_queued: Callable[[Run], Any] | None = None,
               progress: bool = False, **options: Any) -> Run: ...

    def active_mlflow_ids(self) -> set[str]: ...


#: the status a run's last event leaves it in (a forced stop reads "killed")
_END_STATUS = {ev.Finished: "finished", ev.Stopped: "stopped", ev.Failed: "failed", ev.Lost: "lost"}


class Run:
    """A training job: its status, history, events and results.

    ``status`` is one of :data:`STATUSES` (``error`` says why a run failed). ``stop()`` ends it within one step
    with a checkpoint; ``wait()`` blocks until it ends; ``subscribe(callback)`` delivers its events (see
    :mod:`slamdunk_lab.training.events`); ``monitor()`` is a live widget of it.
    """

    runner = "local"

    def __init__(self, spec: JobSpec, history: list | None = None):
        self.spec = spec
        self.id: str = spec.id
        self.name: str = spec.name
        self.config: TrainConfig = TrainConfig.from_json(spec.config)
        self.graph: dict = spec.graph
        self.checkpoint_dir: str = ""
        self.status: str = "queued"
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.mlflow_run_id: str | None = spec.mlflow_run_id
        self.worker: str = ""
        self._experiment = spec.experiment
        self._history: list[dict] = list(history or [])
        self._step = 0
        self._checkpoint = ""
        self._resumed_from = ""  # the checkpoint the trainer really began from (its Started event)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._dispatcher = Dispatcher(self.name)

    # -- state, from the events
    def record(self, event: Event) -> None:
        """Take ``event`` into the run's state, then hand it to the subscribers (the runner's sink)."""
        with self._lock:
            if isinstance(event, ev.Started):
                self.status = "running"
                self._step = event.step
                self._history = list(event.history) if event.history or event.step == 0 else self._history
                self.mlflow_run_id = event.mlflow_run_id or self.mlflow_run_id
                self.checkpoint_dir = event.checkpoint_dir or self.checkpoint_dir
                self._experiment = event.experiment or self._experiment
                self.worker = event.worker or self.worker
                self._resumed_from = event.resumed_from or self._resumed_from
            elif isinstance(event, ev.Step):
                self._history.extend({"kind": "train", "step": s, "loss": loss, "lr": lr, "grad_norm": gn}
                                     for s, loss, lr, gn in event.points)
                self._step = event.step
            elif isinstance(event, ev.Eval):
                self._history.append({"kind": "eval", "step": event.step, "train_loss": event.train_loss,
                                      "val_loss": event.val_loss})
            elif isinstance(event, ev.Sample):
                self._history.append({"kind": "sample", "step": event.step, "text": event.text})
            elif isinstance(event, ev.Checkpoint):
                self._checkpoint = event.path
            elif isinstance(event, (ev.Finished, ev.Stopped, ev.Failed, ev.Lost)):
                self._step = event.step if not isinstance(event, ev.Failed) else self._step
                self._checkpoint = getattr(event, "checkpoint", "") or self._checkpoint
                forced = isinstance(event, ev.Stopped) and event.forced
                self.status = "killed" if forced else _END_STATUS[type(event)]
                if isinstance(event, ev.Failed):
                    self.error = event.error
                    self.exception = getattr(event, "exception", None)
        self._dispatcher.emit(event)

    def _close(self) -> None:
        """The run has ended: ``wait()`` returns once its events are delivered."""
        self._done.set()
        self._dispatcher.close()

    @property
    def history(self) -> list[dict]:
        """One dict per step (``kind="train"``: step, loss, lr, grad_norm), per evaluation (``kind="eval"``:
        step, train_loss, val_loss) and per sample (``kind="sample"``: step, text), oldest first."""
        with self._lock:
            return list(self._history)

    def history_tail(self, start: int) -> list[dict]:
        """``history[start:]`` without copying the whole history (the monitor reads new entries this way)."""
        with self._lock:
            return self._history[start:]

    @property
    def experiment(self) -> str:
        """The MLflow experiment (design name) this run is logged under."""
        return self._experiment

    @property
    def step(self) -> int:
        """Optimizer steps done (the latest reported; exact once the run has ended)."""
        return self._step

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def last_checkpoint(self) -> str | None:
        """The folder of this run's newest checkpoint, or None before the first one."""
        return self._checkpoint or None

    @property
    def model(self) -> Any:
        """The trained model: in this process for a local run, downloaded from its artifacts for a remote one."""
        raise NotImplementedError(f"{type(self).__name__} does not say where its model is")

    # -- control
    def stop(self, force: bool = False) -> Run:
        """Stop after the current step and save a checkpoint (a queued run just never starts)."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run has ended and its events were delivered (or ``timeout`` seconds passed)."""
        if self._done.wait(timeout):
            self._dispatcher.drain(timeout)
        return self

    def monitor(self, **kwargs: Any):
        """A new monitor widget of this run (its whole history so far, then live); show it by making it a
        cell's last expression. ``kwargs`` go to :class:`slamdunk_lab.widgets.Monitor` (e.g. ``height``)."""
        from ..widgets.monitor import Monitor

        return Monitor(**kwargs).follow(self)

    def subscribe(self, callback: Callable[[Event], Any], replay: bool = False) -> Subscription:
        """Call ``callback(event)`` for each event from now on (``replay=True``: every earlier one first).

        Callbacks run on a dispatcher thread, in order; an exception in one is logged and the run carries on.
        Returns a handle: call ``handle.unsubscribe()`` (or ``handle()``) to stop.
        """
        return self._dispatcher.add(callback, replay=replay)

    @property
    def events(self) -> list[Event]:
        """Every event so far (``Step`` events are throttled to about 5 per second)."""
        return list(self._dispatcher.events)

    @property
    def resumed_from(self) -> str | None:
        """The checkpoint this run continues (``sd.resume``), or None for a run that started from scratch.

        Once the run started, the checkpoint folder its trainer loaded; before that, what the job asked for (a
        remote resume asks for the old run's folder and the worker picks its newest checkpoint)."""
        return self._resumed_from or self.spec.resume_from or None

    @property
    def start_step(self) -> int:
        """The step this run began at: 0, or the checkpoint's step when it was resumed (its history and the
        monitor's curve hold the steps before it too: a resumed run continues the same curve)."""
        import re

        found = re.search(r"step-(\d+)/?$", self.resumed_from or "")
        return int(found.group(1)) if found else 0

    @property
    def loss(self) -> float | None:
        """The training loss of the latest step (None before the first)."""
        last = next((h for h in reversed(self.history) if h.get("kind") == "train"), None)
        return last["loss"] if last else None

    @property
    def status_line(self) -> str:
        """The run's state in one sentence, as the monitor and ``repr`` show it: ``running, step 12/30``,
        ``finished at step 30``, ``stopped at step 7; sd.resume(run) continues from step-000007``, …"""
        status, step, total = self.status, self.step, self.config.steps
        checkpoint = self.last_checkpoint
        where = checkpoint.rstrip("/").rsplit("/", 1)[-1] if checkpoint else ""
        if status == "queued":
            return "queued"
        if status == "running":
            return f"running, step {step}/{total}"
        if status == "finished":
            return f"finished at step {step}/{total}"
        if status == "stopped":
            return (f"stopped at step {step}/{total}; sd.resume(run) continues from {where}" if where
                    else f"stopped at step {step}/{total} before its first checkpoint (nothing to resume)")
        if status in ("killed", "lost"):
            why = "killed" if status == "killed" else "lost (its worker stopped answering)"
            back = f"; sd.resume(run) continues from {where}" if where else ""
            return f"{why} at step {step}/{total}{back}"
        if status == "failed":
            return f"failed at step {step}/{total}: {self.error}"
        return f"{status}, step {step}/{total}"

    def __repr__(self) -> str:
        loss = f", loss {self.loss:.4f}" if self.loss is not None else ""
        where = f", on {self.worker}" if self.worker else ""
        return f"Run({self.name!r}, {self.status_line}{loss}{where})"

    def _repr_html_(self) -> str:
        """A notebook shows the run's status, its numbers and its loss curves (kept in a saved notebook)."""
        from .._html import esc, line_chart, table

        train = [(h["step"], h["loss"]) for h in self.history if h.get("kind") == "train" and "loss" in h]
        val = [(h["step"], h["val_loss"]) for h in self.history if h.get("kind") == "eval" and "val_loss" in h]
        facts = [("status", self.status_line), ("loss", f"{self.loss:.4f}" if self.loss is not None else "")]
        facts += [(k, v) for k, v in (("worker", self.worker), ("MLflow run", getattr(self, "mlflow_run_id", None)),
                                      ("checkpoint", self.last_checkpoint)) if v]
        curves = {k: v for k, v in (("loss", train), ("val_loss", val)) if v}
        return (f'<div style="font:12px sans-serif"><b>Run {esc(str(self.name))}</b></div>'
                + table(facts) + (line_chart(curves, title="loss") if curves else ""))

    def _display_bundle(self) -> dict:
        """What a notebook shows for this run now: the text repr, and any richer form the class offers."""
        bundle: dict = {}
        rich = getattr(self, "_repr_mimebundle_", None)
        if callable(rich):
            made = rich()
            bundle.update(made[0] if isinstance(made, tuple) else made or {})
        html = getattr(self, "_repr_html_", None)
        if callable(html) and "text/html" not in bundle:
            text = html()
            if text:
                bundle["text/html"] = text
        bundle["text/plain"] = repr(self)
        return bundle

    def _ipython_display_(self) -> None:
        """Shown in a notebook, the run's output stays live: it is redrawn as the run goes on (at most once a
        second) and when it ends, so a cell never keeps saying "running" for a run that has finished."""
        from IPython import get_ipython
        from IPython.display import display

        in_notebook = type(get_ipython()).__name__ == "ZMQInteractiveShell"  # a Jupyter kernel, not a terminal
        if not in_notebook or self.done:
            display(self._display_bundle(), raw=True)
            return
        handle = display(self._display_bundle(), raw=True, display_id=True)
        if handle is None:
            return
        import time

        last = [time.monotonic()]

        def redraw(event: Event) -> None:
            kind = type(event).__name__
            now = time.monotonic()
            if kind in ("Finished", "Stopped", "Failed", "Lost", "Started") or now - last[0] >= 1.0:
                last[0] = now
                handle.update(self._display_bundle(), raw=True)

        self.subscribe(redraw)  # the dispatcher drops its subscribers once the run has ended
        if self.status in FINAL:  # it ended while this cell was being shown
            handle.update(self._display_bundle(), raw=True)
