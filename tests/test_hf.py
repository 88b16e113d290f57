"""Hugging Face interop: our graphs equal the reference implementations, and checkpoints travel both ways.

The reference weights are copied by a hand-written mapping here (not the one in ``slamdunk_lab.hf``), so a
wrong table in the exporter and a wrong table in the test cannot agree by accident.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

import slamdunk_lab as sd
from slamdunk_lab import hf
from slamdunk_lab.blocks.modules import rope_inv_freq
from slamdunk_lab.errors import GraphError, ModelFileError
from slamdunk_lab.templates import resolve

transformers = pytest.importorskip("transformers")
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

ATOL = RTOL = 1e-5
SMALL = {"n_layer": 2, "d_model": 32, "vocab_size": 100}


def node(graph: dict, node_id: str) -> dict:
    return next(n for n in graph["nodes"] if n["id"] == node_id)


def edited(graph: dict, **changes: dict) -> dict:
    """A copy of ``graph`` with ``{node_id: {field: value}}`` merged into the nodes' data."""
    g = copy.deepcopy(graph)
    for node_id, data in changes.items():
        node(g, node_id)["data"].update(data)
    return g


def variant(name: str) -> dict:
    """The small graphs every equality test runs: each family, plus the settings that change the mapping."""
    t = sd.template
    return {
        "gpt2": t("gpt2", "tiny", **SMALL),
        "gpt2-untied-gelu": edited(t("gpt2", "tiny", **SMALL), lm_head={"tie_weights": False},
                                   mlp={"activation": "gelu"}),
        "gpt2-dropout": t("gpt2", "tiny", dropout=0.1, **SMALL),
        "llama2": t("llama2", "tiny", **SMALL),
        "llama2-biases": edited(t("llama2", "tiny", **SMALL), attn={"qkv_bias": True, "out_bias": True},
                                mlp={"bias": True}),
        # Llama 3 scaling with a short original context, so that it changes frequencies that turn visibly
        # within 16 positions (with 8192 the difference would hide below the tolerance).
        "llama3-scaled": edited(t("llama3", "tiny", **SMALL),
                                attn={"rope_original_context": 32, "rope_factor": 4.0}),
        "llama3-tied-dropout": edited(t("llama3", "tiny", dropout=0.1, **SMALL), lm_head={"tie_weights": True}),
        "qwen3": t("qwen3", "tiny", **SMALL),  # head_dim 32 with 4 heads: wider than d_model
        "qwen3-biases": edited(t("qwen3", "tiny", **SMALL), attn={"qkv_bias": True, "out_bias": True}),
        "smollm3": t("smollm3", "tiny", n_layer=4, d_model=32, vocab_size=100),  # layer 3 skips RoPE
        "smollm3-every-2": edited(t("smollm3", "tiny", n_layer=3, d_model=32, vocab_size=100),
                                  attn={"no_rope_every": 2, "qkv_bias": True, "out_bias": True},
                                  mlp={"bias": True}),
        "smollm3-2-layers": t("smollm3", "tiny", **SMALL),  # no_rope_every 4 > n_layer: RoPE everywhere
        "rmsnorm-no-rope": edited(t("llama2", "tiny", **SMALL), attn={"rope": False}),
    }[name]


VARIANTS = ["gpt2", "gpt2-untied-gelu", "gpt2-dropout", "llama2", "llama2-biases", "llama3-scaled",
            "llama3-tied-dropout", "qwen3", "qwen3-biases", "smollm3", "smollm3-every-2",
            "smollm3-2-layers", "rmsnorm-no-rope"]
EXPECTED_CLASS = {"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM", "qwen3": "Qwen3ForCausalLM",
                  "smollm3": "SmolLM3ForCausalLM"}


def random_model(graph: dict, seed: int = 0) -> sd.model.GraphModel:
    """Random weights with every norm weight away from 1 and every bias away from 0."""
    torch.manual_seed(seed)
    model = sd.build(graph).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def reference_from_config(config: dict):
    config = {k: v for k, v in config.items() if k != "model_type"}
    return AutoModelForCausalLM.from_config(AutoConfig.for_model(hf_type(config), **config)).eval()


def hf_type(config: dict) -> str:
    return {v: k for k, v in EXPECTED_CLASS.items()}[config["architectures"][0]]


@torch.no_grad()
def copy_into_reference(model, ref) -> None:
    """Our template state dict → the reference model, attribute by attribute; every reference weight is
    overwritten (checked by filling them with NaN first)."""
    for p in ref.parameters():
        p.fill_(float("nan"))
    w = model.state_dict()
    layer = [f"blocks.{i}." for i in range(len(model.blocks))]
    if isinstance(ref, transformers.GPT2LMHeadModel):
        t = ref.transformer
        t.wte.weight.copy_(w["tok_emb.weight"])
        t.wpe.weight.copy_(w["pos_emb.weight"])
        for h, p in zip(t.h, layer):
            for ours, theirs in (("ln_1", h.ln_1), ("ln_2", h.ln_2)):
                theirs.weight.copy_(w[p + ours + ".weight"])
                theirs.bias.copy_(w[p + ours + ".bias"])
            # Conv1D keeps (in, out): the transpose of nn.Linear.
            for ours, theirs in (("attn.qkv_proj", h.attn.c_attn), ("attn.out_proj", h.attn.c_proj),
                                 ("mlp.fc_in", h.mlp.c_fc), ("mlp.fc_out", h.mlp.c_proj)):
                theirs.weight.copy_(w[p + ours + ".weight"].T)
                theirs.bias.copy_(w[p + ours + ".bias"])
        t.ln_f.weight.copy_(w["ln_f.weight"])
        t.ln_f.bias.copy_(w["ln_f.bias"])
    else:
        m, cfg = ref.model, ref.config
        m.embed_tokens.weight.copy_(w["tok_emb.weight"])
        sizes = [cfg.num_attention_heads * cfg.head_dim] + 2 * [cfg.num_key_value_heads * cfg.head_dim]
        for layer_, p in zip(m.layers, layer):
            a = layer_.self_attn
            layer_.input_layernorm.weight.copy_(w[p + "ln_1.weight"])
            layer_.post_attention_layernorm.weight.copy_(w[p + "ln_2.weight"])
            for param in ("weight", "bias"):
                if p + f"attn.qkv_proj.{param}" in w:
                    q, k, v = w[p + f"attn.qkv_proj.{param}"].split(sizes)
                    for proj, value in ((a.q_proj, q), (a.k_proj, k), (a.v_proj, v),
                                        (a.o_proj, w[p + f"attn.out_proj.{param}"])):
                        getattr(proj, param).copy_(value)
                for proj in ("gate_proj", "up_proj", "down_proj"):
                    if p + f"mlp.{proj}.{param}" in w:
                        getattr(getattr(layer_.mlp, proj), param).copy_(w[p + f"mlp.{proj}.{param}"])
            if hasattr(a, "q_norm"):
                a.q_norm.weight.copy_(w[p + "attn.q_norm.weight"])
                a.k_norm.weight.copy_(w[p + "attn.k_norm.weight"])
        m.norm.weight.copy_(w["ln_f.weight"])
    if not ref.config.tie_word_embeddings:
        ref.lm_head.weight.copy_(w["lm_head.weight"])
    nan = [n for n, p in ref.named_parameters() if p.isnan().any()]
    assert not nan, f"reference weights left unset: {nan}"


def tokens(vocab: int = 100, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 24), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def logits_of(model, idx: torch.Tensor) -> torch.Tensor:
    out = model(idx)
    return out if isinstance(out, torch.Tensor) else out.logits


# ============================================================================================ equality
@pytest.mark.parametrize("name", VARIANTS)
def test_logits_equal_reference_implementation(name):
    graph = variant(name)
    model = random_model(graph)
    config = hf.hf_config(graph)
    ref = reference_from_config(config)
    assert type(ref).__name__ == config["architectures"][0]
    copy_into_reference(model, ref)
    idx = tokens()
    ours, theirs = logits_of(model, idx), logits_of(ref, idx)
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", VARIANTS)
def test_export_loads_in_transformers_and_imports_back(name, tmp_path):
    graph = variant(name)
    model = random_model(graph, seed=3)
    out = sd.export_hf(model, tmp_path / "export")
    config = json.loads((out / "config.json").read_text())
    assert config["torch_dtype"] == config["dtype"] == "float32"
    ref = AutoModelForCausalLM.from_pretrained(out).eval()
    idx = tokens(seed=4)
    ours = logits_of(model, idx)
    torch.testing.assert_close(logits_of(ref, idx), ours, atol=ATOL, rtol=RTOL)

    back_graph, back = sd.import_hf(out)
    assert {k: back_graph[k] for k in ("nodes", "edges")} == {k: model.graph[k] for k in ("nodes", "edges")}
    assert back_graph["name"] == model.graph["name"]
    torch.testing.assert_close(logits_of(back.eval(), idx), ours, atol=0, rtol=0)


def test_export_writes_each_family_the_way_transformers_names_it(tmp_path):
    """The tied head is saved once; q/k/v are split for Llama, Conv1D transposed for GPT-2."""
    model = random_model(variant("llama3-scaled"))
    out = sd.export_hf(model, tmp_path / "l")
    weights = load_file(out / "model.safetensors")
    q = weights["model.layers.1.self_attn.q_proj.weight"]
    k = weights["model.layers.1.self_attn.k_proj.weight"]
    assert q.shape == (32, 32) and k.shape == (16, 32)  # 4 query heads, 2 key/value heads of width 8
    torch.testing.assert_close(q, model.state_dict()["blocks.1.attn.qkv_proj.weight"][:32])
    config = json.loads((out / "config.json").read_text())
    assert config["rope_parameters"] == {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 4.0,
                                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 32}
    gpt = random_model(variant("gpt2"))
    weights = load_file(sd.export_hf(gpt, tmp_path / "g") / "model.safetensors")
    assert "lm_head.weight" not in weights  # tied: transformers restores it from wte
    assert weights["transformer.h.0.mlp.c_fc.weight"].shape == (32, 128)


def test_llama3_rope_frequencies_equal_transformers():
    graph = variant("llama3-scaled")
    ref = reference_from_config(hf.hf_config(graph))
    attn = node(graph, "attn")["data"]
    scaling = {"factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_context": 32}
    ours = rope_inv_freq(8, attn["rope_base"], scaling)
    torch.testing.assert_close(ref.model.rotary_emb.inv_freq, ours, atol=0, rtol=0)
    assert not torch.allclose(ours, rope_inv_freq(8, attn["rope_base"]))  # the scaling really changes them


def test_smollm3_rope_layers_follow_no_rope_every():
    config = hf.hf_config(variant("smollm3-every-2"))
    assert config["no_rope_layers"] == [1, 0, 1]  # RoPE skipped in repeat i when (i + 1) % 2 == 0
    ref = reference_from_config(config)
    assert [layer.self_attn.use_rope for layer in ref.model.layers] == [1, 0, 1]


@pytest.mark.parametrize("name", ["gpt2", "llama2", "llama3", "qwen3", "smollm3"])
def test_parameter_counts_of_published_sizes_equal_transformers(name):
    graph = sd.template(name)
    with torch.device("meta"):
        ref = reference_from_config(hf.hf_config(graph))
    ours = sd.build(graph, device="meta")
    n_ref = sum(p.numel() for p in ref.parameters())  # parameters() counts a tied matrix once
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sd.analyze(graph).params == n_ref == resolve(name).published_params


# ============================================================================================ refusals
def _post_norm(graph: dict) -> dict:
    """x → attention → add → norm → feed-forward → add → norm (the original Transformer's order)."""
    g = copy.deepcopy(graph)
    inside = {"ln_1", "attn", "add_1", "ln_2", "mlp", "add_2"}
    g["edges"] = [e for e in g["edges"] if e["source"] not in inside and e["target"] not in inside]

    def edge(a, b, handle="in"):
        g["edges"].append({"id": f"{a}-{b}-{handle}", "source": a, "target": b, "sourceHandle": "out",
                           "targetHandle": handle})

    edge("tok_emb", "attn"), edge("tok_emb", "add_1", "a"), edge("attn", "add_1", "b"), edge("add_1", "ln_1")
    edge("ln_1", "mlp"), edge("ln_1", "add_2", "a"), edge("mlp", "add_2", "b"), edge("add_2", "ln_2")
    edge("ln_2", "ln_f")
    return g


def _with_extra_linear(graph: dict) -> dict:
    g = copy.deepcopy(graph)
    g["nodes"].append({"id": "proj", "type": "linear", "position": {"x": 0, "y": 0}, "parentId": "blocks",
                       "data": {"out_features": 32, "bias": False}})
    for e in g["edges"]:
        if e["source"] == "mlp":
            e["source"] = "proj"
    g["edges"].append({"id": "mlp-proj", "source": "mlp", "target": "proj", "sourceHandle": "out",
                       "targetHandle": "in"})
    return g


def _rms_norms(graph: dict) -> dict:
    g = copy.deepcopy(graph)
    for norm in ("ln_1", "ln_2", "ln_f"):
        node(g, norm).update(type="rmsNorm", data={"eps": 1e-5})
    return g


def _mixed_norms(graph: dict) -> dict:
    g = copy.deepcopy(graph)
    node(g, "ln_2").update(type="layerNorm", data={"eps": 1e-5, "bias": True})
    return g


UNSUPPORTED = {
    "sinusoidal": (lambda: edited(sd.template("gpt2", "tiny", **SMALL), pos_emb={"kind": "sinusoidal"}),
                   "pos_emb", "kind", "sinusoidal positions have no Hugging Face equivalent"),
    "shared weights": (lambda: edited(sd.template("llama2", "tiny", **SMALL), blocks={"share_weights": True}),
                       "blocks", "share_weights", "shared-weights"),
    "sliding window": (lambda: edited(sd.template("llama3", "tiny", **SMALL), attn={"sliding_window": 8}),
                       "attn", "sliding_window", "sliding-window"),
    "post-norm": (lambda: _post_norm(sd.template("llama2", "tiny", **SMALL)), "ln_2", None, "pre-norm"),
    "mixed norms": (lambda: _mixed_norms(sd.template("llama2", "tiny", **SMALL)), "ln_2", None,
                    "one kind of norm"),
    "layernorm without bias": (lambda: edited(sd.template("gpt2", "tiny", **SMALL), ln_1={"bias": False},
                                              ln_2={"bias": False}, ln_f={"bias": False}),
                               "ln_1", "bias", "LayerNorms have a bias"),
    "gpt2 with gqa": (lambda: edited(sd.template("gpt2", "tiny", **SMALL), attn={"n_kv_heads": 2}),
                      "attn", "n_kv_heads", "grouped-query"),
    "extra block in the layer": (lambda: _with_extra_linear(sd.template("llama2", "tiny", **SMALL)), "proj",
                                 None, "no place"),
    "learned positions with rmsnorm": (lambda: _rms_norms(sd.template("gpt2", "tiny", **SMALL)), "pos_emb",
                                       "kind", "no learned position"),
    "head bias": (lambda: edited(sd.template("qwen3", "tiny", **SMALL), lm_head={"bias": True}),
                  "lm_head", "bias", "no LM-head bias"),
    "qwen3 mlp bias": (lambda: edited(sd.template("qwen3", "tiny", **SMALL), mlp={"bias": True}),
                       "mlp", "bias", "Qwen3 has no feed-forward biases"),
}


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_graphs_no_class_expresses_are_refused_naming_the_node(case, tmp_path):
    make, node_id, field, words = UNSUPPORTED[case]
    graph = make()
    assert sd.analyze(graph).ok, sd.analyze(graph).errors  # a valid design, just not a Hugging Face one
    with pytest.raises(GraphError) as info:
        hf.hf_config(graph)
    issue = next(e for e in info.value.errors if e.node_id == node_id)
    assert issue.field == field and words in issue.message
    assert f"node '{node_id}'" in str(info.value)
    with pytest.raises(GraphError):
        sd.export_hf(sd.build(graph), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written for a refused export


def test_export_needs_a_built_model(tmp_path):
    with pytest.raises(TypeError, match="sd.build"):
        sd.export_hf(sd.template("gpt2", "tiny"), tmp_path / "x")


def test_export_refuses_to_overwrite_a_foreign_directory(tmp_path):
    model = random_model(variant("llama2"))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        sd.export_hf(model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    sd.export_hf(model, tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    sd.export_hf(random_model(variant("qwen3")), tmp_path)  # an earlier export may be replaced
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "qwen3"


# ============================================================================================ import
def test_import_reads_a_sharded_checkpoint_saved_by_transformers(tmp_path):
    config = hf.hf_config(variant("llama3-scaled"))
    torch.manual_seed(5)
    ref = reference_from_config(config)
    ref.save_pretrained(tmp_path, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    assert not (tmp_path / "model.safetensors").exists()
    graph, model = sd.import_hf(tmp_path)
    assert hf.hf_config(graph)["rope_parameters"] == config["rope_parameters"]
    idx = tokens(seed=6)
    torch.testing.assert_close(logits_of(model.eval(), idx), logits_of(ref, idx), atol=ATOL, rtol=RTOL)


def test_import_refuses_pickled_weights_without_opening_them(tmp_path):
    sd.export_hf(random_model(variant("gpt2")), tmp_path)
    (tmp_path / "model.safetensors").unlink()
    ran = tmp_path / "payload-ran"

    class Payload:  # unpickling this creates a directory: proof that nobody unpickled it
        def __reduce__(self):
            return os.mkdir, (str(ran),)

    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="pytorch_model.bin.*never unpickles"):
        sd.import_hf(tmp_path)
    assert not ran.exists()


def _rewrite(path, change) -> None:
    weights = load_file(path / "model.safetensors")
    change(weights)
    save_file(weights, path / "model.safetensors", metadata={"format": "pt"})


def test_import_names_missing_extra_and_misshapen_tensors(tmp_path):
    out = sd.export_hf(random_model(variant("llama2")), tmp_path / "m")
    _rewrite(out, lambda w: w.pop("model.layers.1.mlp.up_proj.weight"))
    with pytest.raises(ModelFileError, match=r"'model\.layers\.1\.mlp\.up_proj\.weight' is missing"):
        sd.import_hf(out)
    _rewrite(out, lambda w: w.update({"model.layers.1.mlp.up_proj.weight": torch.zeros(88, 32),
                                      "model.layers.9.extra.weight": torch.zeros(2)}))
    with pytest.raises(ModelFileError, match=r"'model\.layers\.9\.extra\.weight'.* has no place"):
        sd.import_hf(out)
    _rewrite(out, lambda w: w.pop("model.layers.9.extra.weight"))
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "intermediate_size": 64}))
    with pytest.raises(ModelFileError, match=r"'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[88, 32\]"):
        sd.import_hf(out)


def test_import_accepts_base_model_keys_and_old_buffers(tmp_path):
    """Checkpoints saved from GPT2Model carry no "transformer." prefix and, in older files, mask buffers."""
    model = random_model(variant("gpt2"))
    out = sd.export_hf(model, tmp_path / "g")

    def strip(w):
        for key in list(w):
            w[key.removeprefix("transformer.")] = w.pop(key)
        w["h.0.attn.bias"] = torch.ones(1, 1, 8, 8)

    _rewrite(out, strip)
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "n_inner": None, "n_layer": 2}))
    _, back = sd.import_hf(out)
    idx = tokens(seed=7)
    torch.testing.assert_close(logits_of(back.eval(), idx), logits_of(model, idx), atol=0, rtol=0)


def test_import_refuses_unsupported_configs(tmp_path):
    out = sd.export_hf(random_model(variant("llama2")), tmp_path / "m")
    config = json.loads((out / "config.json").read_text())
    for change, words in (({"model_type": "mistral"}, "model_type 'mistral' is not supported"),
                          ({"rope_parameters": {"rope_type": "yarn", "factor": 2.0}, "rope_scaling": None},
                           "rope_type 'yarn'"),
                          ({"hidden_size": "32"}, "'hidden_size' must be a positive whole number")):
        (out / "config.json").write_text(json.dumps({**config, **change}))
        with pytest.raises(ModelFileError, match=words):
            sd.import_hf(out)


def test_import_of_a_hub_id_fails_fast_offline():
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    start = time.monotonic()
    with pytest.raises(ModelFileError, match="HF_HUB_OFFLINE"):
        sd.import_hf("slamdunk-lab-tests/no-such-model")
    assert time.monotonic() - start < 10
    with pytest.raises(ModelFileError, match="neither a local directory nor a Hugging Face Hub id"):
        sd.import_hf("./no/such/dir")
