"""The ``slamdunk-lab`` command line: templates, validate, train and generate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import sentencepiece_tokenizer

import slamdunk_lab as sd
from slamdunk_lab.cli import main


def write_graph(path, graph) -> str:
    path.write_text(json.dumps(graph), encoding="utf-8")
    return str(path)


def run_cli(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The real command, in a fresh Python, as a user runs it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "slamdunk_lab.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, check=False)


def test_templates_prints_every_family_and_size(capsys):
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    for row in sd.templates():
        assert any(line.split()[:2] == [row["name"], row["size"] + ""] or
                   line.split()[:3] == [row["name"], row["size"], "*"] for line in out.splitlines())
    assert "858.9K" in out  # gpt2 tiny's parameter count, human-readable


def test_validate_a_good_graph_prints_a_summary(tmp_path):
    path = write_graph(tmp_path / "g.json", sd.template("gpt2", size="tiny", n_layer=2))
    result = run_cli("validate", path)
    assert result.returncode == 0, result.stderr
    params = sd.analyze(sd.template("gpt2", size="tiny", n_layer=2)).params
    assert "valid" in result.stdout and f"{params:,} parameters" in result.stdout


def test_validate_lists_every_problem_and_exits_1(tmp_path, capsys):
    graph = sd.template("gpt2", size="tiny", n_layer=2)
    for node in graph["nodes"]:
        if node["id"] == "attn":
            node["data"]["n_heads"] = 3  # does not divide d_model 128
        if node["id"] == "mlp":
            node["data"]["hidden_dim"] = -1
    assert main(["validate", write_graph(tmp_path / "bad.json", graph)]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert any(line.startswith("attn: n_heads: ") and "3" in line for line in lines)
    assert any(line.startswith("mlp: hidden_dim: ") for line in lines)
    assert "2 problems" in err


def test_validate_unreadable_or_non_json_files_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [', encoding="utf-8")
    assert main(["validate", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err
    # Valid JSON that is not a graph is a design problem (exit 1), reported as a sentence.
    assert main(["validate", write_graph(tmp_path / "list.json", [1, 2])]) == 1
    assert capsys.readouterr().err.strip()


def test_train_then_generate_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CI", "1")
    data = tmp_path / "data.txt"
    data.write_text("to be or not to be, that is the question.\n" * 80, encoding="utf-8")
    graph = write_graph(tmp_path / "g.json", sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=32,
                                                       context=64))
    out = tmp_path / "model"
    status = main(["train", graph, "--data", str(data), "--tokenizer", "char", "--steps", "30", "--batch-size",
                   "8", "--context", "32", "--lr", "3e-3", "--eval-every", "0", "--sample-every", "0",
                   "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "30/30" in captured.err  # the progress bar reached the end
    assert "vocabulary set to" in captured.err  # the char tokenizer's 16 symbols, not the design's 256
    model = sd.load(out)
    assert model.tokenizer is not None and model.vocab_size == model.tokenizer.vocab_size

    result = run_cli("generate", str(out), "--prompt", "to be", "--max-new-tokens", "30", "--seed", "3",
                     "--temperature", "0")
    assert result.returncode == 0, result.stderr
    from slamdunk_lab.generation import generate

    assert result.stdout == "to be" + generate(model, model.tokenizer, "to be", max_new_tokens=30,
                                               temperature=0) + "\n"

    assert main(["generate", str(out), "--prompt", "XYZ"]) == 2  # not in the char vocabulary
    assert "'X'" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "nothing")]) == 2
    assert "no saved model" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["word", "bpe:12", "bpe:x"])
def test_train_rejects_unknown_tokenizers(tmp_path, capsys, spec):
    data = tmp_path / "data.txt"
    data.write_text("hello " * 100, encoding="utf-8")
    graph = write_graph(tmp_path / "g.json", sd.template("gpt2", size="tiny", n_layer=1))
    assert main(["train", graph, "--data", str(data), "--tokenizer", spec, "--steps", "1"]) == 2
    assert "--tokenizer" in capsys.readouterr().err


def test_train_refuses_an_invalid_design(tmp_path, capsys):
    graph = sd.template("gpt2", size="tiny", n_layer=1)
    graph["edges"] = graph["edges"][1:]  # cut the tokens -> embedding edge
    data = tmp_path / "data.txt"
    data.write_text("hello " * 100, encoding="utf-8")
    assert main(["train", write_graph(tmp_path / "g.json", graph), "--data", str(data), "--steps", "1"]) == 1
    assert "nothing was trained" in capsys.readouterr().err


def small_training(tmp_path, monkeypatch) -> list[str]:
    """The arguments of a quick `train` run (its checkpoints go under tmp_path), without --out."""
    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CI", "1")
    data = tmp_path / "data.txt"
    data.write_text("to be or not to be, that is the question.\n" * 20, encoding="utf-8")
    graph = write_graph(tmp_path / "g.json", sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=16,
                                                       context=16))
    return ["train", graph, "--data", str(data), "--steps", "2", "--batch-size", "2", "--eval-every", "0",
            "--sample-every", "0"]


def test_train_refuses_an_output_path_that_is_a_file_before_training(tmp_path, monkeypatch, capsys):
    args = small_training(tmp_path, monkeypatch)
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me", encoding="utf-8")
    for out in (taken, taken / "model"):
        assert main([*args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"slamdunk-lab train: --out {out} ") and "choose another name" in err
        assert len(err.strip().splitlines()) == 1  # one line, no traceback, no progress bar
    assert not (tmp_path / "runs").exists()  # nothing was trained
    assert taken.read_text(encoding="utf-8") == "keep me"


def test_train_reports_a_failed_save_without_a_traceback(tmp_path, monkeypatch, capsys):
    args = small_training(tmp_path, monkeypatch)
    out = tmp_path / "model"
    (out / "model.safetensors").mkdir(parents=True)  # passes the early check, but save() refuses it
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("slamdunk-lab train: cannot save into") and "checkpoint" in err


def saved_model(folder, tok=None) -> str:
    from slamdunk_lab import tokenizers

    tok = tok or tokenizers.char("to be or not")
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=16, vocab_size=tok.vocab_size,
                                 context=32))
    return str(sd.save(model, folder, tokenizer=tok))


def test_generate_on_a_device_this_machine_lacks_is_a_clean_error(tmp_path, capsys):
    import torch

    model = saved_model(tmp_path / "m")
    assert main(["generate", model, "--device", "bogus"]) == 2
    assert "unknown device 'bogus'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["generate", model, "--device", "cuda", "--prompt", "to"]) == 2
        assert capsys.readouterr().err.strip() == ("slamdunk-lab generate: device 'cuda' was asked for, but this "
                                                   "machine has no CUDA GPU; use device='auto'")
    assert main(["generate", model, "--device", "auto", "--prompt", "to", "--max-new-tokens", "3"]) == 0
    assert capsys.readouterr().out.startswith("to")


def test_generate_prints_the_space_a_sentencepiece_tokenizer_puts_before_a_new_word(tmp_path, capsys):

    tok = sentencepiece_tokenizer(tmp_path)
    model = saved_model(tmp_path / "m", tok)
    loaded = sd.load(model)
    for seed in range(10):
        assert main(["generate", model, "--prompt", "the cat", "--max-new-tokens", "4", "--temperature", "1",
                     "--top-k", "0", "--seed", str(seed)]) == 0
        out = capsys.readouterr().out
        if out.startswith("the cat "):  # the continuation starts a new word
            break
    else:
        pytest.fail("no continuation started a new word")
    assert out == "the cat" + sd.generate(loaded, loaded.tokenizer, "the cat", max_new_tokens=4, temperature=1,
                                          top_k=0, seed=seed) + "\n"


def test_generate_works_at_a_tiny_temperature(tmp_path, capsys):
    model = saved_model(tmp_path / "m")
    assert main(["generate", model, "--prompt", "to", "--max-new-tokens", "5", "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out
    assert main(["generate", model, "--prompt", "to", "--max-new-tokens", "5", "--temperature", "1e-40"]) == 0
    assert capsys.readouterr().out == greedy


@pytest.mark.parametrize("command, flag, value", [
    ("validate", "--context", "0"), ("validate", "--batch-size", "-1"), ("train", "--context", "0"),
    ("train", "--steps", "0"), ("train", "--batch-size", "0"), ("train", "--warmup", "-1"),
    ("train", "--eval-every", "-5"), ("train", "--seed", "-1"), ("generate", "--max-new-tokens", "-1"),
    ("generate", "--top-k", "-1"), ("generate", "--seed", str(10 ** 23)), ("generate", "--seed", "1.5")])
def test_out_of_range_numbers_are_argument_errors_naming_the_flag(tmp_path, capsys, command, flag, value):
    graph = write_graph(tmp_path / "g.json", sd.template("gpt2", size="tiny", n_layer=1))
    args = {"validate": ["validate", graph], "train": ["train", graph, "--data", "tiny", "--steps", "1"],
            "generate": ["generate", str(tmp_path / "m")]}[command]
    with pytest.raises(SystemExit) as exit_:
        main([*args, flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}: must be a whole number" in capsys.readouterr().err
