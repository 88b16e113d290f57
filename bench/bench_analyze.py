"""Median time of sd.analyze on the original-size GPT-2 template (goal: ≤ 20 ms), and every template's size.

    python bench/bench_analyze.py
"""

from __future__ import annotations

import statistics
import time

import slamdunk_lab as sd


def median_ms(fn, repeats: int = 200) -> float:
    fn()  # warm-up: pydantic builds its validators on first use
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    gpt2 = sd.template("gpt2")
    print(f"analyze(gpt2 124M, batch 8, context 1024): median {median_ms(lambda: sd.analyze(gpt2, 8)):.2f} ms")
    llama = sd.template("llama3")
    print(f"analyze(llama3 8B):                        median {median_ms(lambda: sd.analyze(llama)):.2f} ms")
    print()
    print(f"{'template':<10} {'size':<6} {'parameters':>15} {'published':>15} {'fwd GFLOPs/token':>17}")
    for row in sd.templates():
        a = sd.analyze(sd.template(row["name"], size=row["size"]))  # FLOPs at the full context
        pub = f"{row['published_params']:,}" if row["published_params"] else "-"
        print(f"{row['name']:<10} {row['size']:<6} {row['params']:>15,} {pub:>15} {a.flops_per_token / 1e9:>17.3f}")


if __name__ == "__main__":
    main()
