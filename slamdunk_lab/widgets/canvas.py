"""The model-design canvas: a React Flow view of a graph (format v1) synced with Python.

``canvas.graph`` is the single source of truth (durable state, a synced traitlet). The front end re-renders
whenever Python assigns a new graph, and writes a new graph back only on committed user edits: drag stop,
connect, delete, paste, undo/redo, auto-layout, a block added from the palette, or a field edited in the
inspector. The block catalogue (``sd.catalog()``), the template list (``sd.templates()``) and the live
analysis (``sd.analyze(graph)``) are computed here in Python and pushed to the page as traitlets.

>>> import slamdunk_lab as sd                                  # doctest: +SKIP
>>> canvas = sd.Canvas(template="gpt2", size="tiny")           # doctest: +SKIP
>>> canvas                                                     # doctest: +SKIP
>>> canvas.analysis.params, canvas.analysis.ok                 # doctest: +SKIP
(858880, True)
>>> model = canvas.build()                                     # doctest: +SKIP

Designs survive:

* **A design file.** ``sd.Canvas("designs/my_model.json")`` loads the file when it exists (else starts from
  ``template=``/``graph`` and writes it) and saves every change to it atomically, positions and view
  included; Run All brings the same design back. The Save / Save as / Open buttons do the same from the page.
* **The notebook.** Every display of a canvas is two outputs: the live editor, and a static picture of the
  design (SVG, parameter count, problems) with the design's JSON under ``application/vnd.slamdunk.graph+json``,
  updated in place as the design changes. The picture is hidden while the editor renders; a notebook saved
  and reopened without a kernel (JupyterLab, Notebook 7, an HTML export, GitHub) shows it instead, and
  ``sd.graph.from_notebook("assignment.ipynb")`` reads the designs back without a browser. Run All clears that
  output before the cell runs, so a canvas without a file starts again from its template: bind it to a file to
  get the design back.

Guided exercises lock blocks of a template::

    canvas = sd.Canvas("designs/ex1.json", template=teacher_graph, locked=["tok_emb", "lm_head"])

Locked blocks show a lock; the page cannot delete them or change their settings (Python refuses such an edit
and puts the page back), and ``sd.graph.locked_changes(design, teacher_graph)`` tells a grader whether they
were changed anyway.
"""

from __future__ import annotations

import copy
import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import traitlets
from anywidget.experimental import command

from .._files import write_json_atomic
from ..analysis import Analysis, analyze
from ..blocks.catalog import BLOCKS
from ..blocks.catalog import catalog as block_catalog
from ..errors import GraphError, GraphIssue
from ..graph.notebook import GRAPH_MIME, LOCKED_FIELDS, design_payload, locked_changes, locked_ids, with_locks
from ..graph.schema import CANVAS_FIELDS, parse
from ..graph.schema import Graph as GraphModel
from ..graph.schema import to_json as graph_to_json
from ..templates import template as make_template
from ..templates import templates as list_templates
from ._base import SlamDunkWidget, static_html
from .contract import GROUP_MIN_SIZE, GROUP_PADDING, NODE_SIZE

GRAPH_VERSION = 1

#: Fields React Flow adds to nodes/edges at run time; they never belong in the graph.
REACT_FLOW_FIELDS = CANVAS_FIELDS

#: Size of a block box in the static picture (the canvas draws them at the same size).
NODE_W, NODE_H = NODE_SIZE["width"], NODE_SIZE["height"]
GROUP_PAD_X, GROUP_PAD_TOP, GROUP_PAD_BOTTOM = GROUP_PADDING["x"], GROUP_PADDING["top"], GROUP_PADDING["bottom"]

_TEMPLATES_CACHE: list[dict] | None = None
#: A design file larger than this is not read (a 50,000-node graph is a few MB).
MAX_DESIGN_BYTES = 64 * 2**20
#: The Open button lists at most this many design files, found at most this deep below the working folder.
MAX_LISTED, MAX_DEPTH = 200, 3
_SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages", "mlruns", "venv", ".venv"}


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


def check_graph(graph: Any) -> dict:
    """``graph`` cleaned and checked with :func:`slamdunk_lab.graph.parse`; raises :class:`GraphError` naming
    every structural problem (bad node, duplicate id, ...). Design problems (wrong widths, missing edges) are
    not refused here: the canvas shows them on the offending nodes."""
    cleaned = clean_graph(graph)
    _parsed, issues = parse(cleaned)
    if issues:
        raise GraphError(issues)
    return cleaned


def code_cell(graph: dict) -> str:
    """Source of the cell "Export code" inserts: ``sd.to_code(graph)``, ending by building the model."""
    from ..interop.codegen import to_code  # torch: imported on first use

    code = to_code(graph).rstrip()
    main = code.rfind('\n\nif __name__ == "__main__":')
    if main >= 0:  # a notebook cell runs as __main__: build once, at the top level
        code = code[:main].rstrip()
    return (
        code
        + "\n\n\nmodel = build_model()\n"
        + 'print(f"built {type(model).__name__} with {sum(p.numel() for p in model.parameters()):,} parameters")\n'
    )


def _safe_path(path: Any, what: str = "file") -> Path:
    """``path`` as an absolute path: a string or PathLike without NUL bytes, ``~`` and ``..`` resolved."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise TypeError(f"the {what} must be a string or pathlib.Path, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the {what} name is empty; give a path such as 'design.json'")
    if "\x00" in text:
        raise ValueError(f"the {what} name {text!r} contains a NUL byte, which no file system allows")
    return Path(text).expanduser().resolve(strict=False)


def read_design(path: str | os.PathLike) -> dict:
    """The design saved in the JSON file ``path`` (by a canvas, ``canvas.save`` or ``sd.to_json``), checked.

    A model folder written by ``sd.save`` works too (its ``graph.json`` is read). Raises ``FileNotFoundError``
    for a missing file and :class:`slamdunk_lab.GraphError` for a file that is not a valid graph."""
    from .._files import UnreadableFile, read_regular_file

    file = _safe_path(path)
    if file.is_dir():
        file = file / "graph.json"
    if not file.is_file():
        raise FileNotFoundError(f"no design file at '{file}'; save one with canvas.save('design.json')")
    try:
        raw = json.loads(read_regular_file(file, MAX_DESIGN_BYTES, "the design file").decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError, UnreadableFile) as exc:
        raise GraphError(f"'{file.name}' is not a JSON graph file: {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("graph"), dict) and "nodes" not in raw:
        raw = raw["graph"]
    if not isinstance(raw, dict):
        raise GraphError(f"'{file.name}' holds a {type(raw).__name__}, not a graph object with 'nodes'")
    try:
        return check_graph(raw)
    except GraphError as exc:  # name the file in every problem
        raise GraphError([GraphIssue(i.node_id, i.field, f"in '{file.name}': {i.message}") for i in exc.errors]) from None
    except (TypeError, ValueError) as exc:
        raise GraphError(f"'{file.name}' is not a graph this canvas reads: {exc}") from None


def _design_file(path: Any) -> Path:
    """``path`` as a design file: ``.json`` added when the name has no suffix, never a folder."""
    file = _safe_path(path, "design file")
    if file.suffix == "" and not file.is_dir():
        file = file.with_suffix(".json")
    if file.is_dir():
        raise IsADirectoryError(f"'{file}' is a folder; give a file name such as 'design.json'")
    return file


def _shown_path(file: Path | None) -> str:
    """``file`` relative to the working folder when it is inside it (as the page shows it)."""
    if file is None:
        return ""
    try:
        return file.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(file)


def _restore_locked(graph: dict, base: dict) -> tuple[dict, list[str]]:
    """``graph`` with the blocks ``base`` locks put back as ``base`` has them (a deleted one re-added, a changed
    one reset; the position a student gave it is kept) and marked locked; and the ids that had to be restored."""
    out = copy.deepcopy(graph)
    nodes = {n.get("id"): n for n in out["nodes"]}
    wanted = {n["id"]: n for n in base["nodes"] if n.get("locked") is True}
    restored = sorted({i.node_id for i in locked_changes(out, base) if i.node_id is not None})
    for nid, want in wanted.items():
        have = nodes.get(nid)
        if have is None:
            out["nodes"].append(copy.deepcopy(want))
            continue
        if nid in restored:
            for key in LOCKED_FIELDS:
                if key in want:
                    have[key] = copy.deepcopy(want[key])
                else:
                    have.pop(key, None)
        have["locked"] = True
    return out, restored


# ---------------------------------------------------------------------------------------------- static picture


def _is_group(node: dict) -> bool:
    """A block that holds other blocks (the transformer block), as the catalogue states its role."""
    spec = BLOCKS.get(node.get("type", ""))
    return spec is not None and spec.role == "group"


def _layout_boxes(graph: dict) -> dict[str, tuple[float, float, float, float]]:
    """Absolute (x, y, w, h) of every node; a group's box holds its children."""
    nodes = {n["id"]: n for n in graph.get("nodes", []) if isinstance(n, dict) and "id" in n}

    def absolute(nid: str) -> tuple[float, float]:
        x = y = 0.0
        seen: set[str] = set()
        while nid in nodes and nid not in seen:
            seen.add(nid)
            pos = nodes[nid].get("position") or {}
            x += float(pos.get("x") or 0)
            y += float(pos.get("y") or 0)
            nid = nodes[nid].get("parentId")
        return x, y

    boxes: dict[str, tuple[float, float, float, float]] = {}
    for nid, n in nodes.items():
        x, y = absolute(nid)
        w, h = float(NODE_W), float(NODE_H)
        if _is_group(n):
            w, h = float(GROUP_MIN_SIZE["width"]), float(GROUP_MIN_SIZE["height"])
            for c in nodes.values():
                if c.get("parentId") == nid:
                    p = c.get("position") or {}
                    w = max(w, float(p.get("x") or 0) + NODE_W + GROUP_PAD_X)
                    h = max(h, float(p.get("y") or 0) + NODE_H + GROUP_PAD_BOTTOM)
        boxes[nid] = (x, y, w, h)
    return boxes


def graph_svg(graph: dict, analysis: dict | None = None, titles: dict[str, str] | None = None) -> str:
    """A static SVG picture of ``graph``: a box per block (title, id, shape), a line per edge."""
    boxes = _layout_boxes(graph)
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict) and n.get("id") in boxes]
    info = (analysis or {}).get("nodes") or {}
    titles = titles or {}
    if not boxes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="40"><text x="8" y="24" ' \
               'font-family="sans-serif" font-size="13">(empty design)</text></svg>'
    x0 = min(b[0] for b in boxes.values()) - 16
    y0 = min(b[1] for b in boxes.values()) - 16
    x1 = max(b[0] + b[2] for b in boxes.values()) + 120  # room for residual curves on the right
    y1 = max(b[1] + b[3] for b in boxes.values()) + 16
    width, height = x1 - x0, y1 - y0
    esc = html.escape
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="sdl-static-graph" width="{width:.0f}" '
         'style="max-width:100%;height:auto" '
         f'height="{height:.0f}" viewBox="{x0:.0f} {y0:.0f} {width:.0f} {height:.0f}" '
         'font-family="sans-serif" font-size="12">'),
        ('<defs><marker id="sdl-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
         'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'),
    ]
    for n in nodes:  # groups first, so blocks sit on top
        if not _is_group(n):
            continue
        x, y, w, h = boxes[n["id"]]
        repeat = (n.get("data") or {}).get("repeat", 1)
        parts.append(f'<g data-node-id="{esc(n["id"])}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" '
                     'fill="#f4f4f8" stroke="#8888aa" stroke-dasharray="6 3"/>'
                     f'<text x="{x + 10}" y="{y + 20}" font-weight="bold">'
                     f'{esc(titles.get(n["type"], "Transformer block"))} × {esc(str(repeat))}</text></g>')
    for e in graph.get("edges", []):
        if not isinstance(e, dict) or e.get("source") not in boxes or e.get("target") not in boxes:
            continue
        sx, sy, sw, sh = boxes[e["source"]]
        tx, ty, tw, _th = boxes[e["target"]]
        shape = (info.get(e["source"]) or {}).get("shape")
        x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty
        if y2 - y1 > NODE_H + 60:  # skips over blocks (a residual): curve around them on the right
            bend = min(160.0, 40 + (y2 - y1) / 4)
            parts.append(f'<path d="M{x1},{y1} C{x1 + bend},{y1 + 40} {x2 + bend},{y2 - 40} {x2},{y2}" fill="none" '
                         'stroke="#999" stroke-width="1.5" marker-end="url(#sdl-arrow)"/>')
            lx, ly = (x1 + x2) / 2 + bend * 0.75 + 4, (y1 + y2) / 2
        else:
            parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#777" '
                         'stroke-width="1.5" marker-end="url(#sdl-arrow)"/>')
            lx, ly = (x1 + x2) / 2 + 4, (y1 + y2) / 2 + 4
        if shape:
            label = "×".join(str(s) for s in shape)
            parts.append(f'<text x="{lx}" y="{ly}" font-size="10" fill="#555">{esc(label)}</text>')
    for n in nodes:
        if _is_group(n):
            continue
        x, y, w, h = boxes[n["id"]]
        title = titles.get(n.get("type", ""), n.get("type", "?"))
        parts.append(f'<g data-node-id="{esc(n["id"])}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" '
                     'fill="#ffffff" stroke="#555"/>'
                     f'<text x="{x + 10}" y="{y + 22}" font-weight="bold">{esc(str(title))}</text>'
                     f'<text x="{x + 10}" y="{y + 42}" fill="#666" font-size="11">{esc(n["id"])}</text>'
                     + (f'<text x="{x + w - 44}" y="{y + 20}" class="sdl-static-lock" font-size="10" fill="#a60">locked</text>'
                        if n.get("locked") is True else "")
                     + "</g>")
    parts.append("</svg>")
    return "".join(parts)


class Canvas(SlamDunkWidget):
    """Design a decoder-only LM as a graph of blocks.

    >>> canvas = sd.Canvas("designs/my_model.json", template="gpt2", size="tiny")  # doctest: +SKIP
    >>> canvas = sd.Canvas(template="gpt2", size="tiny")   # doctest: +SKIP
    >>> canvas = sd.Canvas(graph)                          # doctest: +SKIP

    ``sd.Canvas("designs/my_model.json")`` binds the canvas to a design file: it is loaded when it exists
    (``template=``/``graph`` only give the first design of a new file) and every change is saved to it
    atomically. ``locked=[ids]`` locks blocks of the starting design (a guided exercise): the page shows them
    locked and cannot delete or change them; their position may change.
    >>> canvas.graph        # the edited graph (format v1), live; assign to replace it
    >>> canvas.analysis     # sd.analyze(canvas.graph): .ok, .params, .errors, .nodes
    >>> canvas.build()      # sd.build(canvas.graph)
    """

    _view = traitlets.Unicode("canvas").tag(sync=True)

    graph = traitlets.Dict(default_value=empty_graph()).tag(sync=True)
    #: Block catalogue (``sd.catalog()``): palette, inspector schemas and docs.
    catalog = traitlets.Dict(default_value={}).tag(sync=True)
    #: Templates menu: ``sd.templates()`` rows (name, family, size, params, description).
    templates: traitlets.List[Any] = traitlets.List(default_value=[]).tag(sync=True)
    #: JSON of the latest ``sd.analyze(graph)`` (shapes, params, FLOPs, memory, errors) for the page;
    #: Python code reads :attr:`analysis` (the ``Analysis`` object) instead.
    analysis_json = traitlets.Dict(default_value={}).tag(sync=True)
    #: Problems of the widget itself (analysis unavailable, a failing on_change callback), shown in the page.
    notices = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    #: Height in pixels: the whole palette and a tiny template fit at a readable zoom; drag the bottom edge to resize.
    height = traitlets.Int(720, min=240).tag(sync=True)
    #: Variable name used in code the canvas inserts into the notebook.
    name = traitlets.Unicode("canvas").tag(sync=True)
    #: The vocabulary size the design follows (:meth:`set_vocab`); None until one is set. The inspector offers it
    #: as "from tokenizer" for every vocab_size field, and templates chosen in the menu get it.
    tokenizer_vocab = traitlets.Int(None, allow_none=True, min=1).tag(sync=True)
    #: The design file the canvas is bound to, as the page shows it (relative to the working folder); "" for
    #: none. Bind with ``sd.Canvas(path)``, :meth:`save_as` or :meth:`open_file`.
    file_label = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        graph: dict | str | os.PathLike | None = None,
        *,
        file: str | os.PathLike | None = None,
        template: str | dict | None = None,
        size: str | None = None,
        locked: Any = None,
        language: str | None = None,
        height: int = 720,
        name: str = "canvas",
        live_analysis: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(graph, (str, os.PathLike)):
            if file is not None:
                raise TypeError("give the design file once: sd.Canvas('design.json') or sd.Canvas(file='design.json')")
            graph, file = None, graph
        if graph is not None and template is not None:
            raise TypeError("pass either graph= or template=, not both")
        # settings of a named template (sd.Canvas(template="gpt2", size="tiny", n_layer=2)); the rest are traitlets
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k not in type(self).class_trait_names()}
        if overrides and not isinstance(template, str):
            raise TypeError(f"unknown argument(s) {', '.join(sorted(overrides))}: template settings such as n_layer= "
                            "go with template='<name>'")
        if isinstance(template, str):
            start = make_template(template, size=size, **overrides)
        elif template is not None:
            start = template
        else:
            start = graph
        if isinstance(start, GraphModel):
            start = graph_to_json(start)
        base = check_graph(start if start is not None else empty_graph())
        if locked is not None:
            ids = [locked] if isinstance(locked, str) else list(locked)
            try:
                base = with_locks(base, ids)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
        self._live_analysis = live_analysis
        self._analysis: Analysis | None = None
        self._callbacks: list[Callable[[dict], Any]] = []
        #: Whether a view reported the SLaM Dunk Lab extension's hook (JupyterLab / Notebook 7).
        self._page_has_hook = False
        self._file: Path | None = _design_file(file) if file is not None else None
        restored: list[str] = []
        design = base
        if self._file is not None and self._file.exists():
            design, restored = _restore_locked(read_design(self._file), base)
        super().__init__(
            graph=design,
            **({"language": language} if language is not None else {}),
            height=height,
            name=name,
            file_label=_shown_path(self._file),
            **kwargs,
        )
        self.catalog = block_catalog()
        self.templates = _template_rows()
        self._reanalyze()
        if self._file is not None:
            self._write_file()
        if restored:
            self._set_notice("locked", f"restored the locked block(s) {', '.join(restored)} as the template has "
                                       f"them (the design file had changed them)")

    # -- design files ------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> Canvas:
        """A canvas showing the design saved in the JSON file ``path``, *not* bound to it (``sd.Canvas(path)``
        binds). A model folder written by ``sd.save`` works too (its ``graph.json`` is read). Raises
        ``FileNotFoundError`` for a missing file and :class:`slamdunk_lab.GraphError` for an invalid one."""
        return cls(read_design(path), **kwargs)

    @property
    def file(self) -> Path | None:
        """The design file this canvas saves every change to (absolute), or None."""
        return self._file

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write :attr:`graph` as JSON atomically (a crash never leaves half a file) to ``path``, or to the bound
        :attr:`file` when ``path`` is None; returns the absolute path. ``.json`` is added when the name has no
        suffix. Saving elsewhere does not change the binding (:meth:`save_as` does)."""
        if path is None:
            if self._file is None:
                raise ValueError("this canvas has no design file; give one: canvas.save('designs/my_model.json') "
                                 "or canvas.save_as(...) to keep saving there")
            file = self._file
        else:
            file = _design_file(path)
        if not file.parent.is_dir():
            if path is not None and file != self._file:
                raise FileNotFoundError(f"the folder '{file.parent}' does not exist; create it first")
            file.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(file, self.graph)
        return file

    def save_as(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save the design to ``path`` (its folder is created) and keep saving every change there. Refuses to
        replace another existing file unless ``overwrite``."""
        file = _design_file(path)
        if file.exists() and file != self._file and not overwrite:
            raise FileExistsError(f"'{_shown_path(file)}' already exists; choose another name, or replace it "
                                  "with overwrite=True")
        file.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(file, self.graph)
        self._file = file
        self.file_label = _shown_path(file)
        self._set_notice("file", None)
        self.refresh_static(now=True)
        return file

    def open_file(self, path: str | os.PathLike) -> Path:
        """Show the design saved in ``path`` and keep saving every change there (the current design stays in
        its own file, if it has one). Blocks the file marks locked stay locked."""
        file = _design_file(path)
        graph = read_design(file)
        self._file = file
        self.file_label = _shown_path(file)
        self.graph = graph
        self._set_notice("file", None)
        self.refresh_static(now=True)
        return file

    def _write_file(self) -> None:
        """Save the design to the bound file; a failure (disk full, no permission) shows as a notice."""
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self._file, self.graph)
        except Exception as exc:  # noqa: BLE001 - shown on the canvas; the design stays in memory
            self._set_notice("file", f"could not save to {self.file_label}: {exc}")
        else:
            self._set_notice("file", None)

    # -- the original web project ------------------------------------------------------
    def import_seed(self, payload: Any) -> list[GraphIssue]:
        """Show a design of the original student web project: its request body (a dict, its JSON text or a
        ``.json`` file) or its saved canvas (``{nodes, edges}``), through ``sd.graph.from_seed``.

        Returns the notes: one per place where the imported model differs from what the original built (each
        repeat of a block its own layer, residuals inside blocks made live, fields the original ignored, ...).
        The canvas shows them in its status bar and says how many there are in a toast; the next import
        replaces them. A design that cannot be imported raises :class:`~slamdunk_lab.GraphError` naming the
        layer and field, and the canvas keeps what it showed.
        """
        from ..interop.original import payload_of
        from ..interop.seed import from_seed

        graph, notes = from_seed(payload_of(payload), report=True)
        self.graph = graph
        self._set_notice("seed", None)
        if notes:
            self._set_notice("seed", f"imported from the original project; {len(notes)} difference(s) from what it "
                                     "built: " + " | ".join(str(n) for n in notes))
        if self.language == "ko":
            message = (f"원래 프로젝트의 설계를 가져왔습니다. 원래 만들어지던 모델과 다른 점 {len(notes)}가지는 "
                       "상태 표시줄에 있습니다." if notes else "원래 프로젝트의 설계를 그대로 가져왔습니다.")
        else:
            message = (f"Imported the original project's design: {len(notes)} difference(s) from the model it "
                       "built, listed in the status bar." if notes else
                       "Imported the original project's design exactly as it built it.")
        self._send_event("toast", message=message)
        self.fit_view()
        return notes

    # -- locked blocks ---------------------------------------------------------------
    @property
    def locked(self) -> list[str]:
        """Ids of the locked blocks (the page cannot delete or change them)."""
        return locked_ids(self.graph)

    def lock(self, *ids: str) -> None:
        """Lock the blocks ``ids`` (in addition to those already locked)."""
        try:
            self.graph = with_locks(self.graph, [*self.locked, *ids])
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    def unlock(self, *ids: str) -> None:
        """Unlock the blocks ``ids`` (all of them when none is given)."""
        keep = [i for i in self.locked if ids and i not in ids]
        self.graph = with_locks(self.graph, keep)

    # -- the library on the current design -----------------------------------------
    @property
    def analysis(self) -> Analysis:
        """``sd.analyze(canvas.graph)`` for the current design (``.ok``, ``.params``, ``.errors``, ...)."""
        if self._analysis is None:
            self._analysis = analyze(self.graph)
        return self._analysis

    def build(self, **kwargs: Any) -> Any:
        """``sd.build(canvas.graph, **kwargs)``: the PyTorch model of the current design."""
        from ..model import build

        return build(self.graph, **kwargs)

    def to_code(self) -> str:
        """``sd.to_code(canvas.graph)``: standalone PyTorch source of the current design."""
        from ..interop.codegen import to_code

        return to_code(self.graph)

    def export_code(self) -> str:
        """Put the design's code (:func:`code_cell`) in a new cell directly below the canvas; returns it.

        With the SLaM Dunk Lab extension (JupyterLab, Notebook 7) the page inserts the cell below the
        canvas's own cell; from a running cell IPython also queues it as the next input, which front ends
        without the extension (VS Code, Colab) honour.
        """
        code = code_cell(self.graph)
        if self._page_has_hook:
            self.insert_cell_below(code)
        else:
            _set_next_input(code)
        return code

    # -- vocabulary ----------------------------------------------------------------
    def set_vocab(self, tokenizer: Any) -> int:
        """Make the design's vocabulary follow ``tokenizer`` (anything with ``vocab_size``, or a whole number):
        every ``vocab_size`` field of the design gets it now, templates chosen later get it too, and the
        inspector offers it as "from tokenizer". Returns the size.

        >>> tok = sd.tokenizers.char(text)     # doctest: +SKIP
        >>> canvas.set_vocab(tok)              # doctest: +SKIP
        65
        """
        size = getattr(tokenizer, "vocab_size", tokenizer)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"set_vocab needs a tokenizer (with vocab_size) or a whole number ≥ 1, got {tokenizer!r}")
        self.tokenizer_vocab = size
        graph = _with_vocab(self.graph, size, _vocab_types(self.catalog))
        if graph is not self.graph:
            self.graph = graph
        return size

    # -- change callbacks ---------------------------------------------------------
    def on_change(self, callback: Callable[[dict], Any]) -> Callable[[], None]:
        """Call ``callback(graph)`` after every edit (from the page or from Python); returns a function that
        removes it. An exception in a callback is shown as a notice on the canvas and never stops syncing."""
        if not callable(callback):
            raise TypeError("on_change needs a callable: callback(graph)")
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    # -- traitlets ----------------------------------------------------------------
    @traitlets.validate("graph")
    def _validate_graph(self, proposal: Any) -> dict:
        value = proposal["value"]
        if getattr(self, "_property_lock", None):
            # From the page: design problems show on the nodes, but a locked block stays as it is. ipywidgets
            # validates a page's value after setting it, so the design before the edit is `_accepted`; returning
            # it makes ipywidgets send it back to the page (it differs from what the page sent).
            cleaned = clean_graph(value)
            accepted = self.__dict__.get("_accepted")
            issues = locked_changes(cleaned, accepted, flags=True) if accepted else []
            if issues:
                self._refuse_page_edit(issues)
                return accepted
            return cleaned
        if value is self._trait_values.get("graph") and "_snapshot" in self.__dict__:
            # `g = canvas.graph; g["nodes"][0]["data"]["activation"] = "swiglu"; canvas.graph = g` edited the
            # stored design in place: compare with the design as it was, so the change reaches the page
            self._trait_values["graph"] = self._snapshot
        return check_graph(value)  # a copy (clean_graph), never the caller's object

    def _refuse_page_edit(self, issues: list) -> None:
        """Say why the page's edit was refused (the page gets the design back from ipywidgets)."""
        if self.language == "ko":
            ids = ", ".join(sorted({str(i.node_id) for i in issues if i.node_id}))
            message = f"거부했습니다: 잠긴 블록({ids})은 지우거나 바꿀 수 없습니다"
        else:
            message = "Refused: " + "; ".join(i.message for i in issues[:3]) + (
                f" (and {len(issues) - 3} more)" if len(issues) > 3 else "")
        self._send_event("toast", message=message)
        self._set_notice("locked", message)

    @traitlets.observe("graph")
    def _graph_changed(self, change: Any) -> None:
        new = self.graph  # not change["new"]: a refused page edit notifies with the value it replaced
        old = self.__dict__.get("_accepted") or {}
        if new is old:
            return  # a refused edit: nothing changed
        before = self.__dict__.get("_snapshot") or {}  # `old` itself may have been edited in place
        self._accepted = new
        self._snapshot = copy.deepcopy(new)
        self._write_file()
        if before.get("nodes") == new.get("nodes") and before.get("edges") == new.get("edges"):
            return  # only the viewport (or metadata) moved: the design is unchanged
        self._set_notice("locked", None)
        self._reanalyze()
        self.refresh_static()
        failures = []
        for callback in list(self._callbacks):
            try:
                callback(copy.deepcopy(new))
            except Exception as exc:  # noqa: BLE001 - a user's callback must never break syncing
                name = getattr(callback, "__name__", "callback")
                failures.append(f"on_change {name}() raised {type(exc).__name__}: {exc}")
        self._set_notice("callback", "; ".join(failures) or None)

    # -- catalogue and analysis ----------------------------------------------------
    def _set_notice(self, key: str, message: str | None) -> None:
        kept = [n for n in self.notices if not n.startswith(f"[{key}] ")]
        if message:
            kept.append(f"[{key}] {message}")
        if kept != list(self.notices):
            self.notices = kept

    def _reanalyze(self) -> None:
        self._analysis = None
        if not self._live_analysis:
            return
        try:
            result = self.analysis.to_json()
            self._set_notice("analysis", None)
        except Exception as exc:  # noqa: BLE001 - shown in the widget's status bar
            result = {}
            self._set_notice("analysis", f"analysis unavailable: {type(exc).__name__}: {exc}")
        self.analysis_json = result

    # -- node helpers ---------------------------------------------------------------
    def node(self, node_id: str) -> dict:
        """The node ``node_id`` of :attr:`graph` (a copy)."""
        for n in self.graph["nodes"]:
            if n.get("id") == node_id:
                return copy.deepcopy(n)
        raise KeyError(f"no node {node_id!r} in the canvas graph")

    def fit_view(self) -> None:
        """Zoom the view so that every node is visible."""
        self._send_event("fit_view")

    # -- static picture ---------------------------------------------------------------
    def to_svg(self) -> str:
        """A static SVG picture of the design (boxes, edges with shapes), as saved notebooks show it."""
        titles = {b["type"]: b["title"] for b in (self.catalog or {}).get("blocks", [])}
        return graph_svg(self.graph, self.analysis_json, titles)

    def static_summary(self) -> str:
        """One line for people: parameters or problems, the file, the locked blocks."""
        a = self.analysis_json or {}
        parts = []
        if a:
            parts.append(f"{a.get('params', 0):,} parameters" if a.get("ok")
                         else f"{len(a.get('errors') or [])} problem(s)")
        parts.append(f"{len(self.graph.get('nodes') or [])} blocks")
        if self.locked:
            parts.append(f"{len(self.locked)} locked")
        if self._file is not None:
            parts.append(f"file {self.file_label}")
        return " · ".join(parts)

    def _static_data(self) -> dict[str, Any]:
        """The design as a saved notebook shows it without the editor: picture, parameters, problems, and the
        graph as JSON (``sd.graph.from_notebook`` reads it)."""
        esc = html.escape
        a = self.analysis_json or {}
        problems = [e for e in a.get("errors") or [] if isinstance(e, dict)]
        items = "".join(
            f"<li>{esc(' · '.join(str(x) for x in (e.get('node_id'), e.get('field')) if x))}"
            f"{': ' if e.get('node_id') or e.get('field') else ''}{esc(str(e.get('message', '')))}</li>"
            for e in problems[:20])
        more = f"<li>… and {len(problems) - 20} more</li>" if len(problems) > 20 else ""
        body = (
            '<div style="font:12px sans-serif;color:#555;margin-bottom:4px">'
            f"<b>SLaM Dunk Lab design</b> <code>{esc(self.name)}</code>: {esc(self.static_summary())} "
            "(a picture of the design; run the cell for the editor)</div>"
            + (f'<ul class="sdl-static-problems" style="font:12px sans-serif;color:#b00020">{items}{more}</ul>'
               if items else "")
            + self.to_svg()
        )
        return {
            "text/plain": f"SLaM Dunk Lab design {self.name}: {self.static_summary()}",
            "text/html": static_html(body, "canvas"),
            GRAPH_MIME: design_payload(self.graph, name=self.name, file=self.file_label or None, analysis=a,
                                       display_id=self._static_id),
        }

    # -- front-end requests -------------------------------------------------------------
    @command
    def _export_code(self, _msg: Any, _buffers: list) -> tuple[dict, list]:
        """The page's "Export code" button (anywidget's request/response): the cell's code, or why not."""
        try:
            return {"ok": True, "code": code_cell(self.graph)}, []
        except Exception as exc:  # noqa: BLE001 - e.g. GraphError: shown as a toast in the page
            return {"ok": False, "error": f"Cannot export code: {exc}"}, []

    @command
    def _save_design(self, msg: Any, _buffers: list) -> tuple[dict, list]:
        """The page's Save / Save as: ``{"path": ...}`` saves there and binds (Save as); no path saves to the
        bound file (Save). ``overwrite`` replaces another existing file."""
        msg = msg if isinstance(msg, dict) else {}
        path = msg.get("path")
        try:
            if path is None or path == "":
                file = self.save()
            else:
                if not isinstance(path, str):
                    raise TypeError(f"the file name must be text, got {type(path).__name__}")
                file = self.save_as(path, overwrite=bool(msg.get("overwrite")))
        except FileExistsError as exc:
            return {"ok": False, "exists": True, "error": str(exc), "file": self.file_label}, []
        except Exception as exc:  # noqa: BLE001 - shown as a toast in the page
            return {"ok": False, "error": f"Cannot save: {exc}", "file": self.file_label}, []
        return {"ok": True, "file": _shown_path(file)}, []

    @command
    def _list_designs(self, _msg: Any, _buffers: list) -> tuple[dict, list]:
        """The design files the Open button offers: ``.json`` files holding a graph, below the working folder."""
        try:
            return {"ok": True, "files": design_files(Path.cwd())}, []
        except Exception as exc:  # noqa: BLE001 - shown in the page
            return {"ok": False, "error": f"Cannot list design files: {exc}", "files": []}, []

    @command
    def _open_design(self, msg: Any, _buffers: list) -> tuple[dict, list]:
        """The page's Open: show the design in ``{"path": ...}`` and keep saving there."""
        path = msg.get("path") if isinstance(msg, dict) else None
        if self.locked:
            return {"ok": False, "error": "이 과제의 캔버스에는 잠긴 블록이 있어 자기 설계 파일만 씁니다(열기 꺼짐)."
                    if self.language == "ko" else
                    "This exercise's canvas has locked blocks: it keeps its own design file (Open is off)."}, []
        try:
            if not isinstance(path, str) or not path:
                raise ValueError("choose a design file to open")
            file = self.open_file(path)
        except Exception as exc:  # noqa: BLE001 - shown as a toast in the page
            return {"ok": False, "error": f"Cannot open {path}: {exc}"}, []
        return {"ok": True, "file": _shown_path(file)}, []

    def _on_msg_hello(self, content: dict) -> None:
        self._page_has_hook = self._page_has_hook or bool(content.get("hook"))

    def _on_msg_load_template(self, content: dict) -> None:
        name, size = content.get("name"), content.get("size")
        follow = {"vocab_size": self.tokenizer_vocab} if self.tokenizer_vocab else {}
        try:
            graph = make_template(str(name), size=str(size) if size else None, **follow)
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - shown as a toast in the page
            self._send_event("toast", message=f"Cannot load template {name} {size or ''}: {exc}")


def design_files(root: Path) -> list[str]:
    """Paths (relative to ``root``, ``/``-separated) of the design files below it: ``.json`` files that hold a
    graph (``"nodes"``), at most :data:`MAX_DEPTH` folders down, hidden and package folders skipped."""
    found: list[str] = []
    root = root.resolve()
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS and depth < MAX_DEPTH)
        for name in sorted(files):
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                if path.stat().st_size > MAX_DESIGN_BYTES:
                    continue
                with open(path, "rb") as f:
                    head = f.read(4096)
            except OSError:
                continue
            if b'"nodes"' in head or (b'"graph"' in head and len(head) == 4096):
                found.append(path.relative_to(root).as_posix())
            if len(found) >= MAX_LISTED:
                return found
    return found


def _vocab_types(catalog: dict) -> set[str]:
    """Block types with a ``vocab_size`` setting (read from the catalogue)."""
    return {b["type"] for b in catalog.get("blocks", []) if "vocab_size" in (b.get("schema") or {}).get("properties", {})}


def _with_vocab(graph: dict, size: int, types: set[str]) -> dict:
    """``graph`` with every ``vocab_size`` of the blocks of ``types`` set to ``size`` (the same dict when none
    changes)."""
    if all(n.get("data", {}).get("vocab_size") == size for n in graph["nodes"] if n.get("type") in types):
        return graph
    out = copy.deepcopy(graph)
    for n in out["nodes"]:
        if n.get("type") in types:
            n.setdefault("data", {})["vocab_size"] = size
    return out


def _template_rows() -> list[dict]:
    """``sd.templates()`` (computed once per process: it analyses every preset)."""
    global _TEMPLATES_CACHE
    if _TEMPLATES_CACHE is None:
        _TEMPLATES_CACHE = [
            {k: r[k] for k in ("name", "family", "size", "params", "description", "default") if k in r}
            for r in list_templates()
        ]
    return copy.deepcopy(_TEMPLATES_CACHE)


def _set_next_input(code: str) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_next_input(code, replace=False)
