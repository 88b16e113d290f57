"""The graph format (pure data): pydantic models, parsing and canonical JSON.

``sd.graph.from_seed`` (the original web project's format) is set here by the package root; the importer
itself lives in :mod:`slamdunk_lab.interop.seed`, above the block catalogue it reads.
"""

from .notebook import GRAPH_MIME, NotebookDesign, from_notebook, locked_changes, locked_ids
from .schema import CANVAS_FIELDS, Edge, Graph, Node, Position, Viewport, json_schema, parse, to_json
from .topology import reachable, toposort

__all__ = [
    "CANVAS_FIELDS",
    "GRAPH_MIME",
    "Edge",
    "Graph",
    "Node",
    "NotebookDesign",
    "Position",
    "Viewport",
    "from_notebook",
    "json_schema",
    "locked_changes",
    "locked_ids",
    "parse",
    "reachable",
    "to_json",
    "toposort",
]

