"""Finished runs read back: ``load_run`` (a model and tokenizer from a checkpoint folder or an MLflow run) and
``runs_table`` (this library's MLflow runs as a table)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import checkpoint as ckpt
from . import tracking

COLUMNS = ["run_id", "experiment", "name", "status", "start_time", "end_time", "step", "steps", "train_loss",
           "val_loss", "parameters", "family", "layers", "heads", "width", "lr", "batch_size", "context",
           "checkpoint_dir", "checkpoint", "worker", "segments"]


def runs_table(active_ids: set[str] | frozenset[str] = frozenset()):
    """A pandas DataFrame of this library's MLflow runs in the tracking store, newest first (see ``sd.runs``)."""
    import pandas as pd

    rows = []
    for row in lineage_rows(active_ids):
        row = {k: row.get(k) for k in COLUMNS}
        row["start_time"] = pd.to_datetime(row["start_time"], unit="ms")
        row["end_time"] = pd.to_datetime(row["end_time"], unit="ms") if row["end_time"] else pd.NaT
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def lineage_rows(active_ids: set[str] | frozenset[str] = frozenset(), uri: str | None = None) -> list[dict]:
    """One dict per run as a student thinks of it, newest first: a run and the runs that resumed it (its
    *segments*, one MLflow run each) are one row.

    The row is the newest segment's (``run_id``, ``status``, ``step``, losses, ``checkpoint_dir`` …, so
    ``sd.load_run(row["run_id"])`` gives the newest weights) under the first segment's ``name`` and start time;
    ``status`` is this library's word (queued, running, finished, stopped, killed, failed, lost);
    ``checkpoint`` is the newest checkpoint folder on disk (where ``sd.resume`` continues), ``segments`` lists
    ``{"run_id", "name", "status", "start_step", "step"}`` oldest first. ``_params`` holds the newest segment's
    logged parameters. Empty when there is no tracking store (none is created just to list nothing).
    """
    uri = uri or tracking.tracking_uri()
    if not tracking.available() or (uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists()):
        return []
    found = tracking.search(active_ids, uri)
    client = tracking.client(uri)
    names: dict[str, str] = {}
    rows = []
    for segments in lineages(found):
        first, last = segments[0], segments[-1]
        exp_id = last.info.experiment_id
        if exp_id not in names:
            names[exp_id] = client.get_experiment(exp_id).name
        p, m, tags = last.data.params, last.data.metrics, last.data.tags
        folder = tags.get(tracking.CHECKPOINT_TAG)
        rows.append({"run_id": last.info.run_id, "experiment": names[exp_id],
                     "name": first.info.run_name or first.info.run_id, "design": p.get("design") or names[exp_id],
                     "status": tracking.state_of(last), "start_time": first.info.start_time,
                     "end_time": last.info.end_time, "step": _num(tags.get(tracking.STEP_TAG), int),
                     "steps": _num(p.get("steps"), int), "train_loss": _finite(m.get("train_loss", m.get("loss"))),
                     "val_loss": _finite(m.get("val_loss")), "parameters": _num(p.get("parameters"), int),
                     "family": p.get("family"), "layers": _num(p.get("layers"), int),
                     "heads": _num(p.get("heads"), int), "width": _num(p.get("width"), int),
                     "lr": _num(p.get("lr"), float), "batch_size": _num(p.get("batch_size"), int),
                     "context": _num(p.get("context"), int), "checkpoint_dir": folder,
                     "checkpoint": _newest_checkpoint(folder), "worker": tags.get("slamdunk.worker"),
                     "tokens_per_s": _finite(m.get("tokens_per_s")),
                     "segments": [_segment(r) for r in segments], "_params": dict(p)})
    return rows


def lineages(found: list) -> list[list]:
    """MLflow runs (newest first) grouped by lineage: a run and the runs resumed from its checkpoints. Newest
    lineage first; in each, the segments oldest first."""
    groups: dict[str, list] = {}
    for r in found:
        groups.setdefault(r.data.tags.get(tracking.LINEAGE_TAG) or r.info.run_id, []).append(r)
    return [sorted(g, key=lambda r: r.info.start_time or 0) for g in groups.values()]


def _segment(r) -> dict:
    resumed = re.search(r"step-(\d+)/?$", r.data.params.get("resumed_from") or "")
    return {"run_id": r.info.run_id, "name": r.info.run_name or r.info.run_id, "status": tracking.state_of(r),
            "start_step": int(resumed.group(1)) if resumed else 0,
            "step": _num(r.data.tags.get(tracking.STEP_TAG), int)}


def _newest_checkpoint(folder: str | None) -> str | None:
    if not folder:
        return None
    try:
        return str(ckpt.resolve(folder))
    except (FileNotFoundError, OSError, ValueError):
        return None


def _num(value: Any, cast: Any) -> Any:
    try:
        return cast(float(value)) if cast is int else cast(value)
    except (TypeError, ValueError):
        return None


def _finite(value: Any) -> float | None:
    import math

    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def load_run(run_id: Any, device: Any = "cpu"):
    """``(model, tokenizer)`` of a finished, stopped or killed run.

    ``run_id``: an MLflow run id (from ``sd.runs()``) or a checkpoint folder. The newest checkpoint on disk is
    used; if it is gone (or on another machine), the model and tokenizer logged to MLflow are downloaded.
    """
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
    """The run's logged MLflow model (its ``sd.save`` folder, checked as ``sd.load`` checks it), or, for a run
    logged before MLflow models, the ``model/`` folder of its artifacts checked against its ``graph.json``."""
    import tempfile

    import mlflow
    from mlflow.exceptions import MlflowException

    from ..io import load
    from .mlflow_model import WEIGHTS_ARTIFACT

    with tempfile.TemporaryDirectory() as tmp:
        try:
            model_dir = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"runs:/{run_id}/model", dst_path=tmp,
                                                                 tracking_uri=tracking.tracking_uri()))
        except (MlflowException, OSError) as exc:
            raise ValueError(f"MLflow run {run_id!r} has no checkpoint on disk and no logged model to download "
                             f"({type(exc).__name__}: {exc})") from None
        saved = model_dir / "artifacts" / WEIGHTS_ARTIFACT
        if saved.is_dir():
            model = load(saved, device=device)
            return model, model.tokenizer
        return _load_plain_artifacts(client, run_id, model_dir, device, tmp)


def _load_plain_artifacts(client, run_id: str, model_dir: Path, device: Any, tmp: str):
    import json

    from mlflow.exceptions import MlflowException

    from ..analysis import analyze
    from ..errors import ModelFileError
    from ..model import build
    from ..tokenizers import load as load_tokenizer

    try:
        graph_path = client.download_artifacts(run_id, "graph.json", tmp)
    except (MlflowException, OSError) as exc:
        raise ValueError(f"MLflow run {run_id!r} has no graph.json to rebuild its model from "
                         f"({type(exc).__name__}: {exc})") from None
    try:
        graph = json.loads(Path(graph_path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFileError(f"graph.json logged with MLflow run {run_id!r} is not valid JSON: {exc}") from None
    analysis = analyze(graph)
    analysis.raise_for_errors()
    # checked from the header before the real model is allocated
    weights, against = model_dir / ckpt.WEIGHTS, f"the design logged with MLflow run {run_id!r}"
    ckpt.check_weights_file(weights, build(analysis, device="meta"), against)
    model = build(analysis, device=device, max_params=None)
    ckpt.load_weights_file(weights, model, against)
    return model, load_tokenizer(model_dir / "tokenizer")
