"""GPU checks and throughput, prepared for a task that is lent a device machine: one short run does it all.

On the device machine (docs/benchmarks.md, "Running on a lent GPU", says how the wheels travel):

    bash bench/gpu_run.sh                     # = python bench/bench_gpu.py, with the missing packages set up

Anywhere, as a smoke test of the script itself:

    python bench/bench_gpu.py --device cpu --size tiny --batch 4 --context 64 --steps 6 --warmup 2 --no-compile

Part 1, checks on the device, each printed as PASS/FAIL with its figure (float32 checks run with TF32 off):
  forward      every family's tiny template: logits on the device equal the CPU's (relative error ≤ 1e-5)
  kv-cache     incremental decoding with the KV cache equals the full forward pass on the device (≤ 1e-5)
  bf16         bfloat16 autocast logits stay near float32 (relative error ≤ 2e-2)
  train        sd.train on the device (bfloat16 autocast, torch.compile unless --no-compile): finishes and learns
  generate     greedy sd.generate of the trained model on the device equals the same weights on the CPU
  sampling     seeded top-k/top-p sampling on the device (its own torch.Generator) repeats and streams the same
  save-load    sd.save of the device model, sd.load on the CPU: identical logits
  resume       stop at step 10 of 20 and resume on the device (dropout on): the losses of an uninterrupted run

Part 2, throughput of the original-size GPT-2 (124M) at bfloat16 with torch.compile, batch 16 × 1024:
  raw loop     the built model in a minimal training step (forward, loss, backward, clip, fused AdamW)
  sd.train     the product's trainer on the same model, read off its own Step events after warm-up
  padded       sd.train again with the vocabulary padded to a multiple of 64 (50,304), to show what that buys
MFU = training FLOPs/s (``sd.analyze``'s FLOPs per token, 6·N plus attention, the PaLM convention) ÷ the chip's
peak dense bf16 rate from its data sheet; also shown against a bf16 matrix product measured on the spot.
Goal on an H100/H200-class chip: ≥ 40% of the data-sheet peak.

Everything is also written as JSON to ``--out`` (default ``$OUT`` when set). Exit status 1 if a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import slamdunk_lab as sd

# Peak dense bf16 tensor FLOPs/s (no sparsity), from the vendors' data sheets.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}
FAMILIES = ("gpt2", "llama2", "llama3", "qwen3", "smollm3")
RESULTS: dict = {"checks": {}, "throughput": {}}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    a, ref = a.double().cpu(), ref.double().cpu()
    return float((a - ref).norm() / ref.norm().clamp_min(1e-30))


def check(name: str, ok: bool, figure: str) -> bool:
    RESULTS["checks"][name] = {"ok": bool(ok), "figure": figure}
    print(f"  {'PASS' if ok else 'FAIL'}  {name:<10} {figure}", flush=True)
    return ok


# ------------------------------------------------------------------ part 1: checks
def run_checks(device: torch.device, compile_: bool, tmp: Path) -> bool:
    print("checks on", device, flush=True)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ok = True
    gen = torch.Generator().manual_seed(0)
    worst_fwd = worst_kv = worst_bf16 = 0.0
    for family in FAMILIES:
        torch.manual_seed(0)
        cpu_model = sd.build(sd.template(family, size="tiny")).eval()
        with torch.no_grad():  # random weights far from the init, so nothing cancels to zero
            for p in cpu_model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.02)
        idx = torch.randint(0, cpu_model.vocab_size, (2, 48), generator=gen)
        model = sd.build(sd.template(family, size="tiny"), device=device).eval()
        model.load_state_dict(cpu_model.state_dict())
        with torch.no_grad():
            ref = cpu_model(idx)
            full = model(idx.to(device))
            worst_fwd = max(worst_fwd, rel_err(full, ref))
            cache = model.new_cache(batch_size=2)
            pieces = [model(idx[:, :16].to(device), cache=cache)]
            pieces += [model(idx[:, t:t + 1].to(device), cache=cache) for t in range(16, 48)]
            worst_kv = max(worst_kv, rel_err(torch.cat(pieces, dim=1), full))
            with torch.autocast(device.type, dtype=torch.bfloat16):
                low = model(idx.to(device))
            worst_bf16 = max(worst_bf16, rel_err(low.float(), full))
    ok &= check("forward", worst_fwd <= 1e-5, f"worst relative error device vs CPU over {len(FAMILIES)} families "
                                              f"{worst_fwd:.2e} (≤ 1e-5)")
    ok &= check("kv-cache", worst_kv <= 1e-5, f"worst relative error cached vs full forward {worst_kv:.2e} (≤ 1e-5)")
    ok &= check("bf16", worst_bf16 <= 2e-2, f"worst relative error bf16 autocast vs float32 {worst_bf16:.2e} "
                                            f"(≤ 2e-2)")

    corpus = sd.data.synthetic("grammar", n=4000, seed=0)
    tok = sd.tokenizers.byte()
    graph = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size)
    t0 = time.perf_counter()
    run = sd.train(graph, corpus, tok, steps=200, batch_size=32, context=128, lr=3e-3, warmup=20,
                   eval_every=200, eval_batches=10, sample_every=0, checkpoint_every=0, device=str(device),
                   dtype="bfloat16", compile=compile_, mlflow=False, background=False, progress=False,
                   name="gpu-check")
    seconds = time.perf_counter() - t0
    losses = [h["loss"] for h in run.history if h.get("kind") == "train"] or [float("nan")]
    val = next((h["val_loss"] for h in reversed(run.history) if h.get("kind") == "eval"), float("nan"))
    learned = run.status == "finished" and losses[-1] < losses[0] - 2.0
    ok &= check("train", learned, f"status {run.status}, loss {losses[0]:.3f} → {losses[-1]:.3f}, val {val:.3f} "
                                  f"in {seconds:.1f} s (200 steps, bf16, compile {compile_})"
                                  + (f"; error: {run.error}" if run.error else ""))
    model = run.model.eval()
    on_device = sd.generate(model, tok, "The ", max_new_tokens=64, temperature=0)
    cpu_copy = sd.build(run.model.graph).eval()
    cpu_copy.load_state_dict({k: v.float().cpu() for k, v in model.state_dict().items()})
    on_cpu = sd.generate(cpu_copy, tok, "The ", max_new_tokens=64, temperature=0)
    ok &= check("generate", on_device == on_cpu, f"greedy 64 tokens on the device {on_device!r} "
                                                 f"{'==' if on_device == on_cpu else '!='} CPU {on_cpu!r}")
    sampled = [sd.generate(model, tok, "The ", max_new_tokens=64, temperature=0.8, top_k=40, top_p=0.95, seed=1)
               for _ in range(2)]
    streamed = "".join(sd.generate(model, tok, "The ", max_new_tokens=64, temperature=0.8, top_k=40, top_p=0.95,
                                   seed=1, stream=True))
    same = sampled[0] == sampled[1] == streamed and len(sampled[0]) > 0
    ok &= check("sampling", same, f"seeded top-k/top-p sampling on the device repeats itself and streams the same "
                                  f"text: {sampled[0]!r}")
    sd.save(model, tmp / "saved", tokenizer=tok)
    loaded = sd.load(tmp / "saved", device="cpu").eval()
    idx = torch.randint(0, tok.vocab_size, (2, 64), generator=gen)
    with torch.no_grad():
        same = torch.equal(loaded(idx), cpu_copy(idx))
    ok &= check("save-load", same, "sd.save on the device, sd.load on the CPU: logits "
                                   + ("identical" if same else "DIFFER"))

    # stop and resume on the device, with dropout: the device's random state must come back with the weights
    # (float32; CUDA's atomic adds make runs differ in the last bits, so "equal" is within 1e-4 of the loss)
    dropout = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size, dropout=0.1)
    common = {"batch_size": 16, "context": 64, "lr": 3e-3, "warmup": 5, "eval_every": 0, "sample_every": 0,
              "checkpoint_every": 0, "device": str(device), "mlflow": False, "background": False, "progress": False}
    whole = sd.train(dropout, corpus, tok, steps=20, name="gpu-whole", **common)
    holder: list = []
    ready = threading.Event()

    def stop_at_10(step, loss):  # stop() lands while step 10 is computed: step 10 finishes, 11 never starts
        ready.wait(60)
        if step == 10:
            holder[0].stop()
        return loss

    first = sd.train(dropout, corpus, tok, steps=20, name="gpu-first", _hooks={"loss": stop_at_10},
                     **{**common, "background": True})
    holder.append(first)
    ready.set()
    first.wait()
    rest = sd.resume(first, mlflow=False, background=False, progress=False)
    a = [h["loss"] for h in whole.history if h.get("kind") == "train"]
    b = [h["loss"] for h in rest.history if h.get("kind") == "train"]
    gap = max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) == 20 else float("inf")
    ok &= check("resume", first.step == 10 and gap <= 1e-4,
                f"stopped at step {first.step} of 20, resumed to {rest.step}: largest loss difference to an "
                f"uninterrupted run {gap:.2e} (≤ 1e-4; dropout 0.1)")
    torch.backends.cuda.matmul.allow_tf32 = tf32
    return ok


# ------------------------------------------------------------------ part 2: throughput
def matmul_rate(device: torch.device) -> float | None:
    """bf16 8192³ matrix products on random data: the chip's practical ceiling, measured now."""
    if device.type != "cuda":
        return None
    a, b = (torch.randn(8192, 8192, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        a @ b
    end.record()
    end.synchronize()
    return 20 * 2 * 8192**3 / (start.elapsed_time(end) / 1e3)


def report(label: str, tokens_per_s: float, flops_per_token: float, peak: float | None, ceiling: float | None):
    achieved = tokens_per_s * flops_per_token
    entry = {"tokens_per_s": tokens_per_s, "tflops": achieved / 1e12}
    line = f"  {label:<30} {tokens_per_s:>12,.0f} tokens/s  {achieved / 1e12:7.1f} TFLOP/s"
    if peak:
        entry["mfu"] = achieved / peak
        line += f"  MFU {achieved / peak:6.1%} of {peak / 1e12:.0f} (data sheet)"
    if ceiling:
        entry["of_measured_matmul"] = achieved / ceiling
        line += f", {achieved / ceiling:6.1%} of {ceiling / 1e12:.0f} (measured bf16 matmul)"
    RESULTS["throughput"][label] = entry
    print(line, flush=True)


def raw_loop(model, args, device) -> float:
    vocab = model.vocab_size
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), fused=device.type == "cuda")
    step_model = model if args.no_compile else torch.compile(model)
    amp = torch.autocast(device.type, dtype=torch.bfloat16)
    batches = [torch.randint(0, vocab, (args.batch, args.context + 1), device=device) for _ in range(4)]

    def step(i: int) -> torch.Tensor:
        idx = batches[i % len(batches)]
        with amp:
            logits = step_model(idx[:, :-1])
            loss = F.cross_entropy(logits.float().flatten(0, 1), idx[:, 1:].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    sync(device)
    RESULTS["throughput"]["raw_warmup_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(args.steps):
        loss = step(i)
    loss.item()
    sync(device)
    return args.steps * args.batch * args.context / (time.perf_counter() - t0)


def trainer_loop(graph, args, device) -> tuple[float, str]:
    """sd.train on the same design; tokens/s from its own Step events once warm-up (compilation) is over."""
    tok = sd.tokenizers.byte()
    need = (args.batch * (args.context + 1)) * 12  # enough text for train and validation windows
    corpus = sd.data.synthetic("grammar", n=max(2000, need // 30), seed=0)
    total = args.warmup + args.steps
    run = sd.train(graph, corpus, tok, steps=total, batch_size=args.batch, context=args.context, lr=6e-4,
                   warmup=args.warmup, eval_every=0, sample_every=0, checkpoint_every=0, device=str(device),
                   dtype="bfloat16", compile=not args.no_compile, mlflow=False, background=False, progress=False,
                   name="gpu-bench", betas=(0.9, 0.95))
    if run.status != "finished":
        raise SystemExit(f"sd.train did not finish: {run.status} {run.error}")
    steps = [(e.step, e.elapsed) for e in run.events if type(e).__name__ == "Step" and e.step >= args.warmup]
    (s0, e0), (s1, e1) = steps[0], steps[-1]
    if s1 == s0:
        raise SystemExit("too few Step events after warm-up; raise --steps")
    return args.batch * args.context * (s1 - s0) / (e1 - e0), f"steps {s0}→{s1} in {e1 - e0:.2f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--size", default="124M")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=60, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10, help="steps before timing (compilation happens here)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--skip-checks", action="store_true")
    ap.add_argument("--no-padded", action="store_true", help="skip the run with the vocabulary padded to 64")
    ap.add_argument("--out", default=os.environ.get("OUT"), help="folder for bench_gpu.json")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: this benchmark is for a machine with a GPU (or pass --device cpu for a smoke test)")
        return 0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    RESULTS["device"] = name
    RESULTS["torch"] = torch.__version__
    RESULTS["args"] = vars(args)
    print(f"device {name}; torch {torch.__version__}", flush=True)
    os.environ.setdefault("SLAMDUNK_RUNS_DIR", tempfile.mkdtemp(prefix="slamdunk-gpu-runs-"))
    ok = True
    if not args.skip_checks:
        with tempfile.TemporaryDirectory() as tmp:
            ok = run_checks(device, not args.no_compile, Path(tmp))
        save(args)

    torch.backends.cuda.matmul.allow_tf32 = True
    graph = sd.template("gpt2", size=args.size, context=args.context)
    analysis = sd.analyze(graph, batch_size=args.batch, context=args.context, dtype="bfloat16")
    flops = analysis.train_flops_per_token
    peak, ceiling = peak_flops(device), matmul_rate(device)
    print(f"throughput: gpt2-{args.size} ({analysis.params:,} params), batch {args.batch} × {args.context}, bf16 "
          f"autocast, compile {not args.no_compile}; {flops / 1e6:.1f} M training FLOPs/token", flush=True)
    torch.manual_seed(0)
    model = sd.build(graph, device=device)
    report("raw loop", raw_loop(model, args, device), flops, peak, ceiling)
    del model
    if device.type == "cuda":
        RESULTS["throughput"]["raw_peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    save(args)
    speed, span = trainer_loop(graph, args, device)
    report("sd.train", speed, flops, peak, ceiling)
    print(f"  sd.train / raw loop: {speed / RESULTS['throughput']['raw loop']['tokens_per_s']:.3f} ({span})")
    if device.type == "cuda":
        RESULTS["throughput"]["train_peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        print(f"  peak memory: raw loop {RESULTS['throughput']['raw_peak_memory_gib']:.1f} GiB, sd.train "
              f"{RESULTS['throughput']['train_peak_memory_gib']:.1f} GiB")
    save(args)
    vocab = analysis.plan.vocab_size
    if not args.no_padded and vocab % 64:
        # what a vocabulary padded to a multiple of 64 (nanoGPT's 50,304) would buy: the same run, the padded
        # model's own FLOPs per token
        padded = sd.template("gpt2", size=args.size, context=args.context, vocab_size=-(-vocab // 64) * 64)
        padded_flops = sd.analyze(padded, batch_size=args.batch, context=args.context).train_flops_per_token
        speed, span = trainer_loop(padded, args, device)
        report(f"sd.train, vocab {vocab} → {-(-vocab // 64) * 64}", speed, padded_flops, peak, ceiling)
        save(args)
    if peak:
        mfu = RESULTS["throughput"]["sd.train"]["mfu"]
        print(f"goal: sd.train MFU ≥ 40% → {mfu:.1%} {'met' if mfu >= 0.40 else 'NOT met'}")
    failed = [k for k, v in RESULTS["checks"].items() if not v["ok"]]
    print("checks:", "skipped" if args.skip_checks else "FAILED: " + ", ".join(failed) if failed else "all passed")
    save(args)
    return 0 if ok else 1


def save(args) -> None:
    """Write what is known so far (a run cut short by the device's time limit still leaves its figures)."""
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "bench_gpu.json").write_text(json.dumps(RESULTS, indent=2, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
