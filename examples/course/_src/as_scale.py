from .cells import md, setup, solution, task, tests

CELLS = [
    task("intro", """
    # Assignment: scale

    Course notebook 5 counted parameters and FLOPs and trained a sweep of sizes. Here you count by hand, estimate
    the compute of a training run, and design the best model you can under a parameter budget.

    Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The locked
    cells after each task are the grader's: run them to see whether you pass. When you pass they show a ✔ line
    with what the grader found; when you do not, they stop with a sentence saying what is wrong.
    """, """
    # 과제: 규모

    5장에서는 파라미터와 FLOPs를 세고 여러 크기의 모델을 학습했습니다. 이 과제에서는 손으로 세고, 학습 한 번의 연산량을
    어림하고, 파라미터 예산 안에서 가장 좋은 모델을 설계합니다.

    `# YOUR CODE HERE`라고 적힌 셀을 모두 채우세요(`raise NotImplementedError()` 줄은 지우세요). 각 과제 뒤의 잠긴 셀은
    채점용입니다. 실행하면 통과 여부를 알 수 있습니다. 통과하면 채점기가 찾은 내용이 ✔ 줄로 나오고, 통과하지 못하면
    무엇이 잘못되었는지 한 문장으로 알려 주며 멈춥니다.
    """),
    setup("setup", """
    import slamdunk_lab as sd

    sd.check.set_language("en")  # the language of the grader's messages ("ko": Korean)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)  # 65 characters


    def design(d_model, n_layer):
        \"\"\"A small GPT-2: learned positions, pre-LN, GELU feed-forward 4 × d_model, head tied to the embedding.\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=n_layer, d_model=d_model, n_head=4, context=64,
                           vocab_size=tok.vocab_size)
    """, """
    import slamdunk_lab as sd

    sd.check.set_language("ko")  # 채점 메시지의 언어("en": 영어)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)  # 65 characters


    def design(d_model, n_layer):
        \"\"\"A small GPT-2: learned positions, pre-LN, GELU feed-forward 4 × d_model, head tied to the embedding.\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=n_layer, d_model=d_model, n_head=4, context=64,
                           vocab_size=tok.vocab_size)
    """),
    task("task1", """
    ## Task 1 (2 points): parameters by hand

    Count the parameters of `design(64, 2)` by hand and put the number in `params_by_hand`. It has: a token
    embedding (65 × 64) and a learned positional table (64 positions × 64); in each of the 2 layers two LayerNorms
    (a weight and a bias of 64 each), attention (query, key and value projections 64 → 64 each and an output
    projection 64 → 64, every one with a bias) and a feed-forward (64 → 256 → 64, with biases); a final LayerNorm;
    and an output head tied to the token embedding (no parameters of its own). Do not call `sd.analyze`.
    """, """
    ## 과제 1 (2점): 파라미터를 손으로 세기

    `design(64, 2)`의 파라미터를 손으로 세서 `params_by_hand`에 넣으세요. 구성은 이렇습니다. 토큰 임베딩(65 × 64)과
    학습되는 위치 표(위치 64개 × 64); 2개 층 각각에 LayerNorm 두 개(각각 weight와 bias 64개), 어텐션(쿼리, 키, 값 투영이
    각각 64 → 64, 출력 투영 64 → 64, 모두 bias 있음), 피드포워드(64 → 256 → 64, bias 있음); 마지막 LayerNorm; 그리고
    토큰 임베딩과 묶인 출력층(자기 파라미터 없음). `sd.analyze`를 부르지 마세요.
    """),
    solution("params_by_hand", """
    params_by_hand = None
    ### BEGIN SOLUTION
    d, V, C, L = 64, 65, 64, 2
    embeddings = V * d + C * d
    norms = 2 * (2 * d)
    attention = 4 * (d * d + d)
    feed_forward = (d * 4 * d + 4 * d) + (4 * d * d + d)
    params_by_hand = embeddings + L * (norms + attention + feed_forward) + 2 * d
    ### END SOLUTION
    """),
    tests("test_params_by_hand", 2, """
    sd.check.answer(params_by_hand, sd.analyze(design(64, 2)).params, rel=0, what="params_by_hand").require()
    """),
    task("task2", """
    ## Task 2 (1 point): the compute of a training run

    Estimate the FLOPs of training `design(64, 2)` for **1,000 steps** at **batch 16 × context 64** with the rule
    of thumb *6 × parameters × tokens*, and put it in `train_flops`. (The grader accepts 15% either way of what
    `sd.analyze` counts exactly: the rule leaves out attention's scores and the tied head.)
    """, """
    ## 과제 2 (1점): 학습 한 번의 연산량

    `design(64, 2)`를 **배치 16 × 컨텍스트 64**로 **1,000단계** 학습하는 FLOPs를 *6 × 파라미터 수 × 토큰 수* 어림셈으로
    계산해 `train_flops`에 넣으세요. (채점기는 `sd.analyze`가 정확히 센 값의 위아래 15%까지 인정합니다. 어림셈은 어텐션
    점수와 묶인 출력층을 빠뜨리니까요.)
    """),
    solution("train_flops", """
    train_flops = None
    ### BEGIN SOLUTION
    train_flops = 6 * sd.analyze(design(64, 2)).params * 1000 * 16 * 64
    ### END SOLUTION
    """),
    tests("test_train_flops", 1, """
    exact = sd.analyze(design(64, 2), batch_size=16, context=64).train_flops_per_token * 1000 * 16 * 64
    sd.check.answer(train_flops, exact, rel=0.15, what="train_flops").require()
    """),
    task("task3", """
    ## Task 3 (3 points): the best model for a budget

    Design `budget_design`: **at most 120,000 parameters**, context 64, the 65-character vocabulary. The grader
    trains a fresh copy for **200 steps** (batch 12 × 64, learning rate 2e-3, fixed seed) and measures its loss on
    held-out Shakespeare: it must reach **2.4**. `design(64, 2)` as it is stays near 2.5 — use what the course taught
    you about widths, depth and positions (any block of the library is allowed).
    """, """
    ## 과제 3 (3점): 예산 안에서 가장 좋은 모델

    `budget_design`을 설계하세요. 조건은 **파라미터 120,000개 이하**, 컨텍스트 64, 65글자 어휘입니다. 채점기가 새로 만들어
    **200단계**(배치 12 × 64, 학습률 2e-3, 고정된 시드) 학습하고 학습에 쓰지 않은 셰익스피어 텍스트로 손실을 잽니다.
    **2.4** 이하가 되어야 합니다. `design(64, 2)`를 그대로 쓰면 2.5 근처에 머뭅니다. 폭, 깊이, 위치 정보에 대해 이 과정에서
    배운 것을 써 보세요(라이브러리의 어떤 블록이든 써도 됩니다).
    """),
    solution("budget_design", """
    budget_design = design(32, 1)
    ### BEGIN SOLUTION
    budget_design = design(64, 2)
    for node in budget_design["nodes"]:  # RoPE instead of the learned table: faster learning, 4,096 fewer parameters
        if node["type"] == "positionalEmbedding":
            node["data"]["kind"] = "none"
        if node["type"] == "attention":
            node["data"]["rope"] = True
    ### END SOLUTION
    """),
    tests("test_budget_design", 3, """
    sd.check.max_params(budget_design, 120_000).require()
    sd.check.trains_to(budget_design, corpus, tok, val_loss=2.4, steps=200, seconds=150, lr=2e-3,
                       eval_batches=10).require()
    """),
    md("""
    ## Going further (not graded)

    Sweep five designs under the same budget (wider and shallower, narrower and deeper, with and without RoPE) and
    plot their held-out loss after 200 steps against their training FLOPs. Which one is on the frontier?
    """, """
    ## 더 해 보기 (채점하지 않음)

    같은 예산 안에서 설계 다섯 개(넓고 얕게, 좁고 깊게, RoPE 있이/없이)를 학습하고 200단계 뒤의 검증 손실을 학습 FLOPs에
    대해 그려 보세요. 프런티어에 있는 것은 어느 것인가요?
    """),
]
