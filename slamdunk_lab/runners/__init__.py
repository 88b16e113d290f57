"""Where training jobs run: this kernel (:class:`LocalThreadRunner`) or Celery workers over Redis.

Every runner calls the same :func:`slamdunk_lab.training.execute` with the same JSON job spec; they differ
only in how the work goes out and how the events come back, and return the same :class:`Run` handle.
"""

from .base import FINAL, STATUSES, Run, Runner
from .local import LOCAL, LocalRun, LocalThreadRunner

__all__ = ["FINAL", "LOCAL", "STATUSES", "LocalRun", "LocalThreadRunner", "Run", "Runner"]
