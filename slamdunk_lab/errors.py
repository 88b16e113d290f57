"""Errors a user can see: one issue per problem, all collected before anything is raised."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GraphIssue:
    """One problem in a graph: which node, which field, and a sentence saying what is wrong.

    ``node_id`` is ``None`` for problems of the whole graph (for example "there is no logits node");
    ``field`` is ``None`` when the problem is not about one field.
    """

    node_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.node_id is not None:
            where.append(f"node '{self.node_id}'")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def to_json(self) -> dict:
        return asdict(self)


class GraphError(ValueError):
    """Raised by :func:`slamdunk_lab.analyze` callers, :func:`slamdunk_lab.build` and friends on an invalid graph.

    ``errors`` holds every :class:`GraphIssue` found, not only the first one.
    """

    def __init__(self, errors: list[GraphIssue] | GraphIssue | str):
        if isinstance(errors, str):
            errors = [GraphIssue(None, None, errors)]
        elif isinstance(errors, GraphIssue):
            errors = [errors]
        self.errors: list[GraphIssue] = list(errors)
        lines = [str(e) for e in self.errors[:20]]
        if len(self.errors) > 20:
            lines.append(f"... and {len(self.errors) - 20} more")
        noun = "problem" if len(self.errors) == 1 else "problems"
        super().__init__(f"the graph has {len(self.errors)} {noun}:\n  - " + "\n  - ".join(lines))


class ModelFileError(ValueError):
    """A saved model directory or file is missing, truncated, tampered with or does not match its graph."""
