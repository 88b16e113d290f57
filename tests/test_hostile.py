"""Whatever a user puts in a graph, analyze and build answer with GraphErrors that name nodes — never a crash."""

import copy
import json
import math

import pytest
import torch
from helpers import chain, node

import slamdunk_lab as sd

BASE = sd.template("gpt2", size="tiny", n_layer=2)


def mutate(fn):
    g = copy.deepcopy(BASE)
    fn(g)
    return g


def _cycle(g):
    g["nodes"].append({"id": "extra", "type": "layerNorm", "position": {"x": 0, "y": 0}, "data": {}})
    for e in g["edges"]:
        if e["target"] == "ln_f":
            e["source"] = "extra"
    g["edges"] += [{"id": "c1", "source": "ln_f", "target": "extra"}]


def _self_loop(g):
    g["edges"] = [e for e in g["edges"] if e["target"] != "ln_2"] + [{"id": "s", "source": "ln_2", "target": "ln_2"}]


def _nested_groups(g):
    g["nodes"].append({"id": "outer", "type": "transformerBlock", "position": {"x": 0, "y": 0},
                       "data": {"repeat": 2}})
    node(g, "blocks")["parentId"] = "outer"


def _parent_chain(g):
    for i in range(300):
        g["nodes"].append({"id": f"p{i}", "type": "transformerBlock", "position": {"x": 0, "y": 0},
                           "data": {}, "parentId": f"p{i + 1}"})


def _two_entries(g):
    g["edges"] = [e for e in g["edges"] if e["id"] != "e-pos_emb-add_1-a"]
    g["edges"].append({"id": "x", "source": "tok_emb", "target": "add_1", "targetHandle": "a"})


HOSTILE = {
    "cycle": (_cycle, {"extra", "ln_f"}),
    "self loop": (_self_loop, {"ln_2"}),
    "no tokens": (lambda g: g["nodes"].pop(0), None),
    "two logits": (lambda g: g["nodes"].append({"id": "l2", "type": "logits", "data": {}}), {"l2"}),
    "unreachable node": (lambda g: g["nodes"].append({"id": "lonely", "type": "dropout", "data": {}}), {"lonely"}),
    "edge to missing node": (lambda g: g["edges"].append({"id": "m", "source": "ghost", "target": "ln_f"}),
                             {"ln_f"}),
    "edge to missing handle": (lambda g: g["edges"][1].update(targetHandle="nope"), {"pos_emb"}),
    "edge from missing handle": (lambda g: g["edges"][1].update(sourceHandle="nope"), {"tok_emb"}),
    "edge into the group itself": (lambda g: g["edges"].append({"id": "gg", "source": "ln_f", "target": "blocks"}),
                                   {"blocks"}),
    "unknown type": (lambda g: node(g, "mlp").update(type="transformer"), {"mlp"}),
    "reserved type": (lambda g: node(g, "mlp").update(type="default"), {"mlp"}),
    "nan": (lambda g: node(g, "ln_1")["data"].update(eps=math.nan), {"ln_1"}),
    "inf": (lambda g: node(g, "attn")["data"].update(rope_base=math.inf), {"attn"}),
    "negative": (lambda g: node(g, "mlp")["data"].update(hidden_dim=-1), {"mlp"}),
    "zero": (lambda g: node(g, "tok_emb")["data"].update(d_model=0), {"tok_emb"}),
    "absurd width": (lambda g: node(g, "tok_emb")["data"].update(d_model=10**12), {"tok_emb"}),
    "absurd repeat": (lambda g: node(g, "blocks")["data"].update(repeat=10**6), {"blocks"}),
    "string number": (lambda g: node(g, "attn")["data"].update(n_heads="4"), {"attn"}),
    "float for int": (lambda g: node(g, "attn")["data"].update(n_heads=4.5), {"attn"}),
    "list value": (lambda g: node(g, "attn")["data"].update(dropout=[0.1]), {"attn"}),
    "dict value": (lambda g: node(g, "attn")["data"].update(rope={"on": True}), {"attn"}),
    "null required": (lambda g: node(g, "attn")["data"].update(n_heads=None), {"attn"}),
    "data not a dict": (lambda g: node(g, "attn").update(data=[1, 2]), {"attn"}),
    "missing type": (lambda g: node(g, "attn").pop("type"), {"attn"}),
    "id not a string": (lambda g: g["nodes"].append({"id": 5, "type": "dropout"}), None),
    "duplicate id": (lambda g: g["nodes"].append(copy.deepcopy(node(g, "mlp"))), {"mlp"}),
    "nan position": (lambda g: node(g, "mlp").update(position={"x": math.nan, "y": 0}), {"mlp"}),
    "nested groups": (_nested_groups, {"blocks"}),
    "300-deep parent chain": (_parent_chain, None),
    "parent is not a group": (lambda g: node(g, "ln_f").update(parentId="mlp"), {"ln_f"}),
    "two streams into a block": (_two_entries, {"blocks"}),
    "vocab mismatch": (lambda g: node(g, "lm_head")["data"].update(vocab_size=300), {"lm_head"}),
    "heads do not divide": (lambda g: node(g, "attn")["data"].update(n_heads=3), {"attn"}),
    "kv heads do not divide": (lambda g: node(g, "attn")["data"].update(n_kv_heads=3), {"attn"}),
    "odd head dim with rope": (lambda g: node(g, "attn")["data"].update(rope=True, head_dim=7), {"attn"}),
    "tokens into a norm": (lambda g: g["edges"][0].update(target="ln_1"), None),
    "shape mismatch at add": (lambda g: node(g, "mlp").update(type="linear", data={"out_features": 64}), {"add_2"}),
    "huge string id": (lambda g: node(g, "mlp").update(id="x" * 10_000), None),
    "nodes not a list": (lambda g: g.update(nodes="abc"), None),
    "edges not a list": (lambda g: g.update(edges={"a": 1}), None),
    "version 2": (lambda g: g.update(version=2), None),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_graph_gives_only_graph_errors_naming_nodes(name):
    fn, expected_nodes = HOSTILE[name]
    g = mutate(fn)
    a = sd.analyze(g)
    assert not a.ok
    assert a.errors and all(isinstance(e, sd.GraphIssue) and e.message for e in a.errors)
    assert not any("internal" in e.message for e in a.errors)
    if expected_nodes is not None:
        assert expected_nodes <= {e.node_id for e in a.errors}, a.errors
    with pytest.raises(sd.GraphError) as info:
        sd.build(g)
    assert info.value.errors == a.errors
    json.dumps([e.to_json() for e in a.errors])  # the canvas can show them


def test_errors_come_all_at_once():
    g = mutate(lambda g: [node(g, "attn")["data"].update(n_heads=3), node(g, "mlp")["data"].update(bias="yes"),
                          node(g, "lm_head")["data"].update(vocab_size=999),
                          g["nodes"].append({"id": "stray", "type": "??"})])
    found = {(e.node_id, e.field) for e in sd.analyze(g).errors}
    assert {("attn", "n_heads"), ("mlp", "bias"), ("lm_head", "vocab_size"), ("stray", "type")} <= found


def test_shape_mismatch_message_names_both_shapes():
    g = mutate(lambda g: node(g, "mlp").update(type="linear", data={"out_features": 64}))
    (err,) = sd.analyze(g).errors
    assert "(B, T, 128)" in err.message and "(B, T, 64)" in err.message


def test_not_json_at_all():
    for raw in (None, 42, "not json", [1, 2], b"\xff\xfe", "[" * 100_000):
        with pytest.raises(sd.GraphError):
            sd.build(raw)


def test_ten_thousand_node_chain_is_analysed():
    g = chain(*[("dropout", {"p": 0.0})] * 10_000)
    a = sd.analyze(g)
    assert a.ok and len(a.nodes) == 10_004
    broken = copy.deepcopy(g)
    broken["edges"] = broken["edges"][::2]  # every other connection missing
    errors = sd.analyze(broken).errors
    assert len(errors) > 4000 and all(e.node_id for e in errors)


def test_huge_design_is_refused_before_allocation():
    g = mutate(lambda g: [node(g, "tok_emb")["data"].update(d_model=65536, vocab_size=10_000_000),
                          node(g, "lm_head")["data"].update(vocab_size=10_000_000)])
    a = sd.analyze(g)
    assert a.ok and a.params > 2e9
    assert any(w.field == "params" for w in a.warnings)
    with pytest.raises(sd.GraphError, match="parameters, more than"):
        sd.build(g)


def test_build_refuses_a_graph_analysed_as_bad_but_keeps_the_input_unchanged():
    g = mutate(lambda g: node(g, "attn")["data"].update(n_heads=3))
    before = copy.deepcopy(g)
    with pytest.raises(sd.GraphError):
        sd.build(g)
    assert g == before  # bad input loses nothing


def test_model_forward_rejects_out_of_range_tokens_clearly():
    model = sd.build(BASE)
    with pytest.raises(IndexError):
        model(torch.full((1, 4), 999))


def test_mid_edit_graph_still_reports_shapes_of_its_well_formed_part():
    """A block dropped on the canvas but not yet connected must not blank every shape and size."""
    g = mutate(lambda g: g["nodes"].append({"id": "new_ff", "type": "feedForward", "data": {}}))
    a = sd.analyze(g)
    assert not a.ok and {e.node_id for e in a.errors} == {"new_ff"}
    assert a.nodes["attn"].shape == ("B", "T", 128)
    assert a.params == sd.analyze(BASE).params
    assert a.nodes["new_ff"].shape is None
    with pytest.raises(sd.GraphError):
        sd.build(g)
