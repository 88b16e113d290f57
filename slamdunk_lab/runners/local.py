"""The default runner: jobs train in this process, on a background thread or on the calling one.

Runs wait in one queue and start in order, ``max_concurrent`` at a time. A blocking run trains on the calling
thread; there the first Ctrl-C (or Jupyter's interrupt) stops it after the current step with an exact
checkpoint and then raises ``KeyboardInterrupt``, and a second one stops it at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..training import tracking
from ..training.events import Event, Stopped
from ..training.execute import Interrupted, execute
from ..training.progress import ConsoleProgress
from ..training.spec import JobSpec
from .base import Run

logger = logging.getLogger("slamdunk_lab.training")


class _Scheduler:
    """First come, first served; a run starts when fewer than its ``max_concurrent`` runs are running."""

    def __init__(self):
        self.cond = threading.Condition()
        self.waiting: list[LocalRun] = []
        self.running: list[LocalRun] = []

    def enqueue(self, run: LocalRun) -> None:
        with self.cond:
            self.waiting.append(run)

    def acquire(self, run: LocalRun, max_concurrent: int) -> bool:
        """Block until ``run`` may start; False if it was stopped while waiting."""
        with self.cond:
            try:
                while not run._stop.is_set() and not (self.waiting[0] is run and len(self.running) < max_concurrent):
                    self.cond.wait(0.5)
            finally:  # also on Ctrl-C while waiting: a run that will never start must leave the queue
                self.waiting.remove(run)
            if not run._stop.is_set():
                self.running.append(run)
            self.cond.notify_all()
            return run in self.running

    def release(self, run: LocalRun) -> None:
        with self.cond:
            if run in self.running:
                self.running.remove(run)
            self.cond.notify_all()

    def active_mlflow_ids(self) -> set[str]:
        with self.cond:
            return {r.mlflow_run_id for r in self.running + self.waiting if r.mlflow_run_id}


class LocalRun(Run):
    """A run training in this process: its live model and trainer are at hand."""

    runner = "local"

    def __init__(self, spec: JobSpec, scheduler: _Scheduler, tokenizer: Any = None, model: Any = None,
                 history: list | None = None):
        super().__init__(spec, history)
        self.checkpoint_dir = str(spec.run_folder())
        self.tokenizer = tokenizer
        self._model = model
        self._trainer = None
        self._scheduler = scheduler
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def model(self):
        """The model being trained (None while queued, when it has not been built yet)."""
        if self._trainer is not None and self._trainer.model is not None:
            return self._trainer.model
        return self._model

    @property
    def step(self) -> int:
        """Optimizer steps done (live: read from the trainer in this process)."""
        return self._trainer.step if self._trainer is not None else self._step

    @property
    def last_checkpoint(self) -> str | None:
        from ..training import checkpoint as ckpt

        try:
            return str(ckpt.resolve(self.checkpoint_dir))
        except FileNotFoundError:
            return None

    def stop(self, force: bool = False) -> LocalRun:
        """Stop after the current step and save a checkpoint (a queued run just never starts). A run in this
        process always finishes its step: ``force`` is accepted for the same interface as a worker's run."""
        self._stop.set()
        with self._scheduler.cond:
            self._scheduler.cond.notify_all()
        return self


class LocalThreadRunner:
    """Trains in this process: on a background thread (``background=True``) or the calling thread."""

    kind = "local"

    def __init__(self):
        self.scheduler = _Scheduler()

    def active_mlflow_ids(self) -> set[str]:
        return self.scheduler.active_mlflow_ids()

    def submit(self, spec: JobSpec, *, background: bool, on_queued: Callable[[Run], Any] | None = None,
               progress: bool = False, max_concurrent: int = 1, model: Any = None, tokenized: Any = None,
               tokenizer: Any = None, history: list | None = None, hooks: dict | None = None) -> LocalRun:
        """Queue ``spec`` and start it (see :class:`~.base.Runner`). ``model`` is trained in place;
        ``tokenized``/``tokenizer`` are the data already opened by the caller's checks."""
        run = LocalRun(spec, self.scheduler, tokenizer=tokenizer, model=model, history=history)
        if progress:
            run.subscribe(ConsoleProgress())
        self.scheduler.enqueue(run)
        if on_queued is not None:
            on_queued(run)  # before the thread starts: a widget replays nothing, then follows live
        args = (run, max_concurrent, tokenized, hooks)
        if background:
            run._thread = threading.Thread(target=self._execute, args=args, name=f"slamdunk-run-{run.name}",
                                           daemon=True)
            run._thread.start()
            return run
        with _stop_on_interrupt(run) as interrupted:
            self._execute(*args)
        run.wait()
        if interrupted:  # the run ended cleanly after Ctrl-C; the script or cell still ends as the user asked
            raise KeyboardInterrupt
        return run

    def _execute(self, run: LocalRun, max_concurrent: int, tokenized: Any, hooks: dict | None) -> None:
        """The whole life of a run after its checks: queue, train, report. Never raises except
        KeyboardInterrupt."""
        interrupted: BaseException | None = None
        sinks: list[Callable[[Event], None]] = []
        emit = run.record
        try:
            if not self.scheduler.acquire(run, max_concurrent):
                run.record(Stopped(run=run.name, step=run.step, checkpoint=""))
                return
            run.status = "running"
            spec = run.spec
            if spec.mlflow:
                logger_ = _start_mlflow(spec, self.scheduler.active_mlflow_ids())
                if logger_ is not None:
                    spec.mlflow_run_id = run.mlflow_run_id = logger_.run_id
                    sinks.append(logger_)
            sinks.append(run.record)

            def emit(event: Event) -> None:  # MLflow first: a listener that sees the end finds it final there
                for sink in sinks:
                    sink(event)

            def keep(trainer) -> None:
                run._trainer = trainer

            try:
                terminal = execute(spec, emit, run._stop.is_set, model=run._model, tokenized=tokenized,
                                   hooks=hooks, on_trainer=keep)
            except Interrupted as exc:  # a second Ctrl-C / kernel interrupt in a blocking run: stop now
                interrupted, terminal = exc, exc.terminal
            emit(terminal)
        except KeyboardInterrupt as exc:  # interrupted outside the loop (waiting in the queue, saving)
            interrupted = exc
            emit(Stopped(run=run.name, step=run.step, checkpoint=run.last_checkpoint or ""))
        finally:
            self.scheduler.release(run)
            run._close()
        if interrupted is not None:
            run._dispatcher.drain(5)  # the "stopped … continue with" line reaches the console before the end
            raise interrupted


def _start_mlflow(spec: JobSpec, active: set[str]):
    """The MLflow subscriber of a starting run, or None (with a warning) when MLflow cannot be used."""
    try:
        return tracking.MlflowLogger(spec, active)
    except Exception as exc:  # noqa: BLE001 - tracking is a convenience; training must not depend on it
        logger.warning("run %s: MLflow tracking is off for this run (%s: %s)", spec.name, type(exc).__name__, exc)
        return None


@contextlib.contextmanager
def _stop_on_interrupt(run: LocalRun):
    """While a blocking run trains on the main thread, the first Ctrl-C (or Jupyter's interrupt) stops it
    after the current step with an exact checkpoint, then raises KeyboardInterrupt; a second one interrupts
    at once. Yields a list that is non-empty once the first interrupt came."""
    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # under nohup or `cmd &`, the process ignores Ctrl-C: so does the run
        yield seen
        return

    def handler(signum, frame):
        if seen:
            raise KeyboardInterrupt
        seen.append(True)
        run.stop()
        print(f"\n{run.name}: stopping after step {run.step + 1} with a checkpoint (interrupt again to stop at "
              f"once)", file=sys.stderr, flush=True)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main interpreter's main thread after all
        yield seen
        return
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


#: The one local runner of this process (its queue is shared by every sd.train call).
LOCAL = LocalThreadRunner()
