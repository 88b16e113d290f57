"""The model-design canvas: a React Flow view of a graph (format v1) synced with Python.

``canvas.graph`` is the single source of truth (durable state, a synced
traitlet). The front end re-renders whenever Python assigns a new graph, and
writes a new graph back only on user edits: drag stop, connect, delete, add a
block from the palette, or a field edited in the inspector. The block
catalogue (``sd.catalog()``) and the live analysis (``sd.analyze(graph)``) are
computed here in Python and pushed to the page as traitlets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import traitlets

from ._base import SlamDunkWidget

GRAPH_VERSION = 1

#: Fields React Flow adds to nodes/edges at run time; they never belong in the graph.
REACT_FLOW_FIELDS = frozenset(
    {"measured", "selected", "dragging", "width", "height", "resizing", "positionAbsolute", "internals"}
)


def empty_graph() -> dict:
    return {"version": GRAPH_VERSION, "nodes": [], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}


def clean_graph(graph: dict) -> dict:
    """Deep-copy ``graph`` without React Flow's run-time fields (format v1 only)."""
    if not isinstance(graph, dict):
        raise TypeError(f"graph must be a dict (graph format v1), got {type(graph).__name__}")
    version = graph.get("version", GRAPH_VERSION)
    if version != GRAPH_VERSION:
        raise ValueError(f"unsupported graph version {version!r}; this canvas reads version {GRAPH_VERSION}")
    out = copy.deepcopy(graph)
    out["version"] = GRAPH_VERSION
    out["nodes"] = [
        {k: v for k, v in node.items() if k not in REACT_FLOW_FIELDS} for node in out.get("nodes") or []
    ]
    out["edges"] = [
        {k: v for k, v in edge.items() if k not in REACT_FLOW_FIELDS} for edge in out.get("edges") or []
    ]
    out.setdefault("viewport", {"x": 0, "y": 0, "zoom": 1})
    return out


def _to_jsonable(value: Any) -> Any:
    for attr in ("to_json", "model_dump", "dict"):
        fn = getattr(value, attr, None)
        if callable(fn):
            return fn()
    return value


def _library_function(name: str) -> Callable[..., Any]:
    """``slamdunk_lab.<name>``, imported lazily (the library may still be incomplete)."""
    import slamdunk_lab

    fn = getattr(slamdunk_lab, name, None)
    if not callable(fn):
        raise RuntimeError(  # noqa: TRY004 - a missing library feature, not a bad argument
            f"slamdunk_lab.{name}() is not available in this version of slamdunk_lab; "
            "the canvas needs it (reinstall slamdunk-lab or update it)."
        )
    return fn


class Canvas(SlamDunkWidget):
    """Design a decoder-only LM as a graph of blocks.

    >>> canvas = sd.Canvas(template="gpt2", size="tiny")   # doctest: +SKIP
    >>> canvas                                                # shows the editor
    >>> canvas.graph                                          # the edited graph (format v1)
    """

    _view = traitlets.Unicode("canvas").tag(sync=True)

    graph = traitlets.Dict(default_value=empty_graph()).tag(sync=True)
    #: Block catalogue (``sd.catalog()``): palette, inspector schemas and docs.
    catalog = traitlets.Dict(default_value={}).tag(sync=True)
    #: Latest ``sd.analyze(graph)`` result (shapes, params, FLOPs, memory, errors).
    analysis = traitlets.Dict(default_value={}).tag(sync=True)
    #: Problems of the widget itself (catalogue or analysis unavailable), shown in the page.
    notices = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    #: Language of the docs panel and block help: "en" or "ko".
    language = traitlets.Enum(["en", "ko"], default_value="en").tag(sync=True)
    height = traitlets.Int(560, min=240).tag(sync=True)
    #: Variable name used in code the canvas inserts into the notebook.
    name = traitlets.Unicode("canvas").tag(sync=True)

    def __init__(
        self,
        graph: dict | None = None,
        *,
        template: str | None = None,
        size: str | None = None,
        language: str = "en",
        height: int = 560,
        name: str = "canvas",
        live_analysis: bool = True,
        **kwargs: Any,
    ) -> None:
        if graph is not None and template is not None:
            raise TypeError("pass either graph= or template=, not both")
        if template is not None:
            make = _library_function("template")
            graph = _to_jsonable(make(template, size=size) if size is not None else make(template))
        self._live_analysis = live_analysis
        super().__init__(
            graph=clean_graph(graph if graph is not None else empty_graph()),
            language=language,
            height=height,
            name=name,
            **kwargs,
        )
        self._load_catalog()
        self._reanalyze()

    # -- traitlets ----------------------------------------------------------
    @traitlets.validate("graph")
    def _validate_graph(self, proposal: Any) -> dict:
        return clean_graph(proposal["value"])

    @traitlets.observe("graph")
    def _graph_changed(self, change: Any) -> None:
        old, new = change["old"] or {}, change["new"] or {}
        if old.get("nodes") == new.get("nodes") and old.get("edges") == new.get("edges"):
            return  # only the viewport (or metadata) moved: the analysis is unchanged
        self._reanalyze()

    # -- catalogue and analysis ----------------------------------------------
    def _set_notice(self, key: str, message: str | None) -> None:
        kept = [n for n in self.notices if not n.startswith(f"[{key}] ")]
        if message:
            kept.append(f"[{key}] {message}")
        if kept != list(self.notices):
            self.notices = kept

    def _load_catalog(self) -> None:
        try:
            self.catalog = _to_jsonable(_library_function("catalog")())
            self._set_notice("catalog", None)
        except Exception as exc:  # noqa: BLE001 - shown in the widget; the palette stays empty
            self.catalog = {}
            self._set_notice("catalog", f"block catalogue unavailable: {exc}")

    def _reanalyze(self) -> None:
        if not self._live_analysis:
            return
        try:
            result = _to_jsonable(_library_function("analyze")(self.graph))
            self._set_notice("analysis", None)
        except Exception as exc:  # noqa: BLE001 - shown in the widget's status bar
            result = {}
            self._set_notice("analysis", f"analysis unavailable: {exc}")
        self.analysis = result if isinstance(result, dict) else {}

    # -- node helpers -------------------------------------------------------
    def node(self, node_id: str) -> dict:
        """The node ``node_id`` of :attr:`graph` (a copy)."""
        for n in self.graph["nodes"]:
            if n.get("id") == node_id:
                return copy.deepcopy(n)
        raise KeyError(f"no node {node_id!r} in the canvas graph")

    def fit_view(self) -> None:
        """Zoom the view so that every node is visible."""
        self._send_event("fit_view")

    # -- front-end requests -------------------------------------------------
    def code_snippet(self) -> str:
        """Code the toolbar's "Insert code" button puts in a new cell below the canvas."""
        return f"graph = {self.name}.graph\nmodel = sd.build(graph)\nmodel"

    def _on_msg_request_code(self, content: dict) -> None:
        self.insert_cell_below(self.code_snippet(), run=False)
