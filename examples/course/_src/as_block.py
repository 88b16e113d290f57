from .cells import md, setup, solution, task, tests

CELLS = [
    task("intro", """
    # Assignment: the transformer block

    Course notebook 4 rewired the block: post-LN, RMSNorm, a residual taken away, a gated feed-forward. Here you
    make each of those designs yourself, starting from a small GPT-2, by editing its graph.

    Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The locked
    cells after each task are the grader's: run them to see whether you pass. When you pass they show a ✔ line
    with what the grader found; when you do not, they stop with a sentence saying what is wrong.
    """, """
    # 과제: 트랜스포머 블록

    4장에서는 블록의 연결을 바꿔 보았습니다. post-LN, RMSNorm, 잔차 하나 빼기, 게이트가 있는 피드포워드. 이 과제에서는 작은
    GPT-2에서 시작해 그래프를 고쳐 이 설계들을 직접 만듭니다.

    `# YOUR CODE HERE`라고 적힌 셀을 모두 채우세요(`raise NotImplementedError()` 줄은 지우세요). 각 과제 뒤의 잠긴 셀은
    채점용입니다. 실행하면 통과 여부를 알 수 있습니다. 통과하면 채점기가 찾은 내용이 ✔ 줄로 나오고, 통과하지 못하면
    무엇이 잘못되었는지 한 문장으로 알려 주며 멈춥니다.
    """),
    setup("setup", """
    import slamdunk_lab as sd

    sd.check.set_language("en")  # the language of the grader's messages ("ko": Korean)


    def base():
        \"\"\"The starting design: a small pre-LN GPT-2 (LayerNorm, GELU feed-forward of 256 hidden units).\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=2, d_model=64, n_head=4, context=64, vocab_size=65)


    def wire(g, source, target, handle="in"):
        \"\"\"Add an edge from `source`'s output into `target`'s input `handle` ("in", or "a"/"b" of an add).\"\"\"
        g["edges"].append({"id": f"{source}->{target}.{handle}", "source": source, "target": target,
                           "sourceHandle": "out", "targetHandle": handle})


    # The block's edges, to start from: `add_1` adds attention's output (input b) to the stream (input a).
    for e in base()["edges"]:
        print(f"{e['source']:>8} → {e['target']}.{e['targetHandle']}")
    """, """
    import slamdunk_lab as sd

    sd.check.set_language("ko")  # 채점 메시지의 언어("en": 영어)


    def base():
        \"\"\"The starting design: a small pre-LN GPT-2 (LayerNorm, GELU feed-forward of 256 hidden units).\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=2, d_model=64, n_head=4, context=64, vocab_size=65)


    def wire(g, source, target, handle="in"):
        \"\"\"Add an edge from `source`'s output into `target`'s input `handle` ("in", or "a"/"b" of an add).\"\"\"
        g["edges"].append({"id": f"{source}->{target}.{handle}", "source": source, "target": target,
                           "sourceHandle": "out", "targetHandle": handle})


    # The block's edges, to start from: `add_1` adds attention's output (input b) to the stream (input a).
    for e in base()["edges"]:
        print(f"{e['source']:>8} → {e['target']}.{e['targetHandle']}")
    """),
    task("task1", """
    ## Task 1 (2 points): post-LN

    Rewire `post_design` as the original 2017 Transformer: each sub-layer (attention, feed-forward) reads the
    stream directly, and **each residual add is followed by its norm** (`add_1 → ln_1`, `add_2 → ln_2`). Keep
    every block; only the edges change. The design must still build.
    """, """
    ## 과제 1 (2점): post-LN

    `post_design`을 2017년 원조 Transformer처럼 다시 연결하세요. 각 하위 층(어텐션, 피드포워드)이 흐름을 바로 읽고, **잔차
    덧셈마다 바로 뒤에 정규화가 옵니다**(`add_1 → ln_1`, `add_2 → ln_2`). 블록은 모두 그대로 두고 엣지만 바꾸세요.
    설계는 여전히 만들어져야 합니다.
    """),
    solution("post_design", """
    post_design = base()
    ### BEGIN SOLUTION
    stream = next(e["source"] for e in post_design["edges"] if e["target"] == "ln_1")
    post_design["edges"] = [e for e in post_design["edges"]
                            if e["target"] not in {"ln_1", "attn", "add_1", "ln_2", "mlp", "add_2", "ln_f"}
                            and e["source"] not in {"ln_1", "add_1", "ln_2", "add_2"}]
    for source, target, handle in [(stream, "attn", "in"), (stream, "add_1", "a"), ("attn", "add_1", "b"),
                                   ("add_1", "ln_1", "in"), ("ln_1", "mlp", "in"), ("ln_1", "add_2", "a"),
                                   ("mlp", "add_2", "b"), ("add_2", "ln_2", "in"), ("ln_2", "ln_f", "in")]:
        wire(post_design, source, target, handle)
    ### END SOLUTION
    """),
    tests("test_post_design", 2, """
    sd.check.norms(post_design, placement="post").require()
    sd.check.builds(post_design).require()
    """),
    task("task2", """
    ## Task 2 (1 point): RMSNorm

    Make `rms_design` a pre-LN design whose norms are all **RMSNorm** (block type `"rmsNorm"`, whose only setting
    is `eps`).
    """, """
    ## 과제 2 (1점): RMSNorm

    `rms_design`을 모든 정규화가 **RMSNorm**(블록 종류 `"rmsNorm"`, 설정은 `eps` 하나뿐)인 pre-LN 설계로 만드세요.
    """),
    solution("rms_design", """
    rms_design = base()
    ### BEGIN SOLUTION
    for node in rms_design["nodes"]:
        if node["type"] == "layerNorm":
            node["type"], node["data"] = "rmsNorm", {"eps": 1e-5}
    ### END SOLUTION
    """),
    tests("test_rms_design", 1, """
    sd.check.norms(rms_design, kind="rmsNorm", placement="pre").require()
    """),
    task("task3", """
    ## Task 3 (2 points): the residual ablation

    Make `ablated` a copy of `base()` **without the attention's residual connection**: delete the `add_1` block, and
    let attention's output go where `add_1`'s output went. The feed-forward's residual (`add_2`) stays. The grader
    counts the residual connections that really skip.
    """, """
    ## 과제 3 (2점): 잔차 제거 실험

    `ablated`를 **어텐션의 잔차 연결이 없는** `base()`의 복사본으로 만드세요. `add_1` 블록을 지우고, `add_1`의 출력이
    가던 곳으로 어텐션의 출력이 가게 하세요. 피드포워드의 잔차(`add_2`)는 남겨 둡니다. 채점기는 실제로 건너뛰는 잔차
    연결의 수를 셉니다.
    """),
    solution("ablated", """
    ablated = base()
    ### BEGIN SOLUTION
    after = [e for e in ablated["edges"] if e["source"] == "add_1"]
    ablated["edges"] = [e for e in ablated["edges"] if "add_1" not in (e["source"], e["target"])]
    ablated["nodes"] = [n for n in ablated["nodes"] if n["id"] != "add_1"]
    for e in after:
        wire(ablated, "attn", e["target"], e["targetHandle"])
    ### END SOLUTION
    """),
    tests("test_ablated", 2, """
    sd.check.residuals(ablated, 1).require()
    sd.check.builds(ablated).require()
    """),
    task("task4", """
    ## Task 4 (2 points): SwiGLU at the same size

    Make `swiglu_design` a copy of `base()` whose feed-forward is **SwiGLU** (a gated activation: three weight
    matrices instead of two) with a hidden size chosen so that the whole model has the **same number of parameters
    as `base()`, within 1%**.
    """, """
    ## 과제 4 (2점): 같은 크기의 SwiGLU

    `swiglu_design`을 피드포워드가 **SwiGLU**(게이트 활성화: 가중치 행렬이 두 개가 아니라 세 개)인 `base()`의 복사본으로
    만들되, 모델 전체의 파라미터 수가 **`base()`와 1% 안에서 같도록** 은닉 크기를 고르세요.
    """),
    solution("swiglu_design", """
    swiglu_design = base()
    ### BEGIN SOLUTION
    for node in swiglu_design["nodes"]:
        if node["type"] == "feedForward":
            node["data"].update(activation="swiglu", hidden_dim=round(2 / 3 * 256))
    ### END SOLUTION
    """),
    tests("test_swiglu_design", 2, """
    sd.check.feed_forward(swiglu_design, gated=True, activation="swiglu").require()
    sd.check.answer(sd.analyze(swiglu_design).params, sd.analyze(base()).params, rel=0.01,
                    what="the parameters of swiglu_design").require()
    """),
    md("""
    ## Going further (not graded)

    Train `base()`, `post_design`, `rms_design` and `ablated` with `sd.train` on Tiny Shakespeare and plot their
    gradient norms (`run.history` rows of kind `"train"` have `grad_norm`). Which one needs the learning-rate
    warm-up most?
    """, """
    ## 더 해 보기 (채점하지 않음)

    `base()`, `post_design`, `rms_design`, `ablated`를 Tiny Shakespeare로 `sd.train` 학습하고 기울기 크기를 그려 보세요
    (`run.history`에서 종류가 `"train"`인 행에 `grad_norm`이 있습니다). 학습률 워밍업이 가장 필요한 것은 무엇인가요?
    """),
]
