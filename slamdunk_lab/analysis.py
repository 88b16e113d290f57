"""Analyse a graph without allocating anything: validity, shapes, parameters, FLOPs and memory.

``analyze`` collects *every* problem at once (structure, settings, shapes), each naming its node and field.
It also compiles the plan the builder follows, so the builder never re-derives what the analysis checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .blocks.catalog import BLOCKS, RESERVED_TYPES, fmt_shape
from .blocks.spec import BlockProblem, BlockSpec, GraphContext
from .errors import GraphError, GraphIssue
from .graph import schema
from .graph.topology import reachable, toposort

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
DEFAULT_MAX_PARAMS = 2_000_000_000


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
class Step:
    """One block call in the compiled plan: ``inputs`` are value ids (the node ids that produced them)."""

    node_id: str
    type: str
    data: dict
    inputs: list[str]
    in_shapes: list[tuple]
    module: str | None
    kwargs: dict


@dataclass
class GroupPlan:
    """A transformer block: ``steps`` run ``repeat`` times, fed by ``entry`` and handing on ``exit``."""

    node_id: str
    repeat: int
    share_weights: bool
    entry: str
    exit: str
    steps: list[Step]


@dataclass
class Plan:
    steps: list[Step | GroupPlan]
    output: str  # the value id that feeds the logits node
    context: int
    vocab_size: int
    ties: list[tuple[str, str]]  # (lm head node id, token embedding node id)


@dataclass
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


def machine_memory_bytes() -> int:
    """Physical memory of this machine (the default memory cap)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


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
    try:
        return _Analyzer(graph, batch_size, context, dtype, max_params, max_memory).run()
    except RecursionError:
        issue = GraphIssue(None, None, "the graph is nested too deeply to read")
        return Analysis(ok=False, errors=[issue])


class _Analyzer:
    def __init__(self, raw, batch_size, context, dtype, max_params, max_memory):
        self.raw = raw
        self.batch_size = batch_size
        self.seq_len = context
        self.dtype = dtype
        self.max_params = max_params
        self.max_memory = max_memory
        self.errors: list[GraphIssue] = []
        self.warnings: list[GraphIssue] = []

    def err(self, node: str | None, field_: str | None, message: str) -> None:
        self.errors.append(GraphIssue(node, field_, message))

    # ------------------------------------------------------------------ entry
    def run(self) -> Analysis:
        self._check_arguments()
        graph, issues = schema.parse(self.raw)
        self.errors.extend(issues)
        if graph is None:
            return Analysis(ok=False, errors=self.errors, batch_size=self.batch_size, dtype=self.dtype)
        self.graph = graph
        # Nodes already reported as unreadable or of an unknown type: edges to and from them count as
        # connected, so one bad block gives one error, not a cascade along its neighbours.
        self.broken: set[str] = _unparsed_ids(self.raw, graph)
        self.specs: dict[str, BlockSpec] = {}
        self.data: dict[str, dict] = {}
        self.n_settings_errors = 0  # bad settings don't stop the shape checks of the rest of the graph
        self._check_nodes()
        self._check_parents()
        inputs = self._check_edges()
        plan = self._order(inputs)
        result = Analysis(ok=False, errors=self.errors, warnings=self.warnings, batch_size=self.batch_size,
                          dtype=self.dtype, graph=None)
        if plan is None:
            return result
        self._infer(plan, result)
        result.ok = not self.errors
        if result.ok:
            result.graph = schema.to_json(self.graph.model_copy(update={"nodes": [
                n.model_copy(update={"data": self.data[n.id]}) for n in self.graph.nodes]}))
            result.plan = plan
        return result

    def _check_arguments(self) -> None:
        bs = self.batch_size
        if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
            self.err(None, "batch_size", f"batch_size must be a positive whole number, got {bs!r}")
            self.batch_size = 1
        sl = self.seq_len
        if sl is not None and (isinstance(sl, bool) or not isinstance(sl, int) or sl < 1):
            self.err(None, "context", f"context must be a positive whole number, got {sl!r}")
            self.seq_len = None
        if self.dtype not in DTYPE_BYTES:
            self.err(None, "dtype", f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {self.dtype!r}")
            self.dtype = "float32"

    # ------------------------------------------------------------------ nodes
    def _check_nodes(self) -> None:
        for node in self.graph.nodes:
            spec = BLOCKS.get(node.type)
            if spec is None:
                if node.type in RESERVED_TYPES:
                    self.err(node.id, "type", f"'{node.type}' is a React Flow built-in type, not a block; use one "
                                              f"of: {', '.join(BLOCKS)}")
                else:
                    self.err(node.id, "type", f"unknown block type '{node.type}'; known types: "
                                              f"{', '.join(BLOCKS)}")
                self.broken.add(node.id)
                self.n_settings_errors += 1
                continue
            self.specs[node.id] = spec
            data, problems = spec.validate_data(node.data)
            for field_, message in problems:
                self.err(node.id, field_, message)
            self.n_settings_errors += len(problems)
            if data is not None:
                self.data[node.id] = data
        for kind in ("tokens", "logits"):
            found = [n.id for n in self.graph.nodes if n.type == kind]
            title = BLOCKS[kind].title
            if not found:
                self.err(None, None, f"the graph needs exactly one {title} node and has none")
            elif len(found) > 1:
                for nid in found[1:]:
                    self.err(nid, None, f"the graph needs exactly one {title} node, but has {len(found)}: "
                                        f"{', '.join(found[:5])}")

    def _check_parents(self) -> None:
        ids = {n.id: n for n in self.graph.nodes}
        self.children: dict[str, list[str]] = {n.id: [] for n in self.graph.nodes if n.type == "transformerBlock"}
        self.parent: dict[str, str] = {}
        for node in self.graph.nodes:
            if node.parentId is None:
                continue
            parent = ids.get(node.parentId)
            if parent is None:
                self.err(node.id, "parentId", f"its parent '{node.parentId}' does not exist")
            elif parent.type != "transformerBlock":
                self.err(node.id, "parentId", f"its parent '{parent.id}' is a {parent.type} block, but only a "
                                              "transformer block can contain other blocks")
            elif node.type == "transformerBlock":
                self.err(node.id, "parentId", "transformer blocks cannot be nested inside each other")
            elif node.type in ("tokens", "logits"):
                self.err(node.id, "parentId", f"the {BLOCKS[node.type].title} node cannot sit inside a block")
            else:
                self.parent[node.id] = parent.id
                self.children[parent.id].append(node.id)
        for gid, kids in self.children.items():
            if ids[gid].parentId is None and not kids:
                self.err(gid, None, "this transformer block is empty; drag blocks into it or delete it")

    # ------------------------------------------------------------------ edges
    def _check_edges(self) -> dict[str, dict[str, str]]:
        """Returns node id -> {input handle -> source node id} for every valid edge."""
        inputs: dict[str, dict[str, str]] = {nid: {} for nid in self.specs}
        self.links: list[tuple[str, str]] = []
        pending: list[tuple[Any, BlockSpec]] = []
        known = {n.id for n in self.graph.nodes} | self.broken
        for edge in self.graph.edges:
            src, dst = self.specs.get(edge.source), self.specs.get(edge.target)
            if edge.source in self.broken or edge.target in self.broken:
                if dst is not None and edge.targetHandle in dst.inputs + (None,):
                    inputs[edge.target][edge.targetHandle or dst.inputs[0]] = edge.source
                self.links.append((edge.source, edge.target))
                continue
            if edge.source not in known or edge.target not in known:
                missing = edge.source if edge.source not in known else edge.target
                other = edge.target if edge.source not in known else edge.source
                self.err(other if other in known else None, "edges",
                         f"edge '{edge.id}' connects to a node '{missing}' that does not exist")
                continue
            if src is None or dst is None:
                continue  # unknown type: already reported
            if src.is_group or dst.is_group:
                gid = edge.source if src.is_group else edge.target
                self.err(gid, "edges", f"edge '{edge.id}' connects to the transformer block itself; connect it "
                                       "to a block inside the group instead")
                continue
            handle = edge.sourceHandle or (src.outputs[0] if len(src.outputs) == 1 else None)
            if handle not in src.outputs:
                outs = ", ".join(src.outputs) or "none"
                self.err(edge.source, "sourceHandle", f"edge '{edge.id}' leaves from output '{edge.sourceHandle}', "
                                                      f"but a {src.title} block has outputs: {outs}")
                continue
            if edge.targetHandle is None and len(dst.inputs) != 1:
                pending.append((edge, dst))
                continue
            self._connect(edge, edge.targetHandle or (dst.inputs[0] if dst.inputs else None), dst, inputs)
        for edge, dst in pending:  # multi-input blocks without an explicit handle: first free input
            free = [h for h in dst.inputs if h not in inputs[edge.target]]
            self._connect(edge, free[0] if free else None, dst, inputs)
        for nid, spec in self.specs.items():
            for h in spec.inputs:
                if h not in inputs[nid]:
                    what = "its input" if len(spec.inputs) == 1 else f"its input '{h}'"
                    self.err(nid, "edges", f"{what} is not connected")
        return inputs

    def _connect(self, edge, handle, dst: BlockSpec, inputs) -> None:
        if handle is None or handle not in dst.inputs:
            ins = ", ".join(dst.inputs) or "none"
            if not dst.inputs:
                message = f"edge '{edge.id}' goes into the {dst.title} node, which takes no input"
            elif handle is None:
                message = f"edge '{edge.id}' is one input too many: a {dst.title} block has inputs {ins}"
            else:
                message = f"edge '{edge.id}' goes into input '{handle}', but a {dst.title} block has inputs: {ins}"
            self.err(edge.target, "targetHandle", message)
            return
        if handle in inputs[edge.target]:
            self.err(edge.target, "edges", f"input '{handle}' has more than one incoming edge "
                                           f"(from '{inputs[edge.target][handle]}' and '{edge.source}')")
            return
        inputs[edge.target][handle] = edge.source
        self.links.append((edge.source, edge.target))

    # ------------------------------------------------------------------ order and groups
    def _order(self, inputs) -> Plan | None:
        unit = {nid: self.parent.get(nid, nid) for nid in self.specs}
        links = [(a, b) for a, b in self.links if a in self.specs and b in self.specs]
        groups: dict[str, dict] = {}
        for gid, kids in self.children.items():
            kids = [k for k in kids if k in self.specs]
            if gid not in self.specs or not kids:
                continue
            kidset = set(kids)
            entries = sorted({inputs[k][h] for k in kids for h in inputs[k]
                              if inputs[k][h] not in kidset and inputs[k][h] in self.specs})
            exits = sorted({s for s, t in links if s in kidset and t not in kidset})
            if not entries:
                self.err(gid, None, "nothing flows into this transformer block; connect the stream from before "
                                    "it to the first block inside")
            elif len(entries) > 1:
                self.err(gid, None, f"a transformer block takes one stream from outside, but {len(entries)} come "
                                    f"in (from {', '.join(entries[:5])})")
            if not exits:
                self.err(gid, None, "nothing leaves this transformer block; connect its last block to what "
                                    "comes after it")
            elif len(exits) > 1:
                self.err(gid, None, f"a transformer block hands one stream on, but {len(exits)} blocks inside send "
                                    f"their output out ({', '.join(exits[:5])})")
            groups[gid] = {"entries": entries, "exits": exits}

        tops = [n.id for n in self.graph.nodes if n.id in self.specs and n.id not in self.parent]
        contracted = {(unit[a], unit[b]) for a, b in links if unit[a] != unit[b]}
        order, cyclic = toposort(tops, sorted(contracted))
        inner_orders: dict[str, list[str]] = {}
        for gid, kids in self.children.items():
            kids = [k for k in kids if k in self.specs]
            kidset = set(kids)
            inner, inner_cyclic = toposort(kids, [(a, b) for a, b in links if a in kidset and b in kidset])
            inner_orders[gid] = inner
            cyclic += inner_cyclic
        if cyclic:
            shown = ", ".join(cyclic[:8]) + (" ..." if len(cyclic) > 8 else "")
            for nid in cyclic[:50]:
                self.err(nid, "edges", f"this block is part of a cycle ({shown}); a language model's graph must "
                                       "flow one way, from the tokens to the logits")
            return None

        start = [nid for nid, s in self.specs.items() if s.type == "tokens"]
        end = [nid for nid, s in self.specs.items() if s.type == "logits"]
        # Report each break once, where it is: a block none of whose outputs is used. Blocks upstream of it
        # still feed something, and unconnected inputs were reported above.
        has_out = {a for a, _ in self.links}
        backward = reachable(end, [(b, a) for a, b in self.links])
        for nid, spec in self.specs.items():
            if spec.is_group or spec.type == "logits" or nid in backward:
                continue
            if nid not in has_out:
                self.err(nid, "edges", "this block's output is not used; connect it towards the logits output "
                                       "or delete it")
        if len(start) != 1 or len(end) != 1:
            return None
        # With other structural problems the plan is still followed as far as it goes, so the canvas shows the
        # shapes and sizes of the well-formed part while the user is mid-edit; it is never built.

        def step(nid: str) -> Step:
            spec = self.specs[nid]
            return Step(nid, spec.type, self.data.get(nid, {}), [inputs[nid].get(h) for h in spec.inputs], [],
                        None, {})

        def single(values: list) -> str | None:
            return values[0] if len(values) == 1 else None

        steps: list[Step | GroupPlan] = []
        for uid in order:
            spec = self.specs[uid]
            if spec.is_group:
                if uid not in groups:
                    continue  # an empty block, already reported
                data = self.data.get(uid, {"repeat": 1, "share_weights": False})
                g = groups[uid]
                steps.append(GroupPlan(uid, data["repeat"], data["share_weights"], single(g["entries"]),
                                       single(g["exits"]), [step(k) for k in inner_orders[uid]]))
            elif spec.type not in ("tokens", "logits"):
                steps.append(step(uid))
        (logits_id,) = end
        (tokens_id,) = start
        return Plan(steps=steps, output=inputs[logits_id].get("in"), context=self.data.get(tokens_id, {}).get(
            "context", 0), vocab_size=0, ties=[])

    # ------------------------------------------------------------------ shapes, sizes, cost
    def _infer(self, plan: Plan, result: Analysis) -> None:
        tokens_id = next(nid for nid, s in self.specs.items() if s.type == "tokens")
        context = plan.context
        if self.seq_len is not None and context and self.seq_len > context:
            self.err(tokens_id, "context", f"the analysis was asked for context {self.seq_len}, but the model "
                                           f"accepts at most {context} positions")
        seq_len = min(self.seq_len or context, context) if context else 1
        embeddings = [nid for nid, s in self.specs.items() if s.type == "tokenEmbedding"]
        token_embedding = self.data.get(embeddings[0]) if len(embeddings) == 1 else None
        n_layers = sum(
            (g.repeat if isinstance(g, GroupPlan) else 1)
            * sum(1 for s in (g.steps if isinstance(g, GroupPlan) else [g]) if s.type == "attention")
            for g in plan.steps)
        gctx = GraphContext(context=context, seq_len=seq_len, n_residual_layers=max(n_layers, 1),
                            token_embedding=token_embedding)
        shapes: dict[str, tuple | None] = {tokens_id: ("B", "T")}
        acts = 0
        for item in plan.steps:
            if isinstance(item, GroupPlan):
                entry = shapes.get(item.entry)
                local = dict(shapes)
                for s in item.steps:
                    acts += self._infer_step(s, local, gctx, result, item) * item.repeat
                out = local.get(item.exit)
                shapes.update({s.node_id: local.get(s.node_id) for s in item.steps})
                if entry is not None and out is not None and item.repeat > 1 and out != entry:
                    self.err(item.node_id, "repeat", f"a block repeated {item.repeat} times must keep its input "
                                                     f"shape, but it turns {fmt_shape(entry)} into "
                                                     f"{fmt_shape(out)}")
                info = NodeInfo(item.node_id, "transformerBlock", out, repeat=item.repeat)
                info.params = sum(result.nodes[s.node_id].params for s in item.steps if s.node_id in result.nodes)
                info.params_each = sum(result.nodes[s.node_id].params_each for s in item.steps
                                       if s.node_id in result.nodes)
                info.flops = sum(result.nodes[s.node_id].flops for s in item.steps if s.node_id in result.nodes)
                result.nodes[item.node_id] = info
            else:
                acts += self._infer_step(item, shapes, gctx, result, None)
        logits_id = next(nid for nid, s in self.specs.items() if s.type == "logits")
        final = shapes.get(plan.output)
        if final is not None:
            try:
                BLOCKS["logits"].infer({}, [final], gctx)
                result.nodes[logits_id] = NodeInfo(logits_id, "logits", final)
            except BlockProblem as problem:
                self.err(logits_id, problem.field, problem.message)
        result.nodes[tokens_id] = NodeInfo(tokens_id, "tokens", ("B", "T"))
        for nid in self.specs:  # keep the graph's node order
            result.nodes.setdefault(nid, NodeInfo(nid, self.specs[nid].type, None, parent=self.parent.get(nid)))
        result.nodes = {n.id: result.nodes[n.id] for n in self.graph.nodes if n.id in result.nodes}

        plan.vocab_size = final[2] if final is not None and len(final) == 3 else 0
        plan.ties = [(s.node_id, embeddings[0]) for s in _all_steps(plan)
                     if s.type == "lmHead" and s.data.get("tie_weights") and len(embeddings) == 1]
        if len(embeddings) > 1 and plan.ties == [] and any(
                s.type == "lmHead" and s.data.get("tie_weights") for s in _all_steps(plan)):
            for s in _all_steps(plan):
                if s.type == "lmHead" and s.data.get("tie_weights"):
                    self.err(s.node_id, "tie_weights", f"there are {len(embeddings)} token embeddings; tying needs "
                                                       "exactly one to share weights with")
        params = sum(i.params for i in result.nodes.values() if i.type != "transformerBlock")
        flops = sum(i.flops for i in result.nodes.values() if i.type != "transformerBlock")
        b = DTYPE_BYTES[self.dtype]
        act_bytes = self.batch_size * seq_len * acts * b
        result.params, result.flops_per_token, result.n_layers = params, flops, n_layers
        result.train_flops_per_token = 3 * flops  # forward + backward (2×): 6N + attention
        result.context = seq_len
        result.memory = {"weights": params * b, "gradients": params * b, "optimizer": 2 * params * b,
                         "activations": act_bytes}
        result.memory["total"] = sum(result.memory.values())
        if self.max_params is not None and params > self.max_params:
            self.warnings.append(GraphIssue(None, "params", f"this design has {params / 1e9:.2f} B parameters, above "
                                                            f"the {self.max_params / 1e9:g} B cap for building here"))
        cap = self.max_memory if self.max_memory is not None else machine_memory_bytes()
        if result.memory["total"] > cap:
            self.warnings.append(GraphIssue(None, "memory", f"training it at batch {self.batch_size} × {seq_len} "
                                                            f"needs about {result.memory['total'] / 2**30:.1f} GiB, "
                                                            f"more than the {cap / 2**30:.1f} GiB available"))

    def _infer_step(self, step: Step, shapes, gctx, result: Analysis, group: GroupPlan | None) -> int:
        """Infer one step's shape into ``shapes``; record its NodeInfo; return saved activations per token."""
        spec = self.specs[step.node_id]
        in_shapes = [shapes.get(v) for v in step.inputs]
        # If this block is at fault, blocks after it are still checked when its output shape is certain.
        fallback = in_shapes[0] if spec.keeps_shape and in_shapes and in_shapes[0] and len(in_shapes[0]) == 3 else None
        shapes[step.node_id] = fallback
        if step.node_id not in self.data or any(s is None for s in in_shapes):
            return 0  # its settings or an upstream block are already reported
        data = self.data[step.node_id]
        try:
            out = spec.infer(data, in_shapes, gctx)
            each = spec.count_params(data, in_shapes, gctx)
            flops = spec.flops(data, in_shapes, gctx)
            acts = spec.activations(data, in_shapes, gctx)
            kwargs = spec.module_kwargs(data, in_shapes, gctx) if spec.module_kwargs else {}
        except BlockProblem as problem:
            self.err(step.node_id, problem.field, problem.message)
            return 0
        shapes[step.node_id] = out
        step.in_shapes, step.module, step.kwargs = in_shapes, spec.module_name(data), kwargs
        repeat = group.repeat if group else 1
        copies = 1 if group is not None and group.share_weights else repeat
        result.nodes[step.node_id] = NodeInfo(step.node_id, spec.type, out, params=each * copies, params_each=each,
                                              flops=flops * repeat, repeat=repeat,
                                              parent=group.node_id if group else None)
        return acts + (int(out[-1]) if len(out) == 3 else 0)


def _unparsed_ids(raw: Any, graph: schema.Graph) -> set[str]:
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    if not isinstance(nodes, list):
        return set()
    parsed = {n.id for n in graph.nodes}
    return {n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)} - parsed


def _all_steps(plan: Plan):
    for item in plan.steps:
        if isinstance(item, GroupPlan):
            yield from item.steps
        else:
            yield item


