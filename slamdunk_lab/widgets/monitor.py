"""Live training monitor: loss and learning-rate curves, progress, speed, samples and status of a run.

Data flow (kept cheap for long runs):

* Python keeps every point; the page gets them as batched ``{"type": "append", "start": i, "points": [...]}``
  custom messages, at most every ``interval`` seconds (default 0.2 s, i.e. ~5 updates a second), plus one
  small state update (step, speed, status, …) per batch.
* The whole history is sent only when the page asks for it with ``{"type": "sync"}``: a new view, a reloaded
  page, or a gap in the appends it saw (the synced ``count`` traitlet says how many points exist).
* Following a run (``Monitor().follow(run)``, ``run.monitor()``), every update is made on the run's event
  dispatcher thread (or a short timer for the trailing batch), never on the training thread.
"""

from __future__ import annotations

import collections
import html
import math
import threading
import time
import uuid
from typing import Any

import traitlets

from .._html import line_chart
from ._base import SlamDunkWidget, static_html

#: How the page shows each state of a followed run.
STATES = ("queued", "running", "finished", "stopped", "failed")


class Monitor(SlamDunkWidget):
    """Plot metrics while a model trains.

    Follow a training run (``sd.train`` shows one automatically in a notebook; ``run.monitor()`` shows
    another)::

        run = sd.train(g, corpus, tok, steps=2000)   # background in a notebook: the monitor appears
        run.monitor()                                 # the same run, in another cell

    or log points yourself, from any thread::

        mon = sd.widgets.Monitor(title="my loop", total_steps=500); mon
        for step in range(500):
            mon.log(step, loss=..., val_loss=...)
        mon.finish()

    The page gets at most one batch of new points every ``interval`` seconds; the latest point always
    arrives (a timer sends the trailing batch).
    """

    _view = traitlets.Unicode("monitor").tag(sync=True)

    title = traitlets.Unicode("Training").tag(sync=True)
    total_steps = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: One line for people: "step 120/500 · 3,200 tok/s · ETA 12s", "finished at step 500", …
    status = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    #: Plot the loss axis on a log scale.
    log_scale = traitlets.Bool(False).tag(sync=True)
    #: Latest text sample of the run being followed (prompt + continuation) and its step.
    sample = traitlets.Unicode("").tag(sync=True)
    sample_step = traitlets.Int(0).tag(sync=True)
    #: Whether the Stop button works now (a run is followed and has not ended or been asked to stop).
    can_stop = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(280, min=160).tag(sync=True)
    #: How many points exist (the page asks for the full history when it holds fewer).
    count = traitlets.Int(0).tag(sync=True)
    #: State of the followed run: "" (no run), "queued", "running", "finished", "stopped", "failed".
    state = traitlets.Unicode("").tag(sync=True)
    #: Optimizer steps done (1-based; 0 before the first step).
    step = traitlets.Int(0).tag(sync=True)
    tokens_per_s = traitlets.Float(0.0).tag(sync=True)
    #: Seconds left (None when unknown).
    eta = traitlets.Float(None, allow_none=True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    mlflow_run_id = traitlets.Unicode("").tag(sync=True)
    experiment = traitlets.Unicode("").tag(sync=True)
    stop_requested = traitlets.Bool(False).tag(sync=True)
    #: The precision the run trains in ("float32", "bfloat16"), what was asked ("auto", …) and why.
    precision = traitlets.Unicode("").tag(sync=True)
    precision_requested = traitlets.Unicode("").tag(sync=True)
    precision_reason = traitlets.Unicode("").tag(sync=True)
    #: Model FLOPs utilisation: training FLOPs per token × tokens/s ÷ this machine's measured matmul peak in
    #: that precision (``peak_flops``, FLOP/s); 0 when unknown.
    mfu = traitlets.Float(0.0).tag(sync=True)
    peak_flops = traitlets.Float(0.0).tag(sync=True)
    #: Identifies this widget's points on the page (set before the page first hears of the widget).
    _store_key = traitlets.Unicode().tag(sync=True)

    @traitlets.default("_store_key")
    def _default_store_key(self) -> str:
        return uuid.uuid4().hex

    #: The static output (final curves, status, last sample) is redrawn at most every 2 s while points arrive.
    static_interval = 2.0

    def __init__(self, *, interval: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._interval = float(interval)
        self._lock = threading.RLock()
        self._points: list[dict] = []
        self._sent = 0
        self._last_sync = 0.0
        self._timer: threading.Timer | None = None
        self._pending: dict[str, Any] = {}
        self._run: Any = None
        self._subscription: Any = None
        self._hist_index = 0  # next index of run.history to read
        #: monotonic times of the batches sent to the page (for tests and diagnostics)
        self.sent_batches: collections.deque[float] = collections.deque(maxlen=1000)

    # -- the points -----------------------------------------------------------
    @property
    def history(self) -> list[dict]:
        """The points sent to the page so far: ``{"step": int, "<metric>": float | None, ...}``."""
        with self._lock:
            return [dict(p) for p in self._points[: self._sent]]

    def log(self, step: int, **metrics: float) -> None:
        """Record the metrics of one step (non-finite values are kept as ``None``); any thread."""
        self._add([_point(step, metrics)])

    def _add(self, points: list[dict], **state: Any) -> None:
        """Queue points and state changes; send them now or schedule the trailing batch."""
        with self._lock:
            self._points.extend(points)
            self._pending.update(state)
            if not self.running and not self._run:
                self._pending.setdefault("running", True)
            due = time.monotonic() - self._last_sync >= self._interval
            if not due and self._timer is None:
                self._timer = threading.Timer(self._interval, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if due:
            self.flush()

    def flush(self) -> None:
        """Send the queued points and state to the page now."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last_sync = time.monotonic()
            start, new = self._sent, self._points[self._sent :]
            self._sent = len(self._points)
            state, self._pending = self._pending, {}
            if new:
                self.sent_batches.append(self._last_sync)
                self.send({"type": "append", "start": start, "points": new})
            if "status" not in state and new and self.total_steps and not self._run:
                state["status"] = f"step {new[-1]['step'] + 1}/{self.total_steps}"
            with self.hold_sync():
                self.count = self._sent
                for name, value in state.items():
                    setattr(self, name, value)

    def finish(self, status: str = "done") -> None:
        """Mark the run finished (sends any pending points)."""
        self.flush()
        with self._lock, self.hold_sync():
            self.running = False
            self.status = status

    def reset(self) -> None:
        """Forget every point and the state of the followed run."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._points, self._sent, self._pending, self._hist_index = [], 0, {}, 0
            self.send({"type": "reset", "points": []})
            with self.hold_sync():
                self.count = 0
                self.status, self.running, self.state, self.step = "", False, "", 0
                self.tokens_per_s, self.eta, self.error, self.sample, self.sample_step = 0.0, None, "", "", 0
                self.stop_requested = False

    # -- the static output ------------------------------------------------------
    @traitlets.observe("count", "status", "sample", "state", "running", "error")
    def _state_changed(self, change: Any) -> None:
        self.refresh_static(now=not self.running)  # once it ends, every change shows at once

    def _static_data(self) -> dict[str, Any]:
        """The curves as an SVG chart, the status line and the last sample: what a saved notebook shows
        where the widget does not render."""
        with self._lock:
            points = list(self._points)
        metrics = [k for k in dict.fromkeys(k for p in points for k in p) if k != "step"]
        curves = {m: [(p["step"], p[m]) for p in points if p.get(m) is not None] for m in metrics if m != "lr"}
        last = {m: next((p[m] for p in reversed(points) if p.get(m) is not None), None) for m in metrics}
        summary = " · ".join([self.status or ("running" if self.running else "")]
                             + [f"{m} {v:.4g}" for m, v in last.items() if v is not None and m != "lr"])
        esc = html.escape
        body = (f'<div style="font:12px sans-serif;color:#333;margin-bottom:4px"><b>{esc(self.title)}</b>'
                f"{': ' + esc(summary) if summary.strip(' ·') else ''}</div>"
                + line_chart(curves, log_y=self.log_scale, title="loss")
                + (line_chart({"lr": [(p["step"], p["lr"]) for p in points if p.get("lr") is not None]},
                              height=120, title="learning rate") if "lr" in metrics else "")
                + (f'<div style="font:12px sans-serif;color:#b00020">{esc(self.error)}</div>' if self.error else "")
                + (f'<div style="font:12px sans-serif;color:#555">sample at step {self.sample_step}:</div>'
                   f'<pre style="white-space:pre-wrap;max-height:12em;overflow:auto">{esc(self.sample)}</pre>'
                   if self.sample else ""))
        return {"text/plain": f"{self.title}: {summary}".strip(": "), "text/html": static_html(body, "monitor")}

    def _on_msg_sync(self, content: dict) -> None:
        """The page holds fewer points than ``count`` (new view, reload, missed batch): send them all."""
        with self._lock:
            self.send({"type": "reset", "points": self._points[: self._sent]})

    # -- following a training run ---------------------------------------------
    def follow(self, run: Any) -> Monitor:
        """Plot a training run (``sd.train(...)``): loss, validation loss, learning rate, speed, samples
        and status, live; its whole history first when it has been running a while (or has ended).

        Reads the run's events (``run.subscribe(callback, replay=True)``) on the run's dispatcher thread;
        the page's Stop button calls ``run.stop()``. Returns ``self`` so ``Monitor().follow(run)`` displays.
        """
        if not callable(getattr(run, "subscribe", None)):
            raise TypeError(
                "follow() needs a training run with .subscribe(callback), e.g. from sd.train(...)"
            )
        self.unfollow()
        self.reset()
        with self._lock:
            self._run = run
        config = getattr(run, "config", None)
        with self.hold_sync():
            self.title = str(getattr(run, "name", "") or self.title)
            self.total_steps = getattr(config, "steps", None) or self.total_steps
            self.state = str(getattr(run, "status", "") or "queued")
            self.experiment = str(getattr(run, "experiment", "") or "")
            self.mlflow_run_id = str(getattr(run, "mlflow_run_id", "") or "")
            self.can_stop = callable(getattr(run, "stop", None)) and self.state in ("queued", "running")
            self.running = self.state in ("queued", "running")
            self.status = self.state if self.state == "queued" else self.status
        self._subscription = run.subscribe(self._on_run_event, replay=True)
        return self

    def unfollow(self) -> None:
        """Stop following the run (the plot stays)."""
        with self._lock:
            sub, self._subscription, self._run = self._subscription, None, None
        if sub is not None:
            (getattr(sub, "unsubscribe", None) or sub)()
        self.can_stop = False

    def _history_points(self) -> list[dict] | None:
        """New train/eval points from the run's own history (every step), or None when it has none."""
        tail = getattr(self._run, "history_tail", None)
        if not callable(tail):
            return None
        entries = tail(self._hist_index)
        self._hist_index += len(entries)
        points = []
        for h in entries:
            if h.get("kind") == "train":
                points.append(_point(h["step"], {"loss": h.get("loss"), "lr": h.get("lr")}))
            elif h.get("kind") == "eval":
                points.append(_point(h["step"], {"val_loss": h.get("val_loss")}))
        return points

    def _on_run_event(self, event: Any) -> None:
        data = event.to_json() if hasattr(event, "to_json") else dict(event)
        kind = data.get("type", "")
        step = int(data.get("step") or 0)
        with self._lock:
            from_history = self._history_points()
        points = from_history or []
        if kind == "Started":
            self._add(
                points,
                total_steps=int(data.get("total_steps") or 0) or None,
                running=True,
                state="running",
                step=step,
                can_stop=not self.stop_requested,
                mlflow_run_id=str(data.get("mlflow_run_id") or self.mlflow_run_id or ""),
                precision=str(data.get("dtype") or ""),
                precision_requested=str((data.get("precision") or {}).get("requested") or ""),
                precision_reason=str((data.get("precision") or {}).get("reason") or ""),
                peak_flops=float(data.get("peak_flops") or 0.0),
                status=f"running on {data.get('device', '?')} ({data.get('dtype', '')})"
                + (f" · {data['worker']}" if data.get("worker") else ""),
            )
        elif kind == "Step":
            if from_history is None:
                metrics = {"loss": data.get("loss", math.nan)}
                if data.get("lr") is not None:
                    metrics["lr"] = data["lr"]
                points = [_point(step, metrics)]
            eta = data.get("eta")
            self._add(
                points,
                step=step,
                tokens_per_s=float(data.get("tokens_per_s") or 0.0),
                mfu=float(data.get("mfu") or 0.0),
                eta=float(eta) if eta is not None else None,
                status=_step_status(data),
            )
        elif kind == "Eval":
            if from_history is None:
                points = [_point(step, {"val_loss": data.get("val_loss", math.nan)})]
            self._add(points)
        elif kind == "Sample":
            self._add(points, sample=f"{data.get('prompt', '')}{data.get('text', '')}", sample_step=step)
        elif kind in ("Finished", "Stopped", "Failed", "Lost"):
            if kind == "Lost":  # its worker died: shown as a failure that says how to go on
                kind, data = "Failed", {**data, "error": _lost_message(data)}
            detail = {
                "Finished": "finished",
                "Stopped": "killed" if data.get("forced") else "stopped",
                "Failed": f"failed: {data.get('error', '')}",
            }
            self._add(points, step=max(step, self.step) if kind != "Failed" else self.step)
            self.flush()
            with self._lock, self.hold_sync():
                self.state = kind.lower()
                self.error = str(data.get("error") or "") if kind == "Failed" else ""
                self.eta = 0.0 if kind == "Finished" else None
                self.can_stop = False
                self.running = False
                self.status = f"{detail[kind]} at step {step}" + _resume_hint(kind, data)
                run_id = getattr(self._run, "mlflow_run_id", None)
                if run_id:
                    self.mlflow_run_id = str(run_id)
        else:
            self._add(points)

    def _on_msg_stop(self, content: dict) -> None:
        run = self._run
        if run is not None and callable(getattr(run, "stop", None)) and self.state in ("queued", "running"):
            run.stop()
            with self._lock, self.hold_sync():
                self.stop_requested = True
                self.can_stop = False
                self.status = f"stopping after step {self.step + 1}…"


def _point(step: Any, metrics: dict) -> dict:
    point: dict[str, Any] = {"step": int(step)}
    for name, value in metrics.items():
        if value is None:
            continue
        v = float(value)
        point[name] = v if math.isfinite(v) else None
    return point


def _lost_message(data: dict) -> str:
    where = f"the worker {data['worker']}" if data.get("worker") else "its worker"
    back = f" from {data['checkpoint'].rstrip('/').rsplit('/', 1)[-1]}" if data.get("checkpoint") else ""
    return f"lost: {where} stopped answering; sd.resume(run) continues it{back} on any worker"


def _resume_hint(kind: str, data: dict) -> str:
    """Where a stopped run goes on from: "; sd.resume(run) continues from step-000007" ("" for the others)."""
    checkpoint = str(data.get("checkpoint") or "")
    if kind != "Stopped" or data.get("forced") or not checkpoint:
        return ""
    return f"; sd.resume(run) continues from {checkpoint.rstrip('/').rsplit('/', 1)[-1]}"


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
