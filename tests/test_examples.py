"""The example notebooks run headless, top to bottom, as CI and graders run them (nbclient)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.ipynb"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_EXAMPLE_STEPS", "30")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "cache"))
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if (shared / "tinyshakespeare.txt").exists():  # the real corpus where it is at hand, else the built-in one
        monkeypatch.setenv("SLAMDUNK_DATA_DIR", str(shared))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Traceback" not in outputs
    if path.name.startswith("01_"):
        assert "finished" in outputs  # the training ran to the end (blocking under nbclient)
        assert "same logits: True" in outputs


def test_examples_exist():
    assert any(p.name == "01_build_train_generate.ipynb" for p in EXAMPLES)


def test_launcher_starter_is_the_example_notebook():
    """js/labextension/starter-notebook.ts is generated from the example (npm run build:lib); it must be current."""
    import json
    import re

    root = Path(__file__).resolve().parents[1]
    text = (root / "js" / "labextension" / "starter-notebook.ts").read_text(encoding="utf-8")
    starter = json.loads(re.search(r"export const STARTER = (\{.*\}) as const;", text, re.DOTALL).group(1))
    example = nbformat.read(root / "examples" / "01_build_train_generate.ipynb", as_version=4)
    assert [c["source"] for c in starter["cells"]] == [c.source for c in example.cells]
