"""The plan: what the builder, code export and Hugging Face export follow, compiled once and never changed.

:func:`compile_plan` walks a validated :class:`~.validate.Structure` in order, asks each block's shape rule for its
output shape and module arguments, and freezes the result: a :class:`Plan` of :class:`Step` calls and repeated
:class:`GroupPlan` blocks, with the vocabulary, the context and the weight ties. Shape problems are returned as
issues next to the plan; a plan is followed as far as it goes, so the canvas shows the well-formed part of a
design mid-edit, but only a plan without issues is ever built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..blocks.catalog import BLOCKS, fmt_shape
from ..blocks.spec import BlockProblem, GraphContext
from ..errors import Bilingual, GraphIssue
from .validate import Structure


class FrozenDict(dict):
    """A dict that refuses changes: plan steps hand their settings out without letting anyone edit them."""

    def _refuse(self, *args: Any, **kwargs: Any):
        raise TypeError("a compiled plan cannot be changed; edit the graph and analyse it again")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self):  # copy, deepcopy and pickle rebuild it from a plain dict
        return FrozenDict, (dict(self),)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=repr)))


def _freeze(value: dict) -> FrozenDict:
    return FrozenDict({k: FrozenDict(v) if isinstance(v, dict) else v for k, v in value.items()})


@dataclass(frozen=True)
class Step:
    """One block call: ``inputs`` are value ids (the node ids that produced them), in the block's input order."""

    node_id: str
    type: str
    role: str  # the block's role in the catalogue ("op" or "residual" in a plan)
    data: FrozenDict  # its settings, defaults filled in ({} when they are invalid)
    inputs: tuple[str | None, ...]
    in_shapes: tuple[tuple | None, ...]
    shape: tuple | None  # its output shape; None when it (or something before it) is at fault
    module: str | None  # class name in slamdunk_lab.blocks.modules; None for a residual add
    kwargs: FrozenDict  # the module's constructor arguments


@dataclass(frozen=True)
class GroupPlan:
    """A transformer block: ``steps`` run ``repeat`` times, fed by ``entry`` and handing on ``exit``."""

    node_id: str
    type: str
    data: FrozenDict  # its settings (repeat, share_weights) as the graph states them
    repeat: int
    share_weights: bool
    entry: str | None
    exit: str | None
    steps: tuple[Step, ...]
    shape: tuple | None  # the shape it hands on


@dataclass(frozen=True)
class Plan:
    """The whole model: its calls in order, where the token ids come in and the logits go out."""

    steps: tuple[Step | GroupPlan, ...]
    source: str  # node id of the token input: the value holding the ids
    sink: str  # node id of the logits output
    output: str | None  # the value id that feeds the logits node
    context: int  # the longest sequence the model accepts
    vocab_size: int  # scores per position (0 when unknown)
    logits_shape: tuple | None  # the shape of the logits, when the logits output accepts what arrives
    ties: tuple[tuple[str, str], ...]  # (LM head node id, token embedding node id)
    n_layers: int  # layer calls (attention), repeats counted
    seq_len: int  # the sequence length the estimates are made for

    def graph_context(self) -> GraphContext:
        """The graph-wide facts the blocks' rules read (context, sequence length, layers, token embedding)."""
        embeddings = [step.data for step in self.all_steps() if BLOCKS[step.type].reads == "ids"]
        return GraphContext(context=self.context, seq_len=self.seq_len, n_residual_layers=max(self.n_layers, 1),
                            token_embedding=dict(embeddings[0]) if len(embeddings) == 1 and embeddings[0] else None)

    def all_steps(self) -> Iterator[Step]:
        """Every block call, the steps inside transformer blocks included (each once, not once per repeat)."""
        for item in self.steps:
            if isinstance(item, GroupPlan):
                yield from item.steps
            else:
                yield item


def compile_plan(structure: Structure, seq_len: int | None = None) -> tuple[Plan, list[GraphIssue]]:
    """The plan of a validated graph that has one token input, one logits output and no cycle, with the shape
    problems found on the way. ``seq_len`` is the sequence length for estimates (default: the context)."""
    return _Compiler(structure, seq_len).run()


class _Compiler:
    def __init__(self, structure: Structure, seq_len: int | None):
        assert structure.order is not None and structure.source and structure.sink  # internal invariant
        self.s = structure
        self.requested_len = seq_len
        self.issues: list[GraphIssue] = []

    def err(self, node: str | None, field_: str | None, message: str) -> None:
        self.issues.append(GraphIssue(node, field_, message))

    def run(self) -> tuple[Plan, list[GraphIssue]]:
        s = self.s
        context = s.data.get(s.source, {}).get("context", 0)
        if self.requested_len is not None and context and self.requested_len > context:
            self.err(s.source, "context", Bilingual(
                f"the analysis was asked for context {self.requested_len}, but the model accepts at most {context} "
                "positions",
                f"분석에 context {self.requested_len}을(를) 요청했지만 모델은 위치를 최대 {context}개까지만 "
                "받습니다"))
        seq_len = min(self.requested_len or context, context) if context else 1
        embeddings = [nid for nid, spec in s.specs.items() if spec.reads == "ids"]
        n_layers = self._count_layers()
        self.gctx = GraphContext(context=context, seq_len=seq_len, n_residual_layers=max(n_layers, 1),
                                 token_embedding=s.data.get(embeddings[0]) if len(embeddings) == 1 else None)
        self.flow: dict[str, tuple | None] = {s.source: ("B", "T")}  # value id -> shape, fallbacks included
        steps: list[Step | GroupPlan] = []
        for uid in s.order:
            spec = s.specs[uid]
            if spec.is_group:
                if uid in s.groups:  # an empty block is already reported
                    steps.append(self._group(uid))
            elif spec.role not in ("source", "sink"):
                steps.append(self._step(uid, self.flow))
        output = s.inputs[s.sink].get("in")
        final = self.flow.get(output)
        logits = None
        if final is not None:
            try:
                logits = s.specs[s.sink].infer({}, [final], self.gctx)
            except BlockProblem as problem:
                for p in problem.every():
                    self.err(s.sink, p.field, p.message)
        plan = Plan(steps=tuple(steps), source=s.source, sink=s.sink, output=output, context=context,
                    vocab_size=final[2] if final is not None and len(final) == 3 else 0, logits_shape=logits,
                    ties=(), n_layers=n_layers, seq_len=seq_len)
        return _with_ties(plan, embeddings, self.err), self.issues

    def _count_layers(self) -> int:
        s = self.s
        total = 0
        for uid in s.order:
            if s.specs[uid].is_group and uid in s.groups:
                repeat = s.data.get(uid, {}).get("repeat", 1)
                total += repeat * sum(1 for k in s.groups[uid].children if s.specs[k].counts_as_layer)
            elif s.specs[uid].counts_as_layer:
                total += 1
        return total

    def _group(self, gid: str) -> GroupPlan:
        group = self.s.groups[gid]
        data = self.s.data.get(gid, {"repeat": 1, "share_weights": False})
        entry = group.entries[0] if len(group.entries) == 1 else None
        exit_ = group.exits[0] if len(group.exits) == 1 else None
        local = dict(self.flow)
        steps = tuple(self._step(kid, local) for kid in group.children)
        out = local.get(exit_)
        self.flow.update({step.node_id: local.get(step.node_id) for step in steps})
        incoming = self.flow.get(entry)
        if incoming is not None and out is not None and data["repeat"] > 1 and out != incoming:
            self.err(gid, "repeat", Bilingual(
                f"a block repeated {data['repeat']} times must keep its input shape, but it turns "
                f"{fmt_shape(incoming)} into {fmt_shape(out)}",
                f"{data['repeat']}번 반복하는 블록은 입력 모양을 그대로 유지해야 하는데 {fmt_shape(incoming)}을(를) "
                f"{fmt_shape(out)}(으)로 바꿉니다"))
        return GroupPlan(gid, self.s.specs[gid].type, _freeze(data), data["repeat"], data["share_weights"], entry,
                         exit_, steps, out)

    def _step(self, nid: str, flow: dict) -> Step:
        """One block call, its output shape written into ``flow``."""
        spec = self.s.specs[nid]
        data = self.s.data.get(nid)
        inputs = tuple(self.s.inputs[nid].get(h) for h in spec.inputs)
        in_shapes = tuple(flow.get(v) for v in inputs)
        # If this block is at fault, blocks after it are still checked when its output shape is certain.
        first = in_shapes[0] if in_shapes else None
        flow[nid] = first if spec.keeps_shape and first and len(first) == 3 else None
        shape, module, kwargs = None, None, {}
        if data is not None and all(shape_ is not None for shape_ in in_shapes):  # else already reported
            try:
                shape = spec.infer(data, list(in_shapes), self.gctx)
                kwargs = spec.module_kwargs(data, list(in_shapes), self.gctx) if spec.module_kwargs else {}
                module = spec.module_name(data)
            except BlockProblem as problem:
                for p in problem.every():
                    self.err(nid, p.field, p.message)
                shape, kwargs = None, {}
        if shape is not None:
            flow[nid] = shape
        return Step(nid, spec.type, spec.role, _freeze(data or {}), inputs, in_shapes, shape, module, _freeze(kwargs))


def _with_ties(plan: Plan, embeddings: list[str], err) -> Plan:
    """The plan with its weight ties: each block whose ``ties`` setting is on shares the one token embedding."""
    tying = [step for step in plan.all_steps() if BLOCKS[step.type].ties and step.data.get(BLOCKS[step.type].ties)]
    if len(embeddings) == 1:
        ties = tuple((step.node_id, embeddings[0]) for step in tying)
        return Plan(**{**plan.__dict__, "ties": ties})
    if len(embeddings) > 1:
        for step in tying:
            err(step.node_id, BLOCKS[step.type].ties, Bilingual(
                f"there are {len(embeddings)} token embeddings; tying needs exactly one to share weights with",
                f"토큰 임베딩이 {len(embeddings)}개 있습니다. 가중치를 묶으려면 함께 쓸 토큰 임베딩이 꼭 하나여야 "
                "합니다"))
    return plan


__all__ = ["FrozenDict", "GroupPlan", "Plan", "Step", "compile_plan"]
