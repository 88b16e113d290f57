"""Analyse a graph without allocating anything: validity, shapes, parameters, FLOPs and memory.

Three layers, each reading the one before:

* :mod:`.validate` — settings, containment, edges and order (a :class:`~.validate.Structure`);
* :mod:`.plan` — shapes and module arguments, frozen into the :class:`Plan` the builder, code export and
  Hugging Face export follow (ties and vocabulary included);
* :mod:`.cost` — parameters, FLOPs and training memory, per node and in total.

:func:`analyze` runs all three and collects *every* problem at once, each naming its node and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Bilingual, GraphError, GraphIssue
from ..graph import schema
from .cost import DTYPE_BYTES, NodeInfo, estimate, machine_memory_bytes
from .plan import FrozenDict, GroupPlan, Plan, Step, compile_plan
from .validate import Structure, check

DEFAULT_MAX_PARAMS = 2_000_000_000


@dataclass(repr=False)
class Analysis:
    """Result of :func:`analyze`. ``ok`` is True when the graph can be built."""

    ok: bool
    errors: list[GraphIssue]
    warnings: list[GraphIssue] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    params: int = 0
    flops_per_token: int = 0
    train_flops_per_token: int = 0
    memory: dict[str, int] = field(default_factory=dict)
    n_layers: int = 0
    batch_size: int = 1
    context: int = 0
    dtype: str = "float32"
    graph: dict | None = None
    plan: Plan | None = field(default=None, repr=False)

    def raise_for_errors(self) -> None:
        if self.errors:
            raise GraphError(self.errors)

    def summary(self) -> str:
        if not self.ok:
            return f"{len(self.errors)} problem(s): " + "; ".join(str(e) for e in self.errors[:3])
        gb = self.memory.get("total", 0) / 2**30
        return (f"{self.params:,} parameters, {self.n_layers} layers, {self.flops_per_token / 1e6:.2f} MFLOPs/token "
                f"forward, ~{gb:.2f} GiB to train at batch {self.batch_size} × {self.context}")

    def __repr__(self) -> str:
        if not self.ok:
            return f"Analysis(ok=False, {len(self.errors)} problem(s): {'; '.join(str(e) for e in self.errors[:2])})"
        return (f"Analysis(ok=True, params={self.params:,}, layers={self.n_layers}, "
                f"flops_per_token={self.flops_per_token:,}, memory={self.memory.get('total', 0) / 2**20:,.1f} MiB)")

    def _repr_html_(self) -> str:
        """A notebook shows the totals, the problems and a table of the blocks (shape, parameters, FLOPs)."""
        from .._html import esc, human_count, table

        head = ('<div style="font:12px sans-serif"><b>Analysis</b>: '
                + (f'<span style="color:#1a7f37">✓ buildable</span> · {self.params:,} parameters · '
                   f"{self.n_layers} layers · {human_count(self.flops_per_token)} FLOPs/token forward · "
                   f"batch {self.batch_size} × {self.context} ({esc(self.dtype)})" if self.ok
                   else f'<span style="color:#b00020">✘ {len(self.errors)} problem(s)</span>') + "</div>")
        problems = "".join(f"<li>{esc(str(e))}</li>" for e in self.errors[:30])
        warnings = "".join(f"<li>{esc(str(w))}</li>" for w in self.warnings[:30])
        memory = ", ".join(f"{k} {v / 2**20:,.1f} MiB" for k, v in self.memory.items())
        rows = [(n.id, n.type, "×".join(map(str, n.shape)) if n.shape else "", f"{n.params:,}" if n.params else "",
                 human_count(n.flops) if n.flops else "", f"×{n.repeat}" if n.repeat > 1 else "")
                for n in self.nodes.values()]
        return (head
                + (f'<ul style="color:#b00020;font:12px sans-serif">{problems}</ul>' if problems else "")
                + (f'<ul style="color:#8a6100;font:12px sans-serif">{warnings}</ul>' if warnings else "")
                + (f'<div style="font:12px sans-serif;color:#555">training memory: {esc(memory)}</div>' if memory else "")
                + (table(rows, ["block", "type", "output shape", "parameters", "FLOPs", "repeat"]) if rows else ""))

    def to_json(self) -> dict:
        """JSON for the canvas: totals, per-node shapes and parameters, errors and warnings."""
        return {
            "ok": self.ok, "params": self.params, "flops_per_token": self.flops_per_token,
            "train_flops_per_token": self.train_flops_per_token, "memory": dict(self.memory),
            "n_layers": self.n_layers, "batch_size": self.batch_size, "context": self.context,
            "dtype": self.dtype,
            "nodes": {k: v.to_json() for k, v in self.nodes.items()},
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
        }


def analyze(graph: Any, batch_size: int = 1, context: int | None = None, dtype: str = "float32",
            max_params: int | None = DEFAULT_MAX_PARAMS, max_memory: int | None = None) -> Analysis:
    """Check a graph and estimate its size and cost, without allocating any weights.

    >>> import slamdunk_lab as sd
    >>> a = sd.analyze(sd.template("gpt2", size="tiny"), batch_size=8, context=64)
    >>> a.ok, a.nodes["attn"].shape
    (True, ('B', 'T', 128))

    ``context`` is the sequence length for the FLOP and memory estimates (default: the model's maximum).
    Designs above ``max_params`` parameters or whose training memory exceeds ``max_memory`` bytes (default:
    this machine's memory) get a warning here and are refused by :func:`slamdunk_lab.build`.
    """
    errors, (batch_size, context, dtype) = _check_arguments(batch_size, context, dtype)
    try:
        structure = check(graph)
        errors += structure.errors
        if structure.order is None or structure.source is None or structure.sink is None:
            return Analysis(ok=False, errors=errors, batch_size=batch_size, dtype=dtype)
        plan, issues = compile_plan(structure, context)
        errors += issues
        cost = estimate(plan, structure)
    except RecursionError:
        return Analysis(ok=False, errors=[GraphIssue(None, None, Bilingual("the graph is nested too deeply to read",
                                                                           "그래프가 너무 깊이 중첩되어 읽을 수 "
                                                                           "없습니다"))])
    memory = cost.memory(batch_size, plan.seq_len, dtype)
    result = Analysis(ok=not errors, errors=errors, warnings=_warnings(cost.params, memory, batch_size, plan.seq_len,
                                                                       max_params, max_memory),
                      nodes=cost.nodes, params=cost.params, flops_per_token=cost.flops_per_token,
                      train_flops_per_token=3 * cost.flops_per_token,  # forward + backward (2×): 6N + attention
                      memory=memory, n_layers=plan.n_layers, batch_size=batch_size, context=plan.seq_len,
                      dtype=dtype)
    if result.ok:
        result.graph = _canonical(structure)
        result.plan = plan
    return result


def _check_arguments(batch_size: Any, context: Any, dtype: Any) -> tuple[list[GraphIssue], tuple]:
    errors = []
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        errors.append(GraphIssue(None, "batch_size", Bilingual(
            f"batch_size must be a positive whole number, got {batch_size!r}",
            f"batch_size는 양의 정수여야 합니다(입력: {batch_size!r})")))
        batch_size = 1
    if context is not None and (isinstance(context, bool) or not isinstance(context, int) or context < 1):
        errors.append(GraphIssue(None, "context", Bilingual(
            f"context must be a positive whole number, got {context!r}",
            f"context는 양의 정수여야 합니다(입력: {context!r})")))
        context = None
    if dtype not in DTYPE_BYTES:
        errors.append(GraphIssue(None, "dtype", Bilingual(
            f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}",
            f"dtype은 {', '.join(DTYPE_BYTES)} 중 하나여야 합니다(입력: {dtype!r})")))
        dtype = "float32"
    return errors, (batch_size, context, dtype)


def _warnings(params: int, memory: dict, batch_size: int, seq_len: int, max_params: int | None,
              max_memory: int | None) -> list[GraphIssue]:
    warnings = []
    if max_params is not None and params > max_params:
        warnings.append(GraphIssue(None, "params", Bilingual(
            f"this design has {params / 1e9:.2f} B parameters, above the {max_params / 1e9:g} B cap for building here",
            f"이 설계의 파라미터는 {params / 1e9:.2f} B개로, 여기서 만들 수 있는 상한 {max_params / 1e9:g} B개를 "
            "넘습니다")))
    cap = max_memory if max_memory is not None else machine_memory_bytes()
    if memory["total"] > cap:
        warnings.append(GraphIssue(None, "memory", Bilingual(
            f"training it at batch {batch_size} × {seq_len} needs about {memory['total'] / 2**30:.1f} GiB, more than "
            f"the {cap / 2**30:.1f} GiB available",
            f"배치 {batch_size} × {seq_len}(으)로 학습하려면 약 {memory['total'] / 2**30:.1f} GiB가 필요해, 쓸 수 있는 "
            f"{cap / 2**30:.1f} GiB보다 많습니다")))
    return warnings


def _canonical(structure: Structure) -> dict:
    """The graph as canonical JSON, every node's settings with their defaults filled in."""
    graph = structure.graph
    return schema.to_json(graph.model_copy(update={"nodes": [
        n.model_copy(update={"data": structure.data[n.id]}) for n in graph.nodes]}))


__all__ = ["DEFAULT_MAX_PARAMS", "DTYPE_BYTES", "Analysis", "FrozenDict", "GraphIssue", "GroupPlan", "NodeInfo",
           "Plan", "Step", "Structure", "analyze", "check", "compile_plan", "estimate", "machine_memory_bytes"]
