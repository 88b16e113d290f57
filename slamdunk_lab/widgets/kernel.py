"""What the notebook front end decides for a training run: whether it goes to the background, and its monitor.

When is a kernel "interactive"? (``background=None``)

1. ``SLAMDUNK_BACKGROUND=1`` / ``=0`` in the environment decides.
2. A ``CI`` environment variable (set by GitHub Actions, GitLab, most graders) means blocking.
3. Otherwise background only when IPython's shell is a ``ZMQInteractiveShell`` (a Jupyter kernel) *and* the
   cell being run allows stdin. Front ends a person types into (JupyterLab, Notebook, VS Code) send
   ``allow_stdin=True`` so ``input()`` works; nbclient — and so nbconvert ``--execute``, papermill and the
   graders built on them — sends ``allow_stdin=False``. A plain terminal IPython is blocking too.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

logger = logging.getLogger("slamdunk_lab.training")


def interactive_kernel() -> bool:
    """True in a Jupyter kernel driven by a person (see the module docstring for the exact rule)."""
    env = os.environ.get("SLAMDUNK_BACKGROUND", "").strip().lower()
    if env in ("1", "true", "yes"):
        return True
    if env in ("0", "false", "no"):
        return False
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


def notebook_frontend() -> bool:
    """True inside a Jupyter kernel (a front end can show widgets)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show_monitor(run: Any) -> None:
    """Display a monitor following ``run`` in the current cell; a failure is a warning, never an error."""
    try:
        from IPython.display import display

        from .monitor import Monitor

        display(Monitor().follow(run))
    except Exception as exc:  # noqa: BLE001 - the run must go on without its widget
        logger.warning("run %s: could not show the training monitor (%s: %s); follow it with run.history",
                       run.name, type(exc).__name__, exc)
