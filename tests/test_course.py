"""The course notebooks (examples/course/, English; examples/course/ko/, Korean) stay alive: each runs headless
top to bottom in small mode (SLAMDUNK_EXAMPLE_STEPS, as tests/test_examples.py runs the first example), each
Korean notebook has exactly its English twin's code, and the notebooks are what examples/course/_build.py makes
(outputs stripped)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "examples" / "course"
ENGLISH = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
KOREAN = sorted((COURSE / "ko").glob("[0-9][0-9]_*.ipynb"))


def _build_module():
    spec = importlib.util.spec_from_file_location("course_build", COURSE / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_has_its_korean_twin_with_the_same_code():
    assert [p.name for p in ENGLISH] == [p.name for p in KOREAN]
    assert len(ENGLISH) >= 1
    for en_path in ENGLISH:
        en = nbformat.read(en_path, as_version=4)
        ko = nbformat.read(COURSE / "ko" / en_path.name, as_version=4)
        assert [c.cell_type for c in en.cells] == [c.cell_type for c in ko.cells], en_path.name
        assert [c.source for c in en.cells if c.cell_type == "code"] == \
               [c.source for c in ko.cells if c.cell_type == "code"], en_path.name
        prose_en = [c.source for c in en.cells if c.cell_type == "markdown"]
        prose_ko = [c.source for c in ko.cells if c.cell_type == "markdown"]
        for a, b in zip(prose_en, prose_ko):  # translated, not copied
            assert a != b and any("\uac00" <= ch <= "\ud7a3" for ch in b), (en_path.name, a[:60])


def test_notebooks_are_what_the_generator_makes_with_outputs_stripped():
    build = _build_module()
    assert build.stale() == [], "run: python examples/course/_build.py"
    for path in build.outputs():
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path


def test_every_notebook_teaches_then_sets_exercises():
    for path in ENGLISH + KOREAN:
        nb = nbformat.read(path, as_version=4)
        first, last = nb.cells[0].source, nb.cells[-1].source
        assert first.startswith("# "), path
        assert ("## Exercises" in last) or ("## 연습 문제" in last), path
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert 'os.environ.get("SLAMDUNK_EXAMPLE_STEPS"' in code, path  # the small-mode switch CI uses


@pytest.mark.parametrize("path", ENGLISH + KOREAN, ids=[f"{p.parent.name}/{p.name}" for p in ENGLISH + KOREAN])
def test_course_notebook_runs_in_small_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_EXAMPLE_STEPS", "20")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # CI's 2 cores are shared: one torch thread is several times faster
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "Traceback" not in text and not any(o.get("output_type") == "error" for o in outputs)
    assert not [o for o in outputs if o.get("name") == "stderr" and "Warning" in o.get("text", "")], path
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} draws no plot"
