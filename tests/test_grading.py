"""sd.check: checks a teacher grades with. Each one rebuilds what it grades and says what it found."""

from __future__ import annotations

import copy
import json

import pytest
import torch

import slamdunk_lab as sd
from slamdunk_lab import grading


@pytest.fixture(autouse=True)
def _english():
    grading.set_language("en")
    yield
    grading.set_language("en")


@pytest.fixture(scope="module")
def corpus():
    return sd.data.synthetic("grammar", n=600, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return sd.tokenizers.char(corpus)


def small(family="gpt2", **kw):
    return sd.template(family, size="tiny", **{"n_layer": 1, "d_model": 32, "n_head": 2, "context": 32, **kw})


def _edges_without(g, *pairs):
    g["edges"] = [e for e in g["edges"] if (e["source"], e["target"]) not in pairs]
    return g


def _edge(source, target, handle="in"):
    from slamdunk_lab.graph.schema import make_edge

    return make_edge(source, target, handle)


def without_attention_residual(g):
    """The attention's residual add removed: attention feeds the second norm and the second add directly."""
    g = copy.deepcopy(g)
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "add_1"]
    g["edges"] = [e for e in g["edges"] if "add_1" not in (e["source"], e["target"])]
    g["edges"] += [_edge("attn", "ln_2"), _edge("attn", "add_2", "a")]
    return g


def post_ln(g):
    """Pre-LN rewired as post-LN: each sub-layer reads the stream, each add is followed by its norm."""
    g = copy.deepcopy(g)
    stream = next(e["source"] for e in g["edges"] if e["target"] == "ln_1")
    keep = [e for e in g["edges"] if e["target"] not in ("ln_1", "attn", "ln_2", "mlp", "add_1", "add_2", "ln_f")
            and e["source"] not in ("ln_1", "ln_2", "add_1", "add_2")]
    g["edges"] = keep + [
        _edge(stream, "attn"), _edge(stream, "add_1", "a"), _edge("attn", "add_1", "b"), _edge("add_1", "ln_1"),
        _edge("ln_1", "mlp"), _edge("ln_1", "add_2", "a"), _edge("mlp", "add_2", "b"), _edge("add_2", "ln_2"),
        _edge("ln_2", "ln_f"),
    ]
    return g


# ------------------------------------------------------------------ results
def test_a_result_has_points_and_a_sentence_and_require_raises_it():
    ok = grading.attention(small("llama3", n_kv_head=1), kind="mqa", points=3)
    assert ok.passed and ok.points == 3 and ok.max_points == 3 and bool(ok)
    assert str(ok).startswith("✔ 3/3 attention:") and "1 key/value heads" in ok.message
    assert ok.require() is ok
    bad = grading.attention(small("gpt2"), n_kv_heads=1, points=3)
    assert not bad.passed and bad.points == 0 and bad.max_points == 3
    with pytest.raises(AssertionError, match="expected 1 key/value heads; the model has 2 query / 2 key-value heads"):
        bad.require()
    with pytest.raises(grading.CheckFailed) as info:
        bad.require()
    assert info.value.result is bad


def test_report_adds_points_and_names_every_failure():
    g = small("llama3", n_head=4)
    r = grading.report(grading.attention(g, kind="gqa", points=2), grading.max_params(g, 10, points=1))
    assert (r.points, r.max_points, r.passed) == (2, 3, False)
    assert str(r).splitlines()[-1] == "total: 2/3"
    with pytest.raises(AssertionError, match="max_params: .* more than the limit of 10"):
        r.require()


def test_messages_in_korean():
    grading.set_language("ko")
    r = grading.attention(small("gpt2"), kind="gqa")
    assert "기대한 것: 그룹 쿼리 어텐션" in r.message
    with pytest.raises(ValueError, match="language"):
        grading.set_language("fr")


def test_sd_check_is_the_grading_module():
    assert sd.check is grading and sd.grading is grading


# ------------------------------------------------------------------ designs
def test_a_design_that_does_not_build_names_the_node():
    g = small("gpt2")
    next(n for n in g["nodes"] if n["id"] == "attn")["data"]["n_heads"] = 3
    r = grading.attention(g, kind="mha")
    assert not r.passed and r.message.startswith("the design does not build: node 'attn'")
    assert not grading.builds(g).passed


def test_designs_come_from_dicts_models_files_and_canvases(tmp_path):
    g = small("llama3")
    path = tmp_path / "design.json"
    path.write_text(json.dumps(g))
    canvas = sd.Canvas(g)
    for design in (g, sd.build(g), path, str(path), canvas):
        assert grading.attention(design, n_kv_heads=2).passed
    assert "no design file" in grading.builds(tmp_path / "missing.json").message
    assert not grading.builds(42).passed


def test_the_check_never_changes_the_design():
    g = small("llama3")
    before = copy.deepcopy(g)
    grading.builds(g), grading.norms(g, placement="pre"), grading.residuals(g, 2)
    assert g == before


def test_attention_is_read_from_the_built_model():
    assert grading.attention(small("gpt2"), kind="mha", n_heads=2).passed
    assert grading.attention(small("llama3", n_head=4, n_kv_head=2), kind="gqa", n_kv_heads=2).passed
    r = grading.attention(small("llama3", n_head=4, n_kv_head=2), kind="mqa")
    assert "expected multi-query attention; the model has 4 query / 2 key-value heads" in r.message
    g = small("gpt2")
    g["nodes"] = [n for n in g["nodes"] if n["type"] != "attention"]
    assert not grading.attention(g, kind="mha").passed


def test_max_params_counts_tied_weights_once():
    g = small("gpt2")  # tied head
    built = sd.build(g)
    n = sum(p.numel() for p in built.parameters())
    assert grading.max_params(g, n).passed
    r = grading.max_params(g, n - 1)
    assert not r.passed and r.details["params"] == n and f"{n:,} parameters, more than" in r.message


def test_layers_counts_repeats():
    assert grading.layers(small("gpt2", n_layer=3), 3).passed
    assert "has 3 attention layers (asked: 2)" in grading.layers(small("gpt2", n_layer=3), 2).message


def test_positions():
    assert grading.positions(small("gpt2"), "learned").passed
    assert grading.positions(small("llama2"), "rope").passed
    assert not grading.positions(small("llama2"), "none").passed
    g = small("gpt2")
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "pos_emb"]
    g["edges"] = [e for e in g["edges"] if "pos_emb" not in (e["source"], e["target"])] + [_edge("tok_emb", "ln_1"),
                                                                                          _edge("tok_emb", "add_1", "a")]
    assert grading.positions(g, "none").passed
    assert "the model's positions: none (asked: learned)" in grading.positions(g, "learned").message
    s = small("gpt2")
    next(n for n in s["nodes"] if n["id"] == "pos_emb")["data"]["kind"] = "sinusoidal"
    assert grading.positions(s, "sinusoidal").passed


def test_norms_kind_and_placement():
    assert grading.norms(small("gpt2"), kind="layerNorm", placement="pre").passed
    assert grading.norms(small("llama2"), kind="rmsNorm", placement="pre").passed
    post = post_ln(small("gpt2"))
    assert grading.builds(post).passed
    assert grading.norms(post, placement="post").passed
    r = grading.norms(post, kind="rmsNorm", placement="pre")
    assert "are layerNorm (asked: rmsNorm)" in r.message and "sit post the sub-layers (asked: pre-norm)" in r.message


def test_residuals_counts_real_skips():
    g = small("gpt2")
    assert grading.residuals(g, 2).passed
    ablated = without_attention_residual(g)
    assert grading.builds(ablated).passed
    assert grading.residuals(ablated, 1).passed
    assert "has 1 residual connection(s) (asked: 2)" in grading.residuals(ablated, 2).message
    # an add of the same value twice adds nothing new: not a residual
    twice = copy.deepcopy(g)
    twice["edges"] = [e for e in twice["edges"] if not (e["target"] == "add_1" and e.get("targetHandle") == "a")]
    twice["edges"].append(_edge("attn", "add_1", "a"))
    assert grading.residuals(twice, 1).passed


def test_feed_forward_gated():
    assert grading.feed_forward(small("llama2"), gated=True, activation="swiglu").passed
    r = grading.feed_forward(small("gpt2"), gated=True)
    assert not r.passed and "asked: gated" in r.message
    assert grading.feed_forward(small("gpt2", d_ff=100), hidden_dim=100).passed


def test_kv_cache_bytes_is_what_the_model_allocates():
    g = small("llama3", n_head=4, n_kv_head=1, context=32)
    model = sd.build(g)
    cache = model.new_cache(batch_size=3, max_len=20)
    allocated = sum(t.numel() * t.element_size() for t in vars(cache).values() if isinstance(t, torch.Tensor))
    allocated += sum(t.numel() * t.element_size() for v in vars(cache).values() if isinstance(v, (list, tuple))
                     for item in v for t in (item if isinstance(item, (list, tuple)) else [item])
                     if isinstance(t, torch.Tensor))
    assert grading.kv_cache_bytes(g, context=20, batch_size=3) == allocated
    assert grading.kv_cache_bytes(small("llama3", n_head=4, n_kv_head=4)) == 4 * grading.kv_cache_bytes(g)


def test_answer():
    assert grading.answer(1000, 1000.4).passed
    r = grading.answer("12", 1000, what="the KV cache in bytes")
    assert not r.passed and r.message == "the KV cache in bytes: 12 is too low"
    assert "should be a number" in grading.answer(None, 3).message
    assert not grading.answer(float("nan"), 3).passed


# ------------------------------------------------------------------ models, training, export
def test_trains_to_trains_a_fresh_copy_within_a_time_limit(corpus, tok, tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "cache"))
    g = small("gpt2", vocab_size=tok.vocab_size)
    state = torch.get_rng_state()
    passed = grading.trains_to(g, corpus, tok, val_loss=3.0, steps=40, lr=3e-3, batch_size=8, context=32, seconds=120)
    assert torch.equal(state, torch.get_rng_state())  # the student's random state is left alone
    assert passed.passed, passed.message
    assert passed.details["steps"] == 40 and passed.details["val_loss"] < 3.0
    assert f"after 40 of 40 steps the held-out loss is {passed.details['val_loss']:.3f}" in passed.message
    again = grading.trains_to(g, corpus, tok, val_loss=0.01, steps=40, lr=3e-3, batch_size=8, context=32, seconds=120)
    assert again.details["val_loss"] == passed.details["val_loss"]  # fixed seed: the same number every time
    assert not again.passed and "above the goal of 0.01" in again.message
    cut = grading.trains_to(g, corpus, tok, val_loss=3.0, steps=100_000, batch_size=8, context=32, seconds=1)
    assert cut.details["steps"] < 100_000 and "stopped at the 1 s limit" in cut.message
    assert not list(tmp_path.glob("runs"))  # no run folder left behind
    too_long = grading.trains_to(g, corpus, tok, val_loss=3.0, context=64)
    assert "longer than the design's 32 positions" in too_long.message


def test_evaluates_to_measures_the_loss_itself(corpus, tok, tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "cache"))
    model = sd.build(small("gpt2", vocab_size=tok.vocab_size))
    model.reported_val_loss = 0.1  # whatever the student claims is never read
    loss = grading.held_out_loss(model, corpus, tok, context=32)
    assert abs(loss - torch.log(torch.tensor(float(tok.vocab_size))).item()) < 0.5  # untrained: about ln V
    assert grading.evaluates_to(model, corpus, tok, val_loss=loss + 0.01, context=32).passed
    r = grading.evaluates_to(model, corpus, tok, val_loss=1.0, context=32)
    assert not r.passed and f"held-out loss {loss:.3f}, above the goal of 1" in r.message
    assert model.training  # mode given back


def test_same_logits(tok):
    g = small("llama3", vocab_size=tok.vocab_size)
    code = sd.to_code(g)
    assert grading.same_logits(code, g).passed
    model = sd.build(g)
    assert grading.same_logits(code, model).passed
    doubled = code + ("\n_b = build_model\n\ndef build_model():\n    m = _b()\n    f = m.forward\n"
                      "    m.forward = lambda *a, **k: 2 * f(*a, **k)\n    return m\n")
    r = grading.same_logits(doubled, model)
    assert not r.passed and "not the same model" in r.message
    assert "defines no build_model" in grading.same_logits("x = 1", g).message
    assert "the code fails: ZeroDivisionError" in grading.same_logits("def build_model():\n    1/0\n", g).message


def test_round_trips(corpus, tok):
    assert grading.round_trips(tok, ["the cat", corpus.docs[0]]).passed
    assert grading.round_trips(sd.tokenizers.byte(), "한국어 텍스트").passed
    model = sd.build(small("gpt2", vocab_size=tok.vocab_size))
    assert grading.round_trips(tok, model=model, max_new_tokens=20).passed
    r = grading.round_trips(sd.tokenizers.char("abc"), "abz")
    assert not r.passed and "'abz'" in r.message
