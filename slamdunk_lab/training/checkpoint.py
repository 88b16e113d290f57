"""Atomic training checkpoints: weights as safetensors, everything else as JSON, optimizer state as torch tensors.

Layout of a run's checkpoint directory::

    <checkpoint_dir>/latest.json          {"checkpoint": "step-000500", "step": 500}
    <checkpoint_dir>/step-000500/
        model.safetensors                 the weights (tied weights stored once)
        optimizer.pt                      AdamW state: tensors only, read with torch.load(weights_only=True)
        state.json                        step, config, graph, RNG states, history
        tokenizer/                        tokenizer.save(...)

Each checkpoint is written into a temporary folder, every file fsync'ed, then renamed into place, and only then
does ``latest.json`` (itself replaced atomically) point at it: a crash at any moment leaves the previous
checkpoint loadable. Nothing here unpickles arbitrary objects.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from .. import _files

FORMAT = "slamdunk_lab.checkpoint"
FORMAT_VERSION = 1
LATEST = "latest.json"
STATE = "state.json"
WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.pt"
_STEP_DIR = re.compile(r"^step-(\d+)$")


# ------------------------------------------------------------------ RNG state as JSON
def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def rng_state(batch_rng: np.random.Generator, device: torch.device) -> dict:
    """Every random state that shapes the next steps: torch (CPU and the device) and the numpy batch sampler."""
    state: dict[str, Any] = {"torch_cpu": _b64(torch.get_rng_state()), "numpy_batches": batch_rng.bit_generator.state}
    if device.type == "cuda":
        state["torch_cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    elif device.type == "mps":
        state["torch_mps"] = _b64(torch.mps.get_rng_state())
    return state


def restore_rng_state(state: dict, batch_rng: np.random.Generator, device: torch.device) -> None:
    """Put back what :func:`rng_state` saved (device states only when the device matches)."""
    torch.set_rng_state(_unb64(state["torch_cpu"]))
    batch_rng.bit_generator.state = state["numpy_batches"]
    if device.type == "cuda" and "torch_cuda" in state:
        states = [_unb64(s) for s in state["torch_cuda"]]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
    elif device.type == "mps" and "torch_mps" in state:
        torch.mps.set_rng_state(_unb64(state["torch_mps"]))


# ------------------------------------------------------------------ writing
def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a fsync'ed temporary file and ``os.replace``."""
    _files.write_json_atomic(path, data, indent=1)


def step_dir_name(step: int) -> str:
    return f"step-{step:06d}"


def save(checkpoint_dir: str | os.PathLike, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         state: dict, tokenizer: Any, keep: int = 3) -> Path:
    """Write checkpoint ``step`` under ``checkpoint_dir`` and point ``latest.json`` at it; returns its folder.

    ``state`` must be JSON-serialisable without NaN (``allow_nan=False`` makes a NaN fail loudly rather than
    being saved). A checkpoint already written for this step is kept as is. Only the newest ``keep``
    checkpoints stay on disk.
    """
    root = Path(checkpoint_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    if not (final / STATE).is_file():
        tmp = root / f".tmp-{step_dir_name(step)}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            save_model(model, str(tmp / WEIGHTS), metadata={"format": FORMAT, "step": str(step)})
            _files.fsync_file(tmp / WEIGHTS)
            torch.save(optimizer.state_dict(), tmp / OPTIMIZER)
            _files.fsync_file(tmp / OPTIMIZER)
            tokenizer.save(tmp / "tokenizer")
            for f in (tmp / "tokenizer").rglob("*"):
                if f.is_file():
                    _files.fsync_file(f)
            payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, **state}
            write_json_atomic(tmp / STATE, payload)
            _files.fsync_dir(tmp)
            shutil.rmtree(final, ignore_errors=True)  # an incomplete folder from a crash
            os.replace(tmp, final)
            _files.fsync_dir(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    write_json_atomic(root / LATEST, {"checkpoint": final.name, "step": step})
    _prune(root, keep, protect=final.name)
    return final


def _prune(root: Path, keep: int, protect: str) -> None:
    steps = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir())
    for _, path in steps[:-keep] if keep > 0 else []:
        if path.name != protect:
            shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ reading
def resolve(path: str | os.PathLike) -> Path:
    """The checkpoint folder ``path`` refers to: a checkpoint folder itself, or a run's checkpoint directory
    (then its ``latest.json``, or failing that its newest complete ``step-*`` folder)."""
    p = Path(path).expanduser()
    if (p / STATE).is_file():
        return p
    if not p.is_dir():
        raise FileNotFoundError(f"no checkpoint at {str(p)!r}: it is not a folder")
    latest = p / LATEST
    if latest.is_file():
        try:
            target = p / json.loads(latest.read_text(encoding="utf-8"))["checkpoint"]
            if (target / STATE).is_file():
                return target
        except (ValueError, KeyError, TypeError):
            pass
    complete = sorted((int(m.group(1)), c) for c in p.iterdir()
                      if (m := _STEP_DIR.match(c.name)) and (c / STATE).is_file())
    if not complete:
        raise FileNotFoundError(f"no checkpoint in {str(p)!r}: expected {LATEST} or step-* folders with {STATE}")
    return complete[-1][1]


class LoadedCheckpoint:
    """A checkpoint folder opened for reading: ``state`` (the JSON), ``build_model()``, ``optimizer_state()``,
    ``tokenizer()``."""

    def __init__(self, path: str | os.PathLike):
        self.path = resolve(path)
        self.state: dict = json.loads((self.path / STATE).read_text(encoding="utf-8"))
        if self.state.get("format") != FORMAT:
            raise ValueError(f"{str(self.path / STATE)!r} is not a slamdunk_lab checkpoint")
        if self.state.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"checkpoint {str(self.path)!r} has format version {self.state['format_version']}, "
                             f"newer than this library reads ({FORMAT_VERSION}); upgrade slamdunk_lab")

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def graph(self) -> dict:
        return self.state["graph"]

    def build_model(self, device: Any = "cpu") -> torch.nn.Module:
        """The model of this checkpoint with its trained weights, on ``device``."""
        from ..model import build

        with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: leave the RNG alone
            model = build(self.graph, device=device, max_params=None)
        self.load_weights(model)
        return model

    def load_weights(self, model: torch.nn.Module) -> None:
        missing, unexpected = load_model(model, str(self.path / WEIGHTS), strict=False,
                                         device=str(next(model.parameters()).device))
        if missing or unexpected:
            raise ValueError(f"checkpoint {str(self.path)!r} does not match the model: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")
        model.tie_weights()

    def optimizer_state(self, device: Any = "cpu") -> dict:
        # Our own file, and weights_only=True refuses anything but tensors and plain containers anyway.
        return torch.load(self.path / OPTIMIZER, map_location=device, weights_only=True)

    def tokenizer(self):
        from ..tokenizers import load

        return load(self.path / "tokenizer")
