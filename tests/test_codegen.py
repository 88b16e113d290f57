"""Code export: the exported file is standalone PyTorch that loads the lab's weights and gives the same logits."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import TEMPLATE_NAMES, chain, node

import slamdunk_lab as sd

RUFF = Path(sys.executable).parent / "ruff"


def _n(id_, type_, data=None, parent=None):
    n = {"id": id_, "type": type_, "position": {"x": 0, "y": 0}, "data": data or {}}
    if parent:
        n["parentId"] = parent
    return n


def _e(src, dst, handle="in"):
    return {"id": f"{src}->{dst}:{handle}", "source": src, "target": dst, "sourceHandle": "out",
            "targetHandle": handle}


def post_norm_graph() -> dict:
    """A hand-made design: post-norm block (repeated 2×), a top-level residual around it, a width-changing
    Linear with an awkward node id, a second norm of another width, an untied head."""
    d, vocab = 16, 40
    nodes = [
        _n("tokens", "tokens", {"context": 24}),
        _n("emb", "tokenEmbedding", {"vocab_size": vocab, "d_model": d}),
        _n("pos", "positionalEmbedding", {"kind": "sinusoidal"}),
        _n("layers", "transformerBlock", {"repeat": 2}),
        _n("attn", "attention", {"n_heads": 2, "rope": True, "sliding_window": 5}, "layers"),
        _n("add_1", "add", {}, "layers"),
        _n("norm_1", "layerNorm", {"bias": False}, "layers"),
        _n("ff", "feedForward", {"hidden_dim": 32, "activation": "relu"}, "layers"),
        _n("add_2", "add", {}, "layers"),
        _n("norm_2", "layerNorm", {}, "layers"),
        _n("skip", "add", {}),
        _n("my block!", "linear", {"out_features": 24}),
        _n("2nd norm", "rmsNorm", {}),
        _n("head", "lmHead", {"vocab_size": vocab}),
        _n("logits", "logits"),
    ]
    edges = [_e("tokens", "emb"), _e("emb", "pos"), _e("pos", "attn"), _e("pos", "add_1", "a"),
             _e("attn", "add_1", "b"), _e("add_1", "norm_1"), _e("norm_1", "ff"), _e("norm_1", "add_2", "a"),
             _e("ff", "add_2", "b"), _e("add_2", "norm_2"), _e("norm_2", "skip", "a"), _e("pos", "skip", "b"),
             _e("skip", "my block!"), _e("my block!", "2nd norm"), _e("2nd norm", "head"), _e("head", "logits")]
    return {"version": 1, "name": 'hand "made"\n"""', "nodes": nodes, "edges": edges}


def two_groups_graph() -> dict:
    """Two transformer blocks: one shared (attention only), one with two attentions per layer (GQA + QK-norm)."""
    nodes = [_n("tokens", "tokens", {"context": 16}), _n("emb", "tokenEmbedding", {"vocab_size": 30, "d_model": 16}),
             _n("g1", "transformerBlock", {"repeat": 2, "share_weights": True}),
             _n("a1", "attention", {"n_heads": 4, "rope": True}, "g1"), _n("r1", "add", {}, "g1"),
             _n("g2", "transformerBlock", {"repeat": 2}),
             _n("n2", "rmsNorm", {}, "g2"),
             _n("a2", "attention", {"n_heads": 4, "n_kv_heads": 2, "qk_norm": True, "rope": True}, "g2"),
             _n("a3", "attention", {"n_heads": 2, "head_dim": 4}, "g2"),
             _n("ff", "feedForward", {"activation": "swiglu", "hidden_dim": 24}, "g2"),
             _n("r2", "add", {}, "g2"),
             _n("head", "lmHead", {"vocab_size": 30, "tie_weights": True}), _n("logits", "logits")]
    edges = [_e("tokens", "emb"), _e("emb", "a1"), _e("emb", "r1", "a"), _e("a1", "r1", "b"), _e("r1", "n2"),
             _e("n2", "a2"), _e("a2", "a3"), _e("a3", "ff"), _e("ff", "r2", "b"), _e("r1", "r2", "a"),
             _e("r2", "head"), _e("head", "logits")]
    return {"version": 1, "nodes": nodes, "edges": edges}


def shared(graph: dict) -> dict:
    g = copy.deepcopy(graph)
    node(g, "blocks")["data"]["share_weights"] = True
    return g


def sinusoidal(graph: dict) -> dict:
    g = copy.deepcopy(graph)
    node(g, "pos_emb")["data"]["kind"] = "sinusoidal"
    return g


DESIGNS = {
    **{f"{name}-tiny": (lambda name=name: sd.template(name, size="tiny")) for name in TEMPLATE_NAMES},
    "gpt2-2-layers": lambda: sd.template("gpt2", size="tiny", n_layer=2),
    "llama3-multi-query": lambda: sd.template("llama3", size="tiny", n_layer=2, n_kv_head=1),
    "gpt2-shared-weights": lambda: shared(sd.template("gpt2", size="tiny", n_layer=3)),
    "smollm3-shared-weights": lambda: shared(sd.template("smollm3", size="tiny")),
    "gpt2-sinusoidal": lambda: sinusoidal(sd.template("gpt2", size="tiny", n_layer=2)),
    "llama2-dropout": lambda: sd.template("llama2", size="tiny", n_layer=2, dropout=0.1),
    "hand-made-post-norm": post_norm_graph,
    "two-groups": two_groups_graph,
    "flat-no-groups": lambda: chain(("attention", {"n_heads": 2, "rope": True}), ("rmsNorm", {}),
                                    ("feedForward", {"activation": "geglu", "hidden_dim": 24}), ("dropout", {})),
}


def export(graph) -> dict:
    """Exec the exported code in a fresh namespace, as `python exported.py` would (minus __main__)."""
    ns: dict = {}
    exec(compile(sd.to_code(graph), "<export>", "exec"), ns)  # noqa: S102 - running our own export is the test
    return ns


@pytest.fixture(scope="module", params=list(DESIGNS))
def design(request):
    graph = DESIGNS[request.param]()
    torch.manual_seed(0)
    ref = sd.build(graph).eval()
    ns = export(graph)
    model = ns["build_model"]().eval()
    model.load_state_dict(ref.state_dict())
    return graph, ref, model, ns


def test_state_dict_keys_and_logits_are_identical(design):
    _, ref, model, _ = design
    assert list(model.state_dict()) == list(ref.state_dict())
    idx = torch.randint(0, ref.vocab_size, (2, 11), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(idx), ref(idx))


def test_kv_cache_gives_the_labs_logits(design):
    _, ref, model, _ = design
    idx = torch.randint(0, ref.vocab_size, (1, 9), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = model.new_cache(), ref.new_cache()
        steps = [(0, 5), (5, 6), (6, 7), (7, 9)]  # a prompt, then token by token
        for a, b in steps:
            got, want = model(idx[:, a:b], cache=ours), ref(idx[:, a:b], cache=theirs)
            assert torch.equal(got, want)
        assert ours.pos == 9
        full = model(idx)
    torch.testing.assert_close(got, full[:, 7:9], rtol=1e-4, atol=1e-5)


def test_same_seed_gives_the_same_initial_weights(design):
    graph, _, _, ns = design
    torch.manual_seed(123)
    lab = sd.build(graph).state_dict()
    torch.manual_seed(123)
    exported = ns["build_model"]().state_dict()
    assert all(torch.equal(lab[k], exported[k]) for k in lab)


def test_tied_weights_stay_tied():
    ns = export(sd.template("gpt2", size="tiny", n_layer=1))
    model = ns["build_model"]()
    assert model.lm_head.weight is model.tok_emb.weight
    ref = sd.build(sd.template("gpt2", size="tiny", n_layer=1))
    model.load_state_dict(ref.state_dict())
    assert model.lm_head.weight.data_ptr() == model.tok_emb.weight.data_ptr()


def test_shared_weights_are_one_block_run_n_times():
    graph = shared(sd.template("gpt2", size="tiny", n_layer=3))
    code = sd.to_code(graph)
    model = export(graph)["build_model"]()
    assert len(model.blocks) == 1
    assert "range(self.config.n_layer)" in code
    assert sum(p.numel() for p in model.parameters()) == sd.analyze(graph).params


def test_config_changes_the_design():
    ns = export(sd.template("llama2", size="tiny"))
    small = ns["build_model"](ns["Config"](n_layer=2, d_model=64, hidden_dim=96, head_dim=16))
    logits = small(torch.zeros(1, 5, dtype=torch.long))
    assert len(small.blocks) == 2 and logits.shape == (1, 5, 256)


def test_code_reads_like_the_design():
    code = sd.to_code(sd.template("gpt2", size="tiny"))
    assert "h = self.attn(self.ln_1(x), ctx)  # (B, T, 128)" in code
    assert "x = x + h  # (B, T, 128) add_1: residual connection" in code
    assert "logits = self.lm_head(self.ln_f(x))  # (B, T, 256)" in code
    assert "self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])" in code
    assert "self.lm_head.weight = self.tok_emb.weight" in code
    assert "class CausalSelfAttention(nn.Module):" in code
    # only what the design uses is copied: GPT-2 has no gated MLP, no sinusoids, and one activation
    assert "class GatedMLP" not in code and "class SinusoidalPositionalEmbedding" not in code
    assert '"gelu_tanh": lambda: nn.GELU(approximate="tanh")' in code and '"swiglu"' not in code
    assert "slamdunk_lab" not in code.replace("slamdunk_lab/blocks/modules.py", "")
    assert "import slamdunk" not in code and "torch.load(" not in code


def test_mismatched_widths_get_their_own_config_fields():
    code = sd.to_code(post_norm_graph())
    assert "d_model: int = 16" in code and "n_2nd_norm_d_model: int = 24" in code
    assert "self.my_block_ = Linear(" in code and "self.n_2nd_norm = RMSNorm(" in code
    assert 'hand__made____"""' not in code and '"""hand _made' in code


def test_exported_file_runs_as_a_script_and_passes_ruff(tmp_path):
    paths = []
    for name in ("gpt2-tiny", "qwen3-tiny", "smollm3-shared-weights", "hand-made-post-norm", "llama2-dropout"):
        path = tmp_path / f"{name.replace('-', '_')}.py"
        path.write_text(sd.to_code(DESIGNS[name]()))
        paths.append(path)
    out = subprocess.run([sys.executable, str(paths[0])], capture_output=True, text=True, timeout=60, check=False,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{sd.analyze(DESIGNS['gpt2-tiny']()).params:,} parameters"
    if not RUFF.exists():
        pytest.skip("ruff is not installed next to this Python")
    lint = subprocess.run([str(RUFF), "check", "--isolated", "--no-cache", *map(str, paths)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_accepts_a_built_model():
    graph = sd.template("qwen3", size="tiny", n_layer=1)
    assert sd.to_code(sd.build(graph)) == sd.to_code(graph)


def test_invalid_graph_raises_graph_error():
    graph = sd.template("gpt2", size="tiny")
    node(graph, "attn")["data"]["n_heads"] = 3
    with pytest.raises(sd.GraphError, match="n_heads"):
        sd.to_code(graph)
    with pytest.raises(sd.GraphError):
        sd.to_code({"version": 1, "nodes": [], "edges": []})


@pytest.mark.parametrize("n", [199, 1200])
def test_very_deep_designs_export_and_give_the_same_logits(n):
    """A chain of norms is written one call per line (inlining stops after one level), so Python's parser never
    meets an expression nested hundreds deep."""
    graph = chain(*[("rmsNorm" if i % 3 else "layerNorm", {}) for i in range(n)])
    ns = export(graph)
    ours = sd.build(graph).eval()
    theirs = ns["build_model"]().eval()
    theirs.load_state_dict(ours.state_dict())
    idx = torch.randint(0, 50, (2, 6))
    torch.testing.assert_close(theirs(idx), ours(idx))
