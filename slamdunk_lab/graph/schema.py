"""Graph format v1: React Flow-shaped JSON, defined by pydantic models.

A graph passes unchanged to a React Flow canvas::

    {"version": 1,
     "nodes": [{"id": "attn", "type": "attention", "position": {"x": 0, "y": 120},
                "data": {"n_heads": 4}, "parentId": "blocks"}, ...],
     "edges": [{"id": "e1", "source": "ln_1", "target": "attn", "sourceHandle": "out", "targetHandle": "in"}],
     "viewport": {"x": 0, "y": 0, "zoom": 1}}

This module knows the *shape* of a graph, not what the block types mean (that is the block catalogue's job),
so it has no torch and no catalogue imports.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Bilingual, GraphIssue

#: Fields React Flow adds to nodes and edges at run time; they mean nothing to the model and are dropped.
CANVAS_FIELDS = frozenset({"measured", "selected", "dragging", "width", "height", "style", "className",
                           "hidden", "zIndex", "draggable", "selectable", "connectable", "deletable",
                           "focusable", "extent", "expandParent", "sourcePosition", "targetPosition",
                           "resizing", "positionAbsolute", "animated", "markerEnd", "markerStart",
                           "interactionWidth", "label", "labelStyle", "type_", "initialWidth",
                           "initialHeight", "origin", "handles", "ariaLabel"})
MAX_NODES = 50_000
MAX_EDGES = 200_000
MAX_ID_LENGTH = 200


def edge_id(source: str, target: str, source_handle: str | None = "out", target_handle: str | None = "in") -> str:
    """The id of an edge as Python writes it: ``e-<source>-<target>``, with a handle only where it is not the
    usual one (``e-attn-add_1-b`` for input ``b``). The canvas writes the same ids (a test compares them)."""
    src = source if source_handle in (None, "out") else f"{source}.{source_handle}"
    dst = target if target_handle in (None, "in") else f"{target}-{target_handle}"
    return f"e-{src}-{dst}"


class Position(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x: float = Field(0.0, allow_inf_nan=False)
    y: float = Field(0.0, allow_inf_nan=False)


class Node(BaseModel):
    """A block on the canvas. ``data`` holds the block's settings; ``parentId`` puts it inside a group."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, strict=True)
    type: str = Field(min_length=1, max_length=100, strict=True)
    position: Position = Field(default_factory=Position)
    data: dict[str, Any] = Field(default_factory=dict)
    parentId: str | None = Field(None, strict=True)
    #: A block the student may move but not delete or change (a guided exercise's template): the canvas shows
    #: it locked and refuses edits to it; ``sd.graph.locked_changes`` tells a grader whether it was changed.
    locked: bool = Field(False, strict=True)


class Edge(BaseModel):
    """A connection from one block's output handle to another block's input handle."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(None, max_length=2 * MAX_ID_LENGTH + 50, strict=True)
    source: str = Field(strict=True)
    target: str = Field(strict=True)
    sourceHandle: str | None = Field(None, strict=True)
    targetHandle: str | None = Field(None, strict=True)


class Viewport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x: float = Field(0.0, allow_inf_nan=False)
    y: float = Field(0.0, allow_inf_nan=False)
    zoom: float = Field(1.0, gt=0, allow_inf_nan=False)


class Graph(BaseModel):
    """A whole design. ``name`` (optional) names the experiment it is trained under."""

    model_config = ConfigDict(extra="ignore", title="SLaM Dunk Lab graph v1")
    version: Literal[1] = 1
    name: str | None = Field(None, max_length=200)
    nodes: list[Node]
    edges: list[Edge] = Field(default_factory=list)
    viewport: Viewport = Field(default_factory=Viewport)


def json_schema() -> dict:
    """The JSON Schema of the graph format (each block's ``data`` schema is in :func:`slamdunk_lab.catalog`)."""
    return Graph.model_json_schema()


#: What pydantic's usual complaints about a node or an edge say in Korean (others keep pydantic's English words).
_EXPECTED_KO = {
    "string_type": "문자열이어야 합니다",
    "string_too_short": "비어 있으면 안 됩니다",
    "string_too_long": "너무 깁니다",
    "dict_type": "객체여야 합니다",
    "model_type": "객체여야 합니다",
    "bool_type": "true 또는 false여야 합니다",
    "float_type": "숫자여야 합니다",
    "float_parsing": "숫자여야 합니다",
    "finite_number": "유한한 숫자여야 합니다",
    "int_type": "정수여야 합니다",
}


def _first_error(exc: ValidationError) -> tuple[str | None, Bilingual]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    value = err.get("input")
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = err.get("type", "")
    if kind == "missing":
        return loc or None, Bilingual(f"'{loc}' is missing", f"'{loc}' 값이 없습니다")
    why_ko = _EXPECTED_KO.get(kind, f"올바르지 않습니다: {err.get('msg')}")
    return loc or None, Bilingual(f"'{loc}' is invalid ({err.get('msg')}; got {text})",
                                  f"'{loc}' 값이 {why_ko}(입력: {text})")


def parse(raw: Any) -> tuple[Graph | None, list[GraphIssue]]:
    """Read a graph dict (or JSON text) node by node, so one bad node does not hide the others.

    Returns the parsed :class:`Graph` (bad nodes and edges left out) and every problem found.
    """
    issues: list[GraphIssue] = []
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return None, [GraphIssue(None, None, Bilingual(f"the graph is not valid JSON: {exc}",
                                                           f"그래프가 올바른 JSON이 아닙니다: {exc}"))]
    if isinstance(raw, Graph):
        raw = raw.model_dump(exclude_none=True)
    if not isinstance(raw, dict):
        return None, [GraphIssue(None, None, Bilingual(
            f"a graph must be an object with 'nodes' and 'edges', got {type(raw).__name__}",
            f"그래프는 'nodes'와 'edges'가 있는 객체여야 합니다(입력: {type(raw).__name__})"))]
    if raw.get("version", 1) != 1:
        issues.append(GraphIssue(None, "version", Bilingual(
            f"only graph format version 1 is supported, got {raw.get('version')!r}",
            f"그래프 형식은 버전 1만 지원합니다(입력: {raw.get('version')!r})")))
    raw_nodes, raw_edges = raw.get("nodes"), raw.get("edges", [])
    if not isinstance(raw_nodes, list):
        return None, issues + [GraphIssue(None, "nodes", Bilingual("'nodes' must be a list of blocks",
                                                                   "'nodes'는 블록의 목록이어야 합니다"))]
    if not isinstance(raw_edges, list):
        return None, issues + [GraphIssue(None, "edges", Bilingual("'edges' must be a list of connections",
                                                                   "'edges'는 연결선의 목록이어야 합니다"))]
    if len(raw_nodes) > MAX_NODES:
        return None, issues + [GraphIssue(None, "nodes", Bilingual(
            f"the graph has {len(raw_nodes)} nodes; at most {MAX_NODES} are supported",
            f"그래프에 노드가 {len(raw_nodes)}개 있습니다. 최대 {MAX_NODES}개까지 지원합니다"))]
    if len(raw_edges) > MAX_EDGES:
        return None, issues + [GraphIssue(None, "edges", Bilingual(
            f"the graph has {len(raw_edges)} edges; at most {MAX_EDGES} are supported",
            f"그래프에 연결선이 {len(raw_edges)}개 있습니다. 최대 {MAX_EDGES}개까지 지원합니다"))]

    nodes: list[Node] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_nodes):
        node_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        label = node_id if node_id is not None else f"#{i}"
        if not isinstance(item, dict):
            issues.append(GraphIssue(None, "nodes", Bilingual(
                f"node #{i} must be an object, got {type(item).__name__}",
                f"노드 #{i}은(는) 객체여야 합니다(입력: {type(item).__name__})")))
            continue
        try:
            node = Node.model_validate(item)
        except ValidationError as exc:
            field, message = _first_error(exc)
            issues.append(GraphIssue(node_id or None, field, Bilingual(f"node {label}: {message}",
                                                                       f"노드 {label}: {message.ko}")))
            continue
        if node.id in seen:
            issues.append(GraphIssue(node.id, "id", Bilingual(
                f"the id '{node.id}' is used by more than one node; ids must be unique",
                f"id '{node.id}'을(를) 여러 노드가 쓰고 있습니다. id는 서로 달라야 합니다")))
            continue
        seen.add(node.id)
        nodes.append(node)

    edges: list[Edge] = []
    edge_ids: set[str] = set()
    for i, item in enumerate(raw_edges):
        if not isinstance(item, dict):
            issues.append(GraphIssue(None, "edges", Bilingual(
                f"edge #{i} must be an object, got {type(item).__name__}",
                f"연결선 #{i}은(는) 객체여야 합니다(입력: {type(item).__name__})")))
            continue
        try:
            edge = Edge.model_validate(item)
        except ValidationError as exc:
            field, message = _first_error(exc)
            who = item.get("target") if isinstance(item.get("target"), str) else None
            issues.append(GraphIssue(who, field, Bilingual(f"edge #{i}: {message}", f"연결선 #{i}: {message.ko}")))
            continue
        if edge.id is None:
            edge.id = edge_id(edge.source, edge.target, edge.sourceHandle, edge.targetHandle)
        if edge.id in edge_ids:
            issues.append(GraphIssue(edge.target, "edges", Bilingual(
                f"the edge id '{edge.id}' is used twice", f"연결선 id '{edge.id}'이(가) 두 번 쓰였습니다")))
            continue
        edge_ids.add(edge.id)
        edges.append(edge)

    viewport = Viewport()
    if isinstance(raw.get("viewport"), dict):
        try:
            viewport = Viewport.model_validate(raw["viewport"])
        except ValidationError:
            issues.append(GraphIssue(None, "viewport", Bilingual(
                "the viewport must have finite x, y and a positive zoom",
                "viewport의 x, y는 유한한 숫자, zoom은 양수여야 합니다")))
    name = raw.get("name")
    if name is not None and not (isinstance(name, str) and len(name) <= 200):
        issues.append(GraphIssue(None, "name", Bilingual(
            "the graph's name must be a string of at most 200 characters",
            "그래프의 이름은 200자 이하의 문자열이어야 합니다")))
        name = None
    return Graph(nodes=nodes, edges=edges, viewport=viewport, name=name), issues


def to_json(graph: Graph) -> dict:
    """The canonical JSON form of a graph: what templates produce and what round-trips unchanged."""
    out: dict[str, Any] = {"version": 1}
    if graph.name is not None:
        out["name"] = graph.name
    out["nodes"] = [_node_json(n) for n in graph.nodes]
    out["edges"] = [_edge_json(e) for e in graph.edges]
    out["viewport"] = graph.viewport.model_dump()
    return out


def _node_json(node: Node) -> dict:
    out: dict[str, Any] = {"id": node.id, "type": node.type, "position": node.position.model_dump(),
                           "data": node.data}
    if node.parentId is not None:
        out["parentId"] = node.parentId
    if node.locked:
        out["locked"] = True
    return out


def _edge_json(edge: Edge) -> dict:
    out: dict[str, Any] = {"id": edge.id, "source": edge.source, "target": edge.target}
    if edge.sourceHandle is not None:
        out["sourceHandle"] = edge.sourceHandle
    if edge.targetHandle is not None:
        out["targetHandle"] = edge.targetHandle
    return out




def make_node(node_id: str, type_: str, x: float, y: float, data: dict, parent: str | None = None) -> dict:
    """A node in canonical JSON form (what templates and the seed import write)."""
    node = {"id": node_id, "type": type_, "position": {"x": float(x), "y": float(y)}, "data": data}
    if parent is not None:
        node["parentId"] = parent
    return node


def make_edge(source: str, target: str, handle: str = "in") -> dict:
    """An edge from ``source``'s output into ``target``'s input ``handle``, with a readable, stable id."""
    return {"id": edge_id(source, target, "out", handle),
            "source": source, "target": target, "sourceHandle": "out", "targetHandle": handle}
