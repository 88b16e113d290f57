from .cells import md, setup, solution, task, tests

CELLS = [
    task("intro", """
    # Assignment: attention heads and the KV cache

    Course notebook 3 compared multi-head, grouped-query and multi-query attention. Here you edit a design on the
    canvas, compute KV-cache sizes by hand, and let the grader train a multi-query model.

    Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The locked
    cells after each task are the grader's: run them to see whether you pass. When you pass they show a ✔ line
    with what the grader found; when you do not, they stop with a sentence saying what is wrong.

    The canvas saves your design to `designs/attention.json` as you edit it; hand that file in with the notebook.
    Its grey blocks with a lock (tokens, embedding, final norm, head, logits) are part of the assignment and cannot
    be changed.
    """, """
    # 과제: 어텐션 헤드와 KV 캐시

    3장에서는 멀티헤드, 그룹 쿼리, 멀티쿼리 어텐션을 비교했습니다. 이 과제에서는 캔버스에서 설계를 고치고, KV 캐시 크기를
    손으로 계산하고, 채점기가 멀티쿼리 모델을 학습하게 합니다.

    `# YOUR CODE HERE`라고 적힌 셀을 모두 채우세요(`raise NotImplementedError()` 줄은 지우세요). 각 과제 뒤의 잠긴 셀은
    채점용입니다. 실행하면 통과 여부를 알 수 있습니다. 통과하면 채점기가 찾은 내용이 ✔ 줄로 나오고, 통과하지 못하면
    무엇이 잘못되었는지 한 문장으로 알려 주며 멈춥니다.

    캔버스는 고칠 때마다 설계를 `designs/attention.json`에 저장합니다. 노트북과 함께 이 파일도 제출하세요. 자물쇠가 달린
    회색 블록(토큰, 임베딩, 마지막 정규화, 출력층, 로짓)은 과제의 일부라서 바꿀 수 없습니다.
    """),
    setup("setup", """
    import copy

    import slamdunk_lab as sd

    sd.check.set_language("en")  # the language of the grader's messages ("ko": Korean)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)

    # The starting design: a small Llama 2 with 8 query heads and multi-head attention (8 key/value heads).
    START = sd.template("llama2", size="tiny", n_layer=2, d_model=64, n_head=8, context=64, vocab_size=tok.vocab_size)
    LOCKED = ["tokens", "tok_emb", "ln_f", "lm_head", "logits"]
    TEMPLATE = copy.deepcopy(START)  # what the grader compares the locked blocks with
    for node in TEMPLATE["nodes"]:
        node["locked"] = node["id"] in LOCKED

    canvas = sd.Canvas("designs/attention.json", template=START, locked=LOCKED)
    canvas
    """, """
    import copy

    import slamdunk_lab as sd

    sd.check.set_language("ko")  # 채점 메시지의 언어("en": 영어)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)

    # The starting design: a small Llama 2 with 8 query heads and multi-head attention (8 key/value heads).
    START = sd.template("llama2", size="tiny", n_layer=2, d_model=64, n_head=8, context=64, vocab_size=tok.vocab_size)
    LOCKED = ["tokens", "tok_emb", "ln_f", "lm_head", "logits"]
    TEMPLATE = copy.deepcopy(START)  # what the grader compares the locked blocks with
    for node in TEMPLATE["nodes"]:
        node["locked"] = node["id"] in LOCKED

    canvas = sd.Canvas("designs/attention.json", template=START, locked=LOCKED)
    canvas
    """),
    task("task1", """
    ## Task 1 (2 points): grouped-query attention

    Make the design's attention **grouped-query** with **2 key/value heads**, keeping its 8 query heads. Do it on
    the canvas (select the attention block, change `n_kv_heads` in the inspector) and leave the cell below empty
    but for a comment, or do it in Python in the cell: edit a copy of `canvas.graph` and assign it back.
    """, """
    ## 과제 1 (2점): 그룹 쿼리 어텐션

    설계의 어텐션을 쿼리 헤드 8개는 그대로 두고 **키/값 헤드 2개**인 **그룹 쿼리** 어텐션으로 바꾸세요. 캔버스에서
    하거나(어텐션 블록을 고르고 인스펙터에서 `n_kv_heads`를 바꾼 뒤 아래 셀에는 주석만 남기기), 셀에서 파이썬으로 하세요
    (`canvas.graph`의 복사본을 고친 뒤 다시 대입).
    """),
    solution("gqa", """
    ### BEGIN SOLUTION
    graph = copy.deepcopy(canvas.graph)
    for node in graph["nodes"]:
        if node["type"] == "attention":
            node["data"]["n_kv_heads"] = 2
    canvas.graph = graph
    ### END SOLUTION
    """),
    tests("test_gqa", 2, """
    sd.check.attention(canvas, kind="gqa", n_heads=8, n_kv_heads=2).require()
    sd.check.locked_unchanged(canvas, TEMPLATE).require()
    """),
    task("task2", """
    ## Task 2 (2 points): the KV cache of your design, by hand

    How many **bytes** does the KV cache of the grouped-query design of Task 1 take for **one sequence of 64
    tokens in float32** (4 bytes per number)? The design has 2 layers, width 64 and 8 query heads. Write the
    arithmetic, not a call to `sd.check.kv_cache_bytes`.
    """, """
    ## 과제 2 (2점): 내 설계의 KV 캐시를 손으로 계산하기

    과제 1의 그룹 쿼리 설계에서 **float32(숫자 하나에 4바이트)로 64토큰짜리 시퀀스 하나**의 KV 캐시는 몇 **바이트**일까요?
    설계는 2층, 폭 64, 쿼리 헤드 8개입니다. `sd.check.kv_cache_bytes`를 부르지 말고 계산식을 쓰세요.
    """),
    solution("kv_bytes", """
    kv_bytes = None
    ### BEGIN SOLUTION
    head_dim = 64 // 8
    kv_bytes = 2 * 2 * 2 * head_dim * 64 * 4  # (keys, values) × layers × key/value heads × head_dim × tokens × bytes
    ### END SOLUTION
    """),
    tests("test_kv_bytes", 2, """
    expected = copy.deepcopy(START)
    for node in expected["nodes"]:
        if node["type"] == "attention":
            node["data"]["n_kv_heads"] = 2
    sd.check.answer(kv_bytes, sd.check.kv_cache_bytes(expected, context=64), what="kv_bytes").require()
    """),
    task("task3", """
    ## Task 3 (1 point): a real model

    Llama 3 8B has 32 layers, 32 query heads, 8 key/value heads and head_dim 128. How many **GiB** (2³⁰ bytes)
    does its KV cache take for one sequence of **8,192 tokens in bfloat16** (2 bytes per number)? Put the number
    in `llama3_gib`.
    """, """
    ## 과제 3 (1점): 실제 모델

    Llama 3 8B는 32층, 쿼리 헤드 32개, 키/값 헤드 8개, head_dim 128입니다. **bfloat16(숫자 하나에 2바이트)으로
    8,192토큰** 시퀀스 하나의 KV 캐시는 몇 **GiB**(2³⁰바이트)일까요? `llama3_gib`에 넣으세요.
    """),
    solution("llama3_gib", """
    llama3_gib = None
    ### BEGIN SOLUTION
    llama3_gib = 2 * 32 * 8 * 128 * 8192 * 2 / 2**30
    ### END SOLUTION
    """),
    tests("test_llama3_gib", 1, """
    big = sd.check.kv_cache_bytes(sd.template("llama3", size="8B"), context=8192, dtype="bfloat16")
    sd.check.answer(llama3_gib, big / 2**30, what="llama3_gib").require()
    """),
    task("task4", """
    ## Task 4 (2 points): multi-query attention still learns

    Make `mqa_design` a copy of your canvas design with **multi-query** attention (one key/value head shared by
    all 8 query heads). The grader trains a fresh copy for 150 steps and measures its loss on held-out
    Shakespeare: it must reach **2.5**, which the multi-head model also reaches — sharing keys and values costs
    little.
    """, """
    ## 과제 4 (2점): 멀티쿼리 어텐션도 배운다

    `mqa_design`을 캔버스 설계의 복사본으로 만들되, 어텐션을 **멀티쿼리**(쿼리 헤드 8개가 키/값 헤드 하나를 공유)로
    바꾸세요. 채점기가 새로 만들어 150단계 학습하고 학습에 쓰지 않은 셰익스피어 텍스트로 손실을 잽니다. **2.5** 이하가
    되어야 하는데, 멀티헤드 모델도 이 값에 닿습니다. 키와 값을 공유해도 잃는 것이 적습니다.
    """),
    solution("mqa_design", """
    mqa_design = copy.deepcopy(canvas.graph)
    ### BEGIN SOLUTION
    for node in mqa_design["nodes"]:
        if node["type"] == "attention":
            node["data"]["n_kv_heads"] = 1
    ### END SOLUTION
    """),
    tests("test_mqa_trains", 2, """
    sd.check.attention(mqa_design, kind="mqa", n_heads=8).require()
    sd.check.trains_to(mqa_design, corpus, tok, val_loss=2.5, steps=150, seconds=120, lr=2e-3,
                       eval_batches=10).require()
    """),
    md("""
    ## Going further (not graded)

    Train the multi-head, grouped-query and multi-query designs with `sd.train` for 1,000 steps and compare their
    validation losses and `sd.check.kv_cache_bytes`. Open `sd.Playground(run.model, tok)` on the best one and find
    a head that looks at the previous character.
    """, """
    ## 더 해 보기 (채점하지 않음)

    멀티헤드, 그룹 쿼리, 멀티쿼리 설계를 `sd.train`으로 1,000단계 학습하고 검증 손실과 `sd.check.kv_cache_bytes`를 비교해
    보세요. 가장 좋은 모델로 `sd.Playground(run.model, tok)`를 열고 바로 앞 글자를 보는 헤드를 찾아보세요.
    """),
]
