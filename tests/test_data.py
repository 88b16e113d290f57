"""Tests for slamdunk_lab.data: corpora, splitting, loaders and synthetic sets."""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from pathlib import Path

# Before anything imports huggingface_hub: a hub lookup must never try the network here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from helpers import SHAKESPEARE

from slamdunk_lab import data
from slamdunk_lab.data import Corpus, DatasetUnreachableError


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("SLAMDUNK_DATA_DIR", raising=False)


@pytest.fixture
def shakespeare_path() -> Path:
    return SHAKESPEARE


# ------------------------------------------------------------------ Corpus


def test_stats_counts_docs_chars_and_tokens():
    from slamdunk_lab import tokenizers

    c = Corpus(["héllo", "ab"], name="demo")
    assert c.stats() == {"docs": 2, "chars": 7}
    # é is two UTF-8 bytes, so the byte tokenizer sees 8 tokens
    assert c.stats(tokenizers.byte()) == {"docs": 2, "chars": 7, "tokens": 8}


def test_corpus_rejects_non_string_documents():
    with pytest.raises(TypeError, match="document 1"):
        Corpus(["ok", 3])
    with pytest.raises(TypeError, match="list of strings"):
        Corpus("just a string")


def test_fingerprint_depends_on_content_and_boundaries_only():
    a = Corpus(["ab", "c"], name="x")
    assert a.fingerprint() == Corpus(["ab", "c"], name="other", source="elsewhere").fingerprint()
    assert a.fingerprint() != Corpus(["a", "bc"]).fingerprint()
    assert a.fingerprint() != Corpus(["abc"]).fingerprint()


def test_split_many_documents_is_whole_document_and_seeded():
    docs = [f"doc {i}" for i in range(100)]
    train, val = Corpus(docs, name="c").split(val_fraction=0.2, seed=3)
    assert (len(train), len(val)) == (80, 20)
    assert Counter(train.docs + val.docs) == Counter(docs)
    # original order is kept inside each half
    assert train.docs == sorted(train.docs, key=docs.index)
    assert val.docs == sorted(val.docs, key=docs.index)
    again = Corpus(docs).split(val_fraction=0.2, seed=3)[1]
    other = Corpus(docs).split(val_fraction=0.2, seed=4)[1]
    assert again.docs == val.docs
    assert other.docs != val.docs
    assert train.name == "c/train" and val.name == "c/val"


def test_split_keeps_at_least_one_document_each_side():
    train, val = Corpus(["a", "b"]).split(val_fraction=0.01)
    assert len(train) == 1 and len(val) == 1
    train, val = Corpus(["a", "b", "c"]).split(val_fraction=0.99)
    assert len(train) == 1 and len(val) == 2


def test_split_single_document_cuts_last_fraction():
    doc = "".join(chr(ord("a") + i % 26) for i in range(1000))
    train, val = Corpus([doc]).split(val_fraction=0.1)
    assert train.docs == [doc[:900]] and val.docs == [doc[900:]]


def test_split_single_document_matches_nanogpt_on_shakespeare(shakespeare_path):
    c = data.file(shakespeare_path)
    train, val = c.split()
    n = len(c.docs[0])
    assert len(train.docs[0]) == int(n * 0.9)
    assert train.docs[0] + val.docs[0] == c.docs[0]


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_split_rejects_bad_fraction_naming_value(bad):
    with pytest.raises(ValueError, match=f"val_fraction.*{bad}"):
        Corpus(["abc", "def"]).split(val_fraction=bad)


def test_split_rejects_too_small_corpus():
    with pytest.raises(ValueError, match="1 characters"):
        Corpus(["x"]).split()
    with pytest.raises(ValueError, match="no documents"):
        Corpus([]).split()


def test_split_keeps_separator():
    train, val = data.synthetic("reverse", n=20).split()
    assert train.separator == val.separator == "\n"


# ------------------------------------------------------------------ text() and file()


def test_text_single_and_list():
    assert data.text("hello").docs == ["hello"]
    assert data.text(["a", "b"]).docs == ["a", "b"]
    with pytest.raises(ValueError, match="empty list"):
        data.text([])
    with pytest.raises(TypeError, match="int"):
        data.text(5)


def test_file_txt_whole_and_split_docs(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("first para\nline two\n\nsecond para\n\n\n\nthird ☃\n", encoding="utf-8")
    whole = data.file(p)
    assert whole.docs == [p.read_text(encoding="utf-8")]
    assert whole.name == "notes" and whole.source == str(p)
    parts = data.file(p, split_docs="\n\n")
    assert [d.strip() for d in parts.docs] == ["first para\nline two", "second para", "third ☃"]


def test_file_txt_windows_and_old_mac_line_endings_read_as_newlines(tmp_path):
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"para one\r\nline\r\n\r\npara two\r\n\r\npara three\r\n")
    assert data.file(crlf).docs == ["para one\nline\n\npara two\n\npara three\n"]
    expected = ["para one\nline", "para two", "para three\n"]
    assert data.file(crlf, split_docs="\n\n").docs == expected
    assert data.file(crlf, split_docs="\r\n\r\n").docs == expected  # normalised the same way
    old_mac = tmp_path / "cr.txt"
    old_mac.write_bytes(b"a\rb\r\rc")
    assert data.file(old_mac, split_docs="\n\n").docs == ["a\nb", "c"]


def test_file_strips_utf8_bom(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes("\ufeffhello".encode("utf-8"))
    assert data.file(p).docs == ["hello"]


def test_file_jsonl(tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"text": "one"}\n\n{"text": "two", "id": 2}\n"three"\n', encoding="utf-8")
    assert data.file(p).docs == ["one", "two", "three"]
    q = tmp_path / "stories.jsonl"
    q.write_text('{"story": "once"}\n{"story": "upon"}\n', encoding="utf-8")
    assert data.file(q, field="story").docs == ["once", "upon"]


def test_file_jsonl_splits_lines_on_newline_only(tmp_path):
    # ensure_ascii=False leaves U+2028, U+2029 and U+0085 raw inside JSON strings (legal JSON);
    # they are not line ends.  Windows line ends are fine too.
    rows = [{"text": "first\u2028second"}, {"text": "next\x85line\u2029end"}, {"text": "plain"}]
    p = tmp_path / "unicode.jsonl"
    lines = (json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows)
    p.write_text("".join(lines), encoding="utf-8", newline="")
    assert data.file(p).docs == [r["text"] for r in rows]
    mac = tmp_path / "old-mac.jsonl"  # lone "\r" line ends (old Mac files, some exporters)
    mac.write_text("".join(json.dumps(r, ensure_ascii=False) + "\r" for r in rows), encoding="utf-8", newline="")
    assert data.file(mac).docs == [r["text"] for r in rows]


def test_file_jsonl_invalid_json_names_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok"}\n{"text": "ok"}\n{"text": broken}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="Line 3 .* not valid JSON"):
        data.file(p)


def test_file_jsonl_missing_field_names_line_and_field(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok"}\n{"body": "no text here"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="Line 2 .*no field 'text'.*'body'"):
        data.file(p)


def test_file_jsonl_non_string_field(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": 12}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="Line 1 .*must be a string, got int"):
        data.file(p)


def test_file_json_list_of_strings_and_objects(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps(["x", "y"]), encoding="utf-8")
    assert data.file(p).docs == ["x", "y"]
    q = tmp_path / "b.json"
    q.write_text(json.dumps([{"content": "x"}, {"content": "y"}]), encoding="utf-8")
    assert data.file(q, field="content").docs == ["x", "y"]
    r = tmp_path / "c.json"
    r.write_text(json.dumps([{"content": "x"}, {"other": "y"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="Item 1 .*no field 'content'"):
        data.file(r, field="content")
    s = tmp_path / "d.json"
    s.write_text(json.dumps({"text": "x"}), encoding="utf-8")
    with pytest.raises(ValueError, match="JSON list"):
        data.file(s)


def test_file_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        data.file(missing)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        data.file(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt' is empty"):
        data.file(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8.*offset 3"):
        data.file(latin)


# ------------------------------------------------------------------ synthetic


@pytest.mark.parametrize("kind", data.SYNTHETIC_KINDS)
def test_synthetic_is_deterministic(kind):
    a = data.synthetic(kind, n=300, seed=7)
    b = data.synthetic(kind, n=300, seed=7)
    c = data.synthetic(kind, n=300, seed=8)
    assert "\n".join(a.docs).encode() == "\n".join(b.docs).encode()
    assert a.docs != c.docs
    assert len(a) == 300 and a.separator == "\n"


def test_arithmetic_lines_are_correct_and_in_range():
    corpus = data.synthetic("arithmetic", n=500, seed=1, low=10, high=20)
    ops_seen = set()
    for line in corpus.docs:
        lhs, result = line.split("=")
        op = "+" if "+" in lhs else "-"
        a, b = (int(x) for x in lhs.split(op))
        ops_seen.add(op)
        assert 10 <= a <= 20 and 10 <= b <= 20
        assert int(result) == (a + b if op == "+" else a - b) >= 0
    assert ops_seen == {"+", "-"}
    only_add = data.synthetic("arithmetic", n=50, ops="+")
    assert all("+" in line and "-" not in line for line in only_add.docs)


def test_arithmetic_rejects_bad_options():
    with pytest.raises(ValueError, match="low=5, high=2"):
        data.synthetic("arithmetic", low=5, high=2)
    with pytest.raises(ValueError, match=r"ops='\*'"):
        data.synthetic("arithmetic", ops="*")
    with pytest.raises(TypeError, match="unknown option"):
        data.synthetic("arithmetic", width=3)


def test_reverse_lines_are_reversals():
    corpus = data.synthetic("reverse", n=200, seed=2, min_len=2, max_len=5, alphabet="xyz")
    for line in corpus.docs:
        left, right = line.split(">")
        assert right == left[::-1]
        assert 2 <= len(left) <= 5 and set(left) <= set("xyz")


def test_grammar_sentences_use_the_lexicon():
    from slamdunk_lab.data import _LEXICON

    vocab = {w for words in _LEXICON.values() for w in words} | {"and"}
    corpus = data.synthetic("grammar", n=300, seed=0)
    lengths = set()
    for s in corpus.docs:
        assert s[0].isupper() and s.endswith(".")
        words = s[:-1].lower().split()
        assert set(words) <= vocab
        lengths.add(len(words))
    assert len(lengths) > 5  # real variety, not one template
    assert len(set(corpus.docs)) > 200


def test_synthetic_errors():
    with pytest.raises(ValueError, match="'poetry'.*'arithmetic'"):
        data.synthetic("poetry")
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        data.synthetic("reverse", n=0)


# ------------------------------------------------------------------ load()


def test_load_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as e:
        data.load("shakespeare_full")
    msg = str(e.value)
    assert "'shakespeare_full'" in msg
    for known in ("tiny_shakespeare", "TinyStories", "openwebtext-100k", "c4", "arithmetic", "grammar"):
        assert known in msg


def test_load_synthetic_names():
    assert data.load("arithmetic", n=10, seed=3).docs == data.synthetic("arithmetic", n=10, seed=3).docs


def test_load_tiny_shakespeare_uses_data_dir(tmp_path, monkeypatch):
    (tmp_path / "tinyshakespeare.txt").write_text("ROMEO:\nHello.\n", encoding="utf-8")
    monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(tmp_path))
    corpus = data.load("tiny_shakespeare")
    assert corpus.docs == ["ROMEO:\nHello.\n"] and corpus.name == "tiny_shakespeare"


def test_load_tiny_shakespeare_real_file(shakespeare_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(shakespeare_path.parent))
    corpus = data.load("tiny_shakespeare")
    assert corpus.stats() == {"docs": 1, "chars": 1_115_394}


@pytest.mark.parametrize(
    "cap, value",
    [("max_bytes", -5), ("max_bytes", 0), ("max_bytes", 2.5), ("max_bytes", True),
     ("max_docs", 0), ("max_docs", -3), ("max_docs", 1.5)],
)
def test_load_tiny_shakespeare_local_copy_checks_caps_like_hf(tmp_path, monkeypatch, cap, value):
    (tmp_path / "tinyshakespeare.txt").write_text("ROMEO:\nHello.\n", encoding="utf-8")
    monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=rf"{cap} must be a positive integer or None, got {value!r}\."):
        data.load("tiny_shakespeare", **{cap: value})
    # valid caps still work on the local copy
    assert data.load("tiny_shakespeare", max_bytes=6, max_docs=1).docs == ["ROMEO:"]


def test_load_hub_set_offline_fails_fast_with_hint():
    start = time.perf_counter()
    with pytest.raises(DatasetUnreachableError) as e:
        data.load("TinyStories", max_docs=10)
    assert time.perf_counter() - start < 10
    msg = str(e.value)
    assert "roneneldan/TinyStories" in msg and "HF_HUB_OFFLINE" in msg
    assert "sd.data.file" in msg and "sd.data.synthetic" in msg


def test_tiny_shakespeare_ships_with_the_package_and_needs_no_internet(monkeypatch):
    # offline (HF_HUB_OFFLINE=1, no SLAMDUNK_DATA_DIR) and with the hub unreachable: the bundled copy
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    corpus = data.load("tiny_shakespeare")
    assert corpus.name == "tiny_shakespeare" and len(corpus.docs) == 1
    assert corpus.stats() == {"docs": 1, "chars": 1_115_394}
    assert corpus.docs[0].startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    # karpathy's char-rnn input.txt, byte for byte
    import hashlib

    digest = hashlib.sha256(data.bundled_path("tiny_shakespeare").read_bytes()).hexdigest()
    assert digest == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    assert data.load("tiny_shakespeare", max_bytes=14).docs == ["First Citizen:"]


def test_bundled_corpus_is_package_data():
    # the wheel ships every file under slamdunk_lab/ that git tracks: the corpus must not be ignored
    import importlib.resources
    import subprocess

    assert (importlib.resources.files("slamdunk_lab") / "datasets" / "tinyshakespeare.txt").is_file()
    root = Path(data.__file__).resolve().parents[1]
    if (root / ".git").exists():
        ignored = subprocess.run(["git", "check-ignore", "-q", "slamdunk_lab/datasets/tinyshakespeare.txt"],
                                 cwd=root, check=False)
        assert ignored.returncode == 1  # 1: not ignored


def test_other_named_sets_still_come_from_the_hub():
    assert data.bundled_path("TinyStories") is None
    with pytest.raises(DatasetUnreachableError, match="roneneldan/TinyStories"):
        data.load("TinyStories", max_docs=3)


def test_local_copy_of_a_hub_set_in_data_dir(tmp_path, monkeypatch):
    rows = [{"text": f"Once upon a time {i}."} for i in range(5)]
    (tmp_path / "TinyStories.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(tmp_path))
    corpus = data.load("TinyStories", max_docs=3)
    assert corpus.docs == ["Once upon a time 0.", "Once upon a time 1.", "Once upon a time 2."]
    assert corpus.name == "TinyStories" and corpus.source == str(tmp_path / "TinyStories.jsonl")
    # a folder without a copy of the set: the hub as before
    monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DatasetUnreachableError):
        data.load("TinyStories", max_docs=3)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hf_unreachable_endpoint_fails_fast(monkeypatch):
    # No offline flag: the network probe itself must notice nothing is listening.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    start = time.perf_counter()
    with pytest.raises(DatasetUnreachableError, match="not reachable"):
        data.hf("someone/some-dataset")
    assert time.perf_counter() - start < 10


# ------------------------------------------------------------------ hf() on local data


@pytest.fixture
def jsonl_dataset(tmp_path) -> Path:
    p = tmp_path / "rows.jsonl"
    rows = [{"text": f"row {i} é", "n": i} for i in range(50)]
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return p


def test_hf_streams_local_json_with_row_cap(jsonl_dataset):
    corpus = data.hf("json", data_files=str(jsonl_dataset), max_docs=7)
    assert corpus.docs == [f"row {i} é" for i in range(7)]
    assert "huggingface:json" in corpus.source


def test_hf_byte_cap_cuts_on_character_boundary(jsonl_dataset):
    # each row "row N é" is 8 bytes for N < 10 ("é" is 2 bytes)
    corpus = data.hf("json", data_files=str(jsonl_dataset), max_bytes=23)
    assert corpus.docs[:2] == ["row 0 é", "row 1 é"]
    # the third row would need 8 bytes but only 7 remain: the last byte of é is cut,
    # so the whole é goes and the result stays valid text
    assert corpus.docs[2] == "row 2 "
    assert sum(len(d.encode()) for d in corpus.docs) <= 23


def test_hf_missing_field_names_row_and_columns(jsonl_dataset):
    with pytest.raises(ValueError, match="Row 0 .*no field 'body'.*'text', 'n'"):
        data.hf("json", data_files=str(jsonl_dataset), field="body")


def test_hf_local_dataset_directory(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "my_dataset"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"text": ["alpha", "beta", "gamma"]}), folder / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"text": ["delta"]}), folder / "data" / "test-00000-of-00001.parquet")
    assert data.hf(str(folder)).docs == ["alpha", "beta", "gamma"]
    assert data.hf(str(folder), split="test").docs == ["delta"]


def test_hf_rejects_bad_caps():
    with pytest.raises(ValueError, match="max_docs .* got 0"):
        data.hf("json", data_files="x.jsonl", max_docs=0)
    with pytest.raises(ValueError, match="max_bytes .* got -5"):
        data.hf("json", data_files="x.jsonl", max_bytes=-5)


def test_synthetic_output_is_pinned():
    # Byte-identical across runs and Python versions: these exact lines must never change.
    assert data.synthetic("arithmetic", n=3, seed=1).docs == ["84-13=71", "25+49=74", "65+78=143"]
    assert data.synthetic("reverse", n=2, seed=1).docs == ["wtgm>mgtw", "qucavl>lvacuq"]


@pytest.fixture
def local_hub_set(tmp_path, monkeypatch):
    """Point the 'tiny_shakespeare' hub entry at a local 3-split parquet dataset, so the real
    multi-split path of load() runs offline."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "tiny"
    (folder / "data").mkdir(parents=True)
    for split, textpart in (("train", "First Citizen: speak. "), ("validation", "All: résolved. "),
                            ("test", "Fin.")):
        pq.write_table(pa.table({"text": [textpart]}), folder / "data" / f"{split}-00000-of-00001.parquet")
    spec = data.KNOWN_DATASETS["tiny_shakespeare"]
    patched = dict(data.KNOWN_DATASETS)
    patched["tiny_shakespeare"] = type(spec)(str(folder), splits=spec.splits, single_document=True)
    monkeypatch.setattr(data, "KNOWN_DATASETS", patched)
    return folder


def test_load_hub_set_joins_splits_into_one_document(local_hub_set):
    corpus = data.load("tiny_shakespeare")
    assert corpus.docs == ["First Citizen: speak. All: résolved. Fin."]
    assert corpus.source == f"huggingface:{local_hub_set}"


def test_load_hub_set_byte_cap_covers_all_splits(local_hub_set):
    corpus = data.load("tiny_shakespeare", max_bytes=30)
    # 22 bytes from train, then only 8 of validation's bytes fit; test is never read
    assert corpus.docs == ["First Citizen: speak. All: ré"]
    assert len(corpus.docs[0].encode()) == 30
