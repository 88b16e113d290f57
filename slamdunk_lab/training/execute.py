"""The one function every runner calls: :func:`execute` runs a :class:`~.spec.JobSpec` to its end.

A runner only decides *where* it runs (a kernel thread, a Celery worker) and where the events go (a run
handle, a Redis stream, MLflow — all subscribers of the same stream). ``execute`` resolves the spec on this
machine, trains, and turns whatever happens into the run's final event:

* every step done or ``should_stop()`` answered True → ``Finished`` / ``Stopped`` (with a checkpoint);
* an error (out of memory, a NaN loss, data that cannot be read) → ``Failed``, with a sentence for people;
* :class:`Killed` raised into the training thread (``run.stop(force=True)`` on a worker) → ``Stopped`` with
  ``forced=True`` and the last checkpoint written before;
* a ``KeyboardInterrupt`` (Ctrl-C in a blocking run) → a checkpoint of the last whole step, then
  :class:`Interrupted` carrying the ``Stopped`` event, for the runner to report before it lets go.

The final event is returned, not emitted: the runner records the run's final state first, then emits it, so a
listener that sees ``Finished`` finds everything (MLflow included) already final.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from . import checkpoint as ckpt
from .events import Event, Failed, Stopped
from .spec import JobSpec, resolve
from .trainer import NonFiniteLoss, Trainer

logger = logging.getLogger("slamdunk_lab.training")


class Killed(BaseException):
    """Raised into a thread that runs :func:`execute` to end the run at once (no new checkpoint).

    A ``BaseException`` so that no ``except Exception`` in between swallows it."""


class Interrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` that ended a run: ``terminal`` is its ``Stopped`` event (checkpoint written)."""

    def __init__(self, terminal: Stopped):
        super().__init__()
        self.terminal = terminal


def execute(spec: JobSpec, emit: Callable[[Event], None], should_stop: Callable[[], bool], *,
            model: Any = None, tokenized: Any = None, hooks: dict | None = None,
            on_trainer: Callable[[Trainer], None] | None = None) -> Event:
    """Run ``spec`` on the calling thread, sending its events to ``emit``; returns the final event.

    ``should_stop`` is polled once per step. ``model`` (train this module in place), ``tokenized`` (the data,
    already open) and ``on_trainer`` (called with the trainer before it starts, to read the live model) are
    for a runner in the same process; a worker passes none of them. ``hooks`` are test seams of the trainer.
    """
    trainer: Trainer | None = None
    try:
        job = resolve(spec, model, tokenized)
        trainer = Trainer(job, emit, should_stop, hooks)
        if on_trainer is not None:
            on_trainer(trainer)
        return trainer.run()
    except KeyboardInterrupt as exc:  # Ctrl-C in a blocking run: the last whole step, checkpointed exactly
        if trainer is None or trainer.model is None:
            raise Interrupted(Stopped(run=spec.name, step=0, checkpoint=_newest(spec))) from exc
        raise Interrupted(_stopped_after_interrupt(trainer)) from exc
    except Killed:
        if trainer is not None:
            _report_read_steps(trainer, emit)
        step = trainer.step if trainer is not None else 0
        return Stopped(run=spec.name, step=step, checkpoint=_newest(spec), forced=True)
    except BaseException as exc:  # noqa: BLE001 - every error becomes the run's Failed event
        return _failed(spec, trainer, exc, emit)


def _stopped_after_interrupt(trainer: Trainer) -> Stopped:
    trainer._flush(trainer.pending)
    path = trainer.checkpoint_after_interrupt()
    trainer.report_steps()
    step = trainer.step
    if not path:  # nothing new could be written: point at the newest checkpoint there is
        try:
            path = str(ckpt.resolve(trainer.job.checkpoint_dir))
        except FileNotFoundError:
            path = trainer.job.resume_from or ""  # (a resumed run: where it began)
        step = ckpt.LoadedCheckpoint(path).step if path else trainer.job.start_step
    return Stopped(run=trainer.job.name, step=step, checkpoint=path)


def _newest(spec: JobSpec) -> str:
    """The newest checkpoint of the job's folder, or ""."""
    try:
        return str(ckpt.resolve(spec.run_folder()))
    except (FileNotFoundError, ValueError):
        return ""


def _report_read_steps(trainer: Trainer, emit: Callable[[Event], None]) -> None:
    """Steps already read off the device still reach the listeners when a run ends early."""
    try:
        trainer.report_steps()
    except Exception:
        logger.exception("run %s: could not report the last steps", trainer.job.name)


def error_message(exc: BaseException, step: int) -> str:
    """A sentence for people about why a run failed at ``step``."""
    if isinstance(exc, NonFiniteLoss):
        return str(exc)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return (f"out of memory at step {step}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
                f"Use a smaller batch_size or context (grad_accum keeps the effective batch), or dtype='bfloat16'")
    return f"{type(exc).__name__} at step {step}: {exc}"


def _failed(spec: JobSpec, trainer: Trainer | None, exc: BaseException, emit: Callable[[Event], None]) -> Failed:
    step = trainer.current_step if trainer is not None else 0
    message = error_message(exc, step)
    logger.error("run %s failed: %s", spec.name, message,
                 exc_info=not isinstance(exc, (NonFiniteLoss, ValueError, FileNotFoundError)))
    if trainer is not None:
        _report_read_steps(trainer, emit)
        trainer.optimizer = None  # keep the model to inspect, free the rest (after OOM, for the next run)
        trainer.pending.clear()
    _free_device_memory()
    failed = Failed(run=spec.name, step=step, error=message)
    vars(failed)["exception"] = exc  # not a field, never in the JSON: for a runner in this process (run.exception)
    return failed


def _free_device_memory() -> None:
    """After a failure (often out-of-memory), give cached GPU memory back so the next run can start."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
