"""Tests for slamdunk_lab.tokcache: cache hits/misses, on-disk format, batches."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
from helpers import SHAKESPEARE
from numpy.lib.stride_tricks import sliding_window_view

from slamdunk_lab import data, tokenizers
from slamdunk_lab.tokcache import TokenizedCorpus, default_cache_dir, tokenize_corpus
from slamdunk_lab.tokenizers import ByteTokenizer


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Never touch the real ~/.cache from tests, even by accident.
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "default-cache"))


@pytest.fixture
def corpus() -> data.Corpus:
    return data.synthetic("grammar", n=300, seed=0)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "tokens"


class WideByteTokenizer(ByteTokenizer):
    """Byte ids shifted past 65536, to exercise the uint32 storage path."""

    kind = "wide-byte-test"
    OFFSET = 70_000

    def __init__(self):
        super().__init__()
        self.vocab_size = self.OFFSET + 256
        self.name = "wide-byte"

    def encode_array(self, text):
        return super().encode_array(text) + self.OFFSET

    def encode(self, text):
        return self.encode_array(text).tolist()

    def decode(self, ids):
        return super().decode([i - self.OFFSET for i in ids])


def test_second_call_is_a_cache_hit(corpus, cache):
    tok = tokenizers.char(corpus)
    first = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert first.cache_hit is False
    mtime = (first.path / "train.bin").stat().st_mtime_ns
    second = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert second.cache_hit is True and second.path == first.path
    assert (second.path / "train.bin").stat().st_mtime_ns == mtime  # not rewritten
    np.testing.assert_array_equal(second.train, first.train)
    np.testing.assert_array_equal(second.val, first.val)


def test_same_content_under_another_name_hits(corpus, cache):
    tok = tokenizers.char(corpus)
    tokenize_corpus(corpus, tok, cache_dir=cache)
    renamed = data.Corpus(list(corpus.docs), name="renamed", source="copy", separator=corpus.separator)
    assert tokenize_corpus(renamed, tok, cache_dir=cache).cache_hit is True


def test_different_tokenizer_or_settings_miss(corpus, cache):
    char = tokenizers.char(corpus)
    base = tokenize_corpus(corpus, char, cache_dir=cache)
    other_tok = tokenize_corpus(corpus, tokenizers.byte(), cache_dir=cache)
    other_split = tokenize_corpus(corpus, char, cache_dir=cache, val_fraction=0.2)
    other_seed = tokenize_corpus(corpus, char, cache_dir=cache, seed=1)
    other_text = tokenize_corpus(data.synthetic("grammar", n=300, seed=1), char, cache_dir=cache)
    for tc in (other_tok, other_split, other_seed, other_text):
        assert tc.cache_hit is False
    assert len({base.path, other_tok.path, other_split.path, other_seed.path, other_text.path}) == 5


def test_on_disk_layout_is_memmap_plus_json(corpus, cache):
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    assert sorted(p.name for p in tc.path.iterdir()) == ["meta.json", "tokenizer", "train.bin", "val.bin"]
    assert isinstance(tc.train, np.memmap) and tc.train.dtype == np.uint16
    meta = json.loads((tc.path / "meta.json").read_text())
    assert meta["train_tokens"] == len(tc.train) and meta["val_tokens"] == len(tc.val)
    assert meta["dtype"] == "uint16" and meta["tokenizer"]["fingerprint"] == tc.tokenizer.fingerprint()
    assert (tc.path / "train.bin").stat().st_size == 2 * len(tc.train)
    # nothing left behind from the atomic build
    assert [p.name for p in cache.iterdir()] == [tc.path.name]


def test_large_vocab_is_stored_as_uint32(cache):
    tok = WideByteTokenizer()
    corpus = data.text(["héllo there", "second doc"])
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert tc.dtype == np.uint32 and tc.train.dtype == np.uint32
    assert int(tc.train.max()) >= 70_000  # values above 65535 survived storage
    assert tokenize_corpus(corpus, tok, cache_dir=cache).cache_hit is True


def test_streams_without_eos_are_the_joined_text(corpus, cache):
    tok = tokenizers.char(corpus)
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    train, val = corpus.split(0.1, seed=0)
    assert tok.decode(tc.train) == "\n".join(train.docs)  # synthetic corpora join with "\n"
    assert tok.decode(tc.val) == "\n".join(val.docs)


def test_streams_with_eos_put_eos_after_each_document(corpus, cache):
    tok = tokenizers.bpe(corpus, vocab_size=300)
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    train, _ = corpus.split(0.1, seed=0)
    expected = []
    for doc in train.docs:
        expected += tok.encode(doc) + [tok.eos_id]
    assert tc.train.tolist() == expected
    assert tc.meta["joined_with"] == "eos"


def test_big_corpus_chunks_match_a_single_encode(cache, monkeypatch):
    from slamdunk_lab import tokcache

    monkeypatch.setattr(tokcache, "_CHUNK_CHARS", 50)  # force many chunks
    corpus = data.Corpus([f"document number {i}" for i in range(40)])
    tok = tokenizers.byte()
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    train, _ = corpus.split()
    assert tok.decode(tc.train) == "\n\n".join(train.docs)


def test_get_batch_returns_real_shifted_windows(corpus, cache):
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    x, y = tc.get_batch("train", batch_size=6, context=12, generator_or_seed=0)
    assert x.shape == y.shape == (6, 12) and x.dtype == y.dtype == np.int64
    windows = sliding_window_view(np.asarray(tc.train, dtype=np.int64), 13)
    for row_x, row_y in zip(x, y):
        full = np.concatenate([row_x, row_y[-1:]])
        assert (windows == full).all(axis=1).any(), "batch row is not a window of the train stream"
        np.testing.assert_array_equal(row_x[1:], row_y[:-1])


def test_get_batch_seeding(corpus, cache):
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    a = tc.get_batch("val", 4, 8, generator_or_seed=5)
    b = tc.get_batch("val", 4, 8, generator_or_seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    rng = np.random.default_rng(5)
    first = tc.get_batch("val", 4, 8, generator_or_seed=rng)
    second = tc.get_batch("val", 4, 8, generator_or_seed=rng)
    np.testing.assert_array_equal(first[0], a[0])  # same stream as the int seed
    assert not np.array_equal(first[0], second[0])  # the generator advanced
    with pytest.raises(TypeError, match="generator_or_seed .* 'abc'"):
        tc.get_batch("val", 4, 8, generator_or_seed="abc")


def test_get_batch_can_reach_the_last_token(cache):
    corpus = data.text(["abcdefghij" * 2])
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)  # train = 18 tokens
    _, y = tc.get_batch("train", batch_size=2000, context=17, generator_or_seed=0)
    # only one window fits, and its target ends on the last training token
    assert (y[:, -1] == tc.train[-1]).all()


def test_get_batch_errors_name_the_problem(corpus, cache):
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    n_val = len(tc.val)
    with pytest.raises(ValueError, match=f"'val' split has {n_val:,} tokens, but context={n_val}"):
        tc.get_batch("val", 2, context=n_val)
    tc.get_batch("val", 2, context=n_val - 1)  # exactly long enough
    with pytest.raises(ValueError, match="'test'"):
        tc.get_batch("test", 2, 8)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        tc.get_batch("train", 0, 8)
    with pytest.raises(ValueError, match="context must be a positive integer, got -3"):
        tc.get_batch("train", 2, -3)


def test_default_cache_dir_follows_env(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "root"))
    assert default_cache_dir() == tmp_path / "root" / "tokens"
    tc = tokenize_corpus(corpus, tokenizers.byte())
    assert tc.path.parent == tmp_path / "root" / "tokens"
    monkeypatch.delenv("SLAMDUNK_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "slamdunk_lab" / "tokens"


def test_damaged_entry_is_rebuilt(corpus, cache):
    tok = tokenizers.char(corpus)
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    expected = np.array(tc.train)
    del tc
    with open(cache / next(cache.iterdir()).name / "train.bin", "r+b") as f:
        f.truncate(10)
    rebuilt = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert rebuilt.cache_hit is False
    np.testing.assert_array_equal(rebuilt.train, expected)


@pytest.mark.parametrize(
    "damage",
    [
        lambda meta: [],
        lambda meta: {"format_version": meta["format_version"]},
        lambda meta: {k: v for k, v in meta.items() if k != "dtype"},
        lambda meta: {**meta, "dtype": "float64"},
        lambda meta: {**meta, "train_tokens": str(meta["train_tokens"])},
        lambda meta: {k: v for k, v in meta.items() if k != "corpus"},
    ],
    ids=["list", "only-version", "no-dtype", "bad-dtype", "count-as-text", "no-corpus"],
)
def test_malformed_meta_is_a_cache_miss_and_rebuilt(corpus, cache, damage):
    tok = tokenizers.char(corpus)
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    expected, meta_path = np.array(tc.train), tc.path / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del tc
    meta_path.write_text(json.dumps(damage(meta)), encoding="utf-8")
    rebuilt = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert rebuilt.cache_hit is False
    np.testing.assert_array_equal(rebuilt.train, expected)
    assert tokenize_corpus(corpus, tok, cache_dir=cache).cache_hit is True
    meta_path.write_text(json.dumps(damage(meta)), encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="not a complete"):
        TokenizedCorpus.open(rebuilt.path)


def test_token_ids_the_tokenizer_cannot_produce_make_the_entry_damaged(corpus, cache):
    """A .bin of the right size holding ids outside the vocabulary (damaged after the fact) is rebuilt, and
    reopening it for a resume names the folder, instead of an IndexError at the first training step."""
    tok = tokenizers.char(corpus)
    tc = tokenize_corpus(corpus, tok, cache_dir=cache)
    expected, path, dtype = np.array(tc.train), tc.path, tc.dtype
    del tc
    bad = np.full(len(expected), tok.vocab_size + 7, dtype=dtype)
    (path / "train.bin").write_bytes(bad.tobytes())
    with pytest.raises(ValueError, match=f"damaged: it holds token id {tok.vocab_size + 7}"):
        TokenizedCorpus.open(path)
    rebuilt = tokenize_corpus(corpus, tok, cache_dir=cache)
    assert rebuilt.cache_hit is False
    np.testing.assert_array_equal(rebuilt.train, expected)


def test_open_reloads_folder_with_its_tokenizer(corpus, cache):
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    again = TokenizedCorpus.open(tc.path)
    assert again.tokenizer.fingerprint() == tc.tokenizer.fingerprint()
    np.testing.assert_array_equal(again.val, tc.val)
    with pytest.raises(FileNotFoundError, match="not a complete"):
        TokenizedCorpus.open(cache / "nope")


def test_rejects_wrong_argument_types(corpus, cache):
    with pytest.raises(TypeError, match="Corpus, got str"):
        tokenize_corpus("raw text", tokenizers.byte(), cache_dir=cache)
    with pytest.raises(TypeError, match="Tokenizer, got str"):
        tokenize_corpus(corpus, "gpt2", cache_dir=cache)


def test_shakespeare_char_split_sizes(cache):
    corpus = data.file(SHAKESPEARE)
    tc = tokenize_corpus(corpus, tokenizers.char(corpus), cache_dir=cache)
    assert (len(tc.train), len(tc.val)) == (1_003_854, 111_540)  # nanoGPT's shakespeare_char sizes
    assert tc.tokenizer.decode(tc.val[:14]) == corpus.docs[0][1_003_854:1_003_868]


def test_separator_the_tokenizer_cannot_encode_is_a_clear_error(cache):
    corpus = data.text(["abc", "cab", "bca"])
    tok = tokenizers.char("abc")  # built from a string: no "\n\n" in its vocabulary
    with pytest.raises(ValueError, match=r"separator '\\n\\n'.*cannot encode"):
        tokenize_corpus(corpus, tok, cache_dir=cache)
    assert not any(cache.iterdir())  # the failed build left nothing behind


def test_bad_split_settings_fail_before_touching_the_cache(corpus, cache):
    with pytest.raises(ValueError, match="val_fraction .* got 0"):
        tokenize_corpus(corpus, tokenizers.byte(), cache_dir=cache, val_fraction=0)
    with pytest.raises(TypeError, match="seed must be an integer, got 'x'"):
        tokenize_corpus(corpus, tokenizers.byte(), cache_dir=cache, seed="x")
    assert not cache.exists()
