"""Property tests: Hypothesis-generated small valid graphs build, give the right shape and the analysed size;
random corruptions of a valid graph only ever give GraphErrors."""

import copy
import math
import os

import torch
from helpers import node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import slamdunk_lab as sd
from slamdunk_lab.templates import TemplateConfig, graph_from_config


def examples(n: int) -> int:
    """``n`` examples, times ``$SLAMDUNK_HYPOTHESIS_SCALE`` for a longer hunt (e.g. 20 before a release)."""
    return max(1, round(n * float(os.environ.get("SLAMDUNK_HYPOTHESIS_SCALE", "1"))))


@st.composite
def designs(draw) -> dict:
    """A random pre-norm decoder over the whole design space the catalogue offers."""
    n_head = draw(st.sampled_from([1, 2, 4]))
    head_dim = draw(st.sampled_from([2, 4, 8]))
    explicit_head_dim = draw(st.booleans())
    d_model = n_head * head_dim * draw(st.sampled_from([1, 2])) if not explicit_head_dim else draw(
        st.sampled_from([8, 12, 16]))
    n_kv = draw(st.sampled_from([d for d in (1, 2, 4) if n_head % d == 0]))
    positional = draw(st.sampled_from(["learned", "sinusoidal", "none"]))
    rope = draw(st.booleans())
    if positional == "sinusoidal" and d_model % 2:
        positional = "learned"
    scaling = draw(st.sampled_from([None, {"factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 2.0,
                                           "original_context": 8}]))
    cfg = TemplateConfig(
        family="hyp", size="x", description="", vocab_size=draw(st.integers(5, 60)),
        context=draw(st.integers(4, 24)), n_layer=draw(st.integers(1, 3)), n_head=n_head, d_model=d_model,
        d_ff=draw(st.integers(1, 40)), n_kv_head=n_kv, head_dim=head_dim if explicit_head_dim else None,
        norm=draw(st.sampled_from(["layerNorm", "rmsNorm"])), norm_eps=1e-5,
        activation=draw(st.sampled_from(["relu", "gelu", "gelu_tanh", "silu", "mish", "swiglu", "geglu"])),
        ff_bias=draw(st.booleans()), qkv_bias=draw(st.booleans()), out_bias=draw(st.booleans()),
        positional=positional, rope=rope, rope_scaling=scaling if rope else None,
        qk_norm=draw(st.booleans()), no_rope_every=draw(st.sampled_from([0, 2])), tie=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.0, 0.1])))
    g = graph_from_config(cfg)
    if draw(st.booleans()):
        node(g, "blocks")["data"]["share_weights"] = True
    if draw(st.booleans()):
        node(g, "attn")["data"]["sliding_window"] = draw(st.integers(1, 6))
    return g


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(), st.integers(1, 3), st.data())
def test_valid_designs_build_with_the_analysed_shape_and_size(g, batch, data):
    a = sd.analyze(g)
    assert a.ok, a.errors
    model = sd.build(g).eval()
    T = data.draw(st.integers(1, a.plan.context))
    vocab = node(g, "tok_emb")["data"]["vocab_size"]
    idx = torch.randint(0, vocab, (batch, T))
    logits = model(idx)
    assert logits.shape == (batch, T, vocab)
    assert torch.isfinite(logits).all()
    assert sum({id(p): p.numel() for p in model.parameters()}.values()) == a.params
    for info in a.nodes.values():
        if info.type not in ("tokens", "transformerBlock") and info.shape is not None:
            assert info.shape[:2] == ("B", "T")


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_kv_cache_matches_full_forward_for_any_design(g):
    model = sd.build(g).eval()
    context = sd.analyze(g).plan.context
    vocab = node(g, "tok_emb")["data"]["vocab_size"]
    idx = torch.randint(0, vocab, (1, context))
    cache = model.new_cache()
    split = max(1, context // 2)
    stepwise = torch.cat([model(idx[:, :split], cache=cache)] +
                         [model(idx[:, i:i + 1], cache=cache) for i in range(split, context)], dim=1)
    torch.testing.assert_close(stepwise, model(idx), atol=2e-5, rtol=1e-4)


HOSTILE_VALUES = [None, True, -1, 0, 1, 3, 2**63, -2**70, 1.5, math.nan, math.inf, -math.inf, "", "x" * 500, "4",
                  [], [1], {}, {"a": 1}, 1e308, -0.0]


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_corrupting_any_field_gives_only_graph_errors(data):
    g = copy.deepcopy(sd.template(data.draw(st.sampled_from(["gpt2", "llama3", "qwen3"])), size="tiny", n_layer=1))
    for _ in range(data.draw(st.integers(1, 3))):
        if not (isinstance(g.get("nodes"), list) and isinstance(g.get("edges"), list)):
            break  # a corrupted top level leaves nothing to reach into
        where = data.draw(st.sampled_from(["data", "node", "edge", "top"]))
        value = data.draw(st.sampled_from(HOSTILE_VALUES))
        nodes = [n for n in g["nodes"] if isinstance(n, dict)]  # earlier corruptions may have replaced some
        edges = [e for e in g["edges"] if isinstance(e, dict)]
        if where == "data" and nodes:
            n = data.draw(st.sampled_from(nodes))
            if isinstance(n.get("data"), dict):
                key = data.draw(st.sampled_from(sorted(map(str, n["data"])) + ["bogus"]))
                n["data"][key] = value
        elif where == "node" and nodes:
            n = data.draw(st.sampled_from(nodes))
            n[data.draw(st.sampled_from(["id", "type", "position", "data", "parentId"]))] = value
        elif where == "edge" and edges:
            e = data.draw(st.sampled_from(edges))
            e[data.draw(st.sampled_from(["id", "source", "target", "sourceHandle", "targetHandle"]))] = value
        else:
            g[data.draw(st.sampled_from(["nodes", "edges", "version", "viewport", "name"]))] = value
    a = sd.analyze(g)
    if a.ok:
        model = sd.build(g, max_params=10**8)
        T = min(2, a.plan.context)  # a corrupted context may be as small as 1
        assert model(torch.zeros(1, T, dtype=torch.long)).shape[:2] == (1, T)
    else:
        assert all(isinstance(e, sd.GraphIssue) and isinstance(e.message, str) for e in a.errors)
        try:
            sd.build(g)
        except sd.GraphError as exc:
            assert exc.errors == a.errors
        else:
            raise AssertionError("build accepted a graph the analysis rejected")
