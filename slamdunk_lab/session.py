"""``sd.train``, ``sd.resume``, ``sd.runs``, ``sd.load_run`` and ``sd.connect``: training as a student calls it.

This is the top of the training stack (graph → blocks → model → training → runners → widgets → here): it
checks the arguments (a bad one raises before anything starts), writes the job down as a JSON
:class:`~slamdunk_lab.training.spec.JobSpec`, hands it to a runner — this kernel's thread
(:class:`~slamdunk_lab.runners.local.LocalThreadRunner`) or the Celery workers after ``sd.connect(...)`` — and,
in a notebook a person is using, shows the monitor widget under the cell.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np

from ._files import safe_name
from ._resources import check_training_memory
from .runners.base import Run
from .runners.local import LOCAL
from .training import checkpoint as ckpt
from .training import tracking
from .training.results import load_run as _load_run
from .training.results import runs_table
from .training.spec import JobSpec, check_fit, data_spec, reserve_run_name, runs_root
from .training.trainer import TrainConfig, resolve_device

_LAUNCH_KEYS = ("mlflow", "background", "max_concurrent", "progress", "_hooks", "monitor", "tags",
                "system_metrics")


def train(g_or_model: Any, corpus: Any, tok: Any = None, steps: int = 2000, batch_size: int = 12, context: int = 64,
          lr: float = 1e-3, warmup: int = 100, schedule: str = "cosine", min_lr: float = 1e-4,
          weight_decay: float = 0.1, grad_clip: float = 1.0, grad_accum: int = 1, eval_every: int = 250,
          eval_batches: int = 20, sample_every: int = 500, sample_prompt: str = "\n", seed: int = 0,
          device: str = "auto", dtype: str = "auto", compile: bool = False, checkpoint_every: int = 500,
          name: str | None = None, mlflow: bool | None = None, background: bool | None = None,
          max_concurrent: int = 1, progress: bool | None = None, monitor: bool | None = None,
          runner: Any = None, queue: str | None = None, tags: dict | None = None,
          system_metrics: bool | None = None, epochs: int | None = None, stride: int | None = None,
          **advanced: Any) -> Run:
    """Train a design on a corpus and return its :class:`~slamdunk_lab.runners.base.Run`.

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

    ``epochs`` (instead of ``steps``, for those who think in passes over the data, as the original web project
    did): train ``epochs`` passes over the training split, a pass being its windows of ``context`` tokens
    ``stride`` tokens apart (default: ``context``, windows side by side) in batches of ``batch_size``:
    ``steps = epochs · ⌊(train tokens − context) / stride / batch_size⌋`` (at least 1). Windows are still drawn
    at random each step, so a pass sees as many windows as there are, not each one once.

    ``dtype="auto"`` (the default) trains under bfloat16 autocast where a short probe of this model's own step
    measures it at least 10% faster on this machine (cached per machine and design), else in float32; the
    monitor and MLflow show the choice and why. ``"float32"`` or ``"bfloat16"`` decide yourself.

    MLflow: the run goes to the experiment chosen with ``mlflow.set_experiment()`` (else one named after the
    design); inside ``with mlflow.start_run():`` it is a nested child of that run. ``tags`` are added to the MLflow
    run; ``system_metrics=True`` logs CPU, memory and GPU use (``None`` follows
    ``mlflow.enable_system_metrics_logging()``). The trained model is logged as an MLflow model:
    ``mlflow.pyfunc.load_model(f"runs:/{run.mlflow_run_id}/model").predict(["ROMEO:"])``.

    Runs queue up and start one after another; ``max_concurrent=2`` lets this run start while one other runs
    (they then share torch's global random generator, so dropout is not reproducible between them).
    Checkpoints go to ``$SLAMDUNK_RUNS_DIR`` (default ``./runs``) ``/<design>/<run name>/``.

    ``runner="celery"`` (the default after :func:`connect`) sends the job to Celery workers instead
    (``slamdunk-lab worker``); the run handle, the monitor and MLflow behave the same. The data then travels
    with the job (up to ``$SLAMDUNK_MAX_JOB_TEXT`` bytes) or is named by a spec dict the workers can open
    (``{"kind": "named", "name": "tiny_shakespeare"}``, ``{"kind": "file", "path": ...}`` on shared storage);
    ``queue`` picks the workers (default ``gpu`` for a CUDA device, else ``cpu``).

    >>> import slamdunk_lab as sd                                                       # doctest: +SKIP
    >>> corpus = sd.data.load("tiny_shakespeare"); tok = sd.tokenizers.char(corpus)    # doctest: +SKIP
    >>> g = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size)                # doctest: +SKIP
    >>> run = sd.train(g, corpus, tok, steps=2000)                                      # doctest: +SKIP
    """
    hooks = advanced.pop("_hooks", None)
    for key, value in (("epochs", epochs), ("stride", stride)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{key} must be a whole number ≥ 1 (or None), got {value!r}")
    if stride is not None and epochs is None:
        raise ValueError("stride counts the windows of an epoch; pass epochs= with it (or steps= alone)")
    unknown = set(advanced) - {"betas", "sample_tokens", "keep_checkpoints"}
    if unknown:
        raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
    _check_switches(mlflow=mlflow, background=background, progress=progress, monitor=monitor,
                    system_metrics=system_metrics)
    tracking.check_tags(tags)
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"name must be a non-empty string (or None for an automatic one), got {name!r}")
    cfg = TrainConfig(steps=steps, batch_size=batch_size, context=context, lr=lr, warmup=warmup, schedule=schedule,
                      min_lr=min_lr, weight_decay=weight_decay, grad_clip=grad_clip, grad_accum=grad_accum,
                      eval_every=eval_every, eval_batches=eval_batches, sample_every=sample_every,
                      sample_prompt=sample_prompt, seed=seed, device=device, dtype=dtype, compile=compile,
                      checkpoint_every=checkpoint_every, **advanced)
    _check_max_concurrent(max_concurrent)
    graph, model = _graph_of(g_or_model)
    chosen = _runner(runner)
    if epochs is not None and chosen.kind != "local":
        raise ValueError("epochs= needs the training text tokenized here to count its windows; with a remote "
                         "runner pass steps= (sd.seed.epochs_to_steps computes them)")
    if chosen.kind != "local":
        if hooks is not None:
            raise ValueError("_hooks are test seams of runs in this process; a worker cannot call them")
        spec = _remote_spec(chosen, graph, corpus, tok, cfg, name, mlflow)
        if spec.mlflow:
            spec.mlflow_context = _mlflow_context(tags, system_metrics, remote=True)
        return _submit(spec, background, max_concurrent, progress, monitor, runner=chosen, queue=queue,
                       tokenizer=tok)
    spec, tokenized, tok = _local_spec(graph, corpus, tok, cfg, name, mlflow,
                                       epochs=None if epochs is None else (int(epochs), stride))
    if spec.mlflow:
        spec.mlflow_context = _mlflow_context(tags, system_metrics)
    return _submit(spec, background, max_concurrent, progress, monitor, model=model, tokenized=tokenized,
                   tokenizer=tok, hooks=hooks)


def resume(checkpoint_dir: str | os.PathLike | Run, steps: int | None = None, corpus: Any = None,
           **overrides: Any) -> Run:
    """Continue a run from its checkpoint; returns the new run.

    ``checkpoint_dir`` is a run, a run's ``checkpoint_dir`` (its latest checkpoint is used) or one
    checkpoint folder. ``steps=None`` finishes the run's original plan (a run stopped at step 7 of 30 trains
    steps 8 to 30); ``steps=N`` trains N more steps instead, and the learning-rate schedule then ends at the new
    last step. Weights, optimizer state, random states and history come back exactly, so stopping and resuming
    gives the same losses as never stopping (same device and settings). The corpus is reopened from the token
    cache the run used; pass ``corpus=`` if that cache is gone. Any ``sd.train`` keyword (``lr``,
    ``weight_decay``, ``eval_every``, ``mlflow``, ``background``, ...) may be overridden.
    """
    if isinstance(checkpoint_dir, Run) and checkpoint_dir.runner != "local":
        return _resume_remote(checkpoint_dir, steps, corpus, overrides)
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
    launch = {k: overrides.pop(k) for k in _LAUNCH_KEYS if k in overrides}
    _check_max_concurrent(launch.get("max_concurrent", 1))
    _check_switches(**{k: v for k, v in launch.items() if k in ("mlflow", "background", "progress", "monitor",
                                                                  "system_metrics")})
    tracking.check_tags(launch.get("tags"))
    name = overrides.pop("name", None) or loaded.state.get("experiment")
    config = loaded.state["config"]
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown training setting(s) to override: {', '.join(sorted(unknown))}")
    cfg = TrainConfig.from_json({**config, **overrides, "steps": loaded.step + steps})
    tok = loaded.tokenizer()
    if corpus is None:
        from .tokcache import TokenizedCorpus

        cache = loaded.state.get("data", {}).get("cache")
        try:
            corpus = TokenizedCorpus.open(cache)
        except (FileNotFoundError, TypeError, OSError):
            raise ValueError(f"the token cache this run trained on ({cache}) is gone; pass corpus=... (the same "
                             f"text) to resume") from None
    spec, tokenized, tok = _local_spec(loaded.graph, corpus, tok, cfg, name, launch.get("mlflow"),
                                       resume_from=str(loaded.path))
    if spec.mlflow:
        spec.mlflow_context = _mlflow_context(launch.get("tags"), launch.get("system_metrics"))
    return _submit(spec, launch.get("background"), launch.get("max_concurrent", 1), launch.get("progress"),
                   launch.get("monitor"), tokenized=tokenized, tokenizer=tok, hooks=launch.get("_hooks"),
                   history=loaded.state.get("history"))


def runs(widget: bool = False):
    """A pandas DataFrame of this library's MLflow runs in the tracking store, newest first.

    ``widget=True`` returns the runs browser widget instead (:class:`slamdunk_lab.widgets.Runs`: the table,
    overlaid loss curves and design/hyperparameter diffs of the selected runs).

    One row per run as a student thinks of it: a run that was stopped and resumed (``sd.resume``) is one row,
    its parts listed in ``segments``. Columns: run_id (the newest part's MLflow run), experiment, name (the first
    part's), status (queued, running, finished, stopped, killed, failed or lost), start_time, end_time, step (the
    last one reached), steps (the plan), train_loss, val_loss, parameters, family, layers, heads, width, lr,
    batch_size, context, checkpoint_dir, checkpoint (the newest checkpoint folder: where ``sd.resume`` goes on),
    worker (the Celery worker that trained it, None for runs in a kernel), segments (``{"run_id", "name",
    "status", "start_step", "step"}`` oldest first). Runs left running by a kernel that died are marked killed
    first, and runs whose worker's heartbeat lapsed (after :func:`connect`) lost.
    """
    if widget:
        from .widgets.runs import Runs

        return Runs()
    if _CONNECTED is not None:
        _CONNECTED.store.sweep_lost()  # runs whose worker went silent are marked lost (MLflow: KILLED) first
    return runs_table(active_mlflow_ids())


def active_mlflow_ids() -> set[str]:
    """MLflow runs that runners of this process are running or about to start (never judged stale)."""
    return LOCAL.active_mlflow_ids()


_CONNECTED: Any = None


def connect(redis_url: str | None = None, mlflow_uri: str | None = None, prefix: str | None = None):
    """Send this kernel's runs to Celery workers from now on (``runner="celery"`` becomes the default).

    ``redis_url``: the broker the workers listen on (default ``$SLAMDUNK_REDIS_URL`` or
    ``redis://127.0.0.1:6379/0``); ``mlflow_uri``: the tracking server the workers log to (``mlflow server
    --serve-artifacts``), so ``sd.runs()`` lists their runs and ``sd.load_run(id)`` downloads their models.
    Returns the runner; ``sd.connect(None)`` after ``sd.disconnect()`` is the local default again.

    >>> sd.connect("redis://gpu-server:6379/0", "http://gpu-server:5000")         # doctest: +SKIP
    >>> run = sd.train(g, corpus, tok, steps=2000)   # trains on a worker, the monitor shows it here
    """
    global _CONNECTED
    from .runners.remote import CeleryRunner

    runner = CeleryRunner(redis_url, prefix)
    try:
        runner.store.r.ping()
    except Exception as exc:  # noqa: BLE001 - the student needs the address, not a traceback
        raise ConnectionError(f"cannot reach Redis at {runner.store.url} ({type(exc).__name__}: {exc}); is it "
                              f"running (slamdunk-lab cluster up)?") from None
    if mlflow_uri:
        os.environ["MLFLOW_TRACKING_URI"] = mlflow_uri
    _CONNECTED = runner
    return runner


def disconnect() -> None:
    """Train in this kernel again by default (runs already sent keep going on their workers)."""
    global _CONNECTED
    _CONNECTED = None


def _runner(runner: Any):
    """The runner a call asked for: None (the connected one, else local), "local", "celery" or a Runner."""
    from .runners.base import Runner

    if runner is None:
        return _CONNECTED or LOCAL
    if runner == "local":
        return LOCAL
    if runner == "celery":
        if _CONNECTED is None:
            from .runners.remote import CeleryRunner

            return CeleryRunner()
        return _CONNECTED
    if isinstance(runner, Runner):
        return runner
    raise ValueError(f"runner must be 'local', 'celery' or a Runner, got {runner!r}")


def _remote_spec(runner: Any, graph: dict, corpus: Any, tok: Any, cfg: TrainConfig, name: str | None,
                 mlflow: bool | None) -> JobSpec:
    """Check what can be checked here (settings, design, tokenizer against the design) and write the spec; the
    data itself is opened and checked on the worker."""
    from .analysis import analyze
    from .tokenizers import Tokenizer
    from .training.spec import tokenizer_spec

    device, cfg.device = cfg.device, "cpu"  # the device is the worker's to check
    cfg.check()
    cfg.device = device
    if device not in ("auto", "cpu") and not str(device).startswith(("cuda", "mps")):
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'")
    analysis = analyze(graph)
    analysis.raise_for_errors()
    graph = analysis.graph
    data = data_spec(corpus)
    if tok is None and data["kind"] != "cache":
        raise TypeError("tok must be a slamdunk_lab tokenizer (e.g. sd.tokenizers.char(corpus)), got None")
    if tok is not None and not isinstance(tok, Tokenizer):
        raise TypeError(f"tok must be a slamdunk_lab tokenizer (e.g. sd.tokenizers.char(corpus)), got {tok!r}")
    if tok is not None:
        check_fit(cfg, analysis.plan.context, analysis.plan.vocab_size, None, tok)
    experiment = name or graph.get("name") or "design"
    run_name = runner.reserve_name(experiment, safe_name(experiment))
    return JobSpec(name=run_name, experiment=experiment, graph=graph, data=data, config=cfg.to_json(),
                   tokenizer=tokenizer_spec(tok) if tok is not None else None,
                   mlflow=tracking.wanted(mlflow))


def _resume_remote(run: Run, steps: int | None, corpus: Any, overrides: dict) -> Run:
    """A remote run continued by a new job on any worker, from the old one's last checkpoint."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1):
        raise ValueError(f"steps (how many more steps to train) must be a whole number ≥ 1, got {steps!r}")
    launch = {k: overrides.pop(k) for k in _LAUNCH_KEYS if k in overrides}
    _check_switches(**{k: v for k, v in launch.items() if k in ("mlflow", "background", "progress", "monitor",
                                                                  "system_metrics")})
    tracking.check_tags(launch.get("tags"))
    runner = getattr(run, "_runner_obj", None) or _runner("celery")
    old = run.spec
    unknown = set(overrides) - set(old.config) - {"name"}
    if unknown:
        raise ValueError(f"unknown training setting(s) to override: {', '.join(sorted(unknown))}")
    experiment = overrides.pop("name", None) or old.experiment
    config = {**old.config, **overrides}
    data = data_spec(corpus) if corpus is not None else old.data
    spec = JobSpec(name=runner.reserve_name(experiment, safe_name(experiment)), experiment=experiment,
                   graph=old.graph, data=data, config=config, tokenizer=old.tokenizer,
                   resume_from=old.checkpoint_dir or f"{safe_name(old.experiment)}/{old.name}",
                   resume_steps=int(steps) if steps is not None else None,
                   mlflow=tracking.wanted(launch.get("mlflow")) if "mlflow" in launch else old.mlflow)
    if spec.mlflow:
        spec.mlflow_context = _mlflow_context(launch.get("tags"), launch.get("system_metrics"), remote=True)
    runner.store.update(old.id, continued_by=spec.id)
    return _submit(spec, launch.get("background"), 1, launch.get("progress"), launch.get("monitor"),
                   runner=runner, history=run.history)


def load_run(run_id: Any, device: Any = "cpu"):
    """``(model, tokenizer)`` of a finished, stopped or killed run.

    ``run_id``: an MLflow run id (from ``sd.runs()``), a run, or a checkpoint folder. The newest
    checkpoint on disk is used; if it is gone, the model and tokenizer logged to MLflow are downloaded.
    """
    if isinstance(run_id, Run):
        source = run_id.last_checkpoint
        if source is None:
            raise ValueError(f"run {run_id.name!r} has no checkpoint yet")
        run_id = source
    return _load_run(run_id, device)


# ------------------------------------------------------------------ preparing a job
def _local_spec(graph: dict, corpus: Any, tok: Any, cfg: TrainConfig, name: str | None, mlflow: bool | None,
                resume_from: str | None = None, epochs: tuple[int, int | None] | None = None
                ) -> tuple[JobSpec, Any, Any]:
    """Check everything a run in this process needs, reserve its folder and write its spec; returns the spec
    and the opened data and tokenizer (handed to the runner so nothing is read twice)."""
    from .analysis import analyze

    cfg.check()
    analysis = analyze(graph)
    analysis.raise_for_errors()
    graph = analysis.graph
    if cfg.steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {cfg.steps}")
    check_training_memory(graph, cfg.batch_size, cfg.context, resolve_device(cfg.device))  # before any tokenizing
    tokenized, tok = _tokenized(corpus, tok)
    check_fit(cfg, analysis.plan.context, analysis.plan.vocab_size, tokenized, tok)
    if epochs is not None:  # passes over the data → steps, now that the training tokens are counted
        from .interop.original import epochs_to_steps

        cfg.steps = epochs_to_steps(len(tokenized.train), cfg.context, epochs[1] or cfg.context, cfg.batch_size,
                                    epochs[0])
        cfg.check()
    use_mlflow = tracking.wanted(mlflow)
    if use_mlflow and not tracking.available():
        if mlflow:
            raise ValueError("mlflow=True, but MLflow is not installed; pip install mlflow, or pass mlflow=False")
        use_mlflow = False
    experiment = name or graph.get("name") or "design"
    root = runs_root() / safe_name(experiment)
    run_name = reserve_run_name(safe_name(experiment), root)
    spec = JobSpec(name=run_name, experiment=experiment, graph=graph, data=data_spec(tokenized),
                   config=cfg.to_json(), checkpoint_dir=str(root / run_name), resume_from=resume_from,
                   mlflow=use_mlflow)
    return spec, tokenized, tok


def _submit(spec: JobSpec, background: bool | None, max_concurrent: int, progress: bool | None,
            monitor: bool | None, runner: Any = LOCAL, **options: Any) -> Run:
    from .widgets.kernel import interactive_kernel, notebook_frontend, show_monitor

    in_background = interactive_kernel() if background is None else bool(background)
    show = in_background and (monitor or (monitor is None and notebook_frontend()))
    if runner is LOCAL:
        options["max_concurrent"] = max_concurrent
    run = runner.submit(spec, background=in_background, on_queued=show_monitor if show else None,
                        progress=progress if progress is not None else not in_background, **options)
    run._runner_obj = runner
    return run


def _graph_of(g_or_model: Any):
    """(graph dict, model or None) from a graph dict, a GraphModel, or anything with a ``.graph`` attribute."""
    from .model import GraphModel

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
    from . import data
    from .tokcache import TokenizedCorpus, tokenize_corpus
    from .tokenizers import Tokenizer

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


def _mlflow_context(tags: dict | None, system_metrics: bool | None, remote: bool = False) -> dict:
    """The caller's MLflow context, read here on the caller's thread; a worker logs to its own store, so a
    remote job carries the experiment and parent run but not this kernel's store address."""
    ctx = tracking.user_context(tags, system_metrics)
    if remote:
        ctx.pop("tracking_uri", None)
    return ctx


def _check_switches(**switches: Any) -> None:
    """``mlflow``, ``background``, ``progress``, ``monitor``, ``system_metrics``: True, False or None (decide automatically) —
    never a string such as "no", which Python would take as True."""
    for key, value in switches.items():
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be True, False or None, got {value!r}")


def _check_max_concurrent(max_concurrent: Any) -> None:
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
        raise ValueError(f"max_concurrent must be a whole number ≥ 1, got {max_concurrent!r}")

