"""Pictures where widgets do not render (#8 item 8): the monitor, the playground and the runs browser leave a
static output (curves as SVG, the last text, the table) that follows them and stays in a saved notebook;
``sd.analyze`` results and runs have an HTML repr. The notebook test runs a real kernel (nbclient) and a real
HTML export (nbconvert); the run is a real (short) training run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("anywidget")

import slamdunk_lab as sd
from slamdunk_lab.widgets import Monitor, Playground, Runs, _base

pytestmark = pytest.mark.skipif(not _base.bundle_available(), reason="front end not built (npm ci && npm run build)")


def test_monitor_static_output_has_the_curves_status_and_sample():
    m = Monitor(title="shakespeare", total_steps=50)
    for step in range(50):
        m.log(step, loss=3.0 - step * 0.02, lr=1e-3, **({"val_loss": 3.1 - step * 0.02} if step % 10 == 9 else {}))
    m.sample, m.sample_step = "ROMEO: <wherefore>", 49
    m.finish("finished at step 50")
    page = m._static_data()["text/html"]
    assert 'class="sdl-static sdl-static-monitor"' in page
    assert 'data-series="loss"' in page and 'data-series="val_loss"' in page and 'data-series="lr"' in page
    assert "finished at step 50" in page and "loss 2.02" in page and "val_loss 2.12" in page
    assert "ROMEO: &lt;wherefore&gt;" in page and "<wherefore>" not in page  # escaped
    assert m._static_data()["text/plain"] == "shakespeare: finished at step 50 · loss 2.02 · val_loss 2.12"
    assert "(no points yet)" in Monitor()._static_data()["text/html"]


def test_playground_static_output_has_the_prompt_and_the_text():
    pg = Playground(lambda prompt, **settings: " to be or not to be", prompt="Hamlet:")
    pg.run(wait=True)
    data = pg._static_data()
    assert "<b>Hamlet:</b> to be or not to be" in data["text/html"]
    assert data["text/plain"] == "Playground: Hamlet: to be or not to be"


def test_runs_static_output_is_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = Runs()
    assert "0 runs" in runs._static_data()["text/plain"]
    runs.rows = [{"run_id": "abc", "name": "tiny <gpt>", "experiment": "e", "design": "gpt2", "status": "finished",
                  "start_time": None, "end_time": None, "step": 30, "steps": 30, "train_loss": 2.5,
                  "val_loss": 2.61, "parameters": 858880, "tokens_per_s": 1234.0, "worker": None,
                  "checkpoint": None, "segments": []}]
    page = runs._static_data()["text/html"]
    assert "tiny &lt;gpt&gt;" in page and "2.6100" in page and "859K" in page and "30/30" in page


def test_analysis_has_an_html_repr_and_a_short_repr():
    a = sd.analyze(sd.template("gpt2", size="tiny"))
    page = a._repr_html_()
    assert "✓ buildable" in page and f"{a.params:,} parameters" in page and "<table" in page
    assert "attn" in page and "B×T×128" in page
    assert repr(a).startswith(f"Analysis(ok=True, params={a.params:,}, layers=4")
    bad = sd.template("gpt2", size="tiny")
    next(n for n in bad["nodes"] if n["id"] == "attn")["data"]["n_heads"] = 3
    broken = sd.analyze(bad)
    assert "problem(s)" in broken._repr_html_() and "n_heads" in broken._repr_html_()
    assert repr(broken).startswith("Analysis(ok=False")


def test_a_run_has_an_html_repr_with_its_curve():
    text = Path("/work/shared/data/tinyshakespeare.txt")
    corpus = text.read_text()[:20_000] if text.is_file() else "to be or not to be " * 1000
    tok = sd.tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size)
    run = sd.train(g, corpus, tok, steps=6, batch_size=2, context=16, eval_every=3, eval_batches=1,
                   sample_every=100, checkpoint_every=100, mlflow=False, background=False, progress=False,
                   monitor=False)
    page = run._repr_html_()
    assert "finished at step 6/6" in page and 'data-series="loss"' in page and 'data-series="val_loss"' in page
    assert run._display_bundle()["text/html"] == page


def test_a_saved_notebook_keeps_the_final_monitor_and_playground(tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "from slamdunk_lab.widgets import Monitor, Playground\nmon = Monitor(title='loop', total_steps=40)\nmon",
        "for s in range(40):\n    mon.log(s, loss=4 - s / 20)\nmon.finish('finished at step 40')",
        "pg = Playground(lambda prompt, **kw: ' and the rest is silence', prompt='Hamlet:')\npg",
        "pg.run(wait=True)",
    )]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    old = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), old]))
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = old
    monitor_static = nb.cells[0].outputs[1].data
    assert "finished at step 40" in monitor_static["text/html"] and 'data-series="loss"' in monitor_static["text/html"]
    assert monitor_static["text/plain"] == "loop: finished at step 40 · loss 2.05"
    playground_static = nb.cells[2].outputs[1].data
    assert "and the rest is silence" in playground_static["text/html"]
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    page, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    assert "finished at step 40" in page and "and the rest is silence" in page
