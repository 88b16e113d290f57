"""The graph format (pure data): pydantic models, parsing and canonical JSON.

``sd.graph.from_seed`` (the original web project's format) is set here by the package root; the importer
itself lives in :mod:`slamdunk_lab.interop.seed`, above the block catalogue it reads.
"""

from .schema import CANVAS_FIELDS, Edge, Graph, Node, Position, Viewport, json_schema, parse, to_json
from .topology import reachable, toposort

__all__ = [
    "CANVAS_FIELDS",
    "Edge",
    "Graph",
    "Node",
    "Position",
    "Viewport",
    "json_schema",
    "parse",
    "reachable",
    "to_json",
    "toposort",
]

