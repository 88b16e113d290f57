"""GPU throughput and model FLOPs utilisation of the original-size GPT-2 (124M) under sd.train's hot path.

Prepared for a task that is lent a device machine (one short run):

    python bench/bench_gpu.py                       # cuda, bf16 autocast, torch.compile, batch 16 x 1024
    python bench/bench_gpu.py --device cpu --size tiny --batch 4 --context 64 --steps 4 --no-compile   # smoke test

MFU = achieved training FLOPs/s ÷ the chip's peak dense bf16 FLOPs/s, with training FLOPs per token from
``sd.analyze`` (6·N plus attention, the PaLM convention). Goal on an H100/H200-class chip: ≥ 40%.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import slamdunk_lab as sd

# Peak dense bf16 tensor FLOPs/s (no sparsity), from the vendors' data sheets.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--size", default="124M")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10, help="steps before timing (compilation happens here)")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: this benchmark is for a machine with a GPU (or pass --device cpu for a smoke test)")
        return
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    graph = sd.template("gpt2", size=args.size, context=args.context)
    analysis = sd.analyze(graph, batch_size=args.batch, context=args.context, dtype="bfloat16")
    model = sd.build(graph, device=device)
    vocab = model.vocab_size
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), fused=device.type == "cuda")
    step_model = model if args.no_compile else torch.compile(model)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type in ("cuda", "cpu"))

    def step() -> torch.Tensor:
        idx = torch.randint(0, vocab, (args.batch, args.context + 1), device=device)
        with amp:
            logits = step_model(idx[:, :-1])
            loss = F.cross_entropy(logits.float().flatten(0, 1), idx[:, 1:].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    loss.item()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens_per_s = args.steps * args.batch * args.context / seconds
    achieved = tokens_per_s * analysis.train_flops_per_token
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}; gpt2-{args.size}: {analysis.params:,} params, batch {args.batch} x {args.context}, "
          f"bf16 autocast, compile {not args.no_compile}")
    print(f"warm-up + compile {warm:.1f} s; {args.steps} steps in {seconds:.2f} s; {tokens_per_s:,.0f} tokens/s; "
          f"{achieved / 1e12:.1f} TFLOP/s (train FLOPs/token {analysis.train_flops_per_token / 1e6:.1f} M)")
    peak = peak_flops(device)
    if peak:
        print(f"MFU {achieved / peak:.1%} of {peak / 1e12:.0f} TFLOP/s peak dense bf16 (goal ≥ 40%)")
    if device.type == "cuda":
        print(f"peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
