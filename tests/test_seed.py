"""sd.graph.from_seed: designs saved by the original student project become faithful v1 graphs.

The payloads in tests/data/seed/ are written by hand from shared/seed-format.md. Where a payload mirrors one of
our templates, the converted model is checked against the template's model weight for weight (same logits),
which proves the residual wiring, norms, RoPE settings and head tying, not just the parameter count.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import node

import slamdunk_lab as sd
from slamdunk_lab.blocks.modules import ForwardContext
from slamdunk_lab.errors import GraphError

SEEDS = Path(__file__).parent / "data" / "seed"
DESIGNS = ["gpt2", "llama3", "qwen3", "old_mode", "rotary"]


def seed(name: str) -> dict:
    return json.loads((SEEDS / f"{name}.json").read_text())


def layer(payload: dict, layer_id: str) -> dict:
    """The LayerNode with ``data.id == layer_id`` anywhere in the payload (top level or a block's children)."""
    stack = list(payload["model"])
    while stack:
        item = stack.pop()
        if item["data"].get("id") == layer_id:
            return item
        stack.extend(item.get("children", []))
    raise KeyError(layer_id)


def with_data(name_or_payload, layer_id: str, **data) -> dict:
    payload = copy.deepcopy(seed(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload)
    layer(payload, layer_id)["data"].update(data)
    return payload


def issues(payload) -> list:
    with pytest.raises(GraphError) as info:
        sd.graph.from_seed(payload)
    return info.value.errors


def built(graph: dict, seed_: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed_)
    return sd.build(graph).eval()


def copy_weights(src: torch.nn.Module, dst: torch.nn.Module) -> None:
    """Copy weights between two models whose state dicts list the same tensors in the same order."""
    pairs = list(zip(src.state_dict().items(), dst.state_dict().items(), strict=True))
    with torch.no_grad():
        for (ks, vs), (kd, vd) in pairs:
            assert vs.shape == vd.shape, (ks, kd)
            vd.copy_(vs)


# --------------------------------------------------------------------------------------------- whole designs
@pytest.mark.parametrize("name", DESIGNS)
def test_every_example_design_converts_to_a_valid_graph(name):
    graph = sd.graph.from_seed(seed(name))
    analysis = sd.analyze(graph)
    assert analysis.ok, analysis.errors
    assert json.loads(json.dumps(graph)) == graph  # plain JSON data
    assert analysis.graph == graph  # every default already filled in, nothing for the analysis to change


@pytest.mark.parametrize("name", DESIGNS)
def test_json_text_is_accepted_as_well_as_a_dict(name):
    assert sd.graph.from_seed((SEEDS / f"{name}.json").read_text()) == sd.graph.from_seed(seed(name))


def test_gpt2_design_maps_every_field():
    graph = sd.graph.from_seed(seed("gpt2"))
    assert graph["name"] == "ex1"
    assert [n["id"] for n in graph["nodes"]] == ["tokens", "tok_emb", "pos_emb", "drop_emb", "blocks", "ln1",
                                                 "attn", "res1", "ln2", "ff", "res2", "ln_f", "out_head", "logits"]
    assert node(graph, "tokens")["data"] == {"context": 32}
    assert node(graph, "tok_emb")["data"] == {"vocab_size": 50257, "d_model": 128}
    assert node(graph, "pos_emb")["data"] == {"kind": "learned", "positions": None}  # ctxLength = the context
    assert node(graph, "drop_emb")["data"] == {"p": 0.1}
    assert node(graph, "blocks")["data"] == {"repeat": 2, "share_weights": False}  # numOfBlocks beats n_blocks
    attn = node(graph, "attn")["data"]
    assert (attn["n_heads"], attn["qkv_bias"], attn["dropout"], attn["rope"]) == (2, False, 0.1, False)
    assert node(graph, "ff")["data"] == {"activation": "gelu", "hidden_dim": 512, "bias": True}  # exact, as F.gelu
    assert node(graph, "ln1")["type"] == "layerNorm"
    assert node(graph, "out_head")["type"] == "lmHead"
    assert node(graph, "out_head")["data"] == {"vocab_size": 50257, "bias": False, "tie_weights": True}
    # UI fields of the original canvas never reach our data.
    assert not any({"label", "isCollapsed", "isLocked", "hideHandles", "isTarget"} & n["data"].keys()
                   for n in graph["nodes"])


def test_block_children_sit_inside_their_group_top_to_bottom():
    graph = sd.graph.from_seed(seed("gpt2"))
    kids = [n for n in graph["nodes"] if n.get("parentId") == "blocks"]
    assert [n["id"] for n in kids] == ["ln1", "attn", "res1", "ln2", "ff", "res2"]
    ys = [n["position"]["y"] for n in kids]
    assert ys == sorted(ys) and len(set(ys)) == len(ys) and ys[0] >= 0  # relative to the group
    tops = [n for n in graph["nodes"] if "parentId" not in n]
    top_ys = [n["position"]["y"] for n in tops]
    assert top_ys == sorted(top_ys)
    group_y = node(graph, "blocks")["position"]["y"]
    assert node(graph, "ln_f")["position"]["y"] > group_y + max(ys)  # the group does not overlap what follows


def test_residual_wiring_adds_the_input_of_its_source():
    graph = sd.graph.from_seed(seed("gpt2"))
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    assert all(e["sourceHandle"] == "out" for e in graph["edges"])
    assert into[("ln1", "in")] == "drop_emb"
    assert (into[("res1", "a")], into[("res1", "b")]) == ("drop_emb", "attn")  # x + attn(ln1(x))
    assert (into[("res2", "a")], into[("res2", "b")]) == ("res1", "ff")  # h + ff(ln2(h))
    assert into[("ln_f", "in")] == "res2"
    assert into[("logits", "in")] == "out_head"


# --------------------------------------------------------------------------------------------- distinct layers
@pytest.mark.parametrize("name, prefix", [("gpt2", "blocks"), ("llama3", "blocks"), ("old_mode", "layer")])
def test_each_repeat_is_a_distinct_layer_with_its_own_weights(name, prefix):
    payload = seed(name)
    repeat = next(i for i in payload["model"] if i["type"] == "transformerBlock")["data"]["numOfBlocks"]
    graph = sd.graph.from_seed(payload)
    assert sd.analyze(graph).n_layers == repeat
    model = built(graph)
    layers = getattr(model, prefix)
    assert len(layers) == repeat
    attn = "attn" if name != "old_mode" else "mha"
    weights = [getattr(layers[i], attn).qkv_proj.weight for i in range(repeat)]
    for i in range(repeat):
        assert f"{prefix}.{i}.{attn}.qkv_proj.weight" in model.state_dict()
        for j in range(i):
            assert weights[i] is not weights[j]
            assert weights[i].data_ptr() != weights[j].data_ptr()
            assert not torch.equal(weights[i], weights[j])  # initialised independently


def test_parameter_count_counts_every_repeat():
    one = sd.analyze(sd.graph.from_seed(with_data("gpt2", "blocks", numOfBlocks=1))).params
    two = sd.analyze(sd.graph.from_seed(seed("gpt2"))).params
    three = sd.analyze(sd.graph.from_seed(with_data("gpt2", "blocks", numOfBlocks=3))).params
    assert two - one == three - two > 0


def test_a_missing_numofblocks_means_one_as_in_the_original_and_says_so():
    payload = seed("gpt2")
    del layer(payload, "blocks")["data"]["numOfBlocks"]
    payload["config"]["n_blocks"] = 3  # config never shapes the model: the original read the nodes only
    graph, notes = sd.graph.from_seed(payload, report=True)
    assert node(graph, "blocks")["data"]["repeat"] == 1
    assert any(n.node_id == "blocks" and n.field == "numOfBlocks" and "config.n_blocks = 3" in n.message
               for n in notes)


# --------------------------------------------------------------------------------------------- residuals
def _zero(*linears) -> None:
    with torch.no_grad():
        for lin in linears:
            lin.weight.zero_()
            if lin.bias is not None:
                lin.bias.zero_()


@pytest.mark.parametrize("name, norm, attn, mlp, out", [
    ("gpt2", "ln1", "attn", "ff", "fc_out"),
    ("llama3", "norm1", "attn", "ff", "down_proj"),
    ("qwen3", "norm1", "attn", "ff", "down_proj"),
    ("old_mode", "n1", "mha", "mlp", "fc_out"),
])
def test_every_residual_is_a_real_skip_of_the_pre_norm_input(name, norm, attn, mlp, out):
    model = built(sd.graph.from_seed(seed(name)))
    group = "layer" if name == "old_mode" else "blocks"
    layer0 = getattr(model, group)[0]
    seen = {}
    layer0.register_forward_hook(lambda m, args, result: seen.update(x=args[0], y=result))
    idx = torch.randint(0, model.vocab_size, (2, 12))

    # Sub-layers that output zero: the block must hand on exactly what came in (so each add carries x).
    _zero(getattr(layer0, attn).out_proj, getattr(getattr(layer0, mlp), out))
    model(idx)
    x = seen["x"]
    torch.testing.assert_close(seen["y"], x)
    assert not torch.allclose(getattr(layer0, norm)(x), x, atol=1e-3)  # the normalised value is different

    # With attention back on: y = x + attn(norm(x)), the pre-norm x, not norm(x).
    fresh = built(sd.graph.from_seed(seed(name)), seed_=1)
    layer0 = getattr(fresh, group)[0]
    layer0.register_forward_hook(lambda m, args, result: seen.update(x=args[0], y=result))
    _zero(getattr(getattr(layer0, mlp), out))
    fresh(idx)
    x = seen["x"]
    a = getattr(layer0, attn)(getattr(layer0, norm)(x), ForwardContext())
    torch.testing.assert_close(seen["y"], x + a)
    assert not torch.allclose(seen["y"], getattr(layer0, norm)(x) + a, atol=1e-3)


def test_residual_source_may_be_the_first_layer_of_the_block_or_any_earlier_one():
    payload = with_data("gpt2", "res2", source="ln1")  # skip over the whole block: x + ff(ln2(x + attn))
    graph = sd.graph.from_seed(payload)
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    assert (into[("res2", "a")], into[("res2", "b")]) == ("drop_emb", "ff")
    assert sd.analyze(graph).ok


@pytest.mark.parametrize("source, words", [
    ("nowhere", ["res1", "nowhere", "does not name"]),
    ("ln2", ["res1", "ln2", "after"]),  # later in the same block
    ("pos_emb", ["res1", "pos_emb", "same block"]),  # outside the block
    ("res1", ["res1", "itself"]),
])
def test_a_residual_with_a_bad_source_fails_naming_the_residual(source, words):
    (issue,) = issues(with_data("gpt2", "res1", source=source))
    assert (issue.node_id, issue.field) == ("res1", "source")
    for word in words:
        assert word in str(issue)


# --------------------------------------------------------------------------------------------- rope and positions
def test_rotary_node_turns_rope_on_in_every_attention_that_follows():
    graph = sd.graph.from_seed(seed("rotary"))
    assert node(graph, "rope")["data"] == {"kind": "none", "positions": None}
    assert node(graph, "attn")["data"]["rope"] is True  # although gpt-2 attention has no RoPE by default
    model = built(graph)
    assert all(block.attn.rope for block in model.blocks)
    without = copy.deepcopy(seed("rotary"))
    without["model"].pop(1)  # drop the rotary node: same weights, no positions at all
    plain = built(sd.graph.from_seed(without))
    copy_weights(model, plain)
    idx = torch.randint(0, 128, (1, 10))
    assert not torch.allclose(model(idx), plain(idx))  # the rotation really happens


def test_attention_before_a_rotary_node_keeps_its_own_setting():
    payload = seed("rotary")
    early = copy.deepcopy(layer(payload, "blocks"))
    early["data"]["id"] = "early"
    for child in early["children"]:
        child["data"]["id"] = "early_" + child["data"]["id"]
        if child["type"] == "residual":
            child["data"]["source"] = "early_" + child["data"]["source"]
    payload["model"].insert(1, early)  # a block before the rotary node
    graph = sd.graph.from_seed(payload)
    assert node(graph, "early_attn")["data"]["rope"] is False
    assert node(graph, "attn")["data"]["rope"] is True
    assert sd.analyze(graph).ok


@pytest.mark.parametrize("field, value, kind", [
    ("mode", "learned", "learned"), ("mode", "sinusoidal", "sinusoidal"), ("mode", "rotary", "none"),
    ("posType", "Sinusoidal Positional Embedding", "sinusoidal"), ("posType", "Learned Positional Embedding",
                                                                   "learned"),
])
def test_positional_type_from_postype_or_the_older_mode(field, value, kind):
    payload = seed("old_mode")
    data = layer(payload, "positions")["data"]
    data.pop("mode")
    data[field] = value
    graph = sd.graph.from_seed(payload)
    assert node(graph, "positions")["data"] == {"kind": kind, "positions": None}
    assert node(graph, "mha")["data"]["rope"] is (kind == "none")
    assert sd.analyze(graph).ok


@pytest.mark.parametrize("field, value", [("posType", "Relative Positional Embedding"), ("mode", "relative")])
def test_relative_positions_become_a_t5_bias_in_every_attention_that_follows(field, value):
    payload = seed("old_mode")
    data = layer(payload, "positions")["data"]
    data.pop("mode")
    data[field] = value
    graph, notes = sd.graph.from_seed(payload, report=True)
    assert node(graph, "positions")["data"]["kind"] == "none"
    assert node(graph, "mha")["data"]["position_bias"] == "t5" and node(graph, "mha")["data"]["rope"] is False
    assert any(n.node_id == "positions" and "learned position table" in n.message for n in notes)
    model = built(graph)
    assert model.layer[0].mha.relative_bias.weight.shape == (32, 4)
    assert sd.analyze(graph).ok


def test_llama3_rope_settings_come_from_ropeconfig_and_config():
    graph = sd.graph.from_seed(seed("llama3"))
    attn = node(graph, "attn")["data"]
    assert attn["rope"] is True and attn["rope_base"] == 500000.0 and attn["n_kv_heads"] == 2
    assert (attn["rope_scaling"], attn["rope_factor"], attn["rope_low_freq_factor"], attn["rope_high_freq_factor"],
            attn["rope_original_context"]) == ("llama3", 8.0, 1.0, 4.0, 8192)
    # The same numbers given as config.rope_config instead of on the node.
    payload = seed("llama3")
    payload["config"]["rope_config"] = layer(payload, "attn")["data"].pop("ropeConfig")
    assert node(sd.graph.from_seed(payload), "attn")["data"] == attn


def test_qwen3_qk_norm_and_head_dim():
    graph = sd.graph.from_seed(seed("qwen3"))
    attn = node(graph, "attn")["data"]
    assert (attn["qk_norm"], attn["qk_norm_eps"], attn["head_dim"], attn["n_kv_heads"]) == (True, 1e-6, 32, 2)
    assert attn["rope"] is True and attn["rope_base"] == 1_000_000.0
    assert node(graph, "norm1")["data"] == {"eps": 1e-6}  # the Qwen3 family's RMSNorm epsilon
    model = built(graph)
    assert model.blocks[0].attn.q_norm.weight.shape == (32,)


def test_gqa_outdim_may_name_the_inner_width_when_headdim_is_explicit():
    payload = with_data("qwen3", "attn", headDim=16, outDim=64)  # 4 heads × 16
    graph = sd.graph.from_seed(payload)
    assert node(graph, "attn")["data"]["head_dim"] == 16
    assert sd.analyze(graph).ok


# --------------------------------------------------------------------------------------------- feed-forward
@pytest.mark.parametrize("kind, act, activation", [
    ("Standard", "ReLU", "relu"), ("Standard", "GELU", "gelu"), ("Standard", "Mish", "mish"),
    ("Gated", "SwiGLU", "swiglu"), ("Standard", "SwiGLU", "swiglu"), ("Gated", "GELU", "geglu"),
    ("Standard", "SiLU", "silu"), ("Standard", "Swish", "silu"), ("Standard", "leaky", "leaky_relu"),
    ("Gated", "ReLU", "reglu"), ("Gated", "SiLU", "swiglu"), ("Gated", "Swish", "swiglu"),
    ("Gated", "leaky", "leaky_reglu"),
])
def test_feed_forward_type_and_activation(kind, act, activation):
    graph = sd.graph.from_seed(with_data("old_mode", "mlp", feedForwardType=kind, actFunc=act))
    assert node(graph, "mlp")["data"]["activation"] == activation
    assert sd.analyze(graph).ok


def test_mish_builds_and_runs():
    graph = sd.graph.from_seed(seed("rotary"))
    assert node(graph, "ff")["data"]["activation"] == "mish"
    model = built(graph)
    assert isinstance(model.blocks[0].ff.act, torch.nn.Mish)
    logits = model(torch.randint(0, 128, (2, 9)))
    assert logits.shape == (2, 9, 128) and torch.isfinite(logits).all()


@pytest.mark.parametrize("act", ["Mish"])
def test_gated_feed_forward_without_a_block_fails_naming_the_node(act):
    (issue,) = issues(with_data("old_mode", "mlp", feedForwardType="Gated", actFunc=act))
    assert (issue.node_id, issue.field) == ("mlp", "actFunc")
    assert act in issue.message and "Gated" in issue.message


# --------------------------------------------------------------------------------------------- equivalence
def _like_the_seed(seed_graph: dict, template_graph: dict) -> dict:
    """The template with the settings the import takes from the original (norm eps, exact GELU, the output
    bias following qkvBias, QK-norm after RoPE) copied over, node by node in order of type."""
    for type_ in ("layerNorm", "rmsNorm", "attention", "feedForward"):
        mine = [n for n in seed_graph["nodes"] if n["type"] == type_]
        theirs = [n for n in template_graph["nodes"] if n["type"] == type_]
        for a, b in zip(mine, theirs, strict=True):
            for key in ("eps", "out_bias", "qk_norm_order", "activation"):
                if key in a["data"]:
                    b["data"][key] = a["data"][key]
    return template_graph


def _same_logits(seed_graph: dict, template_graph: dict) -> None:
    template_graph = _like_the_seed(seed_graph, template_graph)
    a, b = built(seed_graph, 0), built(template_graph, 1)
    assert sd.analyze(seed_graph).params == sd.analyze(template_graph).params
    copy_weights(b, a)
    idx = torch.randint(0, a.vocab_size, (2, 20))
    torch.testing.assert_close(a(idx), b(idx))


def test_gpt2_design_matches_the_gpt2_template_configured_the_same_way():
    graph = sd.graph.from_seed(seed("gpt2"))
    tpl = sd.template("gpt2", size="tiny", n_layer=2, n_head=2, d_model=128, d_ff=512, context=32,
                      vocab_size=50257, dropout=0.1)
    node(tpl, "attn")["data"]["qkv_bias"] = False  # the spec's example config says qkv_bias: false
    node(tpl, "attn")["data"]["out_bias"] = False  # and the original's output bias followed qkvBias
    assert sd.analyze(graph).params == sd.analyze(tpl).params
    _same_logits(graph, tpl)


@pytest.mark.parametrize("name", ["llama3", "qwen3"])
def test_design_matches_the_family_template(name):
    _same_logits(sd.graph.from_seed(seed(name)), sd.template(name, size="tiny", n_layer=2))


# --------------------------------------------------------------------------------------------- widths and values
def test_attention_width_contradiction_fails_naming_node_and_field():
    (issue,) = issues(with_data("gpt2", "attn", inDim=64))
    assert (issue.node_id, issue.field) == ("attn", "inDim")
    assert "64" in issue.message and "128" in issue.message


@pytest.mark.parametrize("layer_id, field, value", [
    ("attn", "outDim", 256), ("ln1", "embDim", 64), ("ff", "inDim", 64), ("ff", "outDim", 32),
    ("pos_emb", "embDim", 96), ("out_head", "inDim", 64),
])
def test_other_width_contradictions_fail_naming_node_and_field(layer_id, field, value):
    (issue,) = issues(with_data("gpt2", layer_id, **{field: value}))
    assert (issue.node_id, issue.field) == (layer_id, field)
    assert str(value) in issue.message


def test_final_linear_must_produce_the_vocabulary():
    (issue,) = issues(with_data("gpt2", "out_head", outDim=1000))
    assert (issue.node_id, issue.field) == ("out_head", "outDim")
    assert "50257" in issue.message


def test_a_linear_in_the_middle_stays_a_linear_and_changes_the_width():
    payload = seed("old_mode")
    payload["model"].insert(-1, {"type": "linear", "data": {"id": "proj", "inDim": 64, "outDim": 32}})
    layer(payload, "head")["data"].update(inDim=32)
    del layer(payload, "final")["data"]["inDim"]
    payload["model"][-3], payload["model"][-2] = payload["model"][-2], payload["model"][-3]  # norm, proj, head
    graph = sd.graph.from_seed(payload)
    assert node(graph, "proj")["type"] == "linear"
    assert node(graph, "proj")["data"] == {"out_features": 32, "bias": True}
    assert sd.analyze(graph).ok


def test_short_ctxlength_fails_naming_the_node():
    (issue,) = issues(with_data("gpt2", "attn", ctxLength=16))
    assert (issue.node_id, issue.field) == ("attn", "ctxLength")
    assert "32" in issue.message


def test_context_is_the_largest_ctxlength_without_config():
    payload = seed("old_mode")
    del payload["config"]["context_length"]
    layer(payload, "positions")["data"]["ctxLength"] = 48
    layer(payload, "mha")["data"]["ctxLength"] = 48
    assert node(sd.graph.from_seed(payload), "tokens")["data"] == {"context": 48}


@pytest.mark.parametrize("layer_id, field, value", [
    ("attn", "numHeads", -2), ("attn", "numHeads", 2.5), ("attn", "numHeads", "2"), ("attn", "dropoutRate",
                                                                                     float("nan")),
    ("attn", "dropoutRate", 1.5), ("attn", "qkvBias", "no"), ("ln1", "eps", -1e-5), ("ff", "hiddenDim", 0),
    ("blocks", "numOfBlocks", True), ("drop_emb", "dropoutRate", float("inf")), ("tok_emb", "vocabSize", -1),
])
def test_bad_values_fail_naming_node_and_field(layer_id, field, value):
    (issue,) = issues(with_data("gpt2", layer_id, **{field: value}))
    assert (issue.node_id, issue.field) == (layer_id, field)
    assert field in issue.message


def test_bad_config_values_fail_naming_the_config_field():
    payload = seed("gpt2")
    payload["config"].update(model="gpt-5", dtype="fp8", drop_rate=-0.1)
    found = {(i.node_id, i.field) for i in issues(payload)}
    assert found == {(None, "config.model"), (None, "config.dtype"), (None, "config.drop_rate")}


def test_unknown_layer_type_fails_naming_the_node():
    payload = seed("gpt2")
    payload["model"].insert(3, {"type": "mixtureOfExperts", "data": {"id": "moe"}})
    (issue,) = issues(payload)
    assert (issue.node_id, issue.field) == ("moe", "type")
    assert "mixtureOfExperts" in issue.message


def test_every_problem_is_reported_at_once():
    payload = seed("gpt2")
    layer(payload, "pos_emb")["data"]["posType"] = "Absolute Zero Positional Embedding"
    layer(payload, "attn")["data"]["inDim"] = 64
    layer(payload, "ff")["data"].update(feedForwardType="Gated", actFunc="Tanh")
    layer(payload, "res2")["data"]["source"] = "missing"
    layer(payload, "ln_f")["data"]["eps"] = float("nan")
    found = {(i.node_id, i.field) for i in issues(payload)}
    assert found == {("pos_emb", "posType"), ("attn", "inDim"), ("ff", "actFunc"), ("res2", "source"),
                     ("ln_f", "eps")}


@pytest.mark.parametrize("payload, field", [
    ([], None), ({"config": {}}, "model"), ({"config": {}, "model": []}, "model"), ("{not json", None),
])
def test_malformed_payloads_fail_with_a_sentence(payload, field):
    with pytest.raises(GraphError) as info:
        sd.graph.from_seed(payload)
    assert info.value.errors[0].field == field
    assert str(info.value)


def test_missing_required_value_names_the_config_fallback():
    payload = seed("qwen3")
    del payload["config"]["n_heads"]
    (issue,) = issues(payload)
    assert (issue.node_id, issue.field) == ("attn", "numHeads")
    assert "config.n_heads" in issue.message


def test_design_without_a_head_fails():
    payload = seed("gpt2")
    payload["model"].pop()  # ends with the final norm
    (issue,) = issues(payload)
    assert issue.node_id == "ln_f" and "vocabulary" in issue.message


def test_weight_tying_only_on_the_final_linear():
    payload = seed("old_mode")
    payload["model"].insert(-1, {"type": "linear", "data": {"id": "proj", "outDim": 64, "weightTying": True}})
    (issue,) = issues(payload)
    assert (issue.node_id, issue.field) == ("proj", "weightTying")


# --------------------------------------------------------------------------------------------- ids
def test_ids_are_sanitised_and_made_unique():
    payload = seed("old_mode")
    layer(payload, "embedding")["data"]["id"] = "tokens"  # collides with our input node
    layer(payload, "n1")["data"]["id"] = "first norm!"
    layer(payload, "skip1")["data"]["source"] = "first norm!"
    layer(payload, "n2")["data"]["id"] = "mha"  # duplicate of the attention's id
    layer(payload, "skip2")["data"]["source"] = "mha"  # the nearest earlier 'mha': the second norm
    graph = sd.graph.from_seed(payload)
    ids = [n["id"] for n in graph["nodes"]]
    assert len(ids) == len(set(ids))
    assert "tokens_2" in ids and "first_norm_" in ids and "mha_2" in ids
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    assert into[("first_norm_", "in")] == "positions" and into[("skip1", "a")] == "positions"
    assert into[("mha_2", "in")] == "skip1" and into[("skip2", "a")] == "skip1"
    assert sd.analyze(graph).ok
    sd.build(graph)


# --------------------------------------------------------------------------------------------- layering
def test_the_graph_layer_does_not_import_torch():
    code = ("import sys, json, slamdunk_lab as sd; "
            f"sd.graph.from_seed(json.load(open({str(SEEDS / 'gpt2.json')!r}))); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_floats_with_whole_values_count_as_whole_numbers():
    graph = sd.graph.from_seed(with_data("gpt2", "attn", numHeads=2.0))
    assert node(graph, "attn")["data"]["n_heads"] == 2 and isinstance(node(graph, "attn")["data"]["n_heads"], int)
    assert math.isclose(node(graph, "ln1")["data"]["eps"], 1e-5)


@pytest.mark.parametrize("model_type", ["gpt-2", "llama2", "llama3", "qwen3", "smollm3"])
def test_config_model_chooses_the_tokenizer_never_the_architecture(model_type):
    payload = seed("llama3")
    payload["config"]["model"] = model_type
    assert sd.graph.from_seed(payload) == sd.graph.from_seed(seed("llama3"))
