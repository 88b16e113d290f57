"""SLaM Dunk Lab: design, train and run small decoder-only language models inside notebooks.

>>> import slamdunk_lab as sd
>>> g = sd.template("gpt2", size="tiny")
>>> sd.analyze(g).ok
True
"""

from __future__ import annotations

from . import data, graph, tokenizers
from ._version import __version__ as __version__
from .analysis import Analysis, GraphIssue, NodeInfo, analyze
from .blocks import catalog
from .errors import GraphError, ModelFileError
from .interop import seed as _seed
from .templates import template, templates

graph.from_seed = _seed.from_seed  # type: ignore[attr-defined]  # the seed importer lives in interop/ (it reads the catalogue); users find it here

__all__ = [
    "Analysis",
    "Canvas",
    "GraphError",
    "GraphIssue",
    "ModelFileError",
    "Monitor",
    "NodeInfo",
    "Playground",
    "Runs",
    "analyze",
    "attention",
    "build",
    "catalog",
    "check",
    "connect",
    "data",
    "export_hf",
    "generate",
    "graph",
    "import_hf",
    "load",
    "load_run",
    "next_token_probs",
    "resume",
    "runs",
    "save",
    "seed",
    "set_language",
    "template",
    "templates",
    "to_code",
    "tokenizers",
    "train",
]

# Public names that need torch (or MLflow), by the module that defines them: loaded on first use, so that
# `import slamdunk_lab` stays fast for graph work.
_LAZY = {
    "build": "model", "save": "io", "load": "io", "to_code": "interop.codegen", "export_hf": "interop.hf",
    "import_hf": "interop.hf",
    "generate": "generation", "next_token_probs": "generation", "attention": "generation",
    "train": "session", "resume": "session", "runs": "session", "load_run": "session", "connect": "session",
    "Canvas": "widgets", "Playground": "widgets", "Monitor": "widgets", "Runs": "widgets",
    "set_language": "widgets",
}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name == "seed":  # sd.seed: designs, training settings and trained models of the original web project
        return importlib.import_module(".interop.original", __name__)
    if name in ("check", "grading"):  # sd.check: the checks a teacher grades with
        return importlib.import_module(".grading", __name__)
    if name in ("hf", "codegen"):  # the modules moved into interop/ keep their short names
        return importlib.import_module(f".interop.{name}", __name__)
    if name in ("widgets", "training", "runners", "session", "generation", "io", "model", "interop"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'slamdunk_lab' has no attribute {name!r}")
