"""Tests for slamdunk_lab.tokenizers: round trips, save/load, fingerprints, offline errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
from helpers import SHAKESPEARE

from slamdunk_lab import data, tokenizers
from slamdunk_lab.tokenizers import TokenizerUnavailableError

REPO = Path(__file__).resolve().parents[1]

UNICODE_SAMPLE = (
    "Hello, world! Ünïcödé café naïve — “quotes” ‘single’ …\n"
    "日本語のテキスト、中文字符, 한국어 텍스트. Ελληνικά, русский, עברית, العربية.\n"
    "Emoji: 🤖🧠🏀 👩‍👩‍👧‍👦 🇫🇷; math ∑ √ ∞ ≠; tabs\tand  double  spaces\r\n"
    "Special-looking text <|endoftext|> stays text. Control \x00\x07 chars and combining e\u0301.\n"
)

@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def training_corpus() -> data.Corpus:
    grammar = data.synthetic("grammar", n=400, seed=0)
    return data.Corpus(grammar.docs + [UNICODE_SAMPLE] * 3, name="mix")


@pytest.fixture(scope="module")
def small_bpe(training_corpus):
    return tokenizers.bpe(training_corpus, vocab_size=400)


# ------------------------------------------------------------------ char


def test_char_vocab_is_sorted_set():
    tok = tokenizers.char("hello world")
    assert tok.chars == sorted(set("hello world"))
    assert tok.vocab_size == 8 and tok.eos_id is None
    assert tok.encode("hello") == [3, 2, 4, 4, 5]
    assert tok.decode([3, 2, 4, 4, 5]) == "hello"


def test_char_round_trips_unicode_sample():
    tok = tokenizers.char(UNICODE_SAMPLE)
    ids = tok.encode(UNICODE_SAMPLE)
    assert len(ids) == len(UNICODE_SAMPLE)
    assert tok.decode(ids) == UNICODE_SAMPLE
    assert tok.encode_array(UNICODE_SAMPLE).tolist() == ids


def test_char_unknown_character_error_names_it():
    tok = tokenizers.char("abc")
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\) at position 2"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="U\\+1F916"):
        tok.encode("🤖")


def test_char_unk_mode_maps_unknown_characters():
    tok = tokenizers.char("abc", unk="?")
    assert tok.vocab_size == 4
    assert tok.decode(tok.encode("a🤖zc")) == "a??c"


def test_char_from_corpus_uses_all_documents():
    tok = tokenizers.char(data.Corpus(["ab", "cd"]))
    assert tok.chars == ["\n", "a", "b", "c", "d"]  # "\n" from the default "\n\n" separator


def test_char_on_shakespeare_has_65_symbols():
    text = SHAKESPEARE.read_text(encoding="utf-8")
    tok = tokenizers.char(text)
    assert tok.vocab_size == 65  # the well-known nanoGPT figure
    assert tok.decode(tok.encode_array(text)) == text


def test_decode_rejects_ids_outside_vocab():
    with pytest.raises(ValueError, match="Token id 3 at position 1 .*0..2"):
        tokenizers.char("abc").decode([0, 3])
    with pytest.raises(ValueError, match="Token id 256"):
        tokenizers.byte().decode([256])
    with pytest.raises(ValueError, match="Token id -1"):
        tokenizers.byte().decode([-1])


# ------------------------------------------------------------------ byte


def test_byte_round_trip_and_ids():
    tok = tokenizers.byte()
    assert tok.vocab_size == 256 and tok.eos_id is None
    assert tok.encode("hé") == [104, 195, 169]
    assert tok.decode(tok.encode(UNICODE_SAMPLE)) == UNICODE_SAMPLE
    assert tok.encode_array(UNICODE_SAMPLE).tolist() == list(UNICODE_SAMPLE.encode())


def test_byte_decode_replaces_invalid_utf8():
    # 195 starts a two-byte sequence that never finishes
    assert tokenizers.byte().decode([104, 195]) == "h\ufffd"


# ------------------------------------------------------------------ bpe


def test_bpe_round_trips_arbitrary_unicode(small_bpe):
    for text in [UNICODE_SAMPLE, "", " ", "\n\n\n", "never seen: ☃ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010ffff", "a" * 1000]:
        assert small_bpe.decode(small_bpe.encode(text)) == text


def test_bpe_learns_merges_and_has_eos(small_bpe, training_corpus):
    assert small_bpe.vocab_size == 400
    assert small_bpe.eos_id is not None
    assert small_bpe.decode([small_bpe.eos_id]) == "<|endoftext|>"
    sentence = training_corpus.docs[0]
    # merges make it shorter than its UTF-8 bytes
    assert len(small_bpe.encode(sentence)) < len(sentence.encode()) / 2


def test_bpe_treats_special_token_text_as_text(small_bpe):
    ids = small_bpe.encode("a <|endoftext|> b")
    assert small_bpe.eos_id not in ids


def test_bpe_training_is_deterministic(training_corpus, small_bpe):
    again = tokenizers.bpe(training_corpus, vocab_size=400)
    assert again.fingerprint() == small_bpe.fingerprint()
    assert again.encode(UNICODE_SAMPLE) == small_bpe.encode(UNICODE_SAMPLE)


def test_bpe_rejects_tiny_vocab():
    with pytest.raises(ValueError, match="at least 257.*got 100"):
        tokenizers.bpe("abc", vocab_size=100)


# ------------------------------------------------------------------ save / load / fingerprint


def _assert_identical(original, reloaded):
    assert type(reloaded) is type(original)
    assert reloaded.kind == original.kind and reloaded.name == original.name
    assert reloaded.vocab_size == original.vocab_size
    assert reloaded.eos_id == original.eos_id
    assert reloaded.fingerprint() == original.fingerprint()
    sample = UNICODE_SAMPLE
    assert reloaded.encode(sample) == original.encode(sample)
    assert reloaded.decode(original.encode(sample)) == original.decode(original.encode(sample))


def _saved_files_are_text(folder: Path):
    names = sorted(p.name for p in folder.iterdir())
    assert "tokenizer.json" in names
    for p in folder.iterdir():
        p.read_bytes().decode("utf-8")  # JSON/text only: never pickle
    header = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert header["format"] == "slamdunk_lab.tokenizer"
    return names


@pytest.mark.parametrize(
    "make",
    [lambda: tokenizers.char(UNICODE_SAMPLE), lambda: tokenizers.byte()],
    ids=["char", "byte"],
)
def test_save_load_identical_simple_kinds(make, tmp_path):
    tok = make()
    path = tok.save(tmp_path / "t")
    assert _saved_files_are_text(path) == ["tokenizer.json"]
    _assert_identical(tok, tokenizers.load(path))


def test_save_load_keeps_char_unk_mode(tmp_path):
    tok = tokenizers.char("abc", unk="?")
    reloaded = tokenizers.load(tok.save(tmp_path / "t"))
    assert reloaded.unk == "?" and reloaded.fingerprint() == tok.fingerprint()
    assert reloaded.encode("abc🤖") == tok.encode("abc🤖") == [1, 2, 3, 0]


def test_save_load_char_with_lone_surrogate(tmp_path):
    # Python str may hold lone surrogates and the char tokenizer encodes them; saving must work too.
    tok = tokenizers.char("ab\ud800é")
    path = tok.save(tmp_path / "t")
    _saved_files_are_text(path)
    reloaded = tokenizers.load(path)
    assert reloaded.chars == tok.chars
    assert reloaded.fingerprint() == tok.fingerprint()
    assert reloaded.decode(reloaded.encode("a\ud800é")) == "a\ud800é"


def test_save_load_identical_bpe(small_bpe, tmp_path):
    path = small_bpe.save(tmp_path / "bpe")
    assert _saved_files_are_text(path) == ["hf_tokenizer.json", "tokenizer.json"]
    _assert_identical(small_bpe, tokenizers.load(path))


def test_hf_loads_plain_tokenizer_json(small_bpe, tmp_path):
    path = small_bpe.save(tmp_path / "bpe")
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(path / "hf_tokenizer.json", plain / "tokenizer.json")
    tok = tokenizers.hf(plain)
    assert tok.kind == "hf" and tok.name == "plain"
    assert tok.eos_id == small_bpe.eos_id  # found <|endoftext|> by itself
    assert tok.encode(UNICODE_SAMPLE) == small_bpe.encode(UNICODE_SAMPLE)
    _assert_identical(tok, tokenizers.load(tok.save(tmp_path / "resaved")))
    # load() also accepts a bare HF tokenizer.json folder, and hf() accepts our own save
    assert tokenizers.load(plain).encode("hi") == tok.encode("hi")
    assert tokenizers.hf(path).kind == "bpe"


def test_hf_on_own_save_honours_eos_token(small_bpe, tmp_path):
    path = small_bpe.save(tmp_path / "bpe")
    assert tokenizers.hf(path).eos_id == small_bpe.eos_id  # default: the saved one
    tok = tokenizers.hf(path, eos_token="a")
    assert tok.eos_token == "a" and tok.eos_id == small_bpe.backend.token_to_id("a") != small_bpe.eos_id
    assert tok.kind == "bpe" and tok.encode(UNICODE_SAMPLE) == small_bpe.encode(UNICODE_SAMPLE)
    assert tokenizers.hf(path / "tokenizer.json", eos_token="a").eos_id == tok.eos_id
    with pytest.raises(ValueError, match="'NOT-IN-VOCAB' is not in the tokenizer's vocabulary"):
        tokenizers.hf(path, eos_token="NOT-IN-VOCAB")
    char_dir = tokenizers.char("abc").save(tmp_path / "char")
    with pytest.raises(ValueError, match="eos_token='a' cannot be applied.*'char'"):
        tokenizers.hf(char_dir, eos_token="a")


def test_hf_bad_file_and_missing_path(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"not": "a tokenizer"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid Hugging Face tokenizer.json"):
        tokenizers.hf(bad)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        tokenizers.hf(tmp_path / "missing.json")


def test_hf_hub_id_offline_fails_fast():
    start = time.perf_counter()
    with pytest.raises(TokenizerUnavailableError, match="'gpt2'.*HF_HUB_OFFLINE.*local tokenizer.json"):
        tokenizers.hf("gpt2")
    assert time.perf_counter() - start < 10


def test_fingerprints_distinguish_tokenizers(small_bpe, training_corpus):
    prints = {
        tokenizers.char("abc").fingerprint(),
        tokenizers.char("abd").fingerprint(),
        tokenizers.char("abc", unk="?").fingerprint(),
        tokenizers.byte().fingerprint(),
        small_bpe.fingerprint(),
        tokenizers.bpe(training_corpus, vocab_size=300).fingerprint(),
    }
    assert len(prints) == 6
    assert tokenizers.char("cba").fingerprint() == tokenizers.char("abc").fingerprint()


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No saved tokenizer"):
        tokenizers.load(tmp_path / "nothing")
    other = tmp_path / "other"
    other.mkdir()
    (other / "tokenizer.json").write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="not written by slamdunk_lab"):
        tokenizers.load(other)
    future = tmp_path / "future"
    tokenizers.byte().save(future)
    header = json.loads((future / "tokenizer.json").read_text())
    header["format_version"] = 99
    (future / "tokenizer.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match="format_version 99"):
        tokenizers.load(future)


def _damaged_save(tmp_path, tok, change) -> Path:
    folder = tok.save(tmp_path / "damaged")
    header = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    change(header)
    (folder / "tokenizer.json").write_text(json.dumps(header), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "make, change, message",
    [
        (tokenizers.byte, lambda h: h.update(format_version="1"),
         r"field 'format_version' must be an integer, got '1'"),
        (tokenizers.byte, lambda h: h.pop("vocab_size"), r"no field 'vocab_size'"),
        (lambda: tokenizers.char("abc"), lambda h: h["config"].pop("chars"), r"no field 'config.chars'"),
        (lambda: tokenizers.char("abc"), lambda h: h["config"].update(chars=["a", "b"]),
         r"field 'config.chars' must be a string of characters, got \['a', 'b'\]"),
        (lambda: tokenizers.char("abc"), lambda h: h.update(config=[]), r"field 'config' must be an object"),
        (lambda: tokenizers.bpe("the cat sat", vocab_size=300), lambda h: h.pop("name"), r"no field 'name'"),
        (lambda: tokenizers.bpe("the cat sat", vocab_size=300), lambda h: h["config"].pop("tokenizer_file"),
         r"no field 'config.tokenizer_file'"),
    ],
    ids=["version-text", "no-vocab-size", "no-chars", "chars-list", "config-list", "no-name", "no-file"],
)
def test_load_damaged_header_names_file_and_field(tmp_path, make, change, message):
    folder = _damaged_save(tmp_path, make(), change)
    with pytest.raises(ValueError, match=r"damaged[/\\]tokenizer\.json' is damaged: .*" + message):
        tokenizers.load(folder)


def test_load_missing_data_file_names_it(small_bpe, tmp_path):
    folder = small_bpe.save(tmp_path / "bpe")
    (folder / "hf_tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"'hf_tokenizer.json' \(config.tokenizer_file\), which is missing"):
        tokenizers.load(folder)


def _point_data_file_at(folder: Path, key: str, target: str) -> None:
    header = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    header["config"][key] = target
    (folder / "tokenizer.json").write_text(json.dumps(header), encoding="utf-8")


@pytest.mark.parametrize(
    "target",
    ["../elsewhere/secret.json", "ABSOLUTE", "/etc/hostname", "..", ".", "", "sub/hf_tokenizer.json",
     "sub\\hf_tokenizer.json", "hf_tokenizer.json\x00"],
    ids=["dot-dot", "absolute-valid-json", "etc-hostname", "parent", "self", "empty", "subfolder", "backslash",
         "nul"],
)
def test_load_refuses_a_data_file_outside_the_folder(small_bpe, tmp_path, target):
    # A downloaded tokenizer folder must not make load() read a file elsewhere on the machine.
    folder = small_bpe.save(tmp_path / "bpe")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(folder / "hf_tokenizer.json", elsewhere / "secret.json")  # a valid file: only the path is wrong
    (folder / "sub").mkdir()
    shutil.copy(folder / "hf_tokenizer.json", folder / "sub" / "hf_tokenizer.json")
    target = str(elsewhere / "secret.json") if target == "ABSOLUTE" else target
    _point_data_file_at(folder, "tokenizer_file", target)
    with pytest.raises(ValueError, match=r"bpe[/\\]tokenizer\.json' is damaged or unsafe: field "
                                         r"'config\.tokenizer_file' must be the plain name of a file"):
        tokenizers.load(folder)


def test_load_refuses_a_data_file_that_links_outside_the_folder(small_bpe, tmp_path):
    folder = small_bpe.save(tmp_path / "bpe")
    outside = tmp_path / "secret.json"
    os.replace(folder / "hf_tokenizer.json", outside)
    try:
        (folder / "hf_tokenizer.json").symlink_to(outside)
    except OSError:
        pytest.skip("symlinks are not available here")
    with pytest.raises(ValueError, match=r"'hf_tokenizer.json' \(config.tokenizer_file\) is a link to "
                                         r".*secret\.json', outside"):
        tokenizers.load(folder)
    # a link that stays inside the folder is fine, and so is a folder reached through a link
    os.replace(outside, folder / "real.json")
    (folder / "hf_tokenizer.json").unlink()
    (folder / "hf_tokenizer.json").symlink_to("real.json")
    (tmp_path / "alias").symlink_to(folder)
    for where in (folder, tmp_path / "alias"):
        assert tokenizers.load(where).encode(UNICODE_SAMPLE) == small_bpe.encode(UNICODE_SAMPLE)


def test_load_refuses_a_tiktoken_ranks_file_outside_the_folder(tmp_path):
    pytest.importorskip("tiktoken")
    tok = tokenizers.TiktokenTokenizer("toy", r"""\S+|\s+""", {bytes([i]): i for i in range(256)},
                                       {"<|endoftext|>": 256})
    folder = tok.save(tmp_path / "toy")
    os.replace(folder / "mergeable_ranks.tiktoken", tmp_path / "ranks.tiktoken")
    for target in ("../ranks.tiktoken", str(tmp_path / "ranks.tiktoken")):
        _point_data_file_at(folder, "ranks_file", target)
        with pytest.raises(ValueError, match=r"field 'config\.ranks_file' must be the plain name of a file"):
            tokenizers.load(folder)


# ------------------------------------------------------------------ tiktoken


def test_tiktoken_gpt2_known_ids(gpt2):
    assert gpt2.vocab_size == 50257 and gpt2.eos_id == 50256
    assert gpt2.encode("hello world") == [31373, 995]
    assert gpt2.decode(gpt2.encode(UNICODE_SAMPLE)) == UNICODE_SAMPLE
    assert 50256 not in gpt2.encode("<|endoftext|>")  # ordinary text, not the special id


def test_tiktoken_save_load_identical_without_network(gpt2, tmp_path, monkeypatch):
    path = gpt2.save(tmp_path / "gpt2")
    assert _saved_files_are_text(path) == ["mergeable_ranks.tiktoken", "tokenizer.json"]
    # Reloading must not need tiktoken's download cache at all.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    _assert_identical(gpt2, tokenizers.load(path))


def test_tiktoken_missing_files_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(TokenizerUnavailableError, match="'cl100k_base' is not cached") as e:
        tokenizers.tiktoken("cl100k_base")
    assert time.perf_counter() - start < 10
    name = hashlib.sha1(b"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken").hexdigest()
    assert name in str(e.value)


def test_tiktoken_unknown_name():
    with pytest.raises(ValueError, match="'gpt5'.*'gpt2'.*'o200k_base'"):
        tokenizers.tiktoken("gpt5")


def test_tiktoken_unassigned_ids_decode_to_replacement_character(tmp_path):
    pytest.importorskip("tiktoken")
    # Like cl100k_base (100256 unused): a gap between the byte ranks and <|endoftext|>.
    ranks = {bytes([i]): i for i in range(256)}
    tok = tokenizers.TiktokenTokenizer("toy", r"""'s|\s+|\S+""", ranks, {"<|endoftext|>": 300})
    assert tok.vocab_size == 301 and tok.eos_id == 300
    assert tok.decode([260]) == "\ufffd"
    ids = tok.encode("hi ") + [260, 299] + tok.encode("é") + [300]
    assert tok.decode(ids) == "hi \ufffd\ufffdé<|endoftext|>"
    assert tok.decode(tok.encode(UNICODE_SAMPLE)) == UNICODE_SAMPLE  # assigned ids are unaffected
    every_id = tok.decode(range(tok.vocab_size))  # what an untrained model may sample: never raises
    assert every_id.count("\ufffd") >= 300 - 256
    assert tokenizers.load(tok.save(tmp_path / "toy")).decode([0x68, 260]) == "h\ufffd"


def test_encode_array_matches_encode_for_every_kind(small_bpe):
    for tok in (tokenizers.char(UNICODE_SAMPLE), tokenizers.byte(), small_bpe):
        arr = tok.encode_array(UNICODE_SAMPLE)
        assert arr.dtype == np.int64 and arr.tolist() == tok.encode(UNICODE_SAMPLE)
        batch = tok.encode_batch([UNICODE_SAMPLE, "abc"])
        assert [b.tolist() for b in batch] == [tok.encode(UNICODE_SAMPLE), tok.encode("abc")]


def test_char_from_multi_document_corpus_covers_its_separator():
    corpus = data.Corpus(["ab", "cd"], separator="|")
    assert tokenizers.char(corpus).chars == ["a", "b", "c", "d", "|"]
    assert tokenizers.char(data.Corpus(["ab"], separator="|")).chars == ["a", "b"]  # never joined
