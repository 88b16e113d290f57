"""Errors a user can see: one issue per problem, all collected before anything is raised."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

#: Longest name (node id, field) shown whole in a message; longer ones are cut, saying how long they were.
SHOWN_NAME = 60
_LONG_QUOTED = re.compile(f"'([^']{{{SHOWN_NAME + 1},}})'")
_LONG_WORD = re.compile(f"[^\\s']{{{SHOWN_NAME + 1},}}")


def shorten(name: Any, limit: int = SHOWN_NAME) -> str:
    """``name`` as text, cut to about ``limit`` characters with its length said (a 1 MB node id makes a short
    message)."""
    text = str(name)
    return text if len(text) <= limit else f"{text[:limit - 20]}...({len(text):,} characters)"


def shorten_quoted(message: str) -> str:
    """``message`` with every quoted name (or unbroken word) longer than :data:`SHOWN_NAME` cut by
    :func:`shorten`, and at most 1000 characters in all."""
    message = _LONG_QUOTED.sub(lambda m: f"'{shorten(m.group(1))}'", message)
    message = _LONG_WORD.sub(lambda m: shorten(m.group(0)), message)
    return message if len(message) <= 1000 else f"{message[:980]}...({len(message):,} characters)"


class Bilingual(str):
    """A message in English (the string itself, what Python shows) that also carries its Korean form, ``.ko``;
    the canvas shows the Korean one when its language is Korean."""

    ko: str

    def __new__(cls, en: str, ko: str) -> Bilingual:
        text = super().__new__(cls, en)
        text.ko = ko
        return text

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copy and pickle keep the Korean
        return str(self), self.ko


@dataclass(frozen=True)
class GraphIssue:
    """One problem in a graph: which node, which field, and a sentence saying what is wrong.

    ``node_id`` is ``None`` for problems of the whole graph (for example "there is no logits node");
    ``field`` is ``None`` when the problem is not about one field.
    """

    node_id: str | None
    field: str | None
    message: str
    #: The same sentence in Korean where the catalogue has one (None: English only).
    message_ko: str | None = None

    def __post_init__(self) -> None:
        if self.message_ko is None and isinstance(self.message, Bilingual):
            object.__setattr__(self, "message_ko", self.message.ko)
        object.__setattr__(self, "message", str(self.message))

    def __str__(self) -> str:
        where = []
        if self.node_id is not None:
            where.append(f"node '{shorten(self.node_id)}'")
        if self.field is not None:
            where.append(f"field '{shorten(self.field)}'")
        message = shorten_quoted(self.message)
        return f"{', '.join(where)}: {message}" if where else message

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
