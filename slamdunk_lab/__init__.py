"""SLaM Dunk Lab: design, train and run small decoder-only language models inside notebooks.

>>> import slamdunk_lab as sd
>>> g = sd.template("gpt2", size="tiny")
>>> sd.analyze(g).ok
True
"""

from __future__ import annotations

from . import graph
from .analysis import Analysis, GraphIssue, NodeInfo, analyze
from .blocks import catalog
from .errors import GraphError, ModelFileError
from .templates import template, templates

__version__ = "0.1.0"

__all__ = ["Analysis", "GraphError", "GraphIssue", "ModelFileError", "NodeInfo", "analyze", "build", "catalog",
           "graph", "template", "templates", "to_code", "export_hf", "import_hf", "save", "load"]


def __getattr__(name: str):
    # torch-backed parts load on first use, so `import slamdunk_lab` stays fast for graph work.
    if name == "build":
        from .model import build

        return build
    if name in ("save", "load"):
        from . import io

        return getattr(io, name)
    if name == "to_code":
        from .codegen import to_code

        return to_code
    if name in ("export_hf", "import_hf"):
        from . import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'slamdunk_lab' has no attribute {name!r}")
