"""Learning-rate schedules: linear warmup, then cosine, linear or constant down to ``min_lr``.

The schedule is a pure function of the step, so a resumed run needs no scheduler state beyond the step.

>>> round(lr_at(0, lr=1e-3, warmup=10, total=100), 6)
0.0001
>>> lr_at(100, lr=1e-3, warmup=10, total=100, min_lr=1e-4)
0.0001
"""

from __future__ import annotations

import math

SCHEDULES = ("cosine", "linear", "constant")


def lr_at(step: int, lr: float, warmup: int, total: int, schedule: str = "cosine", min_lr: float = 0.0) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total``.

    Warmup rises linearly from ``lr / warmup`` to ``lr`` over the first ``warmup`` steps; afterwards the rate
    decays to ``min_lr`` at step ``total`` (cosine or linear) or stays at ``lr`` (constant).
    """
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return lr
    progress = min(1.0, (step - warmup) / (total - warmup))  # 0 → 1 over the decay phase
    if schedule == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule == "linear":
        factor = 1.0 - progress
    else:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    return min_lr + factor * (lr - min_lr)
