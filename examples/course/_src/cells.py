"""The cell kinds of the course notebooks: prose in two languages, code shared by both."""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" | "code"
    en: str
    ko: str
    nbgrader: dict | None = field(default=None)  # assignments only: nbgrader's cell metadata


def _clean(text: str) -> str:
    return dedent(text).strip("\n")


def md(en: str, ko: str) -> Cell:
    """Prose: the English and the Korean text (a translation a Korean student would write, not word for word)."""
    return Cell("markdown", _clean(en), _clean(ko))


def code(source: str) -> Cell:
    """Code: the same in both languages."""
    source = _clean(source)
    return Cell("code", source, source)


def code2(en: str, ko: str) -> Cell:
    """Code that differs between the languages (only an assignment's setup cell: the checks' language)."""
    return Cell("code", _clean(en), _clean(ko))


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def setup(grade_id: str, en: str, ko: str) -> Cell:
    """A read-only setup cell of an assignment."""
    return Cell("code", _clean(en), _clean(ko), _meta(grade_id, locked=True))


def solution(grade_id: str, source: str) -> Cell:
    """A cell the student fills in: the part between ### BEGIN SOLUTION and ### END SOLUTION is removed from
    the released version (nbgrader puts ``raise NotImplementedError()`` there)."""
    source = _clean(source)
    assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, grade_id
    return Cell("code", source, source, _meta(grade_id, solution=True))


def tests(grade_id: str, points: float, source: str) -> Cell:
    """An autograder cell: locked, worth ``points``; it passes when it raises nothing."""
    source = _clean(source)
    return Cell("code", source, source, _meta(grade_id, grade=True, locked=True, points=points))


def task(grade_id: str, en: str, ko: str) -> Cell:
    """Locked instructions of an assignment."""
    return Cell("markdown", _clean(en), _clean(ko), _meta(grade_id, locked=True))
