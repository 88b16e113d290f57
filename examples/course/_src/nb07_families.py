from .cells import code, md

CELLS = [
    md("""
    # 7. Families: GPT-2 → Llama → Qwen3 → SmolLM3

    The decoders people use today are not new architectures; they are the GPT-2 block with a handful of changes,
    each made for a reason. In SLaM Dunk Lab every family is the *same graph* with different data, so the history
    of the last six years fits in a few diffs. In this notebook you will:

    - print what changes from one family to the next, and read why;
    - open a design on the canvas, bound to a file, and turn one family into the next by editing it;
    - compare the published sizes with their parameter counts;
    - train a tiny Qwen3, **export it to Hugging Face** and load it with `transformers`, getting the same logits.
    """, """
    # 7. 모델 계열: GPT-2 → Llama → Qwen3 → SmolLM3

    오늘날 쓰이는 디코더는 새로운 구조가 아닙니다. GPT-2 블록에 몇 가지를, 저마다 이유가 있어서 바꾼 것입니다. SLaM Dunk
    Lab에서는 모든 계열이 *같은 그래프*에 데이터만 다르므로, 지난 6년의 역사가 diff 몇 개에 들어갑니다. 이 노트북에서는

    - 한 계열에서 다음 계열로 무엇이 바뀌는지 출력하고 그 이유를 읽어 봅니다;
    - 파일에 연결된 캔버스에서 설계를 열고, 고쳐서 한 계열을 다음 계열로 바꿔 봅니다;
    - 공개된 크기들과 그 파라미터 수를 비교합니다;
    - 작은 Qwen3를 학습해 **Hugging Face 형식으로 내보내고** `transformers`로 불러와 같은 로짓이 나오는지 확인합니다.
    """),
    code("""
    import copy
    import itertools
    import json
    import os

    import matplotlib.pyplot as plt
    import torch

    import slamdunk_lab as sd

    # Training steps. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "400"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)
    FAMILIES = ["gpt2", "llama2", "llama3", "qwen3", "smollm3"]
    """),
    md("""
    ## One design, five families

    `describe(g)` reads the settings that make a family from a design: the norm, where positions come from, how
    attention shares keys and values, the feed-forward, biases, and whether the output head is tied to the
    embedding.
    """, """
    ## 하나의 설계, 다섯 계열

    `describe(g)`는 설계에서 계열을 가르는 설정을 읽습니다. 정규화, 위치 정보의 출처, 어텐션이 키와 값을 공유하는 방식,
    피드포워드, bias, 그리고 출력층이 임베딩과 묶여 있는지입니다.
    """),
    code("""
    def describe(g):
        nodes = {n["id"]: n for n in g["nodes"]}
        attn, mlp = nodes["attn"]["data"], nodes["mlp"]["data"]
        pos = nodes.get("pos_emb")
        rope = ""
        if attn["rope"]:
            rope = f"RoPE base {attn['rope_base']:g}" + (f", {attn['rope_scaling']} scaling" if attn["rope_scaling"] != "none" else "")
            rope += f", none in every {attn['no_rope_every']}th layer" if attn["no_rope_every"] else ""
        return {
            "norm": nodes["ln_1"]["type"],
            "positions": pos["data"]["kind"] + " embedding" if pos and pos["data"]["kind"] != "none" else rope,
            "key/value heads": f"{attn['n_kv_heads'] or attn['n_heads']} of {attn['n_heads']}",
            "QK-norm": attn["qk_norm"],
            "head_dim": attn["head_dim"] or "width / heads",
            "feed-forward": mlp["activation"],
            "biases": attn["qkv_bias"] or mlp["bias"],
            "tied head": nodes["lm_head"]["data"]["tie_weights"],
        }


    tiny = {f: sd.template(f, size="tiny") for f in FAMILIES}
    for old, new in itertools.pairwise(FAMILIES):
        a, b = describe(tiny[old]), describe(tiny[new])
        print(f"{old} → {new}:")
        for key in a:
            if a[key] != b[key]:
                print(f"    {key}: {a[key]} → {b[key]}")
    """),
    md("""
    Why each change:

    - **GPT-2 → Llama 2**: *RMSNorm* (no mean, no bias: cheaper, as good); *RoPE* instead of a learned table (relative
      positions, no hard length limit in the weights); *SwiGLU* (a gated feed-forward learns better per parameter);
      *no biases* (they add little and complicate scaling); an *untied* output head (at 7B the embedding is a small
      share, and untying helps).
    - **Llama 2 → Llama 3**: *grouped-query attention* (8 key/value heads for 32 query heads: a 4× smaller KV
      cache, notebook 3); RoPE base 500,000 and *frequency scaling* to stretch the context to 128k tokens.
    - **Llama 3 → Qwen3**: *QK-norm* (an RMSNorm on queries and keys keeps attention logits from blowing up,
      so training is stable at high learning rates); head_dim set on its own (128, not width ÷ heads); a tied head
      for the small sizes.
    - **Qwen3 → SmolLM3**: *NoPE layers* — every fourth layer has no RoPE at all, which helps with long contexts
      (notebook 2 showed a causal model still learns order without positions).
    """, """
    바뀐 이유:

    - **GPT-2 → Llama 2**: *RMSNorm*(평균도 bias도 없어 더 싸고, 성능은 같음); 학습되는 표 대신 *RoPE*(상대 위치,
      가중치에 길이 한계가 박히지 않음); *SwiGLU*(게이트가 있는 피드포워드가 파라미터당 더 잘 배움); *bias 없음*(얻는 것이
      적고 규모를 키울 때 번거로움); 출력층 *묶지 않음*(7B에서는 임베딩 비중이 작고, 풀어 주는 편이 도움이 됨).
    - **Llama 2 → Llama 3**: *그룹 쿼리 어텐션*(쿼리 헤드 32개에 키/값 헤드 8개: KV 캐시가 4분의 1로, 3장 참고); RoPE
      base 500,000과 *주파수 스케일링*으로 컨텍스트를 128k 토큰까지 늘림.
    - **Llama 3 → Qwen3**: *QK-norm*(쿼리와 키에 RMSNorm을 걸어 어텐션 로짓이 폭주하지 않게 하므로 높은 학습률에서도
      학습이 안정적); head_dim을 따로 정함(폭 ÷ 헤드 수가 아니라 128); 작은 크기에서는 출력층을 묶음.
    - **Qwen3 → SmolLM3**: *NoPE 층*. 네 번째 층마다 RoPE를 아예 쓰지 않는데, 긴 컨텍스트에 도움이 됩니다(2장에서 인과
      모델은 위치 정보 없이도 순서를 배운다는 것을 보았습니다).
    """),
    md("""
    ## On the canvas

    `sd.Canvas("designs/family.json", template="qwen3", size="tiny")` opens a design bound to a file: it starts
    from the template the first time, saves every change to the file, and opens the file again next time (also
    after a restart). Edit it on the canvas or from Python; here we turn the Qwen3 into a SmolLM3 and diff what is
    left.
    """, """
    ## 캔버스에서

    `sd.Canvas("designs/family.json", template="qwen3", size="tiny")`는 파일에 연결된 설계를 엽니다. 처음에는 템플릿에서
    시작하고, 바뀔 때마다 파일에 저장하며, 다음에는(커널을 다시 시작한 뒤에도) 그 파일을 다시 엽니다. 캔버스에서 고쳐도
    되고 파이썬에서 고쳐도 됩니다. 여기서는 Qwen3를 SmolLM3로 바꾸고 남은 차이를 봅니다.
    """),
    code("""
    canvas = sd.Canvas("designs/family.json", template="qwen3", size="tiny")
    canvas
    """),
    code("""
    graph = copy.deepcopy(canvas.graph)  # edit a copy: assigning the very same dict back would look like no change
    for node in graph["nodes"]:
        if node["id"] == "attn":
            node["data"].update(qk_norm=False, head_dim=None, no_rope_every=4, rope_base=5_000_000.0)
    canvas.graph = graph  # the canvas redraws, re-analyses and saves designs/family.json

    a, b = describe(canvas.graph), describe(tiny["smollm3"])
    print("still different from SmolLM3:", {k: (a[k], b[k]) for k in a if a[k] != b[k]} or "nothing")
    with open("designs/family.json", encoding="utf-8") as f:
        saved = json.load(f)
    print("designs/family.json now holds:", describe(saved.get("graph", saved))["positions"])
    """),
    md("""
    ## The published sizes

    Each template also comes in its published size, with the parameter count of the released model — computed
    here from the graph, without weights. The picture shows where those parameters go: grouped-query attention
    shrinks attention's share (Llama 3, Qwen3, SmolLM3), and at small sizes a big vocabulary makes the embedding a
    large part of the model (Qwen3-0.6B: 152k tokens).
    """, """
    ## 공개된 크기

    템플릿마다 공개된 크기도 있고, 파라미터 수는 배포된 모델과 같습니다. 가중치 없이 그래프에서 계산한 값입니다. 그림은
    그 파라미터가 어디에 쓰이는지 보여 줍니다. 그룹 쿼리 어텐션 덕분에 어텐션의 몫이 줄고(Llama 3, Qwen3, SmolLM3), 작은
    모델에서는 어휘가 크면 임베딩이 모델의 큰 부분을 차지합니다(Qwen3-0.6B: 토큰 15만 2천 개).
    """),
    code("""
    PARTS = {"tokenEmbedding": "embedding", "positionalEmbedding": "embedding", "lmHead": "output head",
             "attention": "attention", "feedForward": "feed-forward"}
    shares = {}
    for row in sd.templates():
        if row["default"]:
            a = sd.analyze(sd.template(row["name"]))
            match = "=" if a.params == row["published_params"] else "≠"
            print(f"{row['family']:>8} {row['size']:>5}: {a.params:>14,} parameters {match} published, "
                  f"{a.n_layers} layers — {row['hf_id']}")
            parts = dict.fromkeys(PARTS.values(), 0)
            for node in a.nodes.values():
                if node.type in PARTS:
                    parts[PARTS[node.type]] += node.params
            shares[f"{row['family']} {row['size']}"] = {k: v / a.params for k, v in parts.items()}

    fig, ax = plt.subplots(figsize=(8, 3))
    left = [0.0] * len(shares)
    for part in PARTS.values():
        widths = [s[part] for s in shares.values()]
        ax.barh(list(shares), widths, left=left, label=part)
        left = [a + b for a, b in zip(left, widths)]
    ax.set(xlabel="share of parameters", title="where the parameters of the published models go")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower right")
    plt.show()
    """),
    md("""
    ## Export to Hugging Face

    A tiny Qwen3 trained on Shakespeare, then `sd.export_hf` writes a folder that the `transformers` library
    loads as a `Qwen3ForCausalLM`, with the tokenizer. `transformers` is not needed by SLaM Dunk Lab itself; if it
    is missing, the cell says how to install it.
    """, """
    ## Hugging Face로 내보내기

    셰익스피어로 학습한 작은 Qwen3를 `sd.export_hf`로 내보내면, `transformers` 라이브러리가 토크나이저와 함께
    `Qwen3ForCausalLM`으로 불러올 수 있는 폴더가 됩니다. SLaM Dunk Lab 자체에는 `transformers`가 필요 없습니다. 설치되어
    있지 않으면 셀이 설치 방법을 알려 줍니다.
    """),
    code("""
    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    g = sd.template("qwen3", size="tiny", n_layer=2, d_model=64, n_head=4, n_kv_head=2, context=64,
                    vocab_size=tok.vocab_size)
    run = sd.train(g, corpus, tok, steps=STEPS, batch_size=16, context=64, lr=2e-3, warmup=max(STEPS // 10, 1),
                   eval_every=max(STEPS // 4, 5), eval_batches=EVAL_BATCHES, sample_every=0, checkpoint_every=0,
                   keep_checkpoints=1, mlflow=False, background=False, progress=False, monitor=False)
    path = sd.export_hf(run.model, "models/tiny-qwen3-hf", tokenizer=tok, overwrite=True)
    print(sorted(p.name for p in path.iterdir()))
    """),
    code("""
    try:
        import transformers
    except ImportError:
        transformers = None
        print("transformers is not installed here. Install it with `pip install transformers` "
              "(in a notebook: `%pip install transformers`), restart the kernel and run this cell again.")

    if transformers is not None:
        hf_model = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
        hf_tok = transformers.AutoTokenizer.from_pretrained(path)
        prompt = "ROMEO:\\nWhat"
        ids = hf_tok(prompt, return_tensors="pt").input_ids
        print(type(hf_model).__name__, "| same token ids:", ids[0].tolist() == tok.encode(prompt))
        with torch.no_grad():
            diff = (hf_model(ids).logits - run.model.eval()(ids)).abs().max().item()
        print(f"largest logit difference from our model: {diff:.2e}")
        out = hf_model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=40, do_sample=False,
                                pad_token_id=hf_model.generation_config.eos_token_id)
        hf_text = hf_tok.decode(out[0, ids.shape[1]:])
        print("same greedy text as sd.generate:", hf_text == sd.generate(run.model, tok, prompt, max_new_tokens=40,
                                                                         temperature=0))
        print(prompt + hf_text)
    """),
    md("""
    The same weights give the same logits in both libraries: your design is a real Qwen3, and everything that
    reads Hugging Face models (the `pipeline`, quantisers, serving stacks) can use it.

    ## What to take away

    - GPT-2, Llama, Qwen3 and SmolLM3 are one block with different choices: norm, positions, key/value sharing,
      feed-forward, biases, tying, QK-norm, NoPE layers.
    - Each change has a reason you met in notebooks 2–6: stability, KV-cache memory, parameters spent better,
      longer contexts.
    - A design made here exports to the Hugging Face format when its family can express it.

    ## Exercises

    1. Turn the canvas design into a Llama 2 instead (which settings?) and check it with `describe`.
    2. Train tiny versions of all five families with the same width, layers and steps. Rank them by validation
       loss. Does the ranking match the history?
    3. Try to export a GPT-2 with RMSNorm (`sd.export_hf`). What does the error say, and why?
    4. How much smaller is the KV cache of SmolLM3-3B than that of the same model with 16 key/value heads, at
       65,536 tokens in bfloat16? (`sd.check.kv_cache_bytes`)
    5. Load the exported folder with `transformers.pipeline("text-generation", model=str(path))` and generate.
    """, """
    같은 가중치가 두 라이브러리에서 같은 로짓을 냅니다. 내 설계가 진짜 Qwen3이고, Hugging Face 모델을 읽는 모든 도구
    (`pipeline`, 양자화 도구, 서빙 스택)에서 쓸 수 있다는 뜻입니다.

    ## 정리

    - GPT-2, Llama, Qwen3, SmolLM3는 하나의 블록에 다른 선택을 한 것입니다. 정규화, 위치 정보, 키/값 공유,
      피드포워드, bias, 가중치 묶기, QK-norm, NoPE 층.
    - 바뀐 것마다 2~6장에서 본 이유가 있습니다. 안정성, KV 캐시 메모리, 파라미터를 더 잘 쓰기, 더 긴 컨텍스트.
    - 여기서 만든 설계는 그 계열이 표현할 수 있으면 Hugging Face 형식으로 내보낼 수 있습니다.

    ## 연습 문제

    1. 캔버스의 설계를 Llama 2로 바꿔 보세요(어떤 설정을 바꿔야 하나요?). `describe`로 확인하세요.
    2. 다섯 계열 모두 같은 폭, 층 수, 학습 단계로 작게 학습하고 검증 손실로 순위를 매겨 보세요. 순위가 역사와 맞나요?
    3. RMSNorm을 쓰는 GPT-2를 내보내 보세요(`sd.export_hf`). 오류가 무엇이라고 하나요? 왜일까요?
    4. 65,536토큰, bfloat16에서 SmolLM3-3B의 KV 캐시는 같은 모델에 키/값 헤드가 16개일 때보다 얼마나 작나요?
       (`sd.check.kv_cache_bytes`)
    5. 내보낸 폴더를 `transformers.pipeline("text-generation", model=str(path))`로 불러와 생성해 보세요.
    """),
]
