"""Text corpora for training small language models.

A :class:`Corpus` is nothing more than a list of documents (strings) with a
name and a note on where it came from.  Every loader in this module returns
one, so the rest of the library never cares whether text came from a file,
the Hugging Face hub or a built-in generator.

Loaders:

* :func:`file` -- a local ``.txt``, ``.jsonl`` or ``.json`` file.
* :func:`text` -- a string (or list of strings) you already have in memory.
* :func:`hf` -- a Hugging Face dataset, streamed, with row and byte caps.
* :func:`load` -- a named set (``"tiny_shakespeare"``, shipped with the package,
  ``"TinyStories"``, ``"openwebtext-100k"``, ``"c4"``, or a synthetic one).
* :func:`synthetic` -- deterministic toy corpora generated offline
  (``"arithmetic"``, ``"reverse"``, ``"grammar"``).

Example::

    >>> from slamdunk_lab import data
    >>> corpus = data.synthetic("arithmetic", n=100, seed=0)
    >>> train, val = corpus.split(val_fraction=0.1)
    >>> len(train), len(val)
    (90, 10)

This module never imports torch, and only imports ``datasets`` when
:func:`hf` actually needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ._files import UnreadableFile, loads_json, read_regular_file

__all__ = [
    "KNOWN_DATASETS",
    "SYNTHETIC_KINDS",
    "Corpus",
    "DataFormatError",
    "DatasetUnreachableError",
    "bundled_path",
    "check_split_settings",
    "file",
    "hf",
    "hub_unreachable_reason",
    "load",
    "local_copy",
    "synthetic",
    "text",
]

#: Text placed between documents when they are joined and the tokenizer has
#: no end-of-text token.  A blank line reads as "new document" to a char model.
DEFAULT_SEPARATOR = "\n\n"


class DataFormatError(ValueError):
    """Raised when a data file or dataset row does not have the expected shape (bad JSON, missing field ...)."""


class DatasetUnreachableError(ConnectionError):
    """Raised when a dataset on the Hugging Face hub cannot be reached (offline or no network)."""


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------


_HASH_CHARS = 4_000_000  # characters encoded at a time when hashing a document


def _slices(doc: str) -> Iterator[str]:
    """``doc`` in consecutive slices of at most :data:`_HASH_CHARS` characters, made one at a time."""
    if len(doc) <= _HASH_CHARS:
        yield doc
        return
    for i in range(0, len(doc), _HASH_CHARS):
        yield doc[i:i + _HASH_CHARS]


@dataclass
class Corpus:
    """A list of text documents with a name and a description of its source.

    Attributes:
        docs: the documents, each a ``str``.  A single big text (like tiny
            Shakespeare) is one document.
        name: a short name used in reports and cache metadata.
        source: where the text came from (a path, a hub id, a generator ...).
        separator: text placed between documents when they are joined into
            one stream and the tokenizer has no end-of-text token.  Synthetic
            corpora, whose documents are single lines, use ``"\\n"``.

    Example::

        >>> c = Corpus(["hello world", "good bye"], name="demo")
        >>> c.stats()
        {'docs': 2, 'chars': 19}
    """

    docs: list[str]
    name: str = "corpus"
    source: str = ""
    separator: str = DEFAULT_SEPARATOR

    def __post_init__(self) -> None:
        if isinstance(self.docs, str):
            raise TypeError("Corpus docs must be a list of strings, not a single string; wrap it in [ ].")
        self.docs = list(self.docs)
        for i, doc in enumerate(self.docs):
            if not isinstance(doc, str):
                raise TypeError(f"Corpus document {i} must be a str, got {type(doc).__name__}: {doc!r:.60}")
        if not isinstance(self.separator, str):
            raise TypeError(f"Corpus separator must be a str, got {self.separator!r}.")

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self):
        return iter(self.docs)

    def __getitem__(self, index: int) -> str:
        return self.docs[index]

    def __repr__(self) -> str:
        chars = sum(len(d) for d in self.docs)
        return f"Corpus(name={self.name!r}, docs={len(self.docs):,}, chars={chars:,}, source={self.source!r})"

    @property
    def num_chars(self) -> int:
        """Total number of characters over all documents."""
        return sum(len(d) for d in self.docs)

    def text(self) -> str:
        """All documents joined with :attr:`separator` into one string.

        Example::

            >>> Corpus(["a", "b"], separator="|").text()
            'a|b'
        """
        return self.separator.join(self.docs)

    def stats(self, tokenizer: Any = None) -> dict[str, int]:
        """Count documents, characters and (if a tokenizer is given) tokens.

        ``tokens`` counts the tokens of the documents themselves; separators or
        end-of-text tokens added when building a training stream are not counted.

        Example::

            >>> from slamdunk_lab import tokenizers
            >>> c = Corpus(["abc", "ab"])
            >>> c.stats(tokenizers.byte())
            {'docs': 2, 'chars': 5, 'tokens': 5}
        """
        out = {"docs": len(self.docs), "chars": self.num_chars}
        if tokenizer is not None:
            # encode_array is the vectorised path for char/byte tokenizers.
            encode = getattr(tokenizer, "encode_array", tokenizer.encode)
            out["tokens"] = int(sum(len(encode(d)) for d in self.docs))
        return out

    def fingerprint(self) -> str:
        """A SHA-256 hex digest of the documents' content (name and source excluded).

        Two corpora with the same documents in the same order have the same
        fingerprint; it is used as part of the tokenized-cache key.
        """
        # Not memoised: docs is a plain list a user may edit, and hashing is cheap
        # (about 2 ms per MB).
        h = hashlib.sha256()
        h.update(f"docs:{len(self.docs)}\n".encode())
        for doc in self.docs:
            # Length-prefix each document so ["ab", "c"] and ["a", "bc"] differ. A long document is encoded a
            # slice at a time (the same bytes, so the same digest), never copied whole.
            size = len(doc) if doc.isascii() else sum(len(p.encode("utf-8", "surrogatepass")) for p in _slices(doc))
            h.update(f"{size}:".encode())
            for piece in _slices(doc):
                h.update(piece.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
        """Split into ``(train, val)`` corpora.

        * With several documents, whole documents are assigned to validation:
          ``round(len(docs) * val_fraction)`` of them (at least 1, and at least
          1 left for training), chosen with a seeded shuffle.  Both halves
          keep the original document order.
        * With a single document, the text is cut at a character boundary and
          the last ``val_fraction`` of it becomes validation, like nanoGPT
          (``seed`` is not used).

        Example::

            >>> train, val = Corpus(["x" * 100]).split(0.1)
            >>> len(train[0]), len(val[0])
            (90, 10)
        """
        check_split_settings(val_fraction, seed)
        if not self.docs:
            raise ValueError(f"Cannot split corpus {self.name!r}: it has no documents.")
        if len(self.docs) == 1:
            train_docs, val_docs = self._split_single(float(val_fraction))
        else:
            train_docs, val_docs = self._split_documents(float(val_fraction), seed)
        return self._derive(train_docs, "train"), self._derive(val_docs, "val")

    def _split_single(self, val_fraction: float) -> tuple[list[str], list[str]]:
        doc, cut = self.docs[0], self.single_cut(val_fraction)
        return [doc[:cut]], [doc[cut:]]

    def single_cut(self, val_fraction: float) -> int:
        """Where :meth:`split` cuts a corpus of one document: the first index of its validation part."""
        doc = self.docs[0]
        if len(doc) < 2:
            raise ValueError(
                f"Cannot split corpus {self.name!r}: its only document has {len(doc)} characters; "
                "need at least 2."
            )
        cut = int(len(doc) * (1.0 - val_fraction))
        return min(max(cut, 1), len(doc) - 1)  # both halves non-empty

    def _split_documents(self, val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
        n = len(self.docs)
        n_val = min(max(round(n * val_fraction), 1), n - 1)
        order = list(range(n))
        random.Random(seed).shuffle(order)
        val_idx = set(order[:n_val])
        train_docs = [d for i, d in enumerate(self.docs) if i not in val_idx]
        val_docs = [d for i, d in enumerate(self.docs) if i in val_idx]
        return train_docs, val_docs

    def _derive(self, docs: list[str], suffix: str) -> Corpus:
        return Corpus(docs, name=f"{self.name}/{suffix}", source=self.source, separator=self.separator)


def check_split_settings(val_fraction: Any, seed: Any) -> None:
    """Raise a clear error unless ``0 < val_fraction < 1`` and ``seed`` is an integer."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise TypeError(f"val_fraction must be a number between 0 and 1, got {val_fraction!r}.")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {seed!r}.")


# --------------------------------------------------------------------------------------
# Local files and in-memory text
# --------------------------------------------------------------------------------------


def text(s: str | Sequence[str], name: str = "text", separator: str = DEFAULT_SEPARATOR) -> Corpus:
    """Make a corpus from a string (one document) or a list of strings (one document each).

    Example::

        >>> text("to be or not to be").stats()
        {'docs': 1, 'chars': 18}
        >>> len(text(["doc one", "doc two"]))
        2
    """
    if isinstance(s, str):
        docs = [s]
    elif isinstance(s, (list, tuple)):
        docs = list(s)
    else:
        raise TypeError(f"text() expects a str or a list of str, got {type(s).__name__}.")
    if not docs:
        raise ValueError("text() got an empty list; give at least one document.")
    return Corpus(docs, name=name, source="in-memory text", separator=separator)


#: The largest file :func:`file` reads unless told otherwise (``max_bytes=``): its text takes about as much memory
#: as the file, and tokenizing it twice that again.
MAX_FILE_BYTES = 2**30


def file(
    path: str | os.PathLike,
    field: str = "text",
    split_docs: str | None = None,
    name: str | None = None,
    max_bytes: int | None = MAX_FILE_BYTES,
) -> Corpus:
    """Load a corpus from a local UTF-8 file.

    Only a regular file is read (a named pipe, a device such as ``/dev/zero`` or a socket is refused at once),
    and only up to ``max_bytes`` (1 GB by default; ``None`` for no limit), checked before reading.

    * ``.jsonl``: one document per line, taken from ``field`` of each JSON
      object (a line that is a bare JSON string is used as-is).  Lines end at
      ``"\\n"`` (or ``"\\r\\n"``) only, so characters such as U+2028 inside a
      JSON string stay part of it.  Blank lines are skipped.
    * ``.json``: a list of strings, or a list of objects with ``field``.
    * anything else (``.txt``, ``.md`` ...): plain text.  Windows (``"\\r\\n"``)
      and old Mac (``"\\r"``) line endings are turned into ``"\\n"`` first, so a
      file reads the same whichever editor saved it (``split_docs`` is
      normalised the same way).  The whole file is one document unless
      ``split_docs`` is given, e.g. ``split_docs="\\n\\n"`` makes every
      blank-line separated block a document (blank pieces dropped).

    Example::

        >>> corpus = file("tinyshakespeare.txt")          # doctest: +SKIP
        >>> corpus = file("stories.jsonl", field="story")  # doctest: +SKIP
    """
    p = Path(path).expanduser()
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1):
        raise ValueError(f"max_bytes must be a whole number of bytes ≥ 1, or None for no limit; got {max_bytes!r}.")
    raw = _read_utf8(p, max_bytes)
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        docs = _docs_from_jsonl(raw, field, p)
    elif suffix == ".json":
        docs = _docs_from_json(raw, field, p)
    else:
        docs = _docs_from_text(raw, split_docs, p)
    return Corpus(docs, name=name or p.stem, source=str(p))


def _read_utf8(p: Path, max_bytes: int | None = MAX_FILE_BYTES) -> str:
    if not p.exists():
        raise FileNotFoundError(f"Data file not found: {str(p)!r}.")
    if p.is_dir():
        raise IsADirectoryError(f"Data path {str(p)!r} is a directory; give a .txt, .jsonl or .json file.")
    hint = "; pass max_bytes=None (or a larger number) to read it anyway, or use a part of it"
    try:
        data = read_regular_file(p, max_bytes, "the data file", hint)
    except UnreadableFile as e:
        raise ValueError(str(e)[:1].upper() + str(e)[1:] + ".") from None
    if not data or data.isspace():  # not data.strip(): that would copy a big file once more
        raise ValueError(f"Data file {str(p)!r} is empty.")
    try:
        # utf-8-sig drops a leading byte-order mark that some editors add.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"Data file {str(p)!r} is not valid UTF-8 (bad byte at offset {e.start}); "
            "re-save it as UTF-8 text."
        ) from None


def _normalise_newlines(raw: str) -> str:
    """``raw`` with ``"\\r\\n"`` and lone ``"\\r"`` turned into ``"\\n"``."""
    if "\r" not in raw:  # the common case: no copy of a big text
        return raw
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def _docs_from_text(raw: str, split_docs: str | None, p: Path) -> list[str]:
    if split_docs is not None and (not isinstance(split_docs, str) or not split_docs):
        raise ValueError(f"split_docs must be a non-empty string such as '\\n\\n', got {split_docs!r}.")
    # Normalised on both sides, so split_docs="\n\n" (or "\r\n\r\n") splits a Windows file too.
    raw = _normalise_newlines(raw)
    if split_docs is None:
        return [raw]
    return [piece for piece in raw.split(_normalise_newlines(split_docs)) if piece.strip()]


def _docs_from_jsonl(raw: str, field: str, p: Path) -> list[str]:
    docs = []
    # Lines end at "\n", "\r\n" or a lone "\r" (never raw inside a JSON string, which must escape them), but
    # not at U+2028, U+0085 ... as str.splitlines() would: JSON allows those unescaped inside strings.
    for lineno, line in enumerate(_normalise_newlines(raw).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = loads_json(line, f"Line {lineno} of {str(p)!r}")
        except UnreadableFile as e:
            raise DataFormatError(f"{e}.") from None
        except json.JSONDecodeError as e:
            raise DataFormatError(f"Line {lineno} of {str(p)!r} is not valid JSON: {e.msg}.") from None
        docs.append(_doc_from_record(obj, field, f"Line {lineno} of {str(p)!r}"))
    if not docs:
        raise ValueError(f"Data file {str(p)!r} has no JSON lines.")
    return docs


def _docs_from_json(raw: str, field: str, p: Path) -> list[str]:
    try:
        obj = loads_json(raw, f"{str(p)!r}")
    except UnreadableFile as e:
        raise DataFormatError(f"{e}.") from None
    except json.JSONDecodeError as e:
        raise DataFormatError(f"{str(p)!r} is not valid JSON (line {e.lineno}): {e.msg}.") from None
    if not isinstance(obj, list):
        raise DataFormatError(
            f"{str(p)!r} must hold a JSON list of strings or objects, got a {type(obj).__name__}."
        )
    if not obj:
        raise ValueError(f"{str(p)!r} holds an empty list.")
    return [_doc_from_record(item, field, f"Item {i} of {str(p)!r}") for i, item in enumerate(obj)]


def _doc_from_record(obj: Any, field: str, where: str) -> str:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        raise DataFormatError(f"{where} must be a string or an object, got {type(obj).__name__}.")
    if field not in obj:
        keys = ", ".join(repr(k) for k in list(obj)[:10])
        raise DataFormatError(f"{where} has no field {field!r} (it has: {keys}); pass field=... to choose one.")
    value = obj[field]
    if not isinstance(value, str):
        raise DataFormatError(f"{where}: field {field!r} must be a string, got {type(value).__name__}.")
    return value


# --------------------------------------------------------------------------------------
# Hugging Face datasets
# --------------------------------------------------------------------------------------

_TRUTHY = {"1", "on", "yes", "true"}


def _offline_env_var() -> str | None:
    """The name of the env var that switches Hugging Face offline, if one is set."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUTHY:
            return var
    return None


def _host_reachable(url: str, timeout: float = 3.0) -> bool:
    """True if a TCP connection to the URL's host opens within ``timeout`` seconds.

    Why: the hub clients retry for ~25 s before giving up when there is no
    network; one short socket probe lets us fail in seconds instead.
    """
    parsed = urlparse(url)
    if parsed.scheme == "https" and (os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")):
        # Behind a proxy a direct connection can fail while the real request
        # would work; let the library try instead of guessing.
        return True
    host = parsed.hostname
    if not host:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_unreachable_reason() -> str | None:
    """Why the Hugging Face hub cannot be used right now, or ``None`` if it looks reachable.

    Checks the offline env vars first (instant), then probes the endpoint
    (``HF_ENDPOINT``, default ``https://huggingface.co``) with a 3 s timeout.
    Shared by the dataset and tokenizer loaders.
    """
    var = _offline_env_var()
    if var:
        return f"offline mode is on ({var}={os.environ[var]})"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not _host_reachable(endpoint):
        return f"{endpoint} is not reachable (no network?)"
    return None


def _is_local_source(name: str, data_files: Any) -> bool:
    """True when ``load_dataset(name, ...)`` needs no network: a local path or a
    packaged builder (json, parquet, text ...) reading local ``data_files``."""
    if Path(name).expanduser().exists():
        return True
    if data_files is None:
        return False
    try:
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES
    except ImportError:  # pragma: no cover - very old/new datasets layouts
        _PACKAGED_DATASETS_MODULES = {"json", "csv", "parquet", "text", "arrow"}
    return name in _PACKAGED_DATASETS_MODULES


def hf(
    name: str,
    config: str | None = None,
    split: str = "train",
    field: str = "text",
    max_docs: int | None = None,
    max_bytes: int | None = None,
    data_files: Any = None,
) -> Corpus:
    """Stream a Hugging Face dataset into a corpus, one row per document.

    ``name`` is a hub id (``"roneneldan/TinyStories"``), a local dataset
    directory, or a packaged builder such as ``"json"`` / ``"parquet"`` with
    ``data_files=``.  Rows are streamed (``streaming=True``), so nothing
    bigger than the caps is downloaded:

    * ``max_docs``: stop after this many rows.
    * ``max_bytes``: stop once the documents hold this many UTF-8 bytes; the
      document that crosses the cap is cut at a character boundary so the
      corpus never exceeds it.

    Hub ids fail fast with :class:`DatasetUnreachableError` when
    ``HF_HUB_OFFLINE=1`` is set or the hub cannot be reached.

    Example::

        >>> stories = hf("roneneldan/TinyStories", max_docs=1000)           # doctest: +SKIP
        >>> local = hf("json", data_files="stories.jsonl", field="story")   # doctest: +SKIP
    """
    _check_cap("max_docs", max_docs)
    _check_cap("max_bytes", max_bytes)
    if not _is_local_source(name, data_files):
        reason = hub_unreachable_reason()
        if reason:
            raise DatasetUnreachableError(
                f"Could not reach Hugging Face dataset {name!r}: {reason}. "
                "Use a local file with sd.data.file(path) or generate one offline with "
                "sd.data.synthetic('grammar'); sd.data.load('tiny_shakespeare') needs no internet, and "
                "SLAMDUNK_DATA_DIR can name a folder holding local copies of the named sets (<name>.jsonl)."
            )
    rows = _stream_rows(name, config, split, data_files)
    docs = _take_docs(rows, field, max_docs, max_bytes, name)
    label = name if config is None else f"{name}:{config}"
    return Corpus(docs, name=label.rsplit("/", 1)[-1], source=f"huggingface:{label}[{split}]")


def _check_cap(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")


def _stream_rows(name: str, config: str | None, split: str, data_files: Any) -> Iterable[dict]:
    try:
        import datasets
    except ImportError:
        raise ImportError(
            "sd.data.hf needs the 'datasets' package: pip install datasets"
        ) from None
    kwargs: dict[str, Any] = {"split": split, "streaming": True}
    if data_files is not None:
        kwargs["data_files"] = data_files
    try:
        return datasets.load_dataset(name, config, **kwargs)
    except ConnectionError as e:
        raise DatasetUnreachableError(
            f"Could not reach Hugging Face dataset {name!r}: {e}. "
            "Use sd.data.file(path) or sd.data.synthetic(...) instead."
        ) from e


def _take_docs(
    rows: Iterable[dict], field: str, max_docs: int | None, max_bytes: int | None, name: str
) -> list[str]:
    docs: list[str] = []
    total_bytes = 0
    for i, row in enumerate(rows):
        if field not in row:
            cols = ", ".join(repr(k) for k in row)
            raise DataFormatError(f"Row {i} of {name!r} has no field {field!r} (columns: {cols}); pass field=...")
        doc = row[field]
        if not isinstance(doc, str):
            raise DataFormatError(f"Row {i} of {name!r}: field {field!r} is {type(doc).__name__}, not a string.")
        if max_bytes is not None:
            raw = doc.encode("utf-8")
            room = max_bytes - total_bytes
            if len(raw) >= room:
                # Cut on a character boundary: dropping a partial trailing
                # multi-byte sequence keeps the text valid UTF-8.
                piece = raw[:room].decode("utf-8", errors="ignore")
                if piece:
                    docs.append(piece)
                break
            total_bytes += len(raw)
        docs.append(doc)
        if max_docs is not None and len(docs) >= max_docs:
            break  # stop before pulling another row from the stream
    if not docs:
        raise ValueError(f"Dataset {name!r} yielded no documents.")
    return docs


# --------------------------------------------------------------------------------------
# Named datasets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HubSet:
    hub_id: str
    config: str | None = None
    field: str = "text"
    splits: tuple[str, ...] = ("train",)
    #: join all rows (of all splits) into a single document
    single_document: bool = False
    #: default byte cap so a notebook never tries to stream a multi-GB set by accident
    default_max_bytes: int | None = None
    #: a copy shipped inside the package (in ``slamdunk_lab/datasets/``): read offline, the hub is never asked
    bundled: str | None = None


_100_MB = 100_000_000

#: Named datasets understood by :func:`load`.
#: tiny_shakespeare ships with the package (karpathy's char-rnn input.txt, 1.1 MB of public-domain
#: Shakespeare), so it loads on a machine without internet. Its hub entry "karpathy/tiny_shakespeare" is
#: the same text as parquet, one row per split (train / validation / test are consecutive 90/5/5 slices),
#: so joining them in that order rebuilds the same file.
KNOWN_DATASETS: dict[str, _HubSet] = {
    "tiny_shakespeare": _HubSet(
        "karpathy/tiny_shakespeare", splits=("train", "validation", "test"), single_document=True,
        bundled="tinyshakespeare.txt",
    ),
    "TinyStories": _HubSet("roneneldan/TinyStories", default_max_bytes=_100_MB),
    "openwebtext-100k": _HubSet("Elriggs/openwebtext-100k", default_max_bytes=_100_MB),
    "c4": _HubSet("allenai/c4", config="en", default_max_bytes=_100_MB),
}

_DEFAULT = object()


#: Folder of the data files shipped inside the package.
BUNDLED_DIR = Path(__file__).resolve().parent / "datasets"


def local_copy(name: str) -> Path | None:
    """The local copy of the named set ``name`` in ``$SLAMDUNK_DATA_DIR``, or ``None``.

    A classroom without internet puts its files there once: ``<name>.txt``, ``<name>.jsonl`` (documents in
    the ``"text"`` field) or ``<name>.json``; ``tinyshakespeare.txt`` is also accepted for
    ``"tiny_shakespeare"`` (the file's usual name).
    """
    folder = os.environ.get("SLAMDUNK_DATA_DIR")
    if not folder or name not in KNOWN_DATASETS:
        return None
    names = [f"{name}{suffix}" for suffix in (".txt", ".jsonl", ".json")]
    if KNOWN_DATASETS[name].bundled:
        names.append(KNOWN_DATASETS[name].bundled)
    for candidate in (Path(folder).expanduser() / n for n in names):
        if candidate.is_file():
            return candidate
    return None


def bundled_path(name: str) -> Path | None:
    """The copy of the named set ``name`` shipped inside the package, or ``None`` (only tiny_shakespeare)."""
    spec = KNOWN_DATASETS.get(name)
    if spec is None or not spec.bundled:
        return None
    return BUNDLED_DIR / spec.bundled


def load(name: str, max_docs: int | None = None, max_bytes: Any = _DEFAULT, **options: Any) -> Corpus:
    """Load a named dataset.

    Named sets:

    ============================  ===========================================
    ``"tiny_shakespeare"``        shipped with the package (1.1 MB, one document; also
                                  ``karpathy/tiny_shakespeare`` on the hub)
    ``"TinyStories"``             ``roneneldan/TinyStories``
    ``"openwebtext-100k"``        ``Elriggs/openwebtext-100k``
    ``"c4"``                      ``allenai/c4``, config ``"en"``
    ============================  ===========================================

    A local copy in the folder named by ``$SLAMDUNK_DATA_DIR`` comes first (see :func:`local_copy`);
    then the copy shipped with the package (tiny Shakespeare: no internet needed); then the Hugging Face
    hub.  The three large sets are capped at 100 MB of text unless you pass ``max_bytes`` (``None``
    for no cap).  ``max_docs`` and ``max_bytes`` must be positive integers or
    ``None``, as for :func:`hf`, wherever the set is read from; tiny Shakespeare
    is one document, so ``max_docs`` never cuts it.
    The synthetic names ``"arithmetic"``, ``"reverse"`` and ``"grammar"`` go
    to :func:`synthetic`, with ``**options`` passed along.

    Example::

        >>> len(load("reverse", n=50))
        50
    """
    if name in SYNTHETIC_KINDS:
        if max_docs is not None or max_bytes is not _DEFAULT:
            raise ValueError(f"max_docs/max_bytes do not apply to synthetic set {name!r}; use n=... instead.")
        return synthetic(name, **options)
    if name not in KNOWN_DATASETS:
        known = ", ".join(repr(k) for k in [*KNOWN_DATASETS, *SYNTHETIC_KINDS])
        raise ValueError(f"Unknown dataset name {name!r}. Known names: {known}.")
    if options:
        raise TypeError(f"load({name!r}) got unexpected options: {', '.join(options)}.")
    spec = KNOWN_DATASETS[name]
    cap = spec.default_max_bytes if max_bytes is _DEFAULT else max_bytes
    # Checked here, not only in hf(), so the local tiny_shakespeare copy follows the same rules.
    _check_cap("max_docs", max_docs)
    _check_cap("max_bytes", cap)
    local = local_copy(name) or bundled_path(name)
    if local is not None:
        corpus = file(local, name=name)
        if spec.single_document and len(corpus.docs) > 1:
            corpus = Corpus([corpus.separator.join(corpus.docs)], name=name, source=corpus.source)
        return _cap_local(corpus, max_docs=max_docs, max_bytes=cap)
    return _load_hub_set(name, spec, max_docs, cap)


def _cap_local(corpus: Corpus, max_docs: int | None, max_bytes: int | None) -> Corpus:
    if max_bytes is None and max_docs is None:
        return corpus
    docs = _take_docs(({"text": d} for d in corpus.docs), "text", max_docs, max_bytes, corpus.name)
    return Corpus(docs, name=corpus.name, source=corpus.source, separator=corpus.separator)


def _load_hub_set(name: str, spec: _HubSet, max_docs: int | None, max_bytes: int | None) -> Corpus:
    docs: list[str] = []
    for split in spec.splits:
        # The caps are for the whole set, so later splits only get what is left.
        docs_left = None if max_docs is None else max_docs - len(docs)
        bytes_left = None if max_bytes is None else max_bytes - sum(len(d.encode()) for d in docs)
        if docs_left == 0 or bytes_left == 0:
            break
        part = hf(spec.hub_id, spec.config, split=split, field=spec.field, max_docs=docs_left,
                  max_bytes=bytes_left)
        docs.extend(part.docs)
    if spec.single_document:
        docs = ["".join(docs)]
    return Corpus(docs, name=name, source=f"huggingface:{spec.hub_id}")


# --------------------------------------------------------------------------------------
# Synthetic corpora
# --------------------------------------------------------------------------------------


def _pick(rng: random.Random, items: Sequence[Any]) -> Any:
    # Only rng.random() is guaranteed identical across Python versions
    # (choice/randrange algorithms have changed before), so build on it.
    return items[min(int(rng.random() * len(items)), len(items) - 1)]


def _randint(rng: random.Random, low: int, high: int) -> int:
    """Uniform integer in [low, high] built on rng.random() (see _pick)."""
    return low + min(int(rng.random() * (high - low + 1)), high - low)


def _arithmetic(rng: random.Random, n: int, low: int = 0, high: int = 99, ops: str = "+-") -> list[str]:
    if isinstance(low, bool) or isinstance(high, bool) or not isinstance(low, int) or not isinstance(high, int):
        raise TypeError(f"arithmetic low/high must be integers, got low={low!r}, high={high!r}.")
    if low < 0 or high < low:
        raise ValueError(f"arithmetic needs 0 <= low <= high, got low={low}, high={high}.")
    if not ops or any(op not in "+-" for op in ops):
        raise ValueError(f"arithmetic ops must use only '+' and '-', got ops={ops!r}.")
    lines = []
    for _ in range(n):
        a, b, op = _randint(rng, low, high), _randint(rng, low, high), _pick(rng, ops)
        if op == "-":
            a, b = max(a, b), min(a, b)  # keep results non-negative
            lines.append(f"{a}-{b}={a - b}")
        else:
            lines.append(f"{a}+{b}={a + b}")
    return lines


def _reverse(
    rng: random.Random, n: int, min_len: int = 3, max_len: int = 10, alphabet: str = "abcdefghijklmnopqrstuvwxyz"
) -> list[str]:
    if not isinstance(min_len, int) or not isinstance(max_len, int) or not 1 <= min_len <= max_len:
        raise ValueError(f"reverse needs 1 <= min_len <= max_len, got min_len={min_len!r}, max_len={max_len!r}.")
    if not alphabet or ">" in alphabet:
        raise ValueError(f"reverse alphabet must be non-empty and must not contain '>', got {alphabet!r}.")
    lines = []
    for _ in range(n):
        s = "".join(_pick(rng, alphabet) for _ in range(_randint(rng, min_len, max_len)))
        lines.append(f"{s}>{s[::-1]}")
    return lines


# A small probabilistic context-free grammar of English-like sentences.
# Each rule is a list of (probability, expansion); expansions mix terminals
# (plain words) and nonterminals (<NAME>).  Probabilities of a rule sum to 1.
_GRAMMAR: dict[str, list[tuple[float, list[str]]]] = {
    "S": [(0.8, ["<NP>", "<VP>"]), (0.2, ["<NP>", "<VP>", "and", "<NP>", "<VP>"])],
    "NP": [(0.75, ["<Det>", "<Nom>"]), (0.25, ["<Det>", "<Nom>", "<PP>"])],
    "Nom": [(0.6, ["<N>"]), (0.3, ["<Adj>", "<N>"]), (0.1, ["<Adj>", "<Adj>", "<N>"])],
    "VP": [
        (0.4, ["<Vt>", "<NP>"]),
        (0.3, ["<Vi>"]),
        (0.15, ["<Vi>", "<PP>"]),
        (0.15, ["<Vt>", "<NP>", "<PP>"]),
    ],
    "PP": [(1.0, ["<P>", "<NP>"])],
}
_LEXICON: dict[str, list[str]] = {
    "Det": ["the", "a", "every", "some", "this", "that"],
    "Adj": ["small", "big", "red", "old", "happy", "quiet", "bright", "lazy", "green", "strange"],
    "N": ["cat", "dog", "bird", "child", "teacher", "ball", "tree", "house", "river", "book", "garden", "robot"],
    "Vt": ["sees", "likes", "chases", "finds", "carries", "follows", "paints", "reads"],
    "Vi": ["sleeps", "runs", "sings", "waits", "laughs", "falls", "jumps"],
    "P": ["near", "under", "behind", "with", "beside", "over"],
}
_MAX_GRAMMAR_DEPTH = 6


def _expand(rng: random.Random, symbol: str, depth: int, out: list[str]) -> None:
    if symbol in _LEXICON:
        out.append(_pick(rng, _LEXICON[symbol]))
        return
    rules = _GRAMMAR[symbol]
    if depth >= _MAX_GRAMMAR_DEPTH:
        # Past the depth limit use the shortest expansion so recursion
        # (NP -> PP -> NP ...) always terminates.
        expansion = min(rules, key=lambda r: len(r[1]))[1]
    else:
        r, acc, expansion = rng.random(), 0.0, rules[-1][1]
        for prob, candidate in rules:
            acc += prob
            if r < acc:
                expansion = candidate
                break
    for item in expansion:
        if item.startswith("<"):
            _expand(rng, item[1:-1], depth + 1, out)
        else:
            out.append(item)


def _grammar(rng: random.Random, n: int) -> list[str]:
    lines = []
    for _ in range(n):
        words: list[str] = []
        _expand(rng, "S", 0, words)
        sentence = " ".join(words)
        lines.append(sentence[0].upper() + sentence[1:] + ".")
    return lines


_GENERATORS = {"arithmetic": _arithmetic, "reverse": _reverse, "grammar": _grammar}
#: Names accepted by :func:`synthetic` (and by :func:`load`).
SYNTHETIC_KINDS: tuple[str, ...] = tuple(_GENERATORS)


def synthetic(kind: str, n: int = 10_000, seed: int = 0, **options: Any) -> Corpus:
    """Generate a deterministic toy corpus offline; each line is one document.

    The same ``kind``, ``n``, ``seed`` and options always give a byte-identical
    corpus (on any Python version: only ``random.Random.random`` is used).

    Kinds and their options:

    * ``"arithmetic"``: ``12+35=47`` and ``47-12=35``.  ``low``/``high``
      (default 0 and 99) bound each operand; ``ops`` is ``"+-"``, ``"+"`` or
      ``"-"``.  Subtraction puts the larger operand first so results are
      never negative.
    * ``"reverse"``: ``abcde>edcba``.  Random strings of ``min_len`` to
      ``max_len`` (3 to 10) characters from ``alphabet`` (a-z).
    * ``"grammar"``: English-like sentences from a small probabilistic
      context-free grammar -- determiners, adjectives, nouns, transitive and
      intransitive verbs, prepositional phrases and ``and``-joined clauses --
      e.g. ``The old robot chases a red ball near the tree.``  Recursion is
      cut off at depth 6.

    Documents are joined with ``"\\n"`` when no end-of-text token is used.

    Example::

        >>> synthetic("arithmetic", n=3, seed=1).docs
        ['84-13=71', '25+49=74', '65+78=143']
        >>> synthetic("reverse", n=2, seed=1).docs
        ['wtgm>mgtw', 'qucavl>lvacuq']
        >>> synthetic("grammar", n=2, seed=1).docs[1]
        'A bird sings.'
    """
    if kind not in _GENERATORS:
        raise ValueError(f"Unknown synthetic kind {kind!r}. Known kinds: {', '.join(map(repr, _GENERATORS))}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {seed!r}.")
    try:
        docs = _GENERATORS[kind](random.Random(seed), n, **options)
    except TypeError as e:
        if "unexpected keyword" in str(e):
            raise TypeError(f"synthetic({kind!r}) got an unknown option: {e}") from None
        raise
    suffix = "".join(f",{k}={v}" for k, v in sorted(options.items()))
    return Corpus(docs, name=kind, source=f"synthetic:{kind}(n={n},seed={seed}{suffix})", separator="\n")
