"""The contract between Python and the widgets' page, stated once, in pydantic; ``js/shared/contract.ts`` is
generated from it.

What the page receives and sends is typed here: the graph (``graph.schema``), a catalogue entry, the analysis
result, every widget's synced traitlets (read from the widget classes themselves, so a new traitlet is in the
contract as soon as it exists), and the messages each way as discriminated unions on ``type``. So are the
constants the page needs: React Flow's run-time fields, block geometry, the edge-id format, and the generation
settings form (:class:`slamdunk_lab.sampling.GenerationSettings`).

Regenerate after a change (a test fails while the file is stale)::

    python -m slamdunk_lab.widgets          # writes js/shared/contract.ts (+ a catalogue fixture)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import traitlets
from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import models_json_schema

from ..blocks.spec import Role, Stream
from ..graph.schema import CANVAS_FIELDS, Graph, edge_id
from ..sampling import GenerationSettings
from . import _typescript as ts

_JS = Path(__file__).resolve().parents[2] / "js"
CONTRACT_TS = _JS / "shared" / "contract.ts"
#: The real catalogue, for the page's unit tests.
CATALOG_FIXTURE = _JS / "shared" / "testing" / "catalog.json"

#: Size of a block box on the canvas (also the static picture's), before React Flow measures it.
NODE_SIZE = {"width": 176, "height": 64}
#: Room around the blocks inside a transformer block (the header is on top).
GROUP_PADDING = {"x": 24, "top": 44, "bottom": 24}
#: The smallest transformer block box.
GROUP_MIN_SIZE = {"width": 280, "height": 120}


class _Wire(BaseModel):
    """Base of the page's JSON shapes: unknown keys are errors, so the contract cannot fall behind silently."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


# ---------------------------------------------------------------------------------------------- catalogue
Language = Literal["en", "ko"]


class BlockDocs(_Wire):
    """A block's documentation in one language."""

    summary: str
    formula: str
    shapes: str


class CatalogBlock(_Wire):
    """One block type of ``sd.catalog()``: what the palette, the inspector and the connection checks read."""

    type: str
    title: str
    titles: dict[Language, str] = Field(description="The title in English and Korean.")
    category: str
    inputs: list[str] = Field(description="Input handle ids, in order.")
    outputs: list[str] = Field(description="Output handle ids, in order.")
    is_group: bool
    role: Role = Field(description="What the block is to the graph: source, sink, group, residual or op.")
    reads: Stream | None = Field(description="What its inputs carry (None: it takes no input).")
    emits: Stream | None = Field(description="What its output carries (None: it has no output).")
    feeds_logits: bool = Field(description="Whether its output may be the logits.")
    color: str
    defaults: dict[str, Any]
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema of the block's data (the form).")
    docs: dict[Language, BlockDocs]


class Catalog(_Wire):
    """``sd.catalog()``."""

    version: Literal[1]
    blocks: list[CatalogBlock]
    categories: list[str]
    category_titles: dict[str, dict[Language, str]] = Field(description="Each category in English and Korean.")
    roles: list[Role]
    reserved_types: list[str] = Field(description="React Flow's own node type names; no block may use them.")


class TemplateRow(_Wire):
    """One row of the canvas's templates menu (``sd.templates()``)."""

    name: str
    family: str
    size: str
    params: int
    description: str
    default: bool


# ---------------------------------------------------------------------------------------------- analysis
class AnalysisIssue(_Wire):
    """One problem: which node and field (None: the whole design / no one field), and a sentence."""

    node_id: str | None
    field: str | None
    message: str
    message_ko: str | None = Field(None, description="The same sentence in Korean, where there is one.")


class NodeAnalysis(_Wire):
    """What the analysis found for one node (``params`` and ``flops`` count every repeat)."""

    id: str
    type: str
    shape: list[str | int] | None
    params: int
    params_each: int
    flops: int
    repeat: int
    parent: str | None


class AnalysisResult(_Wire):
    """``sd.analyze(graph).to_json()``: what the canvas shows about the design."""

    ok: bool
    params: int
    flops_per_token: int
    train_flops_per_token: int
    memory: dict[str, int]
    n_layers: int
    batch_size: int
    context: int
    dtype: str
    nodes: dict[str, NodeAnalysis]
    errors: list[AnalysisIssue]
    warnings: list[AnalysisIssue]


class Empty(_Wire):
    """An empty object (a value not computed yet)."""


# ---------------------------------------------------------------------------------------------- playground
class ProbRow(_Wire):
    """One bar of the next-token probabilities."""

    token: str
    id: int
    prob: float


class AttentionData(_Wire):
    """Attention maps of the prompt: ``weights[layer][head][query][key]``."""

    tokens: list[str]
    weights: list[list[list[list[float]]]]
    layer_names: list[str]
    offset: int = 0


# ---------------------------------------------------------------------------------------------- runs
class RunSegment(_Wire):
    """One part of a run that was stopped and resumed (its own MLflow run)."""

    run_id: str
    name: str
    status: str
    start_step: int = Field(description="The step it resumed from (0 for the first).")
    step: int | None = Field(description="The last step it reached.")


class RunRow(_Wire):
    """One run in the runs browser's table (a run and the runs that resumed it are one row)."""

    run_id: str
    name: str
    experiment: str
    design: str
    status: str
    start_time: int | None
    end_time: int | None
    step: int | None = Field(description="The last step reached (None while running or for older runs).")
    steps: int | None = Field(description="The planned steps.")
    train_loss: float | None
    val_loss: float | None
    parameters: int | None
    tokens_per_s: float | None
    worker: str | None = Field(description="The Celery worker that trained it (None: in a kernel).")
    checkpoint: str | None = Field(description="Its newest checkpoint folder on disk (where sd.resume goes on).")
    segments: list[RunSegment] = Field(description="Its segments, oldest first (one unless it was resumed).")


class DesignDiffRow(_Wire):
    """A setting that differs between the selected runs' designs."""

    node: str = Field(description="The block's place in the design: its type and, among several, its number.")
    field: str
    values: dict[str, Any]
    titles: dict[Language, str] = Field(description="The place as the page shows it, in English and Korean.")


class ParamRow(_Wire):
    """A logged parameter of the selected runs."""

    key: str
    group: str
    values: dict[str, Any]
    differs: bool


#: run id → metric → [[step, value], ...]
Curves = dict[str, dict[str, list[tuple[float, float]]]]

# ---------------------------------------------------------------------------------------------- traitlets
#: The precise type of every synced Dict/List traitlet (scalars are read from the traitlet itself).
TRAIT_TYPES: dict[str, dict[str, Any]] = {
    "canvas": {
        "graph": Graph,
        "catalog": Union[Catalog, Empty],
        "templates": list[TemplateRow],
        "analysis_json": Union[AnalysisResult, Empty],
        "notices": list[str],
    },
    "monitor": {},
    "playground": {
        "settings": GenerationSettings,
        "probs": list[ProbRow],
        "attention": Union[AttentionData, Empty],
    },
    "runs": {
        "rows": list[RunRow],
        "selected": list[str],
        "curves": Curves,
        "design_diff": list[DesignDiffRow],
        "params_diff": list[ParamRow],
    },
}
def _scalar(trait: traitlets.TraitType) -> Any:
    """The Python type of a scalar traitlet."""
    if isinstance(trait, traitlets.Enum):
        kind: Any = Literal[tuple(trait.values)]
    elif isinstance(trait, traitlets.Bool):
        kind = bool
    elif isinstance(trait, traitlets.Int):
        kind = int
    elif isinstance(trait, traitlets.Float):
        kind = float
    elif isinstance(trait, traitlets.Unicode):
        kind = str
    else:
        raise TypeError(f"traitlet {trait.name!r} ({type(trait).__name__}) needs a type in TRAIT_TYPES")
    return kind | None if trait.allow_none else kind


def widget_classes() -> dict[str, type]:
    """The widget classes by view name."""
    from . import Canvas, Monitor, Playground, Runs

    return {"canvas": Canvas, "monitor": Monitor, "playground": Playground, "runs": Runs}


#: anywidget's own synced traitlets (the bundle and its id), set on each subclass.
_ANYWIDGET_TRAITS = frozenset({"_esm", "_css", "_anywidget_id"})


def synced_traits(cls: Any) -> dict[str, traitlets.TraitType]:
    """The synced traitlets SLaM Dunk declares on ``cls`` (ipywidgets' and anywidget's own are left out)."""
    return {
        name: trait
        for name, trait in cls.class_traits(sync=True).items()
        if trait.this_class.__module__.startswith("slamdunk_lab.") and name not in _ANYWIDGET_TRAITS
    }


def state_model(view: str) -> type[BaseModel]:
    """A pydantic model of what widget ``view`` syncs: one field per traitlet."""
    cls = widget_classes()[view]
    precise = TRAIT_TYPES[view]
    fields: dict[str, Any] = {}
    for name, trait in synced_traits(cls).items():
        kind = Literal[view] if name == "_view" else precise.get(name) or _scalar(trait)
        help_text = (trait.help or "").strip() or None
        # pydantic fields cannot start with "_": the JSON name (the alias) keeps it
        fields[name.lstrip("_")] = (kind, Field(alias=name, description=help_text))
    return create_model(f"{view.capitalize()}State", __base__=_Wire, **fields)


# ---------------------------------------------------------------------------------------------- messages
class _Msg(_Wire):
    """Base of the messages: a field with a default may be left out."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)


class Hello(_Msg):
    """The canvas view started; ``hook``: the page can insert cells (the JupyterLab extension is there)."""

    type: Literal["hello"]
    hook: bool


class LoadTemplate(_Msg):
    """The templates menu: replace the design by a template."""

    type: Literal["load_template"]
    name: str
    size: str


class InsertCellResult(_Msg):
    """What became of an ``insert_cell`` request."""

    type: Literal["insert_cell_result"]
    nonce: int
    ok: bool
    path: str | None = None
    index: int | None = None
    anchored: bool | None = None
    copied: bool | None = None
    error: str | None = None


class Stop(_Msg):
    """Stop button (monitor: the run after this step; playground: the generation)."""

    type: Literal["stop"]


class Sync(_Msg):
    """The monitor page missed points: send every point again."""

    type: Literal["sync"]


class Generate(_Msg):
    """Generate button: continue ``prompt``."""

    type: Literal["generate"]
    prompt: str


class Refresh(_Msg):
    """Read the runs again."""

    type: Literal["refresh"]


class FitView(_Msg):
    """Zoom the canvas so that every block is visible."""

    type: Literal["fit_view"]
    nonce: int


class Toast(_Msg):
    """A short message over the canvas."""

    type: Literal["toast"]
    nonce: int
    message: str


class InsertCell(_Msg):
    """Put ``code`` in a new cell below the widget (and run it when ``run``)."""

    type: Literal["insert_cell"]
    nonce: int
    code: str
    run: bool


class Append(_Msg):
    """New monitor points, written from index ``start`` on."""

    type: Literal["append"]
    start: int
    points: list[dict[str, Any]]


class Reset(_Msg):
    """Every monitor point (after a ``sync``, or a cleared monitor)."""

    type: Literal["reset"]
    points: list[dict[str, Any]]


class ExportCodeResponse(_Wire):
    """Answer of the canvas's ``_export_code`` command (anywidget ``invoke``): the cell's code, or why not."""

    ok: bool
    code: str | None = None
    error: str | None = None


class DesignFileResponse(_Wire):
    """Answer of the canvas's design-file commands (Save, Save as, Open): the bound file, or why not;
    ``exists``: Save as would replace another file (ask, then send ``overwrite``); ``files``: what Open offers."""

    ok: bool
    file: str | None = None
    error: str | None = None
    exists: bool | None = None
    files: list[str] | None = None


def _union(name: str, *members: type[_Msg]) -> type[RootModel]:
    kind = Annotated[Union[members], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    return type(name, (RootModel[kind],), {"__doc__": f"Messages: {', '.join(m.__name__ for m in members)}."})


#: Messages each view sends to Python, and the ones Python sends to it.
TO_PYTHON: dict[str, tuple[type[_Msg], ...]] = {
    "canvas": (Hello, LoadTemplate, InsertCellResult),
    "monitor": (Stop, Sync, InsertCellResult),
    "playground": (Generate, Stop, InsertCellResult),
    "runs": (Refresh, InsertCellResult),
}
TO_PAGE: dict[str, tuple[type[_Msg], ...]] = {
    "canvas": (FitView, Toast, InsertCell),
    "monitor": (Append, Reset, InsertCell),
    "playground": (InsertCell,),
    "runs": (InsertCell,),
}


def message_models() -> dict[str, type[RootModel]]:
    """The discriminated unions, named e.g. ``CanvasToPython`` and ``CanvasToPage``."""
    out = {}
    for view in TO_PYTHON:
        out[f"{view.capitalize()}ToPython"] = _union(f"{view.capitalize()}ToPython", *TO_PYTHON[view])
        out[f"{view.capitalize()}ToPage"] = _union(f"{view.capitalize()}ToPage", *TO_PAGE[view])
    return out


# ---------------------------------------------------------------------------------------------- constants
#: Edge ids written by Python, as (source, sourceHandle, target, targetHandle, id): the page's edgeId must agree.
def edge_id_examples() -> list[list[str | None]]:
    cases = [("tok_emb", "out", "ln_1", "in"), ("attn", "out", "add_1", "b"), ("x", None, "y", None),
             ("norm", "out", "mix", "a")]
    return [[s, sh, t, th, edge_id(s, t, sh, th)] for s, sh, t, th in cases]


def constants() -> list[tuple[str, Any, str]]:
    """(name, value, doc) of every constant the page reads from Python."""
    return [
        ("GRAPH_VERSION", 1, "Version of the graph format."),
        ("REACT_FLOW_FIELDS", sorted(CANVAS_FIELDS), "Fields React Flow adds to nodes and edges; never synced."),
        ("NODE_SIZE", NODE_SIZE, "Size of a block box before React Flow measures it."),
        ("GROUP_PADDING", GROUP_PADDING, "Room around the blocks inside a transformer block."),
        ("GROUP_MIN_SIZE", GROUP_MIN_SIZE, "The smallest transformer block box."),
        ("EDGE_ID_EXAMPLES", edge_id_examples(), "[source, sourceHandle, target, targetHandle, id] as Python writes edge ids."),
        ("GENERATION_SETTINGS_SCHEMA", GenerationSettings.model_json_schema(), "JSON Schema of the playground's settings form."),
        ("EXPORT_CODE_COMMAND", "_export_code", "The canvas's kernel command behind the Export code button."),
        ("DESIGN_COMMANDS", {"save": "_save_design", "list": "_list_designs", "open": "_open_design"},
         "The canvas's kernel commands behind Save / Save as and Open (answers: DesignFileResponse)."),
    ]


# ---------------------------------------------------------------------------------------------- TypeScript
def named_models() -> dict[str, type[BaseModel]]:
    """Every model that becomes a named TypeScript type."""
    models: dict[str, type[BaseModel]] = {
        "Graph": Graph, "Catalog": Catalog, "CatalogBlock": CatalogBlock, "TemplateRow": TemplateRow,
        "AnalysisResult": AnalysisResult, "AnalysisIssue": AnalysisIssue, "NodeAnalysis": NodeAnalysis,
        "GenerationSettings": GenerationSettings, "ProbRow": ProbRow, "AttentionData": AttentionData,
        "RunRow": RunRow, "DesignDiffRow": DesignDiffRow, "ParamRow": ParamRow,
        "ExportCodeResponse": ExportCodeResponse, "DesignFileResponse": DesignFileResponse,
    }
    for view in widget_classes():
        models[f"{view.capitalize()}State"] = state_model(view)
    models.update(message_models())
    return models


def typescript() -> str:
    """The text of ``js/shared/contract.ts``."""
    models = named_models()
    _, top = models_json_schema([(m, "serialization") for m in models.values()], ref_template="#/$defs/{model}")
    defs: dict[str, dict] = top.get("$defs", {})
    lines = [
        "/**",
        " * GENERATED from slamdunk_lab/widgets/contract.py — do not edit.",
        " * Regenerate with `python -m slamdunk_lab.widgets`; a test fails while it is stale.",
        " */",
        "/* eslint-disable */",
        "",
    ]
    for name in sorted(defs):
        lines += [ts.declaration(name, defs[name]), ""]
    lines += ["/** JSON of a monitor point: the step and one value per metric (null: not finite). */",
              "export type MonitorPoint = { step: number } & Record<string, number | null>;", ""]
    for name, value, doc in constants():
        lines += [ts.const(name, value, doc, literal=not name.endswith("_SCHEMA")), ""]
    return "\n".join(lines).rstrip() + "\n"


def catalog_fixture() -> str:
    """``sd.catalog()`` as JSON: the real catalogue the page's unit tests run on."""
    from ..blocks.catalog import catalog

    return json.dumps(catalog(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def generated_files() -> dict[Path, str]:
    """Every file generated from the contract, with its text."""
    return {CONTRACT_TS: typescript(), CATALOG_FIXTURE: catalog_fixture()}


def write() -> list[Path]:
    """Write the generated files; returns their paths."""
    out = []
    for path, text in generated_files().items():
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


__all__ = ["CONTRACT_TS", "GROUP_MIN_SIZE", "GROUP_PADDING", "NODE_SIZE", "constants", "named_models",
           "state_model", "typescript", "write"]
