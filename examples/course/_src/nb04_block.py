from .cells import code, md

CELLS = [
    md("""
    # 4. The transformer block

    A decoder is the same block repeated: **norm → attention → add**, then **norm → feed-forward → add**. Each
    piece is there for a reason, and you can find the reason by taking it away. In this notebook you edit the
    block's graph and train each variant:

    - **pre-LN vs post-LN**: does the norm sit before each sub-layer (GPT-2 and everything since) or after each
      residual add (the original Transformer)?
    - **LayerNorm vs RMSNorm**: subtract the mean and divide by the standard deviation, or only divide by the root
      mean square (Llama, Qwen)?
    - **residual connections**: what happens when a sub-layer's output replaces the stream instead of being added
      to it — an ablation you run yourself;
    - **the feed-forward**: its width, and gated activations (SwiGLU) against plain GELU at the same parameter
      count.
    """, """
    # 4. 트랜스포머 블록

    디코더는 같은 블록의 반복입니다. **정규화 → 어텐션 → 더하기**, 그다음 **정규화 → 피드포워드 → 더하기**. 조각마다
    이유가 있고, 그 이유는 조각을 빼 보면 알 수 있습니다. 이 노트북에서는 블록의 그래프를 고쳐 가며 변형마다 학습합니다.

    - **pre-LN과 post-LN**: 정규화가 각 하위 층 앞에 있나(GPT-2 이후 모든 모델), 잔차 덧셈 뒤에 있나(원조 Transformer)?
    - **LayerNorm과 RMSNorm**: 평균을 빼고 표준편차로 나눌까, 제곱평균제곱근으로만 나눌까(Llama, Qwen)?
    - **잔차 연결**: 하위 층의 출력을 흐름(stream)에 더하지 않고 흐름을 대신하게 하면 어떻게 될까? 직접 해 보는
      제거 실험(ablation)입니다;
    - **피드포워드**: 폭, 그리고 같은 파라미터 수에서 게이트 활성화(SwiGLU)와 평범한 GELU 비교.
    """),
    code("""
    import os

    import matplotlib.pyplot as plt

    import slamdunk_lab as sd

    # Training steps per model. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "400"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    """),
    md("""
    ## The block as a graph

    A design is a graph of nodes and edges. Inside the repeated `blocks` group of GPT-2: `ln_1 → attn`, and
    `add_1` adds attention's output (input `b`) to the stream (input `a`); then `ln_2 → mlp → add_2`. Every edit
    below is a few lines on that list of edges.
    """, """
    ## 그래프로 본 블록

    설계는 노드와 엣지로 된 그래프입니다. GPT-2의 반복되는 `blocks` 그룹 안에는 `ln_1 → attn`이 있고, `add_1`이 어텐션
    출력(입력 `b`)을 흐름(입력 `a`)에 더합니다. 그다음은 `ln_2 → mlp → add_2`입니다. 아래의 모든 수정은 이 엣지 목록을
    몇 줄 고치는 일입니다.
    """),
    code("""
    def base():
        return sd.template("gpt2", size="tiny", n_layer=4, d_model=64, n_head=4, context=64, vocab_size=tok.vocab_size)


    g = base()
    inside = {n["id"] for n in g["nodes"] if n.get("parentId") == "blocks"}
    for e in g["edges"]:
        if e["target"] in inside:
            print(f"{e['source']:>8} → {e['target']}.{e['targetHandle']}")
    """),
    code("""
    def wire(g, source, target, handle="in"):
        g["edges"].append({"id": f"{source}->{target}.{handle}", "source": source, "target": target,
                           "sourceHandle": "out", "targetHandle": handle})


    def post_ln(g):
        \"\"\"Each sub-layer reads the stream; each residual add is followed by its norm (the 2017 Transformer).\"\"\"
        stream = next(e["source"] for e in g["edges"] if e["target"] == "ln_1")
        moved = {"ln_1", "attn", "add_1", "ln_2", "mlp", "add_2", "ln_f"}
        g["edges"] = [e for e in g["edges"]
                      if e["target"] not in moved and e["source"] not in {"ln_1", "add_1", "ln_2", "add_2"}]
        for source, target, handle in [(stream, "attn", "in"), (stream, "add_1", "a"), ("attn", "add_1", "b"),
                                       ("add_1", "ln_1", "in"), ("ln_1", "mlp", "in"), ("ln_1", "add_2", "a"),
                                       ("mlp", "add_2", "b"), ("add_2", "ln_2", "in"), ("ln_2", "ln_f", "in")]:
            wire(g, source, target, handle)
        return g


    def rms_norm(g):
        \"\"\"Every LayerNorm becomes an RMSNorm.\"\"\"
        for node in g["nodes"]:
            if node["type"] == "layerNorm":
                node["type"], node["data"] = "rmsNorm", {"eps": 1e-5}
        return g


    def without_residual(g, add):
        \"\"\"The residual add `add` removed: the sub-layer's output replaces the stream instead of adding to it.\"\"\"
        sub = next(e["source"] for e in g["edges"] if e["target"] == add and e["targetHandle"] == "b")
        after = [e for e in g["edges"] if e["source"] == add]
        g["edges"] = [e for e in g["edges"] if add not in (e["source"], e["target"])]
        g["nodes"] = [n for n in g["nodes"] if n["id"] != add]
        for e in after:
            wire(g, sub, e["target"], e["targetHandle"])
        return g


    def feed_forward(g, activation, hidden_dim):
        for node in g["nodes"]:
            if node["type"] == "feedForward":
                node["data"].update(activation=activation, hidden_dim=hidden_dim)
        return g


    VARIANTS = {
        "pre-LN, LayerNorm (GPT-2)": base(),
        "post-LN": post_ln(base()),
        "pre-LN, RMSNorm": rms_norm(base()),
        "no attention residual": without_residual(base(), "add_1"),
        "no residuals": without_residual(without_residual(base(), "add_1"), "add_2"),
        "GELU, hidden 64 (1×)": feed_forward(base(), "gelu", 64),
        "GELU, hidden 256 (4×)": feed_forward(base(), "gelu", 256),
        "SwiGLU, hidden 170": feed_forward(base(), "swiglu", 170),
    }
    for name, g in VARIANTS.items():
        analysis = sd.analyze(g)
        assert analysis.ok, analysis.summary()
        print(f"{name:>26}: {analysis.params:>7,} parameters | {sd.check.norms(g).message} | "
              f"residuals: {sd.check.residuals(g, 2).details['residuals']} | {sd.check.feed_forward(g).message}")
    """),
    md("""
    `sd.check` reads each design the way a grader does: where the norms sit, how many residual connections really
    skip, what the feed-forward is. Note the SwiGLU line: a gated feed-forward has three matrices instead of two,
    so a hidden size of ⅔ × 256 ≈ 170 keeps the parameter count equal to GELU at 256.

    ## Train every variant
    """, """
    `sd.check`는 채점기처럼 설계를 읽습니다. 정규화가 어디 있는지, 실제로 건너뛰는 잔차 연결이 몇 개인지, 피드포워드가
    무엇인지. SwiGLU 줄을 보세요. 게이트가 있는 피드포워드는 행렬이 두 개가 아니라 세 개라서, 은닉 크기를 ⅔ × 256 ≈ 170으로
    하면 은닉 256의 GELU와 파라미터 수가 같아집니다.

    ## 모든 변형 학습하기
    """),
    code("""
    def fit(g):
        return sd.train(g, corpus, tok, steps=STEPS, batch_size=16, context=64, lr=2e-3, warmup=max(STEPS // 10, 1),
                        eval_every=max(STEPS // 8, 5), eval_batches=EVAL_BATCHES, sample_every=0, checkpoint_every=0,
                        keep_checkpoints=1, mlflow=False, background=False, progress=False, monitor=False)


    runs = {name: fit(g) for name, g in VARIANTS.items()}


    def curve(run, kind="eval", key="val_loss"):
        rows = [r for r in run.history if r["kind"] == kind]
        return [r["step"] for r in rows], [r[key] for r in rows]


    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name in list(VARIANTS)[:5]:
        axes[0].plot(*curve(runs[name]), marker=".", label=name)
        axes[1].plot(*curve(runs[name], "train", "grad_norm"), label=name, alpha=0.8)
    for name in ["GELU, hidden 64 (1×)", "GELU, hidden 256 (4×)", "SwiGLU, hidden 170"]:
        axes[2].plot(*curve(runs[name]), marker=".", label=name)
    axes[0].set(title="norms and residuals", xlabel="step", ylabel="validation loss")
    axes[1].set(title="gradient norm while training", xlabel="step", yscale="log")
    axes[2].set(title="feed-forward", xlabel="step", ylabel="validation loss")
    for ax in axes:
        ax.legend(fontsize=7)
    plt.show()
    for name, run in runs.items():
        print(f"{name:>26}: validation loss {curve(run)[1][-1]:.3f}")
    """),
    md("""
    What to look for:

    - **Residuals** matter most. Without them every layer must pass on everything the next layers need, and the
      gradient has to go through every layer on its way down instead of taking the shortcut. Here removing the
      attention's residual alone is enough to stop this 4-layer model from learning in the steps it has: its
      loss stays near what a model that only knows how often each letter occurs gets (about 3.4), because every
      layer replaces the stream with an attention average and the token's own identity is washed out.
    - **Post-LN** trains here, but more slowly, and its gradient norm spikes (middle plot): every gradient has to
      pass through the norms on the residual path. It leans on the learning-rate warm-up, and at depth it diverges
      without careful tuning, which is why GPT-2 moved the norm in front.
    - **RMSNorm** does as well as LayerNorm with fewer operations and no bias.
    - A **wider** feed-forward learns faster per step (more parameters); at equal parameters SwiGLU usually edges
      out GELU.
    """, """
    살펴볼 점:

    - 가장 중요한 것은 **잔차**입니다. 잔차가 없으면 각 층이 다음 층에 필요한 모든 것을 그대로 넘겨줘야 하고, 기울기도
      지름길 없이 모든 층을 거쳐 내려가야 합니다. 여기서는 어텐션의 잔차 하나만 빼도 이 4층 모델이 주어진 단계 안에 전혀
      배우지 못합니다. 손실이 각 글자가 얼마나 자주 나오는지만 아는 모델의 값(약 3.4) 근처에 머뭅니다. 층마다 흐름을
      어텐션 평균으로 갈아 치우는 바람에 토큰 자신이 무엇이었는지가 씻겨 나가기 때문입니다.
    - **Post-LN**도 여기서는 학습되지만 더 느리고, 기울기 크기가 가끔 크게 튑니다(가운데 그림). 모든 기울기가 잔차 경로
      위의 정규화를 거쳐야 하기 때문입니다. 학습률 워밍업에 기대야 하고, 층이 깊어지면 세심하게 조정하지 않는 한 발산해서
      GPT-2는 정규화를 앞으로 옮겼습니다.
    - **RMSNorm**은 연산이 더 적고 bias도 없지만 LayerNorm만큼 잘합니다.
    - 피드포워드가 **넓을수록** 단계당 더 빨리 배웁니다(파라미터가 더 많으니까요). 파라미터가 같으면 대개 SwiGLU가 GELU보다
      조금 낫습니다.
    """),
    code("""
    for name in ["pre-LN, LayerNorm (GPT-2)", "no residuals"]:
        print(f"--- {name}")
        print(sd.generate(runs[name].model, tok, "JULIET:", max_new_tokens=120, temperature=0.8, seed=0))
    """),
    md("""
    ## What to take away

    - The block is data: norm placement, norm kind, residuals and the feed-forward are edges and settings of a graph,
      and `sd.check` can tell which is which.
    - Residual connections are what make deep stacks trainable; pre-LN keeps the stream un-normalised and the
      gradients tame.
    - RMSNorm and SwiGLU are the modern defaults: cheaper or better at the same parameter count.

    ## Exercises

    1. Run the residual ablation with `n_layer=8`. Does the gap to the baseline grow with depth?
    2. Train `post_ln(base())` with `warmup=1` and `lr=3e-3`. What happens to the loss and the gradient norm? Try
       the same with the pre-LN baseline.
    3. Remove the final norm `ln_f` (wire `add_2` straight to `lm_head`) in the pre-LN design. Why does a pre-LN
       model need it, and a post-LN one less so?
    4. Compare `geglu` and `swiglu` at hidden 170, and `relu` at 256.
    5. Keep the parameter count fixed (≈ the baseline) and trade width of the feed-forward for one more layer. Which
       spends the parameters better here?
    """, """
    ## 정리

    - 블록은 데이터입니다. 정규화의 위치와 종류, 잔차, 피드포워드는 그래프의 엣지와 설정이고, `sd.check`로 무엇이
      무엇인지 가려낼 수 있습니다.
    - 잔차 연결 덕분에 깊게 쌓은 층이 학습됩니다. pre-LN은 흐름을 정규화하지 않은 채로 두어 기울기를 얌전하게 유지합니다.
    - RMSNorm과 SwiGLU가 요즘의 기본값입니다. 같은 파라미터 수에서 더 싸거나 더 낫습니다.

    ## 연습 문제

    1. `n_layer=8`로 잔차 제거 실험을 해 보세요. 층이 깊어질수록 기준 모델과의 차이가 커지나요?
    2. `post_ln(base())`를 `warmup=1`, `lr=3e-3`으로 학습해 보세요. 손실과 기울기 크기는 어떻게 되나요? pre-LN 기준
       모델도 똑같이 해 보세요.
    3. pre-LN 설계에서 마지막 정규화 `ln_f`를 빼 보세요(`add_2`를 `lm_head`에 바로 연결). pre-LN 모델에는 왜 이것이
       필요하고, post-LN 모델에는 왜 덜 필요할까요?
    4. 은닉 170에서 `geglu`와 `swiglu`를, 은닉 256에서 `relu`를 비교해 보세요.
    5. 파라미터 수를 (기준 모델과 비슷하게) 고정하고 피드포워드 폭을 줄이는 대신 층을 하나 늘려 보세요. 여기서는 어느
       쪽이 파라미터를 더 잘 쓰나요?
    """),
]
