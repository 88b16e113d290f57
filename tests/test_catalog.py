"""The block catalogue: one registry, each block checked the same way (shape, parameters, docs, schema)."""

import json

import pytest
import torch
from helpers import chain

import slamdunk_lab as sd
from slamdunk_lab.blocks import BLOCKS

# One small harness per block type: the block between an embedding (width 16) and the LM head.
ACTIVATION_BLOCKS = {
    "positionalEmbedding": [{"kind": "learned"}, {"kind": "sinusoidal"}, {"kind": "none"}],
    "attention": [
        {"n_heads": 4},
        {"n_heads": 4, "n_kv_heads": 2, "rope": True},
        {"n_heads": 4, "n_kv_heads": 1, "head_dim": 8, "qk_norm": True, "rope": True, "qkv_bias": True},
        {"n_heads": 2, "rope": True, "rope_scaling": "llama3", "rope_original_context": 8},
        {"n_heads": 2, "sliding_window": 3, "out_bias": True},
    ],
    "feedForward": [{"activation": a, "hidden_dim": 24, "bias": b}
                    for a in ("relu", "gelu", "gelu_tanh", "silu", "mish", "swiglu", "geglu") for b in (True, False)],
    "layerNorm": [{"eps": 1e-5}, {"bias": False}],
    "rmsNorm": [{"eps": 1e-6}],
    "dropout": [{"p": 0.1}],
    "linear": [{"out_features": 24}, {"out_features": 16, "bias": False}],
}
CASES = [(t, d) for t, variants in ACTIVATION_BLOCKS.items() for d in variants]


@pytest.mark.parametrize("type_,data", CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CASES)])
def test_block_output_shape_and_parameters_match_the_analysis(type_, data):
    g = chain((type_, data))
    a = sd.analyze(g)
    assert a.ok, a.errors
    torch.manual_seed(0)
    model = sd.build(g).eval()
    x = torch.randint(0, 50, (2, 7))
    h = model.b0(model.emb(x), _ctx()) if getattr(model.b0, "takes_context", False) else model.b0(model.emb(x))
    assert tuple(h.shape[2:]) == a.nodes["b0"].shape[2:]
    assert sum(p.numel() for p in model.b0.parameters()) == a.nodes["b0"].params
    assert sum(p.numel() for p in model.parameters()) == a.params
    assert model(x).shape == (2, 7, 50)


def _ctx():
    from slamdunk_lab.blocks.modules import ForwardContext

    return ForwardContext()


def test_add_block_sums_its_inputs():
    g = chain(("layerNorm", {}))
    g["nodes"].insert(3, {"id": "sum", "type": "add", "position": {"x": 0, "y": 0}, "data": {}})
    g["edges"] = [e for e in g["edges"] if e["target"] != "head"] + [
        {"id": "a", "source": "emb", "target": "sum", "targetHandle": "a"},
        {"id": "b", "source": "b0", "target": "sum", "targetHandle": "b"},
        {"id": "c", "source": "sum", "target": "head"}]
    model = sd.build(g)
    x = torch.randint(0, 50, (1, 5))
    e = model.emb(x)
    expected = model.head(e + model.b0(e))
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("type_", list(BLOCKS))
def test_every_block_documents_itself_in_english_and_korean(type_):
    entry = next(b for b in sd.catalog()["blocks"] if b["type"] == type_)
    for lang in ("en", "ko"):
        docs = entry["docs"][lang]
        assert len(docs["summary"]) > 40 and docs["formula"] and docs["shapes"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in entry["docs"]["ko"]["summary"])  # Hangul, not a copy
    props = entry["schema"].get("properties", {})
    assert set(props) == {p.name for p in BLOCKS[type_].params}
    for p in BLOCKS[type_].params:
        assert props[p.name]["default"] == p.default
        assert props[p.name]["description"] and props[p.name]["x-help-ko"]


def test_catalog_is_json_and_lists_every_block_once():
    cat = json.loads(json.dumps(sd.catalog()))
    types = [b["type"] for b in cat["blocks"]]
    assert len(types) == len(set(types)) == len(BLOCKS)
    assert set(cat["categories"]) == {b["category"] for b in cat["blocks"]}
    group = next(b for b in cat["blocks"] if b["type"] == "transformerBlock")
    assert group["is_group"] and group["inputs"] == [] and group["outputs"] == []
    assert next(b for b in cat["blocks"] if b["type"] == "add")["inputs"] == ["a", "b"]


@pytest.mark.parametrize("type_", [t for t in BLOCKS if BLOCKS[t].params])
def test_every_parameter_rejects_a_wrong_type_naming_node_and_field(type_):
    spec = BLOCKS[type_]
    for p in spec.params:
        bad = "not-a-number" if p.kind != "choice" else "no-such-choice"
        if p.kind == "bool":
            bad = "yes"
        data, problems = spec.validate_data({p.name: bad})
        assert data is None
        assert problems and problems[0][0] == p.name and repr(bad) in problems[0][1]


@pytest.mark.parametrize("lang,name", [("en", "blocks.md"), ("ko", "blocks.ko.md")])
def test_block_reference_docs_are_generated_from_the_catalogue(lang, name):
    from pathlib import Path

    from slamdunk_lab.blocks.docs import render_markdown

    path = Path(__file__).resolve().parents[1] / "docs" / name
    assert path.read_text(encoding="utf-8") == render_markdown(lang), \
        "docs are stale: run python -m slamdunk_lab.blocks.docs"


def test_catalogue_states_each_blocks_role_and_what_flows_through_it():
    """The canvas reads these instead of keeping its own lists of block types."""
    cat = json.loads(json.dumps(sd.catalog()))
    assert set(cat["roles"]) == {"source", "sink", "group", "residual", "op"}
    assert set(cat["reserved_types"]) == {"input", "output", "default", "group"}
    by_role: dict = {}
    for b in cat["blocks"]:
        assert b["role"] in cat["roles"] and b["type"] not in cat["reserved_types"]
        by_role.setdefault(b["role"], []).append(b)
        assert b["reads"] in (("ids", "activations") if b["inputs"] else (None,))
        assert b["emits"] in (("ids", "activations") if b["outputs"] else (None,))
        assert b["is_group"] == (b["role"] == "group")
    (source,), (sink,) = by_role["source"], by_role["sink"]
    assert source["type"] == "tokens" and source["emits"] == "ids" and source["inputs"] == []
    assert sink["type"] == "logits" and sink["outputs"] == [] and not sink["feeds_logits"]
    assert [b["type"] for b in by_role["group"]] == ["transformerBlock"]
    assert all(len(b["inputs"]) == 2 for b in by_role["residual"])
    assert [b["type"] for b in cat["blocks"] if b["reads"] == "ids"] == ["tokenEmbedding"]
    assert {b["type"] for b in cat["blocks"] if b["feeds_logits"]} == {"lmHead", "linear"}


# Settings that make a block fit between a 16-wide embedding of a 50-token vocabulary and an LM head.
_FITS = {"lmHead": {"vocab_size": 50}, "linear": {"out_features": 16},
         "tokenEmbedding": {"vocab_size": 50, "d_model": 16}}


@pytest.mark.parametrize("type_", [t for t, s in BLOCKS.items() if s.role == "op"])
@pytest.mark.parametrize("fed", ["ids", "activations"])
def test_what_the_catalogue_says_a_block_reads_is_what_the_analysis_accepts(type_, fed):
    g = chain((type_, _FITS.get(type_, {})))
    if fed == "ids":  # tokens → block, skipping the embedding
        g["nodes"] = [n for n in g["nodes"] if n["id"] != "emb"]
        g["edges"] = [e for e in g["edges"] if e["source"] != "emb" and e["target"] != "emb"]
        g["edges"].append({"id": "skip", "source": "tokens", "target": "b0"})
    flagged = {e.node_id for e in sd.analyze(g).errors}
    assert ("b0" in flagged) == (BLOCKS[type_].reads != fed), sd.analyze(g).errors
