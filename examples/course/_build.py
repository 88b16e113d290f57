"""Writes the course notebooks (English in this folder, Korean in ko/) and the assignments' source notebooks
(assignments/source/<name>/ and <name>-ko/) from the cells in _src/.

The code cells of a notebook and its Korean twin come from the same place, so they cannot drift apart; only the
prose is written twice. Edit _src/, then run

    python examples/course/_build.py          # rewrite the notebooks
    python examples/course/_build.py --check  # exit 1 if a notebook is not what _src/ makes (CI runs this)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

NOTEBOOKS = ["01_tokens", "02_positions", "03_attention", "04_block", "05_scale", "06_sampling", "07_families"]
ASSIGNMENTS = ["positions", "attention", "block", "scale"]
KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def _notebook(cells, language: str, prefix: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL))
    for i, cell in enumerate(cells):
        text = cell.ko if language == "ko" else cell.en
        cell_id = f"{prefix}-{i:02d}"
        if cell.kind == "markdown":
            out = nbformat.v4.new_markdown_cell(text, id=cell_id)
        else:
            out = nbformat.v4.new_code_cell(text, id=cell_id)
        if cell.nbgrader is not None:
            out.metadata["nbgrader"] = dict(cell.nbgrader)
            out.metadata["deletable"] = False
            out.metadata["editable"] = not cell.nbgrader["locked"]
        nb.cells.append(out)
    return nb


def outputs() -> dict[Path, str]:
    """Every generated notebook's path and text."""
    files: dict[Path, str] = {}
    for name in NOTEBOOKS:
        cells = importlib.import_module(f"_src.nb{name}").CELLS
        for language, folder in (("en", HERE), ("ko", HERE / "ko")):
            files[folder / f"{name}.ipynb"] = nbformat.writes(_notebook(cells, language, name.replace("_", "-")))
    for name in ASSIGNMENTS:
        cells = importlib.import_module(f"_src.as_{name}").CELLS
        for language, assignment in (("en", name), ("ko", f"{name}-ko")):
            path = HERE / "assignments" / "source" / assignment / f"{assignment}.ipynb"
            files[path] = nbformat.writes(_notebook(cells, language, assignment))
    return {path: text + "\n" for path, text in files.items()}


def stale() -> list[Path]:
    """The notebooks whose file differs from what _src/ makes."""
    return [p for p, text in outputs().items() if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        for path in bad:
            print(f"{path.relative_to(HERE)} is not what _src/ makes: run python examples/course/_build.py")
        return 1 if bad else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
