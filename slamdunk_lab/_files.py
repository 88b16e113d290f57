"""Writing files safely. Every file the library saves goes through here: written to a temporary file in the
same folder, fsync'ed, renamed over the target (atomic on POSIX and Windows) and the folder fsync'ed, so a
crash leaves the old file or the new one, never half of one. Names that become paths are sanitised here too.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Names Windows reserves for devices, also with an extension ("nul.txt"): a folder of that name cannot exist there.
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_name(name: Any, default: str = "design") -> str:
    """One path component made of letters, digits and ``._-`` (at most 100), never ``..``, empty, or a name
    Windows reserves for a device (``CON``, ``nul.txt`` get a leading ``_``).

    >>> safe_name("../my model!")
    'my_model'
    >>> safe_name("CON")
    '_CON'
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._")[:100] or default
    return "_" + cleaned[:99] if _WINDOWS_DEVICES.match(cleaned) else cleaned


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Let ``write(tmp)`` fill a temporary file beside ``path``, then put it in place atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        fsync_file(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path, content: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(content))


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any, indent: int | None = 2) -> None:
    """JSON (no NaN, UTF-8, trailing newline) written atomically."""
    write_text_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False) + "\n")
