"""Templates: data with overrides, published parameter counts, tiny sizes that fit a laptop."""

import pytest
import torch
from helpers import TEMPLATE_NAMES, node

import slamdunk_lab as sd
from slamdunk_lab.templates import PRESETS

ALL_SIZES = [(family, size) for family, sizes in PRESETS.items() for size in sizes]


def test_templates_lists_every_family_and_size():
    rows = sd.templates()
    assert {(r["name"], r["size"]) for r in rows} == set(ALL_SIZES)
    for r in rows:
        assert set(r) >= {"name", "family", "size", "params", "description"}
        assert r["params"] > 0 and r["description"]


@pytest.mark.parametrize("family,size", [fs for fs in ALL_SIZES if fs[1] != "tiny"])
def test_original_sizes_match_the_published_parameter_count_on_the_meta_device(family, size):
    g = sd.template(family, size=size)
    a = sd.analyze(g)
    assert a.ok
    assert a.params == PRESETS[family][size].published_params
    model = sd.build(g, device="meta")
    assert sum(p.numel() for p in model.parameters()) == a.params  # tied weights counted once
    assert next(model.parameters()).device.type == "meta"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_tiny_sizes_are_laptop_sized_and_train_a_step(name):
    g = sd.template(name, size="tiny")
    a = sd.analyze(g, batch_size=12, context=64)
    assert 500_000 <= a.params <= 5_000_000
    assert a.memory["total"] < 2**30
    torch.manual_seed(0)
    model = sd.build(g)
    x = torch.randint(0, 256, (4, 33))
    loss = torch.nn.functional.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
    loss.backward()
    assert loss.item() == pytest.approx(torch.log(torch.tensor(256.0)).item(), rel=0.1)  # near-uniform at init
    assert all(p.grad is not None for p in model.parameters())


def test_overrides_resize_the_design():
    g = sd.template("gpt2", size="tiny", n_layer=6, n_head=8, d_model=256, context=64, vocab_size=65, dropout=0.1)
    assert node(g, "blocks")["data"]["repeat"] == 6
    assert node(g, "attn")["data"]["n_heads"] == 8 and node(g, "attn")["data"]["dropout"] == 0.1
    assert node(g, "tok_emb")["data"] == {"vocab_size": 65, "d_model": 256}
    assert node(g, "mlp")["data"]["hidden_dim"] == 1024  # GPT-2 keeps d_ff = 4 · d_model
    assert node(g, "tokens")["data"]["context"] == 64
    assert node(g, "lm_head")["data"]["vocab_size"] == 65
    assert {"drop_emb", "drop_1", "drop_2"} <= {n["id"] for n in g["nodes"]}
    assert sd.analyze(g).ok


def test_gqa_template_override_of_heads():
    g = sd.template("llama3", size="tiny", n_head=8, n_kv_head=4)
    assert (node(g, "attn")["data"]["n_heads"], node(g, "attn")["data"]["n_kv_heads"]) == (8, 4)
    bad = sd.template("llama3", size="tiny", n_head=8, n_kv_head=3)
    (err,) = sd.analyze(bad).errors
    assert err.node_id == "attn" and err.field == "n_kv_heads" and "not divisible" in err.message


def test_family_specific_features_are_data():
    attn = {name: node(sd.template(name, size="tiny"), "attn")["data"] for name in TEMPLATE_NAMES}
    assert attn["llama3"]["rope_scaling"] == "llama3"
    assert attn["qwen3"]["qk_norm"] and attn["qwen3"]["head_dim"] == 32
    assert attn["smollm3"]["no_rope_every"] == 4
    assert not attn["gpt2"]["rope"] and attn["llama2"]["rope"]
    assert node(sd.template("smollm3", size="tiny"), "lm_head")["data"]["tie_weights"]


def test_bad_template_requests_fail_clearly():
    with pytest.raises(ValueError, match="unknown template 'gpt5'"):
        sd.template("gpt5")
    with pytest.raises(ValueError, match="no size 'huge'"):
        sd.template("gpt2", size="huge")
    with pytest.raises(ValueError, match="unknown template override"):
        sd.template("gpt2", n_layers=2)
    with pytest.raises(ValueError, match="n_layer must be a positive whole number"):
        sd.template("gpt2", n_layer=0)


def test_smollm3_skips_rope_in_every_fourth_layer():
    model = sd.build(sd.template("smollm3", size="tiny", n_layer=8))
    from slamdunk_lab.blocks.modules import ForwardContext

    ctx = ForwardContext()
    used = []
    for i in range(8):
        ctx.repeat_index = i
        used.append(model.blocks[i].attn.uses_rope(ctx))
    assert used == [True, True, True, False, True, True, True, False]
