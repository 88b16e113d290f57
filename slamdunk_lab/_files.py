"""Writing files safely. Every file the library saves goes through here: written to a temporary file in the
same folder, fsync'ed, renamed over the target (atomic on POSIX and Windows) and the folder fsync'ed, so a
crash leaves the old file or the new one, never half of one. Names that become paths are sanitised here too.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
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


# --------------------------------------------------------------------------------------------- reading
#: How deep any JSON file the library reads may nest. A design is 4 levels deep, a tokenizer.json about 6; a
#: ``[[[[…`` file thousands of levels deep would otherwise end in a RecursionError (or a crash) in the parser.
MAX_JSON_DEPTH = 100


class UnreadableFile(ValueError):
    """A path the library refuses to read: not a regular file (a FIFO, a device, a socket), larger than the
    limit for what it should hold, or JSON nested too deep. Refused before anything is read or allocated."""


def shown(path: Any, limit: int = 200) -> str:
    """``path`` quoted for a message; a very long one is cut in the middle so the message stays short."""
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)
    if len(text) > limit:
        text = f"{text[:limit * 3 // 5]}...{text[-limit * 3 // 10:]} ({len(text):,} characters)"
    return f"'{text}'"


def human_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KB'`` (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(path: str | os.PathLike, max_bytes: int | None, what: str = "the file",
                      hint: str = "") -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes`` (None: no limit).

    Opened without blocking, so a named pipe with no writer is refused at once instead of hanging; a device such
    as ``/dev/zero`` is refused before a byte is read; the size is checked before reading, and reading stops one
    byte past the limit in case the file grows meanwhile. ``what`` names the file in messages ("the data
    file"); ``hint`` is appended to the size error (what to do instead). Raises :class:`UnreadableFile`,
    ``FileNotFoundError``, ``IsADirectoryError`` or ``PermissionError``.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{what} {shown(path)} is a folder, not a file", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{what} {shown(path)} is {_kind_of(info.st_mode)}, not a regular file; only "
                                 "regular files are read")
        if max_bytes is not None and info.st_size > max_bytes:
            raise UnreadableFile(f"{what} {shown(path)} is {human_bytes(info.st_size)}, more than the "
                                 f"{human_bytes(max_bytes)} it may be{hint}")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # closed by the file object from here on
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        raise UnreadableFile(f"{what} {shown(path)} grew past the {human_bytes(max_bytes)} it may be while it was "
                             "being read")
    return data


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deeply ``text`` (JSON) nests arrays and objects; brackets inside strings do not count."""
    import numpy as np

    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def loads_json(data: bytes | str, what: str = "the file", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses JSON nested more than ``max_depth`` levels (:class:`UnreadableFile`) instead of
    recursing into it; invalid JSON raises ``ValueError`` as ``json.loads`` does."""
    text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data
    depth = json_depth(text) if text.count("[") + text.count("{") > max_depth else 0  # else it cannot be deeper
    if depth > max_depth:
        raise UnreadableFile(f"{what} nests arrays or objects {depth:,} levels deep; at most {max_depth} are read "
                             "(no real file of its kind comes close), so it is damaged or not what it should be")
    try:
        return json.loads(text)
    except RecursionError:  # unreachable after the depth check; kept so no raw RecursionError ever escapes
        raise UnreadableFile(f"{what} nests arrays or objects too deeply to read") from None


def read_json_file(path: str | os.PathLike, max_bytes: int, what: str = "the file") -> Any:
    """A regular JSON file of at most ``max_bytes`` and :data:`MAX_JSON_DEPTH` levels, parsed."""
    return loads_json(read_regular_file(path, max_bytes, what), f"{what} {shown(path)}")


# --------------------------------------------------------------------------------------------- full disks
def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` means the file system ran out of space (torch.save reports it as 'unexpected pos')."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left" in text or "unexpected pos" in text or "Disk quota exceeded" in text


def no_space_message(path: Path, needed: int | None = None) -> str:
    """'no space left on <path>' with the free space there (and what was needed, when known)."""
    try:
        free = shutil.disk_usage(next(p for p in (path, *path.parents) if p.exists())).free
        room = f"{human_bytes(free)} free"
    except (OSError, StopIteration):
        room = "free space unknown"
    need = f", {human_bytes(needed)} needed" if needed else ""
    return f"no space left on {shown(path)} ({room}{need}); free some space or choose another folder"


class NoSpaceError(OSError):
    """The file system ran out of space (ENOSPC), said as a sentence that names the folder."""

    def __init__(self, message: str, path: Path):
        super().__init__(errno.ENOSPC, message, str(path))
        self.message = message

    def __str__(self) -> str:
        return self.message


def no_space(path: Path, needed: int | None = None, what: str = "") -> NoSpaceError:
    """A :class:`NoSpaceError` for writing ``what`` under ``path``."""
    prefix = f"cannot write {what}: " if what else ""
    return NoSpaceError(prefix + no_space_message(path, needed), path)


def check_free_space(path: Path, needed: int, what: str) -> None:
    """Refuse (:class:`NoSpaceError`) to start writing ``needed`` bytes under ``path`` where fewer are free."""
    try:
        free = shutil.disk_usage(next(p for p in (path, *path.parents) if p.exists())).free
    except (OSError, StopIteration):
        return
    if needed > free:
        raise no_space(path, needed, what)


def translate_disk_full(path: Path, what: str, needed: int | None = None):
    """A context manager turning whatever a writer raises for a full disk (torch's 'unexpected pos', a
    SafetensorError, an OSError) into :class:`NoSpaceError` naming ``path``."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except NoSpaceError:
            raise
        except Exception as exc:
            if disk_full(exc):
                raise no_space(path, needed, what) from None
            raise

    return guard()


# --------------------------------------------------------------------------------------------- stale temporaries
def _host() -> str:
    import socket

    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """``<pid>@<host>`` of this process, put into the names of its temporary folders so that a later process can
    tell those of a dead process (and remove them) from those of a save still running. The host keeps a worker
    on another machine sharing the folder from judging this machine's pids."""
    return f"{os.getpid()}@{_host()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its files
    return True


def stale_temporaries(folder: Path, pattern: re.Pattern) -> Iterator[Path]:
    """Entries of ``folder`` named by ``pattern`` (groups ``pid`` and, optionally, ``host``: the writer's) whose
    writer, a process of this machine, is dead."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    host = _host()
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or m.groupdict().get("host") not in (None, host):
            continue  # not a temporary folder, or another machine's: its pids mean nothing here
        if m.group("pid").isdigit() and int(m.group("pid")) != os.getpid() and not _pid_alive(int(m.group("pid"))):
            yield Path(entry.path)


def remove_tree(path: Path) -> None:
    """Remove a file, link or folder, never following a link; a folder that cannot be written to keeps it."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass  # read-only (a shared course folder): the leftover does no harm, and loading must not fail on it
