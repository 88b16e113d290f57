"""Live training monitor: metric curves, progress and status, updated from any thread."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import traitlets

from ._base import SlamDunkWidget


class Monitor(SlamDunkWidget):
    """Plot metrics while a model trains.

    >>> mon = sd.widgets.Monitor(title="gpt2-tiny", total_steps=500)   # doctest: +SKIP
    >>> mon                                                           # shows the chart
    >>> for step in range(500):                                       # e.g. in a training loop/thread
    ...     mon.log(step, loss=..., val_loss=...)
    >>> mon.finish()

    ``log`` may be called from a background thread. Updates are sent to the page
    at most every ``interval`` seconds (the latest point always arrives).
    """

    _view = traitlets.Unicode("monitor").tag(sync=True)

    title = traitlets.Unicode("Training").tag(sync=True)
    #: One dict per logged step: ``{"step": int, "<metric>": float, ...}``.
    history = traitlets.List(traitlets.Dict(), default_value=[]).tag(sync=True)
    total_steps = traitlets.Int(None, allow_none=True).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    #: Plot the y axis on a log scale.
    log_scale = traitlets.Bool(False).tag(sync=True)
    #: Latest text sample of the run being followed (prompt + continuation).
    sample = traitlets.Unicode("").tag(sync=True)
    #: Whether the page shows a Stop button (a run is being followed).
    can_stop = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(280, min=160).tag(sync=True)

    def __init__(self, *, interval: float = 0.25, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._interval = float(interval)
        self._lock = threading.Lock()
        self._points: list[dict] = list(self.history)
        self._last_sync = 0.0
        self._timer: threading.Timer | None = None
        self._pending_status: str | None = None
        self._run: Any = None
        self._subscription: Any = None

    def log(self, step: int, **metrics: float) -> None:
        """Record the metrics of one step (non-finite values are kept as ``None``)."""
        point: dict[str, Any] = {"step": int(step)}
        for name, value in metrics.items():
            v = float(value)
            point[name] = v if math.isfinite(v) else None
        with self._lock:
            self._points.append(point)
            if not self.running:
                self.running = True
            due = time.monotonic() - self._last_sync >= self._interval
            if not due and self._timer is None:
                self._timer = threading.Timer(self._interval, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if due:
            self.flush()

    def flush(self) -> None:
        """Send the points logged so far to the page now."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last_sync = time.monotonic()
            points = list(self._points)
            status, self._pending_status = self._pending_status, None
        if points != self.history:
            self.history = points
        if status is not None:
            self.status = status
        elif points and self.total_steps:
            self.status = f"step {points[-1]['step'] + 1}/{self.total_steps}"

    def finish(self, status: str = "done") -> None:
        """Mark the run finished (sends any pending points)."""
        self.flush()
        self.running = False
        self.status = status

    def reset(self) -> None:
        with self._lock:
            self._points = []
        self.flush()
        self.status = ""
        self.running = False

    # -- following a training run ---------------------------------------------
    def follow(self, run: Any) -> Monitor:
        """Plot a training run (``sd.train(...)``): its loss, eval loss, samples and status, live.

        Reads the run's events (``run.subscribe(callback, replay=True)``); the page's Stop button
        calls ``run.stop()``. Returns ``self`` so ``sd.widgets.Monitor().follow(run)`` displays.
        """
        if not callable(getattr(run, "subscribe", None)):
            raise TypeError(
                "follow() needs a training run with .subscribe(callback), e.g. from sd.train(...)"
            )
        self.unfollow()
        self.reset()
        self._run = run
        self.title = str(getattr(run, "name", "") or self.title)
        self.can_stop = callable(getattr(run, "stop", None))
        self._subscription = run.subscribe(self._on_run_event, replay=True)
        return self

    def unfollow(self) -> None:
        sub, self._subscription, self._run = self._subscription, None, None
        if sub is not None:
            (getattr(sub, "unsubscribe", None) or sub)()
        self.can_stop = False

    def _on_run_event(self, event: Any) -> None:
        data = event.to_json() if hasattr(event, "to_json") else dict(event)
        kind = data.get("type", "")
        step = int(data.get("step") or 0)
        if kind == "Started":
            self.total_steps = int(data.get("total_steps") or 0) or None
            self.running = True
            self.status = f"running on {data.get('device', '?')} ({data.get('dtype', '')})"
        elif kind == "Step":
            self._pending_status = _step_status(data)
            self.log(step, loss=data.get("loss", math.nan))
        elif kind == "Eval":
            self.log(step, val_loss=data.get("val_loss", math.nan))
        elif kind == "Sample":
            self.sample = f"{data.get('prompt', '')}{data.get('text', '')}"
        elif kind in ("Finished", "Stopped", "Failed"):
            detail = {
                "Finished": "finished",
                "Stopped": "stopped",
                "Failed": f"failed: {data.get('error', '')}",
            }
            self.finish(f"{detail[kind]} at step {step}")
            self.can_stop = False

    def _on_msg_stop(self, content: dict) -> None:
        if self._run is not None and callable(getattr(self._run, "stop", None)):
            self._run.stop()


def _step_status(data: dict) -> str:
    # a run's Step.step counts the optimizer steps done so far (1 … total_steps)
    parts = [f"step {int(data.get('step') or 0)}/{data.get('total_steps') or '?'}"]
    if data.get("tokens_per_s"):
        parts.append(f"{data['tokens_per_s']:,.0f} tok/s")
    eta = data.get("eta")
    if eta:
        minutes, seconds = divmod(int(eta), 60)
        parts.append(f"ETA {minutes}m{seconds:02d}s" if minutes else f"ETA {seconds}s")
    return " · ".join(parts)
