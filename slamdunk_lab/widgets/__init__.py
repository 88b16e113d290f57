"""Notebook widgets of SLaM Dunk Lab (anywidget + React, one shared bundle)."""

from ._base import BundleMissingError, SlamDunkWidget, bundle_available, set_language
from .canvas import Canvas, clean_graph, empty_graph
from .monitor import Monitor
from .playground import Playground
from .runs import Runs

__all__ = [
    "BundleMissingError",
    "Canvas",
    "Monitor",
    "Playground",
    "Runs",
    "SlamDunkWidget",
    "bundle_available",
    "clean_graph",
    "empty_graph",
    "set_language",
]
