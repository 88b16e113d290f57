"""How much memory a device has free, and the check that a training job fits in it before anything is allocated.

``sd.analyze`` estimates a job's training memory (weights, gradients, AdamW's two moments, activations at the
job's batch and context). A job whose estimate is more than the device has free would otherwise allocate for
seconds or minutes and then die in the allocator (or take the machine into swap); it is refused at once instead,
naming the settings and the numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._files import human_bytes


def _meminfo_available() -> int | None:
    """Linux's estimate of the memory that can be given to a new program without swapping (MemAvailable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """What this process's cgroup (a container's memory limit) still allows, when it sets a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def available_memory(device: Any) -> tuple[int | None, str]:
    """``(bytes free, where)`` on ``device`` (a ``torch.device``): a GPU's free memory, or the memory the
    operating system can still give this process; ``None`` when it cannot be told."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free), f"GPU {device}"
    candidates = [n for n in (_meminfo_available(), _cgroup_room()) if n is not None]
    if not candidates:
        try:
            candidates = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError, AttributeError):
            return None, "this machine"
    return min(candidates), "this machine" if kind == "cpu" else f"this machine (shared with the {kind} device)"


def check_training_memory(graph: Any, batch_size: int, context: int, device: Any) -> None:
    """Raise ``ValueError`` when training ``graph`` at ``batch_size`` × ``context`` needs more memory than
    ``device`` has free (sd.analyze's estimate against :func:`available_memory`), before anything is allocated."""
    from .analysis import analyze

    need = analyze(graph, batch_size=batch_size, context=context, max_memory=None).memory.get("total", 0)
    free, where = available_memory(device)
    if free is None or need <= free:
        return
    raise ValueError(f"training at batch_size={batch_size:,} × context={context:,} needs about "
                     f"{human_bytes(need)} (sd.analyze's estimate: weights, gradients, optimizer state and "
                     f"activations), but {where} has only {human_bytes(free)} free; use a smaller batch_size or "
                     f"context (grad_accum=N trains on N batches per step at the memory of one)")
