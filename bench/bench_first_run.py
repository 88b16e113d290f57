"""The example notebook's first training (examples/01_build_train_generate.ipynb, section 3) timed as a student
runs it: the same design (GPT-2 tiny, 4 layers, width 128, SwiGLU 352), data (Tiny Shakespeare, characters) and
settings (1500 steps, batch 12, context 64, lr 2e-3, its evaluation, samples and checkpoints). Goal: ≤ 2 minutes
on 2 CPU cores, ending in text that reads like Shakespeare.

    python bench/bench_first_run.py [--threads 1] [--steps 1500]

Prints the wall time, the process's CPU time (on one thread: the wall time the run would take on a free core,
whatever else the machine is doing), tokens per second of each, the load average before and after, the last
validation loss, the monitor's last tokens/s and a sample.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import torch

import slamdunk_lab as sd


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time = a free core's time)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--dtype", default="auto", help="sd.train's dtype (the notebook leaves the default, auto)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before, cpu0, wall0 = os.getloadavg(), cpu_seconds(), time.perf_counter()

    corpus = sd.data.load("tiny_shakespeare")
    tok = sd.tokenizers.char(corpus)
    graph = sd.template("gpt2", size="tiny", n_layer=4, d_model=128, context=64, vocab_size=tok.vocab_size)
    for node in graph["nodes"]:
        if node["id"] == "mlp":
            node["data"].update(activation="swiglu", hidden_dim=352)
    steps = args.steps
    run = sd.train(graph, corpus, tok, steps=steps, batch_size=12, context=64, lr=args.lr,
                   warmup=min(100, steps // 10), eval_every=max(steps // 6, 10), sample_every=max(steps // 3, 10),
                   checkpoint_every=max(steps // 2, 10), dtype=args.dtype, mlflow=False, progress=False,
                   background=False)

    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    tokens = steps * 12 * 64
    last_eval = [h for h in run.history if h["kind"] == "eval"][-1]
    last_step = [e for e in run.events if type(e).__name__ == "Step"][-1]
    started = next(e for e in run.events if type(e).__name__ == "Started")
    print(f"first run: {steps} steps, {tokens:,} tokens, {args.threads} thread(s), dtype {args.dtype} → "
          f"{started.dtype}, torch {torch.__version__}")
    print(f"  wall {wall:.1f} s ({tokens / wall:,.0f} tok/s)   CPU {cpu:.1f} s ({tokens / cpu:,.0f} tok per CPU-second)")
    print(f"  monitor's last tok/s {last_step.tokens_per_s:,.0f}   val loss {last_eval['val_loss']:.3f}")
    print(f"  load average before {load_before[0]:.2f} / after {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("  sample:", sd.generate(run.model, run.tokenizer, "ROMEO:", max_new_tokens=200, temperature=0.8,
                                   top_k=40, seed=0).replace("\n", "\n          "))


if __name__ == "__main__":
    main()
