"""Tokenize a corpus once, keep the ids on disk, and sample training batches.

:func:`tokenize_corpus` splits a :class:`~slamdunk_lab.data.Corpus` into
train/val, tokenizes both and stores them as flat binary token files
(``train.bin``, ``val.bin``) opened as numpy memmaps, so re-running a
notebook cell costs milliseconds and the token stream never has to fit in
RAM twice.

Cache layout (one folder per key)::

    <cache_dir>/<key>/train.bin        uint16 ids (uint32 when vocab_size > 65536)
    <cache_dir>/<key>/val.bin
    <cache_dir>/<key>/meta.json        sizes, dtype, corpus + tokenizer description
    <cache_dir>/<key>/tokenizer/       the tokenizer, saved (so the folder stands alone)

The key hashes the corpus content, the tokenizer fingerprint and the split
settings, so changing any of them gives a fresh entry.  The default cache
dir is ``$SLAMDUNK_CACHE_DIR/tokens`` if that variable is set, else
``~/.cache/slamdunk_lab/tokens``.

Example::

    >>> from slamdunk_lab import data, tokenizers
    >>> corpus = data.synthetic("reverse", n=2000)
    >>> tok = tokenizers.char(corpus)
    >>> tc = tokenize_corpus(corpus, tok)                      # doctest: +SKIP
    >>> x, y = tc.get_batch("train", batch_size=4, context=16, generator_or_seed=0)  # doctest: +SKIP
    >>> x.shape, x.dtype                                       # doctest: +SKIP
    ((4, 16), dtype('int64'))
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._files import owner_tag, remove_tree, stale_temporaries
from .data import Corpus, check_split_settings
from .tokenizers import Tokenizer
from .tokenizers import load as load_tokenizer

__all__ = ["CACHE_FORMAT_VERSION", "TokenizedCorpus", "default_cache_dir", "tokenize_corpus"]

#: Bump when the on-disk layout or the way streams are built changes, so old
#: entries are never mistaken for new ones.
CACHE_FORMAT_VERSION = 1
SPLITS = ("train", "val")
#: Documents are tokenized in chunks of about this many characters, which
#: bounds memory for big corpora while keeping per-call overhead negligible.
_CHUNK_CHARS = 4_000_000


def default_cache_dir() -> Path:
    """``$SLAMDUNK_CACHE_DIR/tokens`` if the variable is set, else ``~/.cache/slamdunk_lab/tokens``."""
    root = os.environ.get("SLAMDUNK_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "slamdunk_lab"
    return base / "tokens"


def _dtype_for(vocab_size: int) -> np.dtype:
    # Ids are < vocab_size, so a vocabulary of up to 65536 fits in uint16.
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def _cache_key(corpus: Corpus, tokenizer: Tokenizer, val_fraction: float, seed: int) -> str:
    settings = {
        "format": CACHE_FORMAT_VERSION,
        "corpus": corpus.fingerprint(),
        "tokenizer": tokenizer.fingerprint(),
        "val_fraction": float(val_fraction),
        "seed": int(seed),
        # Only matters when the tokenizer has no eos id, but cheap to include always.
        "separator": corpus.separator,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]


class TokenizedCorpus:
    """Train/val token streams of a corpus, memory-mapped from the cache.

    Attributes:
        train, val: 1-D read-only numpy memmaps of token ids.
        tokenizer: the tokenizer that produced them.
        path: the cache folder.
        meta: the contents of ``meta.json``.
        cache_hit: ``True`` when the streams were already cached.

    Build one with :func:`tokenize_corpus`; reopen a cache folder with
    :meth:`open`.
    """

    def __init__(self, path: Path, tokenizer: Tokenizer, meta: dict[str, Any], cache_hit: bool):
        self.path = Path(path)
        self.tokenizer = tokenizer
        self.meta = meta
        self.cache_hit = cache_hit
        self.dtype = np.dtype(meta["dtype"])
        self.train = self._open_split("train")
        self.val = self._open_split("val")

    @classmethod
    def open(cls, path: str | os.PathLike) -> TokenizedCorpus:
        """Reopen a cache folder written by :func:`tokenize_corpus` (tokenizer included)."""
        folder = Path(path).expanduser()
        meta = _read_meta(folder)
        if meta is None:
            raise FileNotFoundError(f"{str(folder)!r} is not a complete tokenized-corpus cache folder.")
        opened = cls(folder, load_tokenizer(folder / "tokenizer"), meta, cache_hit=True)
        top = opened.max_id()
        if top is not None and top >= opened.tokenizer.vocab_size:
            raise ValueError(f"the token cache {str(folder)!r} is damaged: it holds token id {top}, but its "
                             f"tokenizer has only {opened.tokenizer.vocab_size} ids; delete the folder and pass "
                             f"the corpus again")
        return opened

    def max_id(self) -> int | None:
        """The largest token id in either split (None when both are empty); one pass over the memmaps."""
        tops = [int(a.max()) for a in (self.train, self.val) if len(a)]
        return max(tops) if tops else None

    def _open_split(self, split: str) -> np.ndarray:
        n = int(self.meta[f"{split}_tokens"])
        if n == 0:
            return np.zeros(0, dtype=self.dtype)  # np.memmap cannot map an empty file
        return np.memmap(self.path / f"{split}.bin", dtype=self.dtype, mode="r", shape=(n,))

    def tokens(self, split: str) -> np.ndarray:
        """The token stream of ``"train"`` or ``"val"``."""
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
        return self.train if split == "train" else self.val

    def __len__(self) -> int:
        return len(self.train) + len(self.val)

    def __repr__(self) -> str:
        return (
            f"TokenizedCorpus(corpus={self.meta['corpus']['name']!r}, tokenizer={self.tokenizer.name!r}, "
            f"train={len(self.train):,}, val={len(self.val):,}, dtype={self.dtype.name}, "
            f"cache_hit={self.cache_hit})"
        )

    def get_batch(
        self,
        split: str,
        batch_size: int,
        context: int,
        generator_or_seed: np.random.Generator | int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``batch_size`` random windows of ``context`` tokens.

        Returns ``(x, y)``, int64 arrays of shape ``(batch_size, context)``
        where ``y`` is ``x`` shifted one token to the right (the next-token
        targets).  ``generator_or_seed`` is a ``numpy.random.Generator``
        (advanced in place, for a stream of batches), an int seed (same seed,
        same batch), or ``None`` (fresh randomness).

        Example::

            >>> x, y = tc.get_batch("val", 8, 64, generator_or_seed=np.random.default_rng(0))  # doctest: +SKIP
            >>> (x[:, 1:] == y[:, :-1]).all()                                                    # doctest: +SKIP
            True
        """
        data = self.tokens(split)
        batch_size = _positive_int("batch_size", batch_size)
        context = _positive_int("context", context)
        if len(data) < context + 1:
            raise ValueError(
                f"The {split!r} split has {len(data):,} tokens, but context={context} needs at least "
                f"{context + 1} (one window plus its next-token target). Use a smaller context or more data."
            )
        rng = _rng(generator_or_seed)
        starts = rng.integers(0, len(data) - context, size=batch_size)
        windows = np.asarray(data[starts[:, None] + np.arange(context + 1)], dtype=np.int64)
        return windows[:, :-1], windows[:, 1:]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _rng(generator_or_seed: Any) -> np.random.Generator:
    if isinstance(generator_or_seed, np.random.Generator):
        return generator_or_seed
    if generator_or_seed is None or (
        isinstance(generator_or_seed, (int, np.integer)) and not isinstance(generator_or_seed, bool)
    ):
        return np.random.default_rng(generator_or_seed)
    raise TypeError(
        f"generator_or_seed must be a numpy.random.Generator, an int seed or None, got {generator_or_seed!r}."
    )


# --------------------------------------------------------------------------------------
# Building the cache
# --------------------------------------------------------------------------------------


def tokenize_corpus(
    corpus: Corpus,
    tokenizer: Tokenizer,
    cache_dir: str | os.PathLike | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> TokenizedCorpus:
    """Split ``corpus`` (see :meth:`Corpus.split`), tokenize both halves and cache them.

    Documents are joined into one stream per split.  If the tokenizer has an
    end-of-text id, it follows every document (``doc1 <eos> doc2 <eos>``);
    otherwise documents are joined with ``corpus.separator`` (``"\\n\\n"`` by
    default, ``"\\n"`` for synthetic corpora).

    A second call with the same corpus content, tokenizer and split settings
    is a cache hit that only opens the memmaps (``result.cache_hit`` is True).
    Writes are atomic: an interrupted run never leaves a half-written entry
    that a later call would trust.

    Example::

        >>> tc = tokenize_corpus(data.file("input.txt"), tokenizers.byte())   # doctest: +SKIP
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a slamdunk_lab.data.Corpus, got {type(corpus).__name__}.")
    if not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"tokenizer must be a slamdunk_lab Tokenizer, got {type(tokenizer).__name__}.")
    check_split_settings(val_fraction, seed)  # before they go into the cache key
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = _cache_key(corpus, tokenizer, val_fraction, seed)
    folder = root / key
    meta = _read_meta(folder)
    if meta is not None:
        cached = TokenizedCorpus(folder, tokenizer, meta, cache_hit=True)
        top = cached.max_id()
        if top is None or top < tokenizer.vocab_size:
            return cached
        # ids no tokenizer of this key can produce: damaged after the fact, so marked damaged and rebuilt
        del cached
        (folder / "meta.json").unlink(missing_ok=True)
    meta = _build(folder, key, corpus, *_parts(corpus, val_fraction, seed), tokenizer, val_fraction, seed)
    return TokenizedCorpus(folder, tokenizer, meta, cache_hit=False)


def _read_meta(folder: Path) -> dict[str, Any] | None:
    """meta.json of a complete cache entry, or None if missing, damaged or stale."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not _meta_is_well_formed(meta):
        return None
    itemsize = np.dtype(meta["dtype"]).itemsize
    for split in SPLITS:
        # A .bin whose size disagrees with the metadata was damaged after the fact.
        expected = meta[f"{split}_tokens"] * itemsize
        path = folder / f"{split}.bin"
        if not path.is_file() or path.stat().st_size != expected:
            return None
    if not (folder / "tokenizer" / "tokenizer.json").is_file():
        return None
    return meta


def _meta_is_well_formed(meta: Any) -> bool:
    """True when ``meta`` has the current format and every field TokenizedCorpus reads, with the right type.

    Anything else (``[]``, missing keys, a dtype we never write ...) is a damaged entry: a cache miss.
    """
    if not isinstance(meta, dict) or meta.get("format_version") != CACHE_FORMAT_VERSION:
        return False
    if meta.get("dtype") not in (np.dtype(np.uint16).name, np.dtype(np.uint32).name):
        return False
    for split in SPLITS:
        count = meta.get(f"{split}_tokens")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return False
    corpus = meta.get("corpus")
    return isinstance(corpus, dict) and isinstance(corpus.get("name"), str)


def _doc_chunks(docs: list[str]) -> Iterator[list[str]]:
    """Group documents into lists of about _CHUNK_CHARS characters each."""
    chunk: list[str] = []
    size = 0
    for doc in docs:
        chunk.append(doc)
        size += len(doc)
        if size >= _CHUNK_CHARS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _separator_ids(tokenizer: Tokenizer, separator: str) -> np.ndarray:
    try:
        return tokenizer.encode_array(separator)
    except ValueError as e:
        raise ValueError(
            f"Tokenizer {tokenizer.name!r} has no end-of-text token, so documents are joined with the "
            f"corpus separator {separator!r}, but it cannot encode it ({e}). Build the tokenizer from the "
            "Corpus itself (sd.tokenizers.char(corpus) includes the separator) or set corpus.separator."
        ) from None


def _write_stream(path: Path, docs: list[str], tokenizer: Tokenizer, separator: str, dtype: np.dtype,
                  span: tuple[int, int] | None = None) -> int:
    """Tokenize docs (or ``docs[0][span[0]:span[1]]``) into ``path`` (raw ids of ``dtype``); returns the count.

    Memory stays bounded whatever the corpus: documents are encoded a few megabytes at a time, and a long
    document is cut into pieces at places where the tokenizer gives the same ids cut or not (see
    :func:`_pieces`), so a 200 MB single-document text never becomes one 200 MB encoding call."""
    eos = tokenizer.eos_id
    # A single document is never joined, so its separator need not be encodable.
    sep_ids = None if eos is not None or len(docs) < 2 else _separator_ids(tokenizer, separator)
    count = 0

    def put(ids: np.ndarray) -> None:
        nonlocal count
        if ids.size and (ids.min() < 0 or ids.max() >= tokenizer.vocab_size):
            raise ValueError(
                f"Tokenizer {tokenizer.name!r} produced id {int(ids.max())} outside its vocab_size "
                f"{tokenizer.vocab_size}."
            )
        ids.astype(dtype).tofile(f)
        count += int(ids.size)

    def put_text(text: str, start: int = 0, end: int | None = None) -> None:
        for group in _groups(_pieces(tokenizer, text, start, len(text) if end is None else end)):
            for ids in tokenizer.encode_batch(group):  # several pieces at once: Rust tokenizers use every core
                put(ids)

    with open(path, "wb") as f:
        if span is not None:
            put_text(docs[0], *span)
            if eos is not None:
                put(np.array([eos], dtype=np.int64))
            return count
        for i, chunk in enumerate(_doc_chunks(docs)):
            if eos is not None:
                short = [d for d in chunk if len(d) <= _piece_chars(tokenizer)]
                encoded = iter(tokenizer.encode_batch(short)) if short else iter(())
                for doc in chunk:
                    if len(doc) <= _piece_chars(tokenizer):
                        put(next(encoded))
                    else:
                        put_text(doc)
                    put(np.array([eos], dtype=np.int64))
            else:
                # The separator also goes between chunks, so the stream is exactly
                # separator.join(docs) encoded piece by piece.
                if i > 0:
                    put(sep_ids)
                put_text(separator.join(chunk))
    return count


#: Longest text encoded in one call (characters). A Hugging Face encoding keeps per-byte alignments and
#: offsets (about 200 bytes a character), so its pieces are shorter than the vectorised char/byte ones.
_PIECE_CHARS = {"char": 1_000_000, "byte": 1_000_000}
_PIECE_CHARS_OTHER = 100_000
_GROUP = 4  # pieces encoded together (in parallel by Rust tokenizers)
#: Where a long text may be cut: after a newline or before a space, with no whitespace on the other side.
_CUT = re.compile(r"\n(?=\S)|(?<=\S) (?=\S)")
_CHECK_CHARS = 400  # text on each side of a cut that is encoded both ways to prove the cut changes nothing
_MAX_TRIES = 50  # places tried before a tokenizer that no cut suits gets the rest of the text whole


def _piece_chars(tokenizer: Tokenizer) -> int:
    return _PIECE_CHARS.get(tokenizer.kind, _PIECE_CHARS_OTHER)


def _groups(pieces: Iterator[str]) -> Iterator[list[str]]:
    group: list[str] = []
    for piece in pieces:
        group.append(piece)
        if len(group) == _GROUP:
            yield group
            group = []
    if group:
        yield group


def _pieces(tokenizer: Tokenizer, text: str, start: int = 0, end: int | None = None) -> Iterator[str]:
    """``text[start:end]`` in consecutive pieces whose encodings, joined, are the encoding of the whole.

    Char and byte tokenizers may be cut anywhere; others (BPE, tiktoken, a Hugging Face tokenizer.json) at a
    newline or a space where encoding the text around the cut in one piece and in two gives the same ids, which
    holds wherever the tokenizer's pre-tokenizer starts a new word. A text with no such place is encoded whole.
    """
    end = len(text) if end is None else end
    size = _piece_chars(tokenizer)
    anywhere = tokenizer.kind in ("char", "byte")
    while end - start > size:
        cut = start + size if anywhere else _safe_cut(tokenizer, text, start + size, end)
        if cut is None:
            break
        yield text[start:cut]
        start = cut
    yield text if (start, end) == (0, len(text)) else text[start:end]


def _safe_cut(tokenizer: Tokenizer, text: str, near: int, end: int) -> int | None:
    """The first place in ``[near, end)`` where cutting ``text`` leaves its ids unchanged (None: none)."""
    for tries, m in enumerate(_CUT.finditer(text, near, end)):
        if tries == _MAX_TRIES:
            return None
        cut = m.end() if m.group() == "\n" else m.start()
        left, right = text[max(0, cut - _CHECK_CHARS):cut], text[cut:min(end, cut + _CHECK_CHARS)]
        if tokenizer.encode(left + right) == tokenizer.encode(left) + tokenizer.encode(right):
            return cut
    return None


#: A cache entry being built: ``.<key>.<pid>.<random>`` beside the entries.
_BUILDING = re.compile(r"^\.[0-9a-f]{32}\.(?P<pid>\d+)@(?P<host>[\w-]+)\.\w+$")


def remove_stale(cache_dir: Path) -> None:
    """Remove the half-built entries of processes that died while tokenizing (killed, crashed)."""
    for path in stale_temporaries(cache_dir, _BUILDING):
        remove_tree(path)


class _Part:
    """The documents of one split; for a corpus of one document, a span of it (``doc[start:end]`` is never
    copied out: a 200 MB text is tokenized from the one string)."""

    def __init__(self, docs: list[str], span: tuple[int, int] | None = None):
        self.docs, self.span = docs, span

    def __len__(self) -> int:
        return len(self.docs)


def _parts(corpus: Corpus, val_fraction: float, seed: int) -> tuple[_Part, _Part]:
    """``(train, val)`` as :meth:`Corpus.split` makes them, without copying a single document's text."""
    if len(corpus.docs) == 1:
        doc, cut = corpus.docs[0], corpus.single_cut(float(val_fraction))
        return _Part([doc], (0, cut)), _Part([doc], (cut, len(doc)))
    train, val = corpus.split(val_fraction=val_fraction, seed=seed)
    return _Part(train.docs), _Part(val.docs)


def _build(
    folder: Path, key: str, corpus: Corpus, train: _Part, val: _Part,
    tokenizer: Tokenizer, val_fraction: float, seed: int,
) -> dict[str, Any]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    dtype = _dtype_for(tokenizer.vocab_size)
    # Build everything in a private temp folder next to the target, then move
    # files into place and write meta.json last: meta.json is the commit mark.
    remove_stale(folder.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.{owner_tag()}.", dir=folder.parent))
    try:
        t0 = time.perf_counter()
        counts = {split: _write_stream(tmp / f"{split}.bin", part.docs, tokenizer, corpus.separator, dtype,
                                       part.span)
                  for split, part in (("train", train), ("val", val))}
        tokenizer.save(tmp / "tokenizer")
        meta = {
            "format_version": CACHE_FORMAT_VERSION,
            "key": key,
            "dtype": dtype.name,
            "train_tokens": counts["train"],
            "val_tokens": counts["val"],
            "val_fraction": float(val_fraction),
            "seed": int(seed),
            "joined_with": "eos" if tokenizer.eos_id is not None else "separator",
            "separator": corpus.separator,
            "corpus": {"name": corpus.name, "source": corpus.source, "fingerprint": corpus.fingerprint(),
                       **corpus.stats(), "train_docs": len(train), "val_docs": len(val)},
            "tokenizer": {"kind": tokenizer.kind, "name": tokenizer.name, "vocab_size": tokenizer.vocab_size,
                          "eos_id": tokenizer.eos_id, "fingerprint": tokenizer.fingerprint()},
            "seconds": round(time.perf_counter() - t0, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _publish(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return meta


def _publish(tmp: Path, folder: Path) -> None:
    """Move a finished temp folder into place.

    os.replace of a folder onto an existing (stale or damaged) folder fails,
    so a stale one is removed first.  If another process finished the same
    key meanwhile its complete entry is kept: the content is identical.
    """
    if folder.exists():
        if _read_meta(folder) is not None:
            return
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        if _read_meta(folder) is None:
            raise
