"""The ``slamdunk-lab`` command line: templates, validate, train and generate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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
