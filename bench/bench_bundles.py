"""Bundle size of each widget view, and what each widget adds to a saved notebook.

anywidget stores a widget's ESM and CSS in its synced state, and JupyterLab saves the state of every widget model
in the notebook ("Save widget state automatically"), so each widget instance carries its view's bundle. Goal: a
monitor adds ≤ 150 KB to a saved notebook.

    python bench/bench_bundles.py

The saved notebook is built as JupyterLab writes it: each cell's output is the widget's display data and the
notebook's metadata holds every model's state under ``application/vnd.jupyter.widget-state+json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import nbformat

import slamdunk_lab as sd
from slamdunk_lab.widgets import _base

KB = 1000


def widgets() -> dict[str, object]:
    """One of each widget, as a student's notebook would show them."""
    tok = sd.tokenizers.char("To be, or not to be, that is the question.")
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size))
    return {
        "canvas": sd.Canvas(template="llama3", size="tiny"),
        "monitor": sd.widgets.Monitor(title="Training", total_steps=100),
        "playground": sd.Playground(model, tok, prompt="To be"),
        "runs": sd.Runs(),
    }


def model_state(widget) -> dict:
    """What the widget manager saves for one model."""
    return {
        "model_name": widget._model_name,
        "model_module": widget._model_module,
        "model_module_version": widget._model_module_version,
        "state": widget.get_state(),
    }


def notebook_bytes(shown: dict[str, object], *, with_state: bool) -> int:
    nb = nbformat.v4.new_notebook()
    for name, w in shown.items():
        data = w._repr_mimebundle_()
        data = data[0] if isinstance(data, tuple) else data
        cell = nbformat.v4.new_code_cell(name)
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        nb.cells.append(cell)
    if with_state:
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "version_major": 2,
                "version_minor": 0,
                "state": {w.model_id: model_state(w) for w in shown.values()},
            }
        }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nb.ipynb"
        nbformat.write(nb, path)
        return path.stat().st_size


def main() -> None:
    if not _base.bundle_available():
        sys.exit("front end not built: npm ci && npm run build")
    print(f"{'view':<11} {'ESM':>9} {'CSS':>8}   React Flow inside")
    for view in _base.VIEWS:
        esm = _base.esm_path(view).read_text(encoding="utf-8")
        css = _base.css_path(view).stat().st_size
        print(f"{view:<11} {len(esm.encode()) / KB:>6.1f} KB {css / KB:>5.1f} KB   {'react-flow__' in esm}")
    shown = widgets()
    print()
    print(f"{'widget':<11} {'saved state':>12} {'notebook without state':>23} {'with state':>11} {'added':>9}")
    for name, w in shown.items():
        alone = {name: w}
        state = len(json.dumps(model_state(w)).encode())
        bare = notebook_bytes(alone, with_state=False)
        full = notebook_bytes(alone, with_state=True)
        print(f"{name:<11} {state / KB:>9.1f} KB {bare / KB:>20.1f} KB {full / KB:>8.1f} KB {(full - bare) / KB:>6.1f} KB")
    bare, full = notebook_bytes(shown, with_state=False), notebook_bytes(shown, with_state=True)
    print(f"{'all four':<11} {'':>12} {bare / KB:>20.1f} KB {full / KB:>8.1f} KB {(full - bare) / KB:>6.1f} KB")


if __name__ == "__main__":
    main()
