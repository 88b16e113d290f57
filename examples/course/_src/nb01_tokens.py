from .cells import code, md

CELLS = [
    md("""
    # 1. Tokens: how text becomes numbers

    A language model never sees letters. It sees a sequence of whole numbers, one per **token**, taken from a fixed
    **vocabulary**. How you cut text into tokens decides three things at once:

    - **the vocabulary size**: how many rows the embedding table and the output layer have (parameters);
    - **the sequence length**: how many tokens a text becomes, so how much text fits in the context and how many
      steps generation takes;
    - **what the model must learn**: with characters it must learn to spell; with bigger pieces it gets words for
      free but sees each piece less often.

    In this notebook you will cut the same Shakespeare text four ways — characters, bytes, BPE (byte-pair
    encoding, trained here on the text) and tiktoken (GPT-2's BPE) — measure the three trade-offs, and train the
    same small model on two of them to see which one learns the text better **per character**.
    """, """
    # 1. 토큰: 텍스트가 숫자가 되는 과정

    언어 모델은 글자를 직접 보지 않습니다. 모델이 보는 것은 정해진 **어휘(vocabulary)** 안에서 고른 정수의 나열이고,
    그 정수 하나하나가 **토큰**입니다. 텍스트를 어떻게 토큰으로 자르느냐에 따라 세 가지가 한꺼번에 정해집니다.

    - **어휘 크기**: 임베딩 표와 출력층의 행 수, 즉 파라미터 수;
    - **시퀀스 길이**: 같은 글이 몇 개의 토큰이 되는지. 컨텍스트에 글이 얼마나 들어가는지, 생성에 몇 단계가 걸리는지가
      여기서 정해집니다;
    - **모델이 배워야 할 것**: 문자 단위라면 철자부터 배워야 하고, 더 큰 조각을 쓰면 단어는 거저 얻는 대신 조각 하나하나를
      보는 횟수가 줄어듭니다.

    이 노트북에서는 같은 셰익스피어 텍스트를 네 가지 방법(문자, 바이트, 여기서 직접 학습하는 BPE, GPT-2의 BPE인
    tiktoken)으로 잘라 세 가지 trade-off를 재 보고, 같은 작은 모델을 두 가지 토크나이저로 학습해 **글자당** 어느 쪽이 더
    잘 배우는지 비교합니다.
    """),
    code("""
    import math
    import os

    import matplotlib.pyplot as plt

    import slamdunk_lab as sd

    # Training steps per model. CI runs every course notebook with SLAMDUNK_EXAMPLE_STEPS=20 (a smoke test);
    # the default gives curves worth reading in a few minutes on a laptop CPU.
    STEPS = int(os.environ.get("SLAMDUNK_EXAMPLE_STEPS", "400"))
    EVAL_BATCHES = 10 if STEPS >= 100 else 2  # batches per validation loss (fewer in the smoke test)
    """),
    md("""
    ## The text

    Tiny Shakespeare ships with SLaM Dunk Lab (no internet needed). Its last 10% is **held-out** text (the
    validation split `sd.train` measures loss on): the BPE tokenizer is trained without it, and we measure every
    tokenizer on it.
    """, """
    ## 텍스트

    Tiny Shakespeare는 SLaM Dunk Lab에 들어 있어서 인터넷 없이 쓸 수 있습니다. 마지막 10%는 **검증용(held-out)**
    텍스트입니다(`sd.train`이 검증 손실을 재는 부분). BPE 토크나이저는 이 부분을 보지 않고 학습하고, 모든 토크나이저는
    이 부분으로 잽니다.
    """),
    code("""
    corpus = sd.data.load("tiny_shakespeare")
    text = corpus.text()
    train_part, val_part = corpus.split()  # the last 10%: the validation text sd.train measures its loss on
    train_text, held_out = train_part.text(), val_part.text()
    print(f"{len(text):,} characters, {len(set(text))} different ones")
    print(text[:250])
    """),
    md("""
    ## Four tokenizers

    - `char`: one token per character that occurs in the text (65 here). Tiny vocabulary, long sequences, and a
      character it never saw cannot be encoded at all.
    - `byte`: one token per UTF-8 byte (256 tokens). Encodes *any* text, but a Korean syllable
      takes three tokens.
    - `bpe`: starts from bytes and repeatedly merges the most frequent neighbouring pair into a new token, until the
      vocabulary has the size you ask for. Frequent words become one token; rare ones fall back to pieces.
    - `tiktoken("gpt2")`: the BPE GPT-2 was trained with (50,257 tokens, learned on web text). Its files are
      downloaded once from OpenAI; without internet the row is skipped.
    """, """
    ## 네 가지 토크나이저

    - `char`: 텍스트에 나오는 글자마다 토큰 하나(여기서는 65개). 어휘는 아주 작지만 시퀀스가 길고, 한 번도 못 본 글자는
      아예 인코딩할 수 없습니다.
    - `byte`: UTF-8 바이트마다 토큰 하나(256개). *어떤* 텍스트든 인코딩할 수 있지만 한글 한 음절이
      토큰 세 개가 됩니다.
    - `bpe`: 바이트에서 시작해 가장 자주 붙어 나오는 쌍을 새 토큰으로 합치는 일을 원하는 어휘 크기가 될 때까지
      되풀이합니다. 자주 나오는 단어는 토큰 하나가 되고, 드문 단어는 조각으로 나뉩니다.
    - `tiktoken("gpt2")`: GPT-2가 학습에 쓴 BPE(토큰 50,257개, 웹 텍스트로 학습). 파일을 OpenAI에서 한 번 내려받아야
      하므로 인터넷이 없으면 이 줄은 건너뜁니다.
    """),
    code("""
    tokenizers = {
        "char": sd.tokenizers.char(corpus),
        "byte": sd.tokenizers.byte(),
        "BPE 512": sd.tokenizers.bpe(train_text, vocab_size=512),
        "BPE 4096": sd.tokenizers.bpe(train_text, vocab_size=4096),
    }
    try:
        tokenizers["tiktoken gpt2"] = sd.tokenizers.tiktoken("gpt2")
    except (sd.tokenizers.TokenizerUnavailableError, ImportError):
        print("tiktoken's GPT-2 files are not on this machine (they download once from the internet), "
              "so the tiktoken row is skipped.")

    line = "ROMEO: But, soft! what light through yonder window breaks?"
    for name, tok in tokenizers.items():
        pieces = [tok.decode([i]) for i in tok.encode(line)]
        print(f"{name:>13} {len(pieces):3} tokens: " + "|".join(pieces))
    """),
    md("""
    ## Vocabulary size against sequence length

    For each tokenizer: the vocabulary, how many tokens the held-out text becomes, characters per token, and what
    the vocabulary costs in parameters for a model of width 128 (one embedding row per token, and one output row
    per token unless the two are tied).
    """, """
    ## 어휘 크기와 시퀀스 길이

    토크나이저마다 어휘 크기, 검증용 텍스트가 몇 개의 토큰이 되는지, 토큰 하나가 평균 몇 글자인지, 그리고 폭이 128인
    모델에서 어휘가 차지하는 파라미터 수(토큰마다 임베딩 한 행, 가중치를 묶지 않으면 출력층에도 한 행)를 봅니다.
    """),
    code("""
    WIDTH = 128
    rows = []
    for name, tok in tokenizers.items():
        n_tokens = len(tok.encode(held_out))
        rows.append({"tokenizer": name, "vocab": tok.vocab_size, "tokens": n_tokens,
                     "chars/token": len(held_out) / n_tokens, "embedding params": tok.vocab_size * WIDTH})
    print(f"{'tokenizer':>13} {'vocab':>7} {'tokens':>8} {'chars/token':>12} {'embedding params':>17}")
    for r in rows:
        print(f"{r['tokenizer']:>13} {r['vocab']:>7,} {r['tokens']:>8,} {r['chars/token']:>12.2f} "
              f"{r['embedding params']:>17,}")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in rows:
        ax.scatter(r["vocab"], r["tokens"], s=40)
        ax.annotate(r["tokenizer"], (r["vocab"], r["tokens"]), textcoords="offset points", xytext=(5, 5))
    ax.set(xscale="log", xlabel="vocabulary size (log)", ylabel="tokens for the held-out text",
           title="A bigger vocabulary makes shorter sequences")
    plt.show()
    """),
    md("""
    Bytes and characters make the same number of tokens on English text (it is ASCII). On Korean they do not: a
    Hangul syllable is three UTF-8 bytes, and a BPE learned on English has no merges for it.
    """, """
    영어 텍스트는 ASCII라서 바이트와 문자 토큰 수가 같습니다. 한국어는 다릅니다. 한글 한 음절은 UTF-8로 3바이트이고,
    영어로 학습한 BPE에는 한글을 합치는 규칙이 없습니다.
    """),
    code("""
    korean = "토큰은 모델이 읽는 단위입니다."
    print(f"{len(korean)} characters")
    for name in ("byte", "BPE 4096"):
        print(f"{name:>9}: {len(tokenizers[name].encode(korean))} tokens")
    try:
        tokenizers["char"].encode(korean)
    except ValueError as exc:  # the Shakespeare characters hold no Hangul
        print(f"     char: {exc}")
    """),
    md("""
    ## What the model must learn

    Now the same small GPT trains on the same text twice: once with characters, once with BPE 512. Same width,
    layers, batch and context (64 tokens) — but 64 BPE tokens hold more text than 64 characters, and the BPE model
    has a bigger vocabulary to predict from.

    Their losses cannot be compared directly: the loss is *per token*, and a BPE token is worth more than one
    character. Converted to **bits per character** (loss per token ÷ ln 2 × tokens per character) they can.
    """, """
    ## 모델이 배워야 할 것

    이제 같은 작은 GPT를 같은 텍스트로 두 번 학습합니다. 한 번은 문자로, 한 번은 BPE 512로. 폭, 층 수, 배치, 컨텍스트
    (토큰 64개)는 같지만, BPE 토큰 64개에는 문자 64개보다 많은 글이 들어가고, BPE 모델은 더 큰 어휘 중에서 골라야 합니다.

    두 손실은 그대로 비교할 수 없습니다. 손실은 *토큰당* 값이고 BPE 토큰 하나는 글자 하나보다 많은 정보를 담기
    때문입니다. **글자당 비트(bits per character)**로 바꾸면(토큰당 손실 ÷ ln 2 × 글자당 토큰 수) 비교할 수 있습니다.
    """),
    code("""
    def train(tok):
        g = sd.template("gpt2", size="tiny", n_layer=2, d_model=64, n_head=4, context=64, vocab_size=tok.vocab_size)
        run = sd.train(g, corpus, tok, steps=STEPS, batch_size=16, context=64, lr=2e-3, warmup=max(STEPS // 10, 1),
                       eval_every=max(STEPS // 8, 5), eval_batches=EVAL_BATCHES,
                       sample_every=0, checkpoint_every=0, keep_checkpoints=1,
                       mlflow=False, background=False, progress=False, monitor=False)
        return run


    results = {}
    for name in ("char", "BPE 512"):
        tok = tokenizers[name]
        run = train(tok)
        tokens_per_char = len(tok.encode(held_out)) / len(held_out)
        evals = [r for r in run.history if r["kind"] == "eval"]
        steps = [r["step"] for r in evals]
        bpc = [r["val_loss"] / math.log(2) * tokens_per_char for r in evals]
        params = sd.analyze(run.graph).params
        results[name] = (run, steps, bpc)
        print(f"{name:>8}: {params:,} parameters, loss {evals[-1]['val_loss']:.3f} per token = {bpc[-1]:.3f} bits per "
              f"character")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, (run, steps, bpc) in results.items():
        ax.plot(steps, bpc, marker="o", label=name)
    ax.set(xlabel="training step", ylabel="held-out bits per character", title="Same model, two tokenizers")
    ax.legend()
    plt.show()
    """),
    md("""
    And what they write (same prompt, same sampling settings):
    """, """
    두 모델이 쓴 글입니다(같은 프롬프트, 같은 샘플링 설정).
    """),
    code("""
    for name, (run, _, _) in results.items():
        print(f"--- {name}")
        print(sd.generate(run.model, run.tokenizer, "ROMEO:", max_new_tokens=120, temperature=0.8, seed=0))
    """),
    md("""
    ## What to take away

    - A bigger vocabulary shortens sequences (more text per context, fewer generation steps) and costs embedding
      and output parameters — at width 128, a 50k vocabulary is 6.4 M parameters before the model has a single
      layer.
    - Characters are cheap in parameters but make the model spend capacity on spelling.
    - Compare models with different tokenizers in bits per character (or per byte), never in loss per token.

    ## Exercises

    1. Train BPE tokenizers of 300, 1024 and 8192 tokens and plot characters per token against vocabulary size.
       Where do the returns diminish on this text?
    2. With `STEPS` doubled, does the gap between char and BPE 512 in bits per character grow or shrink? Why might
       a bigger vocabulary need more steps?
    3. Find a line of the held-out text that BPE 4096 cuts into many tokens. What kind of words are they?
    4. Encode `"안녕하세요"` with every tokenizer. Which one fails, which one is longest, and what would you train
       a Korean BPE on?
    5. `sd.check.round_trips(tok, held_out)` checks that decoding the encoding gives the text back. Which of the
       tokenizers above pass it, and why can `char` fail on other text?
    """, """
    ## 정리

    - 어휘가 크면 시퀀스가 짧아지지만(컨텍스트에 글이 더 들어가고 생성 단계가 줄어듦) 임베딩과 출력층 파라미터를
      치릅니다. 폭 128에서 어휘 5만 개면 층 하나 없이도 파라미터가 640만 개입니다.
    - 문자 단위는 파라미터가 적게 들지만, 모델이 철자를 익히는 데 용량을 씁니다.
    - 토크나이저가 다른 모델은 토큰당 손실이 아니라 글자당(또는 바이트당) 비트로 비교해야 합니다.

    ## 연습 문제

    1. 어휘 300, 1024, 8192개의 BPE를 학습하고 어휘 크기에 따른 토큰당 글자 수를 그려 보세요. 이 텍스트에서는 어디서부터
       효과가 줄어드나요?
    2. `STEPS`를 두 배로 늘리면 문자와 BPE 512의 글자당 비트 차이가 커지나요, 줄어드나요? 어휘가 클수록 더 많은 학습
       단계가 필요한 이유는 무엇일까요?
    3. 검증용 텍스트에서 BPE 4096이 여러 토큰으로 쪼개는 줄을 찾아보세요. 어떤 단어들인가요?
    4. `"안녕하세요"`를 모든 토크나이저로 인코딩해 보세요. 어느 것이 실패하고, 어느 것이 가장 긴가요? 한국어 BPE는 무엇으로
       학습하면 좋을까요?
    5. `sd.check.round_trips(tok, held_out)`는 인코딩한 것을 디코딩하면 원문이 돌아오는지 확인합니다. 위의 토크나이저 중
       어느 것이 통과하나요? `char`가 다른 텍스트에서 실패할 수 있는 이유는 무엇인가요?
    """),
]
