"""Hostile input: every case gets a clear error naming the argument, file or limit, within a time bound, and never
a hang, an abort or a raw traceback. (Graphs themselves: tests/test_hostile.py.)"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import slamdunk_lab as sd
from slamdunk_lab import _files, tokenizers
from slamdunk_lab.errors import GraphError, ModelFileError
from slamdunk_lab.generation import MAX_NEW_TOKENS, NonFiniteOutput
from slamdunk_lab.training import checkpoint as ckpt

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def within(seconds: float):
    """The block must end (with its error) within ``seconds``: a hang or a slow grind fails the test."""
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    assert took < seconds, f"took {took:.1f} s, more than {seconds} s"


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


@pytest.fixture
def deep_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)  # 2 MB
    return path


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    tok = tokenizers.byte()
    return sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size, context=32)), tok


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slamdunk_lab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})


# ----------------------------------------------------------------------------------------- files as data
def test_a_named_pipe_is_refused_at_once_not_waited_on(fifo):
    with within(2), pytest.raises(ValueError, match=r"pipe.txt' is a named pipe \(FIFO\), not a regular file"):
        sd.data.file(fifo)


def test_a_device_is_refused_before_a_byte_is_read():
    with within(2), pytest.raises(ValueError, match="'/dev/zero' is a character device, not a regular file"):
        sd.data.file("/dev/zero")


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.truncate(3 * 2**30)
    with within(2), pytest.raises(ValueError, match=r"is 3\.0 GB, more than the 1\.0 GB it may be; pass max_bytes"):
        sd.data.file(big)
    small = tmp_path / "small.txt"
    small.write_text("hello world")
    with pytest.raises(ValueError, match="more than the 4 bytes"):
        sd.data.file(small, max_bytes=4)
    assert sd.data.file(small, max_bytes=None).docs == ["hello world"]
    with pytest.raises(ValueError, match="max_bytes must be"):
        sd.data.file(small, max_bytes=-1)


def test_deeply_nested_json_data_is_refused_with_a_short_message(deep_json):
    with within(5), pytest.raises(sd.data.DataFormatError) as info:
        sd.data.file(deep_json)
    assert "1,000,000 levels deep" in str(info.value) and len(str(info.value)) < 400
    jsonl = deep_json.with_suffix(".jsonl")
    jsonl.write_text('{"text": "fine"}\n' + "[" * 5000 + "]" * 5000 + "\n")
    with within(5), pytest.raises(sd.data.DataFormatError, match="Line 2 of .* 5,000 levels deep"):
        sd.data.file(jsonl)


@pytest.mark.parametrize("case", ["fifo", "device", "deep json", "huge id"])
def test_the_command_line_refuses_hostile_graph_files_with_one_short_line(case, fifo, deep_json, tmp_path):
    if case == "huge id":
        graph = sd.template("gpt2", size="tiny", n_layer=1)
        graph["nodes"][0]["id"] = "x" * 1_000_000
        path = tmp_path / "huge.json"
        path.write_text(json.dumps(graph))
    else:
        path = {"fifo": fifo, "device": Path("/dev/zero"), "deep json": deep_json}[case]
    with within(60):
        out = cli("validate", str(path))
    assert out.returncode in (1, 2), out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr) < 3000, out.stderr[:3000]
    expected = {"fifo": "named pipe (FIFO)", "device": "character device", "deep json": "1,000,000 levels deep",
                "huge id": "(1,000,000 characters)"}[case]
    assert expected in out.stderr


def test_a_huge_node_id_gives_a_short_error(tmp_path):
    graph = sd.template("gpt2", size="tiny", n_layer=1)
    graph["nodes"][0]["id"] = "x" * 1_000_000
    with within(30), pytest.raises(GraphError) as info:
        sd.build(graph)
    assert len(str(info.value)) < 2000 and "(1,000,000 characters)" in str(info.value)
    assert info.value.errors[0].node_id == "x" * 1_000_000  # the issue itself keeps the real id for the canvas


# ----------------------------------------------------------------------------------------- model folders
def test_a_deeply_nested_or_oversized_graph_json_is_refused_by_load(tiny, tmp_path):
    model, tok = tiny
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)
    (folder / "graph.json").write_text("[" * 1_000_000 + "]" * 1_000_000)
    with within(5), pytest.raises(ModelFileError, match="1,000,000 levels deep") as info:
        sd.load(folder)
    assert len(str(info.value)) < 400
    with open(folder / "graph.json", "wb") as f:
        f.truncate(65 * 2**20)
    with within(2), pytest.raises(ModelFileError, match=r"65\.0 MB, more than the 64\.0 MB"):
        sd.load(folder)
    (folder / "graph.json").unlink()
    os.mkfifo(folder / "graph.json")
    with within(2), pytest.raises(ModelFileError):
        sd.load(folder)


@pytest.mark.parametrize("what", ["model.safetensors", "graph.json", "tokenizer", "tokenizer/tokenizer.json"])
def test_load_never_follows_a_link_out_of_the_model_folder(tiny, tmp_path, what):
    model, tok = tiny
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / Path(what).name
    os.replace(folder / what, target)
    (folder / what).symlink_to(target)
    with within(5), pytest.raises(ModelFileError, match=r"is a link to .*outside the model's folder"):
        sd.load(folder)
    # a link that stays inside the folder is fine
    (folder / what).unlink()
    inside = folder / f".real-{Path(what).name}"
    os.replace(target, inside)
    (folder / what).symlink_to(inside.name if "/" not in what else Path("..") / inside.name)
    assert sd.load(folder) is not None


# ----------------------------------------------------------------------------------------- tokenizers
def test_an_absurd_bpe_vocabulary_is_refused_before_the_rust_trainer_aborts(tmp_path):
    with within(2), pytest.raises(ValueError, match=r"vocab_size=2,147,483,648 is more than the 1,048,576"):
        tokenizers.bpe("hello world " * 10, vocab_size=2**31)
    (tmp_path / "g.json").write_text(json.dumps(sd.template("gpt2", size="tiny", n_layer=1)))
    (tmp_path / "d.txt").write_text("hello world " * 100)
    out = cli("train", str(tmp_path / "g.json"), "--data", str(tmp_path / "d.txt"), "--tokenizer",
              "bpe:2147483648", "--steps", "1")
    assert out.returncode == 2 and "to 1,048,576, e.g. bpe:2048" in out.stderr and "Traceback" not in out.stderr


def test_a_tokenizer_folder_whose_files_are_pipes_is_refused(tmp_path):
    folder = tokenizers.bpe("hello world " * 50, vocab_size=300).save(tmp_path / "tok")
    (folder / "hf_tokenizer.json").unlink()
    os.mkfifo(folder / "hf_tokenizer.json")
    with within(2), pytest.raises(ValueError, match="not a regular file"):
        tokenizers.load(folder)
    (folder / "tokenizer.json").unlink()
    os.mkfifo(folder / "tokenizer.json")
    with within(2), pytest.raises(ValueError, match="named pipe"):
        tokenizers.load(folder)


# ----------------------------------------------------------------------------------------- generation
@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"stop": 123}, "stop must be a string or a list of strings, got int 123"),
    ({"stop": [b"x"]}, "stop must be a non-empty string"),
    ({"temperature": math.inf}, "temperature must be a finite number"),
    ({"temperature": math.nan}, "temperature must be a finite number"),
    ({"repetition_penalty": math.inf}, "repetition_penalty must be a finite number"),
    ({"top_p": math.nan}, "top_p"),
    ({"max_new_tokens": 10**12}, f"max_new_tokens=1,000,000,000,000 is more than the {MAX_NEW_TOKENS:,}"),
])
def test_generation_settings_are_checked_by_name(tiny, kwargs, pattern):
    model, tok = tiny
    with within(2), pytest.raises((ValueError, TypeError), match=pattern):
        sd.generate(model, tok, "hi", **kwargs)
    with within(2), pytest.raises((ValueError, TypeError), match=pattern):
        sd.generate(model, tok, "hi", stream=True, **kwargs)  # checked when called, not at the first piece


@pytest.mark.parametrize("temperature", [0, 0.8])
def test_a_model_with_nan_weights_says_so_instead_of_a_torch_message(tiny, temperature):
    model, tok = tiny
    broken = sd.build(model.graph)
    broken.load_state_dict(model.state_dict())
    with torch.no_grad():
        next(broken.parameters()).fill_(math.nan)
    with within(5), pytest.raises(NonFiniteOutput, match="scores for the next token are NaN or infinite"):
        sd.generate(broken, tok, "hi", max_new_tokens=5, temperature=temperature)
    with pytest.raises(NonFiniteOutput):
        sd.next_token_probs(broken, tok, "hi")


def test_the_command_line_reports_a_nan_model_in_one_line(tiny, tmp_path):
    model, tok = tiny
    broken = sd.build(model.graph)
    with torch.no_grad():
        for p in broken.parameters():
            p.fill_(math.nan)
    folder = sd.save(broken, tmp_path / "nan", tokenizer=tok)
    out = cli("generate", str(folder), "--prompt", "hi", "--max-new-tokens", "5")
    assert out.returncode == 1 and "NaN or infinite" in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------------------- training
def test_a_batch_that_cannot_fit_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    corpus = sd.data.synthetic("grammar", n=200)
    tok = tokenizers.char(corpus)
    graph = sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size, context=64)
    with within(10), pytest.raises(ValueError) as info:
        sd.train(graph, corpus, tok, steps=5, batch_size=10**7, context=64, mlflow=False, background=False)
    message = str(info.value)
    assert "batch_size=10,000,000 × context=64 needs about" in message and "free" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("step-*"))


# ----------------------------------------------------------------------------------------- full disks
@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (root only): a real full disk."""
    mount = tmp_path / "disk"
    mount.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                         check=False)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {out.stderr.decode()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> None:
    free = _files.shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_a_full_disk_says_no_space_left_on_the_path(small_disk, monkeypatch):
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=2))  # 1.8 MB of weights, more than the disk
    with within(10), pytest.raises(ModelFileError, match=f"no space left on '{small_disk}"):
        sd.save(model, small_disk / "model")
    assert list(small_disk.iterdir()) == []  # nothing half-written left behind
    # the checkpoint's optimizer save (torch.save says only "unexpected pos ...") when the disk fills mid-write
    small = sd.build(sd.template("gpt2", size="tiny", n_layer=1, d_model=16, vocab_size=64, context=16))
    optimizer = torch.optim.AdamW(small.parameters())
    small(torch.zeros(1, 4, dtype=torch.long)).sum().backward()
    optimizer.step()
    monkeypatch.setattr(_files, "check_free_space", lambda *a, **k: None)  # as if the disk filled meanwhile
    _fill(small_disk, 30_000)
    with within(10), pytest.raises(OSError, match=f"no space left on '{small_disk / 'run'}'") as info:
        ckpt.save(small_disk / "run", 1, small, optimizer, {"config": {}, "graph": {}, "rng": {}},
                  tokenizers.byte())
    assert "unexpected pos" not in str(info.value)
    assert not any(p.name.startswith(".tmp-") for p in (small_disk / "run").iterdir())


@pytest.mark.parametrize(("flags", "pattern"), [
    (["--max-new-tokens", str(10**12)], "max_new_tokens=1,000,000,000,000 is more than"),
    (["--temperature", "inf"], "temperature must be a finite number"),
    (["--top-p", "nan"], "top_p"),
    (["--repetition-penalty", "inf"], "repetition_penalty must be a finite number"),
])
def test_hostile_generation_flags_get_one_line_naming_the_flag(tiny, tmp_path, flags, pattern):
    model, tok = tiny
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)
    with within(60):
        out = cli("generate", str(folder), "--prompt", "hi", *flags)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert pattern in out.stderr
