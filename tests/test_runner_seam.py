"""The runner seam: training/ never reaches up into runners or widgets; one JSON job spec, one execute()."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import isolate_training

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.runners import LOCAL, Runner
from slamdunk_lab.training import Finished, JobSpec, Stopped, execute, tokenizer_spec

PACKAGE = Path(sd.__file__).parent
# runners may reach the widgets only lazily, in run.monitor() (checked below); training never
UPPER = {"training": ("widgets", "runners", "session"), "runners": ("session",)}


def _imports(path: Path) -> list[str]:
    """Every module a file imports, absolute (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("slamdunk_lab", *path.relative_to(PACKAGE).parent.parts))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append(module)
            found += [f"{module}.{a.name}" for a in node.names]
    return found


@pytest.mark.parametrize("layer", sorted(UPPER))
def test_lower_layers_never_import_upper_ones(layer):
    """graph → blocks → model → training → runners → widgets: no import (lazy or not) points back up."""
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in _imports(path):
            for upper in UPPER[layer]:
                if module == f"slamdunk_lab.{upper}" or module.startswith(f"slamdunk_lab.{upper}."):
                    bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_import_scan_sees_relative_and_lazy_imports(tmp_path):
    """The scan above would catch the imports it forbids (it cannot pass by reading nothing)."""
    imports = _imports(PACKAGE / "session.py")
    assert "slamdunk_lab.widgets.kernel" in imports and "slamdunk_lab.runners.local" in imports
    lazy = [m for p in (PACKAGE / "runners").rglob("*.py") for m in _imports(p) if ".widgets" in m]
    assert lazy == ["slamdunk_lab.widgets.monitor", "slamdunk_lab.widgets.monitor.Monitor"]  # run.monitor() only


def test_training_a_spec_loads_no_widget_module(tmp_path):
    """A real run through execute() in a fresh interpreter: no widget (nor anywidget) module is ever loaded."""
    code = """
import json, sys
from slamdunk_lab import data, tokenizers
from slamdunk_lab.training import JobSpec, execute, tokenizer_spec, data_spec
import slamdunk_lab as sd
c = data.synthetic('reverse', n=300); tok = tokenizers.char(c)
g = sd.template('gpt2', size='tiny', n_layer=1, d_model=16, n_head=2, context=16, vocab_size=tok.vocab_size)
spec = JobSpec(name='seam', experiment='seam', graph=g, data=data_spec(c), tokenizer=tokenizer_spec(tok),
               config={'steps': 3, 'batch_size': 4, 'context': 16, 'eval_every': 0, 'sample_every': 0,
                       'checkpoint_every': 0}, mlflow=False)
spec = JobSpec.from_json(json.loads(spec.dumps()))
events = []
end = execute(spec, events.append, lambda: False)
print(type(end).__name__, sorted(m for m in sys.modules if 'widget' in m or m.startswith('slamdunk_lab.runners')))
"""
    env = {"SLAMDUNK_RUNS_DIR": str(tmp_path / "runs"), "SLAMDUNK_CACHE_DIR": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Finished []"


@pytest.fixture
def setup(monkeypatch, tmp_path, one_torch_thread):
    isolate_training(monkeypatch, tmp_path)
    corpus = data.synthetic("reverse", n=600, seed=0)
    tok = tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", n_layer=2, d_model=32, n_head=2, context=32, vocab_size=tok.vocab_size)
    return corpus, tok, g


SETTINGS = {"steps": 12, "batch_size": 8, "context": 32, "warmup": 2, "eval_every": 6, "eval_batches": 2,
            "sample_every": 12, "checkpoint_every": 6}


def test_a_spec_from_json_trains_exactly_like_sd_train(setup):
    """The JSON spec alone (synthetic data by name, the tokenizer as files) gives the losses sd.train gives."""
    corpus, tok, g = setup
    run = sd.train(g, corpus, tok, mlflow=False, progress=False, background=False, **SETTINGS)
    spec = JobSpec(name="from-json", experiment="seam", graph=g,
                   data={"kind": "synthetic", "task": "reverse", "n": 600, "seed": 0},
                   tokenizer=tokenizer_spec(tok), config=dict(SETTINGS), mlflow=False)
    spec = JobSpec.from_json(json.loads(spec.dumps()))  # what a queue carries
    events = []
    end = execute(spec, events.append, lambda: False)
    assert isinstance(end, Finished) and end.step == 12
    points = [p for e in events if type(e).__name__ == "Step" for p in e.points]
    assert [p[0] for p in points] == list(range(1, 13))  # every step, though Step events are throttled
    assert [p[1] for p in points] == [h["loss"] for h in run.history if h["kind"] == "train"]
    assert [type(e).__name__ for e in events].count("Checkpoint") == 2
    assert run.history == _history_of(events)  # the handle's history is rebuilt from the same events


def _history_of(events) -> list[dict]:
    from slamdunk_lab.runners.base import Run

    r = Run(JobSpec(name="x", experiment="x", graph={}, data={"kind": "cache"}, config={}))
    for e in events:
        r.record(e)
    return r.history


def test_execute_stops_when_asked_and_reports_bad_specs_as_failed(setup):
    corpus, tok, g = setup
    spec = JobSpec(name="stops", experiment="seam", graph=g, data={"kind": "text", "docs": corpus.docs},
                   tokenizer=tokenizer_spec(tok), config=dict(SETTINGS), mlflow=False)
    seen = []
    end = execute(spec, seen.append, lambda: any(type(e).__name__ == "Step" for e in seen))
    assert isinstance(end, Stopped) and end.checkpoint and 1 <= end.step < 12
    bad = JobSpec.from_json({**spec.to_json(), "name": "bad", "data": {"kind": "file", "path": "missing.txt"}})
    failed = execute(bad, seen.append, lambda: False)
    assert type(failed).__name__ == "Failed" and "missing.txt" in failed.error


@pytest.mark.parametrize("field, value, words", [
    ("name", "../escape", "plain folder name"), ("config", [], "wrong type"), ("mlflow", "yes", "wrong type"),
    ("id", "not-hex", "hex"), ("data", {"kind": "pickle"}, "data kind"), ("surprise", 1, "unknown")])
def test_a_spec_from_a_queue_is_checked_field_by_field(setup, field, value, words):
    _, _, g = setup
    good = JobSpec(name="ok", experiment="seam", graph=g, data={"kind": "text", "docs": ["ab"]}, config={})
    with pytest.raises(ValueError, match=words):
        JobSpec.from_json({**good.to_json(), field: value})


def test_text_above_the_cap_is_refused_with_the_way_out(setup, monkeypatch):
    from slamdunk_lab.training import data_spec

    monkeypatch.setenv("SLAMDUNK_MAX_JOB_TEXT", "1000")
    with pytest.raises(ValueError, match=r"more than the 1,000 a job may carry.*'kind': 'file'"):
        data_spec(data.text("x" * 2000))


def test_the_local_runner_is_a_runner():
    assert isinstance(LOCAL, Runner) and LOCAL.kind == "local"
