"""Validation: is this a graph we can read? Settings, containment, edges and order, every problem collected.

:func:`check` reads a raw graph (a dict or JSON text) into a :class:`Structure`: which nodes are blocks of which
type, their settings with defaults filled in, which value feeds each input, and the order to run the blocks in.
It knows nothing of shapes or sizes (that is :mod:`.plan` and :mod:`.cost`); it only reads each block's role,
handles and settings from the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..blocks.catalog import BLOCKS, RESERVED_TYPES
from ..blocks.spec import BlockSpec
from ..errors import Bilingual, GraphIssue
from ..graph import schema
from ..graph.topology import reachable, toposort


@dataclass(frozen=True)
class Group:
    """A transformer block's contents: its children in order and the values that enter and leave it."""

    node_id: str
    children: tuple[str, ...]
    entries: tuple[str, ...]  # values from outside read inside (exactly one in a valid graph)
    exits: tuple[str, ...]  # values inside read outside (exactly one in a valid graph)


@dataclass(frozen=True)
class Structure:
    """What validation established about a graph. ``order`` is None when the blocks cannot be ordered."""

    graph: schema.Graph | None
    errors: tuple[GraphIssue, ...]
    specs: dict[str, BlockSpec] = field(default_factory=dict)  # node id -> its block (known types only)
    data: dict[str, dict] = field(default_factory=dict)  # node id -> settings with defaults (valid ones only)
    parent: dict[str, str] = field(default_factory=dict)  # child id -> its group's id
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # node id -> {input handle -> source id}
    groups: dict[str, Group] = field(default_factory=dict)
    order: tuple[str, ...] | None = None  # top-level blocks and groups in dependency order
    source: str | None = None  # the one token input, when there is exactly one
    sink: str | None = None  # the one logits output, when there is exactly one

    def of_role(self, role: str) -> list[str]:
        return [nid for nid, spec in self.specs.items() if spec.role == role]


def check(raw: Any) -> Structure:
    """Validate a graph's settings, containment, edges and order, collecting every problem."""
    return _Checker().run(raw)


class _Checker:
    def __init__(self):
        self.errors: list[GraphIssue] = []

    def err(self, node: str | None, field_: str | None, message: str) -> None:  # a Bilingual keeps its Korean
        self.errors.append(GraphIssue(node, field_, message))

    def run(self, raw: Any) -> Structure:
        graph, issues = schema.parse(raw)
        self.errors.extend(issues)
        if graph is None:
            return Structure(graph=None, errors=tuple(self.errors))
        self.graph = graph
        # Nodes already reported as unreadable or of an unknown type: edges to and from them count as
        # connected, so one bad block gives one error, not a cascade along its neighbours.
        self.broken: set[str] = _unparsed_ids(raw, graph)
        self.specs: dict[str, BlockSpec] = {}
        self.data: dict[str, dict] = {}
        self._check_nodes()
        self._check_parents()
        inputs = self._check_edges()
        order, groups = self._order(inputs)
        sources, sinks = self._one_of("source"), self._one_of("sink")
        return Structure(graph=graph, errors=tuple(self.errors), specs=self.specs, data=self.data,
                         parent=self.parent, inputs=inputs, groups=groups, order=order,
                         source=sources[0] if len(sources) == 1 else None,
                         sink=sinks[0] if len(sinks) == 1 else None)

    def _one_of(self, role: str) -> list[str]:
        return [nid for nid, s in self.specs.items() if s.role == role]

    # ------------------------------------------------------------------ nodes
    def _check_nodes(self) -> None:
        for node in self.graph.nodes:
            spec = BLOCKS.get(node.type)
            if spec is None:
                if node.type in RESERVED_TYPES:
                    self.err(node.id, "type", Bilingual(
                        f"'{node.type}' is a React Flow built-in type, not a block; use one of: {', '.join(BLOCKS)}",
                        f"'{node.type}'은(는) 블록이 아니라 React Flow의 기본 노드 유형입니다. 다음 중 하나를 쓰세요: "
                        f"{', '.join(BLOCKS)}"))
                else:
                    self.err(node.id, "type", Bilingual(
                        f"unknown block type '{node.type}'; known types: {', '.join(BLOCKS)}",
                        f"알 수 없는 블록 유형 '{node.type}'입니다. 알려진 유형: {', '.join(BLOCKS)}"))
                self.broken.add(node.id)
                continue
            self.specs[node.id] = spec
            data, problems = spec.validate_data(node.data)
            for field_, message in problems:
                self.err(node.id, field_, message)
            if data is not None:
                self.data[node.id] = data
        for role in ("source", "sink"):
            (spec,) = [s for s in BLOCKS.values() if s.role == role]
            found = [n.id for n in self.graph.nodes if n.type == spec.type]
            if not found:
                self.err(None, None, Bilingual(f"the graph needs exactly one {spec.title} node and has none",
                                               f"그래프에는 {spec.title_ko or spec.title} 노드가 꼭 하나 있어야 하는데 "
                                               f"없습니다"))
            elif len(found) > 1:
                for nid in found[1:]:
                    self.err(nid, None, Bilingual(
                        f"the graph needs exactly one {spec.title} node, but has {len(found)}: {', '.join(found[:5])}",
                        f"그래프에는 {spec.title_ko or spec.title} 노드가 꼭 하나 있어야 하는데 {len(found)}개 "
                        f"있습니다: {', '.join(found[:5])}"))

    def _check_parents(self) -> None:
        ids = {n.id: n for n in self.graph.nodes}
        self.children: dict[str, list[str]] = {n.id: [] for n in self.graph.nodes if _role(n.type) == "group"}
        self.parent: dict[str, str] = {}
        for node in self.graph.nodes:
            if node.parentId is None:
                continue
            parent = ids.get(node.parentId)
            if parent is None:
                self.err(node.id, "parentId", Bilingual(f"its parent '{node.parentId}' does not exist",
                                                        f"부모 '{node.parentId}'이(가) 없습니다"))
            elif _role(parent.type) != "group":
                self.err(node.id, "parentId", Bilingual(
                    f"its parent '{parent.id}' is a {parent.type} block, but only a transformer block can contain "
                    "other blocks",
                    f"부모 '{parent.id}'은(는) {_title_ko(parent.type)} 블록인데, 다른 블록을 담을 수 있는 것은 "
                    "트랜스포머 블록뿐입니다"))
            elif _role(node.type) == "group":
                self.err(node.id, "parentId", Bilingual("transformer blocks cannot be nested inside each other",
                                                        "트랜스포머 블록 안에 트랜스포머 블록을 넣을 수 없습니다"))
            elif _role(node.type) in ("source", "sink"):
                self.err(node.id, "parentId", Bilingual(
                    f"the {BLOCKS[node.type].title} node cannot sit inside a block",
                    f"{_title_ko(node.type)} 노드는 블록 안에 둘 수 없습니다"))
            else:
                self.parent[node.id] = parent.id
                self.children[parent.id].append(node.id)
        for gid, kids in self.children.items():
            if ids[gid].parentId is None and not kids:
                self.err(gid, None, Bilingual("this transformer block is empty; drag blocks into it or delete it",
                                              "이 트랜스포머 블록이 비어 있습니다. 블록을 끌어다 넣거나 지우세요"))

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
                self.err(other if other in known else None, "edges", Bilingual(
                    f"edge '{edge.id}' connects to a node '{missing}' that does not exist",
                    f"연결선 '{edge.id}'이(가) 없는 노드 '{missing}'에 이어져 있습니다"))
                continue
            if src is None or dst is None:
                continue  # unknown type: already reported
            if src.is_group or dst.is_group:
                gid = edge.source if src.is_group else edge.target
                self.err(gid, "edges", Bilingual(
                    f"edge '{edge.id}' connects to the transformer block itself; connect it to a block inside the "
                    "group instead",
                    f"연결선 '{edge.id}'이(가) 트랜스포머 블록 자체에 이어져 있습니다. 대신 그 안의 블록에 "
                    "연결하세요"))
                continue
            handle = edge.sourceHandle or (src.outputs[0] if len(src.outputs) == 1 else None)
            if handle not in src.outputs:
                outs = ", ".join(src.outputs) or "none"
                self.err(edge.source, "sourceHandle", Bilingual(
                    f"edge '{edge.id}' leaves from output '{edge.sourceHandle}', but {src.title} has outputs: {outs}",
                    f"연결선 '{edge.id}'이(가) 출력 '{edge.sourceHandle}'에서 나가는데, {src.title_ko or src.title}의 "
                    f"출력은 {'없습니다' if not src.outputs else outs + '입니다'}"))
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
                    what_ko = "입력이" if len(spec.inputs) == 1 else f"입력 '{h}'이(가)"
                    self.err(nid, "edges", Bilingual(f"{what} is not connected", f"{what_ko} 연결되지 않았습니다"))
        return inputs

    def _connect(self, edge, handle, dst: BlockSpec, inputs) -> None:
        if handle is None or handle not in dst.inputs:
            ins = ", ".join(dst.inputs) or "none"
            title_ko = dst.title_ko or dst.title
            if not dst.inputs:
                message = Bilingual(f"edge '{edge.id}' goes into the {dst.title} node, which takes no input",
                                    f"연결선 '{edge.id}'이(가) {title_ko} 노드로 들어가는데, 이 노드는 입력을 받지 "
                                    "않습니다")
            elif handle is None:
                message = Bilingual(f"edge '{edge.id}' is one input too many: {dst.title} has inputs {ins}",
                                    f"연결선 '{edge.id}'이(가) 남는 입력입니다. {title_ko}의 입력은 {ins}뿐입니다")
            else:
                message = Bilingual(f"edge '{edge.id}' goes into input '{handle}', but {dst.title} has inputs: {ins}",
                                    f"연결선 '{edge.id}'이(가) 입력 '{handle}'(으)로 들어가는데, {title_ko}의 입력은 "
                                    f"{ins}입니다")
            self.err(edge.target, "targetHandle", message)
            return
        if handle in inputs[edge.target]:
            self.err(edge.target, "edges", Bilingual(
                f"input '{handle}' has more than one incoming edge (from '{inputs[edge.target][handle]}' and "
                f"'{edge.source}')",
                f"입력 '{handle}'에 연결선이 둘 이상 들어옵니다('{inputs[edge.target][handle]}'와(과) "
                f"'{edge.source}'에서)"))
            return
        inputs[edge.target][handle] = edge.source
        self.links.append((edge.source, edge.target))

    # ------------------------------------------------------------------ order and groups
    def _groups(self, inputs, links) -> dict[str, Group]:
        groups: dict[str, Group] = {}
        for gid, kids in self.children.items():
            kids = [k for k in kids if k in self.specs]
            if gid not in self.specs or not kids:
                continue
            kidset = set(kids)
            entries = sorted({inputs[k][h] for k in kids for h in inputs[k]
                              if inputs[k][h] not in kidset and inputs[k][h] in self.specs})
            exits = sorted({s for s, t in links if s in kidset and t not in kidset})
            if not entries:
                self.err(gid, None, Bilingual("nothing flows into this transformer block; connect the stream from "
                                              "before it to the first block inside",
                                              "이 트랜스포머 블록으로 들어오는 것이 없습니다. 앞의 흐름을 안의 첫 블록에 "
                                              "연결하세요"))
            elif len(entries) > 1:
                self.err(gid, None, Bilingual(
                    f"a transformer block takes one stream from outside, but {len(entries)} come in (from "
                    f"{', '.join(entries[:5])})",
                    f"트랜스포머 블록은 밖에서 흐름을 하나만 받는데 {len(entries)}개가 들어옵니다"
                    f"({', '.join(entries[:5])}에서)"))
            if not exits:
                self.err(gid, None, Bilingual("nothing leaves this transformer block; connect its last block to "
                                              "what comes after it",
                                              "이 트랜스포머 블록에서 나가는 것이 없습니다. 안의 마지막 블록을 다음 "
                                              "블록에 연결하세요"))
            elif len(exits) > 1:
                self.err(gid, None, Bilingual(
                    f"a transformer block hands one stream on, but {len(exits)} blocks inside send their output out "
                    f"({', '.join(exits[:5])})",
                    f"트랜스포머 블록은 흐름을 하나만 내보내는데 안의 블록 {len(exits)}개가 출력을 밖으로 "
                    f"보냅니다({', '.join(exits[:5])})"))
            groups[gid] = Group(gid, tuple(kids), tuple(entries), tuple(exits))
        return groups

    def _order(self, inputs) -> tuple[tuple[str, ...] | None, dict[str, Group]]:
        unit = {nid: self.parent.get(nid, nid) for nid in self.specs}
        links = [(a, b) for a, b in self.links if a in self.specs and b in self.specs]
        groups = self._groups(inputs, links)
        tops = [n.id for n in self.graph.nodes if n.id in self.specs and n.id not in self.parent]
        contracted = {(unit[a], unit[b]) for a, b in links if unit[a] != unit[b]}
        order, cyclic = toposort(tops, sorted(contracted))
        for gid, group in list(groups.items()):
            kidset = set(group.children)
            inner, inner_cyclic = toposort(group.children, [(a, b) for a, b in links if a in kidset and b in kidset])
            groups[gid] = Group(gid, tuple(inner), group.entries, group.exits)
            cyclic += inner_cyclic
        if cyclic:
            shown = ", ".join(cyclic[:8]) + (" ..." if len(cyclic) > 8 else "")
            for nid in cyclic[:50]:
                self.err(nid, "edges", Bilingual(f"this block is part of a cycle ({shown}); a language model's "
                                                 "graph must flow one way, from the tokens to the logits",
                                                 f"이 블록이 순환({shown})에 들어 있습니다. 언어 모델의 그래프는 토큰에서 "
                                                 "로짓으로 한 방향으로만 흘러야 합니다"))
            return None, groups
        # Report each break once, where it is: a block none of whose outputs is used. Blocks upstream of it
        # still feed something, and unconnected inputs were reported above.
        has_out = {a for a, _ in self.links}
        backward = reachable(self._one_of("sink"), [(b, a) for a, b in self.links])
        for nid, spec in self.specs.items():
            if spec.is_group or spec.role == "sink" or nid in backward:
                continue
            if nid not in has_out:
                self.err(nid, "edges", Bilingual("this block's output is not used; connect it towards the logits "
                                                 "output or delete it",
                                                 "이 블록의 출력이 쓰이지 않습니다. 로짓 출력 쪽으로 연결하거나 지우세요"))
        return tuple(order), groups


def _title_ko(type_: str) -> str:
    """A block type's Korean title (the type itself when the catalogue does not know it)."""
    spec = BLOCKS.get(type_)
    return (spec.title_ko or spec.title) if spec is not None else type_


def _role(type_: str) -> str | None:
    spec = BLOCKS.get(type_)
    return spec.role if spec is not None else None


def _unparsed_ids(raw: Any, graph: schema.Graph) -> set[str]:
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    if not isinstance(nodes, list):
        return set()
    parsed = {n.id for n in graph.nodes}
    return {n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)} - parsed
