"""Training jobs as :class:`Run` handles: ``sd.train``, ``sd.resume``, ``sd.runs`` and ``sd.load_run``.

``sd.train`` checks everything first (a bad argument raises ``ValueError`` before anything starts), then either
trains on the calling thread (scripts, CI, notebooks executed by nbclient/papermill) or on a background thread
(a notebook a person is using), returning the :class:`Run` at once. Runs wait in one queue and start in order,
``max_concurrent`` at a time.

When is a kernel "interactive"? (``background=None``)

1. ``SLAMDUNK_BACKGROUND=1`` / ``=0`` in the environment decides.
2. A ``CI`` environment variable (set by GitHub Actions, GitLab, most graders) means blocking.
3. Otherwise background only when IPython's shell is a ``ZMQInteractiveShell`` (a Jupyter kernel) *and* the
   cell being run allows stdin. Front ends a person types into (JupyterLab, Notebook, VS Code) send
   ``allow_stdin=True`` so ``input()`` works; nbclient — and so nbconvert ``--execute``, papermill and the
   graders built on them — sends ``allow_stdin=False``. A plain terminal IPython is blocking too.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._files import safe_name, write_text_atomic
from . import checkpoint as ckpt
from . import tracking
from .events import Dispatcher, Event, Failed, Stopped, Subscription
from .progress import ConsoleProgress
from .trainer import Job, NonFiniteLoss, TrainConfig, Trainer

logger = logging.getLogger("slamdunk_lab.training")

STATUSES = ("queued", "running", "finished", "stopped", "failed")


# ------------------------------------------------------------------ where and how
def runs_root() -> Path:
    """Where checkpoints go: ``$SLAMDUNK_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("SLAMDUNK_RUNS_DIR") or Path.cwd() / "runs").expanduser()


def interactive_kernel() -> bool:
    """True in a Jupyter kernel driven by a person (see the module docstring for the exact rule)."""
    env = os.environ.get("SLAMDUNK_BACKGROUND", "").strip().lower()
    if env in ("1", "true", "yes"):
        return True
    if env in ("0", "false", "no"):
        return False
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


# ------------------------------------------------------------------ the queue
class _Scheduler:
    """First come, first served; a run starts when fewer than its ``max_concurrent`` runs are running."""

    def __init__(self):
        self.cond = threading.Condition()
        self.waiting: list[Run] = []
        self.running: list[Run] = []

    def enqueue(self, run: Run) -> None:
        with self.cond:
            self.waiting.append(run)

    def acquire(self, run: Run, max_concurrent: int) -> bool:
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

    def release(self, run: Run) -> None:
        with self.cond:
            if run in self.running:
                self.running.remove(run)
            self.cond.notify_all()

    def active_mlflow_ids(self) -> set[str]:
        with self.cond:
            return {r.mlflow_run_id for r in self.running + self.waiting if r.mlflow_run_id}


_SCHEDULER = _Scheduler()


# ------------------------------------------------------------------ the handle
class Run:
    """A training job: its status, history, events and results.

    ``status`` is ``"queued"``, ``"running"``, ``"finished"``, ``"stopped"`` or ``"failed"`` (then ``error``
    says why). ``stop()`` ends it within one step with a checkpoint; ``wait()`` blocks until it ends;
    ``subscribe(callback)`` delivers its events (see :mod:`slamdunk_lab.training.events`).
    """

    def __init__(self, job: Job, mlflow: bool, hooks: dict | None = None):
        self._job = job
        self.name: str = job.name
        self.config: TrainConfig = job.config
        self.graph: dict = job.graph
        self.tokenizer = job.tokenizer
        self.checkpoint_dir: str = job.checkpoint_dir
        self.status: str = "queued"
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.mlflow_run_id: str | None = None
        self._mlflow = mlflow
        self._hooks = hooks
        self._trainer: Trainer | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._dispatcher = Dispatcher(self.name)
        self._thread: threading.Thread | None = None

    # -- results
    @property
    def model(self):
        """The model being trained (None while queued, when it has not been built yet)."""
        if self._trainer is not None and self._trainer.model is not None:
            return self._trainer.model
        return self._job.model

    @property
    def history(self) -> list[dict]:
        """One dict per step (``kind="train"``: step, loss, lr, grad_norm), per evaluation (``kind="eval"``:
        step, train_loss, val_loss) and per sample (``kind="sample"``: step, text), oldest first."""
        return list(self._trainer.history if self._trainer is not None else self._job.history)

    def history_tail(self, start: int) -> list[dict]:
        """``history[start:]`` without copying the whole history (the monitor reads new entries this way)."""
        return (self._trainer.history if self._trainer is not None else self._job.history)[start:]

    @property
    def experiment(self) -> str:
        """The MLflow experiment (design name) this run is logged under."""
        return str(self._job.extra_state.get("experiment") or "")

    @property
    def step(self) -> int:
        return self._trainer.step if self._trainer is not None else self._job.start_step

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def last_checkpoint(self) -> str | None:
        """The folder of this run's newest checkpoint, or None before the first one."""
        try:
            return str(ckpt.resolve(self.checkpoint_dir))
        except FileNotFoundError:
            return None

    # -- control
    def stop(self) -> Run:
        """Stop after the current step and save a checkpoint (a queued run just never starts)."""
        self._stop.set()
        with _SCHEDULER.cond:
            _SCHEDULER.cond.notify_all()
        return self

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

    def _emit(self, event: Event) -> None:
        self._dispatcher.emit(event)

    def __repr__(self) -> str:
        last = next((h for h in reversed(self.history) if h.get("kind") == "train"), None)
        loss = f", loss {last['loss']:.4f}" if last else ""
        err = f", error {self.error!r}" if self.error else ""
        return f"Run({self.name!r}, {self.status}, step {self.step}/{self.config.steps}{loss}{err})"


# ------------------------------------------------------------------ execution
def _error_message(exc: BaseException, run: Run) -> str:
    step = run._trainer.current_step if run._trainer is not None else run.step
    if isinstance(exc, NonFiniteLoss):
        return str(exc)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return (f"out of memory at step {step}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
                f"Use a smaller batch_size or context (grad_accum keeps the effective batch), or dtype='bfloat16'")
    return f"{type(exc).__name__} at step {step}: {exc}"


def _start_tracker(run: Run):
    job = run._job
    params = {**job.config.to_json(), **job.extra_state.get("design", {}), "run_name": run.name,
              "resumed_from": job.resume_from or ""}
    tags = {tracking.LIBRARY_TAG: _version(), tracking.CHECKPOINT_TAG: run.checkpoint_dir,
            "mlflow.note.content": f"SLaM Dunk Lab run {run.name}"}
    tracker = tracking.Tracker(_experiment_name(job.extra_state.get("experiment", "design")), run.name, params,
                               tags, _SCHEDULER.active_mlflow_ids())
    try:
        _log_design_artifacts(tracker, run)
    except BaseException:
        tracker.end("FAILED")  # training goes on without MLflow; the MLflow run must not stay RUNNING
        raise
    return tracker


def _experiment_name(name: str, limit: int = 250) -> str:
    """The design name as an MLflow experiment name: MLflow refuses names over 500 characters, so a long one is
    cut, with a hash of the whole name so that two long names that start alike stay apart."""
    if len(name) <= limit:
        return name
    import hashlib

    return f"{name[:limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _version() -> str:
    from .. import __version__

    return __version__


def _log_design_artifacts(tracker, run: Run) -> None:
    """graph.json and, when the code generator exists, model.py: written into the run folder, then logged."""
    import importlib.util
    import json

    folder = Path(run.checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "graph.json", json.dumps(run.graph, indent=1))
    tracker.artifact(folder / "graph.json")
    if importlib.util.find_spec("slamdunk_lab.codegen") is not None:
        try:
            from ..codegen import to_code

            write_text_atomic(folder / "model.py", to_code(run.graph))
            tracker.artifact(folder / "model.py")
        except Exception:
            logger.exception("run %s: could not generate model.py for MLflow", run.name)


def _log_result_artifacts(tracker, run: Run) -> None:
    folder = Path(run.checkpoint_dir)
    samples = [h for h in run.history if h.get("kind") == "sample"]
    if samples:
        text = "".join(f"--- step {s['step']} ---\n{run.config.sample_prompt}{s['text']}\n\n" for s in samples)
        write_text_atomic(folder / "samples.txt", text)
        tracker.artifact(folder / "samples.txt")
    last = run.last_checkpoint
    if last:
        tracker.artifact(Path(last) / ckpt.WEIGHTS, "model")
        tracker.artifact(Path(last) / "tokenizer", "model/tokenizer")


def _execute(run: Run, max_concurrent: int) -> None:
    """The whole life of a run after its checks: queue, train, report. Never raises except KeyboardInterrupt."""
    tracker = None
    interrupted: BaseException | None = None
    try:
        if not _SCHEDULER.acquire(run, max_concurrent):
            run.status = "stopped"
            run._emit(Stopped(run=run.name, step=run.step, checkpoint=""))
            return
        run.status = "running"
        if run._mlflow:
            try:
                tracker = _start_tracker(run)
                run.mlflow_run_id = tracker.run_id
            except Exception as exc:  # noqa: BLE001 - tracking is a convenience; training must not depend on it
                logger.warning("run %s: MLflow tracking is off for this run (%s: %s)", run.name,
                               type(exc).__name__, exc)
                tracker = None
        run._trainer = Trainer(run._job, run._emit, run._stop.is_set, tracker, run._hooks)
        try:
            terminal = run._trainer.run()
        except KeyboardInterrupt as exc:  # a second Ctrl-C / kernel interrupt in a blocking run: stop now
            interrupted = exc
            trainer = run._trainer
            trainer._flush(trainer.pending)
            path = trainer.checkpoint_after_interrupt()
            step = trainer.step
            if not path:  # nothing new could be written: point at the newest checkpoint there is
                path = run.last_checkpoint or trainer.job.resume_from or ""  # (a resumed run: where it began)
                step = ckpt.LoadedCheckpoint(path).step if path else trainer.job.start_step
            terminal = Stopped(run=run.name, step=step, checkpoint=path)
        stopped = isinstance(terminal, Stopped)
        if tracker:
            try:
                _log_result_artifacts(tracker, run)
            except Exception:
                logger.exception("run %s: could not log artifacts to MLflow", run.name)
            tracker.end("KILLED" if stopped else "FINISHED", step=terminal.step)
        run.status = "stopped" if stopped else "finished"  # only once MLflow has the final state too
        run._emit(terminal)
    except KeyboardInterrupt as exc:  # interrupted outside the loop (waiting in the queue, saving)
        interrupted = exc
        run.status = "stopped"
        if tracker:
            tracker.end("KILLED", step=run.step)
        run._emit(Stopped(run=run.name, step=run.step, checkpoint=run.last_checkpoint or ""))
    except BaseException as exc:
        run.exception = exc
        run.error = _error_message(exc, run)
        logger.error("run %s failed: %s", run.name, run.error, exc_info=not isinstance(exc, NonFiniteLoss))
        if tracker:
            try:
                tracker.set_tag("slamdunk.error", run.error[:5000])
            except Exception:
                logger.exception("run %s: could not record the error in MLflow", run.name)
            tracker.end("FAILED", step=run.step)
        run.status = "failed"
        run._emit(Failed(run=run.name, step=run._trainer.current_step if run._trainer else run.step,
                         error=run.error))
        if run._trainer is not None:  # keep the model to inspect, free the rest (after OOM, for the next run)
            run._trainer.optimizer = None
            run._trainer.pending.clear()
        _free_device_memory()
    finally:
        _SCHEDULER.release(run)
        run._done.set()
        run._dispatcher.close()
    if interrupted is not None:
        run._dispatcher.drain(5)  # the "stopped … continue with" line reaches the console before the script ends
        raise interrupted


def _free_device_memory() -> None:
    """After a failure (often out-of-memory), give cached GPU memory back so the next run can start."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ------------------------------------------------------------------ preparing a job
def _graph_of(g_or_model: Any):
    """(graph dict, model or None) from a graph dict, a GraphModel, or anything with a ``.graph`` attribute."""
    from ..model import GraphModel

    if isinstance(g_or_model, GraphModel):
        return copy.deepcopy(g_or_model.graph), g_or_model
    if isinstance(g_or_model, dict):
        return copy.deepcopy(g_or_model), None
    graph = getattr(g_or_model, "graph", None)
    if isinstance(graph, dict):
        return copy.deepcopy(graph), None
    raise TypeError(f"sd.train needs a graph (dict), a model from sd.build, or a canvas with a .graph; got "
                     f"{type(g_or_model).__name__}")


def _tokenized(corpus: Any, tok: Any):
    """A TokenizedCorpus for the corpus argument, and the tokenizer it uses."""
    from .. import data
    from ..tokcache import TokenizedCorpus, tokenize_corpus
    from ..tokenizers import Tokenizer

    if isinstance(corpus, TokenizedCorpus):
        if tok is not None and tok.fingerprint() != corpus.tokenizer.fingerprint():
            raise ValueError("the tokenized corpus was made with a different tokenizer than the one passed; pass "
                             "tok=None to use the corpus's own tokenizer")
        return corpus, corpus.tokenizer
    if isinstance(corpus, str):
        corpus = data.file(corpus) if os.path.isfile(corpus) else data.text(corpus)
    elif isinstance(corpus, (list, tuple)):
        corpus = data.text(list(corpus))
    if not isinstance(corpus, data.Corpus):
        raise TypeError(f"corpus must be a slamdunk_lab Corpus (sd.data.text / file / load / synthetic), a "
                         f"tokenized corpus, or text; got {type(corpus).__name__}")
    if len(corpus) == 0 or corpus.num_chars == 0:
        raise ValueError(f"the corpus {corpus.name!r} is empty: there is nothing to train on")
    if not isinstance(tok, Tokenizer):
        raise TypeError(f"tok must be a slamdunk_lab tokenizer (e.g. sd.tokenizers.char(corpus)), got {tok!r}")
    return tokenize_corpus(corpus, tok), tok


def _check_fit(cfg: TrainConfig, plan_context: int, plan_vocab: int, tokenized: Any, tok: Any) -> None:
    if cfg.context > plan_context:
        raise ValueError(f"context={cfg.context} is longer than the model's {plan_context} positions; train with "
                         f"context≤{plan_context} or design the model with context={cfg.context}")
    if tok.vocab_size > plan_vocab:
        raise ValueError(f"the tokenizer has {tok.vocab_size} tokens but the model's vocabulary holds only "
                         f"{plan_vocab}; make the model with vocab_size=tok.vocab_size, e.g. "
                         f"sd.template(..., vocab_size={tok.vocab_size})")
    need = cfg.context + 1
    splits = ("train", "val") if cfg.eval_every else ("train",)
    for split in splits:
        n = len(tokenized.tokens(split))
        if n < need:
            raise ValueError(f"the {split} split has {n} tokens, fewer than one window of context+1 = {need}; "
                             f"use more text or a smaller context" +
                             (" (or eval_every=0 to skip evaluation)" if split == "val" else ""))


def _design_summary(analysis, graph: dict) -> dict:
    import hashlib
    import json

    from ..templates import PRESETS

    nodes = graph["nodes"]
    attn = next((n["data"] for n in nodes if n["type"] == "attention"), {})
    emb = next((n["data"] for n in nodes if n["type"] == "tokenEmbedding"), {})
    name = graph.get("name") or ""
    family = name.split("-")[0] if name.split("-")[0] in PRESETS else "custom"
    shape = {"nodes": [{k: n.get(k) for k in ("id", "type", "data", "parentId")} for n in nodes],
             "edges": sorted((e["source"], e["target"], e.get("targetHandle") or "") for e in graph["edges"])}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {"design": name or "design", "family": family, "layers": analysis.n_layers,
            "heads": attn.get("n_heads"), "width": emb.get("d_model"), "parameters": analysis.params,
            "model_context": analysis.plan.context, "vocab_size": analysis.plan.vocab_size, "graph_hash": digest}


def _reserve_run_name(base: str, root: Path) -> str:
    """``<base>-<date>-<time>`` (``-2``, ``-3``… when taken), its checkpoint folder created to claim it."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    name, i = f"{base}-{stamp}", 1
    while True:
        try:
            (root / name).mkdir()
            return name
        except FileExistsError:
            i += 1
            name = f"{base}-{stamp}-{i}"


def _check_switches(**switches: Any) -> None:
    """``mlflow``, ``background``, ``progress``, ``monitor``: True, False or None (decide automatically) —
    never a string such as "no", which Python would take as True."""
    for key, value in switches.items():
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be True, False or None, got {value!r}")


def _check_max_concurrent(max_concurrent: Any) -> None:
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
        raise ValueError(f"max_concurrent must be a whole number ≥ 1, got {max_concurrent!r}")


def notebook_frontend() -> bool:
    """True inside a Jupyter kernel (a front end can show widgets)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _show_monitor(run: Run) -> None:
    """Display a monitor following ``run`` in the current cell; a failure is a warning, never an error."""
    try:
        from IPython.display import display

        display(run.monitor())
    except Exception as exc:  # noqa: BLE001 - the run must go on without its widget
        logger.warning("run %s: could not show the training monitor (%s: %s); follow it with run.history",
                       run.name, type(exc).__name__, exc)


def _launch(job: Job, mlflow: bool | None, background: bool | None, max_concurrent: int, progress: bool | None,
            hooks: dict | None, monitor: bool | None = None) -> Run:
    use_mlflow = tracking.wanted(mlflow)
    if use_mlflow and not tracking.available():
        if mlflow:
            raise ValueError("mlflow=True, but MLflow is not installed; pip install mlflow, or pass mlflow=False")
        use_mlflow = False
    run = Run(job, use_mlflow, hooks)
    in_background = interactive_kernel() if background is None else bool(background)
    if progress if progress is not None else not in_background:
        run.subscribe(ConsoleProgress())
    _SCHEDULER.enqueue(run)
    if in_background and (monitor or (monitor is None and notebook_frontend())):
        _show_monitor(run)  # before the thread starts: the widget replays nothing, then follows live
    if in_background:
        run._thread = threading.Thread(target=_execute, args=(run, max_concurrent), name=f"slamdunk-run-{run.name}",
                                       daemon=True)
        run._thread.start()
    else:
        with _stop_on_interrupt(run) as interrupted:
            _execute(run, max_concurrent)
        run.wait()
        if interrupted:  # the run ended cleanly after Ctrl-C; the script or cell still ends as the user asked
            raise KeyboardInterrupt
    return run


@contextlib.contextmanager
def _stop_on_interrupt(run: Run):
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


def _prepare(graph: dict, model: Any, corpus: Any, tok: Any, cfg: TrainConfig, name: str | None,
             resume_from: str | None = None, start_step: int = 0, history: list | None = None) -> Job:
    from ..analysis import analyze

    cfg.check()
    analysis = analyze(graph)
    analysis.raise_for_errors()
    graph = analysis.graph
    if cfg.steps <= start_step and resume_from is None:
        raise ValueError(f"steps must be ≥ 1, got {cfg.steps}")
    tokenized, tok = _tokenized(corpus, tok)
    _check_fit(cfg, analysis.plan.context, analysis.plan.vocab_size, tokenized, tok)
    experiment = name or graph.get("name") or "design"
    root = runs_root() / safe_name(experiment)
    run_name = _reserve_run_name(safe_name(experiment), root)
    design = _design_summary(analysis, graph)
    extra = {"experiment": experiment, "design": design, "resumed_from": resume_from,
             "data": {"cache": str(tokenized.path), "corpus": tokenized.meta.get("corpus", {}).get("name")}}
    return Job(name=run_name, config=cfg, graph=graph, tokenized=tokenized, tokenizer=tok,
               checkpoint_dir=str(root / run_name), model=model, resume_from=resume_from, start_step=start_step,
               history=list(history or []), extra_state=extra)


# ------------------------------------------------------------------ public API
def train(g_or_model: Any, corpus: Any, tok: Any = None, steps: int = 2000, batch_size: int = 12, context: int = 64,
          lr: float = 1e-3, warmup: int = 100, schedule: str = "cosine", min_lr: float = 1e-4,
          weight_decay: float = 0.1, grad_clip: float = 1.0, grad_accum: int = 1, eval_every: int = 250,
          eval_batches: int = 20, sample_every: int = 500, sample_prompt: str = "\n", seed: int = 0,
          device: str = "auto", dtype: str = "float32", compile: bool = False, checkpoint_every: int = 500,
          name: str | None = None, mlflow: bool | None = None, background: bool | None = None,
          max_concurrent: int = 1, progress: bool | None = None, monitor: bool | None = None,
          **advanced: Any) -> Run:
    """Train a design on a corpus and return its :class:`Run`.

    ``g_or_model``: a graph dict (``sd.template(...)``), a model from ``sd.build`` (trained in place), or
    anything with a ``.graph`` (the canvas); the graph is copied when the call is made. ``corpus``: a
    ``Corpus`` (``sd.data.*``), a tokenized corpus, a path to a text file, or text. ``tok``: the tokenizer.

    In a notebook you are using, training runs in the background and this returns at once (watch
    ``run.history`` or ``run.subscribe(...)``, end it with ``run.stop()``); in scripts, CI and notebooks run by
    nbclient/papermill it blocks and prints a progress bar. ``background=True/False`` decides explicitly.
    ``mlflow=None`` logs to MLflow unless ``mlflow.autolog(disable=True)`` was called; ``False`` never logs.
    ``monitor=None`` shows the training monitor widget under the cell when the run goes to the background in a
    Jupyter kernel (``run.monitor()`` shows it again elsewhere); ``False`` never shows it, ``True`` always tries.
    ``advanced``: ``betas`` (default (0.9, 0.99)), ``sample_tokens`` (200), ``keep_checkpoints`` (3).

    Runs queue up and start one after another; ``max_concurrent=2`` lets this run start while one other runs
    (they then share torch's global random generator, so dropout is not reproducible between them).
    Checkpoints go to ``$SLAMDUNK_RUNS_DIR`` (default ``./runs``) ``/<design>/<run name>/``.

    >>> import slamdunk_lab as sd                                                       # doctest: +SKIP
    >>> corpus = sd.data.load("tiny_shakespeare"); tok = sd.tokenizers.char(corpus)    # doctest: +SKIP
    >>> g = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size)                # doctest: +SKIP
    >>> run = sd.train(g, corpus, tok, steps=2000)                                      # doctest: +SKIP
    """
    hooks = advanced.pop("_hooks", None)
    unknown = set(advanced) - {"betas", "sample_tokens", "keep_checkpoints"}
    if unknown:
        raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
    _check_switches(mlflow=mlflow, background=background, progress=progress, monitor=monitor)
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"name must be a non-empty string (or None for an automatic one), got {name!r}")
    cfg = TrainConfig(steps=steps, batch_size=batch_size, context=context, lr=lr, warmup=warmup, schedule=schedule,
                      min_lr=min_lr, weight_decay=weight_decay, grad_clip=grad_clip, grad_accum=grad_accum,
                      eval_every=eval_every, eval_batches=eval_batches, sample_every=sample_every,
                      sample_prompt=sample_prompt, seed=seed, device=device, dtype=dtype, compile=compile,
                      checkpoint_every=checkpoint_every, **advanced)
    _check_max_concurrent(max_concurrent)
    graph, model = _graph_of(g_or_model)
    job = _prepare(graph, model, corpus, tok, cfg, name)
    return _launch(job, mlflow, background, max_concurrent, progress, hooks, monitor)


def resume(checkpoint_dir: str | os.PathLike | Run, steps: int | None = None, corpus: Any = None,
           **overrides: Any) -> Run:
    """Continue a run from its checkpoint; returns the new :class:`Run`.

    ``checkpoint_dir`` is a :class:`Run`, a run's ``checkpoint_dir`` (its latest checkpoint is used) or one
    checkpoint folder. ``steps=None`` finishes the run's original plan (a run stopped at step 7 of 30 trains
    steps 8 to 30); ``steps=N`` trains N more steps instead, and the learning-rate schedule then ends at the new
    last step. Weights, optimizer state, random states and history come back exactly, so stopping and resuming
    gives the same losses as never stopping (same device and settings). The corpus is reopened from the token
    cache the run used; pass ``corpus=`` if that cache is gone. Any ``sd.train`` keyword (``lr``,
    ``weight_decay``, ``eval_every``, ``mlflow``, ``background``, ...) may be overridden.
    """
    if isinstance(checkpoint_dir, Run):
        if checkpoint_dir.last_checkpoint is None:
            raise ValueError(f"run {checkpoint_dir.name!r} has no checkpoint to resume from (it stopped before "
                             f"its first step)")
        checkpoint_dir = checkpoint_dir.checkpoint_dir
    loaded = ckpt.LoadedCheckpoint(checkpoint_dir)
    planned = int(loaded.state["config"].get("steps", loaded.step))
    if steps is None:
        steps = planned - loaded.step
        if steps < 1:
            raise ValueError(f"this run already trained all {planned} steps it planned; pass steps=N to train N "
                             f"more")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps (how many more steps to train) must be a whole number ≥ 1, got {steps!r}")
    steps = int(steps)
    launch = {k: overrides.pop(k) for k in ("mlflow", "background", "max_concurrent", "progress", "_hooks", "monitor")
              if k in overrides}
    _check_max_concurrent(launch.get("max_concurrent", 1))
    _check_switches(**{k: v for k, v in launch.items() if k in ("mlflow", "background", "progress", "monitor")})
    name = overrides.pop("name", None) or loaded.state.get("experiment")
    config = loaded.state["config"]
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown training setting(s) to override: {', '.join(sorted(unknown))}")
    cfg = TrainConfig.from_json({**config, **overrides, "steps": loaded.step + steps})
    tok = loaded.tokenizer()
    if corpus is None:
        from ..tokcache import TokenizedCorpus

        cache = loaded.state.get("data", {}).get("cache")
        try:
            corpus = TokenizedCorpus.open(cache)
        except (FileNotFoundError, TypeError, OSError):
            raise ValueError(f"the token cache this run trained on ({cache}) is gone; pass corpus=... (the same "
                             f"text) to resume") from None
    job = _prepare(loaded.graph, None, corpus, tok, cfg, name,
                   resume_from=str(loaded.path), start_step=loaded.step, history=loaded.state.get("history"))
    return _launch(job, launch.get("mlflow"), launch.get("background"), launch.get("max_concurrent", 1),
                   launch.get("progress"), launch.get("_hooks"), launch.get("monitor"))


def runs(widget: bool = False):
    """A pandas DataFrame of this library's MLflow runs in the tracking store, newest first.

    ``widget=True`` returns the runs browser widget instead (:class:`slamdunk_lab.widgets.Runs`: the table,
    overlaid loss curves and design/hyperparameter diffs of the selected runs).

    Columns: run_id, experiment, name, status, start_time, end_time, step (the last one reached), steps (the
    plan), train_loss, val_loss, parameters,
    family, layers, heads, width, lr, batch_size, context, checkpoint_dir. Runs left RUNNING by a kernel that
    died are marked KILLED first.
    """
    if widget:
        from ..widgets.runs import Runs

        return Runs()
    import pandas as pd

    columns = ["run_id", "experiment", "name", "status", "start_time", "end_time", "step", "steps", "train_loss",
               "val_loss", "parameters", "family", "layers", "heads", "width", "lr", "batch_size", "context",
               "checkpoint_dir"]
    uri = tracking.tracking_uri()
    if not tracking.available() or (uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists()):
        return pd.DataFrame(columns=columns)  # no store yet: don't create one just to list nothing
    found = tracking.search(_SCHEDULER.active_mlflow_ids())
    client = tracking.client()
    names: dict[str, str] = {}
    rows = []
    for r in found:
        exp_id = r.info.experiment_id
        if exp_id not in names:
            names[exp_id] = client.get_experiment(exp_id).name
        p, m = r.data.params, r.data.metrics

        def num(key: str, cast=float, src=p):
            try:
                return cast(src[key])
            except (KeyError, ValueError, TypeError):
                return None

        rows.append({"run_id": r.info.run_id, "experiment": names[exp_id], "name": r.info.run_name,
                     "status": r.info.status, "start_time": pd.to_datetime(r.info.start_time, unit="ms"),
                     "end_time": pd.to_datetime(r.info.end_time, unit="ms") if r.info.end_time else pd.NaT,
                     "step": num(tracking.STEP_TAG, int, r.data.tags), "steps": num("steps", int),
                     "train_loss": m.get("train_loss"), "val_loss": m.get("val_loss"),
                     "parameters": num("parameters", int), "family": p.get("family"), "layers": num("layers", int),
                     "heads": num("heads", int), "width": num("width", int), "lr": num("lr"),
                     "batch_size": num("batch_size", int), "context": num("context", int),
                     "checkpoint_dir": r.data.tags.get(tracking.CHECKPOINT_TAG)})
    return pd.DataFrame(rows, columns=columns)


def load_run(run_id: Any, device: Any = "cpu"):
    """``(model, tokenizer)`` of a finished, stopped or killed run.

    ``run_id``: an MLflow run id (from ``sd.runs()``), a :class:`Run`, or a checkpoint folder. The newest
    checkpoint on disk is used; if it is gone, the model and tokenizer logged to MLflow are downloaded.
    """
    if isinstance(run_id, Run):
        source = run_id.last_checkpoint
        if source is None:
            raise ValueError(f"run {run_id.name!r} has no checkpoint yet")
        run_id = source
    if isinstance(run_id, (str, os.PathLike)) and Path(run_id).expanduser().is_dir():
        loaded = ckpt.LoadedCheckpoint(run_id)
        return loaded.build_model(device), loaded.tokenizer()
    if isinstance(run_id, os.PathLike):
        raise FileNotFoundError(f"no checkpoint folder at '{os.fspath(run_id)}'")
    if not isinstance(run_id, str):
        raise TypeError(f"load_run needs an MLflow run id, a Run or a checkpoint folder, got {run_id!r}")
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):  # MLflow's run ids are 32 hex digits; this was meant as a path
        raise ValueError(f"no checkpoint folder at {run_id!r} (and it is not an MLflow run id, which is 32 hex "
                         f"digits); run.checkpoint_dir or sd.runs()['checkpoint_dir'] give the folder")
    if not tracking.available():
        raise ValueError(f"{run_id!r} is not a checkpoint folder, and MLflow is not installed to look it up")
    uri = tracking.tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists():
        raise ValueError(f"no MLflow run {run_id!r}: there is no tracking store at {uri} (set MLFLOW_TRACKING_URI "
                         f"to the store the run was logged to)")  # and do not create an empty one by looking
    from mlflow.exceptions import MlflowException

    client = tracking.client()
    try:
        info = client.get_run(run_id)
    except MlflowException as exc:
        raise ValueError(f"no MLflow run {run_id!r} in {tracking.tracking_uri()} ({type(exc).__name__})") from None
    folder = info.data.tags.get(tracking.CHECKPOINT_TAG)
    if folder:
        try:
            loaded = ckpt.LoadedCheckpoint(folder)
            return loaded.build_model(device), loaded.tokenizer()
        except FileNotFoundError:
            pass
    return _load_from_artifacts(client, run_id, device)


def _load_from_artifacts(client, run_id: str, device: Any):
    import json
    import tempfile

    from mlflow.exceptions import MlflowException

    from ..analysis import analyze
    from ..errors import ModelFileError
    from ..model import build
    from ..tokenizers import load as load_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        try:
            graph_path = client.download_artifacts(run_id, "graph.json", tmp)
            model_dir = client.download_artifacts(run_id, "model", tmp)
        except (MlflowException, OSError) as exc:
            raise ValueError(f"MLflow run {run_id!r} has no checkpoint on disk and no logged model to download "
                             f"({type(exc).__name__}: {exc})") from None
        try:
            graph = json.loads(Path(graph_path).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelFileError(f"graph.json logged with MLflow run {run_id!r} is not valid JSON: {exc}") from None
        analysis = analyze(graph)
        analysis.raise_for_errors()
        # checked from the header before the real model is allocated
        weights, against = Path(model_dir) / ckpt.WEIGHTS, f"the design logged with MLflow run {run_id!r}"
        ckpt.check_weights_file(weights, build(analysis, device="meta"), against)
        model = build(analysis, device=device, max_params=None)
        ckpt.load_weights_file(weights, model, against)
        return model, load_tokenizer(Path(model_dir) / "tokenizer")
