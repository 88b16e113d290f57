"""The block catalogue: the single registry that the analysis, builder, code export, docs and canvas read.

Each block is a :class:`BlockSpec`: typed parameters, handles, a shape rule, a parameter-count rule, a FLOP
rule, the name of its ``nn.Module`` class and its documentation in English and Korean.
"""

from __future__ import annotations

from ..errors import Bilingual
from .activations import ACTIVATIONS, help_text, is_gated
from .spec import (
    ROLES,
    BlockProblem,
    BlockSpec,
    Docs,
    ExportNames,
    GraphContext,
    HFRule,
    Param,
    hf_key,
    hf_refuse,
    hf_require,
    hf_unused,
)

BIG_INT = 10_000_000
WIDTH_MAX = 65_536

#: The Hugging Face families built on RMSNorm and RoPE (Llama's layout); GPT-2 is the other one.
RMS = ("llama", "qwen3", "smollm3")
#: A rule for settings the family selection already rules out (e.g. QK-norm outside Qwen3): stated, never met.
_UNREACHABLE = "{cls} cannot express this setting"


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _activations_in(shapes: list, node: str, node_ko: str) -> int:
    """The width D of a single (B, T, D) input, or a BlockProblem saying what arrived instead (``node`` and
    ``node_ko`` name the block in English and Korean)."""
    (shape,) = shapes
    if len(shape) == 2:
        raise BlockProblem(None, Bilingual(f"{node} needs activations (B, T, D) but receives token ids (B, T); "
                                           "put a Token embedding before it",
                                           f"{node_ko}에는 활성값 (B, T, D)이 들어와야 하는데 토큰 id (B, T)가 "
                                           "들어옵니다. 앞에 토큰 임베딩을 두세요"))
    return int(shape[2])


def _same_width(data, shapes, g) -> tuple:
    d = _activations_in(shapes, "This block", "이 블록")
    return ("B", "T", d)


# --------------------------------------------------------------------------------------------- tokens
def _tokens_infer(data, shapes, g):
    return ("B", "T")


TOKENS = BlockSpec(
    type="tokens",
    title="Token input",
    title_ko="토큰 입력",
    category="input/output",
    params=(
        Param("context", "int", 256, "Maximum sequence length (positions) the model accepts.",
              "모델이 받을 수 있는 최대 시퀀스 길이(위치 수).", minimum=1, maximum=1_048_576,
              hf={"gpt2": hf_key("n_positions"), RMS: hf_key("max_position_embeddings")}),
    ),
    inputs=(),
    outputs=("out",),
    infer=_tokens_infer,
    role="source",
    reads=None,
    emits="ids",
    examples=({"context": 8},),
    hf_slot="tokens",
    color="#0f766e",
    docs_en=Docs(
        "Where the model starts: a batch of token ids, integers produced by the tokenizer. Every design has exactly "
        "one token input. Its context is the longest sequence the model may see; learned positional embeddings "
        "and RoPE tables are sized from it.",
        "idx ∈ {0, …, V−1}^{B×T},  T ≤ context",
        "out: (B, T) integer token ids"),
    docs_ko=Docs(
        "모델의 시작점: 토크나이저가 만든 정수 토큰 ID의 배치입니다. 모든 설계에는 토큰 입력이 정확히 하나 있습니다. "
        "context는 모델이 볼 수 있는 가장 긴 시퀀스 길이이며, 학습형 위치 임베딩과 RoPE 표의 크기가 여기서 정해집니다.",
        "idx ∈ {0, …, V−1}^{B×T},  T ≤ context",
        "출력: (B, T) 정수 토큰 ID"),
)


# --------------------------------------------------------------------------------------------- embeddings
def _tok_emb_infer(data, shapes, g):
    (shape,) = shapes
    if len(shape) != 2:
        raise BlockProblem(None, Bilingual(f"a Token embedding needs token ids (B, T) but receives activations "
                                           f"{fmt_shape(shape)}; connect it directly to the token input",
                                           f"토큰 임베딩에는 토큰 id (B, T)가 들어와야 하는데 활성값 "
                                           f"{fmt_shape(shape)}이(가) 들어옵니다. 토큰 입력에 바로 연결하세요"))
    return ("B", "T", data["d_model"])


TOKEN_EMBEDDING = BlockSpec(
    type="tokenEmbedding",
    title="Token embedding",
    title_ko="토큰 임베딩",
    category="embedding",
    params=(
        Param("vocab_size", "int", 256, "Number of distinct tokens (rows of the table).",
              "서로 다른 토큰의 수(표의 행 수).", minimum=1, maximum=BIG_INT, hf={"*": hf_key("vocab_size")}),
        Param("d_model", "int", 128, "Width of each token vector: the model's hidden size.",
              "각 토큰 벡터의 폭: 모델의 은닉 크기.", minimum=1, maximum=WIDTH_MAX,
              hf={"gpt2": hf_key("n_embd"), RMS: hf_key("hidden_size")}),
    ),
    inputs=("in",),
    outputs=("out",),
    infer=_tok_emb_infer,
    count_params=lambda d, s, g: d["vocab_size"] * d["d_model"],
    module="TokenEmbedding",
    module_kwargs=lambda d, s, g: {"vocab_size": d["vocab_size"], "d_model": d["d_model"]},
    reads="ids",
    examples=({"vocab_size": 50, "d_model": 16},),
    hf_slot="embedding",
    color="#2563eb",
    docs_en=Docs(
        "A lookup table with one learned vector per token id. Row i of the table is the model's first picture of "
        "token i; training moves tokens used in similar ways close together. It is often shared (tied) with the "
        "LM head, which then scores each vocabulary entry by its dot product with the final hidden state.",
        "x_{b,t} = E[idx_{b,t}],  E ∈ ℝ^{V×D}",
        "in: (B, T) ids → out: (B, T, D)"),
    docs_ko=Docs(
        "토큰 ID마다 학습되는 벡터 하나를 가진 조회 표입니다. 표의 i번째 행이 토큰 i에 대한 모델의 첫 표현이며, "
        "학습이 진행되면 비슷하게 쓰이는 토큰끼리 가까워집니다. LM 헤드와 가중치를 공유(tying)하는 경우가 많습니다.",
        "x_{b,t} = E[idx_{b,t}],  E ∈ ℝ^{V×D}",
        "입력: (B, T) ID → 출력: (B, T, D)"),
)


_SINUSOIDAL = ("sinusoidal positions have no Hugging Face equivalent; use learned positions (GPT-2) or RoPE in the "
               "attention block")


def _pos_module(d):
    return {"learned": "LearnedPositionalEmbedding", "sinusoidal": "SinusoidalPositionalEmbedding",
            "none": "Identity"}[d["kind"]]


def _pos_rows(data, g) -> int:
    """Rows of a learned position table: ``positions`` when set, else the model's context."""
    return data["positions"] if data["positions"] is not None else g.context


def _pos_infer(data, shapes, g):
    d = _activations_in(shapes, "Positional embedding", "위치 임베딩")
    if data["kind"] == "learned" and data["positions"] is not None and data["positions"] < g.context:
        raise BlockProblem("positions", Bilingual(
            f"the table has {data['positions']} rows but the model's context is {g.context}; it needs a row for "
            "every position (clear positions)",
            f"표의 행은 {data['positions']}개인데 모델의 context는 {g.context}입니다. 위치마다 행이 하나씩 있어야 "
            "합니다(positions를 비우세요)"))
    if data["kind"] == "sinusoidal" and d % 2:
        raise BlockProblem("kind", Bilingual(f"sinusoidal positions need an even width, but the width is {d}",
                                             f"사인파 위치 임베딩은 폭이 짝수여야 하는데 폭이 {d}입니다"))
    return ("B", "T", d)


POSITIONAL_EMBEDDING = BlockSpec(
    type="positionalEmbedding",
    title="Positional embedding",
    title_ko="위치 임베딩",
    category="embedding",
    params=(
        Param("kind", "choice", "learned",
              "How positions are added: a learned table (GPT-2), fixed sinusoids (the original Transformer) or "
              "none (use RoPE in attention instead).",
              "위치를 더하는 방법: 학습형 표(GPT-2), 고정 사인파(원조 트랜스포머), 또는 없음(어텐션의 RoPE 사용).",
              choices=("learned", "sinusoidal", "none"),
              hf={"gpt2": hf_require("learned", lambda v, n: _SINUSOIDAL if v == "sinusoidal" else
                                     "GPT-2 (the Hugging Face class for LayerNorm models) needs learned positional "
                                     "embeddings"),
                  RMS: hf_require("none", lambda v, n: _SINUSOIDAL if v == "sinusoidal" else
                                  "{cls} has no learned position table; RMSNorm models use RoPE in the attention "
                                  "block")}),
        Param("positions", "int", None,
              "Rows of the learned position table: empty = the model's context. More rows than the context are "
              "kept but unused (designs imported from the original project size the table from ctxLength).",
              "학습형 위치 표의 행 수: 비우면 모델의 context. context보다 많은 행은 보관만 되고 쓰이지 않습니다(원래 "
              "프로젝트에서 가져온 설계는 ctxLength로 표 크기를 정합니다).",
              minimum=1, maximum=1_048_576, nullable=True,
              hf={"*": hf_require(None, "{cls} sizes its position table from the model's context; clear "
                                        "positions")}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=_pos_infer,
    count_params=lambda d, s, g: _pos_rows(d, g) * int(s[0][2]) if d["kind"] == "learned" else 0,
    flops=lambda d, s, g: int(s[0][2]) if d["kind"] != "none" else 0,
    module=_pos_module,
    module_kwargs=lambda d, s, g: {} if d["kind"] == "none" else {
        "context": _pos_rows(d, g) if d["kind"] == "learned" else g.context, "d_model": int(s[0][2])},
    examples=({"kind": "learned"}, {"kind": "sinusoidal"}, {"kind": "none"}, {"kind": "learned", "positions": 24}),
    hf_slot="positions",
    color="#2563eb",
    docs_en=Docs(
        "Attention by itself does not know the order of tokens. This block adds a vector that depends only on the "
        "position t: a learned table row (GPT-2) or fixed sine and cosine waves of geometrically spaced "
        "frequencies. Choose 'none' when the attention blocks use RoPE, which rotates queries and keys instead.",
        "learned: x_t + P[t];  sinusoidal: x_t + [sin(t·ω_i), cos(t·ω_i)],  ω_i = 10000^(−2i/D)",
        "in: (B, T, D) → out: (B, T, D)"),
    docs_ko=Docs(
        "어텐션만으로는 토큰의 순서를 알 수 없습니다. 이 블록은 위치 t에만 의존하는 벡터를 더합니다: 학습되는 표의 행(GPT-2) "
        "또는 기하급수적으로 간격을 둔 주파수의 고정 사인·코사인 파형입니다. 어텐션 블록이 RoPE를 쓰면 'none'을 고르세요.",
        "learned: x_t + P[t];  sinusoidal: x_t + [sin(t·ω_i), cos(t·ω_i)],  ω_i = 10000^(−2i/D)",
        "입력: (B, T, D) → 출력: (B, T, D)"),
)


# --------------------------------------------------------------------------------------------- attention
def attention_dims(data: dict, d_model: int) -> tuple[int, int, int]:
    """(n_heads, n_kv_heads, head_dim) after the automatic defaults; raises BlockProblem on bad combinations
    (every one found, so 3 heads with 2 key/value heads in a width of 128 names both problems)."""
    h = data["n_heads"]
    kv = data["n_kv_heads"] if data["n_kv_heads"] is not None else h
    problems: list[BlockProblem] = []
    hd: int | None = data["head_dim"]
    if hd is None:
        if d_model % h:
            problems.append(BlockProblem("n_heads", Bilingual(
                f"d_model {d_model} is not divisible by n_heads {h}; choose a head count that divides {d_model} "
                f"or set head_dim",
                f"d_model {d_model}이(가) n_heads {h}(으)로 나누어떨어지지 않습니다. {d_model}의 약수를 헤드 수로 고르거나 "
                f"head_dim을 정하세요")))
        else:
            hd = d_model // h
    if kv > h:
        problems.append(BlockProblem("n_kv_heads", Bilingual(
            f"n_kv_heads {kv} is larger than n_heads {h}; key/value heads are shared by groups of query heads, so "
            "there can be at most n_heads",
            f"n_kv_heads {kv}이(가) n_heads {h}보다 큽니다. 키/값 헤드는 쿼리 헤드 묶음이 함께 쓰므로 n_heads보다 "
            "많을 수 없습니다")))
    elif h % kv:
        problems.append(BlockProblem("n_kv_heads", Bilingual(
            f"n_heads {h} is not divisible by n_kv_heads {kv}; each key/value head must serve the same number of "
            "query heads",
            f"n_heads {h}이(가) n_kv_heads {kv}(으)로 나누어떨어지지 않습니다. 키/값 헤드마다 같은 수의 쿼리 헤드를 "
            "맡아야 합니다")))
    if data["rope"] and hd is not None and hd % 2:
        problems.append(BlockProblem("head_dim", Bilingual(
            f"RoPE rotates pairs of channels, so head_dim must be even, but it is {hd}",
            f"RoPE는 채널을 둘씩 회전시키므로 head_dim은 짝수여야 하는데 {hd}입니다")))
    BlockProblem.raise_all(problems)
    assert hd is not None  # no problem found means the width divided
    return h, kv, hd


def _attn_infer(data, shapes, g):
    d = _activations_in(shapes, "Attention block", "어텐션 블록")
    attention_dims(data, d)
    scaled = data["rope"] and data["rope_scaling"] == "llama3"
    if scaled and data["rope_high_freq_factor"] <= data["rope_low_freq_factor"]:
        raise BlockProblem("rope_high_freq_factor", Bilingual(
            f"rope_high_freq_factor {data['rope_high_freq_factor']} must be larger than "
            f"rope_low_freq_factor {data['rope_low_freq_factor']}",
            f"rope_high_freq_factor {data['rope_high_freq_factor']}은(는) "
            f"rope_low_freq_factor {data['rope_low_freq_factor']}보다 커야 합니다"))
    return ("B", "T", d)


def _attn_params(data, shapes, g):
    d = int(shapes[0][2])
    h, kv, hd = attention_dims(data, d)
    qkv = (h + 2 * kv) * hd
    n = d * qkv + (qkv if data["qkv_bias"] else 0) + h * hd * d + (d if data["out_bias"] else 0)
    n += data["relative_buckets"] * h if data["position_bias"] == "t5" else 0
    return n + (2 * hd if data["qk_norm"] else 0)


def _attn_flops(data, shapes, g):
    d = int(shapes[0][2])
    h, kv, hd = attention_dims(data, d)
    span = g.seq_len if data["sliding_window"] is None else min(g.seq_len, data["sliding_window"])
    # 2 FLOPs per weight for the projections, plus QK^T and AV: 2·2·H·hd per key position (PaLM convention).
    return 2 * (d * (h + 2 * kv) * hd + h * hd * d) + 4 * h * hd * span


def _attn_acts(data, shapes, g):
    d = int(shapes[0][2])
    h, kv, hd = attention_dims(data, d)
    return d + (h + 2 * kv) * hd + 2 * h * hd


def rope_scaling_of(data: dict) -> dict | None:
    if not data["rope"] or data["rope_scaling"] == "none":
        return None
    return {"type": "llama3", "factor": data["rope_factor"], "low_freq_factor": data["rope_low_freq_factor"],
            "high_freq_factor": data["rope_high_freq_factor"],
            "original_context": data["rope_original_context"]}


def _attn_kwargs(data, shapes, g):
    d = int(shapes[0][2])
    h, kv, hd = attention_dims(data, d)
    return {
        "d_model": d, "n_heads": h, "n_kv_heads": kv, "head_dim": hd,
        "qkv_bias": data["qkv_bias"], "out_bias": data["out_bias"],
        "qk_norm": data["qk_norm"], "qk_norm_eps": data["qk_norm_eps"], "qk_norm_order": data["qk_norm_order"],
        "rope": data["rope"], "rope_base": data["rope_base"], "rope_scaling": rope_scaling_of(data),
        "no_rope_every": data["no_rope_every"], "sliding_window": data["sliding_window"],
        "dropout": data["dropout"], "position_bias": data["position_bias"],
        "relative_buckets": data["relative_buckets"], "relative_max_distance": data["relative_max_distance"],
    }


def _scaled(node) -> bool:
    return node.kwargs["rope_scaling"] is not None


def _nope_interval(node) -> int:
    """SmolLM3's no_rope_layer_interval: every N-th layer skips RoPE (1: all of them, when rope is off)."""
    return node.data["no_rope_every"] if node.data["rope"] else 1


ATTENTION = BlockSpec(
    type="attention",
    title="Causal self-attention",
    title_ko="인과적 셀프 어텐션",
    category="attention",
    params=(
        Param("n_heads", "int", 4, "Number of query heads.", "쿼리 헤드의 수.", minimum=1, maximum=1024,
              hf={"gpt2": hf_key("n_head"), "qwen3": hf_key("num_attention_heads"),
                  ("llama", "smollm3"): hf_key("num_attention_heads", require=lambda v, n: n.model["d_model"] % v == 0,
                                               refuse="{cls} needs d_model divisible by n_heads")}),
        Param("n_kv_heads", "int", None,
              "Number of key/value heads: empty = n_heads (multi-head), 1 = multi-query, in between = "
              "grouped-query attention. Must divide n_heads.",
              "키/값 헤드의 수: 비우면 n_heads(멀티헤드), 1이면 멀티쿼리, 그 사이는 그룹 쿼리 어텐션. n_heads의 약수여야 합니다.",
              minimum=1, maximum=1024, nullable=True,
              hf={"gpt2": hf_require(lambda v, n: n.kwargs["n_kv_heads"] == n.kwargs["n_heads"],
                                     "GPT-2 has no grouped-query attention; n_kv_heads must equal n_heads"),
                  RMS: hf_key("num_key_value_heads", value=lambda v, n: n.kwargs["n_kv_heads"])}),
        Param("head_dim", "int", None, "Width of each head: empty = d_model / n_heads.",
              "각 헤드의 폭: 비우면 d_model / n_heads.", minimum=1, maximum=4096, nullable=True,
              hf={"gpt2": hf_require(lambda v, n: n.kwargs["n_heads"] * n.kwargs["head_dim"] == n.model["d_model"],
                                     "GPT-2 needs n_heads × head_dim = d_model"),
                  RMS: hf_key("head_dim", value=lambda v, n: n.kwargs["head_dim"])}),
        Param("qkv_bias", "bool", False, "Add a bias to the query, key and value projections.",
              "쿼리·키·값 투영에 편향을 더합니다.",
              hf={"gpt2": hf_require(True, "GPT-2's attention projections all have biases; turn qkv_bias and "
                                           "out_bias on"),
                  RMS: hf_key("attention_bias")}),
        Param("out_bias", "bool", False, "Add a bias to the output projection.", "출력 투영에 편향을 더합니다.",
              hf={"gpt2": hf_require(True, "GPT-2's attention projections all have biases; turn qkv_bias and "
                                           "out_bias on"),
                  RMS: hf_key("attention_bias", why="{cls} has one attention_bias switch for the q, k, v and "
                                                    "output projections; set qkv_bias and out_bias alike")}),
        Param("qk_norm", "bool", False, "RMS-normalise each query and key head (Qwen3; see qk_norm_order).",
              "각 쿼리·키 헤드를 RMS 정규화합니다(Qwen3; qk_norm_order 참고).",
              hf={"gpt2": hf_require(False, "GPT-2 has no QK-norm"), "qwen3": hf_require(True, _UNREACHABLE),
                  "*": hf_require(False, _UNREACHABLE)}),
        Param("qk_norm_order", "choice", "before_rope",
              "Where QK-norm sits: before RoPE (Qwen3) or after it (the original student project's order).",
              "QK 정규화의 위치: RoPE 전(Qwen3) 또는 RoPE 후(원래 학생 프로젝트의 순서).",
              choices=("before_rope", "after_rope"),
              hf={"qwen3": hf_require(lambda v, n: v == "before_rope" or not n.data["qk_norm"],
                                      "Qwen3 normalises queries and keys before RoPE; set qk_norm_order to "
                                      "before_rope"),
                  "*": hf_unused("only QK-norm uses it, and the family has none")}),
        Param("qk_norm_eps", "float", 1e-6, "Epsilon of the QK-norm.", "QK 정규화의 엡실론.",
              minimum=0, maximum=1, exclusive_minimum=True,
              hf={"qwen3": hf_key("rms_norm_eps", why="Qwen3 uses the norms' eps ({other_value:g}) for QK-norm too"),
                  "*": hf_unused("only QK-norm uses it, and the family has none")}),
        Param("rope", "bool", False, "Rotary position embedding: rotate queries and keys by their position.",
              "회전 위치 임베딩: 쿼리와 키를 위치에 따라 회전시킵니다.",
              hf={"gpt2": hf_require(False, "GPT-2 has no RoPE; turn rope off and use learned positions (or RMSNorm "
                                            "norms for the Llama family)"),
                  "llama": hf_require(True, _UNREACHABLE),
                  "qwen3": hf_require(True, "no Hugging Face class combines QK-norm with attention layers that "
                                            "skip RoPE"),
                  "smollm3": hf_key("no_rope_layer_interval", value=lambda v, n: _nope_interval(n))}),
        Param("rope_base", "float", 10000.0, "RoPE base θ: larger values mean slower rotations.",
              "RoPE 밑 θ: 클수록 천천히 회전합니다.", minimum=1, maximum=1e12,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"), RMS: hf_key("rope_parameters.rope_theta", "rope_theta")}),
        Param("rope_scaling", "choice", "none", "RoPE frequency scaling for long context ('llama3' as in Llama 3.1).",
              "긴 문맥을 위한 RoPE 주파수 스케일링(Llama 3.1의 'llama3').", choices=("none", "llama3"),
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"),
                  RMS: hf_key("rope_parameters.rope_type",
                              value=lambda v, n: "default" if n.kwargs["rope_scaling"] is None else v)}),
        Param("rope_factor", "float", 8.0, "Llama 3 scaling: factor by which low frequencies are slowed.",
              "Llama 3 스케일링: 저주파를 느리게 하는 배율.", minimum=1, maximum=1024,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"), RMS: hf_key("rope_parameters.factor", when=_scaled)}),
        Param("rope_low_freq_factor", "float", 1.0, "Llama 3 scaling: low-frequency boundary factor.",
              "Llama 3 스케일링: 저주파 경계 계수.", minimum=0, maximum=1024, exclusive_minimum=True,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"),
                  RMS: hf_key("rope_parameters.low_freq_factor", when=_scaled)}),
        Param("rope_high_freq_factor", "float", 4.0, "Llama 3 scaling: high-frequency boundary factor.",
              "Llama 3 스케일링: 고주파 경계 계수.", minimum=0, maximum=1024, exclusive_minimum=True,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"),
                  RMS: hf_key("rope_parameters.high_freq_factor", when=_scaled)}),
        Param("rope_original_context", "int", 8192, "Llama 3 scaling: the context length trained before scaling.",
              "Llama 3 스케일링: 스케일링 전에 학습한 문맥 길이.", minimum=1, maximum=BIG_INT,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE"),
                  RMS: hf_key("rope_parameters.original_max_position_embeddings", when=_scaled)}),
        Param("no_rope_every", "int", 0,
              "0 = RoPE in every repeat; N = no RoPE in every N-th repeat of the enclosing block (SmolLM3 uses 4).",
              "0이면 모든 반복에서 RoPE 사용; N이면 감싸는 블록의 N번째 반복마다 RoPE를 쓰지 않습니다(SmolLM3는 4).",
              minimum=0, maximum=1000,
              hf={"gpt2": hf_unused("GPT-2 has no RoPE to skip"), "llama": hf_require(0, _UNREACHABLE),
                  "qwen3": hf_require(0, "no Hugging Face class combines QK-norm with attention layers that skip "
                                         "RoPE"),
                  "smollm3": hf_key("no_rope_layer_interval", value=lambda v, n: _nope_interval(n))}),
        Param("sliding_window", "int", None, "Attend only to the last W positions; empty = the whole prefix.",
              "마지막 W개 위치에만 어텐션합니다. 비우면 앞부분 전체.", minimum=1, maximum=BIG_INT, nullable=True,
              hf={"*": hf_require(None, "sliding-window attention is not supported by the {cls} export; clear "
                                        "sliding_window")}),
        Param("position_bias", "choice", "none",
              "A bias on the scores by distance: 'alibi' (fixed per-head slopes, Press et al.) or 't5' (learned, "
              "bucketed, T5); the model then needs no other positions.",
              "거리에 따라 점수에 더하는 편향: 'alibi'(헤드별 고정 기울기, Press 외) 또는 't5'(구간별로 학습, T5). "
              "그러면 다른 위치 정보가 필요 없습니다.",
              choices=("none", "alibi", "t5"),
              hf={"*": hf_require("none", "{cls} has no ALiBi or relative position bias; set position_bias to "
                                          "none")}),
        Param("relative_buckets", "int", 32, "T5 bias: number of distance buckets.", "T5 편향: 거리 구간의 수.",
              minimum=2, maximum=4096,
              hf={"*": hf_unused("only the T5 position bias uses it, and the family has none")}),
        Param("relative_max_distance", "int", 128, "T5 bias: distances beyond this share the last bucket.",
              "T5 편향: 이보다 먼 거리는 마지막 구간을 함께 씁니다.", minimum=2, maximum=BIG_INT,
              hf={"*": hf_unused("only the T5 position bias uses it, and the family has none")}),
        Param("dropout", "float", 0.0, "Dropout on the attention weights during training.",
              "학습 중 어텐션 가중치에 적용하는 드롭아웃.", minimum=0, maximum=1, exclusive_maximum=True,
              hf={"gpt2": hf_key("attn_pdrop"), RMS: hf_key("attention_dropout")}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=_attn_infer,
    count_params=_attn_params,
    flops=_attn_flops,
    activations=_attn_acts,
    module="CausalSelfAttention",
    module_kwargs=_attn_kwargs,
    counts_as_layer=True,
    examples=(
        {"n_heads": 4},
        {"n_heads": 4, "n_kv_heads": 2, "rope": True, "rope_base": 500000.0, "dropout": 0.1},
        {"n_heads": 4, "n_kv_heads": 1, "head_dim": 8, "qk_norm": True, "qk_norm_eps": 1e-5, "rope": True,
         "qkv_bias": True},
        {"n_heads": 4, "n_kv_heads": 2, "qk_norm": True, "qk_norm_order": "after_rope", "rope": True},
        {"n_heads": 2, "rope": True, "rope_scaling": "llama3", "rope_original_context": 8, "rope_factor": 4.0,
         "rope_low_freq_factor": 0.5, "rope_high_freq_factor": 2.0},
        {"n_heads": 2, "sliding_window": 3, "out_bias": True},
        {"n_heads": 2, "rope": True, "no_rope_every": 2},
        {"n_heads": 8, "n_kv_heads": 2, "head_dim": 4, "position_bias": "alibi"},
        {"n_heads": 6, "head_dim": 4, "position_bias": "alibi"},
        {"n_heads": 2, "n_kv_heads": 1, "position_bias": "t5", "relative_buckets": 8, "relative_max_distance": 16},
        {"n_heads": 2, "position_bias": "alibi", "sliding_window": 4},
    ),
    export=ExportNames(prefix="", fields={"dropout": "attn_dropout"}),
    hf_slot="attention",
    color="#dc2626",
    docs_en=Docs(
        "Each position looks back at earlier positions and takes a weighted mix of what it finds. The input is "
        "projected to queries, keys and values; a query's dot products with all earlier keys, softmaxed, weight "
        "the values. Several heads do this in parallel on smaller slices. Grouped-query attention lets several "
        "query heads share one key/value head, which shrinks the KV cache; RoPE rotates queries and keys by "
        "their position so that the score depends on the distance between tokens. A position bias does the same by "
        "adding a score that falls with the distance: ALiBi's fixed slope per head, or T5's learned value per "
        "bucket of distances.",
        "Attention(Q, K, V) = softmax(Q Kᵀ / √d_head + M) V,  M_{ij} = −∞ for j > i;  out = concat(heads) W_O",
        "in: (B, T, D) → q: (B, H, T, d_head), k, v: (B, H_kv, T, d_head) → out: (B, T, D)"),
    docs_ko=Docs(
        "각 위치가 앞선 위치들을 돌아보고 거기서 찾은 것을 가중 평균합니다. 입력을 쿼리·키·값으로 투영하고, 쿼리와 앞선 모든 "
        "키의 내적에 소프트맥스를 취해 값에 가중치를 줍니다. 여러 헤드가 더 작은 조각에서 이를 병렬로 수행합니다. 그룹 쿼리 "
        "어텐션은 여러 쿼리 헤드가 하나의 키/값 헤드를 공유하여 KV 캐시를 줄이고, RoPE는 쿼리와 키를 위치만큼 회전시켜 "
        "점수가 토큰 사이의 거리에 따라 달라지게 합니다. 위치 편향은 거리에 따라 줄어드는 점수를 더해 같은 일을 합니다: ALiBi는 "
        "헤드마다 고정된 기울기를, T5는 거리 구간마다 학습되는 값을 씁니다.",
        "Attention(Q, K, V) = softmax(Q Kᵀ / √d_head + M) V,  j > i이면 M_{ij} = −∞;  out = concat(heads) W_O",
        "입력: (B, T, D) → q: (B, H, T, d_head), k, v: (B, H_kv, T, d_head) → 출력: (B, T, D)"),
)


# --------------------------------------------------------------------------------------------- feed-forward
def _ff_params(data, shapes, g):
    d, h, b = int(shapes[0][2]), data["hidden_dim"], data["bias"]
    if is_gated(data["activation"]):
        return 3 * d * h + (2 * h + d if b else 0)
    return 2 * d * h + (h + d if b else 0)


def _ff_flops(data, shapes, g):
    d, h = int(shapes[0][2]), data["hidden_dim"]
    return 2 * (3 if is_gated(data["activation"]) else 2) * d * h


def _hf_activation(gated: bool) -> HFRule:
    """The activation's rule in a family whose feed-forward is (or is not) gated."""
    fits = [a.name for a in ACTIVATIONS.values() if a.gated == gated and a.hf]
    if gated:
        why = "{cls} uses a gated feed-forward; choose " + " or ".join(fits)
    else:
        why = "GPT-2's feed-forward is not gated; choose " + ", ".join(fits[:-1]) + " or " + fits[-1]
    return hf_key("hidden_act" if gated else "activation_function", value=lambda v, n: ACTIVATIONS[v].hf,
                  require=lambda v, n: v in fits, refuse=why)


_ACTIVATION_HELP = help_text()


FEED_FORWARD = BlockSpec(
    type="feedForward",
    title="Feed-forward",
    title_ko="피드포워드",
    category="feed-forward",
    params=(
        Param("activation", "choice", "gelu", *_ACTIVATION_HELP, choices=tuple(ACTIVATIONS),
              hf={"gpt2": _hf_activation(gated=False), RMS: _hf_activation(gated=True)}),
        Param("hidden_dim", "int", 512, "Width of the hidden layer (often 4 × d_model, or about 8/3 × for gated).",
              "은닉층의 폭(보통 d_model의 4배, 게이트형은 약 8/3배).", minimum=1, maximum=1_048_576,
              hf={"gpt2": hf_key("n_inner"), RMS: hf_key("intermediate_size")}),
        Param("bias", "bool", True, "Add biases to the linear layers.", "선형층에 편향을 더합니다.",
              hf={"gpt2": hf_require(True, "GPT-2's feed-forward layers have biases; turn bias on"),
                  "qwen3": hf_require(False, "Qwen3 has no feed-forward biases; turn bias off"),
                  ("llama", "smollm3"): hf_key("mlp_bias")}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=lambda d, s, g: _same_width(d, s, g),
    count_params=_ff_params,
    flops=_ff_flops,
    activations=lambda d, s, g: int(s[0][2]) + (4 if is_gated(d["activation"]) else 2) * d["hidden_dim"],
    module=lambda d: "GatedMLP" if is_gated(d["activation"]) else "MLP",
    module_kwargs=lambda d, s, g: {"d_model": int(s[0][2]), "hidden_dim": d["hidden_dim"],
                                   "activation": d["activation"], "bias": d["bias"]},
    examples=tuple({"activation": a, "hidden_dim": 24, "bias": b} for a in ACTIVATIONS for b in (True, False)),
    export=ExportNames(prefix="", fields={"bias": "ff_bias"}),
    hf_slot="mlp",
    color="#7c3aed",
    docs_en=Docs(
        "A small two-layer network applied to every position on its own: widen, apply a non-linearity, narrow "
        "back. This is where most of a transformer's parameters live. Gated variants (SwiGLU, GeGLU) compute two "
        "widened projections and multiply one, passed through the activation, by the other.",
        "standard: W₂ φ(W₁ x + b₁) + b₂;  gated: W_down (φ(W_gate x) ⊙ W_up x)",
        "in: (B, T, D) → hidden: (B, T, hidden_dim) → out: (B, T, D)"),
    docs_ko=Docs(
        "각 위치에 따로 적용되는 작은 2층 신경망입니다: 넓히고, 비선형 함수를 적용하고, 다시 좁힙니다. 트랜스포머 파라미터의 "
        "대부분이 여기에 있습니다. 게이트형(SwiGLU, GeGLU)은 넓힌 투영을 두 개 계산해 하나에 활성화를 적용한 뒤 다른 하나와 곱합니다.",
        "standard: W₂ φ(W₁ x + b₁) + b₂;  gated: W_down (φ(W_gate x) ⊙ W_up x)",
        "입력: (B, T, D) → 은닉: (B, T, hidden_dim) → 출력: (B, T, D)"),
)


# --------------------------------------------------------------------------------------------- norms
_ONE_EPS = "eps {value:g} differs from '{other}' ({other_value:g}); Hugging Face configs hold one norm epsilon"
_RMS_ONLY = "{cls} normalises with RMSNorm only"
LAYER_NORM = BlockSpec(
    type="layerNorm",
    title="LayerNorm",
    title_ko="LayerNorm(층 정규화)",
    category="normalization",
    params=(
        Param("eps", "float", 1e-5, "Small number added to the variance to avoid dividing by zero.",
              "0으로 나누는 것을 막기 위해 분산에 더하는 작은 수.", minimum=0, maximum=1, exclusive_minimum=True,
              hf={"gpt2": hf_key("layer_norm_epsilon", why=_ONE_EPS), RMS: hf_refuse(_RMS_ONLY)}),
        Param("bias", "bool", True, "Learn a shift β as well as a scale γ.", "스케일 γ와 함께 이동 β도 학습합니다.",
              hf={"gpt2": hf_require(True, "GPT-2's LayerNorms have a bias; turn bias on (or use RMSNorm for the "
                                           "Llama family)"),
                  RMS: hf_refuse(_RMS_ONLY)}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=lambda d, s, g: _same_width(d, s, g),
    count_params=lambda d, s, g: int(s[0][2]) * (2 if d["bias"] else 1),
    flops=lambda d, s, g: 5 * int(s[0][2]),
    activations=lambda d, s, g: int(s[0][2]),
    module="LayerNorm",
    module_kwargs=lambda d, s, g: {"d_model": int(s[0][2]), "eps": d["eps"], "bias": d["bias"]},
    examples=({"eps": 1e-4}, {"bias": False}),
    export=ExportNames(fields={"eps": "norm_eps", "bias": "norm_bias"}, inline=True),
    hf_slot="norm",
    color="#059669",
    docs_en=Docs(
        "Rescales each position's vector to zero mean and unit variance, then applies a learned scale (and "
        "shift). Keeping activations at a steady size makes deep stacks trainable; GPT-2 puts one before "
        "attention and before the feed-forward in every block (pre-LN).",
        "y = (x − mean(x)) / √(var(x) + ε) · γ + β",
        "in: (B, T, D) → out: (B, T, D)"),
    docs_ko=Docs(
        "각 위치의 벡터를 평균 0, 분산 1로 맞춘 뒤 학습된 스케일(과 이동)을 적용합니다. 활성값의 크기를 일정하게 유지해 깊은 "
        "층을 학습할 수 있게 합니다. GPT-2는 모든 블록에서 어텐션과 피드포워드 앞에 하나씩 둡니다(pre-LN).",
        "y = (x − mean(x)) / √(var(x) + ε) · γ + β",
        "입력: (B, T, D) → 출력: (B, T, D)"),
)

RMS_NORM = BlockSpec(
    type="rmsNorm",
    title="RMSNorm",
    title_ko="RMSNorm(RMS 정규화)",
    category="normalization",
    params=(
        Param("eps", "float", 1e-6, "Small number added to the mean square to avoid dividing by zero.",
              "0으로 나누는 것을 막기 위해 제곱 평균에 더하는 작은 수.", minimum=0, maximum=1, exclusive_minimum=True,
              hf={"gpt2": hf_refuse("GPT-2 normalises with LayerNorm only"),
                  RMS: hf_key("rms_norm_eps", why=_ONE_EPS)}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=lambda d, s, g: _same_width(d, s, g),
    count_params=lambda d, s, g: int(s[0][2]),
    flops=lambda d, s, g: 4 * int(s[0][2]),
    activations=lambda d, s, g: int(s[0][2]),
    module="RMSNorm",
    module_kwargs=lambda d, s, g: {"d_model": int(s[0][2]), "eps": d["eps"]},
    examples=({"eps": 1e-5},),
    export=ExportNames(fields={"eps": "norm_eps"}, inline=True),
    hf_slot="norm",
    color="#059669",
    docs_en=Docs(
        "A cheaper LayerNorm used by Llama, Qwen and SmolLM: divide each vector by its root mean square and apply "
        "a learned scale. It skips subtracting the mean and has no shift. It is computed in float32 for "
        "stability, as the reference implementations do.",
        "y = x / √(mean(x²) + ε) · γ",
        "in: (B, T, D) → out: (B, T, D)"),
    docs_ko=Docs(
        "Llama, Qwen, SmolLM이 쓰는 더 가벼운 LayerNorm입니다. 각 벡터를 제곱평균제곱근으로 나누고 학습된 스케일을 곱합니다. "
        "평균을 빼지 않고 이동도 없습니다. 참조 구현처럼 안정성을 위해 float32로 계산합니다.",
        "y = x / √(mean(x²) + ε) · γ",
        "입력: (B, T, D) → 출력: (B, T, D)"),
)


# --------------------------------------------------------------------------------------------- plumbing
def _add_infer(data, shapes, g):
    a, b = shapes
    if a != b:
        raise BlockProblem(None, Bilingual(f"cannot add {fmt_shape(a)} and {fmt_shape(b)}: a residual add needs "
                                           "both inputs to have the same shape",
                                           f"{fmt_shape(a)}와(과) {fmt_shape(b)}을(를) 더할 수 없습니다. 잔차 더하기는 "
                                           "두 입력의 모양이 같아야 합니다"))
    if len(a) == 2:
        raise BlockProblem(None, Bilingual("an Add block adds activations, not token ids",
                                           "더하기 블록은 토큰 id가 아니라 활성값을 더합니다"))
    return a


ADD = BlockSpec(
    type="add",
    title="Add (residual)",
    title_ko="더하기(잔차 연결)",
    category="plumbing",
    params=(),
    inputs=("a", "b"),
    outputs=("out",),
    infer=_add_infer,
    flops=lambda d, s, g: int(s[0][2]),
    role="residual",
    hf_slot="residual",
    color="#475569",
    docs_en=Docs(
        "Adds its two inputs element by element. With one input taken from before a sub-block and the other from "
        "after it, this is a residual (skip) connection: the sub-block only has to learn a correction, and "
        "gradients flow straight through the sum, which is what lets deep transformers train.",
        "y = a + b",
        "a: (B, T, D), b: (B, T, D) → out: (B, T, D)"),
    docs_ko=Docs(
        "두 입력을 원소별로 더합니다. 한 입력은 하위 블록 앞에서, 다른 입력은 뒤에서 가져오면 잔차(스킵) 연결이 됩니다: 하위 "
        "블록은 보정만 배우면 되고, 기울기가 덧셈을 그대로 통과해 깊은 트랜스포머를 학습할 수 있게 합니다.",
        "y = a + b",
        "a: (B, T, D), b: (B, T, D) → 출력: (B, T, D)"),
)

DROPOUT = BlockSpec(
    type="dropout",
    title="Dropout",
    title_ko="드롭아웃",
    category="regularization",
    params=(
        Param("p", "float", 0.1, "Probability of zeroing each value during training.",
              "학습 중 각 값을 0으로 만들 확률.", minimum=0, maximum=1, exclusive_maximum=True,
              hf={"gpt2": hf_key(lambda n: "embd_pdrop" if n.where == "embeddings" else "resid_pdrop", merge="max"),
                  RMS: hf_unused("Llama-family configs have no dropout outside attention, and dropout does nothing "
                                 "at inference")}),
    ),
    inputs=("in",),
    outputs=("out",),
    keeps_shape=True,
    infer=lambda d, s, g: _same_width(d, s, g),
    module="Dropout",
    module_kwargs=lambda d, s, g: {"p": d["p"]},
    examples=({"p": 0.2},),
    export=ExportNames(fields={"p": "dropout"}),
    hf_slot="dropout",
    color="#64748b",
    docs_en=Docs(
        "During training, zeroes each value with probability p and scales the rest by 1/(1−p), so the model cannot "
        "lean on any single feature. At evaluation and generation time it does nothing.",
        "y = m ⊙ x / (1 − p),  m ~ Bernoulli(1 − p)",
        "in: (B, T, D) → out: (B, T, D)"),
    docs_ko=Docs(
        "학습 중에 각 값을 확률 p로 0으로 만들고 나머지를 1/(1−p)배 하여, 모델이 특정 특징 하나에 기대지 못하게 합니다. "
        "평가와 생성 때에는 아무것도 하지 않습니다.",
        "y = m ⊙ x / (1 − p),  m ~ Bernoulli(1 − p)",
        "입력: (B, T, D) → 출력: (B, T, D)"),
)

LINEAR = BlockSpec(
    type="linear",
    title="Linear",
    title_ko="선형층",
    category="plumbing",
    params=(
        Param("out_features", "int", 128, "Width of the output.", "출력의 폭.", minimum=1, maximum=BIG_INT),
        Param("bias", "bool", True, "Add a learned bias.", "학습되는 편향을 더합니다."),
    ),
    inputs=("in",),
    outputs=("out",),
    infer=lambda d, s, g: ("B", "T", d["out_features"]) if _activations_in(s, "Linear", "선형층") else None,
    count_params=lambda d, s, g: int(s[0][2]) * d["out_features"] + (d["out_features"] if d["bias"] else 0),
    flops=lambda d, s, g: 2 * int(s[0][2]) * d["out_features"],
    activations=lambda d, s, g: int(s[0][2]),
    module="Linear",
    module_kwargs=lambda d, s, g: {"in_features": int(s[0][2]), "out_features": d["out_features"],
                                   "bias": d["bias"]},
    feeds_logits=True,
    examples=({"out_features": 24}, {"out_features": 16, "bias": False}),
    color="#475569",
    docs_en=Docs(
        "A learned affine map applied to every position: each output feature is a weighted sum of the input "
        "features plus a bias.",
        "y = x Wᵀ + b,  W ∈ ℝ^{out×in}",
        "in: (B, T, in_features) → out: (B, T, out_features)"),
    docs_ko=Docs(
        "모든 위치에 적용되는 학습형 아핀 변환입니다. 각 출력 특징은 입력 특징의 가중합에 편향을 더한 것입니다.",
        "y = x Wᵀ + b,  W ∈ ℝ^{out×in}",
        "입력: (B, T, in_features) → 출력: (B, T, out_features)"),
)


def _head_infer(data, shapes, g):
    d = _activations_in(shapes, "LM head", "언어 모델 헤드")
    emb = g.token_embedding
    if emb is not None and emb["vocab_size"] != data["vocab_size"]:
        raise BlockProblem("vocab_size", Bilingual(
            f"vocab_size {data['vocab_size']} differs from the token embedding's vocab_size {emb['vocab_size']}; "
            "both must cover the same tokens",
            f"vocab_size {data['vocab_size']}이(가) 토큰 임베딩의 vocab_size {emb['vocab_size']}와(과) 다릅니다. "
            "둘은 같은 토큰을 다뤄야 합니다"))
    if data["tie_weights"]:
        if emb is None:
            raise BlockProblem("tie_weights", Bilingual("tie_weights needs a Token embedding to share weights with",
                                                        "tie_weights를 켜려면 가중치를 함께 쓸 토큰 임베딩이 "
                                                        "있어야 합니다"))
        if emb["d_model"] != d:
            raise BlockProblem("tie_weights", Bilingual(
                f"cannot tie weights: the head's input width is {d} but the token embedding's d_model is "
                f"{emb['d_model']}",
                f"가중치를 묶을 수 없습니다. 헤드의 입력 폭은 {d}인데 토큰 임베딩의 d_model은 "
                f"{emb['d_model']}입니다"))
    return ("B", "T", data["vocab_size"])


LM_HEAD = BlockSpec(
    type="lmHead",
    title="LM head",
    title_ko="언어 모델 헤드",
    category="output",
    params=(
        Param("vocab_size", "int", 256, "Number of tokens to score (must equal the token embedding's).",
              "점수를 매길 토큰의 수(토큰 임베딩과 같아야 함).", minimum=1, maximum=BIG_INT,
              hf={"*": hf_key("vocab_size")}),
        Param("bias", "bool", False, "Add a learned bias per token.", "토큰마다 학습되는 편향을 더합니다.",
              hf={"*": hf_require(False, "{cls} has no LM-head bias")}),
        Param("tie_weights", "bool", False, "Share the weight matrix with the token embedding (GPT-2, Qwen3-0.6B).",
              "가중치 행렬을 토큰 임베딩과 공유합니다(GPT-2, Qwen3-0.6B).", hf={"*": hf_key("tie_word_embeddings")}),
    ),
    inputs=("in",),
    outputs=("out",),
    infer=_head_infer,
    count_params=lambda d, s, g: (0 if d["tie_weights"] else int(s[0][2]) * d["vocab_size"])
    + (d["vocab_size"] if d["bias"] else 0),
    flops=lambda d, s, g: 2 * int(s[0][2]) * d["vocab_size"],
    activations=lambda d, s, g: int(s[0][2]) + 2 * d["vocab_size"],
    module="LMHead",
    module_kwargs=lambda d, s, g: {"d_model": int(s[0][2]), "vocab_size": d["vocab_size"], "bias": d["bias"]},
    feeds_logits=True,
    ties="tie_weights",
    examples=({"vocab_size": 50, "bias": True}, {"vocab_size": 50, "tie_weights": True}),
    export=ExportNames(fields={"bias": "head_bias"}),
    hf_slot="head",
    color="#ea580c",
    docs_en=Docs(
        "Turns each final hidden vector into one score (logit) per vocabulary entry; softmax of the scores is the "
        "model's prediction of the next token. Tying its weights to the token embedding saves V × D parameters "
        "and often helps small models.",
        "logits = h Wᵀ (+ b),  W ∈ ℝ^{V×D} (W = E when tied)",
        "in: (B, T, D) → out: (B, T, V)"),
    docs_ko=Docs(
        "마지막 은닉 벡터를 어휘의 각 항목마다 점수(로짓) 하나로 바꿉니다. 점수에 소프트맥스를 취한 것이 다음 토큰에 대한 "
        "모델의 예측입니다. 토큰 임베딩과 가중치를 공유하면 V × D개의 파라미터를 아끼며 작은 모델에 도움이 되는 경우가 많습니다.",
        "logits = h Wᵀ (+ b),  W ∈ ℝ^{V×D} (공유 시 W = E)",
        "입력: (B, T, D) → 출력: (B, T, V)"),
)


def _logits_infer(data, shapes, g):
    (shape,) = shapes
    if len(shape) != 3:
        raise BlockProblem(None, Bilingual("the logits output needs scores (B, T, V), but receives token ids (B, T)",
                                           "로짓 출력에는 점수 (B, T, V)가 들어와야 하는데 토큰 id (B, T)가 "
                                           "들어옵니다"))
    emb = g.token_embedding
    if emb is not None and shape[2] != emb["vocab_size"]:
        raise BlockProblem(None, Bilingual(
            f"the model outputs {shape[2]} scores per position but the vocabulary has {emb['vocab_size']} tokens; "
            f"end with an LM head of vocab_size {emb['vocab_size']}",
            f"모델은 위치마다 점수 {shape[2]}개를 내는데 어휘에는 토큰이 {emb['vocab_size']}개 있습니다. "
            f"vocab_size {emb['vocab_size']}인 언어 모델 헤드로 끝내세요"))
    return shape


LOGITS = BlockSpec(
    type="logits",
    title="Logits output",
    title_ko="로짓 출력",
    category="input/output",
    params=(),
    inputs=("in",),
    outputs=(),
    infer=_logits_infer,
    role="sink",
    emits=None,
    hf_slot="logits",
    color="#0f766e",
    docs_en=Docs(
        "Where the model ends: next-token scores for every position. Training compares them with the actual next "
        "tokens (cross-entropy); generation samples from their softmax at the last position.",
        "p(x_{t+1} | x_{≤t}) = softmax(logits_t)",
        "in: (B, T, V)"),
    docs_ko=Docs(
        "모델의 끝점: 모든 위치의 다음 토큰 점수입니다. 학습은 이를 실제 다음 토큰과 비교하고(교차 엔트로피), 생성은 마지막 "
        "위치의 소프트맥스에서 샘플링합니다.",
        "p(x_{t+1} | x_{≤t}) = softmax(logits_t)",
        "입력: (B, T, V)"),
)

TRANSFORMER_BLOCK = BlockSpec(
    type="transformerBlock",
    title="Transformer block",
    title_ko="트랜스포머 블록",
    category="structure",
    params=(
        Param("repeat", "int", 1, "How many times the block is stacked. Each repeat is its own layer with its own "
              "weights.", "블록을 몇 번 쌓을지. 반복마다 자기 가중치를 가진 별개의 층입니다.", minimum=1, maximum=1000,
              hf={"gpt2": hf_key("n_layer"), RMS: hf_key("num_hidden_layers")}),
        Param("share_weights", "bool", False, "Use one set of weights for every repeat (ALBERT-style looping).",
              "모든 반복에 가중치 한 벌을 씁니다(ALBERT식 반복).",
              hf={"*": hf_require(False, "a shared-weights transformer block runs one layer several times; Hugging "
                                         "Face decoders have separate weights in every layer")}),
    ),
    inputs=(),
    outputs=(),
    infer=lambda d, s, g: None,
    role="group",
    reads=None,
    emits=None,
    examples=({"repeat": 2}, {"repeat": 3, "share_weights": True}),
    hf_slot="layers",
    color="#334155",
    docs_en=Docs(
        "A group of blocks stacked `repeat` times: the output of one repeat is the input of the next. The blocks "
        "inside take one stream from outside the group and hand one stream on. Each repeat has its own weights "
        "unless share_weights is on, so 12 repeats of a GPT-2 block are 12 distinct layers.",
        "h_{i+1} = Block_i(h_i),  i = 0 … repeat − 1",
        "in: (B, T, D) → out: (B, T, D) (the shape must be preserved when repeat > 1)"),
    docs_ko=Docs(
        "블록 묶음을 repeat번 쌓습니다. 한 반복의 출력이 다음 반복의 입력이 됩니다. 안의 블록들은 그룹 밖에서 하나의 흐름을 받아 "
        "하나의 흐름을 내보냅니다. share_weights를 켜지 않으면 반복마다 자기 가중치를 가지므로, GPT-2 블록 12번 반복은 서로 "
        "다른 12개의 층입니다.",
        "h_{i+1} = Block_i(h_i),  i = 0 … repeat − 1",
        "입력: (B, T, D) → 출력: (B, T, D) (repeat > 1이면 모양이 유지되어야 함)"),
)

BLOCKS: dict[str, BlockSpec] = {
    spec.type: spec
    for spec in (TOKENS, TOKEN_EMBEDDING, POSITIONAL_EMBEDDING, ATTENTION, FEED_FORWARD, LAYER_NORM, RMS_NORM, ADD,
                 DROPOUT, LINEAR, LM_HEAD, LOGITS, TRANSFORMER_BLOCK)
}

RESERVED_TYPES = frozenset({"input", "output", "default", "group"})
assert not RESERVED_TYPES & BLOCKS.keys(), "block types must not use React Flow's reserved names"


def get_block(type_name: str) -> BlockSpec | None:
    return BLOCKS.get(type_name)


#: Each category of the palette in English and Korean (every block's category must be here).
CATEGORY_TITLES: dict[str, tuple[str, str]] = {
    "input/output": ("input/output", "입력/출력"),
    "embedding": ("embedding", "임베딩"),
    "attention": ("attention", "어텐션"),
    "feed-forward": ("feed-forward", "피드포워드"),
    "normalization": ("normalization", "정규화"),
    "plumbing": ("plumbing", "연결"),
    "regularization": ("regularization", "규제"),
    "output": ("output", "출력"),
    "structure": ("structure", "구조"),
}

#: The inspector's label of each setting in English and Korean (every setting of every block must be here).
PARAM_LABELS: dict[str, tuple[str, str]] = {
    "context": ("Context length", "문맥 길이"),
    "vocab_size": ("Vocabulary size", "어휘 크기"),
    "d_model": ("Width", "너비"),
    "kind": ("Kind", "종류"),
    "positions": ("Positions", "위치 수"),
    "qk_norm_order": ("Q/K norm order", "Q/K 정규화 순서"),
    "position_bias": ("Position bias", "위치 편향"),
    "relative_buckets": ("Distance buckets", "거리 구간 수"),
    "relative_max_distance": ("Farthest distance", "최대 거리"),
    "n_heads": ("Heads", "헤드 수"),
    "n_kv_heads": ("Key/value heads", "키/값 헤드 수"),
    "head_dim": ("Head width", "헤드 너비"),
    "qkv_bias": ("Q/K/V bias", "Q/K/V 편향"),
    "out_bias": ("Output bias", "출력 편향"),
    "qk_norm": ("Q/K norm", "Q/K 정규화"),
    "qk_norm_eps": ("Q/K norm epsilon", "Q/K 정규화 엡실론"),
    "rope": ("RoPE", "RoPE(회전 위치 인코딩)"),
    "rope_base": ("RoPE base", "RoPE 밑값"),
    "rope_scaling": ("RoPE scaling", "RoPE 확장 방식"),
    "rope_factor": ("RoPE factor", "RoPE 배율"),
    "rope_low_freq_factor": ("RoPE low-frequency factor", "RoPE 저주파 배율"),
    "rope_high_freq_factor": ("RoPE high-frequency factor", "RoPE 고주파 배율"),
    "rope_original_context": ("RoPE original context", "RoPE 원래 문맥 길이"),
    "no_rope_every": ("No RoPE every", "RoPE 생략 주기"),
    "sliding_window": ("Sliding window", "슬라이딩 윈도"),
    "dropout": ("Dropout", "드롭아웃"),
    "activation": ("Activation", "활성화 함수"),
    "hidden_dim": ("Hidden width", "은닉 너비"),
    "bias": ("Bias", "편향"),
    "eps": ("Epsilon", "엡실론"),
    "p": ("Drop probability", "드롭 확률"),
    "out_features": ("Output width", "출력 너비"),
    "tie_weights": ("Tie weights", "가중치 공유(임베딩과)"),
    "repeat": ("Repeat", "반복 횟수"),
    "share_weights": ("Share weights", "반복 간 가중치 공유"),
}


def _block_entry(spec: BlockSpec) -> dict:
    """One block of the catalogue, with its title, category and setting labels in English and Korean."""
    entry = spec.to_catalog()
    entry["titles"] = {"en": spec.title, "ko": spec.title_ko or spec.title}
    for name, prop in entry["schema"].get("properties", {}).items():
        en, ko = PARAM_LABELS.get(name, (prop.get("title", name), prop.get("title", name)))
        prop["title"], prop["x-title-ko"] = en, ko
        param = spec.param(name)
        if param is not None:
            prop["x-range-ko"] = param.describe_range("ko")
    return entry


def catalog() -> dict:
    """The block catalogue as JSON-able data: what the canvas palette, inspector forms and docs panel show.

    >>> import slamdunk_lab as sd
    >>> [b["type"] for b in sd.catalog()["blocks"]][:3]
    ['tokens', 'tokenEmbedding', 'positionalEmbedding']
    """
    categories: list[str] = []
    for spec in BLOCKS.values():
        if spec.category not in categories:
            categories.append(spec.category)
    return {"version": 1, "blocks": [_block_entry(spec) for spec in BLOCKS.values()], "categories": categories,
            "category_titles": {c: dict(zip(("en", "ko"), CATEGORY_TITLES.get(c, (c, c)))) for c in categories},
            "roles": list(ROLES), "reserved_types": sorted(RESERVED_TYPES)}


__all__ = [
    "BLOCKS",
    "BlockProblem",
    "GraphContext",
    "attention_dims",
    "catalog",
    "fmt_shape",
    "get_block",
    "rope_scaling_of",
]
