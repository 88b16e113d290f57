"""Time char- and byte-level tokenizing of tiny Shakespeare (target: well under 1 s each).

Usage::

    python bench/bench_tokenize.py [path/to/tinyshakespeare.txt]

Without a path it uses ``$SLAMDUNK_DATA_DIR/tinyshakespeare.txt``, then
``../shared/data/tinyshakespeare.txt`` next to the repository.  It prints
timings only; nothing is asserted.  The cache goes to a temporary folder,
so both a cold build and a warm cache hit are measured.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

# Run from a checkout without installing: put the repository root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slamdunk_lab import data, tokenizers
from slamdunk_lab.tokcache import tokenize_corpus


def find_corpus(argv: list[str]) -> Path:
    """The Shakespeare file to benchmark, or exit with a message saying where it was looked for."""
    candidates = [Path(a) for a in argv[1:2]]
    if os.environ.get("SLAMDUNK_DATA_DIR"):
        candidates.append(Path(os.environ["SLAMDUNK_DATA_DIR"]) / "tinyshakespeare.txt")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt")
    for path in candidates:
        if path.is_file():
            return path
    sys.exit("tinyshakespeare.txt not found; looked in: " + ", ".join(map(str, candidates)))


def timed(label: str, fn):
    """Run fn once, print how long it took, and return its result."""
    start = time.perf_counter()
    result = fn()
    print(f"{label:<42s} {time.perf_counter() - start:8.3f} s")
    return result


def bench_tokenizer(tok, corpus: data.Corpus, cache: str) -> None:
    """Time encode, decode and a cold + warm tokenize_corpus for one tokenizer."""
    ids = timed(f"{tok.name}: encode whole text", lambda: tok.encode_array(corpus.docs[0]))
    timed(f"{tok.name}: decode whole text", lambda: tok.decode(ids))
    tc = timed(f"{tok.name}: tokenize_corpus (cold)", lambda: tokenize_corpus(corpus, tok, cache))
    timed(f"{tok.name}: tokenize_corpus (cache hit)", lambda: tokenize_corpus(corpus, tok, cache))
    print(f"  -> {tc}")


def main(argv: list[str]) -> None:
    path = find_corpus(argv)
    corpus = timed("load file", lambda: data.file(path))
    print(f"corpus: {corpus}")
    with tempfile.TemporaryDirectory() as cache:
        bench_tokenizer(timed("char: build tokenizer", lambda: tokenizers.char(corpus)), corpus, cache)
        bench_tokenizer(tokenizers.byte(), corpus, cache)


if __name__ == "__main__":
    main(sys.argv)
