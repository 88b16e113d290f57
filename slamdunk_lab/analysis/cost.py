"""Cost: parameters, FLOPs and training memory of a plan, per node and in total, from the blocks' own rules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..blocks.catalog import BLOCKS
from ..blocks.spec import BlockProblem, GraphContext
from .plan import GroupPlan, Plan, Step
from .validate import Structure

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass
class NodeInfo:
    """What the analysis found for one node. ``params`` and ``flops`` count every repeat."""

    id: str
    type: str
    shape: tuple | None = None
    params: int = 0
    params_each: int = 0
    flops: int = 0
    repeat: int = 1
    parent: str | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "type": self.type, "shape": list(self.shape) if self.shape else None,
                "params": self.params, "params_each": self.params_each, "flops": self.flops,
                "repeat": self.repeat, "parent": self.parent}


@dataclass
class Cost:
    """Sizes of a plan. ``activations`` is the number of values saved for the backward pass per token."""

    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    params: int = 0
    flops_per_token: int = 0
    activations: int = 0

    def memory(self, batch_size: int, seq_len: int, dtype: str) -> dict[str, int]:
        """Bytes to train with AdamW: weights, gradients, two optimizer moments and saved activations."""
        b = DTYPE_BYTES[dtype]
        memory = {"weights": self.params * b, "gradients": self.params * b, "optimizer": 2 * self.params * b,
                  "activations": batch_size * seq_len * self.activations * b}
        memory["total"] = sum(memory.values())
        return memory


def estimate(plan: Plan, structure: Structure) -> Cost:
    """Per-node and total parameters, forward FLOPs per token and saved activations of a (partial) plan."""
    cost = Cost()
    gctx = plan.graph_context()
    for item in plan.steps:
        if isinstance(item, GroupPlan):
            for step in item.steps:
                cost.activations += _step(step, gctx, cost, item) * item.repeat
            kids = [cost.nodes[s.node_id] for s in item.steps if s.node_id in cost.nodes]
            cost.nodes[item.node_id] = NodeInfo(item.node_id, structure.specs[item.node_id].type, item.shape,
                                                params=sum(k.params for k in kids),
                                                params_each=sum(k.params_each for k in kids),
                                                flops=sum(k.flops for k in kids), repeat=item.repeat)
        else:
            cost.activations += _step(item, gctx, cost, None)
    if plan.logits_shape is not None:
        cost.nodes[plan.sink] = NodeInfo(plan.sink, structure.specs[plan.sink].type, plan.logits_shape)
    cost.nodes[plan.source] = NodeInfo(plan.source, structure.specs[plan.source].type, ("B", "T"))
    for nid, spec in structure.specs.items():  # every known block gets an entry, in the graph's node order
        cost.nodes.setdefault(nid, NodeInfo(nid, spec.type, None, parent=structure.parent.get(nid)))
    cost.nodes = {n.id: cost.nodes[n.id] for n in structure.graph.nodes if n.id in cost.nodes}
    counted = [info for info in cost.nodes.values() if not BLOCKS[info.type].is_group]
    cost.params = sum(info.params for info in counted)
    cost.flops_per_token = sum(info.flops for info in counted)
    return cost


def _step(step: Step, gctx: GraphContext, cost: Cost, group: GroupPlan | None) -> int:
    """Record one call's NodeInfo; returns the values it saves per token for the backward pass."""
    if step.shape is None:
        return 0  # it or something before it is at fault (already reported): no size to give
    spec = BLOCKS[step.type]
    data, shapes = dict(step.data), list(step.in_shapes)
    try:
        each = spec.count_params(data, shapes, gctx)
        flops = spec.flops(data, shapes, gctx)
        acts = spec.activations(data, shapes, gctx)
    except BlockProblem:  # the shape rule accepted it, so the size rules do too; never count half a block
        return 0
    repeat = group.repeat if group else 1
    copies = 1 if group is not None and group.share_weights else repeat
    cost.nodes[step.node_id] = NodeInfo(step.node_id, step.type, step.shape, params=each * copies, params_each=each,
                                        flops=flops * repeat, repeat=repeat,
                                        parent=group.node_id if group else None)
    return acts + (int(step.shape[-1]) if len(step.shape) == 3 else 0)


def machine_memory_bytes() -> int:
    """Physical memory of this machine (the default memory cap)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


__all__ = ["DTYPE_BYTES", "Cost", "NodeInfo", "estimate", "machine_memory_bytes"]
