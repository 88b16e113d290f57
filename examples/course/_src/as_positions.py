from .cells import md, setup, solution, task, tests

CELLS = [
    task("intro", """
    # Assignment: positions

    Course notebook 2 trained the same model with different sources of word order. Here you build two of those
    designs yourself, work out one number by hand, and let the grader train your RoPE design.

    Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The locked
    cells after each task are the grader's: run them to see whether you pass. When you pass they show a ✔ line
    with what the grader found; when you do not, they stop with a sentence saying what is wrong.
    """, """
    # 과제: 위치 정보

    2장에서는 같은 모델을 어순 정보의 출처만 바꿔 가며 학습했습니다. 이 과제에서는 그 설계 중 두 가지를 직접 만들고,
    숫자 하나를 손으로 계산하고, 채점기가 여러분의 RoPE 설계를 학습하게 합니다.

    `# YOUR CODE HERE`라고 적힌 셀을 모두 채우세요(`raise NotImplementedError()` 줄은 지우세요). 각 과제 뒤에 오는 잠긴
    채점용입니다. 실행하면 통과 여부를 알 수 있습니다. 통과하면 채점기가 찾은 내용이 ✔ 줄로 나오고, 통과하지 못하면
    무엇이 잘못되었는지 한 문장으로 알려 주며 멈춥니다.
    """),
    setup("setup", """
    import slamdunk_lab as sd

    sd.check.set_language("en")  # the language of the grader's messages ("ko": Korean)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)


    def base():
        \"\"\"The starting design: a small GPT-2 (learned positional embedding, no RoPE).\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=2, d_model=64, n_head=4, context=64, vocab_size=tok.vocab_size)
    """, """
    import slamdunk_lab as sd

    sd.check.set_language("ko")  # 채점 메시지의 언어("en": 영어)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)


    def base():
        \"\"\"The starting design: a small GPT-2 (learned positional embedding, no RoPE).\"\"\"
        return sd.template("gpt2", size="tiny", n_layer=2, d_model=64, n_head=4, context=64, vocab_size=tok.vocab_size)
    """),
    task("task1", """
    ## Task 1 (2 points): RoPE instead of a learned table

    Change `rope_design` (a copy of `base()`) so that word order comes from **RoPE** alone: the attention block's
    `rope` setting on, and the positional-embedding block's `kind` set to `"none"` (RoPE needs no table, so its
    parameters should be gone).
    """, """
    ## 과제 1 (2점): 학습되는 표 대신 RoPE

    `rope_design`(`base()`의 복사본)을 고쳐서 어순 정보가 **RoPE**에서만 오게 하세요. 어텐션 블록의 `rope` 설정을 켜고,
    위치 임베딩 블록의 `kind`를 `"none"`으로 바꾸면 됩니다(RoPE에는 표가 필요 없으니 그 파라미터가 없어져야 합니다).
    """),
    solution("rope_design", """
    rope_design = base()
    ### BEGIN SOLUTION
    for node in rope_design["nodes"]:
        if node["type"] == "positionalEmbedding":
            node["data"]["kind"] = "none"
        if node["type"] == "attention":
            node["data"]["rope"] = True
    ### END SOLUTION
    """),
    tests("test_rope_design", 2, """
    sd.check.positions(rope_design, "rope").require()
    sd.check.max_params(rope_design, sd.analyze(base()).params - sd.analyze(base()).nodes["pos_emb"].params).require()
    """),
    task("task2", """
    ## Task 2 (1 point): no positions at all

    Make `nope_design` a copy of `base()` with **no** source of position: no positional embedding, no RoPE, no
    position bias.
    """, """
    ## 과제 2 (1점): 위치 정보 전혀 없음

    `nope_design`을 위치 정보의 출처가 **하나도 없는** `base()`의 복사본으로 만드세요. 위치 임베딩도, RoPE도, 위치 편향도
    없어야 합니다.
    """),
    solution("nope_design", """
    nope_design = base()
    ### BEGIN SOLUTION
    for node in nope_design["nodes"]:
        if node["type"] == "positionalEmbedding":
            node["data"]["kind"] = "none"
    ### END SOLUTION
    """),
    tests("test_nope_design", 1, """
    sd.check.positions(nope_design, "none").require()
    sd.check.builds(nope_design).require()
    """),
    task("task3", """
    ## Task 3 (1 point): the size of the learned table

    How many parameters does the learned positional embedding of `base()` have? Work it out from the design's
    settings (context 64, width 64) and put the number in `table_params` — do not read it from `sd.analyze`.
    """, """
    ## 과제 3 (1점): 학습되는 표의 크기

    `base()`의 학습되는 위치 임베딩에는 파라미터가 몇 개 있을까요? 설계의 설정(컨텍스트 64, 폭 64)으로 계산해서
    `table_params`에 넣으세요. `sd.analyze`에서 읽어 오지 마세요.
    """),
    solution("table_params", """
    table_params = None
    ### BEGIN SOLUTION
    table_params = 64 * 64  # one trained vector of width 64 for each of the 64 positions
    ### END SOLUTION
    """),
    tests("test_table_params", 1, """
    sd.check.answer(table_params, sd.analyze(base()).nodes["pos_emb"].params, what="table_params").require()
    """),
    task("task4", """
    ## Task 4 (2 points): RoPE learns faster

    The grader trains a fresh copy of your `rope_design` for 150 steps (fixed seed) and measures its loss on
    Shakespeare it never trained on. It must reach **2.45**; the learned-position `base()` stays above 2.5 in the
    same 150 steps. Nothing to write here: run the cell (it takes a few seconds). If it fails, look at Task 1 again.
    """, """
    ## 과제 4 (2점): RoPE가 더 빨리 배운다

    채점기가 여러분의 `rope_design`을 새로 만들어 150단계(고정된 시드) 학습하고, 학습에 쓰지 않은 셰익스피어 텍스트로
    손실을 잽니다. **2.45** 이하가 되어야 합니다. 학습되는 위치를 쓰는 `base()`는 같은 150단계 뒤에도 2.5보다 높습니다.
    여기서는 쓸 것이 없습니다. 셀을 실행하세요(몇 초 걸립니다). 통과하지 못하면 과제 1을 다시 보세요.
    """),
    tests("test_rope_trains", 2, """
    sd.check.positions(rope_design, "rope").require()
    sd.check.trains_to(rope_design, corpus, tok, val_loss=2.45, steps=150, seconds=120, lr=2e-3,
                       eval_batches=10).require()
    """),
    md("""
    ## Going further (not graded)

    Train `base()`, `rope_design` and `nope_design` yourself with `sd.train` and plot their validation losses. Is
    the model without positions closer to the learned one or to RoPE? Notebook 2 explains why.
    """, """
    ## 더 해 보기 (채점하지 않음)

    `base()`, `rope_design`, `nope_design`을 `sd.train`으로 직접 학습하고 검증 손실을 그려 보세요. 위치 정보가 없는
    모델은 학습되는 위치 쪽에 가까운가요, RoPE 쪽에 가까운가요? 2장에 이유가 있습니다.
    """),
]
