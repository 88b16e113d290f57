"""The training loop: AdamW, warmup + decay, clipping, accumulation, evaluation, samples and checkpoints.

:class:`TrainConfig` holds every hyperparameter and checks them; :class:`Trainer` runs one job on the calling
thread and reports through the event callbacks it is given. The hot loop does only the essentials per step:
sample a batch from the token memmap, forward, backward, clip, step. Losses and gradient norms stay on the
device and are read in one go when an event is due (about 5 times a second), so a GPU is never synchronised
every step.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoint as ckpt
from . import precision as prec
from .events import Checkpoint, Eval, Event, Finished, Sample, Started, Step, Stopped
from .schedule import SCHEDULES, lr_at

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
STEP_EVENT_INTERVAL = 0.2  # seconds between Step events: ~5 Hz whatever the step rate
#: tokens/s is measured over about the last this many seconds of training (evaluation, samples and checkpoints
#: not counted), so one slow or fast step (the first, one after an evaluation) does not make the figure jump
SPEED_WINDOW = 5.0


class SpeedMeter:
    """Tokens per second over the recent past: the reports of about the last ``window`` seconds of training.

    >>> m = SpeedMeter(start_step=0, tokens_per_step=100, window=5.0)
    >>> m.add(2.0, 1)            # a slow first step: 100 tokens in 2 s
    50.0
    >>> round(m.add(2.2, 3), 1)    # two fast steps after it: the slow one still counts
    136.4
    >>> round(m.add(8.0, 59), 1)   # once the slow step is older than the window, only the recent ones count
    965.5
    """

    def __init__(self, start_step: int, tokens_per_step: int, window: float = SPEED_WINDOW):
        self.tokens_per_step, self.window = tokens_per_step, window
        self.points: collections.deque[tuple[float, int]] = collections.deque([(0.0, start_step)])

    def add(self, seconds: float, step: int) -> float:
        """Record that ``step`` was done after ``seconds`` of training; returns tokens/s over the window."""
        self.points.append((seconds, step))
        while len(self.points) > 2 and seconds - self.points[1][0] >= self.window:
            self.points.popleft()  # the newest reports that still span at least `window` seconds
        t0, s0 = self.points[0]
        return self.tokens_per_step * (step - s0) / max(seconds - t0, 1e-9)


@dataclass
class TrainConfig:
    """Every setting of a training job (``steps`` counts from step 0, also for a resumed job)."""

    steps: int = 2000
    batch_size: int = 12
    context: int = 64
    lr: float = 1e-3
    warmup: int = 100
    schedule: str = "cosine"
    min_lr: float = 1e-4
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    grad_accum: int = 1
    eval_every: int = 250
    eval_batches: int = 20
    sample_every: int = 500
    sample_prompt: str = "\n"
    sample_tokens: int = 200
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False
    checkpoint_every: int = 500
    keep_checkpoints: int = 3

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in data.items() if k in names}
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)

    def check(self) -> None:
        """Raise ``ValueError`` naming the first setting that cannot work (model and data checks are separate)."""
        # numpy numbers (a sweep over np.arange, say) become plain ones, so the config always goes into JSON
        def whole(name: str, minimum: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
                raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {v!r}")
            setattr(self, name, int(v))

        def real(v: Any) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)

        for name in ("steps", "batch_size", "context", "grad_accum", "eval_batches", "sample_tokens", "seed"):
            whole(name, 1 if name != "seed" else 0)
        if self.seed >= 2**63:
            raise ValueError(f"seed must be below 2**63, got {self.seed!r}")
        for name in ("warmup", "eval_every", "sample_every", "checkpoint_every", "keep_checkpoints"):
            whole(name, 0)
        for name in ("lr", "min_lr", "weight_decay", "grad_clip"):
            v = getattr(self, name)
            if not real(v) or v < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0, got {v!r}")
            setattr(self, name, float(v))
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) must not be above lr ({self.lr}); the schedule decays "
                             f"from lr down to min_lr")
        betas = self.betas
        if (isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2
                or not all(real(b) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), e.g. (0.9, 0.99), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        if not isinstance(self.compile, (bool, np.bool_)):
            raise TypeError(f"compile must be True or False, got {self.compile!r}")
        self.compile = bool(self.compile)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.dtype not in DTYPES and self.dtype != "auto":
            raise ValueError(f"unknown dtype {self.dtype!r}; choose 'auto' (bfloat16 where a probe measures it "
                             f"faster here), {', '.join(DTYPES)} (bfloat16 uses autocast, the weights stay float32)")
        if not isinstance(self.sample_prompt, str):
            raise TypeError(f"sample_prompt must be a string, got {self.sample_prompt!r}")
        resolve_device(self.device)


def resolve_device(device: Any) -> torch.device:
    """``"auto"`` → cuda if available, else mps, else cpu; otherwise the named device, which must exist here."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but this machine has no CUDA GPU; use device='auto'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} was asked for, but MPS is not available here; use device='auto'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'")
    return dev


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: decay the weight matrices; never norms, biases or embeddings (tied heads count as embeddings)."""
    embedding_ids = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) or "Embedding" in type(m).__name__
                     for p in m.parameters(recurse=False)}
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():  # deduplicated, so a tied weight appears once
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and id(p) not in embedding_ids else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    try:  # one fused kernel per step where the build supports it (CUDA, CPU and MPS in recent torch)
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, foreach=device.type != "cpu" or None)


@torch.no_grad()
def sample_text(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = 200, temperature: float = 1.0,
                top_k: int | None = None, seed: int = 0) -> str:
    """Text the model writes after ``prompt``: multinomial sampling with its own seeded generator and the KV cache.

    A deliberately small sampler for progress samples (the playground has the full one). It never touches the
    global RNG, so sampling during training leaves the run's randomness — and its resumability — unchanged.
    """
    device = next(model.parameters()).device
    try:
        ids = list(tokenizer.encode(prompt))
    except (ValueError, KeyError):
        ids = []
    ids = ids[-(model.context - 1):] or [0]  # a prompt the tokenizer cannot encode starts from token 0
    n_new = min(max_new_tokens, model.context - len(ids))
    gen = torch.Generator(device=device).manual_seed(seed)
    cache = model.new_cache(batch_size=1, max_len=len(ids) + n_new)
    logits = model(torch.tensor([ids], device=device), cache=cache)[:, -1]  # (1, V)
    out = []
    for i in range(n_new):
        logits = logits.float() / max(temperature, 1e-6)
        if top_k is not None:
            kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        nxt = torch.multinomial(logits.softmax(-1), 1, generator=gen)  # (1, 1)
        out.append(nxt)
        if i + 1 < n_new:
            logits = model(nxt, cache=cache)[:, -1]
    return tokenizer.decode(torch.cat(out, dim=1)[0].tolist()) if out else ""


def _autocast(device: torch.device, dtype: str):
    """bfloat16 autocast (matmuls in bfloat16, weights and their updates in float32), or nothing for float32."""
    if dtype == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _train_flops(job: Job) -> float:
    from ..analysis import analyze

    return float(analyze(job.graph).train_flops_per_token)


def _graph_hash(graph: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(graph, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _device_rng(device: torch.device) -> Any:
    """The module holding a GPU's random generator (dropout on the device draws from it), or None on the CPU."""
    if device.type == "cuda":
        return _CudaRng(device)
    if device.type == "mps":
        return torch.mps
    return None


class _CudaRng:
    def __init__(self, device: torch.device):
        self.device = device

    def get_rng_state(self) -> torch.Tensor:
        return torch.cuda.get_rng_state(self.device)

    def set_rng_state(self, state: torch.Tensor) -> None:
        torch.cuda.set_rng_state(state, self.device)


def dataset_of(tokenized: Any) -> dict:
    """What a run records of its data: the corpus (name, source, digest of its content), the tokenizer and the
    token counts, from the token cache's ``meta.json``."""
    meta = getattr(tokenized, "meta", None) or {}
    corpus, tok = meta.get("corpus") or {}, meta.get("tokenizer") or {}
    return {"name": str(corpus.get("name") or "corpus"), "source": str(corpus.get("source") or ""),
            "digest": str(corpus.get("fingerprint") or meta.get("key") or ""),
            "tokenizer": str(tok.get("name") or ""), "tokenizer_digest": str(tok.get("fingerprint") or ""),
            "train_tokens": int(meta.get("train_tokens") or 0), "val_tokens": int(meta.get("val_tokens") or 0),
            "cache": str(getattr(tokenized, "path", "") or "")}


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; no checkpoint is written from that state."""


@dataclass
class Job:
    """Everything a training job needs, resolved and checked before it is queued."""

    name: str
    config: TrainConfig
    graph: dict
    tokenized: Any  # slamdunk_lab.tokcache.TokenizedCorpus
    tokenizer: Any
    checkpoint_dir: str
    model: nn.Module | None = None  # a model to train in place; None builds one from the graph
    resume_from: str | None = None  # a checkpoint folder to continue from
    start_step: int = 0
    history: list = dataclasses.field(default_factory=list)
    extra_state: dict = dataclasses.field(default_factory=dict)
    mlflow_run_id: str | None = None  # the MLflow run the events are logged to (announced in Started)


def initial_model(graph: dict, seed: int) -> nn.Module:
    """The model a job starts from: built on the CPU from ``graph`` with ``seed`` (the caller's RNG untouched)."""
    from ..model import build

    with torch.random.fork_rng(devices=[]):  # deterministic init without disturbing the caller's RNG
        torch.manual_seed(seed)
        return build(graph, device="cpu", max_params=None)


class Trainer:
    """Runs one :class:`Job` on the calling thread. ``emit`` receives every event (already throttled);
    ``should_stop`` is polled once per step.

    The trainer knows nothing of MLflow, widgets or queues: each ``Step`` event carries the exact values of
    every step since the previous one (``points``), so whatever listens (MLflow, a run handle, a Redis
    stream) sees every step without the loop calling it per step.
    """

    def __init__(self, job: Job, emit: Callable[[Event], None], should_stop: Callable[[], bool],
                 hooks: dict | None = None):
        self.job, self.cfg = job, job.config
        self.emit, self.should_stop = emit, should_stop
        self.hooks = hooks or {}  # test seams: {"loss": fn(step, loss) -> loss}
        self.device = resolve_device(self.cfg.device)
        self.step = job.start_step  # optimizer steps completed
        self.current_step = job.start_step  # the step being worked on, for error messages
        self.history: list[dict] = list(job.history)
        self.last_eval: dict | None = None
        self.last_checkpoint: str = ""
        self.model: nn.Module | None = None
        self.pending: list = []
        self.unreported: list[list] = []  # [step, loss, lr, grad_norm] read off the device, not yet in a Step
        self.step_rng: tuple | None = None  # (numpy batch state, torch CPU state) at the start of the step
        self.updating = False  # True while the optimizer writes the weights

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        cfg, job = self.cfg, self.job
        model = job.model if job.model is not None else initial_model(job.graph, cfg.seed)
        self.model = model.to(self.device)
        self.model.train()
        self.optimizer = make_optimizer(self.model, cfg, self.device)
        self.batch_rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        recorded = None
        if job.resume_from is not None:
            loaded = ckpt.LoadedCheckpoint(job.resume_from)
            recorded = loaded.state.get("precision")
            loaded.load_weights(self.model)
            self.optimizer.load_state_dict(loaded.optimizer_state(self.device))
            # load_state_dict brings back the saved groups' settings; a resume that changed weight_decay or
            # betas overrides them (lr is set every step anyway)
            saved = loaded.state.get("config", {})
            if "weight_decay" in saved and cfg.weight_decay != saved["weight_decay"]:
                self.optimizer.param_groups[0]["weight_decay"] = cfg.weight_decay  # group 1 never decays
            if "betas" in saved and cfg.betas != tuple(saved["betas"]):
                for group in self.optimizer.param_groups:
                    group["betas"] = cfg.betas
            ckpt.restore_rng_state(loaded.state["rng"], self.batch_rng, self.device)
        self.fwd = torch.compile(self.model) if cfg.compile else self.model
        self.params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.n_params = sum(p.numel() for p in self.model.parameters())
        self.precision = self._choose_precision(recorded)
        self.autocast = _autocast(self.device, self.precision.dtype)
        self.flops_per_token = float(self.job.extra_state.get("train_flops_per_token") or 0) or _train_flops(self.job)
        self.peak_flops = prec.peak_flops(self.precision.dtype, self.device)

    def _choose_precision(self, recorded: dict | None) -> prec.Choice:
        """``dtype="auto"``: the choice recorded in the checkpoint a run resumes from (so it continues exactly),
        else this machine's rule for this design and step shape (a probe of this model's step, cached)."""
        cfg = self.cfg
        if cfg.dtype == "auto" and isinstance(recorded, dict) and recorded.get("dtype") in DTYPES:
            return prec.Choice(recorded["dtype"], f"{recorded.get('reason', '')} (recorded in the checkpoint "
                                                  f"this run resumes from)", "auto")
        design = str((self.job.extra_state.get("design") or {}).get("graph_hash") or _graph_hash(self.job.graph))
        key = prec.probe_key(design, cfg.batch_size, cfg.context, self.device, cfg.compile)
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        return prec.choose(cfg.dtype, key, self.device, self._probe_step, sync)

    def _probe_step(self, dtype: str) -> None:
        """One forward and backward pass on a batch of the run's shape, for the precision probe: the weights,
        the run's random states and its batches are untouched (gradients are dropped)."""
        rng = np.random.default_rng([self.cfg.seed, 3])
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            try:
                x, y = self.batch("train", rng)
                with _autocast(self.device, dtype):
                    logits = self.fwd(x)  # (B, T, V)
                    loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))
                loss.backward()
            finally:
                self.model.zero_grad(set_to_none=True)

    def batch(self, split: str, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.job.tokenized.get_batch(split, self.cfg.batch_size, self.cfg.context, rng)
        x, y = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)

    def loss_of(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self.autocast:
            logits = self.fwd(x)  # (B, T, V)
            return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))

    # ------------------------------------------------------------------ periodic work
    @torch.no_grad()
    def evaluate(self) -> dict:
        """Mean loss of ``eval_batches`` batches per split; the same batches at every evaluation."""
        self.model.eval()
        rng = np.random.default_rng([self.cfg.seed, 1])
        out = {}
        for split in ("train", "val"):
            losses = torch.stack([self.loss_of(*self.batch(split, rng)) for _ in range(self.cfg.eval_batches)])
            out[f"{split}_loss"] = losses.mean().item()
        self.model.train()
        bad = {k: v for k, v in out.items() if not math.isfinite(v)}
        if bad:
            raise NonFiniteLoss(f"the evaluation {', '.join(f'{k} became {v}' for k, v in bad.items())} at step "
                                f"{self.step}; no checkpoint was written from this state. Lower lr or check the data")
        return out

    def sample(self) -> str:
        self.model.eval()
        try:
            return sample_text(self.model, self.job.tokenizer, self.cfg.sample_prompt, self.cfg.sample_tokens,
                               seed=self.cfg.seed)
        finally:
            self.model.train()

    def checkpoint_after_interrupt(self) -> str:
        """A checkpoint of the last whole step after a KeyboardInterrupt landed anywhere in the loop ("" if
        there is none to write). Mid-step, the weights are still the last step's (only gradients changed), so
        the random states go back to where the interrupted step began and a resume redraws its batches."""
        if self.model is None or self.step <= self.job.start_step or self.updating:
            return ""  # nothing new since the last checkpoint, or weights caught half-written
        if self.step_rng is not None and self.current_step == self.step + 1:
            self.batch_rng.bit_generator.state, cpu_state, device_state = self.step_rng
            torch.set_rng_state(cpu_state)
            if device_state is not None:
                _device_rng(self.device).set_rng_state(device_state)
        return self.save_checkpoint()

    def save_checkpoint(self) -> str:
        finite = torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all().item()
        if not finite:
            raise NonFiniteLoss(f"the weights contain NaN or infinity at step {self.step}; no checkpoint written")
        if not self._forward_is_finite():
            raise NonFiniteLoss(f"the weights of step {self.step} are finite but the model's output on a training "
                                f"batch is NaN or infinite (they overflow); no checkpoint was written from this "
                                f"state, so the run's latest checkpoint is still an earlier one. Lower lr, keep "
                                f"grad_clip on, or check the data")
        state = {"name": self.job.name, "config": self.cfg.to_json(), "graph": self.job.graph,
                 "rng": ckpt.rng_state(self.batch_rng, self.device), "history": self.history,
                 "precision": self.precision.to_json(), **self.job.extra_state}
        path = ckpt.save(self.job.checkpoint_dir, self.step, self.model, self.optimizer, state,
                         self.job.tokenizer, keep=self.cfg.keep_checkpoints)
        self.last_checkpoint = str(path)
        self.emit(Checkpoint(run=self.job.name, step=self.step, path=str(path)))
        return str(path)

    @torch.no_grad()
    def _forward_is_finite(self) -> bool:
        """Whether the model gives a finite loss on one training batch (drawn from a generator of its own, so the
        run's batches stay the same), in eval mode: a checkpoint must resume into weights that work."""
        training = self.model.training
        self.model.eval()
        try:
            loss = self.loss_of(*self.batch("train", np.random.default_rng([self.cfg.seed, 2, self.step])))
        finally:
            self.model.train(training)
        return bool(torch.isfinite(loss).item())

    def _step_back(self, bad_step: int) -> str:
        """After a NaN loss at ``bad_step``: a checkpoint of the step before holds the weights that gave it, so it
        is removed and ``latest`` goes back to the one before; returns a sentence saying where the run stands."""
        if bad_step - 1 <= self.job.start_step or not self.last_checkpoint:
            return "no checkpoint was written from this state"
        if Path(self.last_checkpoint).name != ckpt.step_dir_name(bad_step - 1):
            return "no checkpoint was written from this state"
        back = ckpt.step_back(self.job.checkpoint_dir, bad_step - 1)
        self.last_checkpoint = str(Path(self.job.checkpoint_dir) / ckpt.step_dir_name(back)) if back else ""
        where = f"step {back}" if back is not None else "none is left"
        return (f"the checkpoint of step {bad_step - 1}, whose weights gave this loss, was removed, and the run's "
                f"latest checkpoint is now {where}")

    # ------------------------------------------------------------------ the loop
    def run(self) -> Event:
        """Train until ``steps`` or a stop request; returns the terminal event (Finished or Stopped).
        Exceptions propagate to the caller, which reports them as a failed run."""
        cfg, name = self.cfg, self.job.name
        self.setup()
        total, start = cfg.steps, self.step
        self.emit(Started(run=name, step=start, total_steps=total, device=str(self.device), dtype=self.precision.dtype,
                          precision=self.precision.to_json(), flops_per_token=self.flops_per_token,
                          peak_flops=self.peak_flops,
                          params=self.n_params, checkpoint_dir=self.job.checkpoint_dir,
                          mlflow_run_id=self.job.mlflow_run_id, config=cfg.to_json(),
                          experiment=str(self.job.extra_state.get("experiment") or ""),
                          design=dict(self.job.extra_state.get("design") or {}),
                          resumed_from=self.job.resume_from or "",
                          history=list(self.job.history), dataset=dataset_of(self.job.tokenized)))
        tokens_per_step = cfg.batch_size * cfg.context * cfg.grad_accum
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")  # inf: measure the norm, clip nothing
        loss_hook = self.hooks.get("loss")
        # (step, lr, loss, grad norm) of steps not yet read off the device
        pending: list[tuple[int, float, torch.Tensor, torch.Tensor]] = self.pending
        t_start = t_last = time.perf_counter()
        train_s = 0.0  # seconds spent training (periodic work left out)
        meter = SpeedMeter(start, tokens_per_step)
        stopped = False
        device_rng = _device_rng(self.device)
        while self.step < total:
            if self.should_stop():
                stopped = True
                break
            # where this step's randomness starts: an interrupt in the middle of the step saves a checkpoint
            # of the step before, and a resume must draw this step's batches and dropout again (taken before
            # current_step moves on, so an interrupt between the two lines needs no rewind)
            self.step_rng = (self.batch_rng.bit_generator.state, torch.get_rng_state(),
                             device_rng.get_rng_state() if device_rng is not None else None)
            self.current_step = self.step + 1
            lr = lr_at(self.step, cfg.lr, cfg.warmup, total, cfg.schedule, cfg.min_lr)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss_sum = None
            for _ in range(cfg.grad_accum):
                loss = self.loss_of(*self.batch("train", self.batch_rng))
                if loss_hook is not None:
                    loss = loss_hook(self.step + 1, loss)
                (loss / cfg.grad_accum).backward()
                loss_sum = loss.detach() if loss_sum is None else loss_sum + loss.detach()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm)
            self.updating = True  # weights between two steps until the counter moves on
            self.optimizer.step()
            self.step += 1
            self.updating = False
            self.optimizer.zero_grad(set_to_none=True)
            self.current_step = self.step
            pending.append((self.step, lr, loss_sum / cfg.grad_accum, grad_norm))

            now = time.perf_counter()
            eval_due = cfg.eval_every and (self.step % cfg.eval_every == 0 or self.step == total)
            sample_due = cfg.sample_every and (self.step % cfg.sample_every == 0 or self.step == total)
            ckpt_due = self.step == total or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0)
            if now - t_last >= STEP_EVENT_INTERVAL or eval_due or sample_due or ckpt_due or self.step == start + 1:
                self._flush(pending)  # waits for the queued steps on an asynchronous device (CUDA) ...
                now = time.perf_counter()  # ... so the speed counts finished work, not launched work
                elapsed = now - t_start
                train_s += now - t_last
                speed = meter.add(train_s, self.step)
                self.report_steps(tokens_per_s=speed, elapsed=elapsed,
                                  eta=elapsed / (self.step - start) * (total - self.step))
                t_last = now
                if eval_due:
                    self.last_eval = self.evaluate()
                    self.history.append({"kind": "eval", "step": self.step, **self.last_eval})
                    self.emit(Eval(run=name, step=self.step, **self.last_eval))
                if sample_due:
                    text = self.sample()
                    self.history.append({"kind": "sample", "step": self.step, "text": text})
                    self.emit(Sample(run=name, step=self.step, prompt=cfg.sample_prompt, text=text))
                if ckpt_due:
                    self.save_checkpoint()
                t_last = time.perf_counter()  # periodic work is not training time
        self._flush(pending)
        elapsed = time.perf_counter() - t_start
        self.report_steps(elapsed=elapsed)  # the steps since the last Step event (a stop lands between two)
        if stopped:
            path = self.save_checkpoint()
            return Stopped(run=name, step=self.step, checkpoint=path)
        if not self.last_checkpoint:  # e.g. resumed with nothing left to do
            self.save_checkpoint()
        ev = self.last_eval or {}
        return Finished(run=name, step=self.step, elapsed=elapsed, train_loss=ev.get("train_loss"),
                        val_loss=ev.get("val_loss"), checkpoint=self.last_checkpoint)

    def _flush(self, pending: list) -> None:
        """Read the pending per-step values off the device in one go, check them, append them to the history."""
        if not pending:
            return
        values = torch.stack([torch.stack([loss.float(), gn.float()]) for _, _, loss, gn in pending]).tolist()
        for (step, lr, _, _), (loss, gn) in zip(pending, values):
            if not (math.isfinite(loss) and math.isfinite(gn)):
                pending.clear()
                what = f"the loss became {loss}" if not math.isfinite(loss) else f"the gradient norm became {gn}"
                raise NonFiniteLoss(f"{what} at step {step} (learning rate {lr:.3g}); training stopped and "
                                    f"{self._step_back(step)}. Lower lr, keep grad_clip on, or check the data")
            self.history.append({"kind": "train", "step": step, "loss": loss, "lr": lr, "grad_norm": gn})
            self.unreported.append([step, loss, lr, gn])
        pending.clear()

    def report_steps(self, tokens_per_s: float = 0.0, elapsed: float = 0.0, eta: float = 0.0) -> None:
        """Emit one ``Step`` event carrying every step read off the device since the previous one (nothing
        when there is none); its headline values are the latest step's."""
        if not self.unreported:
            return
        points, self.unreported = self.unreported, []
        step, loss, lr, gn = points[-1]
        self.speed = tokens_per_s or getattr(self, "speed", 0.0)  # the trailing report repeats the last speed
        self.emit(Step(run=self.job.name, step=step, total_steps=self.cfg.steps, loss=loss, lr=lr, grad_norm=gn,
                       tokens_per_s=self.speed, elapsed=elapsed, eta=eta, points=points,
                       mfu=prec.mfu(self.flops_per_token, self.speed, self.peak_flops)))
