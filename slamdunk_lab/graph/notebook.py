"""Designs kept in a saved notebook, and locked blocks (pure data: no torch, no widgets).

A canvas shown in a notebook leaves, next to the live editor, a second output that it keeps up to date as the
design changes: a picture of the design (``text/html``) and the design itself as JSON under the mime type
:data:`GRAPH_MIME`. A saved notebook therefore holds every canvas's current design, and a grader reads it
without a browser or a kernel::

    >>> designs = sd.graph.from_notebook("assignment.ipynb")        # doctest: +SKIP
    >>> d = designs[-1]; d.name, d.params, len(d.graph["nodes"])    # doctest: +SKIP
    ('canvas', 858880, 14)
    >>> sd.check.builds(d).require()                                # doctest: +SKIP

A guided exercise locks some blocks of its template (``sd.Canvas(file, template=t, locked=[...])``): the
canvas shows them locked and refuses to delete or change them. :func:`locked_changes` tells a grader whether a
design still holds the template's locked blocks unchanged (it compares with the teacher's template, so it does
not trust the flags in the student's file).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import read_regular_file
from ..errors import GraphIssue

#: Mime type of the design a canvas leaves in the notebook (its payload is described in :class:`NotebookDesign`).
GRAPH_MIME = "application/vnd.slamdunk.graph+json"
#: A notebook larger than this is not read (a notebook of plots and designs is a few MB).
MAX_NOTEBOOK_BYTES = 256 * 2**20

#: What a locked block may not change (its position may: a student arranges the canvas).
LOCKED_FIELDS = ("type", "data", "parentId")


@dataclass(frozen=True)
class NotebookDesign:
    """A design found in a saved notebook: ``graph`` (format v1, positions included), and what the canvas said
    of it when it was last changed. Graders pass it (or ``.graph``) to ``sd.check`` and ``sd.analyze``."""

    graph: dict
    #: The canvas's variable name (``sd.Canvas(name=...)``, "canvas" by default).
    name: str = "canvas"
    #: The file the canvas was bound to, as the canvas showed it (None: no file).
    file: str | None = None
    #: Index of the notebook cell whose output holds it.
    cell: int = 0
    params: int | None = None
    ok: bool | None = None
    problems: list[str] = field(default_factory=list)
    #: Ids of the blocks the canvas kept locked.
    locked: list[str] = field(default_factory=list)


def design_payload(graph: dict, *, name: str, file: str | None, analysis: dict | None, display_id: str) -> dict:
    """The JSON a canvas puts under :data:`GRAPH_MIME` (read back by :func:`from_notebook`)."""
    a = analysis or {}
    problems = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in a.get("errors") or []]
    return {
        "format": "slamdunk-design",
        "version": 1,
        "id": display_id,
        "name": name,
        "file": file,
        "params": a.get("params"),
        "ok": a.get("ok"),
        "problems": problems,
        "locked": locked_ids(graph),
        "graph": graph,
    }


def from_notebook(path: str | os.PathLike, *, name: str | None = None) -> list[NotebookDesign]:
    """Every design the canvases of the saved notebook ``path`` left in their outputs, in notebook order.

    A canvas shown twice, or whose output was updated in place, counts once (its latest design). ``name`` keeps
    only the canvases with that variable name. Reads the ``.ipynb`` JSON only: no kernel, no browser, nothing
    is executed. Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not a
    notebook.
    """
    file = Path(os.fspath(path)).expanduser()
    if not file.exists():
        raise FileNotFoundError(f"no notebook at '{file}'")
    raw = read_regular_file(file, MAX_NOTEBOOK_BYTES, "the notebook")
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"'{file.name}' is not a notebook (.ipynb JSON): {exc}") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"'{file.name}' is not a notebook: it has no list of cells")  # noqa: TRY004 - bad file content
    found: dict[str, NotebookDesign] = {}
    for index, cell in enumerate(cells):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for out in outputs if isinstance(outputs, list) else []:
            data = out.get("data") if isinstance(out, dict) else None
            payload = data.get(GRAPH_MIME) if isinstance(data, dict) else None
            if isinstance(payload, (str, list)):  # some writers store JSON mime data as text
                try:
                    payload = json.loads("".join(payload) if isinstance(payload, list) else payload)
                except ValueError:
                    continue
            if not isinstance(payload, dict) or not isinstance(payload.get("graph"), dict):
                continue
            design = NotebookDesign(
                graph=payload["graph"],
                name=str(payload.get("name") or "canvas"),
                file=payload.get("file") if isinstance(payload.get("file"), str) else None,
                cell=index,
                params=payload.get("params") if isinstance(payload.get("params"), int) else None,
                ok=payload.get("ok") if isinstance(payload.get("ok"), bool) else None,
                problems=[str(p) for p in payload.get("problems") or [] if isinstance(p, str)],
                locked=[str(i) for i in payload.get("locked") or [] if isinstance(i, str)],
            )
            if name is not None and design.name != name:
                continue
            key = str(payload.get("id") or f"{index}:{len(found)}")
            found.pop(key, None)  # the latest copy of a display wins, at its latest place
            found[key] = design
    return list(found.values())


# ---------------------------------------------------------------------------------------------- locked blocks
def locked_ids(graph: dict) -> list[str]:
    """Ids of the nodes of ``graph`` marked ``"locked": true``."""
    return [n["id"] for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("locked") is True
            and isinstance(n.get("id"), str)]


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def locked_changes(graph: dict, template: dict, *, flags: bool = False) -> list[GraphIssue]:
    """How ``graph`` changed the blocks that ``template`` locks: one :class:`GraphIssue` per deleted block and per
    changed type, setting or parent (``[]``: every locked block is as the template has it). Positions may change.

    ``flags=True`` also reports a locked block whose ``locked`` mark was removed (the canvas refuses that).
    """
    nodes = {n.get("id"): n for n in graph.get("nodes") or [] if isinstance(n, dict)}
    issues: list[GraphIssue] = []
    for want in template.get("nodes") or []:
        if not isinstance(want, dict) or want.get("locked") is not True:
            continue
        nid = want.get("id")
        have = nodes.get(nid)
        if have is None:
            issues.append(GraphIssue(nid, None, f"the locked block '{nid}' ({want.get('type')}) was deleted"))
            continue
        for key in LOCKED_FIELDS:
            before, after = want.get(key) or ({} if key == "data" else None), have.get(key) or (
                {} if key == "data" else None)
            if key == "data":
                changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                for k in changed:
                    issues.append(GraphIssue(nid, k, f"the locked block '{nid}' must keep {k}="
                                                     f"{_shown(before.get(k))}, got {_shown(after.get(k))}"))
            elif before != after:
                issues.append(GraphIssue(nid, key, f"the locked block '{nid}' must keep {key} {_shown(before)}, "
                                                   f"got {_shown(after)}"))
        if flags and have.get("locked") is not True:
            issues.append(GraphIssue(nid, "locked", f"the locked block '{nid}' cannot be unlocked here"))
    return issues


def with_locks(graph: dict, ids: Any) -> dict:
    """A copy of ``graph`` with the nodes ``ids`` marked locked (and no others). Raises ``KeyError`` naming an id
    that is not in the graph."""
    wanted = list(dict.fromkeys(ids))
    present = {n.get("id") for n in graph.get("nodes") or []}
    missing = [i for i in wanted if i not in present]
    if missing:
        raise KeyError(f"cannot lock {', '.join(map(repr, missing))}: no such block in the design "
                       f"(its blocks: {', '.join(sorted(map(str, present)))})")
    out = dict(graph)
    out["nodes"] = []
    for n in graph.get("nodes") or []:
        n = {k: v for k, v in n.items() if k != "locked"}
        if n.get("id") in wanted:
            n["locked"] = True
        out["nodes"].append(n)
    return out
