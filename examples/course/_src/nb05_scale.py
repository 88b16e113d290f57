from .cells import code, md

CELLS = [
    md("""
    # 5. Scale: parameters, compute, memory

    How big is a model, how much compute does it take to train, and what do you get for it? In this notebook you
    will:

    - read **parameters, FLOPs and memory** of designs from tiny to Llama 3 8B with `sd.analyze` — without building
      them;
    - see **where the parameters go** (embeddings, attention, feed-forward) and why small models are mostly
      embedding;
    - check the rule of thumb **training FLOPs ≈ 6 × parameters × tokens**;
    - train a **sweep of sizes** on the same data and plot loss against compute: a small **scaling-law** picture;
    - find **where the time goes** in a training step, in FLOPs and with PyTorch's profiler.
    """, """
    # 5. 규모: 파라미터, 연산량, 메모리

    모델은 얼마나 크고, 학습에 연산이 얼마나 들고, 그 대가로 무엇을 얻을까요? 이 노트북에서는

    - 아주 작은 모델부터 Llama 3 8B까지 설계의 **파라미터, FLOPs, 메모리**를 `sd.analyze`로 읽습니다. 모델을 만들지
      않고도 됩니다;
    - **파라미터가 어디에 쓰이는지**(임베딩, 어텐션, 피드포워드), 그리고 작은 모델은 왜 대부분이 임베딩인지 봅니다;
    - **학습 FLOPs ≈ 6 × 파라미터 수 × 토큰 수**라는 어림셈을 확인합니다;
    - 같은 데이터로 **크기를 바꿔 가며** 학습하고 연산량에 따른 손실을 그립니다. 작은 **스케일링 법칙** 그림입니다;
    - 학습 한 단계에서 **시간이 어디에 쓰이는지** FLOPs와 PyTorch 프로파일러로 찾아봅니다.
    """),
    code("""
    import os
    import time

    import matplotlib.pyplot as plt
    import torch

    import slamdunk_lab as sd

    # Training steps per model. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "400"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    """),
    md("""
    ## Parameters, FLOPs and memory without building anything

    `sd.analyze(design, batch_size, context, dtype)` works the numbers out from the graph: parameters (tied
    weights counted once), forward FLOPs per token, and the memory training needs — weights, gradients, the two
    Adam moments, and activations for one batch. Nothing is allocated, so Llama 3 8B is as quick as a toy.
    """, """
    ## 모델을 만들지 않고 파라미터, FLOPs, 메모리 알아내기

    `sd.analyze(design, batch_size, context, dtype)`는 그래프에서 수치를 계산합니다. 파라미터 수(묶인 가중치는 한 번만),
    토큰당 순전파 FLOPs, 학습에 필요한 메모리(가중치, 기울기, Adam의 두 모멘트, 배치 하나의 활성값)입니다. 아무것도
    할당하지 않으므로 Llama 3 8B도 장난감 모델만큼 빨리 계산됩니다.
    """),
    code("""
    DESIGNS = {
        "GPT-2 tiny": sd.template("gpt2", size="tiny"),
        "GPT-2 124M": sd.template("gpt2", size="124M"),
        "Llama 3.2 1B": sd.template("llama3", size="1B"),
        "Llama 3 8B": sd.template("llama3", size="8B"),
    }
    print(f"{'':>13} {'parameters':>14} {'FLOPs/token':>11} {'÷ 2N':>5} {'train ÷ fwd':>11}  training memory, batch 8 × 1024, bf16")
    for name, g in DESIGNS.items():
        a = sd.analyze(g, batch_size=8, context=1024, dtype="bfloat16")
        m = {k: v / 2**30 for k, v in a.memory.items()}
        print(f"{name:>13} {a.params:>14,} {a.flops_per_token:>11.3g} {a.flops_per_token / (2 * a.params):>5.2f} "
              f"{a.train_flops_per_token / a.flops_per_token:>11.1f}  {m['total']:.1f} GiB (weights {m['weights']:.1f}, "
              f"optimizer {m['optimizer']:.1f}, activations {m['activations']:.1f})")
    """),
    md("""
    Training costs three forward passes' worth of FLOPs per token (the forward, and a backward that costs twice as
    much), and a forward pass costs about 2 FLOPs per parameter (one multiply, one add) — hence **6 N** per
    training token. The "÷ 2N" column shows what the rule leaves out: attention's scores over 1,024 positions and
    the output head (tied to the embedding in GPT-2, so its FLOPs come without parameters of their own), and an
    embedding table that is looked up, not multiplied (Llama 3 8B's own embedding: parameters without FLOPs). Memory is dominated by activations at long contexts and by the optimizer state for big models:
    Adam keeps two extra numbers per parameter.

    ## Where the parameters go
    """, """
    학습은 토큰당 순전파 세 번 분량의 FLOPs가 듭니다(순전파 한 번, 그 두 배가 드는 역전파). 순전파는 파라미터당 약 2 FLOPs
    (곱셈 한 번, 덧셈 한 번)이므로 학습 토큰 하나에 **6 N**입니다. "÷ 2N" 열은 이 어림셈이 빠뜨리는 부분을 보여 줍니다.
    1,024개 위치에 대한 어텐션 점수와 출력층입니다(GPT-2의 출력층은 임베딩과 묶여 있어서 자기 파라미터 없이 FLOPs만
    듭니다). 그리고 임베딩 표는 곱하지 않고 찾아보기만 합니다(Llama 3 8B의 따로 있는 임베딩은 FLOPs 없이 파라미터만
    듭니다). 메모리는 컨텍스트가 길면 활성값이, 모델이 크면 옵티마이저
    상태가 대부분을 차지합니다. Adam은 파라미터마다 숫자를 두 개 더 들고 있습니다.

    ## 파라미터는 어디에 쓰일까
    """),
    code("""
    GROUPS = {"tokenEmbedding": "embeddings", "positionalEmbedding": "embeddings", "lmHead": "output head",
              "attention": "attention", "feedForward": "feed-forward", "layerNorm": "norms", "rmsNorm": "norms"}


    def breakdown(analysis, key="params"):
        out = {}
        for node in analysis.nodes.values():
            if node.type in GROUPS:
                out[GROUPS[node.type]] = out.get(GROUPS[node.type], 0) + getattr(node, key)
        return out


    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
    for ax, (name, g) in zip(axes, DESIGNS.items()):
        parts = breakdown(sd.analyze(g))
        ax.bar(list(parts), [v / sum(parts.values()) for v in parts.values()])
        ax.set_title(name)
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    axes[0].set_ylabel("share of parameters")
    plt.tight_layout()
    plt.show()
    """),
    md("""
    In GPT-2 124M almost a third of the parameters is the token embedding (50,257 × 768), shared with the output
    head. In the 8B model the layers dominate. Keep this in mind when you read "parameters" in the sweep below:
    people often count **non-embedding** parameters for scaling laws.

    ## A sweep of sizes: loss against compute

    Five models from 17k to 800k parameters train on the same text for the same number of steps, batch and
    context. Compute is `train_flops_per_token × tokens seen`. Bigger models reach a lower loss — and cost more
    compute per step. The lower envelope of all curves (the **compute frontier**) is the best loss you can buy for
    a compute budget.
    """, """
    GPT-2 124M에서는 파라미터의 거의 3분의 1이 토큰 임베딩(50,257 × 768)이고, 이것을 출력층과 공유합니다. 8B 모델에서는
    층들이 대부분을 차지합니다. 아래 실험에서 "파라미터"를 볼 때 이 점을 기억하세요. 스케일링 법칙에서는 흔히 **임베딩을
    뺀** 파라미터를 셉니다.

    ## 크기를 바꿔 가며: 연산량에 따른 손실

    파라미터 1만 7천 개부터 80만 개까지 다섯 모델을 같은 텍스트로, 같은 단계 수, 배치, 컨텍스트로 학습합니다. 연산량은
    `train_flops_per_token × 본 토큰 수`입니다. 큰 모델일수록 손실이 낮아지지만 단계마다 연산이 더 듭니다. 모든 곡선의
    아래쪽 경계(**연산 프런티어**)가 주어진 연산 예산으로 얻을 수 있는 가장 좋은 손실입니다.
    """),
    code("""
    SIZES = [(32, 1), (48, 2), (64, 2), (96, 3), (128, 4)]  # (width, layers)
    BATCH, CONTEXT = 16, 64

    sweep = []
    for d_model, n_layer in SIZES:
        g = sd.template("gpt2", size="tiny", n_layer=n_layer, d_model=d_model, n_head=4, context=CONTEXT,
                        vocab_size=tok.vocab_size)
        analysis = sd.analyze(g, batch_size=BATCH, context=CONTEXT)
        started = time.perf_counter()
        run = sd.train(g, corpus, tok, steps=STEPS, batch_size=BATCH, context=CONTEXT, lr=2e-3,
                       warmup=max(STEPS // 10, 1), eval_every=max(STEPS // 8, 5), eval_batches=EVAL_BATCHES,
                       sample_every=0, checkpoint_every=0, keep_checkpoints=1, mlflow=False, background=False,
                       progress=False, monitor=False)
        seconds = time.perf_counter() - started
        evals = [r for r in run.history if r["kind"] == "eval"]
        flops_per_step = analysis.train_flops_per_token * BATCH * CONTEXT
        sweep.append({"name": f"d={d_model}, L={n_layer}", "params": analysis.params, "seconds": seconds,
                      "compute": [r["step"] * flops_per_step for r in evals], "loss": [r["val_loss"] for r in evals]})
        print(f"d={d_model:>3}, L={n_layer}: {analysis.params:>8,} parameters, {flops_per_step * STEPS:.2e} FLOPs, "
              f"{seconds:5.1f} s ({STEPS * BATCH * CONTEXT / seconds:,.0f} tokens/s), validation loss "
              f"{evals[-1]['val_loss']:.3f}")
    """),
    code("""
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    for row in sweep:
        a.plot(row["compute"], row["loss"], marker=".", label=f"{row['name']} ({row['params']:,})")
    a.set(xscale="log", xlabel="training compute (FLOPs, log)", ylabel="validation loss",
          title="loss against compute, one curve per size")
    a.legend(fontsize=7)
    b.plot([r["params"] for r in sweep], [r["loss"][-1] for r in sweep], marker="o")
    b.set(xscale="log", xlabel="parameters (log)", ylabel=f"validation loss after {STEPS} steps",
          title="same steps: bigger is better (here)")
    b.tick_params(axis="x", which="minor", labelbottom=False)
    plt.show()
    """),
    md("""
    With the same number of steps, the bigger models win — but they also spent more compute. Where the curves
    cross, a smaller model trained longer and a bigger model trained shorter cost the same; the scaling-law papers
    (Kaplan et al. 2020, Hoffmann et al. 2022 "Chinchilla") fit these frontiers and found that for a fixed budget
    parameters and tokens should grow together — about 20 tokens per parameter.

    ## Where the time goes

    In FLOPs: per token, the feed-forward and attention projections and the output head. Attention's own
    `softmax(QKᵀ)V` grows with the context. Measured: PyTorch's profiler over a few training steps of the biggest
    model.
    """, """
    단계 수가 같으면 큰 모델이 이깁니다. 하지만 연산도 더 썼습니다. 곡선이 만나는 지점에서는 작은 모델을 오래 학습하는
    것과 큰 모델을 짧게 학습하는 것의 비용이 같습니다. 스케일링 법칙 논문들(Kaplan 외 2020, Hoffmann 외 2022
    "Chinchilla")은 이 프런티어를 맞춰 보고, 예산이 정해져 있으면 파라미터와 토큰을 함께 늘려야 한다는 것, 대략 파라미터
    하나에 토큰 20개라는 것을 찾아냈습니다.

    ## 시간은 어디에 쓰일까

    FLOPs로 보면 토큰마다 피드포워드와 어텐션의 투영, 그리고 출력층이 대부분입니다. 어텐션 자체의 `softmax(QKᵀ)V`는
    컨텍스트에 따라 커집니다. 실제로 재 보기 위해 가장 큰 모델의 학습 몇 단계를 PyTorch 프로파일러로 살펴봅니다.
    """),
    code("""
    g = sd.template("gpt2", size="tiny", n_layer=4, d_model=128, n_head=4, context=CONTEXT, vocab_size=tok.vocab_size)
    flops = breakdown(sd.analyze(g, context=CONTEXT), key="flops")
    total = sum(flops.values())
    print("forward FLOPs per token:", ", ".join(f"{k} {v / total:.0%}" for k, v in flops.items() if v))

    model = sd.build(g)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, tok.vocab_size, (BATCH, CONTEXT))
    y = torch.randint(0, tok.vocab_size, (BATCH, CONTEXT))


    def step():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


    step()  # warm up
    with torch.profiler.profile() as prof:
        for _ in range(3):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    """),
    md("""
    (The two `USDT ... profiler_start/stop` lines, if you see them, are the profiler's own log.)

    Matrix multiplications (`aten::mm`, `aten::addmm` and their backward) take most of the time, as
    the FLOPs predicted; the rest is many small element-wise operations (norms, activations, the optimizer) whose
    cost is memory traffic and Python overhead, not arithmetic. On a GPU those small operations matter even more,
    which is why fused kernels exist.

    ## What to take away

    - `sd.analyze` gives parameters, FLOPs and memory from the design alone; training FLOPs ≈ 6 × N per token.
    - Small models are mostly embeddings; big ones mostly layers. Optimizer state and activations, not weights,
      fill memory in training.
    - Loss falls smoothly with compute; for a fixed budget there is a best model size.

    ## Exercises

    1. From `sd.analyze(sd.template("gpt2", size="124M"))`, predict the FLOPs of training GPT-2 124M on 10 B tokens.
       How many days would it take at the tokens/s your biggest sweep model reached here, scaled by FLOPs?
    2. Add `(192, 4)` and `(32, 4)` to `SIZES`. Where do they land against the frontier?
    3. Re-run the sweep with twice the steps for the two smallest models only. Do they catch up at equal compute?
    4. Why does the "activations" term of the memory grow with `context` faster than the others? Check with
       `sd.analyze(g, batch_size=8, context=c)` for c = 256, 512, 1024.
    5. Sort the profiler table by `cpu_time_total` instead. Which high-level operation is the most expensive?
    """, """
    (`USDT ... profiler_start/stop` 두 줄이 보이면 프로파일러가 남긴 로그입니다.)

    시간 대부분은 행렬 곱(`aten::mm`, `aten::addmm`과 그 역전파)이 차지합니다. FLOPs가 예측한 대로입니다.
    나머지는 자잘한 원소별 연산(정규화, 활성화, 옵티마이저)인데, 이들의 비용은 산술이 아니라 메모리 이동과 파이썬
    오버헤드입니다. GPU에서는 이런 작은 연산이 더 크게 문제가 되어서 융합 커널(fused kernel)을 씁니다.

    ## 정리

    - `sd.analyze`는 설계만으로 파라미터, FLOPs, 메모리를 알려 줍니다. 학습 FLOPs는 토큰당 약 6 × N입니다.
    - 작은 모델은 대부분 임베딩이고, 큰 모델은 대부분 층입니다. 학습 중 메모리를 채우는 것은 가중치가 아니라 옵티마이저
      상태와 활성값입니다.
    - 손실은 연산량에 따라 매끄럽게 줄어들고, 예산이 정해져 있으면 가장 좋은 모델 크기가 있습니다.

    ## 연습 문제

    1. `sd.analyze(sd.template("gpt2", size="124M"))`로 GPT-2 124M을 100억 토큰 학습하는 FLOPs를 예측해 보세요. 여기서
       가장 큰 모델이 낸 초당 토큰 수를 FLOPs 비율로 환산하면 며칠이 걸릴까요?
    2. `SIZES`에 `(192, 4)`와 `(32, 4)`를 더해 보세요. 프런티어에 비해 어디에 놓이나요?
    3. 가장 작은 두 모델만 두 배 단계로 다시 학습해 보세요. 같은 연산량에서 따라잡나요?
    4. 메모리의 "activations" 항은 왜 다른 항보다 `context`에 따라 빨리 커질까요? c = 256, 512, 1024로
       `sd.analyze(g, batch_size=8, context=c)`를 확인해 보세요.
    5. 프로파일러 표를 `cpu_time_total`로 정렬해 보세요. 가장 비싼 상위 연산은 무엇인가요?
    """),
]
