"""The builder: distinct layers, real residuals, honoured positions, determinism, KV cache, size caps."""

import copy
import math

import pytest
import torch
from helpers import TEMPLATE_NAMES, edited, node

import slamdunk_lab as sd


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    return {name: sd.build(sd.template(name, size="tiny", n_layer=2)).eval() for name in TEMPLATE_NAMES}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_tiny_template_builds_and_counts_parameters_like_the_analysis(name, tiny_models):
    model = tiny_models[name]
    a = sd.analyze(sd.template(name, size="tiny", n_layer=2))
    unique = {id(p): p.numel() for p in model.parameters()}
    assert sum(unique.values()) == a.params
    logits = model(torch.randint(0, 256, (3, 11)))
    assert logits.shape == (3, 11, 256) and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_repeated_blocks_have_their_own_weights(name, tiny_models):
    sd_ = tiny_models[name].state_dict()
    w0, w1 = sd_["blocks.0.attn.qkv_proj.weight"], sd_["blocks.1.attn.qkv_proj.weight"]
    assert w0.data_ptr() != w1.data_ptr()
    assert not torch.equal(w0, w1)


def test_shared_weights_only_when_asked():
    g = edited(sd.template("gpt2", size="tiny", n_layer=3), "blocks", share_weights=True)
    a = sd.analyze(g)
    model = sd.build(g)
    assert [k for k in model.state_dict() if k.endswith("attn.qkv_proj.weight")] == ["blocks.0.attn.qkv_proj.weight"]
    assert sum(p.numel() for p in model.parameters()) == a.params
    assert a.nodes["attn"].params == a.nodes["attn"].params_each
    assert a.flops_per_token == sd.analyze(sd.template("gpt2", size="tiny", n_layer=3)).flops_per_token
    assert len(model._attention_calls()) == 3  # one set of weights, run three times


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_residual_connections_carry_the_stream(name, tiny_models):
    """With the attention and MLP outputs zeroed, each block must be the identity (x + 0 + 0)."""
    model = copy.deepcopy(tiny_models[name])
    layer = model.blocks[0]
    with torch.no_grad():
        for linear in (layer.attn.out_proj, getattr(layer.mlp, "fc_out", None) or layer.mlp.down_proj):
            linear.weight.zero_()
            if linear.bias is not None:
                linear.bias.zero_()
    x = torch.randn(2, 5, 128)
    from slamdunk_lab.blocks.modules import ForwardContext

    torch.testing.assert_close(layer(x, ForwardContext()), x)


def test_positional_choice_is_honoured():
    base = sd.template("gpt2", size="tiny", n_layer=1)
    x = torch.randint(0, 256, (1, 8))
    outs = {}
    for kind in ("learned", "sinusoidal", "none"):
        torch.manual_seed(0)
        model = sd.build(edited(base, "pos_emb", kind=kind)).eval()
        outs[kind] = model(x)
        assert ("pos_emb.weight" in model.state_dict()) == (kind == "learned")
    assert not torch.allclose(outs["learned"], outs["none"])
    assert not torch.allclose(outs["sinusoidal"], outs["none"])
    # Without positions or RoPE, attention cannot tell a repeated token's positions apart.
    torch.manual_seed(0)
    nopos = sd.build(edited(base, "pos_emb", kind="none")).eval()
    same = nopos(torch.full((1, 6), 7))
    torch.testing.assert_close(same[0, 0], same[0, 5])


def test_rope_flag_changes_the_model():
    g = sd.template("llama2", size="tiny", n_layer=1)
    x = torch.randint(0, 256, (1, 8))
    torch.manual_seed(0)
    with_rope = sd.build(g).eval()(x)
    torch.manual_seed(0)
    without = sd.build(edited(g, "attn", rope=False)).eval()(x)
    assert not torch.allclose(with_rope, without)


def test_build_is_deterministic_under_manual_seed():
    g = sd.template("llama3", size="tiny", n_layer=2)
    torch.manual_seed(123)
    a = sd.build(g).state_dict()
    torch.manual_seed(123)
    b = sd.build(g).state_dict()
    torch.manual_seed(124)
    c = sd.build(g).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["blocks.0.attn.qkv_proj.weight"], c["blocks.0.attn.qkv_proj.weight"])


def test_gpt2_initialisation_scales_residual_projections():
    torch.manual_seed(0)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=4, d_model=256))
    n_layers = 4
    proj = torch.cat([model.blocks[i].attn.out_proj.weight.flatten() for i in range(4)])
    fc = torch.cat([model.blocks[i].mlp.fc_in.weight.flatten() for i in range(4)])
    assert proj.std().item() == pytest.approx(0.02 / math.sqrt(2 * n_layers), rel=0.05)
    assert fc.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.count_nonzero(model.blocks[0].mlp.fc_in.bias) == 0
    assert torch.equal(model.blocks[0].ln_1.weight, torch.ones(128 * 2))


def test_tied_head_shares_the_embedding_matrix():
    model = sd.build(sd.template("gpt2", size="tiny"))
    assert model.lm_head.weight is model.tok_emb.weight
    untied = sd.build(edited(sd.template("gpt2", size="tiny"), "lm_head", tie_weights=False))
    assert untied.lm_head.weight is not untied.tok_emb.weight


def test_state_dict_names_are_readable():
    model = sd.build(sd.template("gpt2"), device="meta")
    keys = set(model.state_dict())
    assert {"tok_emb.weight", "pos_emb.weight", "blocks.11.attn.qkv_proj.weight", "blocks.3.mlp.fc_out.bias",
            "ln_f.weight", "lm_head.weight"} <= keys


def test_odd_node_ids_become_safe_attribute_names():
    g = copy.deepcopy(sd.template("gpt2", size="tiny", n_layer=1))
    renames = {"attn": "my attn!", "mlp": "forward", "ln_f": "3norm"}
    for n in g["nodes"]:
        n["id"] = renames.get(n["id"], n["id"])
    for e in g["edges"]:
        e["source"], e["target"] = renames.get(e["source"], e["source"]), renames.get(e["target"], e["target"])
    model = sd.build(g)
    keys = set(model.state_dict())
    assert "blocks.0.my_attn_.qkv_proj.weight" in keys and "blocks.0.forward_.fc_in.weight" in keys
    assert "n_3norm.weight" in keys
    assert model(torch.zeros(1, 4, dtype=torch.long)).shape == (1, 4, 256)


@pytest.mark.parametrize("name", TEMPLATE_NAMES + ["sliding"])
def test_kv_cache_logits_equal_the_uncached_forward(name):
    if name == "sliding":
        g = edited(sd.template("qwen3", size="tiny", n_layer=2), "attn", sliding_window=5)
    else:
        g = sd.template(name, size="tiny", n_layer=2)
    torch.manual_seed(0)
    model = sd.build(g).eval()
    x = torch.randint(0, 256, (2, 19))
    full = model(x)
    cache = model.new_cache(batch_size=2)
    pieces = [model(x[:, :6], cache=cache), model(x[:, 6:9], cache=cache)]
    pieces += [model(x[:, i:i + 1], cache=cache) for i in range(9, 19)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)
    assert cache.pos == 19


def test_sliding_window_limits_what_attention_sees():
    g = edited(sd.template("llama2", size="tiny", n_layer=1), "attn", sliding_window=3)
    model = sd.build(g).eval()
    x = torch.randint(0, 256, (1, 10))
    y = x.clone()
    y[0, 0] = (x[0, 0] + 1) % 256  # change a token far outside the window of the last position
    assert torch.allclose(model(x)[0, -1], model(y)[0, -1], atol=1e-6)
    assert not torch.allclose(model(x)[0, 1], model(y)[0, 1])


def test_sequences_longer_than_the_context_are_refused_clearly():
    model = sd.build(sd.template("gpt2", size="tiny", context=8))
    with pytest.raises(ValueError, match="at most 8 positions"):
        model(torch.zeros(1, 9, dtype=torch.long))


def test_bfloat16_build():
    model = sd.build(sd.template("llama3", size="tiny", n_layer=1), dtype="bfloat16")
    assert model.tok_emb.weight.dtype == torch.bfloat16
    assert model(torch.zeros(1, 4, dtype=torch.long)).dtype == torch.bfloat16


def test_invalid_graph_raises_graph_error_with_every_problem():
    g = edited(sd.template("gpt2", size="tiny"), "attn", n_heads=3)
    node(g, "mlp")["data"]["hidden_dim"] = -5
    with pytest.raises(sd.GraphError) as info:
        sd.build(g)
    assert {(e.node_id, e.field) for e in info.value.errors} == {("attn", "n_heads"), ("mlp", "hidden_dim")}
    assert "n_heads 3" in str(info.value)


def test_size_cap_refuses_before_allocating():
    g = sd.template("llama3")  # 8 B parameters
    with pytest.raises(sd.GraphError, match="8,030,261,248 parameters"):
        sd.build(g)
    with pytest.raises(sd.GraphError, match="GiB"):
        sd.build(sd.template("gpt2", size="tiny"), max_memory=1000)
    meta = sd.build(g, device="meta")  # structure only: any size
    assert sum(p.numel() for p in meta.parameters()) == 8_030_261_248


def test_bad_device_and_dtype_are_graph_errors():
    g = sd.template("gpt2", size="tiny")
    with pytest.raises(sd.GraphError, match="device"):
        sd.build(g, device="quantum")
    with pytest.raises(sd.GraphError, match="dtype"):
        sd.build(g, dtype="int3")


def test_attention_uses_scaled_dot_product_attention(monkeypatch):
    import torch.nn.functional as F

    calls = []
    real = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(kwargs.get("is_causal"))
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=3))
    model(torch.zeros(2, 8, dtype=torch.long))
    assert calls == [True, True, True]


@pytest.mark.parametrize("name", TEMPLATE_NAMES + ["sliding", "shared"])
def test_torch_compile_traces_the_whole_model_as_one_graph(name):
    """compile=True is only fast if dynamo sees the interpreter-driven forward as one graph: a graph break (a
    dict look-up it cannot follow, a data-dependent branch) would split it and cost a GPU user their speed."""
    import torch._dynamo as dynamo

    if name == "sliding":
        g = edited(sd.template("qwen3", size="tiny", n_layer=2), "attn", sliding_window=5)
    elif name == "shared":
        g = edited(sd.template("smollm3", size="tiny", n_layer=4), "blocks", share_weights=True)
    else:
        g = sd.template(name, size="tiny", n_layer=2)
    model = sd.build(g).train()
    dynamo.reset()
    try:
        explained = dynamo.explain(model)(torch.randint(0, 256, (2, 12)))
    finally:
        dynamo.reset()
    assert explained.graph_break_count == 0, [str(b.reason) for b in explained.break_reasons]
    assert explained.graph_count == 1


@pytest.mark.parametrize("name", ["llama3", "shared"])
def test_torch_compile_compiles_once_not_again_on_the_second_step(name):
    """Nothing in the forward pass may change state dynamo guards on (e.g. a cache filled on the first call):
    each recompile of a 124M model costs a GPU user most of a minute."""
    import torch._dynamo as dynamo

    g = (edited(sd.template("smollm3", size="tiny", n_layer=4), "blocks", share_weights=True) if name == "shared"
         else sd.template(name, size="tiny", n_layer=2))
    compiled: list = []

    def backend(gm, example_inputs):
        compiled.append(gm)
        return gm.forward

    dynamo.reset()
    try:
        model = torch.compile(sd.build(g).train(), backend=backend)
        x = torch.randint(0, 256, (2, 12))
        for _ in range(3):
            model(x).sum().backward()
    finally:
        dynamo.reset()
    assert len(compiled) == 1
