"""The torch modules behind the blocks.

Every class here depends on torch alone, so :func:`slamdunk_lab.to_code` copies their source verbatim into the
exported file: the code a student reads is the code that ran. Modules that need to know where in the sequence
they are (positions, the KV cache) take a second argument, ``ctx`` (a :class:`ForwardContext`).

Each class carries what the model needs to know about it, so the model never lists classes:

* ``init_weights(residual_std)`` initialises the module's own weights (GPT-2's scheme). The model calls it on
  every module that has it, in ``modules()`` order; children initialise themselves.
* ``takes_context = True``: ``forward(x, ctx)`` instead of ``forward(x)``.
* ``kv_cache_shape()``: the module keeps keys and values while generating; (n_kv_heads, head_dim) per call.
* ``residual_projection = True`` (on a linear layer): it writes into the residual stream, so its initial weights
  are scaled down by the number of such layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .activations import ACTIVATIONS as ACTIVATION_TABLE

Identity = nn.Identity
Dropout = nn.Dropout


class ForwardContext:
    """What one forward pass shares between blocks: the first position, the KV cache and a scratch memo."""

    def __init__(self, start_pos: int = 0, cache=None, capture_attention: bool = False):
        self.start_pos = start_pos  # position of the first token of this call (> 0 when a cache holds a prefix)
        self.cache = cache
        self.slot = 0  # index of the next attention call, i.e. which KV-cache entry it uses
        self.repeat_index = 0  # which repeat of the enclosing transformer block is running
        self.memo: dict = {}  # RoPE tables and masks computed once per forward and shared by all layers
        self.attention_maps: list | None = [] if capture_attention else None


class KVCache:
    """Keys and values of every attention call, preallocated for ``max_len`` positions.

    ``model(idx, cache=cache)`` appends the new keys/values and advances ``cache.pos``; the logits equal those
    of the uncached forward pass over the whole sequence.
    """

    def __init__(self, shapes: list[tuple[int, int]], batch_size: int, max_len: int, device=None, dtype=None):
        self.max_len = max_len
        self.pos = 0
        self.k = [torch.zeros(batch_size, kv, max_len, hd, device=device, dtype=dtype) for kv, hd in shapes]
        self.v = [torch.zeros(batch_size, kv, max_len, hd, device=device, dtype=dtype) for kv, hd in shapes]

    def update(self, slot: int, start: int, k: torch.Tensor, v: torch.Tensor):
        end = start + k.shape[2]
        self.k[slot][:, :, start:end] = k
        self.v[slot][:, :, start:end] = v
        return self.k[slot][:, :, :end], self.v[slot][:, :, :end]

    def reset(self) -> None:
        self.pos = 0


class Linear(nn.Linear):
    """A learned affine map, y = x Wᵀ + b, initialised as GPT-2 does."""

    residual_projection = False  # set on the output projections that write into the residual stream

    def init_weights(self, residual_std: float) -> None:
        std = residual_std if self.residual_projection else 0.02
        nn.init.normal_(self.weight, mean=0.0, std=std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class TokenEmbedding(nn.Embedding):
    """One learned vector per token id."""

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__(vocab_size, d_model)

    def init_weights(self, residual_std: float) -> None:
        nn.init.normal_(self.weight, mean=0.0, std=0.02)


class LearnedPositionalEmbedding(nn.Module):
    """Adds a learned vector per position (GPT-2's ``wpe``)."""

    takes_context = True

    def __init__(self, context: int, d_model: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(context, d_model))

    def init_weights(self, residual_std: float) -> None:
        nn.init.normal_(self.weight, mean=0.0, std=0.02)

    def forward(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        T = x.shape[1]
        return x + self.weight[ctx.start_pos:ctx.start_pos + T]  # (B, T, D) + (T, D)


class SinusoidalPositionalEmbedding(nn.Module):
    """Adds fixed sine/cosine waves of the position ("Attention Is All You Need", section 3.5)."""

    table: torch.Tensor

    takes_context = True

    def __init__(self, context: int, d_model: int):
        super().__init__()
        pos = torch.arange(context, dtype=torch.float32)[:, None]  # (context, 1)
        freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        table = torch.zeros(context, d_model)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq)
        self.register_buffer("table", table, persistent=False)  # not learned, so not saved

    def forward(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        T = x.shape[1]
        return x + self.table[ctx.start_pos:ctx.start_pos + T].to(x.dtype)


class LayerNorm(nn.LayerNorm):
    """LayerNorm over the last dimension, with an optional bias."""

    def __init__(self, d_model: int, eps: float = 1e-5, bias: bool = True):
        super().__init__(d_model, eps=eps, bias=bias)

    def init_weights(self, residual_std: float) -> None:
        nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class RMSNorm(nn.Module):
    """Root-mean-square norm, computed in float32 like the Llama and Qwen reference code."""

    def __init__(self, d_model: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def init_weights(self, residual_std: float) -> None:
        nn.init.ones_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x / sqrt(mean(x²) + eps) in float32, scaled by the learned weight in the input's dtype.
        normed = F.rms_norm(x.float(), self.weight.shape, eps=self.eps)
        return self.weight * normed.to(x.dtype)


def _activation_factory(name: str):
    spec = ACTIVATION_TABLE[name]
    cls = globals().get(spec.torch) or getattr(nn, spec.torch)
    return lambda: cls(**spec.kwargs)


#: Feed-forward activation name -> a function making its module, from the one activation table
#: (slamdunk_lab/blocks/activations.py); exported code gets the entries it uses written out.
ACTIVATIONS = {name: _activation_factory(name) for name in ACTIVATION_TABLE}


class MLP(nn.Module):
    """Position-wise feed-forward: widen, non-linearity, narrow."""

    def __init__(self, d_model: int, hidden_dim: int, activation: str = "gelu", bias: bool = True):
        super().__init__()
        self.fc_in = Linear(d_model, hidden_dim, bias=bias)
        self.act = ACTIVATIONS[activation]()
        self.fc_out = Linear(hidden_dim, d_model, bias=bias)
        self.fc_out.residual_projection = True  # scaled at init: it writes into the residual stream

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(self.act(self.fc_in(x)))  # (B, T, D) -> (B, T, hidden) -> (B, T, D)


class GatedMLP(nn.Module):
    """Gated feed-forward (SwiGLU with SiLU, GeGLU with GELU): down(act(gate(x)) * up(x))."""

    def __init__(self, d_model: int, hidden_dim: int, activation: str = "swiglu", bias: bool = False):
        super().__init__()
        self.gate_proj = Linear(d_model, hidden_dim, bias=bias)
        self.up_proj = Linear(d_model, hidden_dim, bias=bias)
        self.act = ACTIVATIONS[activation]()
        self.down_proj = Linear(hidden_dim, d_model, bias=bias)
        self.down_proj.residual_projection = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))  # (B, T, D)


def rope_inv_freq(head_dim: int, base: float, scaling: dict | None = None) -> torch.Tensor:
    """Rotation speed of each channel pair; Llama 3 scaling slows the low frequencies for long context."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device="cpu").float() / head_dim))
    if scaling is None:
        return inv_freq
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_context"]
    wavelen = 2 * math.pi / inv_freq
    # Long wavelengths (low frequencies) are divided by `factor`, short ones kept, the middle band blended.
    scaled = torch.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= old_context / high) & (wavelen <= old_context / low)
    return torch.where(medium, blended, scaled)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes (Press et al., 2022): a geometric sequence starting at 2^(-8/n); for a head count
    that is not a power of two, the power of two below it plus every other slope of the next one."""
    def powers(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    below = 2 ** math.floor(math.log2(n_heads))
    slopes = powers(below) + powers(2 * below)[0::2][: n_heads - below]
    return torch.tensor(slopes, dtype=torch.float32, device="cpu")


class RelativePositionBias(nn.Module):
    """T5's bucketed relative position bias, causal: one learned score per head for each bucket of distance
    to an earlier key. Distances below ``num_buckets / 2`` get a bucket each, longer ones share logarithmically
    wider buckets up to ``max_distance``."""

    def __init__(self, n_heads: int, num_buckets: int = 32, max_distance: int = 128):
        super().__init__()
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.weight = nn.Parameter(torch.empty(num_buckets, n_heads))

    def init_weights(self, residual_std: float) -> None:
        nn.init.normal_(self.weight, mean=0.0, std=0.02)

    def bucket(self, distance: torch.Tensor) -> torch.Tensor:
        """Bucket of each distance (query position − key position, ≥ 0 for the keys a query may see)."""
        distance = distance.clamp(min=0)
        exact = self.num_buckets // 2
        far = exact + (torch.log(distance.float().clamp(min=1) / exact) / math.log(self.max_distance / exact)
                       * (self.num_buckets - exact)).long()
        return torch.where(distance < exact, distance, far.clamp(max=self.num_buckets - 1))

    def forward(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        """(H, T, S) scores to add for queries at ``q_pos`` (T,) and keys at ``k_pos`` (S,)."""
        buckets = self.bucket(q_pos[:, None] - k_pos[None, :])  # (T, S)
        return self.weight[buckets].permute(2, 0, 1)  # (T, S, H) -> (H, T, S)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with grouped-query heads, optional QK-norm, RoPE and a sliding window."""

    takes_context = True

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, head_dim: int, qkv_bias: bool = False,
                 out_bias: bool = False, qk_norm: bool = False, qk_norm_eps: float = 1e-6,
                 qk_norm_order: str = "before_rope", rope: bool = False,
                 rope_base: float = 10000.0, rope_scaling: dict | None = None, no_rope_every: int = 0,
                 sliding_window: int | None = None, dropout: float = 0.0, position_bias: str = "none",
                 relative_buckets: int = 32, relative_max_distance: int = 128):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.rope, self.no_rope_every, self.sliding_window, self.dropout = rope, no_rope_every, sliding_window, dropout
        # One matmul for queries, keys and values together: (H + 2·H_kv) · head_dim outputs.
        self.qkv_proj = Linear(d_model, (n_heads + 2 * n_kv_heads) * head_dim, bias=qkv_bias)
        self.out_proj = Linear(n_heads * head_dim, d_model, bias=out_bias)
        self.out_proj.residual_projection = True
        self.qk_norm = qk_norm
        self.qk_norm_after_rope = qk_norm and qk_norm_order == "after_rope"
        self.q_norm = RMSNorm(head_dim, qk_norm_eps) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(head_dim, qk_norm_eps) if qk_norm else nn.Identity()
        self.rope_key = (head_dim, rope_base, tuple(sorted(rope_scaling.items())) if rope_scaling else None)
        # Rotation speeds, kept in float32 on the CPU and copied once per device (not a buffer, so .to(bf16)
        # cannot round them).
        self.inv_freq = {"cpu": rope_inv_freq(head_dim, rope_base, rope_scaling).cpu()} if rope else {}
        # Position biases added to the scores: ALiBi (fixed slopes, kept like inv_freq) or T5's learned buckets.
        self.position_bias = position_bias
        self.alibi = {"cpu": alibi_slopes(n_heads)} if position_bias == "alibi" else {}
        if position_bias == "t5":
            self.relative_bias = RelativePositionBias(n_heads, relative_buckets, relative_max_distance)

    def kv_cache_shape(self) -> tuple[int, int]:
        """Each call keeps (n_kv_heads, head_dim) keys and values per position in the KV cache."""
        return self.n_kv_heads, self.head_dim

    def uses_rope(self, ctx: ForwardContext) -> bool:
        if not self.rope:
            return False
        return not (self.no_rope_every and (ctx.repeat_index + 1) % self.no_rope_every == 0)

    def rope_tables(self, ctx: ForwardContext, T: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = ("rope", self.rope_key, ctx.start_pos, T)
        if key not in ctx.memo:  # once per forward pass, shared by every layer with the same settings
            device = str(x.device)
            if device not in self.inv_freq:
                self.inv_freq[device] = self.inv_freq["cpu"].to(x.device)
            inv_freq = self.inv_freq[device]
            pos = torch.arange(ctx.start_pos, ctx.start_pos + T, device=x.device, dtype=torch.float32)
            freqs = torch.outer(pos, inv_freq)  # (T, head_dim / 2)
            emb = torch.cat((freqs, freqs), dim=-1)  # (T, head_dim)
            ctx.memo[key] = (emb.cos().to(x.dtype), emb.sin().to(x.dtype))
        return ctx.memo[key]

    def mask(self, ctx: ForwardContext, T: int, S: int, device) -> torch.Tensor | None:
        """Boolean (T, S) mask of allowed key positions, or None when plain causal attention is enough."""
        if self.sliding_window is None and (ctx.start_pos == 0 or T == 1):
            return None  # plain causal (is_causal) or one new token that may see every cached key
        key = ("mask", ctx.start_pos, T, S, self.sliding_window)
        if key not in ctx.memo:
            q_pos = torch.arange(ctx.start_pos, ctx.start_pos + T, device=device)[:, None]  # (T, 1)
            k_pos = torch.arange(S, device=device)[None, :]  # (1, S)
            allowed = k_pos <= q_pos
            if self.sliding_window is not None:
                allowed &= k_pos > q_pos - self.sliding_window
            ctx.memo[key] = allowed
        return ctx.memo[key]

    def score_bias(self, ctx: ForwardContext, T: int, S: int, x: torch.Tensor) -> torch.Tensor:
        """(H, T, S) position bias added to the attention scores of queries start_pos… and keys 0…S−1."""
        q_pos = torch.arange(ctx.start_pos, ctx.start_pos + T, device=x.device)
        k_pos = torch.arange(S, device=x.device)
        if self.position_bias == "t5":
            return self.relative_bias(q_pos, k_pos).to(x.dtype)
        key = ("alibi", self.n_heads, ctx.start_pos, T, S)
        if key not in ctx.memo:  # the slopes depend only on the head count: shared by every layer
            device = str(x.device)
            if device not in self.alibi:
                self.alibi[device] = self.alibi["cpu"].to(x.device)
            distance = (q_pos[:, None] - k_pos[None, :]).clamp(min=0).float()  # (T, S)
            ctx.memo[key] = (-self.alibi[device][:, None, None] * distance).to(x.dtype)  # (H, T, S)
        return ctx.memo[key]

    def forward(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        B, T, _ = x.shape
        H, KV, hd = self.n_heads, self.n_kv_heads, self.head_dim
        q, k, v = self.qkv_proj(x).split([H * hd, KV * hd, KV * hd], dim=-1)
        q, k = q.view(B, T, H, hd), k.view(B, T, KV, hd)
        if self.qk_norm and not self.qk_norm_after_rope:  # Qwen3: normalise, then rotate
            q, k = self.q_norm(q), self.k_norm(k)  # (skipping two Identity calls per layer is measurable)
        q, k = q.transpose(1, 2), k.transpose(1, 2)  # (B, H, T, hd), (B, KV, T, hd)
        v = v.view(B, T, KV, hd).transpose(1, 2)  # (B, KV, T, hd)
        if self.uses_rope(ctx):
            cos, sin = self.rope_tables(ctx, T, x)  # (T, hd) each
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        if self.qk_norm_after_rope:  # the original student project's order: rotate, then normalise
            q, k = self.q_norm(q), self.k_norm(k)
        if ctx.cache is not None:
            k, v = ctx.cache.update(ctx.slot, ctx.start_pos, k, v)  # (B, KV, S, hd), S = start_pos + T
        ctx.slot += 1
        S = k.shape[2]
        mask = self.mask(ctx, T, S, x.device)
        bias = None
        if self.position_bias != "none":  # scores + bias where allowed, −inf elsewhere, as one float mask
            bias = self.score_bias(ctx, T, S, x)
            allowed = mask if mask is not None else torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
            mask = bias.masked_fill(~allowed, float("-inf"))  # (H, T, S)
        if ctx.attention_maps is not None:
            ctx.attention_maps.append(self.attention_weights(q, k, mask))
        y = attend(  # (B, H, T, hd)
            q, k, v, attn_mask=mask, is_causal=mask is None and T > 1,
            dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, H * hd))  # (B, T, D)

    def attention_weights(self, q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The softmax weights (B, H, T, S) that the fused kernel never materialises, for look-inside views."""
        k = k.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, T, S)
        T, S = scores.shape[-2:]
        if mask is None:
            mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(S - T)
        if mask.dtype != torch.bool:  # a float mask: the position bias, −inf where a key is hidden
            return (scores + mask).softmax(dim=-1).detach()
        return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1).detach()


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **kwargs) -> torch.Tensor:
    """``scaled_dot_product_attention`` where keys and values may have fewer heads than queries (GQA/MQA).

    torch ≥ 2.5 shares each key/value head between its queries itself (``enable_gqa``); torch 2.4 has no such
    option, so there the key/value heads are repeated first: the same result, with more memory."""
    if k.shape[1] == q.shape[1]:
        return F.scaled_dot_product_attention(q, k, v, **kwargs)
    try:
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kwargs)
    except TypeError:  # torch 2.4: unexpected keyword argument 'enable_gqa'
        n = q.shape[1] // k.shape[1]
        return F.scaled_dot_product_attention(q, k.repeat_interleave(n, 1), v.repeat_interleave(n, 1), **kwargs)


class LMHead(Linear):
    """Scores every vocabulary entry: (B, T, D) -> (B, T, V). Its weight may be tied to the token embedding."""

    def __init__(self, d_model: int, vocab_size: int, bias: bool = False):
        super().__init__(d_model, vocab_size, bias=bias)
