"""Runs browser: this library's MLflow runs as a table; overlay the loss curves of selected runs and diff their
designs and hyperparameters.

``sd.runs(widget=True)`` returns one. The table comes from the tracking store (``$MLFLOW_TRACKING_URI``, else
``./mlflow.db``); selecting runs on the page sets :attr:`Runs.selected`, and Python then fetches their metric
histories (``MlflowClient.get_metric_history``) and designs (``graph.json`` from the run's checkpoint folder or
its MLflow artifacts) and sends the curves and the differences.
"""

from __future__ import annotations

import html
import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import traitlets

from .._html import human_count, line_chart, table
from ._base import SlamDunkWidget, static_html

logger = logging.getLogger("slamdunk_lab.widgets")

#: Logged parameters that describe the design (the rest are training hyperparameters).
DESIGN_PARAMS = (
    "design",
    "family",
    "layers",
    "heads",
    "width",
    "parameters",
    "model_context",
    "vocab_size",
    "graph_hash",
)
#: Parameters that differ between any two runs by construction (not worth highlighting).
IGNORED_PARAMS = ("run_name",)
CURVE_METRICS = ("loss", "val_loss")
#: What the page gets of each row (see :class:`slamdunk_lab.widgets.contract.RunRow`).
ROW_FIELDS = ("run_id", "name", "experiment", "design", "status", "start_time", "end_time", "step", "steps",
              "train_loss", "val_loss", "parameters", "tokens_per_s", "worker", "checkpoint", "segments")
MAX_CURVE_POINTS = 2000


class Runs(SlamDunkWidget):
    """The MLflow runs of SLaM Dunk Lab in a table; select two or more to compare them.

    >>> table = sd.runs(widget=True); table          # doctest: +SKIP
    >>> table.selected = [run_a_id, run_b_id]         # or tick rows on the page
    >>> table.params_diff                             # [{"key", "group", "values", "differs"}, ...]
    """

    _view = traitlets.Unicode("runs").tag(sync=True)

    #: One dict per run, newest first: run_id, name, experiment, design, status, start_time (ms), end_time,
    #: step (the last one reached, once ended), steps (the plan), train_loss, val_loss, parameters, tokens_per_s.
    rows = traitlets.List(traitlets.Dict(), default_value=[]).tag(sync=True)
    #: The run ids ticked on the page (in the order they were ticked).
    selected = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    #: run_id → {"loss": [[step, value], ...], "val_loss": [...]} for the selected runs.
    curves = traitlets.Dict(default_value={}).tag(sync=True)
    #: Differences between the selected runs' designs: {"node", "field", "values": {run_id: value}}.
    design_diff = traitlets.List(traitlets.Dict(), default_value=[]).tag(sync=True)
    #: Every logged parameter of the selected runs: {"key", "group", "values": {run_id: value}, "differs"}.
    params_diff = traitlets.List(traitlets.Dict(), default_value=[]).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    loading = traitlets.Bool(False).tag(sync=True)
    tracking_uri = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(260, min=120).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._params: dict[str, dict] = {}
        self._curve_cache: dict[str, dict] = {}
        self._graph_cache: dict[str, dict | None] = {}
        self.refresh()

    # -- the table ------------------------------------------------------------
    def refresh(self) -> None:
        """Read the runs from the tracking store again (and recompute the comparison)."""
        from ..session import active_mlflow_ids
        from ..training import tracking

        self.loading = True
        try:
            self.tracking_uri = tracking.tracking_uri()
            uri = self.tracking_uri
            if not tracking.available():
                raise RuntimeError("MLflow is not installed (pip install mlflow)")
            rows, params = _read_runs(active_mlflow_ids(), uri)
            self._params = params
            live = {r["run_id"] for r in rows if r["status"] in ("running", "queued")}
            for rid in live:  # a running run's curves grow
                self._curve_cache.pop(rid, None)
            ids = {r["run_id"] for r in rows}
            with self.hold_sync():
                self.rows = rows
                self.error = ""
                kept = [rid for rid in self.selected if rid in ids]
                if kept != list(self.selected):
                    self.selected = kept
            self._compare()
        except Exception as exc:
            logger.exception("could not read the MLflow runs")
            self.error = (
                f"Could not read the MLflow runs from {self.tracking_uri}: {type(exc).__name__}: {exc}"
            )
        finally:
            self.loading = False

    # -- the static output ------------------------------------------------------------
    @traitlets.observe("rows", "curves", "error")
    def _shown_changed(self, change: Any) -> None:
        self.refresh_static(now=True)

    def _static_data(self) -> dict[str, Any]:
        """The runs table (and the selected runs' loss curves): what a saved notebook shows where the widget
        does not render."""
        def loss(v: Any) -> str:
            return f"{v:.4f}" if isinstance(v, (int, float)) and math.isfinite(v) else ""

        rows = [(r.get("name"), r.get("design"), r.get("status"),
                 f"{r.get('step') if r.get('step') is not None else ''}/{r.get('steps') or ''}",
                 loss(r.get("train_loss")), loss(r.get("val_loss")), human_count(r.get("parameters")),
                 f"{r['tokens_per_s']:,.0f}" if r.get("tokens_per_s") else "", r.get("worker") or "", r.get("experiment"))
                for r in self.rows]
        names = {r["run_id"]: r.get("name") or r["run_id"][:8] for r in self.rows}
        curves = {f"{names.get(rid, rid[:8])} {metric}": [tuple(p) for p in pts]
                  for rid, by_metric in self.curves.items() for metric, pts in by_metric.items()
                  if metric in ("loss", "val_loss")}
        body = (
            f'<div style="font:12px sans-serif;color:#333;margin-bottom:4px"><b>Runs</b> ({len(self.rows)}) '
            f"from {html.escape(self.tracking_uri)}</div>"
            + (f'<div style="font:12px sans-serif;color:#b00020">{html.escape(self.error)}</div>' if self.error else "")
            + table(rows, ["run", "design", "status", "step", "train loss", "val loss", "params", "tok/s", "worker",
                           "experiment"], cls="sdl-static-runs")
            + (line_chart(curves, title="selected runs") if curves else "")
        )
        return {"text/plain": f"{len(self.rows)} runs from {self.tracking_uri}", "text/html": static_html(body, "runs")}

    def _on_msg_refresh(self, content: dict) -> None:
        self.refresh()

    @traitlets.observe("selected")
    def _on_selected(self, change: dict) -> None:
        try:
            self._compare()
        except Exception as exc:
            logger.exception("could not compare the selected runs")
            self.error = f"Could not compare the selected runs: {type(exc).__name__}: {exc}"

    # -- the comparison -------------------------------------------------------
    def _compare(self) -> None:
        from ..training import tracking

        ids = [rid for rid in self.selected if rid in self._params]
        client = tracking.client(self.tracking_uri) if ids else None
        curves = {rid: self._curves(client, rid) for rid in ids}
        params = _params_diff({rid: self._params[rid] for rid in ids}) if len(ids) >= 2 else []
        design = _design_diff({rid: self._graph(client, rid) for rid in ids}) if len(ids) >= 2 else []
        with self.hold_sync():
            self.curves = curves
            self.params_diff = params
            self.design_diff = design

    def _curves(self, client: Any, run_id: str) -> dict:
        """The run's loss curves over its whole lineage: each segment's own steps, a later segment taking over
        from the step it resumed at."""
        if run_id not in self._curve_cache:
            segments = self._params[run_id].get("_segments") or [{"run_id": run_id, "start_step": 0}]
            out = {}
            for key in CURVE_METRICS:
                points: list = []
                for seg in segments:
                    hist = sorted(client.get_metric_history(seg["run_id"], key), key=lambda m: (m.step, m.timestamp))
                    own = [[int(m.step), float(m.value)] for m in hist if math.isfinite(m.value)]
                    if own:
                        points = [p for p in points if p[0] < own[0][0]] + own
                out[key] = _thin(points)
            self._curve_cache[run_id] = out
        return self._curve_cache[run_id]

    def _graph(self, client: Any, run_id: str) -> dict | None:
        if run_id not in self._graph_cache:
            self._graph_cache[run_id] = _read_graph(
                client, run_id, self._params[run_id].get("_checkpoint_dir")
            )
        return self._graph_cache[run_id]


# ---------------------------------------------------------------------- reading MLflow
def _read_runs(active: set[str], uri: str) -> tuple[list[dict], dict[str, dict]]:
    """The table's rows (one per run with its resumed segments) and each row's logged parameters."""
    from ..training.results import lineage_rows

    rows, params = [], {}
    for row in lineage_rows(active, uri):
        params[row["run_id"]] = {**row.pop("_params"), "_checkpoint_dir": row["checkpoint_dir"],
                                 "_segments": row["segments"]}
        rows.append({k: row.get(k) for k in ROW_FIELDS})
    return rows, params


def _read_graph(client: Any, run_id: str, checkpoint_dir: str | None) -> dict | None:
    """The run's graph.json: from its checkpoint folder when still on disk, else its MLflow artifact."""
    if checkpoint_dir:
        path = Path(checkpoint_dir) / "graph.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return json.loads(Path(client.download_artifacts(run_id, "graph.json", tmp)).read_text("utf-8"))
    except Exception:  # noqa: BLE001 - an older or foreign run without the artifact: no design diff for it
        return None


def _thin(points: list, limit: int = MAX_CURVE_POINTS) -> list:
    """At most ``limit`` points (every k-th, always the last)."""
    if len(points) <= limit:
        return points
    k = math.ceil(len(points) / limit)
    out = points[::k]
    if out[-1] is not points[-1]:
        out.append(points[-1])
    return out


# ---------------------------------------------------------------------- diffs
def _params_diff(params: dict[str, dict]) -> list[dict]:
    """One row per logged parameter of any run, design parameters first; ``differs`` when the values differ."""
    keys = sorted(
        {k for p in params.values() for k in p if not k.startswith("_") and k not in IGNORED_PARAMS},
        key=lambda k: (k not in DESIGN_PARAMS, DESIGN_PARAMS.index(k) if k in DESIGN_PARAMS else 0, k),
    )
    rows = []
    for key in keys:
        values = {rid: p.get(key) for rid, p in params.items()}
        rows.append(
            {
                "key": key,
                "group": "design" if key in DESIGN_PARAMS else "training",
                "values": values,
                "differs": len({json.dumps(v) for v in values.values()}) > 1,
            }
        )
    return rows


def block_places(graph: dict) -> dict[str, str]:
    """Node id → its place in the design: the block type and, when the design has several of that type, which
    one in the order data flows (``attention``, ``layerNorm 2``). Two designs built alike give their blocks the
    same places whatever their ids, so a design drawn by hand compares block by block with a template."""
    from ..graph.topology import toposort

    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict)]
    ids = [str(n.get("id")) for n in nodes]
    links = [(str(e.get("source")), str(e.get("target"))) for e in graph.get("edges", []) if isinstance(e, dict)]
    order, rest = toposort(ids, links)
    parents = {str(n.get("id")): str(n["parentId"]) for n in nodes if n.get("parentId")}
    placed: list[str] = []
    for nid in order + rest:  # a group (a transformer block) takes its place just before its first block
        if nid in parents and parents[nid] not in placed and parents[nid] in ids:
            placed.append(parents[nid])
        if nid not in placed:
            placed.append(nid)
    types = {str(n.get("id")): str(n.get("type")) for n in nodes}
    total: dict[str, int] = {}
    for nid in placed:
        total[types[nid]] = total.get(types[nid], 0) + 1
    seen: dict[str, int] = {}
    places = {}
    for nid in placed:
        t = types[nid]
        seen[t] = seen.get(t, 0) + 1
        places[nid] = t if total[t] == 1 else f"{t} {seen[t]}"
    return places


def _flatten_graph(graph: dict | None) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """(place, field) → value for every block's type, group and settings, plus each block's inputs (by place);
    and the places in the design's order."""
    if not graph:
        return {}, []
    places = block_places(graph)
    flat: dict[tuple[str, str], Any] = {}
    for node in graph.get("nodes", []):
        place = places.get(str(node.get("id")))
        if place is None:
            continue
        if node.get("parentId"):
            flat[(place, "inside")] = places.get(str(node["parentId"]), node["parentId"])
        for k, v in (node.get("data") or {}).items():
            flat[(place, k)] = v
    inputs: dict[str, list[str]] = {}
    for e in graph.get("edges", []):
        target, source = places.get(str(e.get("target"))), places.get(str(e.get("source")))
        if target and source:
            inputs.setdefault(target, []).append(source)
    for place, srcs in inputs.items():
        flat[(place, "inputs")] = ", ".join(sorted(srcs))
    for place in places.values():
        flat.setdefault((place, "block"), place.rsplit(" ", 1)[0])
    return flat, list(dict.fromkeys(places.values()))


def _design_diff(graphs: dict[str, dict | None]) -> list[dict]:
    """The blocks and settings that differ between the designs, blocks matched by their place (type and
    order, see :func:`block_places`); a block one design lacks has ``None`` for it."""
    flats = {rid: _flatten_graph(g) for rid, g in graphs.items() if g}
    if len(flats) < 2:
        return []
    order: dict[str, int] = {}
    for _, places in flats.values():  # blocks in the order of the first design that has them
        for place in places:
            order.setdefault(place, len(order))
    keys = {k for f, _ in flats.values() for k in f}
    rows = []
    for place, field in sorted(keys, key=lambda k: (order.get(k[0], len(order)), k[1] != "block", k[1])):
        values = {rid: f.get((place, field)) for rid, (f, _) in flats.items()}
        if len({json.dumps(v, sort_keys=True, default=str) for v in values.values()}) > 1:
            rows.append({"node": place, "field": field, "values": values, "titles": _place_titles(place)})
    return rows


def _place_titles(place: str) -> dict[str, str]:
    """A place ("attention 2") as the page shows it, in English and Korean: the block's title and its number."""
    from ..blocks import get_block

    type_, _, number = place.partition(" ")
    spec = get_block(type_)
    if spec is None:
        return {"en": place, "ko": place}
    suffix = f" {number}" if number else ""
    return {"en": f"{spec.title}{suffix}", "ko": f"{spec.title_ko or spec.title}{suffix}"}
