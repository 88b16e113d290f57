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

Reading trusts nothing on disk: ``latest.json`` and ``step-*`` entries are only followed to folders inside the
checkpoint directory, ``state.json`` is checked for shape, the weights file's header is compared with the
design before the model is allocated, and ``optimizer.pt`` is read with ``weights_only=True``. Problems are
raised as :class:`slamdunk_lab.ModelFileError` naming the file.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from .. import _files
from ..errors import GraphError, ModelFileError

if TYPE_CHECKING:
    from ..model import GraphModel

FORMAT = "slamdunk_lab.checkpoint"
FORMAT_VERSION = 1
LATEST = "latest.json"
STATE = "state.json"
WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.pt"
_STEP_DIR = re.compile(r"^step-(\d+)$")
#: state.json holds the design and the history (a few entries per step): 256 MB is far beyond any real run.
MAX_STATE_BYTES = 256 * 2**20


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
    remove_stale(root)
    final = root / step_dir_name(step)
    if final.is_symlink():  # not a folder this function wrote: drop the link (never what it points at)
        final.unlink()
    if not (final / STATE).is_file():
        needed = _checkpoint_bytes(model, optimizer)
        _files.check_free_space(root, needed, f"the checkpoint of step {step}")
        tmp = root / f".tmp-{step_dir_name(step)}-{_files.owner_tag()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            with _files.translate_disk_full(root, f"the checkpoint of step {step}", needed):
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


#: A checkpoint being written: ``.tmp-step-000500-<pid>@<host>`` (older versions: without ``@<host>``).
_TMP_DIR = re.compile(r"^\.tmp-step-\d+-(?P<pid>\d+)(@(?P<host>[\w-]+))?$")


def remove_stale(root: Path) -> list[Path]:
    """Remove the half-written checkpoint folders of processes that died while writing them (killed, crashed);
    those of live processes stay. Returns what was removed."""
    stale = list(_files.stale_temporaries(root, _TMP_DIR))
    for path in stale:
        _files.remove_tree(path)
    return stale


def _checkpoint_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """About what a checkpoint takes on disk: the weights, the optimizer's tensors, a little for the rest."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    moments = sum(t.numel() * t.element_size() for st in optimizer.state.values() for t in st.values()
                  if isinstance(t, torch.Tensor))
    return weights + (moments or 2 * weights) + 2**16


def step_back(checkpoint_dir: str | os.PathLike, bad_step: int) -> int | None:
    """Remove the checkpoint of ``bad_step`` and point ``latest.json`` at the newest one before it; returns that
    one's step (None when there is none left, and then ``latest.json`` is removed).

    For a run whose loss became NaN at step k: that loss was computed with the weights of step k - 1, so a
    checkpoint of step k - 1 would resume straight into the NaN."""
    root = Path(checkpoint_dir)
    _files.remove_tree(root / step_dir_name(bad_step))
    steps = sorted(int(m.group(1)) for p in root.iterdir()
                   if (m := _STEP_DIR.match(p.name)) and int(m.group(1)) < bad_step and _valid(p)
                   and not p.is_symlink())
    if not steps:
        (root / LATEST).unlink(missing_ok=True)
        return None
    write_json_atomic(root / LATEST, {"checkpoint": step_dir_name(steps[-1]), "step": steps[-1]})
    return steps[-1]


def _prune(root: Path, keep: int, protect: str) -> None:
    steps = sorted((int(m.group(1)), p) for p in root.iterdir()
                   if (m := _STEP_DIR.match(p.name)) and p.is_dir() and not p.is_symlink())
    for _, path in steps[:-keep] if keep > 0 else []:
        if path.name != protect:
            shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ reading
def _inside(folder: Path, root_real: Path) -> bool:
    """Whether ``folder``, all symlinks and ``..`` resolved, lies inside ``root_real`` (and is not it)."""
    try:
        real = folder.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # gone, a symlink loop, a NUL byte
        return False
    return real != root_real and real.is_relative_to(root_real)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
             bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _read_state(path: Path) -> dict:
    """``state.json`` parsed and checked for shape; :class:`ModelFileError` naming the file and field if not."""
    try:
        state = _files.read_json_file(path, MAX_STATE_BYTES, "the checkpoint's state")
    except _files.UnreadableFile as exc:
        raise ModelFileError(str(exc)) from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is damaged (not valid JSON: {exc}); was the save interrupted?") from None
    if not isinstance(state, dict):
        raise ModelFileError(f"{path} is damaged: it holds {_json_type(state)}, not a JSON object")
    if state.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a slamdunk_lab checkpoint: its 'format' is {state.get('format')!r}, "
                             f"not {FORMAT!r}")
    version = state.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{path} is damaged: 'format_version' must be a whole number, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version}, newer than this library reads "
                             f"({FORMAT_VERSION}); upgrade slamdunk_lab")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ModelFileError(f"{path} is damaged: 'step' must be a whole number ≥ 0, got {step!r}")
    for field in ("config", "graph", "rng"):
        if field not in state:
            raise ModelFileError(f"{path} is damaged: the field {field!r} is missing")
        if not isinstance(state[field], dict):
            raise ModelFileError(f"{path} is damaged: {field!r} must be a JSON object, got "
                                 f"{_json_type(state[field])}")
    rng = state["rng"]
    if not isinstance(rng.get("torch_cpu"), str) or not isinstance(rng.get("numpy_batches"), dict):
        raise ModelFileError(f"{path} is damaged: 'rng' must hold 'torch_cpu' (a string) and 'numpy_batches' "
                             f"(an object)")
    return state


def _valid(folder: Path) -> bool:
    """A complete checkpoint whose ``state.json`` reads and has the right shape (the weights are not read)."""
    try:
        _read_state(folder / STATE)
    except ModelFileError:
        return False
    return True


def resolve(path: str | os.PathLike) -> Path:
    """The checkpoint folder ``path`` refers to: a checkpoint folder itself, or a run's checkpoint directory
    (then its ``latest.json``, or failing that its newest complete ``step-*`` folder).

    Inside a run's directory only folders that really are inside it are used: a ``latest.json`` naming a folder
    elsewhere (``../x``, an absolute path, a symlink out) is ignored as damaged, and so are ``step-*`` entries
    whose real path lies outside. A newest checkpoint whose ``state.json`` is damaged (a crash mid-write, an
    edit) gives way to the newest valid one.
    """
    p = Path(path).expanduser()
    if (p / STATE).is_file():
        return p
    if not p.is_dir():
        raise FileNotFoundError(f"no checkpoint at {str(p)!r}: it is not a folder")
    root_real = p.resolve()
    remove_stale(p)
    latest = p / LATEST
    if latest.is_file():
        try:
            name = _files.read_json_file(latest, 2**16, "latest.json")["checkpoint"]
            if isinstance(name, str):
                target = p / name
                if _inside(target, root_real) and (target / STATE).is_file() and _valid(target):
                    return target
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged: fall back to the step-* folders
    complete = sorted((int(m.group(1)), c) for c in p.iterdir()
                      if (m := _STEP_DIR.match(c.name)) and _inside(c, root_real) and (c / STATE).is_file())
    if not complete:
        raise FileNotFoundError(f"no checkpoint in {str(p)!r}: expected {LATEST} or step-* folders with {STATE}")
    for _, folder in reversed(complete):
        if _valid(folder):
            return folder
    return complete[-1][1]  # none is valid: loading the newest reports what is wrong with it


_ST_DTYPE_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                   torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                   torch.uint8: "U8", torch.bool: "BOOL"}


def _tensor_groups(model: torch.nn.Module) -> list[tuple[list[str], tuple[int, ...], torch.dtype]]:
    """The model's state dict as groups of names sharing one tensor (tied weights), with shape and dtype.

    Works on a ``device="meta"`` model: tensors are told apart by identity, not by storage."""
    groups: dict[int, tuple[list[str], tuple[int, ...], torch.dtype]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        entry = groups.setdefault(id(tensor), ([], tuple(tensor.shape), tensor.dtype))
        entry[0].append(name)
    return list(groups.values())


def check_weights_file(weights: Path, model: torch.nn.Module, against: str) -> None:
    """From the header alone (nothing allocated): the safetensors file names exactly ``model``'s tensors (one
    name per tied group is enough), with their shapes and dtypes, and its data fills the file exactly.
    ``model`` may be on the meta device; ``against`` says what the file must match, for the error."""
    from ..io import read_safetensors_header

    header = read_safetensors_header(weights)  # size, offsets and tiling checked there
    stored = {k: v for k, v in header.items() if k != "__metadata__"}
    problems, known = [], set()
    for names, shape, dtype in _tensor_groups(model):
        known.update(names)
        present = [n for n in names if n in stored]
        if not present:
            problems.append(f"tensor {names[0]!r} is missing")
            continue
        for name in present:
            info = stored[name]
            if tuple(info["shape"]) != shape:
                problems.append(f"tensor {name!r} has shape {tuple(info['shape'])} but {against} needs {shape}")
            elif info["dtype"] != _ST_DTYPE_NAMES.get(dtype):
                problems.append(f"tensor {name!r} is {info['dtype']} but {against} needs "
                                f"{_ST_DTYPE_NAMES.get(dtype, dtype)}")
    problems += [f"tensor {name!r} is not part of the design" for name in stored if name not in known]
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise ModelFileError(f"{weights} does not match {against}: {shown}")


def load_weights_file(weights: Path, model: torch.nn.Module, against: str) -> None:
    """Copy a safetensors file into ``model`` after :func:`check_weights_file`; never a partial load."""
    from safetensors import SafetensorError

    check_weights_file(weights, model, against)
    try:
        missing, unexpected = load_model(model, str(weights), strict=False,
                                         device=str(next(model.parameters()).device))
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"cannot read {weights}: {exc}") from None
    if missing or unexpected:  # the header check rules this out; never keep a partly loaded model
        raise ModelFileError(f"{weights} does not match the model: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")
    if (tie := getattr(model, "tie_weights", None)) is not None:  # a GraphModel: tied weights share storage again
        tie()


class LoadedCheckpoint:
    """A checkpoint folder opened for reading: ``state`` (the JSON), ``build_model()``, ``optimizer_state()``,
    ``tokenizer()``."""

    def __init__(self, path: str | os.PathLike):
        self.path = resolve(path)
        self.state: dict = _read_state(self.path / STATE)

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def graph(self) -> dict:
        return self.state["graph"]

    def build_model(self, device: Any = "cpu") -> GraphModel:
        """The model of this checkpoint with its trained weights, on ``device``.

        The design is first built on the meta device (nothing allocated) and the weights file's header is
        checked against it, so a damaged or tampered checkpoint fails before any memory is taken."""
        from ..model import build

        try:
            skeleton = build(self.graph, device="meta", max_params=None)
        except GraphError as exc:
            raise ModelFileError(f"{self.path / STATE} is damaged: its 'graph' is not a valid design: {exc}") from exc
        check_weights_file(self._weights(), skeleton, f"the graph in {self.path / STATE}")
        del skeleton
        with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: leave the RNG alone
            model = build(self.graph, device=device, max_params=None)
        self.load_weights(model)
        return model

    def _weights(self) -> Path:
        if not (self.path / WEIGHTS).is_file():
            raise ModelFileError(f"checkpoint {str(self.path)!r} is incomplete: {WEIGHTS} is missing")
        return self.path / WEIGHTS

    def load_weights(self, model: torch.nn.Module) -> None:
        """Copy this checkpoint's weights into ``model`` (checked against it first)."""
        load_weights_file(self._weights(), model, f"the graph in {self.path / STATE}")

    def optimizer_state(self, device: Any = "cpu") -> dict:
        """The optimizer's state dict. Read with ``weights_only=True``: a file holding anything but tensors and
        plain containers is refused, never unpickled."""
        path = self.path / OPTIMIZER
        refused = (f"{path} is not a plain tensor file written by slamdunk_lab; refused to unpickle it "
                   f"(weights_only=True)")
        try:
            state = torch.load(path, map_location=device, weights_only=True)
        except RuntimeError as exc:
            if "weights_only" in str(exc) or "Weights only" in str(exc):
                raise ModelFileError(refused) from None
            raise ModelFileError(f"{path} is damaged: torch cannot read it ({str(exc).splitlines()[0]})") from None
        except (EOFError, ValueError) as exc:
            raise ModelFileError(f"{path} is damaged or truncated: torch cannot read it ({exc})") from None
        except Exception as exc:  # pickle.UnpicklingError, by name: this module never imports pickle
            if type(exc).__name__ != "UnpicklingError":
                raise
            raise ModelFileError(refused) from None  # torch's own message suggests weights_only=False: never
        if not isinstance(state, dict) or not isinstance(state.get("state"), dict) \
                or not isinstance(state.get("param_groups"), list):
            raise ModelFileError(f"{path} is not an optimizer state: expected an object with 'state' and "
                                 f"'param_groups'")
        return state

    def tokenizer(self):
        from ..tokenizers import load

        return load(self.path / "tokenizer")
