"""Templates: published architectures as data, turned into graphs by one function.

>>> import slamdunk_lab as sd
>>> g = sd.template("llama3", size="tiny", n_layer=2)
>>> sd.analyze(g).n_layers
2

Every family is the same pre-norm decoder (embed → N × [norm → attention → add, norm → feed-forward → add] →
norm → head); what differs is data: which norm, which feed-forward, where positions come from, head sharing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .blocks.catalog import (
    ADD,
    ATTENTION,
    DROPOUT,
    FEED_FORWARD,
    LAYER_NORM,
    LM_HEAD,
    LOGITS,
    POSITIONAL_EMBEDDING,
    RMS_NORM,
    TOKEN_EMBEDDING,
    TOKENS,
    TRANSFORMER_BLOCK,
    BlockSpec,
    get_block,
)
from .graph.schema import make_edge, make_node

OVERRIDES = ("n_layer", "n_head", "n_kv_head", "d_model", "d_ff", "context", "vocab_size", "dropout")


@dataclass(frozen=True)
class TemplateConfig:
    """The numbers that make a template: one preset per (family, size)."""

    family: str
    size: str
    description: str
    vocab_size: int
    context: int
    n_layer: int
    n_head: int
    d_model: int
    d_ff: int
    n_kv_head: int | None = None  # None: same as n_head
    head_dim: int | None = None  # None: d_model / n_head
    norm: str = RMS_NORM.type  # the norm block's type
    norm_eps: float = 1e-5
    activation: str = "swiglu"
    ff_bias: bool = False
    qkv_bias: bool = False
    out_bias: bool = False
    positional: str = "none"  # "learned" | "sinusoidal" | "none"
    rope: bool = True
    rope_base: float = 10000.0
    rope_scaling: dict | None = None  # {"factor", "low_freq_factor", "high_freq_factor", "original_context"}
    qk_norm: bool = False
    no_rope_every: int = 0
    tie: bool = False
    dropout: float = 0.0
    published_params: int | None = None  # the published model's parameter count, for the original sizes
    hf_id: str | None = None


_LLAMA3_SCALING = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_context": 8192}

PRESETS: dict[str, dict[str, TemplateConfig]] = {
    "gpt2": {
        "tiny": TemplateConfig("gpt2", "tiny", "GPT-2 shrunk to train on a laptop CPU in minutes (char-level vocab).",
                               vocab_size=256, context=256, n_layer=4, n_head=4, d_model=128, d_ff=512,
                               norm=LAYER_NORM.type, norm_eps=1e-5, activation="gelu_tanh", ff_bias=True, qkv_bias=True,
                               out_bias=True, positional="learned", rope=False, tie=True),
        "124M": TemplateConfig("gpt2", "124M", "GPT-2 small (OpenAI, 2019): learned positions, pre-LayerNorm, GELU, "
                               "tied head.", vocab_size=50257, context=1024, n_layer=12, n_head=12, d_model=768,
                               d_ff=3072, norm=LAYER_NORM.type, norm_eps=1e-5, activation="gelu_tanh", ff_bias=True,
                               qkv_bias=True, out_bias=True, positional="learned", rope=False, tie=True,
                               published_params=124_439_808, hf_id="openai-community/gpt2"),
        "355M": TemplateConfig("gpt2", "355M", "GPT-2 medium.", vocab_size=50257, context=1024, n_layer=24,
                               n_head=16, d_model=1024, d_ff=4096, norm=LAYER_NORM.type, norm_eps=1e-5,
                               activation="gelu_tanh", ff_bias=True, qkv_bias=True, out_bias=True,
                               positional="learned", rope=False, tie=True, published_params=354_823_168,
                               hf_id="openai-community/gpt2-medium"),
    },
    "llama2": {
        "tiny": TemplateConfig("llama2", "tiny", "Llama 2 shrunk for a laptop: RMSNorm, SwiGLU, RoPE, multi-head.",
                               vocab_size=256, context=256, n_layer=4, n_head=4, d_model=128, d_ff=352),
        "7B": TemplateConfig("llama2", "7B", "Llama 2 7B (Meta, 2023): RMSNorm, SwiGLU, RoPE, 32 heads.",
                             vocab_size=32000, context=4096, n_layer=32, n_head=32, d_model=4096, d_ff=11008,
                             published_params=6_738_415_616, hf_id="meta-llama/Llama-2-7b-hf"),
    },
    "llama3": {
        "tiny": TemplateConfig("llama3", "tiny", "Llama 3 shrunk for a laptop: grouped-query attention, RoPE with "
                               "Llama 3 frequency scaling.", vocab_size=256, context=256, n_layer=4, n_head=4,
                               n_kv_head=2, d_model=128, d_ff=448, rope_base=500000.0, rope_scaling=_LLAMA3_SCALING),
        "1B": TemplateConfig("llama3", "1B", "Llama 3.2 1B (Meta, 2024): GQA with 8 KV heads, RoPE scaling, tied "
                             "head.", vocab_size=128256, context=131072, n_layer=16, n_head=32, n_kv_head=8,
                             d_model=2048, d_ff=8192, rope_base=500000.0,
                             rope_scaling={**_LLAMA3_SCALING, "factor": 32.0}, tie=True,
                             published_params=1_235_814_400, hf_id="meta-llama/Llama-3.2-1B"),
        "8B": TemplateConfig("llama3", "8B", "Llama 3.1 8B (Meta, 2024): GQA with 8 KV heads, RoPE base 500k with "
                             "Llama 3 scaling.", vocab_size=128256, context=131072, n_layer=32, n_head=32,
                             n_kv_head=8, d_model=4096, d_ff=14336, rope_base=500000.0, rope_scaling=_LLAMA3_SCALING,
                             published_params=8_030_261_248, hf_id="meta-llama/Llama-3.1-8B"),
    },
    "qwen3": {
        "tiny": TemplateConfig("qwen3", "tiny", "Qwen3 shrunk for a laptop: QK-norm, explicit head_dim, GQA, tied "
                               "head.", vocab_size=256, context=256, n_layer=4, n_head=4, n_kv_head=2, head_dim=32,
                               d_model=128, d_ff=384, norm_eps=1e-6, rope_base=1_000_000.0, qk_norm=True, tie=True),
        "0.6B": TemplateConfig("qwen3", "0.6B", "Qwen3-0.6B (Alibaba, 2025): QK-norm, head_dim 128 with width 1024, "
                               "GQA, tied head.", vocab_size=151936, context=40960, n_layer=28, n_head=16, n_kv_head=8,
                               head_dim=128, d_model=1024, d_ff=3072, norm_eps=1e-6, rope_base=1_000_000.0,
                               qk_norm=True, tie=True, published_params=596_049_920, hf_id="Qwen/Qwen3-0.6B"),
    },
    "smollm3": {
        "tiny": TemplateConfig("smollm3", "tiny", "SmolLM3 shrunk for a laptop: GQA, no RoPE in every fourth layer, "
                               "tied head.", vocab_size=256, context=256, n_layer=4, n_head=4, n_kv_head=2,
                               d_model=128, d_ff=352, norm_eps=1e-6, rope_base=5_000_000.0, no_rope_every=4, tie=True),
        "3B": TemplateConfig("smollm3", "3B", "SmolLM3-3B (Hugging Face, 2025): GQA with 4 KV heads, NoPE in every "
                             "fourth layer, tied head.", vocab_size=128256, context=65536, n_layer=36, n_head=16,
                             n_kv_head=4, d_model=2048, d_ff=11008, norm_eps=1e-6, rope_base=5_000_000.0,
                             no_rope_every=4, tie=True, published_params=3_075_098_624,
                             hf_id="HuggingFaceTB/SmolLM3-3B"),
    },
}

#: The size a bare ``sd.template(name)`` gives: the published model.
ORIGINAL = {"gpt2": "124M", "llama2": "7B", "llama3": "8B", "qwen3": "0.6B", "smollm3": "3B"}
_ALIASES = {"gpt-2": "gpt2", "llama-2": "llama2", "llama-3": "llama3", "qwen-3": "qwen3", "smollm-3": "smollm3",
            "smol-lm3": "smollm3"}
FAMILY_TITLES = {"gpt2": "GPT-2", "llama2": "Llama 2", "llama3": "Llama 3", "qwen3": "Qwen3", "smollm3": "SmolLM3"}


def resolve(name: str, size: str | None = None) -> TemplateConfig:
    """The preset for a template name and size; sizes are case-insensitive, 'original' means the published one."""
    if not isinstance(name, str):
        raise TypeError(f"a template name must be a string, got {name!r}")
    family = _ALIASES.get(name.lower().replace("_", "-"), name.lower().replace("_", "-").replace(" ", ""))
    family = _ALIASES.get(family, family)
    if family not in PRESETS:
        raise ValueError(f"unknown template {name!r}; choose one of: {', '.join(PRESETS)}")
    sizes = PRESETS[family]
    wanted = ORIGINAL[family] if size in (None, "original") else str(size)
    match = next((s for s in sizes if s.lower() == wanted.lower()), None)
    if match is None:
        raise ValueError(f"template {family!r} has no size {size!r}; sizes: {', '.join(sizes)}")
    return sizes[match]


def configure(name: str, size: str | None = None, **overrides: Any) -> TemplateConfig:
    """A preset with the user's overrides applied (``n_layer``, ``n_head``, ``n_kv_head``, ``d_model``, ``d_ff``,
    ``context``, ``vocab_size``, ``dropout``)."""
    cfg = resolve(name, size)
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise ValueError(f"unknown template override(s) {', '.join(unknown)}; allowed: {', '.join(OVERRIDES)}")
    for key, value in overrides.items():
        if key == "dropout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"dropout must be a number in [0, 1), got {value!r}")
        elif key == "n_kv_head" and value is None:
            pass
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive whole number, got {value!r}")
    changes: dict[str, Any] = {}
    if "n_layer" in overrides:
        changes["n_layer"] = overrides["n_layer"]
    if "n_head" in overrides:
        changes["n_head"] = overrides["n_head"]
        if cfg.n_kv_head is None or "n_kv_head" in overrides:
            pass
        elif cfg.n_kv_head > overrides["n_head"]:  # keep GQA valid when the user only asks for fewer heads
            changes["n_kv_head"] = overrides["n_head"]
    if "n_kv_head" in overrides:
        changes["n_kv_head"] = overrides["n_kv_head"]
    if "d_model" in overrides:
        changes["d_model"] = overrides["d_model"]
        if "d_ff" not in overrides:  # keep the family's feed-forward ratio
            changes["d_ff"] = max(1, round(cfg.d_ff * overrides["d_model"] / cfg.d_model))
    for key in ("d_ff", "context", "vocab_size", "dropout"):
        if key in overrides:
            changes[key] = overrides[key]
    if changes:
        cfg = dataclasses.replace(cfg, published_params=None, **changes)
    return cfg


def _attention_data(cfg: TemplateConfig) -> dict:
    scaling = cfg.rope_scaling or {}
    return {
        "n_heads": cfg.n_head, "n_kv_heads": cfg.n_kv_head, "head_dim": cfg.head_dim,
        "qkv_bias": cfg.qkv_bias, "out_bias": cfg.out_bias, "qk_norm": cfg.qk_norm,
        "qk_norm_eps": cfg.norm_eps if cfg.qk_norm else 1e-6,
        "rope": cfg.rope, "rope_base": cfg.rope_base, "rope_scaling": "llama3" if scaling else "none",
        "rope_factor": scaling.get("factor", 8.0), "rope_low_freq_factor": scaling.get("low_freq_factor", 1.0),
        "rope_high_freq_factor": scaling.get("high_freq_factor", 4.0),
        "rope_original_context": scaling.get("original_context", 8192),
        "no_rope_every": cfg.no_rope_every, "sliding_window": None, "dropout": cfg.dropout,
    }


def _norm_data(cfg: TemplateConfig) -> dict:
    norm = get_block(cfg.norm)
    return {k: v for k, v in {"eps": cfg.norm_eps, "bias": True}.items() if norm.param(k) is not None}


@dataclass
class _GraphWriter:
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def node(self, node_id: str, spec: BlockSpec, x: float, y: float, values: dict | None = None,
             parent: str | None = None) -> str:
        """A node of block ``spec``: its catalogue defaults, then ``values`` (each one a setting of the block)."""
        unknown = set(values or {}) - {p.name for p in spec.params}
        assert not unknown, f"{spec.type} has no setting {sorted(unknown)}"  # internal invariant: a template bug
        self.nodes.append(make_node(node_id, spec.type, x, y, {**spec.defaults(), **(values or {})}, parent))
        return node_id

    def edge(self, source: str, target: str, handle: str = "in") -> None:
        self.edges.append(make_edge(source, target, handle))


def graph_from_config(cfg: TemplateConfig) -> dict:
    """The v1 graph of a template config: the single function every family goes through."""
    w = _GraphWriter()
    step, x = 110.0, 0.0
    y = 0.0
    prev = w.node("tokens", TOKENS, x, y, {"context": cfg.context})
    y += step
    prev_emb = w.node("tok_emb", TOKEN_EMBEDDING, x, y, {"vocab_size": cfg.vocab_size, "d_model": cfg.d_model})
    w.edge(prev, prev_emb)
    prev = prev_emb
    if cfg.positional != "none":
        y += step
        w.edge(prev, w.node("pos_emb", POSITIONAL_EMBEDDING, x, y, {"kind": cfg.positional}))
        prev = "pos_emb"
    if cfg.dropout > 0:
        y += step
        w.edge(prev, w.node("drop_emb", DROPOUT, x, y, {"p": cfg.dropout}))
        prev = "drop_emb"

    y += step
    group = w.node("blocks", TRANSFORMER_BLOCK, x - 40, y, {"repeat": cfg.n_layer, "share_weights": False})
    norm = get_block(cfg.norm)
    inner = [("ln_1", norm, _norm_data(cfg)),
             ("attn", ATTENTION, _attention_data(cfg)),
             ("drop_1", DROPOUT, {"p": cfg.dropout}),
             ("add_1", ADD, {}),
             ("ln_2", norm, _norm_data(cfg)),
             ("mlp", FEED_FORWARD, {"activation": cfg.activation, "hidden_dim": cfg.d_ff, "bias": cfg.ff_bias}),
             ("drop_2", DROPOUT, {"p": cfg.dropout}),
             ("add_2", ADD, {})]
    inner = [item for item in inner if item[1] is not DROPOUT or cfg.dropout > 0]
    cy = 50.0
    for node_id, spec, values in inner:
        w.node(node_id, spec, 40, cy, values, parent=group)
        cy += step
    stream = prev
    w.edge(stream, "ln_1")
    w.edge(stream, "add_1", "a")
    w.edge("ln_1", "attn")
    sub = "attn"
    if cfg.dropout > 0:
        w.edge("attn", "drop_1")
        sub = "drop_1"
    w.edge(sub, "add_1", "b")
    w.edge("add_1", "ln_2")
    w.edge("add_1", "add_2", "a")
    w.edge("ln_2", "mlp")
    sub = "mlp"
    if cfg.dropout > 0:
        w.edge("mlp", "drop_2")
        sub = "drop_2"
    w.edge(sub, "add_2", "b")

    y += cy + 40
    w.node("ln_f", norm, x, y, _norm_data(cfg))
    w.edge("add_2", "ln_f")
    y += step
    w.node("lm_head", LM_HEAD, x, y, {"vocab_size": cfg.vocab_size, "bias": False, "tie_weights": cfg.tie})
    w.edge("ln_f", "lm_head")
    y += step
    w.node("logits", LOGITS, x, y)
    w.edge("lm_head", "logits")
    name = f"{cfg.family}-{cfg.size}"
    return {"version": 1, "name": name, "nodes": w.nodes, "edges": w.edges,
            "viewport": {"x": 0.0, "y": 0.0, "zoom": 1.0}}


def template(name: str, size: str | None = None, **overrides: Any) -> dict:
    """The graph of a published architecture, optionally resized.

    ``size`` is ``"tiny"`` (trains on a laptop CPU in minutes) or a published size such as ``"124M"``, ``"8B"``;
    the default is the published model. Overrides: ``n_layer``, ``n_head``, ``n_kv_head``, ``d_model``,
    ``d_ff``, ``context``, ``vocab_size``, ``dropout``.

    >>> import slamdunk_lab as sd
    >>> g = sd.template("gpt2", size="tiny", n_layer=4, d_model=128)
    >>> [n["id"] for n in g["nodes"]][:3]
    ['tokens', 'tok_emb', 'pos_emb']
    """
    return graph_from_config(configure(name, size, **overrides))


def templates() -> list[dict]:
    """Every template and size: ``[{name, family, size, params, description, published_params, hf_id}]``."""
    from .analysis import analyze

    rows = []
    for family, sizes in PRESETS.items():
        for size, cfg in sizes.items():
            rows.append({"name": family, "family": FAMILY_TITLES[family], "size": size,
                         "params": analyze(graph_from_config(cfg)).params, "description": cfg.description,
                         "published_params": cfg.published_params, "hf_id": cfg.hf_id,
                         "default": size == ORIGINAL[family]})
    return rows
