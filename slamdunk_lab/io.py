"""Save a model to a folder and load it back, without ever unpickling anything.

``sd.save(model, "runs/shakespeare")`` writes::

    runs/shakespeare/
        model.safetensors   the weights (tied duplicates stored once), safetensors format
        graph.json          the normalised design the model was built from
        slamdunk.json       library version, parameter count, dtype, SHA-256 of the weights, creation time
        tokenizer/          the tokenizer, when there is one (``tokenizer.save``)

``sd.load("runs/shakespeare")`` rebuilds the model from ``graph.json`` and checks the weights file before
trusting it: the header's length and layout, that it is complete, that every tensor the design needs is there
with the right shape and dtype (and nothing else), and its checksum. A save is written whole to a temporary
folder, flushed to disk, and only then moved into place (``slamdunk.json`` last), so neither a crash nor a save
that fails part-way leaves a half-written file under the real name or spoils an earlier save in the folder.

>>> import tempfile, torch, slamdunk_lab as sd
>>> model = sd.build(sd.template("gpt2", size="tiny", n_layer=1))
>>> folder = sd.save(model, tempfile.mkdtemp() + "/tiny")
>>> again = sd.load(folder)
>>> idx = torch.zeros(1, 4, dtype=torch.long)
>>> torch.equal(again(idx), model.eval()(idx))
True
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from . import _files
from ._files import UnreadableFile, atomic_write, fsync_dir, owner_tag, write_json_atomic
from ._version import __version__
from .analysis import analyze
from .errors import GraphError, ModelFileError
from .model import DTYPES, GraphModel, build

FORMAT = "slamdunk-lab"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
GRAPH = "graph.json"
META = "slamdunk.json"
TOKENIZER = "tokenizer"

#: A safetensors header is a few KB per hundred tensors; the reference reader refuses more than 100 MB.
MAX_HEADER_BYTES = 100 * 2**20
MAX_JSON_BYTES = 64 * 2**20  # graph.json / slamdunk.json: a 50,000-node graph is a few MB

#: safetensors dtype names and their sizes in bytes.
_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}
_ST_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
             "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


# --------------------------------------------------------------------------------------------- paths
def _folder(path: Any) -> Path:
    """``path`` as an absolute folder path: no NUL bytes, ``..`` and symlinks resolved."""
    if isinstance(path, bytes):
        raise ModelFileError(f"give the folder as a string or pathlib.Path, not bytes ({path!r})")
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"the folder must be a string or pathlib.Path, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ModelFileError(f"give the folder as a string or pathlib.Path, not bytes ({text!r})")
    if "\x00" in text:
        raise ModelFileError(f"the folder name {text!r} contains a NUL byte, which no file system allows")
    if not text.strip():
        raise ModelFileError("the folder name is empty; give a folder such as 'runs/my-model'")
    try:
        folder = Path(text).expanduser().resolve(strict=False)
    except OSError as exc:  # a name the OS refuses
        raise _os_error("use the folder", Path(text), exc) from None
    except RuntimeError as exc:  # a symlink loop
        raise ModelFileError(f"cannot use {_shown(text)} as a folder: {exc}") from None
    try:  # a name too long for the file system, or a parent folder that cannot be searched
        os.lstat(folder)
    except (FileNotFoundError, NotADirectoryError):
        pass  # a folder still to be created, or a path through a file: the callers explain either
    except OSError as exc:
        raise _os_error("use the folder", folder, exc) from None
    return folder


def _shown(path: Any) -> str:
    """``path`` quoted for an error message; a very long one is cut in the middle so the message stays short."""
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)
    if len(text) > 200:
        text = f"{text[:120]}...{text[-60:]} ({len(text):,} characters)"
    return f"'{text}'"


def _os_error(action: str, path: Path, exc: OSError) -> ModelFileError:
    """A :class:`ModelFileError` for the operating system refusing ``action`` on ``path``, naming the path."""
    if isinstance(exc, _files.NoSpaceError):
        return ModelFileError(str(exc))
    if _files.disk_full(exc):
        full = Path(os.fsdecode(exc.filename)) if getattr(exc, "filename", None) else path
        return ModelFileError(f"cannot {action} {_shown(path)}: {_files.no_space_message(full)}")
    reason = exc.strerror or str(exc)
    filename = os.fsdecode(exc.filename) if exc.filename is not None else None
    if exc.errno == errno.ENAMETOOLONG:
        longest = max(Path(filename or path).parts, key=lambda part: len(os.fsencode(part)), default="")
        size = len(os.fsencode(longest))
        reason += (f": the name {_shown(longest)} is {size:,} bytes long, and file systems allow at most 255"
                   if size > 255 else ": the whole path is longer than the operating system allows")
    where = f" ({_shown(filename)})" if filename and filename != os.fspath(path) else ""
    return ModelFileError(f"cannot {action} {_shown(path)}: {reason}{where}")


# --------------------------------------------------------------------------------------------- atomic writes
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- state dicts
def _stored_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with tied duplicates dropped: each parameter is stored under its first name."""
    seen: set[int] = set()
    out = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        out[key] = tensor
    return out


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# --------------------------------------------------------------------------------------------- save
#: Files (and the tokenizer folder) a save puts in its folder, in the order a save over an old one moves
#: them in; slamdunk.json comes last: it names the weights' checksum, so a half-finished swap is caught on load.
_SAVED = (GRAPH, TOKENIZER, WEIGHTS, META)


def save(model: GraphModel, path: str | os.PathLike, tokenizer: Any = None) -> Path:
    """Write ``model`` (and its tokenizer) to the folder ``path``, created if needed; returns the folder.

    The tokenizer is ``tokenizer`` or else ``model.tokenizer`` when set. Files already in the folder from an
    earlier save are replaced; a path that is an existing file is refused.

    Everything is checked first and then written to a temporary folder; the destination is touched only once
    the whole save is on disk. A new folder is renamed into place in one step; over an earlier save, the old
    files are set aside and the new ones moved in (``slamdunk.json`` last), and the old ones are put back if
    that fails. A save that fails therefore leaves an earlier save in the folder loadable.
    """
    if not isinstance(model, GraphModel):
        raise TypeError(f"save() takes a model built with slamdunk_lab.build, got {type(model).__name__}")
    folder = _folder(path)
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    if tokenizer is not None and not callable(getattr(tokenizer, "save", None)):
        raise TypeError(f"the tokenizer must have a save(folder) method, got {type(tokenizer).__name__}")
    try:
        return _save(model, folder, tokenizer)
    except OSError as exc:
        raise _os_error("save the model to", folder, exc) from None


def _save(model: GraphModel, folder: Path, tokenizer: Any) -> Path:
    exists = _check_destination(folder)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in _stored_tensors(model).items()}
    dtypes = {v.dtype for v in tensors.values()}
    dtype = _dtype_name(next(iter(tensors.values())).dtype) if len(dtypes) == 1 else "mixed"

    if not exists:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in folder.parents if p.exists() or p.is_symlink()), None)
            reason = (f"{_shown(blocker)} is an existing file, not a folder" if blocker and not blocker.is_dir()
                      else exc.strerror or str(exc))
            raise ModelFileError(f"cannot create the folder {_shown(folder)}: {reason}") from None
    # Beside the new folder, so that it can be renamed into place; inside an existing one, so that its files
    # can be moved in even when the folder is a mount point or its parent cannot be written to.
    _recover(folder)  # an earlier save killed part-way: finish it, and clear the temporary folders of dead ones
    needed = sum(t.numel() * t.element_size() for t in tensors.values()) + 2**16  # + graph, tokenizer, headers
    _files.check_free_space(folder if exists else folder.parent, needed, "the model")
    staging = _make_staging(folder if exists else folder.parent, _staging_prefix(folder))
    try:
        _write_save(staging, model, tensors, dtype, tokenizer)
        if not exists:
            try:
                os.rename(staging, folder)  # one step: the folder appears complete or not at all
                fsync_dir(folder.parent)
                return folder
            except OSError:
                if not folder.is_dir():  # not "something else created it meanwhile": a real failure
                    raise
                _check_destination(folder)
        _swap_in(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _check_destination(folder: Path) -> bool:
    """Refuse a destination a save cannot safely replace; True when the folder already exists."""
    if folder.exists() and not folder.is_dir():  # ``folder`` is resolved: a link to a folder is followed
        raise ModelFileError(f"cannot save into {_shown(folder)}: it is an existing file, not a folder; choose "
                             "another name")
    if not folder.exists():
        return False
    for name in _SAVED:
        target = folder / name
        if target.is_symlink():
            raise ModelFileError(f"cannot save into {_shown(folder)}: '{name}' there is a link (to "
                                 f"'{os.readlink(target)}'), which a save will not write through; remove it")
        if name == TOKENIZER and target.exists() and not target.is_dir():
            raise ModelFileError(f"cannot save into {_shown(folder)}: '{name}' there is a file, not a folder; "
                                 "remove it")
        if name != TOKENIZER and target.is_dir():
            raise ModelFileError(f"cannot save into {_shown(folder)}: '{name}' there is a folder; remove it")
    return True


def _staging_prefix(folder: Path) -> str:
    """The name start of a save's temporary folder: the model folder's name and the writing process's pid."""
    return f".{folder.name[:40]}.saving-{owner_tag()}-"


#: A save's temporary folder, inside the model folder (an overwrite) or beside it (a new folder).
_STAGING = re.compile(r"^\.(?P<name>.{0,40})\.saving-(?P<pid>\d+)@(?P<host>[\w-]+)-[0-9a-f]+$")


def _recover(folder: Path) -> None:
    """Clean up after saves into ``folder`` whose process died (killed, crashed, the machine lost power).

    A save over an earlier one sets the old ``slamdunk.json`` aside first and moves the new one in last. Killed
    in between, the folder has no ``slamdunk.json`` while the save's temporary folder holds the rest of the new
    save, complete (its ``slamdunk.json`` is written last): the swap is finished here, so the folder holds the
    new model. Every other temporary folder of a dead process is only garbage and is removed, inside the folder
    and beside it (the saves of new folders that never appeared). Saves of live processes are left alone.
    """
    if folder.is_dir() and not folder.is_symlink():
        for staging in _files.stale_temporaries(folder, _STAGING):
            if not (folder / META).exists() and (staging / META).is_file():
                try:
                    _finish_swap(staging, folder)
                except OSError:
                    continue  # cannot finish it (read-only?): leave it for load to report
            _files.remove_tree(staging)
    for staging in _files.stale_temporaries(folder.parent, _STAGING):
        _files.remove_tree(staging)  # beside the folder: a new folder's save that never got renamed into place


def _finish_swap(staging: Path, folder: Path) -> None:
    """Move what is left of the new save in ``staging`` into ``folder`` (slamdunk.json last); see _recover."""
    previous = next((p for p in staging.iterdir() if p.name.startswith(".previous-")), None)
    previous = previous or _make_staging(staging, ".previous-")
    new_meta = _read_json(staging / META)
    for name in _SAVED:
        new, target = staging / name, folder / name
        moving_in = new.exists() or new.is_symlink()
        dropped = name == TOKENIZER and isinstance(new_meta, dict) and new_meta.get("tokenizer") is None
        if (moving_in or dropped) and (target.exists() or target.is_symlink()) and name != META:
            os.replace(target, previous / name)  # the old file (state: not yet set aside)
        if moving_in:
            os.replace(new, target)
    fsync_dir(folder)


def _make_staging(parent: Path, prefix: str) -> Path:
    """A new, empty, hidden folder in ``parent`` with the usual permissions (``tempfile.mkdtemp`` gives 0700)."""
    for _ in range(100):
        staging = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            staging.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ModelFileError(f"cannot create a temporary folder in {_shown(parent)} to write the save in: "
                                 f"{exc.strerror or exc}") from None
        return staging
    raise ModelFileError(f"cannot create a temporary folder in {_shown(parent)}: every name tried exists")


def _write_save(staging: Path, model: GraphModel, tensors: dict[str, torch.Tensor], dtype: str,
                tokenizer: Any) -> None:
    """Write every file of the save into the empty folder ``staging``."""
    from safetensors.torch import save_file

    written: dict[str, Any] = {}

    def write_weights(tmp: Path) -> None:
        with _files.translate_disk_full(staging, "the weights"):
            save_file(tensors, str(tmp), metadata={"format": FORMAT, "version": str(FORMAT_VERSION)})
        written.update(digest=_sha256(tmp), size=tmp.stat().st_size)

    atomic_write(staging / WEIGHTS, write_weights)
    write_json_atomic(staging / GRAPH, model.graph)
    if tokenizer is not None:
        tokenizer.save(staging / TOKENIZER)
        if not (staging / TOKENIZER).is_dir() or (staging / TOKENIZER).is_symlink():
            raise ModelFileError(f"the tokenizer's save({_shown(staging / TOKENIZER)}) did not write a folder "
                                 f"there ({type(tokenizer).__name__}.save must create the folder it is given)")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "params": model.analysis.params,
        "dtype": dtype,
        "weights": {"file": WEIGHTS, "sha256": written["digest"], "bytes": written["size"],
                    "tensors": len(tensors)},
        "tokenizer": TOKENIZER if tokenizer is not None else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(staging / META, meta)


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace the saved files in ``folder`` by those in ``staging``, putting the old ones back on failure.

    The old ``slamdunk.json`` is set aside first and the new one moved in last, so a crash part-way leaves a
    folder that ``load`` reports as incomplete, never a mix of two saves that loads. Other files in the folder
    are left alone, and so is a ``tokenizer/`` folder that no earlier save wrote.
    """
    old = _make_staging(staging, ".previous-")
    earlier_save = (folder / META).is_file()
    set_aside: list[str] = []
    moved_in: list[str] = []

    def put_aside(name: str) -> None:
        if (folder / name).exists() or (folder / name).is_symlink():
            os.replace(folder / name, old / name)  # moves a link itself: nothing is written through it
            set_aside.append(name)

    try:
        put_aside(META)
        fsync_dir(folder)  # the old checksum is gone before any new file arrives
        for name in _SAVED:
            new = staging / name
            if name == TOKENIZER and not new.exists() and not earlier_save:
                continue  # saved without a tokenizer, and this tokenizer/ is not from an earlier save
            if name != META:
                put_aside(name)
            if new.exists():
                os.replace(new, folder / name)
                moved_in.append(name)
    except BaseException:
        for name in reversed(moved_in):
            try:
                os.replace(folder / name, staging / name)
            except OSError:
                pass
        for name in reversed(set_aside):
            try:
                os.replace(old / name, folder / name)
            except OSError:
                pass
        fsync_dir(folder)
        raise
    fsync_dir(folder)


# --------------------------------------------------------------------------------------------- load
def load(path: str | os.PathLike, device: Any = None) -> GraphModel:
    """Load a model saved with :func:`save`, in eval mode, with ``model.tokenizer`` set (``None`` if none).

    Raises :class:`slamdunk_lab.ModelFileError` when a file is missing, truncated, altered or does not match
    the design, and :class:`slamdunk_lab.GraphError` when ``graph.json`` is not a valid design. Nothing is
    unpickled: the weights are read as safetensors and everything else as JSON. A path the operating system
    refuses (too long, not readable) is a :class:`slamdunk_lab.ModelFileError` naming it too.
    """
    folder = _folder(path)
    try:
        return _load(folder, device)
    except OSError as exc:
        raise _os_error("load a model from", folder, exc) from None


def _load(folder: Path, device: Any) -> GraphModel:
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ModelFileError(f"no saved model at '{folder}': the path {what}")
    _recover(folder)
    _check_no_links_out(folder)
    for name in (META, GRAPH, WEIGHTS):
        if not (folder / name).is_file():
            raise ModelFileError(f"'{folder}' is not a complete saved model: {name} is missing (sd.save writes "
                                 f"{WEIGHTS}, {GRAPH} and {META})")
    meta = _read_json(folder / META)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{folder / META} was not written by slamdunk_lab.save (its 'format' is not "
                             f"{FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"{folder / META} has format_version {version!r}; this slamdunk_lab reads up to "
                             f"{FORMAT_VERSION}; upgrade slamdunk_lab")
    dtype_name = meta.get("dtype")
    if dtype_name not in DTYPES:
        raise ModelFileError(f"{folder / META} gives the dtype {dtype_name!r}; expected one of "
                             f"{', '.join(DTYPES)}")
    weights = meta.get("weights")
    digest = weights.get("sha256") if isinstance(weights, dict) else None
    if not isinstance(digest, str):
        raise ModelFileError(f"{folder / META} has no checksum of {WEIGHTS} ('weights': {{'sha256': ...}})")

    analysis = analyze(_read_json(folder / GRAPH))
    if analysis.errors:
        raise GraphError(analysis.errors)
    dtype = DTYPES[dtype_name]
    expected = {k: (tuple(t.shape), t.dtype) for k, t in
                _stored_tensors(build(analysis, device="meta", dtype=dtype)).items()}

    header = read_safetensors_header(folder / WEIGHTS)
    _check_tensors(folder, header, expected)
    if _sha256(folder / WEIGHTS) != digest:
        raise ModelFileError(f"{folder / WEIGHTS} does not match the SHA-256 checksum recorded in {META}: the "
                             "file was changed or damaged after it was saved")

    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model = build(analysis, device=device, dtype=dtype)  # refuses designs too big for this machine
    try:
        tensors = load_file(str(folder / WEIGHTS), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read {folder / WEIGHTS}: {exc}") from None
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    stored = set(expected)
    assert not unexpected and set(missing).isdisjoint(stored), (missing, unexpected)  # checked above
    model.tie_weights()
    model.eval()
    model.tokenizer = _load_tokenizer(folder, meta)
    return model


def _read_json(path: Path) -> Any:
    """A JSON file of the save: a regular file of at most 64 MB, nested at most 100 levels."""
    try:
        return _files.read_json_file(path, MAX_JSON_BYTES, f"{path.name} of the saved model")
    except UnreadableFile as exc:
        raise ModelFileError(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON: {exc}") from None


def _check_no_links_out(folder: Path) -> None:
    """Refuse a saved model whose files (or the tokenizer's) are links to somewhere outside its folder: loading
    must read only what is in the folder it was given, never a file elsewhere that a link points at."""
    entries = [folder / name for name in _SAVED]
    if (folder / TOKENIZER).is_dir():
        try:
            entries += list((folder / TOKENIZER).iterdir())
        except OSError:
            pass
    for entry in entries:
        if not (entry.is_symlink() or entry.parent.is_symlink()):
            continue
        try:
            real = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            raise ModelFileError(f"{entry} is a broken link; a saved model's files must be in its folder") from None
        if not real.is_relative_to(folder):
            raise ModelFileError(f"{entry.relative_to(folder)} in {_shown(folder)} is a link to "
                                 f"{_shown(real)}, outside the model's folder; sd.load reads only files inside the "
                                 "folder it is given (copy the file in instead of linking it)")


def read_safetensors_header(path: str | os.PathLike) -> dict[str, dict]:
    """The tensor table of a safetensors file, checked for sense before anything else is read.

    Returns ``{name: {"dtype", "shape", "data_offsets"}}`` (plus ``"__metadata__"`` when present). Raises
    :class:`ModelFileError` if the header is too long, is not JSON, or if its tensors do not exactly tile the
    data that follows it (a truncated or padded file, overlapping or oversized tensors).
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ModelFileError(f"{path} is truncated: it has {size} bytes, fewer than the 8 that give the "
                                 "length of a safetensors header")
        n = int.from_bytes(prefix, "little")
        if n > MAX_HEADER_BYTES:
            raise ModelFileError(f"{path} claims a {n:,}-byte header, more than the {MAX_HEADER_BYTES:,} allowed; "
                                 "the file is damaged or not a safetensors file")
        if 8 + n > size:
            raise ModelFileError(f"{path} is truncated: its header should be {n:,} bytes but the file has only "
                                 f"{size - 8:,} bytes after the length")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(f"{path} has a damaged header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} has a damaged header (not a JSON object)")

    data_len = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        ok = (isinstance(info, dict) and info.get("dtype") in _ST_SIZES and isinstance(info.get("shape"), list)
              and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"])
              and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
              and all(isinstance(o, int) and not isinstance(o, bool) for o in info["data_offsets"]))
        if not ok:
            raise ModelFileError(f"{path} has a damaged header: the entry for tensor {name!r} is malformed")
        begin, end = info["data_offsets"]
        nbytes = math.prod(info["shape"]) * _ST_SIZES[info["dtype"]]
        if not 0 <= begin <= end or end - begin != nbytes:
            raise ModelFileError(f"{path} has a damaged header: tensor {name!r} of shape {tuple(info['shape'])} "
                                 f"needs {nbytes:,} bytes but its offsets [{begin}, {end}] give {end - begin:,}")
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ModelFileError(f"{path} has a damaged header: tensor {name!r} starts at byte {begin:,} of the "
                                 f"data, but the previous tensor ends at {pos:,}")
        pos = end
    if pos > data_len:
        raise ModelFileError(f"{path} is truncated: its header describes {pos:,} bytes of tensor data but only "
                             f"{data_len:,} follow it (was the save or a copy interrupted?)")
    if pos < data_len:
        raise ModelFileError(f"{path} has {data_len - pos:,} bytes after its last tensor that its header does "
                             "not describe; the file is damaged")
    return header


def _check_tensors(folder: Path, header: dict, expected: dict[str, tuple[tuple, torch.dtype]]) -> None:
    """Every tensor the design needs is in the file with its shape and dtype, and nothing else is."""
    problems = []
    stored = {k: v for k, v in header.items() if k != "__metadata__"}
    missing = [k for k in expected if k not in stored]
    unexpected = [k for k in stored if k not in expected]
    if missing:
        problems.append(f"missing tensor(s) {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
    if unexpected:
        problems.append(f"unexpected tensor(s) {', '.join(unexpected[:5])}"
                        + (" ..." if len(unexpected) > 5 else ""))
    for key, (shape, dtype) in expected.items():
        info = stored.get(key)
        if info is None:
            continue
        if tuple(info["shape"]) != shape:
            problems.append(f"tensor {key} has shape {tuple(info['shape'])} but the design needs {shape}")
        elif info["dtype"] != _ST_DTYPES.get(dtype):
            problems.append(f"tensor {key} is {info['dtype']} but the design needs {_ST_DTYPES.get(dtype)}")
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise ModelFileError(f"{folder / WEIGHTS} does not match {GRAPH}: {shown}. The two files do not belong "
                             "to the same model (was one of them edited or replaced?)")


def _load_tokenizer(folder: Path, meta: dict):
    name = meta.get("tokenizer")
    if name is None:
        return None
    if name != TOKENIZER or not (folder / TOKENIZER).is_dir():
        raise ModelFileError(f"{folder / META} says the model was saved with a tokenizer, but the "
                             f"'{TOKENIZER}' folder is missing")
    try:
        from . import tokenizers
    except ImportError as exc:
        raise ModelFileError(f"'{folder}' holds a tokenizer, but slamdunk_lab.tokenizers cannot be imported "
                             f"({exc})") from None
    try:
        return tokenizers.load(folder / TOKENIZER)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"cannot load the tokenizer in {folder / TOKENIZER}: {exc}") from None


__all__ = ["MAX_HEADER_BYTES", "load", "read_safetensors_header", "save"]
