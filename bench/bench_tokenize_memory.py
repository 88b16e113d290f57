"""Peak memory of reading and tokenizing one big single-document text (target: at most 3× the file).

Usage::

    python bench/bench_tokenize_memory.py [MB]          # default 200

Writes a text of MB megabytes (Tiny Shakespeare repeated when it is available, else the built-in grammar
corpus) to a temporary folder, then for each tokenizer kind runs one fresh Python process that does
``sd.data.file(path)`` and ``tokenize_corpus(corpus, tok)`` and reports its peak resident memory above what it
used before opening the file (imports and the BPE training excluded). Prints the figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[3])
from slamdunk_lab import data, tokenizers
from slamdunk_lab.tokcache import tokenize_corpus

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

kind, path = sys.argv[1], sys.argv[2]
sample = open(path, encoding="utf-8").read(2_000_000)
tok = {"char": lambda: tokenizers.char(sample + "\n"), "byte": tokenizers.byte,
       "bpe": lambda: tokenizers.bpe(sample, vocab_size=2048)}[kind]()
del sample
base = rss()
t = time.perf_counter()
corpus = data.file(path)
loaded = time.perf_counter() - t
tc = tokenize_corpus(corpus, tok, cache_dir=os.environ["CACHE"])
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"kind": kind, "base": base, "peak": peak, "tokens": len(tc), "load_s": loaded,
                  "total_s": elapsed}))
"""


def make_text(path: Path, megabytes: int) -> int:
    """A UTF-8 text of about ``megabytes`` MB; returns its size in bytes."""
    source = Path(os.environ.get("SLAMDUNK_DATA_DIR", REPO.parent / "shared" / "data")) / "tinyshakespeare.txt"
    if source.is_file():
        block = source.read_text(encoding="utf-8")
    else:
        sys.path.insert(0, str(REPO))
        from slamdunk_lab import data

        block = "\n".join(data.synthetic("grammar", n=20000).docs) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < megabytes * 2**20:
            f.write(block)
            written += len(block.encode("utf-8"))
    return path.stat().st_size


def main(argv: list[str]) -> None:
    megabytes = int(argv[1]) if len(argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        size = make_text(path, megabytes)
        print(f"text: {size / 2**20:.0f} MB, one document")
        print(f"{'tokenizer':<10} {'tokens':>12} {'peak above start':>17} {'× file':>7} {'read s':>7} {'total s':>8}")
        for kind in ("char", "byte", "bpe"):
            env = {**os.environ, "CACHE": str(Path(tmp) / f"cache-{kind}")}
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(REPO)], env=env,
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{kind}: failed after {time.perf_counter() - t:.0f} s\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            above = r["peak"] - r["base"]
            print(f"{kind:<10} {r['tokens']:>12,} {above / 2**20:>13,.0f} MB {above / size:>7.2f} "
                  f"{r['load_s']:>7.1f} {r['total_s']:>8.1f}")


if __name__ == "__main__":
    main(sys.argv)
