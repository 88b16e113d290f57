"""Graph format v1: React Flow-shaped, round-trips unchanged, canvas fields ignored, unknown data refused."""

import copy
import json

import jsonschema
import pytest
from helpers import TEMPLATE_NAMES, node

import slamdunk_lab as sd
from slamdunk_lab.graph import schema


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
@pytest.mark.parametrize("size", ["tiny", "original"])
def test_template_round_trips_through_json_unchanged(name, size):
    g = sd.template(name, size=size)
    text = json.dumps(g)
    assert json.loads(text) == g
    parsed, issues = schema.parse(text)
    assert issues == []
    assert schema.to_json(parsed) == g
    assert sd.analyze(g).graph == g  # templates already carry every default


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_graph_validates_against_the_exported_json_schema(name):
    jsonschema.validate(sd.template(name, size="tiny"), sd.graph.json_schema())
    blocks = {b["type"]: b["schema"] for b in sd.catalog()["blocks"]}
    for n in sd.template(name, size="tiny")["nodes"]:
        jsonschema.validate(n["data"], blocks[n["type"]])


def test_canvas_fields_are_ignored():
    g = sd.template("gpt2", size="tiny")
    noisy = copy.deepcopy(g)
    for n in noisy["nodes"]:
        n.update(measured={"width": 180, "height": 40}, selected=True, dragging=False, width=180, height=40,
                 style={"background": "red"})
    for e in noisy["edges"]:
        e.update(selected=False, animated=True, style={"stroke": "blue"})
    a = sd.analyze(noisy)
    assert a.ok, a.errors
    assert a.graph == g


def test_unknown_data_field_is_an_error_naming_it():
    g = copy.deepcopy(sd.template("gpt2", size="tiny"))
    node(g, "attn")["data"]["n_head"] = 4  # a typo of n_heads
    (err,) = sd.analyze(g).errors
    assert (err.node_id, err.field) == ("attn", "n_head")
    assert "not a setting" in err.message and "n_heads" in err.message


def test_missing_data_fields_take_their_defaults():
    g = copy.deepcopy(sd.template("gpt2", size="tiny"))
    node(g, "attn")["data"] = {"n_heads": 4}
    a = sd.analyze(g)
    assert a.ok
    assert node(a.graph, "attn")["data"]["rope"] is False
    assert node(a.graph, "attn")["data"]["n_kv_heads"] is None


def test_no_block_type_uses_react_flow_reserved_names():
    types = {b["type"] for b in sd.catalog()["blocks"]}
    assert not types & {"input", "output", "default", "group"}
    g = copy.deepcopy(sd.template("gpt2", size="tiny"))
    node(g, "mlp")["type"] = "group"
    (err,) = sd.analyze(g).errors
    assert err.node_id == "mlp" and err.field == "type" and "React Flow" in err.message


def test_transformer_block_is_a_parent_node_with_children():
    g = sd.template("llama3", size="tiny", n_layer=3)
    group = node(g, "blocks")
    assert group["type"] == "transformerBlock" and group["data"]["repeat"] == 3
    children = [n["id"] for n in g["nodes"] if n.get("parentId") == "blocks"]
    assert children == ["ln_1", "attn", "add_1", "ln_2", "mlp", "add_2"]


def test_residuals_are_explicit_add_nodes_with_two_inputs():
    g = sd.template("gpt2", size="tiny")
    into_add = sorted((e["source"], e["targetHandle"]) for e in g["edges"] if e["target"] == "add_1")
    assert into_add == [("attn", "b"), ("pos_emb", "a")]
