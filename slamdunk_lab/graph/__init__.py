"""The graph format (pure data): pydantic models, parsing, canonical JSON and the seed-format import."""

from .schema import CANVAS_FIELDS, Edge, Graph, Node, Position, Viewport, json_schema, parse, to_json
from .topology import reachable, toposort

__all__ = [
    "CANVAS_FIELDS",
    "Edge",
    "Graph",
    "Node",
    "Position",
    "Viewport",
    "from_seed",
    "json_schema",
    "parse",
    "reachable",
    "to_json",
    "toposort",
]


def from_seed(payload):
    """Convert the original web project's request body to a v1 graph (see ``shared/seed-format.md``)."""
    from .seed import from_seed as _from_seed

    return _from_seed(payload)
