"""The README's quickstart runs verbatim, as a new user would paste it into a script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_quickstart_runs_verbatim(tmp_path):
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "README.md has no Quickstart python block"
    script = tmp_path / "quickstart.py"
    script.write_text("import torch\ntorch.set_num_threads(1)\n" + block.group(1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLAMDUNK_", "MLFLOW_"))}
    out = subprocess.run([sys.executable, str(script)], check=False, cwd=tmp_path,
                         env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "def build_model" in out.stdout and "parameters" in out.stdout
    # what it says it writes is there: the saved model, the checkpoints and the MLflow store
    assert {p.name for p in (tmp_path / "models" / "grammar").iterdir()} >= {"model.safetensors", "graph.json",
                                                                              "slamdunk.json", "tokenizer"}
    assert (tmp_path / "mlflow.db").exists() and any((tmp_path / "runs").iterdir())
    assert "finished 300 steps" in out.stderr
