"""Test-only reference: the original student project's model code, re-implemented minimally and faithfully.

Source: pnucse-capstone2025/Capstone-2025-team-18, ``backend/ml/models/factory.py`` (``LayerFactory``,
``CustomSequential.forward``, ``build_model_from_json``), ``components/`` (``attention.py``: SDPA multi-head
attention and grouped-query attention with RoPE, Llama 3 frequency scaling and QK-norm after RoPE; ``ffn.py``;
``normalization.py``; ``positional_embedding.py``; ``residual.py``; ``transformer_block.py``;
``activation_function.py``) and ``backend/routes/train_routes.py`` (``LayerData``: what survives the server's
request model). Parameter and buffer names are the original's, so its state dicts load here unchanged.
Behaviour kept on purpose: a transformer block runs one set of children ``numOfBlocks`` times; a residual inside
a block returns its input; a top-level residual adds the cached ``"<id>:in"`` / ``"<id>"`` value, or else the
previous output; positions are a learned table of ``ctxLength`` rows, added only straight after the token
embedding. Nothing here is imported by the package.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: LayerData's fields in the original's server; a saved layer has exactly these (None when not sent).
LAYER_FIELDS = ("id", "label", "inDim", "outDim", "vocabSize", "embDim", "ctxLength", "dropoutRate", "source",
                "normType", "bias", "hiddenDim", "feedForwardType", "actFunc", "numHeads", "numOfBlocks",
                "weightTying", "qkvBias", "projBias", "isRoPE", "ropeBase", "ropeConfig", "numKvGroups", "qkNorm",
                "qkNormEps", "headDim")


def as_saved(layers: list[dict]) -> list[dict]:
    """The layers as the original's server kept them (``[layer.dict() for layer in request.model]``)."""
    return [{"type": item["type"], "data": {k: item["data"].get(k) for k in LAYER_FIELDS},
             "children": as_saved(item["children"]) if item.get("children") is not None else None}
            for item in layers]


class LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.scale, self.shift, self.eps = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d)), eps

    def forward(self, x):
        mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.scale, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.scale * (x / torch.sqrt(torch.mean(x ** 2, dim=-1, keepdim=True) + self.eps))


def rope_tables(head_dim, base, ctx, freq):
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    if freq:
        factor, low, high, old = (float(freq[k]) for k in ("factor", "low_freq_factor", "high_freq_factor",
                                                           "original_context_length"))
        wavelen = 2 * torch.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = ((old / wavelen - low) / (high - low)).clamp(0, 1)
        mid = (wavelen <= old / low) & (wavelen >= old / high)
        inv = torch.where(mid, (1 - smooth) * (inv / factor) + smooth * inv, scaled)
    freqs = torch.einsum("i,j->ij", torch.arange(ctx, dtype=torch.float32), inv)
    return freqs.cos(), freqs.sin()


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class MHA(nn.Module):
    def __init__(self, d_in, d_out, heads, ctx, qkv_bias, is_rope, rope_base):
        super().__init__()
        self.h, self.hd, self.d_out, self.is_rope = heads, d_out // heads, d_out, is_rope
        self.qkv = nn.Linear(d_in, 3 * d_out, bias=qkv_bias)
        self.proj = nn.Linear(d_out, d_out, bias=qkv_bias)  # proj_bias None → qkv_bias
        if is_rope:
            cos, sin = rope_tables(self.hd, float(rope_base), ctx, None)
            self.register_buffer("cos", cos)
            self.register_buffer("sin", sin)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.hd).permute(2, 0, 3, 1, 4).unbind(0)
        if self.is_rope:
            q, k = rope(q, self.cos[:t], self.sin[:t]), rope(k, self.cos[:t], self.sin[:t])
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(b, t, self.d_out))


class GQA(nn.Module):
    def __init__(self, d_in, d_out, ctx, heads, groups, head_dim, rope_base, rope_config, is_rope, qkv_bias,
                 qk_norm, qk_norm_eps):
        super().__init__()
        self.h, self.g, self.hd = heads, groups, head_dim if head_dim is not None else d_out // heads
        self.W_query = nn.Linear(d_in, heads * self.hd, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, groups * self.hd, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, groups * self.hd, bias=qkv_bias)
        self.out_proj = nn.Linear(heads * self.hd, d_out, bias=False)
        self.register_buffer("mask", torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), diagonal=1))
        self.is_rope = is_rope
        if is_rope:
            cos, sin = rope_tables(self.hd, rope_base, ctx, rope_config)
            self.register_buffer("cos", cos)
            self.register_buffer("sin", sin)
        self.q_norm = RMSNorm(self.hd, qk_norm_eps) if qk_norm else None
        self.k_norm = RMSNorm(self.hd, qk_norm_eps) if qk_norm else None

    def forward(self, x):
        b, t, _ = x.shape
        q = self.W_query(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.W_key(x).view(b, t, self.g, self.hd).transpose(1, 2)
        v = self.W_value(x).view(b, t, self.g, self.hd).transpose(1, 2)
        if self.is_rope:
            k, q = rope(k, self.cos[:t], self.sin[:t]), rope(q, self.cos[:t], self.sin[:t])
        if self.q_norm is not None:  # after RoPE, as the original
            q, k = self.q_norm(q), self.k_norm(k)
        k, v = k.repeat_interleave(self.h // self.g, 1), v.repeat_interleave(self.h // self.g, 1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        scores = scores.masked_fill(self.mask[:t, :t], torch.finfo(scores.dtype).min)
        y = torch.softmax(scores, dim=-1) @ v
        return self.out_proj(y.transpose(1, 2).contiguous().view(b, t, self.h * self.hd))


ACT = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "swish": nn.SiLU, "swiglu": nn.SiLU,
       "leaky": lambda: nn.LeakyReLU(0.01)}


class FFN(nn.Module):
    def __init__(self, d, hidden, act, gated, bias):
        super().__init__()
        self.gated, self.act = gated, ACT[act.lower()]()
        if gated:
            self.fc1, self.fc2, self.fc3 = nn.Linear(d, hidden, bias=bias), nn.Linear(d, hidden, bias=bias), \
                nn.Linear(hidden, d, bias=bias)
        else:
            self.fc_in, self.fc_out = nn.Linear(d, hidden, bias=bias), nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        if self.gated:
            return self.fc3(self.act(self.fc1(x)) * self.fc2(x))
        return self.fc_out(self.act(self.fc_in(x)))


class TokenEmbedding(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)

    def forward(self, x):
        return self.embedding(x)


class Learned(nn.Module):
    def __init__(self, ctx, d):
        super().__init__()
        self.position_embeddings = nn.Embedding(ctx, d)

    def forward(self, x):
        return self.position_embeddings(torch.arange(x.shape[1]).unsqueeze(0))


class Residual(nn.Module):
    def __init__(self, source):
        super().__init__()
        self.source_id = source

    def forward(self, x):
        return x


class Block(nn.Module):
    def __init__(self, children, n):
        super().__init__()
        self.sequence, self.n = nn.Sequential(*children), n

    def forward(self, x):
        for _ in range(self.n):
            x = self.sequence(x)
        return x


def make(node: dict) -> nn.Module:
    t, d = node["type"], node["data"]
    if t == "tokenEmbedding":
        return TokenEmbedding(d["vocabSize"], d["embDim"])
    if t == "positionalEmbedding":
        return Learned(d["ctxLength"], d["embDim"])  # "mode" never reaches the server: always learned
    if t == "normalization":
        width = d.get("embDim") or d.get("inDim") or d.get("outDim")
        return LayerNorm(width) if d["normType"] == "Layer Normalization" else RMSNorm(width)
    if t == "mhAttention":
        return MHA(d.get("inDim") or d.get("embDim"), d.get("outDim") or d.get("embDim"), d["numHeads"],
                   d["ctxLength"], d.get("qkvBias"), d.get("isRoPE"), d.get("ropeBase") or 10000.0)
    if t == "gqAttention":
        return GQA(d.get("inDim") or d.get("embDim"), d.get("outDim") or d.get("embDim"), d["ctxLength"],
                   d["numHeads"], d["numKvGroups"], d.get("headDim") if d.get("qkNorm") else None,
                   d.get("ropeBase"), d.get("ropeConfig"), d.get("isRoPE"), d.get("qkvBias"), d.get("qkNorm"),
                   d.get("qkNormEps") or 1e-6)
    if t == "feedForward":
        return FFN(d.get("outDim") or d.get("inDim"), d["hiddenDim"], d["actFunc"], d["feedForwardType"] == "Gated",
                   d["bias"])
    if t == "residual":
        return Residual(d["source"])
    if t == "transformerBlock":
        return Block([make(c) for c in node["children"]], d.get("numOfBlocks") or 1)
    if t == "linear":
        lin = nn.Linear(d["inDim"], d["outDim"], bias=d["bias"])
        lin.tie = bool(d.get("weightTying"))
        return lin
    if t == "dropout":
        return nn.Dropout(d.get("dropoutRate") or 0.0)
    raise ValueError(t)


class OriginalModel(nn.Module):
    """``CustomSequential`` with ``build_model_from_json``'s weight tying."""

    def __init__(self, layers: list[dict]):
        super().__init__()
        modules = []
        for node in layers:
            m = make(node)
            m.layer_id = node["data"]["id"]
            modules.append(m)
        self.layers = nn.ModuleList(modules)
        emb = [m for m in modules if isinstance(m, TokenEmbedding)]
        for m in modules:
            if isinstance(m, nn.Linear) and getattr(m, "tie", False):
                m.weight = emb[-1].embedding.weight

    def forward(self, x):
        cache, prev = {}, None
        for i, layer in enumerate(self.layers):
            cache[f"{layer.layer_id}:in"] = x
            if i > 0 and isinstance(self.layers[i - 1], TokenEmbedding) and isinstance(layer, Learned):
                x = prev + layer(x)
            elif isinstance(layer, Residual):
                x = x + cache[layer.source_id] if layer.source_id in cache else x + prev
            else:
                x = layer(x)
            prev = x
            cache[layer.layer_id] = x
        return x
