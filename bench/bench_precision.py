"""dtype="auto" against the hand-written float32 GPT: speed side by side, and quality against sd.train float32.

Configs (GPT-2 shape: learned positions, pre-LayerNorm, GELU MLP 4×, tied head; Tiny Shakespeare, char vocab):

* ``baby``: 4 layers, 4 heads, width 128, context 64, batch 12 (bench_train.py's);
* ``10.7M``: 6 layers, 6 heads, width 384, context 256, batch 8 (nanoGPT's shakespeare_char);
* ``124M``: GPT-2 small, 12 layers, 12 heads, width 768, vocabulary 50,257, context 256, batch 4.

``--speed``: for each config, in one process, repeats of [the hand-written float32 loop
(``handwritten_gpt.train_steps``), ``sd.train(dtype="auto")`` headless] back to back, the order alternating per
repeat; tokens/s of each (sd.train's from its own ``Finished.elapsed``: the training loop after set-up, i.e.
after the precision probe) and the median of the per-repeat ratios. The probe runs once per config (the first
sd.train; later ones read the machine record, as a user's runs do). The auto choice, its reason and the MFU of
the last repeat are printed. Goals: 10.7M ≥ 1.5×, baby ≥ 1.0×, 124M ≥ 1.4×.

``--quality``: ``sd.train`` with ``dtype="float32"`` and ``dtype="auto"`` from the same seed, the final
validation loss of each (``eval_batches`` 20). Goal: |auto − float32| ≤ 0.03 after 2000 steps.

    .venv/bin/python bench/bench_precision.py --speed [--configs baby,10.7M,124M] [--repeats 3]
    .venv/bin/python bench/bench_precision.py --quality [--configs baby,10.7M] [--quality-steps 2000]
        [--quality-dtypes float32|auto]   (one dtype per process, to run the pair side by side)

The load average is printed at the start and end of each part (the machine is shared: 2 cores, 5 other agents).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_train import shakespeare_path
from handwritten_gpt import GPT, GPTConfig, train_steps

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.session import train
from slamdunk_lab.tokcache import tokenize_corpus
from slamdunk_lab.training import Finished, Started
from slamdunk_lab.training.precision import mfu

CONFIGS = {
    "baby": {"model": {"n_layer": 4, "n_head": 4, "d_model": 128, "context": 64}, "batch": 12, "steps": 100},
    "10.7M": {"model": {"n_layer": 6, "n_head": 6, "d_model": 384, "context": 256}, "batch": 8, "steps": 8},
    "124M": {"model": {"n_layer": 12, "n_head": 12, "d_model": 768, "context": 256}, "batch": 4, "steps": 2,
             "vocab": 50257},
}


def load() -> str:
    return f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def graph_of(name: str, vocab: int) -> dict:
    c = CONFIGS[name]
    return sd.template("gpt2", size="tiny", vocab_size=c.get("vocab", vocab), **c["model"])


def hand_tokens_per_s(name: str, vocab: int, tokens, steps: int) -> float:
    c = CONFIGS[name]
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=c.get("vocab", vocab), **c["model"]))
    seconds = train_steps(model, tokens, steps, c["batch"], c["model"]["context"])
    return steps * c["batch"] * c["model"]["context"] / seconds


def auto_run(name: str, vocab: int, tokenized, steps: int, **kw):
    c = CONFIGS[name]
    settings = {"steps": steps, "batch_size": c["batch"], "context": c["model"]["context"], "eval_every": 0,
                "sample_every": 0, "checkpoint_every": 0, "warmup": 10, "mlflow": False, "background": False,
                "progress": False, "device": "cpu", "dtype": "auto", **kw}
    run = train(graph_of(name, vocab), tokenized, None, **settings)
    assert run.status == "finished", run.error
    return run


def speed(names: list[str], repeats: int, vocab: int, tokenized) -> None:
    print(f"== speed: hand-written float32 loop vs sd.train(dtype='auto'); torch threads {torch.get_num_threads()}; "
          f"{load()}")
    for name in names:
        c = CONFIGS[name]
        steps = c["steps"]
        t0 = time.perf_counter()
        first = auto_run(name, vocab, tokenized, 1)  # the probe (once per machine and design), then warm
        started = next(e for e in first.events if isinstance(e, Started))
        print(f"-- {name}: {sd.analyze(graph_of(name, vocab)).params:,} parameters, batch {c['batch']}, context "
              f"{c['model']['context']}; probe + first run {time.perf_counter() - t0:.1f} s; choice "
              f"{started.precision['dtype']}: {started.precision['reason']}")
        hand_tokens_per_s(name, vocab, tokenized.train, 1)  # warm-up
        hand, lib, mfus = [], [], []
        for i in range(repeats):
            order = ("hand", "auto") if i % 2 == 0 else ("auto", "hand")
            for who in order:
                if who == "hand":
                    hand.append(hand_tokens_per_s(name, vocab, tokenized.train, steps))
                else:
                    run = auto_run(name, vocab, tokenized, steps)
                    fin = next(e for e in run.events if isinstance(e, Finished))
                    lib.append(steps * c["batch"] * c["model"]["context"] / fin.elapsed)
                    st = next(e for e in run.events if isinstance(e, Started))
                    mfus.append(mfu(st.flops_per_token, lib[-1], st.peak_flops))
        ratios = sorted(a / b for a, b in zip(lib, hand))
        print(f"   hand-written float32: {', '.join(f'{x:.0f}' for x in hand)} tok/s (median "
              f"{statistics.median(hand):.0f})")
        print(f"   sd.train auto ({started.precision['dtype']}): {', '.join(f'{x:.0f}' for x in lib)} tok/s (median "
              f"{statistics.median(lib):.0f}); MFU {statistics.median(mfus):.1%} of the measured "
              f"{started.peak_flops / 1e9:.0f} GFLOP/s {started.precision['dtype']} matmul peak")
        print(f"   ratio auto / hand-written per repeat: {', '.join(f'{r:.2f}' for r in ratios)}; median "
              f"{statistics.median(ratios):.2f}×; {load()}")


def quality(names: list[str], steps: dict[str, int], vocab: int, tokenized,
            dtypes: tuple[str, ...] = ("float32", "auto")) -> None:
    print(f"== quality: final validation loss, sd.train {' vs '.join(dtypes)}, same seed; {load()}")
    for name in names:
        n = steps[name]
        out = {}
        for dtype in dtypes:
            t0 = time.perf_counter()
            run = auto_run(name, vocab, tokenized, n, dtype=dtype, eval_every=n // 4 or n, eval_batches=20,
                           warmup=100)
            st = next(e for e in run.events if isinstance(e, Started))
            evals = [h for h in run.history if h["kind"] == "eval"]
            out[dtype] = evals[-1]["val_loss"]
            print(f"-- {name} {dtype} ({st.dtype}): {n} steps in {time.perf_counter() - t0:.0f} s; val loss "
                  + ", ".join(f"{e['step']}: {e['val_loss']:.4f}" for e in evals) + f"; {load()}")
        if len(out) < 2:  # one dtype per process (--quality-dtypes): compare the two printed losses by hand
            continue
        diff = out["auto"] - out["float32"]
        print(f"   {name}: val loss auto {out['auto']:.4f} − float32 {out['float32']:.4f} = {diff:+.4f} "
              f"(goal |Δ| ≤ 0.03: {'met' if abs(diff) <= 0.03 else 'NOT met'})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--configs", default=None, help="comma-separated: baby,10.7M,124M")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality-steps", default="2000", help="one number, or name=steps pairs: baby=2000,10.7M=500")
    ap.add_argument("--quality-dtypes", default="float32,auto",
                    help="which sd.train dtypes --quality runs; one per process runs the two side by side, e.g. "
                         "two processes of --threads 1 on two cores")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="bench_precision_")
    os.environ["SLAMDUNK_RUNS_DIR"] = os.path.join(tmp, "runs")
    os.environ.setdefault("SLAMDUNK_CACHE_DIR", os.path.join(tmp, "cache"))  # a fresh machine record: probes run
    corpus = data.file(shakespeare_path(), name="tiny_shakespeare")
    tok = tokenizers.char(corpus)
    tokenized = tokenize_corpus(corpus, tok)
    if args.speed:
        speed((args.configs or "baby,10.7M,124M").split(","), args.repeats, tok.vocab_size, tokenized)
    if args.quality:
        names = (args.configs or "baby,10.7M").split(",")
        if "=" in args.quality_steps:
            steps = {k: int(v) for k, v in (p.split("=") for p in args.quality_steps.split(","))}
        else:
            steps = dict.fromkeys(names, int(args.quality_steps))
        quality(names, steps, tok.vocab_size, tokenized, tuple(args.quality_dtypes.split(",")))
    print(f"done; {load()}")


if __name__ == "__main__":
    main()
