from .cells import code, md

CELLS = [
    md("""
    # 3. Attention

    Attention is how a token gathers information from the tokens before it. Each token makes a **query** ("what am
    I looking for?"), a **key** ("what do I contain?") and a **value** ("what do I pass on?"). A token's output is
    the average of the values of the earlier tokens, weighted by how well its query matches their keys.

    In this notebook you will:

    - compute one attention head by hand, with the **causal mask**, and check it against PyTorch;
    - split attention into **heads**, and compare **multi-head** (every head has its own keys and values),
      **grouped-query** (groups of query heads share keys and values; Llama 3, Qwen3) and **multi-query** (all heads
      share one) on parameters, **KV-cache memory** and loss;
    - look at the attention maps of your trained model, in a plot and in the playground.
    """, """
    # 3. 어텐션

    어텐션은 토큰이 앞선 토큰들에게서 정보를 모으는 방법입니다. 토큰마다 **쿼리**("나는 무엇을 찾는가?"), **키**("나는
    무엇을 담고 있는가?"), **값**("나는 무엇을 넘겨주는가?")을 만듭니다. 토큰의 출력은 앞선 토큰들의 값을 평균한 것인데,
    자기 쿼리가 그 토큰들의 키와 잘 맞을수록 가중치가 커집니다.

    이 노트북에서는

    - 어텐션 헤드 하나를 **인과 마스크(causal mask)**까지 직접 계산하고 PyTorch와 비교합니다;
    - 어텐션을 여러 **헤드**로 나누고, **멀티헤드**(헤드마다 자기 키와 값), **그룹 쿼리**(쿼리 헤드 여러 개가 키와 값을
      공유. Llama 3, Qwen3), **멀티쿼리**(모든 헤드가 하나를 공유)를 파라미터 수, **KV 캐시 메모리**, 손실로 비교합니다;
    - 학습한 모델의 어텐션 맵을 그림과 플레이그라운드에서 살펴봅니다.
    """),
    code("""
    import os

    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F

    import slamdunk_lab as sd

    # Training steps per model. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "500"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    """),
    md("""
    ## One head by hand

    Six tokens of width 8. `scores[i, j]` says how much token *i* looks at token *j*. The causal mask sets every
    score above the diagonal (the future) to −∞, so after the softmax those weights are exactly 0: a token never
    sees the tokens it will have to predict.
    """, """
    ## 헤드 하나를 직접 계산하기

    폭이 8인 토큰 여섯 개가 있습니다. `scores[i, j]`는 토큰 *i*가 토큰 *j*를 얼마나 보는지입니다. 인과 마스크는 대각선
    위쪽(미래)의 점수를 모두 −∞로 만들어서, softmax를 거친 가중치가 정확히 0이 되게 합니다. 토큰은 자기가 예측해야 할
    토큰을 절대 보지 못합니다.
    """),
    code("""
    torch.manual_seed(0)
    T, d = 6, 8
    x = torch.randn(T, d)                                    # (T, d): six token vectors
    W_q, W_k, W_v = (torch.randn(d, d) / d**0.5 for _ in range(3))
    q, k, v = x @ W_q, x @ W_k, x @ W_v                      # (T, d) each

    scores = q @ k.T / d**0.5                                # (T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)      # True above the diagonal
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    out = weights @ v                                        # (T, d): each row averages the values it may see

    print(weights.numpy().round(2))
    fused = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    print("same as PyTorch's scaled_dot_product_attention:", torch.allclose(out, fused, atol=1e-6))
    """),
    md("""
    ## Heads, and sharing keys and values

    With *H* heads the width is cut into *H* slices of `head_dim = d_model / H`, and each slice attends on its own
    (one head may follow the previous character, another the start of the word). The model below has 8 query
    heads. We vary how many **key/value heads** they share:

    | | key/value heads | who uses it |
    |---|---|---|
    | multi-head (MHA) | 8, one per query head | GPT-2, Llama 2 |
    | grouped-query (GQA) | 2, each shared by 4 query heads | Llama 3, Qwen3, SmolLM3 |
    | multi-query (MQA) | 1, shared by all | PaLM, Falcon |

    Fewer key/value heads mean fewer parameters, and above all a smaller **KV cache**: during generation the model
    keeps the keys and values of every past token of every layer, and that memory — not the weights — is what
    limits long contexts and big batches.
    """, """
    ## 헤드, 그리고 키와 값 공유하기

    헤드가 *H*개면 폭을 `head_dim = d_model / H` 크기의 조각 *H*개로 나누고, 조각마다 따로 어텐션을 합니다(어떤 헤드는
    바로 앞 글자를, 어떤 헤드는 단어의 시작을 따라갈 수 있습니다). 아래 모델에는 쿼리 헤드가 8개 있고, 이들이 공유하는
    **키/값 헤드** 수를 바꿔 봅니다.

    | | 키/값 헤드 | 쓰는 모델 |
    |---|---|---|
    | 멀티헤드 (MHA) | 8개, 쿼리 헤드마다 하나 | GPT-2, Llama 2 |
    | 그룹 쿼리 (GQA) | 2개, 쿼리 헤드 4개가 하나씩 공유 | Llama 3, Qwen3, SmolLM3 |
    | 멀티쿼리 (MQA) | 1개, 모두가 공유 | PaLM, Falcon |

    키/값 헤드가 적으면 파라미터가 줄고, 무엇보다 **KV 캐시**가 작아집니다. 생성하는 동안 모델은 모든 층에서 지나간
    모든 토큰의 키와 값을 들고 있어야 하는데, 긴 컨텍스트와 큰 배치를 가로막는 것은 가중치가 아니라 바로 이 메모리입니다.
    """),
    code("""
    VARIANTS = {"multi-head": 8, "grouped-query": 2, "multi-query": 1}


    def design(n_kv_heads):
        return sd.template("llama3", size="tiny", n_layer=2, d_model=64, n_head=8, n_kv_head=n_kv_heads, context=64,
                           vocab_size=tok.vocab_size)


    print(f"{'':>14} {'parameters':>10} {'attention params/layer':>23} {'KV cache, 64 tokens':>20} "
          f"{'Llama 3 8B, 8k tokens, bf16':>28}")
    for name, kv in VARIANTS.items():
        g = design(kv)
        analysis = sd.analyze(g)
        big = sd.template("llama3", size="8B", n_kv_head={8: 32, 2: 8, 1: 1}[kv])  # 32 query heads there
        big_cache = sd.check.kv_cache_bytes(big, context=8192, dtype="bfloat16")
        print(f"{name:>14} {analysis.params:>10,} {analysis.nodes['attn'].params_each:>23,} "
              f"{sd.check.kv_cache_bytes(g, context=64):>18,} B {big_cache / 2**30:>26.2f} GiB")
    """),
    md("""
    The cache holds, for each layer, keys and values (2) × key/value heads × head_dim × tokens × bytes per number.
    For Llama 3 8B (32 layers, head_dim 128) at 8,192 tokens in bfloat16 that is 4 GiB per sequence with
    multi-head attention and 1 GiB with the 8 key/value heads Meta chose. Now: what does the sharing cost in
    quality?
    """, """
    캐시는 층마다 키와 값(2) × 키/값 헤드 수 × head_dim × 토큰 수 × 숫자 하나의 바이트 수만큼입니다. Llama 3 8B(32층,
    head_dim 128)로 bfloat16 8,192토큰이면 시퀀스 하나에 멀티헤드는 4 GiB, Meta가 고른 키/값 헤드 8개로는 1 GiB입니다.
    그럼 공유하는 대가로 품질은 얼마나 잃을까요?
    """),
    code("""
    def fit(g):
        return sd.train(g, corpus, tok, steps=STEPS, batch_size=16, context=64, lr=2e-3, warmup=max(STEPS // 10, 1),
                        eval_every=max(STEPS // 5, 5), eval_batches=EVAL_BATCHES, sample_every=0, checkpoint_every=0,
                        keep_checkpoints=1, mlflow=False, background=False, progress=False, monitor=False)


    runs = {name: fit(design(kv)) for name, kv in VARIANTS.items()}
    losses = {name: [r for r in run.history if r["kind"] == "eval"][-1]["val_loss"] for name, run in runs.items()}
    caches = {name: sd.check.kv_cache_bytes(design(kv), context=64) for name, kv in VARIANTS.items()}

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.bar(list(caches), [c / 1024 for c in caches.values()], color="tab:orange")
    a.set(ylabel="KiB", title="KV cache for 64 tokens")
    b.bar(list(losses), list(losses.values()))
    b.set(ylim=(min(losses.values()) - 0.2, max(losses.values()) + 0.1), ylabel="validation loss",
          title=f"loss after {STEPS} steps")
    plt.show()
    for name in VARIANTS:
        print(f"{name:>14}: validation loss {losses[name]:.3f}, KV cache {caches[name]:,} bytes")
    """),
    md("""
    At this size the losses are close: sharing keys and values costs little quality and saves most of the cache.
    That is why nearly every recent open model uses grouped-query attention.

    ## Attention maps of your model

    `sd.attention(model, tok, text)` returns the weights every head of every layer gives each pair of positions,
    shaped (layers, heads, T, T). Everything above the diagonal is 0: the causal mask at work.
    """, """
    이 크기에서는 손실 차이가 크지 않습니다. 키와 값을 공유해도 품질은 조금밖에 잃지 않고 캐시는 대부분 아낄 수 있습니다.
    요즘 공개 모델 대부분이 그룹 쿼리 어텐션을 쓰는 이유입니다.

    ## 내 모델의 어텐션 맵

    `sd.attention(model, tok, text)`는 모든 층의 모든 헤드가 위치 쌍마다 준 가중치를 (층, 헤드, T, T) 모양으로
    돌려줍니다. 대각선 위쪽은 모두 0입니다. 인과 마스크가 하는 일입니다.
    """),
    code("""
    model = runs["grouped-query"].model
    maps = sd.attention(model, tok, "ROMEO:\\nWhat say you, sir?")
    print("shape (layers, heads, T, T):", tuple(maps.weights.shape))
    print("largest weight above the diagonal:", float(maps.weights.triu(1).max()))

    layer = 1
    fig, axes = plt.subplots(2, 4, figsize=(12, 6))
    for head, ax in enumerate(axes.flat):
        ax.imshow(maps.weights[layer, head], cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"layer {layer}, head {head}")
        ax.set_xticks(range(len(maps.tokens)), [repr(t)[1:-1] for t in maps.tokens], fontsize=6)
        ax.set_yticks([])
    fig.suptitle("rows: the token that looks, columns: the token it looks at")
    plt.tight_layout()
    plt.show()
    """),
    md("""
    Look for heads that put their weight just left of the diagonal (the previous character), heads that look back
    to the start of a word or a line, and heads that spread their weight evenly.

    The playground shows the same maps live: type a prompt, pick a layer and a head, and watch the next-token
    probabilities too.
    """, """
    가중치를 대각선 바로 왼쪽(바로 앞 글자)에 두는 헤드, 단어나 줄의 처음을 돌아보는 헤드, 가중치를 고르게 퍼뜨리는
    헤드를 찾아보세요.

    플레이그라운드에서도 같은 맵을 볼 수 있습니다. 프롬프트를 입력하고 층과 헤드를 고르면 다음 토큰 확률도 함께
    보입니다.
    """),
    code("""
    sd.Playground(model, tok)
    """),
    md("""
    ## What to take away

    - Attention is a weighted average of values; the weights come from query·key scores and the causal mask zeroes
      the future.
    - Heads attend separately in slices of the width. Grouped-query and multi-query attention share keys and values
      between heads: fewer parameters, a much smaller KV cache, a small cost in loss.
    - The KV cache grows with layers × key/value heads × head_dim × tokens; at long contexts it dwarfs activations.

    ## Exercises

    1. Remove the mask in the hand-made head (`weights = scores.softmax(-1)`). What would a model trained like this
       learn to do, and why would its generations be useless?
    2. Add a variant with 4 key/value heads. Plot loss against KV-cache size for 8, 4, 2 and 1.
    3. Compute by hand the KV cache of Qwen3-0.6B (`sd.template("qwen3", size="0.6B")`: 28 layers, 8 key/value heads,
       head_dim 128) for 32,768 tokens in bfloat16, and check it with `sd.check.kv_cache_bytes`.
    4. Find a head in your model that attends to the previous character. How would you measure that for every head
       at once with `maps.weights`?
    5. Why does the number of query heads not change the KV cache?
    """, """
    ## 정리

    - 어텐션은 값들의 가중 평균이고, 가중치는 쿼리·키 점수에서 나오며, 인과 마스크가 미래를 0으로 만듭니다.
    - 헤드들은 폭을 나눈 조각에서 따로 어텐션을 합니다. 그룹 쿼리와 멀티쿼리 어텐션은 헤드끼리 키와 값을 공유합니다.
      파라미터가 줄고 KV 캐시가 훨씬 작아지며, 손실은 조금만 손해 봅니다.
    - KV 캐시는 층 수 × 키/값 헤드 수 × head_dim × 토큰 수에 비례해 커집니다. 컨텍스트가 길면 활성값보다 훨씬 큽니다.

    ## 연습 문제

    1. 직접 만든 헤드에서 마스크를 빼 보세요(`weights = scores.softmax(-1)`). 이렇게 학습한 모델은 무엇을 배우게 되고,
       왜 생성에는 쓸모가 없을까요?
    2. 키/값 헤드가 4개인 경우를 추가하고, 8, 4, 2, 1개일 때 KV 캐시 크기에 따른 손실을 그려 보세요.
    3. Qwen3-0.6B(`sd.template("qwen3", size="0.6B")`: 28층, 키/값 헤드 8개, head_dim 128)의 KV 캐시를 bfloat16,
       32,768토큰 기준으로 손으로 계산하고 `sd.check.kv_cache_bytes`로 확인해 보세요.
    4. 내 모델에서 바로 앞 글자를 보는 헤드를 찾아보세요. `maps.weights`로 모든 헤드에 대해 한 번에 재려면 어떻게 할까요?
    5. 쿼리 헤드 수는 왜 KV 캐시 크기를 바꾸지 않을까요?
    """),
]
