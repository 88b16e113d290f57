from .cells import code, md

CELLS = [
    md("""
    # 2. Embeddings and positions

    A token id becomes a vector by looking up a row of the **token embedding** table. That vector says *what* the
    token is, but not *where* it is: attention compares every token with every other token and, on its own, does
    not care about order. Word order has to come from somewhere:

    - **learned** positional embeddings (GPT-2): a second table with one trained vector per position, added to the
      token vector;
    - **sinusoidal** embeddings (the original Transformer): the same idea with fixed sines and cosines, nothing to
      train;
    - **RoPE**, rotary position embedding (Llama, Qwen, SmolLM): no vector added at all; queries and keys are
      rotated by an angle proportional to their position, so attention scores depend on the *distance* between
      tokens;
    - **ALiBi** (BLOOM, MPT): nothing added either; each head subtracts from its attention scores a penalty
      proportional to the distance, with a fixed slope per head;
    - **relative bias** (T5): a learned bias per head for each bucket of distances, added to the scores;
    - **none**: nothing. The causal mask still hides the future from each token.

    You will look at what some of them compute, train the same small model with each, compare loss and samples, and
    then prove with a one-layer model what breaks without positions: it cannot tell two different word orders
    apart.
    """, """
    # 2. 임베딩과 위치 정보

    토큰 id는 **토큰 임베딩** 표의 한 행을 찾아 벡터가 됩니다. 이 벡터는 토큰이 *무엇인지*는 알려 주지만 *어디에
    있는지*는 알려 주지 않습니다. 어텐션은 모든 토큰을 다른 모든 토큰과 비교할 뿐, 그 자체로는 순서를 신경 쓰지
    않습니다. 그래서 어순 정보는 따로 넣어 줘야 합니다.

    - **학습되는(learned)** 위치 임베딩(GPT-2): 위치마다 학습되는 벡터가 하나씩 있는 표를 하나 더 두고, 토큰 벡터에
      더합니다;
    - **사인파(sinusoidal)** 임베딩(원조 Transformer): 같은 방식이지만 고정된 사인·코사인 값을 써서 학습할 것이
      없습니다;
    - **RoPE**(회전 위치 임베딩, Llama·Qwen·SmolLM): 벡터를 더하지 않습니다. 쿼리와 키를 위치에 비례하는 각도만큼
      회전시켜서, 어텐션 점수가 토큰 사이의 *거리*에 따라 달라지게 합니다;
    - **ALiBi**(BLOOM, MPT): 역시 아무것도 더하지 않습니다. 헤드마다 고정된 기울기로, 거리에 비례하는 벌점을 어텐션
      점수에서 뺍니다;
    - **상대 위치 편향(relative bias)**(T5): 헤드마다 거리 구간별로 학습되는 편향을 점수에 더합니다;
    - **없음(none)**: 아무것도 없습니다. 그래도 인과 마스크(causal mask)는 각 토큰에게서 미래를 가립니다.

    몇 가지 방식이 무엇을 계산하는지 살펴보고, 같은 작은 모델을 방식마다 학습해 손실과 생성 결과를 비교한 다음, 층이 하나인
    모델로 위치 정보가 없으면 무엇이 망가지는지 직접 증명해 봅니다. 서로 다른 두 어순을 구별하지 못합니다.
    """),
    code("""
    import os
    import random

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import slamdunk_lab as sd

    # Training steps per model. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "500"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    """),
    md("""
    ## One design, four ways to know positions

    `design(kind)` takes a small GPT-2 and sets where positions come from: the `kind` of its positional-embedding
    block, and the `rope` switch and the `position_bias` (`"alibi"`, `"t5"`) of its attention block. `sd.check.positions` reads the result back from the
    design, the way a grader would.
    """, """
    ## 하나의 설계, 위치를 아는 네 가지 방법

    `design(kind)`는 작은 GPT-2를 가져와 위치 정보를 어디서 얻을지 정합니다. 위치 임베딩 블록의 `kind`, 어텐션 블록의
    `rope` 스위치와 `position_bias`(`"alibi"`, `"t5"`)를 바꿉니다. `sd.check.positions`는 채점기가 하듯 설계에서 그 결과를 다시 읽어 냅니다.
    """),
    code("""
    KINDS = ["learned", "sinusoidal", "rope", "alibi", "t5", "none"]


    def design(kind, n_layer=2):
        g = sd.template("gpt2", size="tiny", n_layer=n_layer, d_model=64, n_head=4, context=64,
                        vocab_size=tok.vocab_size)
        for node in g["nodes"]:
            if node["type"] == "positionalEmbedding":
                node["data"]["kind"] = kind if kind in ("learned", "sinusoidal") else "none"
            if node["type"] == "attention":
                node["data"]["rope"] = kind == "rope"
                node["data"]["position_bias"] = kind if kind in ("alibi", "t5") else "none"
        return g


    for kind in KINDS:
        g = design(kind)
        print(f"{kind:>10}: {sd.analyze(g).params:>7,} parameters  {sd.check.positions(g, kind)}")
    """),
    md("""
    The learned table has one vector of width 64 for each of the 64 positions (4,096 parameters); the T5 bias has
    one number per head and distance bucket in each layer (4 × 32 × 2 = 256); the rest have none. That is
    also its limit: a model with learned positions has no vector for position 65, so it cannot read a longer text
    than it was built for.

    ## Sinusoidal positions

    Position *p* gets `sin(p / 10000^(2i/d))` in dimension 2i and the cosine in 2i+1: fast waves in the first
    dimensions, slow ones in the last. Every position has a different pattern, and nearby positions have similar
    ones.
    """, """
    학습되는 표에는 64개 위치마다 폭 64의 벡터가 하나씩(파라미터 4,096개) 있고, T5 편향에는 층마다 헤드와 거리 구간별로
    숫자가 하나씩(4 × 32 × 2 = 256개) 있습니다. 나머지는 파라미터가 없습니다. 학습되는 표는 이것이 한계이기도 합니다. 학습되는 위치를 쓰는 모델에는 65번째 위치의 벡터가 없으므로, 만들어진 길이보다 긴 글은 읽을 수 없습니다.

    ## 사인파 위치

    위치 *p*는 2i번째 차원에 `sin(p / 10000^(2i/d))`, 2i+1번째 차원에 코사인 값을 받습니다. 앞쪽 차원은 빠르게, 뒤쪽
    차원은 느리게 출렁입니다. 위치마다 무늬가 다르고, 가까운 위치끼리는 무늬가 비슷합니다.
    """),
    code("""
    d, positions = 64, np.arange(64)[:, None]
    freqs = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
    table = np.zeros((64, d))
    table[:, 0::2], table[:, 1::2] = np.sin(positions * freqs), np.cos(positions * freqs)

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.imshow(table, cmap="RdBu", aspect="auto")
    a.set(xlabel="dimension", ylabel="position", title="sinusoidal positional embedding")
    b.imshow(table @ table.T, cmap="viridis")
    b.set(xlabel="position", ylabel="position", title="dot products: near positions look alike")
    plt.show()
    """),
    md("""
    ## RoPE: attention that sees distances

    RoPE rotates each pair of dimensions (2i, 2i+1) of a query or key at position *m* by the angle *m·θᵢ*. The dot
    product of a rotated query and a rotated key then depends only on the **difference** of their positions: below,
    positions (5, 3) and (105, 103) give the same score, (7, 3) does not.
    """, """
    ## RoPE: 거리를 보는 어텐션

    RoPE는 위치 *m*에 있는 쿼리와 키의 차원 쌍 (2i, 2i+1)을 각도 *m·θᵢ*만큼 회전시킵니다. 그러면 회전한 쿼리와 키의 내적은
    두 위치의 **차이**에만 달려 있게 됩니다. 아래에서 위치 (5, 3)과 (105, 103)은 같은 점수를 주고, (7, 3)은 그렇지
    않습니다.
    """),
    code("""
    def rope(x, position, base=10000.0):
        d = x.shape[-1]
        angle = position * base ** (-torch.arange(0, d, 2) / d)  # one angle per pair of dimensions
        even, odd = x[0::2], x[1::2]
        return torch.stack([even * angle.cos() - odd * angle.sin(), even * angle.sin() + odd * angle.cos()], -1).flatten()


    torch.manual_seed(0)
    q, k = torch.randn(16), torch.randn(16)
    for m, n in [(5, 3), (105, 103), (7, 3)]:
        print(f"query at {m:3}, key at {n:3} (distance {m - n}): score {float(rope(q, m) @ rope(k, n)):+.4f}")
    """),
    md("""
    ## Train all six

    Same model, same data, same steps and seed; only the positions differ.
    """, """
    ## 여섯 가지 모두 학습하기

    같은 모델, 같은 데이터, 같은 학습 단계와 시드로 학습하고 위치 정보만 바꿉니다.
    """),
    code("""
    def fit(g, steps=STEPS):
        return sd.train(g, corpus, tok, steps=steps, batch_size=16, context=64, lr=2e-3, warmup=max(steps // 10, 1),
                        eval_every=max(steps // 10, 5), eval_batches=EVAL_BATCHES, sample_every=0, checkpoint_every=0,
                        keep_checkpoints=1, mlflow=False, background=False, progress=False, monitor=False)


    runs = {kind: fit(design(kind)) for kind in KINDS}

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for kind, run in runs.items():
        evals = [r for r in run.history if r["kind"] == "eval"]
        ax.plot([r["step"] for r in evals], [r["val_loss"] for r in evals], marker=".", label=kind)
        print(f"{kind:>10}: validation loss {evals[-1]['val_loss']:.3f}")
    ax.set(xlabel="step", ylabel="validation loss", title="Where word order comes from")
    ax.legend()
    plt.show()
    """),
    code("""
    for kind, run in runs.items():
        print(f"--- {kind}")
        print(sd.generate(run.model, tok, "KING RICHARD:", max_new_tokens=150, temperature=0.8, seed=1))
    """),
    md("""
    Read the curves with three questions:

    - **RoPE**, **ALiBi** and the **T5 bias** give attention the distance between two characters directly, which is
      what spelling and rhythm depend on; they usually learn fastest.
    - **Sinusoidal** often learns slowest here, and the reason is scale: its values are ±1 in every dimension,
      while the token embeddings start near ±0.02, so at first the position drowns out *which* character it is.
      (The original Transformer multiplied the token embeddings by √d_model for this reason.)
    - **No positions** is behind learned positions, but less than you might expect. Why does it work at all? In a
      **causal** model each token only sees the tokens before it, so a layer can work out roughly *how many*
      tokens come before — a position signal that leaks through the mask. Deeper models exploit this better.

    ## What breaks without positions: a proof with one layer

    With **one** layer and no positions, the output at the last token is attention over the *set* of earlier
    tokens: a weighted average whose weights depend on each token's content only. Shuffle the earlier tokens and
    the average does not change — the model **cannot tell the two orders apart**. A model with positions can.
    """, """
    곡선을 볼 때 세 가지를 생각해 보세요.

    - **RoPE**, **ALiBi**, **T5 편향**은 어텐션에 두 글자 사이의 거리를 바로 알려 줍니다. 철자와 운율이 바로 거리에 달려
      있어서 대개 이들이 가장 빨리 배웁니다.
    - **사인파**는 여기서 가장 느리게 배우는 경우가 많은데, 이유는 크기입니다. 사인파 값은 모든 차원에서 ±1인데 토큰
      임베딩은 ±0.02 근처에서 시작하므로, 처음에는 위치 신호가 *어떤* 글자인지를 덮어 버립니다. (원조 Transformer가
      토큰 임베딩에 √d_model을 곱한 것도 이 때문입니다.)
    - **위치 정보 없음**은 학습되는 위치보다 뒤처지지만 생각보다 차이가 작습니다. 어떻게 그게 가능할까요? **인과적
      (causal)** 모델에서 각 토큰은 자기 앞의 토큰만 봅니다. 그래서 한 층이 앞에 토큰이 대략 *몇 개* 있는지 알아낼 수
      있고, 마스크를 통해 위치 신호가 새어 들어옵니다. 층이 깊을수록 이를 더 잘 이용합니다.

    ## 위치 정보가 없으면 무엇이 망가질까: 층 하나로 증명하기

    층이 **하나**이고 위치 정보가 없으면, 마지막 토큰의 출력은 앞선 토큰들의 *집합*에 대한 어텐션, 즉 각 토큰의 내용에만
    달린 가중치로 낸 가중 평균입니다. 앞 토큰들을 뒤섞어도 평균은 그대로이므로 모델은 **두 어순을 구별할 수 없습니다**.
    위치 정보가 있는 모델은 구별합니다.
    """),
    code("""
    def next_token_distribution(model, prompt):
        model.eval()
        with torch.no_grad():
            return model(torch.tensor([tok.encode(prompt)]))[0, -1].softmax(-1)


    prompt = "We are accounted poor citizens, the patricians good"
    prefix = list(prompt[:-1])
    random.Random(0).shuffle(prefix)
    shuffled = "".join(prefix) + prompt[-1]  # the same characters before the same last one, in another order
    print(repr(shuffled))

    for kind in ("none", "learned"):
        model = fit(design(kind, n_layer=1), steps=max(STEPS // 2, 10)).model
        p, q = next_token_distribution(model, prompt), next_token_distribution(model, shuffled)
        print(f"{kind:>8} positions, one layer: the two orders' next-token distributions differ by "
              f"{0.5 * float((p - q).abs().sum()):.6f} (total variation)")
    """),
    md("""
    Without positions the difference is zero (up to rounding): to this model, the Shakespeare line and its
    scrambled copy are the same input. With learned positions they are different inputs.

    ## What to take away

    - Token embeddings say *what*, positions say *where*. Learned positions cost parameters and fix the longest
      input; sinusoidal ones are free; RoPE makes attention depend on relative distance and is what current open
      models use.
    - A causal decoder without positions still learns something about order through its mask, but a one-layer
      one is provably blind to the order of earlier tokens.
    - SmolLM3 drops RoPE in every fourth layer on purpose (notebook 7): some "no position" layers help long
      contexts.

    ## Exercises

    1. Train `design("learned")` and `design("rope")` with `context=64`, then call `sd.generate` with a prompt
       longer than 64 tokens. What does each model do with the positions it never saw?
    2. Repeat the one-layer proof with `"rope"`, `"alibi"` and `"sinusoidal"`. Which ones tell the orders apart?
    3. Repeat it with `n_layer=2` and no positions. Is the difference still zero? Explain with the causal mask.
    4. Change the RoPE `base` in `rope(...)` to 100 and to 1,000,000 and look at the scores for distances 1, 10
       and 100. What does the base control?
    5. Plot the learned positional table of the trained `runs["learned"].model` (its parameter
       `pos_emb.weight`) like the sinusoidal one. Does it look like waves?
    """, """
    위치 정보가 없으면 차이는 (반올림 오차를 빼면) 0입니다. 이 모델에게 셰익스피어의 한 줄과 그것을 뒤섞은 문장은 같은
    입력입니다. 학습되는 위치가 있으면 둘은 서로 다른 입력입니다.

    ## 정리

    - 토큰 임베딩은 *무엇*을, 위치 정보는 *어디*를 알려 줍니다. 학습되는 위치는 파라미터가 들고 최대 입력 길이가
      고정됩니다. 사인파는 공짜이고, RoPE는 어텐션이 상대 거리에 따라 달라지게 하며 요즘 공개 모델들이 쓰는 방식입니다.
    - 위치 정보가 없는 인과 디코더도 마스크 덕분에 순서에 대해 무언가를 배우지만, 층이 하나뿐이면 앞 토큰들의 순서를
      전혀 볼 수 없다는 것이 증명됩니다.
    - SmolLM3는 일부러 네 번째 층마다 RoPE를 뺍니다(7장). 위치 정보가 없는 층이 긴 컨텍스트에 도움이 되기도 합니다.

    ## 연습 문제

    1. `context=64`로 `design("learned")`와 `design("rope")`를 학습한 뒤, 64토큰보다 긴 프롬프트로 `sd.generate`를
       호출해 보세요. 각 모델은 본 적 없는 위치를 어떻게 처리하나요?
    2. 층 하나짜리 증명을 `"rope"`, `"alibi"`, `"sinusoidal"`로 다시 해 보세요. 어느 것이 두 어순을 구별하나요?
    3. 위치 정보 없이 `n_layer=2`로 다시 해 보세요. 차이가 여전히 0인가요? 인과 마스크로 설명해 보세요.
    4. `rope(...)`의 `base`를 100과 1,000,000으로 바꾸고 거리 1, 10, 100에서의 점수를 보세요. base는 무엇을 조절하나요?
    5. 학습한 `runs["learned"].model`의 위치 표(파라미터 `pos_emb.weight`)를 사인파처럼 그려 보세요. 파동처럼
       보이나요?
    """),
]
