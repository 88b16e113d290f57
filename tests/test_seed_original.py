"""Designs exactly as the original student project writes them import, with every shape of its payload.

tests/data/seed/original/ holds the original's four non-empty presets in both of the forms it produces:

* ``<name>.canvas.json``: the React Flow state of its preset (``frontend/src/constants/referenceModels.ts`` of
  pnucse-capstone2025/Capstone-2025-team-18), which is what it keeps in ``localStorage["canvasState"]``;
* ``<name>.body.json``: the request body its front end sends for that canvas, produced by running the original's
  own ``buildModelJSON`` (``frontend/src/App.tsx``, transpiled with TypeScript) on the canvas, with the
  preset's config from ``frontend/src/constants/modelConfigs.ts``.

Hand-wired designs below are built the way its canvas builds them: ``on_connect`` does what its
``FlowCanvas.onConnect`` does when a residual's handle is dragged onto a layer (``source = target + ":in"``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from helpers import node

import slamdunk_lab as sd
from slamdunk_lab import tokenizers
from slamdunk_lab.errors import GraphError
from slamdunk_lab.interop.seed import canvas_to_payload, residual_source

ORIGINAL = Path(__file__).parent / "data" / "seed" / "original"
PRESETS = ["gpt2", "llama2", "llama3", "qwen3"]

#: Parameter counts: Llama 2 7B and Qwen3-0.6B as published; GPT-2 as its preset builds it (12 layers of width
#: 768, a 128-row position table, an untied head without bias: 124M + the untied 38.6M head).
PARAMS = {"gpt2": 162_349_056, "llama2": 6_738_415_616, "llama3": 1_235_818_496, "qwen3": 596_049_920}


def body(name: str) -> dict:
    return json.loads((ORIGINAL / f"{name}.body.json").read_text())


def canvas(name: str) -> dict:
    return json.loads((ORIGINAL / f"{name}.canvas.json").read_text())


def unnamed(graph: dict) -> dict:
    return {k: v for k, v in graph.items() if k != "name"}


# --------------------------------------------------------------------------------------------- the presets
@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_imports_with_its_published_parameter_count(name):
    graph = sd.graph.from_seed(body(name))
    analysis = sd.analyze(graph)
    assert analysis.ok, analysis.errors
    assert analysis.params == PARAMS[name]
    model = sd.build(graph, device="meta")  # structure only: a 7B model allocates nothing here
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]


@pytest.mark.parametrize("name", PRESETS)
def test_the_saved_canvas_gives_the_request_body_the_original_front_end_sends(name):
    payload = canvas_to_payload(canvas(name), config=body(name)["config"])
    assert payload["model"] == body(name)["model"]  # what the original's buildModelJSON produced
    assert unnamed(sd.graph.from_seed(canvas(name))) == unnamed(sd.graph.from_seed(body(name)))


@pytest.mark.parametrize("name", ["llama2", "llama3", "qwen3"])
def test_presets_wired_on_the_canvas_use_in_sources_and_import(name):
    sources = [c["data"]["source"] for item in body(name)["model"] for c in item.get("children") or []
               if c["type"] == "residual"]
    assert sources and all(s.endswith(":in") for s in sources)
    graph = sd.graph.from_seed(body(name))
    block = [n for n in graph["nodes"] if n.get("parentId")]
    norms, adds = [n["id"] for n in block if n["type"] == "rmsNorm"], [n["id"] for n in block if n["type"] == "add"]
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    assert into[(adds[0], "a")] == into[(norms[0], "in")]  # x + attn(norm(x))
    assert into[(adds[1], "a")] == adds[0] == into[(norms[1], "in")]  # h + ff(norm(h))


def test_the_qwen3_preset_keeps_the_original_qk_norm_order_and_says_why():
    graph, notes = sd.graph.from_seed(body("qwen3"), report=True)
    attn = next(n for n in graph["nodes"] if n["type"] == "attention")["data"]
    assert (attn["qk_norm"], attn["qk_norm_order"], attn["head_dim"], attn["n_kv_heads"]) == (True, "after_rope",
                                                                                              128, 8)
    assert attn["out_bias"] is False and attn["rope_scaling"] == "llama3"  # its ropeConfig, as it ran
    assert any(n.field == "vocabSize" and "151669" in n.message and "151936" in n.message for n in notes)


def test_the_gpt2_preset_gets_exact_gelu_original_eps_and_output_bias_from_qkvbias():
    graph = sd.graph.from_seed(body("gpt2"))
    types = {n["type"] for n in graph["nodes"]}
    assert "layerNorm" in types
    assert {n["data"]["eps"] for n in graph["nodes"] if n["type"] == "layerNorm"} == {1e-6}
    ff = next(n for n in graph["nodes"] if n["type"] == "feedForward")["data"]
    assert ff["activation"] == "gelu"
    attn = next(n for n in graph["nodes"] if n["type"] == "attention")["data"]
    assert attn["qkv_bias"] is True and attn["out_bias"] is True
    model = sd.build(sd.graph.from_seed(_small(body("gpt2"))))
    ff_module = next(m for m in model.modules() if type(m).__name__ == "MLP")
    assert ff_module.act.approximate == "none"


def _small(payload: dict, width: int = 32, vocab: int = 64, heads: int = 4, blocks: int = 2) -> dict:
    """The same design at a size a test can run: every width, vocabulary and repeat scaled down."""
    payload = copy.deepcopy(payload)
    old_width = payload["model"][0]["data"]["embDim"]

    def shrink(data: dict) -> None:
        for key in ("inDim", "outDim", "embDim"):
            if data.get(key) == old_width:
                data[key] = width
        if "vocabSize" in data:
            data["vocabSize"] = vocab
        if data.get("outDim", 0) > width:
            data["outDim"] = vocab
        if "hiddenDim" in data:
            data["hiddenDim"] = 3 * width
        if "numHeads" in data:
            data["numHeads"] = heads
        if "numKvGroups" in data:
            data["numKvGroups"] = 2
        if "headDim" in data:
            data["headDim"] = 16
        if "numOfBlocks" in data:
            data["numOfBlocks"] = blocks
        for key in ("ctxLength",):
            if key in data:
                data[key] = 16

    for item in payload["model"]:
        shrink(item["data"])
        for child in item.get("children") or []:
            shrink(child["data"])
    payload["config"].update(vocab_size=vocab, context_length=16, stride=16, emb_dim=width, n_heads=heads)
    return payload


# --------------------------------------------------------------------------------------------- hand-wired designs
class OriginalCanvas:
    """A React Flow state built as the original canvas builds one: nodes dropped top to bottom, chained with
    'src' → 'tgt' edges, residuals connected from their 'residual-source' handle (``on_connect``)."""

    def __init__(self):
        self.nodes: list[dict] = []
        self.edges: list[dict] = []
        self.count = 0

    def add(self, type_: str, parent: str | None = None, **data) -> str:
        self.count += 1
        node_id = f"{type_}-{1758000000000 + self.count}"
        item = {"id": node_id, "type": type_, "position": {"x": 0, "y": 60 * self.count},
                "data": {"id": node_id, "label": type_, "isCollapsed": False, **data}}
        if parent is not None:
            item["parentNode"] = parent
        self.nodes.append(item)
        return node_id

    def connect(self, source: str, target: str) -> None:
        self.edges.append({"source": source, "sourceHandle": "src", "target": target, "targetHandle": "tgt",
                           "type": "buttonEdge", "id": f"{source}-src-{target}-tgt"})

    def on_connect(self, residual: str, target: str) -> None:
        """What FlowCanvas.onConnect does for a residual handle: an edge, and ``source = target + ':in'``."""
        self.edges.append({"source": residual, "sourceHandle": "residual-source", "target": target,
                           "targetHandle": "residual-target", "type": "buttonEdge",
                           "id": f"{residual}-residual-source-{target}-residual-target"})
        next(n for n in self.nodes if n["id"] == residual)["data"]["source"] = target + ":in"

    def state(self) -> dict:
        return {"nodes": self.nodes, "edges": self.edges}


def _hand_wired(top_source: str | None = None) -> tuple[OriginalCanvas, dict]:
    """tok → pos → block[norm → attn → residual(norm:in)] → (norm → ff → residual(top_source)) → norm → head."""
    c = OriginalCanvas()
    ids = {}
    ids["tok"] = c.add("tokenEmbedding", vocabSize=64, embDim=32)
    ids["pos"] = c.add("positionalEmbedding", ctxLength=16, embDim=32, posType="Learned Positional Embedding")
    ids["block"] = c.add("transformerBlock", numOfBlocks=2)
    ids["n1"] = c.add("normalization", parent=ids["block"], normType="Layer Normalization", inDim=32)
    ids["attn"] = c.add("mhAttention", parent=ids["block"], inDim=32, outDim=32, numHeads=4, ctxLength=16,
                        dropoutRate=0.0, qkvBias=False, isRoPE=False)
    ids["r1"] = c.add("residual", parent=ids["block"])
    c.on_connect(ids["r1"], ids["n1"])
    ids["n2"] = c.add("normalization", normType="Layer Normalization", inDim=32)
    ids["ff"] = c.add("feedForward", inDim=32, outDim=32, hiddenDim=64, feedForwardType="Gated", actFunc="ReLU",
                      bias=False)
    ids["r2"] = c.add("residual")
    ids["nf"] = c.add("normalization", normType="RMS Normalization", inDim=32)
    ids["head"] = c.add("linear", inDim=32, outDim=64, bias=False, weightTying=True)
    for a, b in zip(["tok", "pos", "block", "n2", "ff", "r2", "nf"], ["pos", "block", "n2", "ff", "r2", "nf", "head"]):
        c.connect(ids[a], ids[b])
    if top_source is None:
        c.on_connect(ids["r2"], ids["n2"])
    else:
        next(n for n in c.nodes if n["id"] == ids["r2"])["data"]["source"] = top_source.format(**ids)
    return c, ids


def test_a_hand_wired_canvas_imports_its_residuals_as_drawn():
    c, ids = _hand_wired()
    payload = canvas_to_payload(c.state())
    assert [i["type"] for i in payload["model"]] == ["tokenEmbedding", "positionalEmbedding", "transformerBlock",
                                                      "normalization", "feedForward", "residual", "normalization",
                                                      "linear"]
    assert payload["model"][2]["children"][2]["data"]["source"] == ids["n1"] + ":in"
    graph = sd.graph.from_seed(c.state())
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    h = into[(ids["n2"], "in")]  # the block's output
    assert (into[(ids["r2"], "a")], into[(ids["r2"], "b")]) == (h, ids["ff"])  # h + ff(n2(h))
    assert node(graph, ids["ff"])["data"]["activation"] == "reglu"  # the original's gated ReLU
    assert sd.analyze(graph).ok


@pytest.mark.parametrize("source, a", [
    ("{n2}:in", "block"),  # the input of n2: the block's output
    ("{n2}", "n2"),  # a bare id at the top level: that layer's output, as the original cached it
    ("{n2}:out", "n2"),  # the same, said explicitly
    ("{ff}:out", "ff"),  # the output of the layer just before: the stream added to itself
])
def test_top_level_residual_sources_have_the_original_meaning(source, a):
    c, ids = _hand_wired(top_source=source)
    graph = sd.graph.from_seed(c.state())
    into = {(e["target"], e["targetHandle"]): e["source"] for e in graph["edges"]}
    value = into[(ids["n2"], "in")] if a == "block" else ids[a]
    assert (into[(ids["r2"], "a")], into[(ids["r2"], "b")]) == (value, ids["ff"])
    model = sd.build(graph).eval()
    seen = {}
    for key in ("n2", "ff"):
        getattr(model, ids[key].replace("-", "_")).register_forward_hook(
            lambda m, args, out, key=key: seen.update({key: out, key + ":in": args[0]}))
    idx = torch.randint(0, 64, (1, 10))
    logits = model(idx)
    expected = (seen["n2:in"] if a == "block" else seen[a]) + seen["ff"]
    final = getattr(model, ids["nf"].replace("-", "_"))
    head = model.get_submodule(ids["head"].replace("-", "_"))
    torch.testing.assert_close(logits, head(final(expected)))


def test_residual_sources_parse_as_the_original_writes_them():
    assert residual_source("norm-1:in", top_level=False) == ("norm-1", "in")
    assert residual_source("norm-1", top_level=False) == ("norm-1", "in")
    assert residual_source("norm-1", top_level=True) == ("norm-1", "out")
    assert residual_source("norm-1:out", top_level=True) == ("norm-1", "out")
    assert residual_source("odd:in", top_level=True, ids={"odd:in"}) == ("odd:in", "out")  # an id with a colon


def test_an_out_source_says_what_the_original_did_instead():
    c, ids = _hand_wired(top_source="{n2}:out")
    _, notes = sd.graph.from_seed(c.state(), report=True)
    (note,) = [n for n in notes if n.node_id == ids["r2"]]
    assert "x + x" in note.message and ids["n2"] in note.message


def test_an_empty_canvas_is_a_clear_error():
    with pytest.raises(GraphError, match="the canvas is empty"):
        sd.graph.from_seed({"nodes": [], "edges": []})
    with pytest.raises(GraphError, match="the canvas is empty"):
        sd.graph.from_seed(json.dumps({"nodes": [], "edges": []}))


def test_a_canvas_with_two_starting_layers_names_them():
    c, ids = _hand_wired()
    c.edges = [e for e in c.edges if e["target"] != ids["pos"]]
    with pytest.raises(GraphError) as info:
        sd.graph.from_seed(c.state())
    assert "2" in str(info.value) and ids["tok"] in str(info.value) and ids["pos"] in str(info.value)


def test_report_lists_each_difference_from_the_original_and_the_graph_alone_otherwise():
    c, ids = _hand_wired()
    graph, notes = sd.graph.from_seed(c.state(), report=True)
    assert graph == sd.graph.from_seed(c.state())
    where = {(n.node_id, n.field) for n in notes}
    assert (ids["block"], "numOfBlocks") in where  # one set of weights looped → distinct layers
    assert (ids["block"], "children") in where  # residuals inside blocks did nothing → live
    assert all(n.message and str(n) for n in notes)


# --------------------------------------------------------------------------------------------- choices of the original
@pytest.mark.parametrize("pos_type, kind, bias", [
    ("Relative Positional Embedding", "none", "t5"),
    ("Sinusoidal Positional Embedding", "sinusoidal", "none"),
])
def test_positional_choices_import_and_the_note_says_what_the_original_built(pos_type, kind, bias):
    payload = copy.deepcopy(body("gpt2"))
    payload["model"][1]["data"]["posType"] = pos_type
    graph, notes = sd.graph.from_seed(payload, report=True)
    pos = next(n for n in graph["nodes"] if n["type"] == "positionalEmbedding")
    assert pos["data"]["kind"] == kind
    assert {n["data"]["position_bias"] for n in graph["nodes"] if n["type"] == "attention"} == {bias}
    assert any(n.node_id == pos["id"] and "learned position table" in n.message for n in notes)


def test_the_position_table_is_sized_from_the_node_ctxlength():
    payload = copy.deepcopy(body("gpt2"))
    payload["config"]["context_length"] = 64  # trained on 64 tokens, the node's table has 128 rows
    graph = sd.graph.from_seed(payload)
    pos = next(n for n in graph["nodes"] if n["type"] == "positionalEmbedding")
    assert pos["data"]["positions"] == 128 and node(graph, "tokens")["data"]["context"] == 64
    model = sd.build(graph, device="meta")
    assert getattr(model, pos["id"].replace("-", "_")).weight.shape == (128, 768)


# --------------------------------------------------------------------------------------------- ALiBi and the T5 bias
def _biased(bias: str, n_kv_heads: int | None = None, vocab: int = 40) -> dict:
    graph = sd.template("llama3", size="tiny", n_layer=2, vocab_size=vocab, context=24)
    for n in graph["nodes"]:
        if n["type"] == "attention":
            n["data"].update(rope=False, position_bias=bias, n_kv_heads=n_kv_heads, relative_buckets=8,
                             relative_max_distance=12)
    return graph


@pytest.mark.parametrize("bias", ["alibi", "t5"])
def test_a_position_bias_gives_the_same_logits_with_the_kv_cache(bias):
    torch.manual_seed(0)
    model = sd.build(_biased(bias, n_kv_heads=2)).eval()
    idx = torch.randint(0, 40, (2, 20))
    full = model(idx)
    cache = model.new_cache(batch_size=2)
    parts = [model(idx[:, :7], cache=cache)] + [model(idx[:, t:t + 1], cache=cache) for t in range(7, 20)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bias", ["alibi", "t5"])
def test_generation_with_the_cache_equals_generation_without_it(bias):
    torch.manual_seed(1)
    tok = tokenizers.char("abcdefghijklmnopqrstuvwxyz ,.")
    model = sd.build(_biased(bias, vocab=tok.vocab_size)).eval()
    prompt = "the cat sat"
    cached = sd.generate(model, tok, prompt, max_new_tokens=10, temperature=0)
    ids = tok.encode(prompt)
    with torch.no_grad():
        for _ in range(10):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert cached == tok.decode(ids[len(tok.encode(prompt)):])


@pytest.mark.parametrize("bias", ["alibi", "t5"])
def test_the_attention_maps_include_the_position_bias(bias):
    torch.manual_seed(2)
    model = sd.build(_biased(bias)).eval()
    tok = tokenizers.char("abcdefgh")
    maps = sd.attention(model, tok, "abcdefgh")
    attn = model.blocks[0].attn
    x = model.tok_emb(torch.tensor([tok.encode("abcdefgh")]))
    x = model.blocks[0].ln_1(x)
    q, k, _ = attn.qkv_proj(x).split([attn.n_heads * attn.head_dim, attn.n_kv_heads * attn.head_dim,
                                       attn.n_kv_heads * attn.head_dim], dim=-1)
    q = q.view(1, 8, attn.n_heads, attn.head_dim).transpose(1, 2)
    k = k.view(1, 8, attn.n_kv_heads, attn.head_dim).transpose(1, 2).repeat_interleave(
        attn.n_heads // attn.n_kv_heads, 1)
    pos = torch.arange(8)
    if bias == "alibi":
        from slamdunk_lab.blocks.modules import alibi_slopes
        extra = -alibi_slopes(attn.n_heads)[:, None, None] * (pos[:, None] - pos[None, :]).clamp(min=0)
    else:
        extra = attn.relative_bias(pos, pos)
    scores = q @ k.transpose(-2, -1) / attn.head_dim ** 0.5 + extra
    expected = scores.masked_fill(~torch.ones(8, 8, dtype=torch.bool).tril(), float("-inf")).softmax(-1)[0]
    torch.testing.assert_close(maps.weights[0], expected.detach(), atol=1e-5, rtol=1e-5)
    assert torch.allclose(maps.weights.sum(-1), torch.ones(()))


def test_alibi_slopes_are_the_papers():
    from slamdunk_lab.blocks.modules import alibi_slopes
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    six = alibi_slopes(6)  # 4 from 2^(-8/4), then every other one of 2^(-8/8)
    torch.testing.assert_close(six, torch.tensor([0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125]))


def test_the_t5_buckets_are_exact_near_and_logarithmic_far():
    from slamdunk_lab.blocks.modules import RelativePositionBias
    rel = RelativePositionBias(n_heads=2, num_buckets=8, max_distance=16)
    buckets = rel.bucket(torch.arange(0, 40)).tolist()
    assert buckets[:4] == [0, 1, 2, 3] and buckets[39] == 7 and buckets == sorted(buckets)
    assert len(set(buckets[4:])) == 4


# --------------------------------------------------------------------------------------------- generation
def test_generate_can_return_the_prompt_with_the_continuation():
    torch.manual_seed(0)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=30, context=32)).eval()
    tok = tokenizers.char("abcdefghijklmnopqrstuvwxyz .")
    new = sd.generate(model, tok, "hello", max_new_tokens=6, temperature=0)
    assert sd.generate(model, tok, "hello", max_new_tokens=6, temperature=0, include_prompt=True) == "hello" + new
    streamed = sd.generate(model, tok, "hello", max_new_tokens=6, temperature=0, include_prompt=True, stream=True)
    assert "".join(streamed) == "hello" + new
    with pytest.raises(TypeError, match="include_prompt"):
        sd.generate(model, tok, "hello", max_new_tokens=1, include_prompt="yes")


# --------------------------------------------------------------------------------------------- trained models
def _trained_file(tmp_path, payload: dict, seed_: int = 0, bundle: bool = True):
    """A completed/<name>.pt as the original's training task saves it, from its own model code (small random
    weights): {"layers", "config", "state_dict"} with the layers as its server kept them."""
    from original_reference import OriginalModel, as_saved

    torch.manual_seed(seed_)
    layers = as_saved(payload["model"])
    reference = OriginalModel(layers).eval()
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn_like(p) * 0.05 + (1.0 if p.dim() == 1 and p.shape[0] <= 64 else 0.0))
    path = tmp_path / "completed" / "trained.pt"
    path.parent.mkdir(exist_ok=True)
    state = reference.state_dict()
    torch.save({"layers": layers, "config": {**payload["config"], "dtype": "fp32"}, "state_dict": state}
               if bundle else state, path)
    return path, reference


@pytest.mark.parametrize("name", PRESETS)
def test_a_model_the_original_trained_loads_with_the_original_logits(tmp_path, name):
    payload = _small(body(name))
    path, reference = _trained_file(tmp_path, payload)
    model = sd.seed.load_model(path)
    idx = torch.randint(0, 64, (3, 16))
    with torch.no_grad():
        expected, got = reference(idx), model(idx)
    worst = (got - expected).abs().max().item()
    print(f"{name}: max |logits - original| = {worst:.2e}")
    assert worst <= 1e-5
    graph = model.graph
    blocks = [n for n in graph["nodes"] if n["type"] == "transformerBlock"]
    assert blocks and all(b["data"]["share_weights"] and b["data"]["repeat"] == 2 for b in blocks)
    assert not any(n["type"] == "add" for n in graph["nodes"])  # its residuals inside blocks did nothing
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())


def test_a_bare_state_dict_needs_the_payload_and_then_loads(tmp_path):
    payload = _small(body("qwen3"))
    path, reference = _trained_file(tmp_path, payload, bundle=False)
    with pytest.raises(sd.ModelFileError, match="payload="):
        sd.seed.load_model(path)
    model = sd.seed.load_model(path, payload)
    idx = torch.randint(0, 64, (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(model(idx), reference(idx), atol=1e-5, rtol=1e-5)


def test_a_file_that_needs_a_full_unpickle_is_refused_naming_it(tmp_path):
    import pickle

    class Sneaky:  # pickles as a call: unpickling it would run code
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        pickle.dump({"state_dict": Sneaky()}, f, protocol=2)
    with pytest.raises(sd.ModelFileError, match="evil.pt"):
        sd.seed.load_model(path, body("gpt2"))


def test_a_file_from_another_design_is_refused_naming_the_tensor(tmp_path):
    path, _ = _trained_file(tmp_path, _small(body("llama2")))
    with pytest.raises(sd.ModelFileError, match="trained.pt"):
        sd.seed.load_model(path, _small(body("llama2"), width=48))


def test_the_model_as_run_reproduces_the_original_quirks():
    graph = sd.seed.as_run(body("gpt2"))
    analysis = sd.analyze(graph)
    assert analysis.ok and analysis.params == 84_382_464  # one GPT-2 layer's weights, looped 12 times
    assert {n["data"]["eps"] for n in graph["nodes"] if n["type"] == "layerNorm"} == {1e-6}
    payload = copy.deepcopy(body("gpt2"))
    payload["model"][1]["data"]["posType"] = "Rotary Positional Embedding"  # dropped by its server: learned
    graph = sd.seed.as_run(payload)
    assert next(n for n in graph["nodes"] if n["type"] == "positionalEmbedding")["data"]["kind"] == "learned"
    assert not any(n["data"].get("rope") for n in graph["nodes"] if n["type"] == "attention")


# --------------------------------------------------------------------------------------------- training settings
def _tokenizer_folder(tmp_path, name: str) -> Path:
    """A folder holding a Hugging Face tokenizer.json under the name the original's model type needs."""
    from slamdunk_lab.interop.original import TOKENIZER_FILES

    tok = tokenizers.bpe(sd.data.load("tiny_shakespeare").docs[0][:20_000], vocab_size=300)
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    tok.backend.save(str(folder / TOKENIZER_FILES[name]))
    return folder


def test_train_args_turn_the_config_into_sd_train_arguments(tmp_path):
    payload = _small(body("qwen3"), vocab=300)
    payload["config"].update(epochs=2, batch_size=4, stride=8, dtype="bf16", lr=3e-3)
    payload["dataset"] = "tiny_shakespeare"
    args = sd.seed.train_args(payload, files=_tokenizer_folder(tmp_path, "qwen3"))
    assert (args["epochs"], args["batch_size"], args["stride"], args["context"], args["dtype"], args["lr"],
            args["name"]) == (2, 4, 8, 16, "bfloat16", 3e-3, "qwen3_preset")
    assert args["g_or_model"] == sd.graph.from_seed(payload)
    assert args["tok"].vocab_size == 300 and args["corpus"].name == "tiny_shakespeare"
    assert sd.seed.train_args(payload, files=tmp_path / "files", load_data=False)["corpus"] == "tiny_shakespeare"


@pytest.mark.parametrize("dataset, ours", [("roneneldan/TinyStories", "TinyStories"),
                                           ("mychen76/openwebtext-100k", "openwebtext-100k"), ("allenai/c4", "c4"),
                                           ("tiny_shakespeare", "tiny_shakespeare")])
def test_the_original_dataset_ids_resolve_to_our_named_sets(tmp_path, dataset, ours):
    payload = _small(body("llama3"), vocab=300)
    payload["dataset"] = dataset
    args = sd.seed.train_args(payload, files=_tokenizer_folder(tmp_path, "llama3"), load_data=False)
    assert args["corpus"] == ours


def test_a_missing_tokenizer_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="llama2-tokenizer.json"):
        sd.seed.tokenizer(body("llama2"), files=tmp_path)
    bad = copy.deepcopy(body("gpt2"))
    bad["dataset"] = "my/own-set"
    bad["config"]["dtype"] = "fp16"  # a dtype the original had, which training here does not offer
    with pytest.raises(GraphError) as info:
        sd.seed.train_args(bad, load_data=False)
    assert {i.field for i in info.value.errors} == {"config.dtype", "dataset"}
    assert "my/own-set" in str(info.value) and "fp16" in str(info.value)


def test_the_gpt2_model_type_picks_tiktoken_gpt2():
    from slamdunk_lab.tokenizers import TokenizerUnavailableError

    try:
        tok = sd.seed.tokenizer(body("gpt2"))
    except TokenizerUnavailableError as exc:  # offline here: tiktoken's files cannot be fetched, and it says so
        assert "gpt2" in str(exc)
    else:
        assert tok.vocab_size == 50257


def test_sd_train_counts_epochs_and_stride_as_steps(tmp_path, monkeypatch):
    from slamdunk_lab.tokcache import tokenize_corpus

    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    payload = _small(body("qwen3"), vocab=300)
    payload["config"].update(epochs=2, batch_size=4, stride=16)
    args = sd.seed.train_args(payload, files=_tokenizer_folder(tmp_path, "qwen3"))
    args["corpus"] = sd.data.text(args["corpus"].docs[0][:6_000])
    train_tokens = len(tokenize_corpus(args["corpus"], args["tok"]).train)
    run = sd.train(**args, mlflow=False, background=False, progress=False, eval_every=1000, sample_every=1000,
                   checkpoint_every=1000, warmup=1)
    run.wait()
    expected = sd.seed.epochs_to_steps(train_tokens, 16, 16, 4, 2)
    assert expected == 2 * ((train_tokens - 16) // 16 // 4) and expected > 1
    assert run.spec.config["steps"] == expected and run.step == expected
    with pytest.raises(ValueError, match="epochs"):
        sd.train(args["g_or_model"], args["corpus"], args["tok"], stride=8, mlflow=False, background=False)


def _redrawn(name: str) -> dict:
    """The preset drawn again by hand on the original canvas: every layer dropped from the palette with the
    preset's settings, chained, and each residual's handle dragged onto the layer it skips (``on_connect``)."""
    c, new_id, residuals = OriginalCanvas(), {}, []
    top = []
    for item in body(name)["model"]:
        settings = {k: v for k, v in item["data"].items() if k not in ("id", "source")}
        node_id = new_id[item["data"]["id"]] = c.add(item["type"], **settings)
        top.append(node_id)
        for child in item.get("children") or []:
            settings = {k: v for k, v in child["data"].items() if k not in ("id", "source", "label")}
            new_id[child["data"]["id"]] = c.add(child["type"], parent=node_id, **settings)
            if child["type"] == "residual":
                residuals.append((child["data"]["id"], child["data"]["source"].split(":")[0]))
    for a, b in zip(top, top[1:]):
        c.connect(a, b)
    for residual, target in residuals:
        c.on_connect(new_id[residual], new_id[target])
    return c.state()


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_drawn_by_hand_imports_with_the_published_parameter_count(name):
    state = _redrawn(name)
    sources = [n["data"]["source"] for n in state["nodes"] if n["type"] == "residual"]
    assert sources and all(s.endswith(":in") for s in sources)  # what onConnect writes, GPT-2 included
    graph = sd.graph.from_seed(state)
    assert sd.analyze(graph).params == PARAMS[name]
    assert sum(p.numel() for p in sd.build(graph, device="meta").parameters()) == PARAMS[name]
    ours = {n["type"]: n["data"] for n in graph["nodes"]}
    preset = {n["type"]: n["data"] for n in sd.graph.from_seed(body(name))["nodes"]}
    assert ours == preset  # the same blocks with the same settings as the preset's own request body
