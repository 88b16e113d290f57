from .cells import code, md

CELLS = [
    md("""
    # 6. Sampling: from probabilities to text

    A trained model does not write text; it gives, for the next token, a probability for every token of the
    vocabulary. **Sampling** turns those probabilities into text, one token at a time, and its settings change the
    text as much as the model does. In this notebook you train a small model and then:

    - look at its **next-token probabilities**;
    - change the **temperature** and see the distribution sharpen or flatten;
    - cut the tail with **top-k** and **top-p** (nucleus) sampling;
    - stop loops with a **repetition penalty**;
    - measure what the **KV cache** saves: generation with and without it.
    """, """
    # 6. 샘플링: 확률에서 텍스트로

    학습된 모델이 텍스트를 쓰는 것은 아닙니다. 모델은 다음 토큰에 대해 어휘의 모든 토큰마다 확률을 줄 뿐입니다.
    **샘플링**은 이 확률을 한 번에 토큰 하나씩 텍스트로 바꾸는 일이고, 그 설정은 모델만큼이나 텍스트를 바꿉니다. 이
    노트북에서는 작은 모델을 학습한 뒤

    - **다음 토큰 확률**을 살펴보고;
    - **temperature**를 바꿔 분포가 뾰족해지거나 평평해지는 것을 보고;
    - **top-k**와 **top-p**(nucleus) 샘플링으로 꼬리를 자르고;
    - **반복 페널티**로 같은 말의 되풀이를 막고;
    - **KV 캐시**가 무엇을 아끼는지 캐시가 있을 때와 없을 때의 생성 속도로 잽니다.
    """),
    code("""
    import os
    import time

    import matplotlib.pyplot as plt
    import torch

    import slamdunk_lab as sd

    # Training steps. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test).
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "800"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", n_layer=3, d_model=96, n_head=4, context=128, vocab_size=tok.vocab_size)
    run = sd.train(g, corpus, tok, steps=STEPS, batch_size=8, context=128, lr=2e-3, warmup=max(STEPS // 10, 1),
                   eval_every=max(STEPS // 4, 5), eval_batches=EVAL_BATCHES, sample_every=0, checkpoint_every=0,
                   keep_checkpoints=1, mlflow=False, background=False, progress=False, monitor=False)
    model = run.model.eval()
    print(f"validation loss {[r for r in run.history if r['kind'] == 'eval'][-1]['val_loss']:.3f}")
    """),
    md("""
    ## Next-token probabilities

    `sd.next_token_probs(model, tok, prompt, k)` gives the *k* most likely next tokens. After `"ROMEO:\\nI will "`
    a good model spreads its bets over a few letters that can start a word.
    """, """
    ## 다음 토큰 확률

    `sd.next_token_probs(model, tok, prompt, k)`는 가장 가능성 높은 다음 토큰 *k*개를 줍니다. `"ROMEO:\\nI will "` 다음에
    잘 학습된 모델은 단어를 시작할 수 있는 글자 몇 개에 확률을 나눠 겁니다.
    """),
    code("""
    PROMPT = "ROMEO:\\nI will "
    top = sd.next_token_probs(model, tok, PROMPT, k=10)
    for row in top:
        print(f"{row['token']!r:>6} {row['prob']:.3f} " + "█" * round(row["prob"] * 50))
    """),
    md("""
    ## Temperature

    Sampling divides the logits by the temperature *T* before the softmax. *T* < 1 sharpens the distribution
    (the likely get likelier), *T* > 1 flattens it, and *T* → 0 always picks the most likely token (**greedy**).
    """, """
    ## Temperature

    샘플링은 softmax 전에 로짓을 temperature *T*로 나눕니다. *T* < 1이면 분포가 뾰족해지고(가능성 높은 것이 더 높아짐),
    *T* > 1이면 평평해지며, *T* → 0이면 항상 가장 가능성 높은 토큰을 고릅니다(**greedy**).
    """),
    code("""
    with torch.no_grad():
        logits = model(torch.tensor([tok.encode(PROMPT)]))[0, -1]
    order = logits.argsort(descending=True)[:15]
    labels = [repr(tok.decode([int(i)]))[1:-1] for i in order]

    fig, ax = plt.subplots(figsize=(9, 3.5))
    for i, T in enumerate([0.5, 1.0, 2.0]):
        probs = (logits / T).softmax(-1)[order]
        ax.bar([x + i * 0.27 for x in range(15)], probs, width=0.27, label=f"T = {T}")
    ax.set_xticks([x + 0.27 for x in range(15)], labels)
    ax.set(ylabel="probability", title=f"next token after {PROMPT!r}")
    ax.legend()
    plt.show()

    for T in [0.0, 0.5, 1.0, 1.5]:
        text = sd.generate(model, tok, PROMPT, max_new_tokens=80, temperature=T, top_k=None, top_p=1.0, seed=0)
        print(f"--- temperature {T}\\n{text}")
    """),
    md("""
    Greedy text is safe but falls into loops; high temperatures invent words. Most of the damage at high
    temperature comes from the **tail**: hundreds of unlikely tokens that together get real probability.

    ## Top-k and top-p

    - **top-k** keeps the *k* most likely tokens and renormalises.
    - **top-p** (nucleus) keeps the fewest most-likely tokens whose probabilities add up to *p*: few tokens where
      the model is sure, many where it is not.
    """, """
    greedy로 만든 텍스트는 안전하지만 같은 말을 되풀이하는 데 빠지고, temperature가 높으면 없는 단어를 지어냅니다. 높은
    temperature에서 생기는 문제의 대부분은 **꼬리**에서 옵니다. 가능성 낮은 토큰 수백 개가 모여 적지 않은 확률을
    차지합니다.

    ## Top-k와 top-p

    - **top-k**는 가장 가능성 높은 토큰 *k*개만 남기고 확률을 다시 맞춥니다.
    - **top-p**(nucleus)는 확률의 합이 *p*가 될 때까지 가장 가능성 높은 토큰을 최소한으로 남깁니다. 모델이 확신할 때는
      적게, 확신하지 못할 때는 많이 남습니다.
    """),
    code("""
    def nucleus_size(prompt, p):
        with torch.no_grad():
            probs = model(torch.tensor([tok.encode(prompt)]))[0, -1].softmax(-1)
        return int((probs.sort(descending=True).values.cumsum(0) < p).sum()) + 1


    for prompt in ["ROMEO:\\nI will ", "ROMEO:\\nI will be th"]:
        print(f"{prompt!r:>26}: top-p 0.9 keeps {nucleus_size(prompt, 0.9)} tokens")

    for label, settings in [("top-k 5", {"top_k": 5, "top_p": 1.0}), ("top-p 0.9", {"top_k": None, "top_p": 0.9}),
                            ("no cut", {"top_k": None, "top_p": 1.0})]:
        text = sd.generate(model, tok, PROMPT, max_new_tokens=80, temperature=1.2, seed=0, **settings)
        print(f"--- temperature 1.2, {label}\\n{text}")
    """),
    md("""
    ## Repetition penalty

    A repetition penalty (CTRL, 2019) divides the logit of every token already in the text by a factor > 1
    (multiplies it, when negative), so the model is pushed away from what it has said. Here we count how many of
    the 4-character pieces of greedy text are repeats. Expect a modest effect on this model: its tokens are
    characters, and after a few words nearly every letter is already in the text, so the penalty lowers almost all
    of them alike. With BPE tokens, where a token is a word or a piece of one, the same penalty bites much harder.
    """, """
    ## 반복 페널티

    반복 페널티(CTRL, 2019)는 이미 텍스트에 나온 모든 토큰의 로짓을 1보다 큰 값으로 나눕니다(음수면 곱합니다). 그래서
    모델이 이미 한 말에서 멀어지게 합니다. 여기서는 greedy 텍스트의 4글자 조각 중 몇 개가 반복인지 셉니다. 이 모델에서는
    효과가 크지 않을 것입니다. 토큰이 글자라서 몇 단어만 지나도 거의 모든 글자가 이미 텍스트에 나왔고, 그래서 페널티가
    거의 모든 글자를 똑같이 낮추기 때문입니다. 토큰이 단어나 단어 조각인 BPE에서는 같은 페널티가 훨씬 세게 작동합니다.
    """),
    code("""
    def repeated_fraction(text, n=4):
        pieces = [text[i:i + n] for i in range(len(text) - n + 1)]
        return 1 - len(set(pieces)) / max(len(pieces), 1)


    for penalty in [1.0, 1.2, 1.5]:
        text = sd.generate(model, tok, PROMPT, max_new_tokens=150, temperature=0, repetition_penalty=penalty)
        print(f"--- repetition penalty {penalty}: {repeated_fraction(text):.0%} of 4-grams repeat\\n{text}")
    """),
    md("""
    ## The KV cache

    Each new token needs the keys and values of every earlier token. Without a cache the model recomputes all of
    them at every step (the whole prefix goes through the model again); with the cache it keeps them and runs only
    the new token. `sd.generate` uses the cache; below, a plain loop without one produces the same greedy text,
    more slowly.
    """, """
    ## KV 캐시

    새 토큰마다 앞선 모든 토큰의 키와 값이 필요합니다. 캐시가 없으면 모델은 단계마다 그것들을 전부 다시 계산하고(앞부분
    전체가 모델을 다시 통과), 캐시가 있으면 저장해 두었다가 새 토큰 하나만 계산합니다. `sd.generate`는 캐시를 씁니다.
    아래에서는 캐시 없는 단순한 반복문으로 같은 greedy 텍스트를 더 느리게 만듭니다.
    """),
    code("""
    NEW = 100  # the prompt and the new tokens fit in the context of 128


    def generate_without_cache(prompt, n):
        ids = tok.encode(prompt)
        with torch.no_grad():
            for _ in range(n):
                logits = model(torch.tensor([ids]))[0, -1]  # the whole sequence again, every step
                ids.append(int(logits.argmax()))
        return tok.decode(ids[len(tok.encode(prompt)):])


    started = time.perf_counter()
    cached = sd.generate(model, tok, PROMPT, max_new_tokens=NEW, temperature=0)
    with_cache = time.perf_counter() - started
    started = time.perf_counter()
    uncached = generate_without_cache(PROMPT, NEW)
    without_cache = time.perf_counter() - started

    print("same text:", cached == uncached)
    print(f"with the KV cache: {NEW / with_cache:,.0f} tokens/s; without: {NEW / without_cache:,.0f} tokens/s "
          f"({without_cache / with_cache:.1f}× slower)")
    cache = model.new_cache(batch_size=1)
    print(f"the cache for {model.context} positions holds {sum(t.numel() for t in cache.k + cache.v):,} numbers")
    """),
    md("""
    Without the cache, step *t* costs a forward pass over *t* tokens, so generating *n* tokens costs about *n²/2*
    token-passes instead of *n*; the gap grows with the length. The price of the cache is memory (notebook 3).

    The playground puts all of this behind sliders:
    """, """
    캐시가 없으면 *t*번째 단계는 토큰 *t*개에 대한 순전파를 치르므로, 토큰 *n*개를 생성하는 데 *n*번이 아니라 약 *n²/2*번의
    토큰 계산이 듭니다. 길이가 길수록 차이가 커집니다. 캐시의 대가는 메모리입니다(3장).

    플레이그라운드에서는 이 모든 것을 슬라이더로 바꿔 볼 수 있습니다.
    """),
    code("""
    sd.Playground(model, tok)
    """),
    md("""
    ## What to take away

    - The model gives probabilities; temperature, top-k, top-p and the repetition penalty decide the text.
    - Low temperature: safe, repetitive. High temperature: varied, then nonsense from the tail. Top-p adapts the
      cut to how sure the model is.
    - The KV cache turns generation from quadratic to linear work in the length, paid for in memory.

    ## Exercises

    1. Find the temperature at which the text of this model starts inventing words. Does top-p 0.9 move it?
    2. With `seed=None`, generate five texts at temperature 0.8. How different are they? And at 0?
    3. Plot the nucleus size for p = 0.9 at every position of a line of Shakespeare. Where is the model sure?
    4. Time `generate_without_cache` for 25, 50 and 100 new tokens and plot the time. Is it quadratic?
    5. What does a repetition penalty do to a text that *should* repeat, such as a list of names? Try a prompt
       that starts a list.
    """, """
    ## 정리

    - 모델은 확률을 줄 뿐이고, 텍스트는 temperature, top-k, top-p, 반복 페널티가 정합니다.
    - temperature가 낮으면 안전하지만 되풀이가 많고, 높으면 다양해지다가 꼬리 때문에 엉터리가 됩니다. top-p는 모델이
      얼마나 확신하는지에 따라 자르는 양을 바꿉니다.
    - KV 캐시는 생성에 드는 계산을 길이의 제곱에서 길이에 비례하는 수준으로 줄이고, 대신 메모리를 씁니다.

    ## 연습 문제

    1. 이 모델이 없는 단어를 지어내기 시작하는 temperature를 찾아보세요. top-p 0.9를 쓰면 그 지점이 달라지나요?
    2. `seed=None`으로 temperature 0.8에서 텍스트를 다섯 번 생성해 보세요. 얼마나 다른가요? 0에서는 어떤가요?
    3. 셰익스피어 한 줄의 모든 위치에서 p = 0.9일 때 nucleus 크기를 그려 보세요. 모델은 어디서 확신하나요?
    4. 새 토큰 25, 50, 100개에 대해 `generate_without_cache`의 시간을 재고 그려 보세요. 제곱에 비례하나요?
    5. 원래 되풀이가 *있어야 하는* 텍스트(예: 이름 목록)에 반복 페널티를 주면 어떻게 될까요? 목록을 시작하는 프롬프트로
       해 보세요.
    """),
]
