"""The page's contract (slamdunk_lab.widgets.contract → js/shared/contract.ts) never falls behind Python."""

from __future__ import annotations

import inspect

import pytest
from pydantic import ValidationError

import slamdunk_lab as sd
from slamdunk_lab import generation
from slamdunk_lab.graph.schema import edge_id, make_edge, parse
from slamdunk_lab.sampling import MAX_SEED, GenerationSettings
from slamdunk_lab.widgets import contract
from slamdunk_lab.widgets import _typescript as ts


def test_generated_files_are_up_to_date():
    for path, text in contract.generated_files().items():
        assert path.is_file(), f"{path} is missing: run `python -m slamdunk_lab.widgets`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run `python -m slamdunk_lab.widgets` (and commit the result)"
        )


@pytest.mark.parametrize("view", sorted(contract.widget_classes()))
def test_every_synced_traitlet_is_in_the_contract_with_a_precise_type(view):
    cls = contract.widget_classes()[view]
    traits = contract.synced_traits(cls)
    model = contract.state_model(view)
    assert {f.alias for f in model.model_fields.values()} == set(traits)
    # containers need their element types stated; a new Dict/List traitlet must be typed in TRAIT_TYPES
    loose = [n for n, t in traits.items() if isinstance(t, (sd.widgets.canvas.traitlets.Dict,
                                                          sd.widgets.canvas.traitlets.List))
             and n not in contract.TRAIT_TYPES[view]]
    assert loose == [], f"type {loose} of the {view} widget in contract.TRAIT_TYPES"
    # nothing is typed that is not a traitlet any more
    assert set(contract.TRAIT_TYPES[view]) <= set(traits)


def _state(widget) -> dict:
    return {name: getattr(widget, name) for name in contract.synced_traits(type(widget))}


def test_widget_states_match_the_contract():
    canvas = sd.Canvas(template="llama3", size="tiny")
    contract.state_model("canvas").model_validate(_state(canvas))
    empty = sd.Canvas()
    contract.state_model("canvas").model_validate(_state(empty))
    monitor = sd.widgets.Monitor(title="t", total_steps=10)
    contract.state_model("monitor").model_validate(_state(monitor))
    runs = {"_view": "runs", "_anchor": "", "language": "auto", "rows": [], "selected": [], "curves": {"r": {"loss": [[0, 1.5]]}},
            "design_diff": [], "params_diff": [], "error": "", "loading": False, "tracking_uri": "", "height": 260}
    contract.state_model("runs").model_validate(runs)
    with pytest.raises(ValidationError):  # a row the page cannot read is refused
        contract.state_model("runs").model_validate({**runs, "rows": [{"run_id": "r"}]})


def test_catalogue_analysis_and_templates_match_the_contract():
    contract.Catalog.model_validate(sd.catalog())
    for row in sd.templates():
        graph = sd.template(row["name"], size=row["size"])
        contract.AnalysisResult.model_validate(sd.analyze(graph).to_json())
    broken = sd.template("gpt2", size="tiny")
    broken["edges"] = broken["edges"][1:]
    result = sd.analyze(broken).to_json()
    assert result["errors"]
    contract.AnalysisResult.model_validate(result)
    # a key added on the Python side without the contract fails here
    with pytest.raises(ValidationError):
        contract.CatalogBlock.model_validate({**sd.catalog()["blocks"][0], "new_key": 1})


def test_messages_each_way_match_the_handlers():
    for view, cls in contract.widget_classes().items():
        handled = {name[len("_on_msg_"):] for name in dir(cls) if name.startswith("_on_msg_")}
        declared = {m.model_fields["type"].annotation.__args__[0] for m in contract.TO_PYTHON[view]}
        assert handled == declared, view
    unions = contract.message_models()
    unions["CanvasToPython"].model_validate({"type": "load_template", "name": "gpt2", "size": "tiny"})
    with pytest.raises(ValidationError):
        unions["CanvasToPython"].model_validate({"type": "load_template", "name": "gpt2"})
    with pytest.raises(ValidationError):
        unions["MonitorToPython"].model_validate({"type": "generate", "prompt": "x"})


def test_messages_python_sends_match_the_contract(monkeypatch):
    canvas = sd.Canvas(template="gpt2", size="tiny")
    monitor = sd.widgets.Monitor(total_steps=3, interval=0)
    sent: list[tuple[str, dict]] = []
    for name, widget in (("Canvas", canvas), ("Monitor", monitor)):
        monkeypatch.setattr(widget, "send", lambda content, buffers=None, n=name: sent.append((n, content)))
    canvas.fit_view()
    canvas.insert_cell_below("x = 1", run=True)
    canvas._on_msg_load_template({"type": "load_template", "name": "nope", "size": "tiny"})  # → a toast
    monitor.log(0, loss=2.0)
    monitor.log(1, loss=float("nan"))
    monitor.flush()
    monitor._on_msg_sync({"type": "sync"})
    unions = contract.message_models()
    assert {c["type"] for _, c in sent} >= {"fit_view", "insert_cell", "toast", "append", "reset"}
    for name, content in sent:
        unions[f"{name}ToPage"].model_validate(content)


def test_export_code_answer_matches_the_contract():
    canvas = sd.Canvas(template="gpt2", size="tiny")
    answer, buffers = canvas._export_code({}, [])
    contract.ExportCodeResponse.model_validate(answer)
    assert answer["ok"] and buffers == []


def test_python_writes_one_edge_id_format():
    for source, sh, target, th, expected in contract.edge_id_examples():
        assert edge_id(source, target, sh, th) == expected
    # templates and the seed import write the same ids, and a graph without edge ids gets them
    assert make_edge("attn", "add_1", "b")["id"] == edge_id("attn", "add_1", "out", "b")
    assert make_edge("ln_1", "attn")["id"] == edge_id("ln_1", "attn")
    graph, _ = parse({"nodes": [{"id": "a", "type": "x"}, {"id": "b", "type": "y"}],
                      "edges": [{"source": "a", "target": "b", "targetHandle": "b"}]})
    assert graph.edges[0].id == "e-a-b-b"


def _accepted(**settings) -> bool:
    """Whether sd.generate's own checks take these settings."""
    values = {**GenerationSettings().model_dump(), **settings}
    seed = values.pop("seed")
    try:
        generation._check_settings(**values)
        generation._check_seed(seed)
        return True
    except ValueError:
        return False


def _valid(**settings) -> bool:
    try:
        GenerationSettings(**settings)
        return True
    except ValidationError:
        return False


@pytest.mark.parametrize(
    "settings",
    [{"max_new_tokens": 0}, {"max_new_tokens": -1}, {"temperature": 0}, {"temperature": -0.1},
     {"temperature": 50.0}, {"top_k": 0}, {"top_k": -1}, {"top_k": None}, {"top_p": 1}, {"top_p": 0},
     {"top_p": 1.01}, {"repetition_penalty": 0}, {"repetition_penalty": 0.01}, {"seed": 0}, {"seed": -1},
     {"seed": MAX_SEED}, {"seed": MAX_SEED + 1}, {"seed": None}],
)
def test_generation_settings_bounds_are_what_generate_accepts(settings):
    """The playground's form (GenerationSettings' schema) allows exactly what sd.generate accepts."""
    assert _valid(**settings) == _accepted(**settings), settings


def test_generation_defaults_are_generate_defaults_and_the_form_reads_them():
    defaults = {k: p.default for k, p in inspect.signature(sd.generate).parameters.items()
                if k in GenerationSettings.model_fields}
    assert defaults == GenerationSettings().model_dump()
    form = next(v for n, v, _ in contract.constants() if n == "GENERATION_SETTINGS_SCHEMA")
    assert set(form["properties"]) == set(GenerationSettings.model_fields)
    assert form["properties"]["top_k"]["anyOf"][0]["minimum"] == 0
    assert sd.widgets.playground.DEFAULT_SETTINGS == GenerationSettings(max_new_tokens=64).model_dump()


def test_typescript_of_the_schema_constructs_we_use():
    assert ts.ts_type({"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}]}) == "[number, string]"
    assert ts.ts_type({"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}) == "A | null"
    assert ts.ts_type({"enum": ["a", "b"]}) == '"a" | "b"'
    assert ts.ts_type({"type": "object", "additionalProperties": {"type": "integer"}}) == "Record<string, number>"
    assert ts.ts_type({"type": "object", "additionalProperties": False}) == "Record<string, never>"
    assert ts.ts_type({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}) == \
        "(string | number)[]"
    text = ts.declaration("P", {"type": "object", "description": "A point.", "required": ["x"],
                                "properties": {"x": {"type": "number"}, "y-z": {"type": "string"}}})
    assert text == '/** A point. */\nexport interface P {\n  x: number;\n  "y-z"?: string;\n}'
    with pytest.raises(ts.SchemaError):  # never silently unknown
        ts.ts_type({"type": "string", "not": {"const": "x"}})
