"""Where training jobs run: this kernel (:class:`LocalThreadRunner`) or Celery workers over Redis
(:class:`~slamdunk_lab.runners.remote.CeleryRunner`, ``slamdunk-lab worker``).

Every runner calls the same :func:`slamdunk_lab.training.execute` with the same JSON job spec; they differ
only in how the work goes out and how the events come back, and return the same :class:`Run` handle.

Names are loaded on first use: a Celery worker imports :mod:`.workers` without pulling in torch, which it
imports only when a job arrives (a forking parent must never hold torch).
"""

from __future__ import annotations

import importlib

_NAMES = {"FINAL": "base", "STATUSES": "base", "Run": "base", "Runner": "base", "LOCAL": "local",
          "LocalRun": "local", "LocalThreadRunner": "local", "CeleryRunner": "remote", "RemoteRun": "remote"}

__all__ = ["FINAL", "LOCAL", "STATUSES", "CeleryRunner", "LocalRun", "LocalThreadRunner", "RemoteRun", "Run", "Runner"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
