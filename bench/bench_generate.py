"""Generation speed: tokens/s with and without the KV cache, against a hand-written GPT's cached sampling.

Usage::

    python bench/bench_generate.py [--profile] [--threads N]

The model is the baby GPT (tiny gpt2 template: 4 layers, 4 heads, width 128, context 256, char vocab 65) with
untrained weights; each run generates 240 tokens after a 16-token prompt (so the window never slides) at
temperature 0.8, top-k 40. Goals: the cache is at least 3× faster than no cache, and at least as fast as the
hand-written model's own cached sampler (written here: ``bench/handwritten_gpt.py``, the training baseline, has
no KV cache). ``--profile`` also times one forward pass at T=1 piece by piece.
Prints timings; asserts nothing.

Timings are the best of several runs of CPU time (``time.process_time``) on one thread by default, so other
programs competing for the cores do not distort them; ``--threads N`` uses N threads and wall-clock time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch
import torch.nn.functional as F
from torch import nn

import slamdunk_lab as sd
from slamdunk_lab import tokenizers
from slamdunk_lab.generation import generate

VOCAB, CONTEXT, PROMPT_LEN, NEW_TOKENS = 65, 256, 16, 240
CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # tiny Shakespeare's 65


# ---------------------------------------------------------------------------------------------- hand-written GPT
class HandAttention(nn.Module):
    """nanoGPT's attention plus a preallocated KV cache, the way one writes it by hand."""

    def __init__(self, d: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.k_cache = self.v_cache = None

    def forward(self, x: torch.Tensor, pos: int) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        self.k_cache[:, :, pos:pos + T] = k
        self.v_cache[:, :, pos:pos + T] = v
        k, v = self.k_cache[:, :, :pos + T], self.v_cache[:, :, :pos + T]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class HandBlock(nn.Module):
    def __init__(self, d: int, n_head: int):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(d), HandAttention(d, n_head)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor, pos: int) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), pos)
        return x + self.mlp(self.ln_2(x))


class HandGPT(nn.Module):
    def __init__(self, vocab: int = VOCAB, context: int = CONTEXT, d: int = 128, n_head: int = 4, n_layer: int = 4):
        super().__init__()
        self.context = context
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.h = nn.ModuleList(HandBlock(d, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: torch.Tensor, pos: int) -> torch.Tensor:
        x = self.wte(idx) + self.wpe.weight[pos:pos + idx.shape[1]]
        for block in self.h:
            x = block(x, pos)
        return self.lm_head(self.ln_f(x[:, -1]))  # (B, V): the last position only

    @torch.inference_mode()
    def sample(self, idx: torch.Tensor, n: int, temperature: float = 0.8, top_k: int = 40,
               generator: torch.Generator | None = None) -> torch.Tensor:
        B, T = idx.shape
        for block in self.h:
            shape = (B, block.attn.n_head, self.context, self.wte.embedding_dim // block.attn.n_head)
            block.attn.k_cache, block.attn.v_cache = torch.zeros(shape), torch.zeros(shape)
        logits, pos, out = self(idx, 0), T, []
        for _ in range(n):
            logits = logits / temperature
            v, _ = torch.topk(logits, top_k)
            logits[logits < v[:, [-1]]] = -float("inf")
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            out.append(nxt)
            logits, pos = self(nxt, pos), pos + 1
        return torch.cat(out, dim=1)


# ---------------------------------------------------------------------------------------------- our model
def uncached_sample(model, ids: list[int], n: int, temperature: float = 0.8, top_k: int = 40,
                    generator: torch.Generator | None = None) -> list[int]:
    """The no-cache baseline: a full forward pass over the last `context` tokens for every new token."""
    with torch.inference_mode():
        for _ in range(n):
            logits = model(torch.tensor([ids[-model.context:]]))[0, -1] / temperature
            kth = torch.topk(logits, top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
            ids = ids + [int(torch.multinomial(logits.softmax(-1), 1, generator=generator))]
    return ids


CLOCK = time.process_time  # wall-clock time.perf_counter with --threads


def best_of(fn, repeats: int = 5) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return min(times)


def report(label: str, seconds: float, tokens: int = NEW_TOKENS) -> float:
    rate = tokens / seconds
    print(f"{label:<58s} {seconds * 1e3:8.1f} ms  {rate:8.0f} tokens/s  ({seconds / tokens * 1e6:6.0f} µs/token)")
    return rate


def profile_forward(model, hand: HandGPT) -> None:
    """Where one cached forward pass at T=1 spends its time (position 128 of 256)."""
    print("\n-- one forward pass at T=1 with a cache holding 128 positions --")
    n = 200
    idx = torch.tensor([[1]])
    with torch.inference_mode():
        cache = model.new_cache()
        model(torch.zeros(1, 128, dtype=torch.long), cache=cache)

        def ours():
            cache.pos = 128
            model(idx, cache=cache)

        for block in hand.h:
            shape = (1, 4, CONTEXT, 32)
            block.attn.k_cache, block.attn.v_cache = torch.zeros(shape), torch.zeros(shape)
        t_ours = best_of(lambda: [ours() for _ in range(n)]) / n
        t_hand = best_of(lambda: [hand(idx, 128) for _ in range(n)]) / n
        print(f"GraphModel forward (T=1, cached)   {t_ours * 1e6:7.1f} µs")
        print(f"hand-written forward (T=1, cached) {t_hand * 1e6:7.1f} µs (returns the last position only)")

        attn = model.blocks[0].attn
        x = torch.randn(1, 1, 128)
        from slamdunk_lab.blocks.modules import ForwardContext

        def attn_call(with_mask: bool):
            ctx = ForwardContext(128, cache)
            if not with_mask:
                ctx.start_pos = 128
            return attn(x, ctx)

        t_attn = best_of(lambda: [attn_call(True) for _ in range(n)]) / n
        q = torch.randn(1, 4, 1, 32)
        k = torch.randn(1, 4, 129, 32)
        mask = torch.ones(1, 129, dtype=torch.bool)
        t_sdpa_mask = best_of(lambda: [F.scaled_dot_product_attention(q, k, k, attn_mask=mask) for _ in range(n)]) / n
        t_sdpa = best_of(lambda: [F.scaled_dot_product_attention(q, k, k) for _ in range(n)]) / n
        t_mask = best_of(lambda: [attn.mask(ForwardContext(128, cache), 1, 129, "cpu") for _ in range(n)]) / n
        hand_attn = hand.h[0].attn
        t_hand_attn = best_of(lambda: [hand_attn(x, 128) for _ in range(n)]) / n
        print(f"  one CausalSelfAttention call      {t_attn * 1e6:7.1f} µs (hand-written: {t_hand_attn * 1e6:.1f} µs)")
        print(f"    building the (1, S) bool mask   {t_mask * 1e6:7.1f} µs (once per forward, shared via memo)")
        print(f"    SDPA with the bool mask         {t_sdpa_mask * 1e6:7.1f} µs; without a mask {t_sdpa * 1e6:.1f} µs")
        lm_x = torch.randn(1, 1, 128)
        t_head = best_of(lambda: [model.lm_head(model.ln_f(lm_x)) for _ in range(n)]) / n
        print(f"  ln_f + lm_head at T=1             {t_head * 1e6:7.1f} µs")
        t_ctx = best_of(lambda: [ForwardContext(128, cache) for _ in range(n)]) / n
        print(f"  ForwardContext()                  {t_ctx * 1e6:7.1f} µs")

    llama = sd.build(sd.template("llama3", size="tiny", n_layer=4, n_head=4, d_model=128, context=CONTEXT,
                                 vocab_size=VOCAB)).eval()
    with torch.inference_mode():
        lcache = llama.new_cache()
        llama(torch.zeros(1, 128, dtype=torch.long), cache=lcache)

        def llama_step():
            lcache.pos = 128
            llama(idx, cache=lcache)

        t_llama = best_of(lambda: [llama_step() for _ in range(n)]) / n
        lattn = llama.blocks[0].attn
        t_rope = best_of(lambda: [lattn.rope_tables(ForwardContext(128, lcache), 1, x) for _ in range(n)]) / n
    print(f"llama3-tiny forward (same size, RoPE + GQA) {t_llama * 1e6:7.1f} µs, of which the RoPE cos/sin tables "
          f"{t_rope * 1e6:.1f} µs (rebuilt every forward pass)")

    print("\n-- torch.profiler, 50 cached steps, top operators by self CPU time --")
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        cache = model.new_cache()
        model(torch.zeros(1, 128, dtype=torch.long), cache=cache)
        for _ in range(50):
            cache.pos = 128
            model(idx, cache=cache)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


def main(argv: list[str]) -> None:
    global CLOCK
    if "--threads" in argv:
        torch.set_num_threads(int(argv[argv.index("--threads") + 1]))
        CLOCK = time.perf_counter
    else:
        torch.set_num_threads(1)
    torch.manual_seed(0)
    tok = tokenizers.char(CHARS)
    assert tok.vocab_size == VOCAB
    graph = sd.template("gpt2", size="tiny", n_layer=4, n_head=4, d_model=128, context=CONTEXT, vocab_size=VOCAB)
    model = sd.build(graph).eval()
    hand = HandGPT().eval()
    prompt = "ROMEO:\nBut soft"[:PROMPT_LEN].ljust(PROMPT_LEN)
    ids = tok.encode(prompt)
    clock = "CPU time" if CLOCK is time.process_time else "wall-clock time"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {clock}; baby GPT "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; {PROMPT_LEN}-token prompt + {NEW_TOKENS} "
          f"new tokens\n")

    g = torch.Generator()
    idx = torch.tensor([ids])
    r_nocache = report("sd model, no cache (full forward per token)",
                       best_of(lambda: uncached_sample(model, ids, NEW_TOKENS, generator=g.manual_seed(0)), 1))
    # Ours and the hand-written sampler alternate, so a busy spell on the machine hits both alike.
    ours, theirs = [], []
    for _ in range(3):
        ours.append(best_of(lambda: generate(model, tok, prompt, NEW_TOKENS, top_k=40, top_p=1.0, seed=0), 2))
        theirs.append(best_of(lambda: hand.sample(idx, NEW_TOKENS, generator=g.manual_seed(0)), 2))
    r_cache = report("sd.generate (cache, temp 0.8, top-k 40, top-p 1.0)", min(ours))
    r_hand = report("hand-written GPT, own cached sampler (temp 0.8, top-k 40)", min(theirs))
    report("sd.generate (defaults: + top-p 0.95)",
           best_of(lambda: generate(model, tok, prompt, NEW_TOKENS, seed=0)))
    report("sd.generate (greedy)",
           best_of(lambda: generate(model, tok, prompt, NEW_TOKENS, temperature=0)))
    report("sd.generate (stream=True)",
           best_of(lambda: list(generate(model, tok, prompt, NEW_TOKENS, top_p=1.0, seed=0, stream=True))))
    print(f"\ncache speed-up: {r_cache / r_nocache:.1f}× (goal ≥ 3×); "
          f"vs hand-written: {r_cache / r_hand:.2f}× (goal ≥ 1×)")
    if "--profile" in argv:
        profile_forward(model, hand)


if __name__ == "__main__":
    main(sys.argv)
