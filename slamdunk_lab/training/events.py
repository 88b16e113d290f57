"""The typed event stream of a training run, and the dispatcher that delivers it to subscribers.

Every run emits ``Started``, then ``Step`` (throttled to about 5 per second, each carrying every step since
the previous one), ``Eval``, ``Sample`` and ``Checkpoint`` events, and ends with exactly one of ``Finished``,
``Stopped`` or ``Failed`` (a run on a worker that died ends with ``Lost`` instead, unless it is resumed). Events are plain
dataclasses that survive JSON (``event.to_json()`` → dict, ``event_from_json(d)`` → the same event), so the
console bar, MLflow, the monitor widget and remote relays all read one format.

Subscribers run on a dispatcher thread, never on the training thread: a slow or failing callback delays only
the other callbacks, and an exception in one is logged, never raised into the run.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

logger = logging.getLogger("slamdunk_lab.training")


@dataclass(kw_only=True)
class Event:
    """Base of every run event: the run it belongs to, the optimizer step it refers to, a wall-clock time."""

    run: str = ""
    step: int = 0
    time: float = field(default_factory=time.time)

    kind: ClassVar[str] = "event"

    def to_json(self) -> dict:
        """A JSON-ready dict with a ``"type"`` key naming the event class."""
        return {"type": type(self).__name__, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Event:
        """The event a :meth:`to_json` dict describes (any event type when called on :class:`Event`)."""
        return event_from_json(data)


@dataclass(kw_only=True)
class Started(Event):
    """Training began (``step`` is the first step to run: 0, or the checkpoint's step when resuming)."""

    total_steps: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    params: int = 0
    checkpoint_dir: str = ""
    mlflow_run_id: str | None = None
    config: dict = field(default_factory=dict)
    experiment: str = ""
    #: family, layers, heads, width, parameters, … of the design (what MLflow records as parameters)
    design: dict = field(default_factory=dict)
    resumed_from: str = ""
    #: the history a resumed run starts from (the checkpoint's), so a listener rebuilds ``run.history``
    history: list = field(default_factory=list)
    #: who trains it: "" in this process, else the worker's name
    worker: str = ""
    #: the data it trains on: corpus name, source and digest (its content's fingerprint), tokenizer, token counts
    dataset: dict = field(default_factory=dict)
    #: the precision chosen (``dtype`` is its name): {"requested": "auto", "dtype": "bfloat16", "reason": "..."}
    precision: dict = field(default_factory=dict)
    #: training FLOPs per token (``sd.analyze``) and this machine's measured matmul peak (FLOP/s) in that precision
    flops_per_token: float = 0.0
    peak_flops: float = 0.0


@dataclass(kw_only=True)
class Step(Event):
    """Training progress: the loss of the latest step, its learning rate and gradient norm, speed and ETA."""

    total_steps: int = 0
    loss: float = 0.0
    lr: float = 0.0
    grad_norm: float = 0.0
    tokens_per_s: float = 0.0
    elapsed: float = 0.0
    eta: float = 0.0
    #: ``[step, loss, lr, grad_norm]`` of every step since the previous Step event (this one's last), so
    #: listeners see every step although the events come ~5 times a second
    points: list = field(default_factory=list)
    #: model FLOPs utilisation: flops_per_token × tokens_per_s ÷ peak_flops (of the run's Started event)
    mfu: float = 0.0


@dataclass(kw_only=True)
class Eval(Event):
    """Mean loss over ``eval_batches`` batches of each split, with the model in eval mode."""

    train_loss: float = 0.0
    val_loss: float = 0.0


@dataclass(kw_only=True)
class Sample(Event):
    """Text the model wrote after ``prompt`` (fixed seed, so samples at different steps compare fairly)."""

    prompt: str = ""
    text: str = ""


@dataclass(kw_only=True)
class Checkpoint(Event):
    """A checkpoint was written to ``path`` (a directory that :func:`slamdunk_lab.resume` accepts)."""

    path: str = ""


@dataclass(kw_only=True)
class Stopped(Event):
    """``run.stop()`` took effect; ``checkpoint`` is where training can resume from. ``forced``: the run was
    ended at once (``run.stop(force=True)``) and ``checkpoint`` is the last one written before."""

    checkpoint: str = ""
    forced: bool = False


@dataclass(kw_only=True)
class Finished(Event):
    """Every step ran; the last evaluation's losses (None when evaluation was off) and the wall time."""

    elapsed: float = 0.0
    train_loss: float | None = None
    val_loss: float | None = None
    checkpoint: str = ""


@dataclass(kw_only=True)
class Failed(Event):
    """The run ended with an error (the message is also in ``run.error``)."""

    error: str = ""


@dataclass(kw_only=True)
class Lost(Event):
    """The worker training the run stopped answering (its heartbeat expired): the run is over unless it is
    resumed (``sd.resume(run)``) from ``checkpoint``, the last one it wrote ("" if none)."""

    checkpoint: str = ""
    worker: str = ""


EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in
                                       (Started, Step, Eval, Sample, Checkpoint, Stopped, Finished, Failed, Lost)}
TERMINAL = (Stopped, Finished, Failed)


def event_from_json(data: dict) -> Event:
    """Rebuild an event from :meth:`Event.to_json` output (unknown keys are ignored, for forward compatibility)."""
    name = data.get("type")
    if name not in EVENT_TYPES:
        raise ValueError(f"unknown event type {name!r}; expected one of {', '.join(EVENT_TYPES)}")
    cls = EVENT_TYPES[name]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class Subscription:
    """Handle returned by ``run.subscribe``: call it (or ``.unsubscribe()``) to stop receiving events."""

    def __init__(self, dispatcher: Dispatcher, callback: Callable[[Event], Any]):
        self._dispatcher, self.callback = dispatcher, callback

    def unsubscribe(self) -> None:
        self._dispatcher.remove(self)

    __call__ = unsubscribe


class Dispatcher:
    """Keeps a run's events and delivers them to its subscribers on one background thread, in order.

    ``emit`` only records the event and queues it, so the training thread never waits for a subscriber.
    A subscriber added with ``replay=True`` first gets every earlier event, then the live ones, each once.
    """

    def __init__(self, name: str):
        self._name = name
        self.events: list[Event] = []
        self._subs: list[Subscription] = []  # one entry per subscribe call, even for the same callback
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0

    def add(self, callback: Callable[[Event], Any], replay: bool = False) -> Subscription:
        if not callable(callback):
            raise TypeError(f"a subscriber must be callable (it receives each event), got {callback!r}")
        sub = Subscription(self, callback)
        with self._lock:  # no event can slip between the snapshot and the subscription
            self._subs.append(sub)
            past = list(self.events) if replay else []
            if past and not self._closed:
                self._put(("replay", sub, past))
                past = []
        for event in past:  # the run has ended: nothing live can interleave, deliver here
            self._call(callback, event)
        return sub

    def remove(self, sub: Subscription | Callable[[Event], Any]) -> None:
        """End a subscription (or the oldest one of a callback)."""
        with self._lock:
            if not isinstance(sub, Subscription):
                sub = next((s for s in self._subs if s.callback == sub), None)
            if sub is not None and any(s is sub for s in self._subs):
                self._subs = [s for s in self._subs if s is not sub]

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            if self._subs:  # delivered to those subscribed now: a later one gets it by replay, not twice
                self._put((event, tuple(self._subs)))

    def _put(self, item: Any) -> None:  # with self._lock held
        self._pending += 1
        self._idle.clear()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"slamdunk-events-{self._name}", daemon=True)
            self._thread.start()
        self._queue.put(item)

    def close(self) -> None:
        """Let the dispatcher thread end once the queued events are delivered (after the run's last event)."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every emitted event has been delivered; False on timeout."""
        if threading.current_thread().name == f"slamdunk-events-{self._name}":
            return False  # called from a subscriber: waiting for ourselves would never end
        return self._idle.wait(timeout)

    def _call(self, callback: Callable[[Event], Any], event: Event) -> None:
        try:
            callback(event)
        except Exception:  # a subscriber's bug must never reach the run
            logger.exception("run %s: subscriber %r failed on %s; the run continues",
                             self._name, callback, type(event).__name__)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if len(item) == 3:  # ("replay", subscription, past events) for one new subscriber
                _, sub, past = item
                for event in past:
                    self._call(sub.callback, event)
            else:
                event, subs = item
                for sub in subs:
                    with self._lock:
                        subscribed = any(s is sub for s in self._subs)  # unsubscribed meanwhile: no more events
                    if subscribed:
                        self._call(sub.callback, event)
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
