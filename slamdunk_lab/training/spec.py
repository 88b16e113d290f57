"""A training job as plain JSON: what any runner (a kernel thread, a Celery worker) needs to run it.

A :class:`JobSpec` holds the graph, the data (:func:`data_spec`), the tokenizer (:func:`tokenizer_spec`), the
training settings and the run's name, and nothing else: no tensors, no open files, no Python objects, so it
can travel through a queue as JSON and be checked on arrival. :func:`resolve` turns it into the
:class:`~slamdunk_lab.training.trainer.Job` the trainer runs, wherever it runs.

Paths in a spec (a token cache, a data file, the checkpoint folder, the checkpoint to resume from) are either
absolute or relative to the runs folder of the machine that runs the job (``$SLAMDUNK_RUNS_DIR``), so a job
whose checkpoints live on shared storage resumes on any worker that mounts it, wherever it is mounted.

Data kinds (``spec.data["kind"]``):

* ``"cache"``: a tokenized corpus folder (``{"path": ...}``); the tokenizer is the one saved in it.
* ``"text"``: the documents themselves (``{"docs": [...], "name": ..., "separator": ...}``), at most
  :data:`MAX_TEXT_BYTES` of UTF-8 (``$SLAMDUNK_MAX_JOB_TEXT`` bytes changes it).
* ``"file"``: a file on storage the runner sees (``{"path": ..., "field": ..., "split_docs": ...}``).
* ``"named"``: ``sd.data.load(name, max_docs=..., max_bytes=...)``.
* ``"synthetic"``: ``sd.data.synthetic(task, n=..., seed=..., **options)``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import safe_name
from .._resources import check_training_memory
from . import checkpoint as ckpt
from .trainer import Job, TrainConfig, resolve_device

SPEC_VERSION = 1
DATA_KINDS = ("cache", "text", "file", "named", "synthetic")
MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_TOKENIZER_BYTES = 32 * 1024 * 1024


def runs_root() -> Path:
    """Where checkpoints go: ``$SLAMDUNK_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("SLAMDUNK_RUNS_DIR") or Path.cwd() / "runs").expanduser()


def max_text_bytes() -> int:
    """The most text a job may carry (``$SLAMDUNK_MAX_JOB_TEXT`` bytes, default 16 MiB)."""
    try:
        return int(os.environ.get("SLAMDUNK_MAX_JOB_TEXT") or MAX_TEXT_BYTES)
    except ValueError:
        return MAX_TEXT_BYTES


def under_runs_root(path: str) -> Path:
    """A spec path made absolute: relative ones are inside this machine's runs folder (never outside it)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    root = runs_root().resolve()
    full = (root / p).resolve()
    if full != root and root not in full.parents:
        raise ValueError(f"the path {path!r} leads outside the runs folder {str(root)!r}")
    return full


# ------------------------------------------------------------------ the spec
@dataclass
class JobSpec:
    """Everything a training job is, as JSON (see the module docstring)."""

    name: str
    experiment: str
    graph: dict
    data: dict
    config: dict
    tokenizer: dict | None = None  # None: the tokenizer saved with a "cache" data folder
    checkpoint_dir: str = ""  # "" → <experiment>/<name> in the runs folder
    resume_from: str | None = None  # a run folder or one checkpoint folder to continue from
    resume_steps: int | None = None  # train this many steps past the checkpoint (None: up to config["steps"])
    mlflow: bool = True
    mlflow_run_id: str | None = None  # filled in by the runner that starts the MLflow run
    #: the caller's MLflow session (tracking.user_context): experiment, parent run, tags, system metrics
    mlflow_context: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    version: int = SPEC_VERSION

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=True, allow_nan=False)

    @classmethod
    def from_json(cls, data: Any) -> JobSpec:
        """The spec a dict (from JSON) describes, each field's type checked; a ``ValueError`` names the field."""
        if not isinstance(data, dict):
            raise ValueError(f"a job spec must be a JSON object, got {type(data).__name__}")  # noqa: TRY004
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown job spec field(s): {', '.join(sorted(unknown))}")
        if data.get("version", SPEC_VERSION) != SPEC_VERSION:
            raise ValueError(f"job spec version {data.get('version')!r} is not {SPEC_VERSION}; update slamdunk_lab")
        types: dict[str, type | tuple[type, ...]] = {
                 "name": str, "experiment": str, "graph": dict, "data": dict, "config": dict,
                 "tokenizer": (dict, type(None)), "checkpoint_dir": str, "resume_from": (str, type(None)),
                 "resume_steps": (int, type(None)), "mlflow": bool, "mlflow_run_id": (str, type(None)),
                 "mlflow_context": dict,
                 "id": str, "version": int}
        for key in ("name", "experiment", "graph", "data", "config"):
            if key not in data:
                raise ValueError(f"the job spec has no {key!r}")
        for key, value in data.items():
            if not isinstance(value, types[key]) or (isinstance(value, bool) and types[key] is int):
                raise ValueError(f"job spec field {key!r} has the wrong type ({type(value).__name__})")
        if not data["name"].strip() or safe_name(data["name"]) != data["name"]:
            raise ValueError(f"job spec name {data['name']!r} is not a plain folder name")
        if not all(c in "0123456789abcdef" for c in data.get("id", "0")) or not data.get("id", "0"):
            raise ValueError(f"job spec id {data.get('id')!r} must be hex digits")
        if data["data"].get("kind") not in DATA_KINDS:
            raise ValueError(f"data kind {data['data'].get('kind')!r} is not one of {', '.join(DATA_KINDS)}")
        return cls(**copy.deepcopy(data))

    def train_config(self) -> TrainConfig:
        cfg = TrainConfig.from_json(self.config)
        cfg.check()
        return cfg

    def run_folder(self) -> Path:
        """The checkpoint folder of this job on this machine."""
        return under_runs_root(self.checkpoint_dir or f"{safe_name(self.experiment)}/{self.name}")


# ------------------------------------------------------------------ data and tokenizers as JSON
def data_spec(corpus: Any, kind: str | None = None) -> dict:
    """A data spec for ``corpus``: a tokenized corpus becomes ``{"kind": "cache"}``, a ``Corpus`` (or text)
    its documents (``"text"``, up to :func:`max_text_bytes`); a dict is checked and returned."""
    from .. import data
    from ..tokcache import TokenizedCorpus

    if isinstance(corpus, dict):
        if corpus.get("kind") not in DATA_KINDS:
            raise ValueError(f"data kind {corpus.get('kind')!r} is not one of {', '.join(DATA_KINDS)}")
        return copy.deepcopy(corpus)
    if isinstance(corpus, TokenizedCorpus):
        return {"kind": "cache", "path": str(Path(corpus.path).resolve())}
    if isinstance(corpus, str):
        corpus = data.text(corpus)
    elif isinstance(corpus, (list, tuple)):
        corpus = data.text(list(corpus))
    if not isinstance(corpus, data.Corpus):
        raise TypeError(f"corpus must be a slamdunk_lab Corpus (sd.data.text / file / load / synthetic), a "
                        f"tokenized corpus, a data spec dict or text; got {type(corpus).__name__}")
    size = sum(len(d.encode("utf-8", "surrogatepass")) for d in corpus.docs)
    if size > max_text_bytes():
        raise ValueError(f"the corpus {corpus.name!r} is {size:,} bytes, more than the {max_text_bytes():,} a job "
                         f"may carry; put the file on storage the workers see and pass "
                         f"{{'kind': 'file', 'path': ...}}, or a named set {{'kind': 'named', 'name': ...}}")
    return {"kind": "text", "docs": list(corpus.docs), "name": corpus.name, "separator": corpus.separator}


def tokenizer_spec(tok: Any) -> dict:
    """A tokenizer as JSON: the files :meth:`Tokenizer.save` writes, as text."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = tok.save(tmp)
        files = {}
        for p in sorted(Path(folder).iterdir()):
            files[p.name] = p.read_text(encoding="utf-8")
    size = sum(len(v) for v in files.values())
    if size > MAX_TOKENIZER_BYTES:
        raise ValueError(f"the tokenizer is {size:,} bytes as JSON, more than {MAX_TOKENIZER_BYTES:,}")
    return {"files": files}


def tokenizer_from_spec(spec: dict) -> Any:
    """The tokenizer a :func:`tokenizer_spec` dict describes (its files checked as when loading a folder)."""
    from ..tokenizers import load

    files = spec.get("files") if isinstance(spec, dict) else None
    if not isinstance(files, dict) or "tokenizer.json" not in files:
        raise ValueError("the job's tokenizer spec has no 'files' with a 'tokenizer.json'")
    if sum(len(v) for v in files.values() if isinstance(v, str)) > MAX_TOKENIZER_BYTES:
        raise ValueError(f"the job's tokenizer is larger than {MAX_TOKENIZER_BYTES:,} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            if not isinstance(name, str) or not isinstance(text, str) or safe_name(name) != name or name in (".", ".."):
                raise ValueError(f"the job's tokenizer has a file name that is not a plain name: {name!r}")
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return load(tmp)


def open_data(spec: dict, tok: Any) -> tuple[Any, Any]:
    """``(TokenizedCorpus, tokenizer)`` for a data spec, tokenizing into this machine's token cache."""
    from ..tokcache import TokenizedCorpus, tokenize_corpus

    kind = spec.get("kind")
    if kind == "cache":
        opened = TokenizedCorpus.open(under_runs_root(str(spec.get("path", ""))))
        if tok is not None and tok.fingerprint() != opened.tokenizer.fingerprint():
            raise ValueError("the token cache was made with a different tokenizer than the job's")
        return opened, opened.tokenizer
    if tok is None:
        raise ValueError(f"a job with {kind!r} data needs a tokenizer spec")
    return tokenize_corpus(open_corpus(spec), tok), tok


def open_corpus(spec: dict) -> Any:
    """The :class:`~slamdunk_lab.data.Corpus` a text, file, named or synthetic data spec describes."""
    from .. import data

    kind = spec.get("kind")
    if kind == "text":
        docs = spec.get("docs")
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) for d in docs):
            raise ValueError("text data needs 'docs': a non-empty list of strings")
        if sum(len(d.encode("utf-8", "surrogatepass")) for d in docs) > max_text_bytes():
            raise ValueError(f"the job carries more than {max_text_bytes():,} bytes of text (the limit)")
        corpus = data.Corpus(docs, name=str(spec.get("name") or "text"), source="sent with the job",
                             separator=str(spec.get("separator", data.DEFAULT_SEPARATOR)))
    elif kind == "file":
        corpus = data.file(under_runs_root(str(spec.get("path", ""))), field=str(spec.get("field", "text")),
                           split_docs=spec.get("split_docs"), name=spec.get("name"))
    elif kind == "named":
        options = {k: spec[k] for k in ("max_docs", "max_bytes") if k in spec}
        corpus = data.load(str(spec.get("name")), **options)
    elif kind == "synthetic":
        options = {k: v for k, v in spec.items() if k not in ("kind", "task")}
        corpus = data.synthetic(str(spec.get("task")), **options)
    else:
        raise ValueError(f"data kind {kind!r} is not one of {', '.join(DATA_KINDS)}")
    if len(corpus) == 0 or corpus.num_chars == 0:
        raise ValueError(f"the corpus {corpus.name!r} is empty: there is nothing to train on")
    return corpus


# ------------------------------------------------------------------ checks shared by every runner
def check_fit(cfg: TrainConfig, plan_context: int, plan_vocab: int, tokenized: Any, tok: Any) -> None:
    """Raise ``ValueError`` when the settings, the model and the data do not fit together."""
    if cfg.context > plan_context:
        raise ValueError(f"context={cfg.context} is longer than the model's {plan_context} positions; train with "
                         f"context≤{plan_context} or design the model with context={cfg.context}")
    if tok.vocab_size > plan_vocab:
        raise ValueError(f"the tokenizer has {tok.vocab_size} tokens but the model's vocabulary holds only "
                         f"{plan_vocab}; make the model with vocab_size=tok.vocab_size, e.g. "
                         f"sd.template(..., vocab_size={tok.vocab_size})")
    if tokenized is None:
        return
    need = cfg.context + 1
    splits = ("train", "val") if cfg.eval_every else ("train",)
    for split in splits:
        n = len(tokenized.tokens(split))
        if n < need:
            raise ValueError(f"the {split} split has {n} tokens, fewer than one window of context+1 = {need}; "
                             f"use more text or a smaller context" +
                             (" (or eval_every=0 to skip evaluation)" if split == "val" else ""))


def design_summary(analysis: Any, graph: dict) -> dict:
    """What MLflow records of a design: family, layers, heads, width, parameters, context, vocabulary, hash."""
    from ..templates import PRESETS

    nodes = graph["nodes"]
    attn: dict = next((n["data"] for n in nodes if n["type"] == "attention"), {})
    emb: dict = next((n["data"] for n in nodes if n["type"] == "tokenEmbedding"), {})
    name = graph.get("name") or ""
    family = name.split("-")[0] if name.split("-")[0] in PRESETS else "custom"
    shape = {"nodes": [{k: n.get(k) for k in ("id", "type", "data", "parentId")} for n in nodes],
             "edges": sorted((e["source"], e["target"], e.get("targetHandle") or "") for e in graph["edges"])}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {"design": name or "design", "family": family, "layers": analysis.n_layers,
            "heads": attn.get("n_heads"), "width": emb.get("d_model"), "parameters": analysis.params,
            "model_context": analysis.plan.context, "vocab_size": analysis.plan.vocab_size, "graph_hash": digest}


def run_name_stamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def reserve_run_name(base: str, root: Path) -> str:
    """``<base>-<date>-<time>`` (``-2``, ``-3``… when taken), its checkpoint folder created to claim it."""
    stamp = run_name_stamp()
    root.mkdir(parents=True, exist_ok=True)
    name, i = f"{base}-{stamp}", 1
    while True:
        try:
            (root / name).mkdir()
            return name
        except FileExistsError:
            i += 1
            name = f"{base}-{stamp}-{i}"


# ------------------------------------------------------------------ spec → job
def resolve(spec: JobSpec, model: Any = None, tokenized: Any = None) -> Job:
    """The :class:`Job` a spec describes on this machine: data opened (tokenized into this machine's cache when
    needed), checkpoint to resume from found, design analysed. ``model`` (a model to train in place) and
    ``tokenized`` (the data, already open) are what a runner in the same process may hand over instead."""
    from ..analysis import analyze

    cfg = spec.train_config()
    analysis = analyze(spec.graph)
    analysis.raise_for_errors()
    graph = analysis.graph
    check_training_memory(graph, cfg.batch_size, cfg.context, resolve_device(cfg.device))  # this machine's memory
    tok = tokenizer_from_spec(spec.tokenizer) if spec.tokenizer is not None else None
    if tokenized is None:
        tokenized, tok = open_data(spec.data, tok)
    else:
        tok = tokenized.tokenizer if tok is None else tok
    start_step, history, resume_from = 0, [], None
    if spec.resume_from:
        loaded = ckpt.LoadedCheckpoint(under_runs_root(spec.resume_from))
        resume_from, start_step = str(loaded.path), loaded.step
        history = list(loaded.state.get("history") or [])
        if spec.resume_steps is not None:
            cfg.steps = start_step + int(spec.resume_steps)
        if cfg.steps <= start_step:
            raise ValueError(f"the checkpoint is at step {start_step}, and the job plans {cfg.steps} steps: there "
                             f"is nothing left to train; resume with steps=N to train N more")
    elif cfg.steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {cfg.steps}")
    check_fit(cfg, analysis.plan.context, analysis.plan.vocab_size, tokenized, tok)
    folder = spec.run_folder()
    extra = {"experiment": spec.experiment, "design": design_summary(analysis, graph), "resumed_from": resume_from,
             "train_flops_per_token": analysis.train_flops_per_token,
             "data": {"cache": str(tokenized.path), "corpus": tokenized.meta.get("corpus", {}).get("name"),
                      "spec": _small_data_spec(spec.data)},
             "job_id": spec.id}
    return Job(name=spec.name, config=cfg, graph=graph, tokenized=tokenized, tokenizer=tok,
               checkpoint_dir=str(folder), model=model, resume_from=resume_from, start_step=start_step,
               history=history, extra_state=extra, mlflow_run_id=spec.mlflow_run_id)


def _small_data_spec(data: dict) -> dict:
    """The data spec as a checkpoint remembers it (text itself is not copied into every checkpoint)."""
    if data.get("kind") == "text":
        return {"kind": "text", "name": data.get("name"), "docs": len(data.get("docs") or [])}
    return copy.deepcopy(data)
