"""Tokenizers: turn text into integer ids and back.

Every tokenizer is a :class:`Tokenizer` with the same small interface --
``encode``, ``decode``, ``vocab_size``, ``name``, ``eos_id``, ``save`` and
``fingerprint`` -- so models and training code never care which kind is used.

Kinds:

* :func:`char` -- one id per character seen in a corpus (nanoGPT's
  Shakespeare tokenizer).
* :func:`byte` -- the 256 UTF-8 byte values; can encode anything.
* :func:`bpe` -- byte-level BPE trained on your corpus with Hugging Face
  ``tokenizers``.
* :func:`tiktoken` -- OpenAI's ``gpt2`` / ``cl100k_base`` / ``o200k_base``.
* :func:`hf` -- any Hugging Face ``tokenizer.json`` (local file/dir or hub id).

Saving writes a directory whose ``tokenizer.json`` says which kind it is
(plus plain JSON/text files the kind needs -- never pickle); :func:`load`
rebuilds an identical tokenizer from it.

Example::

    >>> from slamdunk_lab import tokenizers
    >>> tok = tokenizers.char("hello world")
    >>> tok.encode("hello")
    [3, 2, 4, 4, 5]
    >>> tok.decode(tok.encode("hello"))
    'hello'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._files import UnreadableFile, read_json_file, write_bytes_atomic
from .data import Corpus, _host_reachable, hub_unreachable_reason

__all__ = [
    "ByteTokenizer",
    "CharTokenizer",
    "HFTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "TokenizerUnavailableError",
    "bpe",
    "byte",
    "char",
    "hf",
    "load",
    "tiktoken",
]

FORMAT = "slamdunk_lab.tokenizer"
FORMAT_VERSION = 1
EOS_TOKEN = "<|endoftext|>"


class TokenizerUnavailableError(RuntimeError):
    """Raised when a tokenizer's files are not on this machine and cannot be downloaded."""


def _text_of(corpus_or_text: Corpus | str | Sequence[str]) -> list[str]:
    """Documents of a Corpus, a single string, or a list of strings."""
    if isinstance(corpus_or_text, Corpus):
        return corpus_or_text.docs
    if isinstance(corpus_or_text, str):
        return [corpus_or_text]
    if isinstance(corpus_or_text, (list, tuple)) and all(isinstance(d, str) for d in corpus_or_text):
        return list(corpus_or_text)
    raise TypeError(
        f"Expected a Corpus, a str or a list of str, got {type(corpus_or_text).__name__}."
    )


def _check_ids(ids: Any, vocab_size: int) -> np.ndarray:
    """Ids as an int64 array, with a clear error for any id outside the vocabulary."""
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if arr.size:
        bad = (arr < 0) | (arr >= vocab_size)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"Token id {int(arr[i])} at position {i} is outside the vocabulary (0..{vocab_size - 1}).")
    return arr


class Tokenizer:
    """Base class of every tokenizer.

    Subclasses implement :meth:`encode`, :meth:`decode`, :meth:`_config`
    (the JSON written to ``tokenizer.json``) and, when they need big data
    files, :meth:`_files`.  Everything else -- ``save``, ``fingerprint``,
    ``encode_array`` -- is shared.

    Attributes:
        name: a short human-readable name, e.g. ``"char-65"`` or ``"gpt2"``.
        vocab_size: number of distinct ids; every id is in ``range(vocab_size)``.
        eos_id: id of the end-of-text token, or ``None`` when there is none
            (char and byte tokenizers).
    """

    kind: str = "base"
    name: str
    vocab_size: int
    eos_id: int | None = None

    def encode(self, text: str) -> list[int]:
        """Encode a string into a list of token ids."""
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """Decode a sequence of token ids back into a string."""
        raise NotImplementedError

    def encode_array(self, text: str) -> np.ndarray:
        """Encode into a numpy int64 array (vectorised for char and byte tokenizers)."""
        return np.asarray(self.encode(text), dtype=np.int64)

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Encode several strings; kinds backed by Rust libraries do this in parallel."""
        return [self.encode_array(t) for t in texts]

    def _config(self) -> dict[str, Any]:
        raise NotImplementedError

    def _files(self) -> dict[str, bytes]:
        """Extra files (name -> content) written next to tokenizer.json."""
        return {}

    def save(self, directory: str | os.PathLike) -> Path:
        """Write this tokenizer to ``directory`` (created if needed) and return its path.

        The directory holds ``tokenizer.json`` plus any JSON/text files the
        kind needs.  :func:`load` reads it back.

        Example::

            >>> path = byte().save("my_tokenizer")   # doctest: +SKIP
            >>> load(path).vocab_size                # doctest: +SKIP
            256
        """
        out = Path(directory).expanduser()
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"Cannot save tokenizer: {str(out)!r} exists and is not a directory.")
        out.mkdir(parents=True, exist_ok=True)
        files = self._files()
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "name": self.name,
            "vocab_size": self.vocab_size,
            "eos_id": self.eos_id,
            "files": sorted(files),
            "config": self._config(),
        }
        for filename, content in files.items():
            write_bytes_atomic(out / filename, content)
        # ensure_ascii: a char vocabulary may hold lone surrogates, which UTF-8 cannot store raw.
        text = json.dumps(header, indent=2, ensure_ascii=True) + "\n"
        write_bytes_atomic(out / "tokenizer.json", text.encode())
        return out

    def fingerprint(self) -> str:
        """A stable SHA-256 hex digest of everything that affects encoding.

        Equal fingerprints mean equal ids for every input; the name is not
        included.  Used as part of the tokenized-cache key.
        """
        cached = getattr(self, "_fingerprint_cache", None)
        if cached is None:
            h = hashlib.sha256()
            payload = {"kind": self.kind, "vocab_size": self.vocab_size, "eos_id": self.eos_id,
                       "config": self._config()}
            # surrogatepass: the same bytes as UTF-8, but a lone surrogate in a char vocabulary cannot fail.
            h.update(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            for filename, content in sorted(self._files().items()):
                h.update(f"\n{filename}:{len(content)}\n".encode())
                h.update(self._canonical_file(filename, content))
            cached = self._fingerprint_cache = h.hexdigest()
        return cached

    def _canonical_file(self, filename: str, content: bytes) -> bytes:
        """File bytes as hashed by fingerprint(); JSON files are re-serialised with sorted keys
        so formatting differences never change the fingerprint."""
        if filename.endswith(".json"):
            return json.dumps(json.loads(content), sort_keys=True, ensure_ascii=False).encode()
        return content

    def to_hf(self) -> Any:
        """This tokenizer as a Hugging Face ``tokenizers.Tokenizer`` that gives the same ids for the same text
        (what :func:`slamdunk_lab.export_hf` writes as ``tokenizer.json``).

        Example::

            >>> char("abc").to_hf().encode("cab").ids
            [2, 0, 1]
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be written as a Hugging Face tokenizer")

    @property
    def special_tokens(self) -> dict[str, str]:
        """The Hugging Face roles of this tokenizer's special tokens (``bos_token``, ``eos_token``,
        ``pad_token``, ``unk_token``); empty when it has none. The end-of-text token plays all of the first three,
        as in GPT-2."""
        eos = self.eos_token_text
        return {"bos_token": eos, "eos_token": eos, "pad_token": eos} if eos is not None else {}

    @property
    def eos_token_text(self) -> str | None:
        """The text of the end-of-text token, or None when there is none."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, vocab_size={self.vocab_size}, eos_id={self.eos_id})"


# --------------------------------------------------------------------------------------
# Hugging Face fast-tokenizer building blocks (for to_hf)
# --------------------------------------------------------------------------------------


def _byte_symbols() -> list[str]:
    """GPT-2's printable character for each byte value (what byte-level BPE vocabularies are written in)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def _hf_tokenizer(model: Any, pre_tokenizer: Any = None, decoder: Any = None, specials: Iterable[str] = ()) -> Any:
    hft = _require_hf_tokenizers()
    tok = hft.Tokenizer(model)
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder if decoder is not None else hft.decoders.Fuse()
    specials = [s for s in specials if s is not None]
    if specials:  # already in the model's vocabulary, so they keep their ids
        tok.add_special_tokens([hft.AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


# --------------------------------------------------------------------------------------
# Character tokenizer
# --------------------------------------------------------------------------------------


def _code_points(text: str) -> np.ndarray:
    # UTF-32 gives one 4-byte code point per character; surrogatepass keeps
    # lone surrogates (legal in Python str) from raising.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


class CharTokenizer(Tokenizer):
    """One id per character; ids follow the sorted order of the characters.

    An unknown character raises a ``ValueError`` naming it, unless the
    tokenizer was built with ``unk=...``: then that character is added to the
    vocabulary and unknown characters encode as it (decoding gives the
    ``unk`` character back, so such text does not round-trip).

    Encoding and decoding are vectorised with a numpy lookup table over code
    points, so a megabyte of text takes milliseconds.
    """

    kind = "char"

    def __init__(self, chars: Sequence[str], unk: str | None = None):
        chars = sorted(set(chars) | ({unk} if unk is not None else set()))
        if not chars:
            raise ValueError("A char tokenizer needs at least one character; the text was empty.")
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"Char tokenizer vocabulary entries must be single characters, got {c!r}.")
        if unk is not None and (not isinstance(unk, str) or len(unk) != 1):
            raise ValueError(f"unk must be a single character or None, got {unk!r}.")
        self.chars: list[str] = chars
        self.unk = unk
        self.vocab_size = len(chars)
        self.name = f"char-{self.vocab_size}"
        self.eos_id = None
        self._cp = np.array([ord(c) for c in chars], dtype=np.uint32)
        self._lut = np.full(int(self._cp.max()) + 1, -1, dtype=np.int64)
        self._lut[self._cp] = np.arange(self.vocab_size)
        self._unk_id = None if unk is None else chars.index(unk)

    def encode_array(self, text: str) -> np.ndarray:
        cps = _code_points(text)
        in_range = cps < len(self._lut)
        ids = np.full(cps.shape, -1, dtype=np.int64)
        ids[in_range] = self._lut[cps[in_range]]
        missing = ids < 0
        if missing.any():
            if self._unk_id is None:
                pos = int(np.argmax(missing))
                ch = chr(int(cps[pos]))
                raise ValueError(
                    f"Character {ch!r} (U+{ord(ch):04X}) at position {pos} is not in this char tokenizer's "
                    f"vocabulary of {self.vocab_size} characters; build it from text that contains it, "
                    "or pass unk='?' to map unknown characters."
                )
            ids[missing] = self._unk_id
        return ids

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def decode(self, ids: Iterable[int]) -> str:
        arr = _check_ids(ids, self.vocab_size)
        return self._cp[arr].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def _config(self) -> dict[str, Any]:
        return {"chars": "".join(self.chars), "unk": self.unk}

    def to_hf(self) -> Any:
        # A BPE without merges and without pre-tokenization splits text into characters: one id per character,
        # unknown ones as the unk character when there is one. Fuse joins the pieces back without spaces.
        hft = _require_hf_tokenizers()
        vocab = {c: i for i, c in enumerate(self.chars)}
        try:
            model = hft.models.BPE(vocab=vocab, merges=[], unk_token=self.unk)
        except Exception as e:  # noqa: BLE001 - e.g. a lone surrogate, which the Rust side cannot hold
            raise ValueError(f"this char tokenizer cannot be written as a Hugging Face tokenizer: {e}") from None
        return _hf_tokenizer(model)

    @property
    def special_tokens(self) -> dict[str, str]:
        return {"unk_token": self.unk} if self.unk is not None else {}


def char(corpus_or_text: Corpus | str | Sequence[str], unk: str | None = None) -> CharTokenizer:
    """Build a character tokenizer from the characters of a corpus or string.

    Args:
        corpus_or_text: a :class:`~slamdunk_lab.data.Corpus`, a string, or a
            list of strings.  For a Corpus of several documents the characters
            of its ``separator`` are included too, so the joined training
            stream built by :func:`~slamdunk_lab.tokcache.tokenize_corpus`
            can always be encoded.
        unk: optional single character used for characters outside the
            vocabulary (added to it).  Default: unknown characters raise.

    Example::

        >>> tok = char("abcabc")
        >>> tok.vocab_size, tok.encode("cab")
        (3, [2, 0, 1])
    """
    docs = _text_of(corpus_or_text)
    seen: set[str] = set()
    for doc in docs:
        seen.update(doc)
    if isinstance(corpus_or_text, Corpus) and len(docs) > 1:
        seen.update(corpus_or_text.separator)
    return CharTokenizer(sorted(seen), unk=unk)


# --------------------------------------------------------------------------------------
# Byte tokenizer
# --------------------------------------------------------------------------------------


class ByteTokenizer(Tokenizer):
    """The 256 UTF-8 byte values as ids; any text can be encoded.

    Decoding an id sequence that is not valid UTF-8 (e.g. a model's output
    cut mid-character) yields U+FFFD replacement characters instead of failing.
    """

    kind = "byte"

    def __init__(self) -> None:
        self.vocab_size = 256
        self.name = "byte"
        self.eos_id = None

    def encode_array(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8).astype(np.int64)

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8", "surrogatepass"))

    def decode(self, ids: Iterable[int]) -> str:
        arr = _check_ids(ids, 256)
        return arr.astype(np.uint8).tobytes().decode("utf-8", errors="replace")

    def _config(self) -> dict[str, Any]:
        return {}

    def to_hf(self) -> Any:
        # byte-level BPE without merges: each UTF-8 byte b is the symbol GPT-2 writes for it, with id b
        hft = _require_hf_tokenizers()
        vocab = {symbol: b for b, symbol in enumerate(_byte_symbols())}
        return _hf_tokenizer(hft.models.BPE(vocab=vocab, merges=[]),
                             hft.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                             hft.decoders.ByteLevel())


def byte() -> ByteTokenizer:
    """A UTF-8 byte tokenizer (vocab size 256, no end-of-text token).

    Example::

        >>> byte().encode("hé")
        [104, 195, 169]
    """
    return ByteTokenizer()


# --------------------------------------------------------------------------------------
# Hugging Face tokenizers (trained BPE and loaded tokenizer.json)
# --------------------------------------------------------------------------------------

_EOS_CANDIDATES = (EOS_TOKEN, "</s>", "<eos>", "<|eos|>", "<|end_of_text|>", "[SEP]")
_HF_FILE = "hf_tokenizer.json"


def _require_hf_tokenizers():
    try:
        import tokenizers as hf_tokenizers
    except ImportError:
        raise ImportError("This tokenizer needs the 'tokenizers' package: pip install tokenizers") from None
    return hf_tokenizers


class HFTokenizer(Tokenizer):
    """A wrapper around a Hugging Face ``tokenizers.Tokenizer``.

    Used both for BPE trained by :func:`bpe` (``kind="bpe"``) and for
    tokenizers loaded by :func:`hf` (``kind="hf"``).  Text is always encoded
    as plain text: a literal ``"<|endoftext|>"`` inside a document is not
    turned into the special id (the cache adds end-of-text ids itself), and
    decoding keeps special tokens so ``decode(encode(s)) == s``.  No
    truncation or padding is applied.
    """

    def __init__(self, backend: Any, name: str, kind: str = "hf", eos_token: str | None = None):
        self._backend = backend
        # Treat special-token strings in documents as ordinary text.
        backend.encode_special_tokens = True
        backend.no_truncation()
        backend.no_padding()
        self.kind = kind
        self.name = name
        self.vocab_size = backend.get_vocab_size(with_added_tokens=True)
        self.eos_token = eos_token if eos_token is not None else self._guess_eos()
        self.eos_id = None if self.eos_token is None else backend.token_to_id(self.eos_token)
        if eos_token is not None and self.eos_id is None:
            raise ValueError(f"eos_token {eos_token!r} is not in the tokenizer's vocabulary.")

    def _guess_eos(self) -> str | None:
        for tok in _EOS_CANDIDATES:
            if self._backend.token_to_id(tok) is not None:
                return tok
        return None

    @property
    def backend(self) -> Any:
        """The underlying ``tokenizers.Tokenizer`` (for advanced use)."""
        return self._backend

    def encode(self, text: str) -> list[int]:
        return self._backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        encodings = self._backend.encode_batch(list(texts), add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int64) for e in encodings]

    def decode(self, ids: Iterable[int]) -> str:
        arr = _check_ids(ids, self.vocab_size)
        return self._backend.decode(arr.tolist(), skip_special_tokens=False)

    def _config(self) -> dict[str, Any]:
        return {"eos_token": self.eos_token, "tokenizer_file": _HF_FILE}

    def to_hf(self) -> Any:
        return _require_hf_tokenizers().Tokenizer.from_str(self._backend.to_str())  # a copy

    @property
    def eos_token_text(self) -> str | None:
        return self.eos_token

    def _files(self) -> dict[str, bytes]:
        return {_HF_FILE: self._backend.to_str(pretty=True).encode()}


#: The largest BPE vocabulary :func:`bpe` trains.
MAX_BPE_VOCAB = 2**20


def bpe(corpus: Corpus | str | Sequence[str], vocab_size: int = 2048) -> HFTokenizer:
    """Train a byte-level BPE tokenizer (GPT-2 style) on a corpus.

    Starts from the 256 byte symbols plus ``<|endoftext|>`` (the eos token)
    and learns merges until ``vocab_size`` is reached (or the corpus runs
    out of pairs, so small corpora can end up smaller).  Byte-level means any
    unicode text round-trips: ``decode(encode(s)) == s``.

    Example::

        >>> tok = bpe("the cat sat on the mat " * 50, vocab_size=300)
        >>> tok.decode(tok.encode("the mat, the cat ☕"))
        'the mat, the cat ☕'
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 257:
        raise ValueError(
            f"BPE vocab_size must be an integer of at least 257 (256 bytes + <|endoftext|>), got {vocab_size!r}."
        )
    if vocab_size > MAX_BPE_VOCAB:
        # the Rust trainer aborts the whole process (a Jupyter kernel dies) on sizes near 2**31
        raise ValueError(
            f"BPE vocab_size={vocab_size:,} is more than the {MAX_BPE_VOCAB:,} a vocabulary may have here (the "
            "largest published models use about 256,000)."
        )
    docs = _text_of(corpus)
    hft = _require_hf_tokenizers()
    backend = hft.Tokenizer(hft.models.BPE())
    backend.pre_tokenizer = hft.pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = hft.decoders.ByteLevel()
    trainer = hft.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=hft.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(docs, trainer=trainer, length=len(docs))
    tok = HFTokenizer(backend, name=f"bpe-{vocab_size}", kind="bpe", eos_token=EOS_TOKEN)
    return tok


def _is_own_save(path: Path) -> bool:
    try:
        return read_json_file(path, MAX_TOKENIZER_FILE_BYTES, "the tokenizer file").get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _with_eos_token(tok: Tokenizer, eos_token: str | None, source: Path) -> Tokenizer:
    """``tok`` with ``eos_token`` as its end-of-text token (unchanged when ``eos_token`` is None)."""
    if eos_token is None:
        return tok
    if not isinstance(tok, HFTokenizer):
        raise ValueError(  # noqa: TRY004 - eos_token's value does not fit this saved tokenizer
            f"eos_token={eos_token!r} cannot be applied: {str(source)!r} holds a saved {tok.kind!r} "
            "tokenizer, and eos_token only applies to Hugging Face (bpe / hf) tokenizers."
        )
    return HFTokenizer(tok.backend, name=tok.name, kind=tok.kind, eos_token=eos_token)


def hf(path_or_id: str | os.PathLike, eos_token: str | None = None) -> Tokenizer:
    """Load a Hugging Face ``tokenizer.json``.

    ``path_or_id`` may be a ``tokenizer.json`` file, a directory holding one,
    or a hub id like ``"gpt2"`` (downloaded with ``tokenizers``; fails fast
    with :class:`TokenizerUnavailableError` when offline).  A directory
    written by :meth:`Tokenizer.save` is handed to :func:`load`.

    ``eos_token`` names the end-of-text token; by default the first of
    ``<|endoftext|>``, ``</s>``, ``<eos>`` ... present in the vocabulary (for
    our own save, the one it was saved with).  A token that is not in the
    vocabulary raises ``ValueError``.

    Example::

        >>> tok = hf("path/to/tokenizer.json")   # doctest: +SKIP
    """
    hft = _require_hf_tokenizers()
    p = Path(path_or_id).expanduser()
    if p.is_dir():
        p = p / "tokenizer.json"
        if not p.is_file():
            raise FileNotFoundError(f"No tokenizer.json in directory {str(p.parent)!r}.")
    if p.is_file():
        if _is_own_save(p):
            return _with_eos_token(load(p.parent), eos_token, p.parent)
        _check_data_file(p, repr(p.name))
        try:
            backend = hft.Tokenizer.from_file(str(p))
        except Exception as e:  # noqa: BLE001 - the Rust side raises a plain Exception on bad JSON
            raise ValueError(f"{str(p)!r} is not a valid Hugging Face tokenizer.json: {e}") from None
        label = (p.parent.name or "hf") if p.name == "tokenizer.json" else p.stem
        return HFTokenizer(backend, name=label, kind="hf", eos_token=eos_token)
    name = str(path_or_id)
    # Hub ids look like "gpt2" or "org/name"; anything else is a local path that does not exist.
    looks_local = name.endswith(".json") or name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_local or "\\" in name:
        raise FileNotFoundError(f"Tokenizer file not found: {name!r}.")
    reason = hub_unreachable_reason()
    if reason:
        raise TokenizerUnavailableError(
            f"Could not download tokenizer {name!r} from the Hugging Face hub: {reason}. "
            "Pass a local tokenizer.json path, or use sd.tokenizers.bpe(corpus) / char / byte."
        )
    backend = hft.Tokenizer.from_pretrained(name)
    return HFTokenizer(backend, name=name, kind="hf", eos_token=eos_token)


# --------------------------------------------------------------------------------------
# tiktoken
# --------------------------------------------------------------------------------------

_BLOB = "https://openaipublic.blob.core.windows.net"
#: Files tiktoken downloads for each encoding.  tiktoken caches each one under
#: TIKTOKEN_CACHE_DIR as sha1(url).hexdigest(); listing them lets us check the
#: cache before tiktoken tries the network.
_TIKTOKEN_URLS: dict[str, tuple[str, ...]] = {
    "gpt2": (f"{_BLOB}/gpt-2/encodings/main/vocab.bpe", f"{_BLOB}/gpt-2/encodings/main/encoder.json"),
    "r50k_base": (f"{_BLOB}/encodings/r50k_base.tiktoken",),
    "p50k_base": (f"{_BLOB}/encodings/p50k_base.tiktoken",),
    "cl100k_base": (f"{_BLOB}/encodings/cl100k_base.tiktoken",),
    "o200k_base": (f"{_BLOB}/encodings/o200k_base.tiktoken",),
}
_RANKS_FILE = "mergeable_ranks.tiktoken"
#: What an unassigned tiktoken id decodes to: U+FFFD, the replacement character.
_REPLACEMENT_BYTES = "\ufffd".encode()


def _tiktoken_cache_dir() -> Path:
    """The folder tiktoken caches downloads in (same rules as tiktoken.load)."""
    import tempfile

    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _tiktoken_missing_files(name: str) -> list[str]:
    cache = _tiktoken_cache_dir()
    return [
        url for url in _TIKTOKEN_URLS[name]
        if not (cache / hashlib.sha1(url.encode()).hexdigest()).is_file()
    ]


def _require_tiktoken():
    try:
        import tiktoken as tk
        from tiktoken_ext import openai_public
    except ImportError:
        raise ImportError("This tokenizer needs the 'tiktoken' package: pip install tiktoken") from None
    return tk, openai_public


class TiktokenTokenizer(Tokenizer):
    """A wrapper around a ``tiktoken.Encoding``.

    Text is encoded with ``encode_ordinary``: special-token strings inside a
    document stay plain text.  ``eos_id`` is the ``<|endoftext|>`` id.
    Saving stores the merge ranks as a text file, so a saved tokenizer
    reloads without network access.

    ``vocab_size`` is tiktoken's ``n_vocab``, which counts a few ids that no
    token uses (``cl100k_base`` leaves 100256 and 100261-100275 unassigned).
    Encoding never produces them, but a model can sample them, so decoding
    turns each one into U+FFFD (the replacement character) instead of
    failing.
    """

    kind = "tiktoken"

    def __init__(self, name: str, pat_str: str, mergeable_ranks: dict[bytes, int],
                 special_tokens: dict[str, int], explicit_n_vocab: int | None = None):
        tk, _ = _require_tiktoken()
        self.name = name
        self._pat_str = pat_str
        self._ranks = mergeable_ranks
        self._special = dict(special_tokens)
        self._explicit_n_vocab = explicit_n_vocab
        self._enc = tk.Encoding(name, pat_str=pat_str, mergeable_ranks=mergeable_ranks,
                                special_tokens=self._special, explicit_n_vocab=explicit_n_vocab)
        self.vocab_size = self._enc.n_vocab
        self.eos_id = self._special.get(EOS_TOKEN)
        # Which ids a token uses; the rest of range(vocab_size) decodes to U+FFFD.
        self._assigned = np.zeros(self.vocab_size, dtype=bool)
        rank_ids = np.fromiter(mergeable_ranks.values(), dtype=np.int64, count=len(mergeable_ranks))
        self._assigned[rank_ids] = True
        self._assigned[list(self._special.values())] = True

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.asarray(ids, dtype=np.int64) for ids in self._enc.encode_ordinary_batch(list(texts))]

    def decode(self, ids: Iterable[int]) -> str:
        arr = _check_ids(ids, self.vocab_size)
        unassigned = np.flatnonzero(~self._assigned[arr])
        if not unassigned.size:
            return self._enc.decode(arr.tolist(), errors="replace")
        # tiktoken raises KeyError on an unassigned id: decode the runs between them.
        pieces, start = [], 0
        for i in unassigned.tolist():
            pieces += [self._enc.decode_bytes(arr[start:i].tolist()), _REPLACEMENT_BYTES]
            start = i + 1
        pieces.append(self._enc.decode_bytes(arr[start:].tolist()))
        return b"".join(pieces).decode("utf-8", errors="replace")

    def _config(self) -> dict[str, Any]:
        return {"pat_str": self._pat_str, "special_tokens": self._special,
                "explicit_n_vocab": self._explicit_n_vocab, "ranks_file": _RANKS_FILE}

    def to_hf(self) -> Any:
        # Byte-level BPE over the same vocabulary (ids are tiktoken's ranks), with the merges tiktoken applies
        # implicitly made explicit, and tiktoken's split pattern in front: gpt2's ids are GPT-2's.
        hft = _require_hf_tokenizers()
        symbols = _byte_symbols()

        def text(token: bytes) -> str:
            return "".join(symbols[b] for b in token)

        vocab = {text(token): rank for token, rank in self._ranks.items()}
        vocab.update(self._special)
        merges = [(text(a), text(b)) for a, b in _tiktoken_merges(self._ranks)]
        pre = hft.pre_tokenizers.Sequence([
            hft.pre_tokenizers.Split(hft.Regex(self._pat_str), behavior="isolated", invert=False),
            hft.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        return _hf_tokenizer(hft.models.BPE(vocab=vocab, merges=merges, ignore_merges=False), pre,
                             hft.decoders.ByteLevel(), specials=sorted(self._special, key=self._special.get))

    @property
    def eos_token_text(self) -> str | None:
        return EOS_TOKEN if self.eos_id is not None else None

    def _files(self) -> dict[str, bytes]:
        # tiktoken's own text format: "<base64 token> <rank>" per line.
        lines = (base64.b64encode(tok) + b" " + str(rank).encode()
                 for tok, rank in sorted(self._ranks.items(), key=lambda kv: kv[1]))
        return {_RANKS_FILE: b"\n".join(lines) + b"\n"}


def _tiktoken_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merges, in priority order, that rebuild each multi-byte token of a tiktoken vocabulary.

    tiktoken merges the adjacent pair whose joined bytes have the lowest rank; a token of rank r is therefore
    made by the last merge of running that process on its bytes with ranks below r. A token that process cannot
    reach as one piece (none in gpt2) is left out: no merge produces it, as in tiktoken."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = [token[i:i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best = min((ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1))
            if best[0] >= rank:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) == 2:
            merges.append((parts[0], parts[1]))
    return merges


def tiktoken(name: str = "gpt2") -> TiktokenTokenizer:
    """Load one of OpenAI's tiktoken encodings: ``"gpt2"``, ``"cl100k_base"``, ``"o200k_base"``
    (also ``"r50k_base"``, ``"p50k_base"``).

    tiktoken downloads its files once into ``TIKTOKEN_CACHE_DIR``.  When they
    are not cached and the download host cannot be reached this fails within
    a few seconds with :class:`TokenizerUnavailableError` saying which files
    are needed.

    Example::

        >>> tok = tiktoken("gpt2")        # doctest: +SKIP
        >>> tok.encode("hello world")     # doctest: +SKIP
        [31373, 995]
    """
    if name not in _TIKTOKEN_URLS:
        raise ValueError(f"Unknown tiktoken encoding {name!r}. Known: {', '.join(map(repr, _TIKTOKEN_URLS))}.")
    _, openai_public = _require_tiktoken()
    missing = _tiktoken_missing_files(name)
    if missing and not _host_reachable(_BLOB):
        wanted = "; ".join(f"{hashlib.sha1(url.encode()).hexdigest()} (from {url})" for url in missing)
        raise TokenizerUnavailableError(
            f"tiktoken encoding {name!r} is not cached in {str(_tiktoken_cache_dir())!r} and "
            f"{_BLOB} cannot be reached (no network?). Missing files: {wanted}. "
            "Set TIKTOKEN_CACHE_DIR to a folder holding them, or use sd.tokenizers.bpe / char / byte."
        )
    try:
        spec = openai_public.ENCODING_CONSTRUCTORS[name]()
    except Exception as e:  # requests/ssl/hash errors all mean "could not get the files"
        raise TokenizerUnavailableError(f"Could not load tiktoken encoding {name!r}: {e}") from e
    return TiktokenTokenizer(spec["name"], spec["pat_str"], spec["mergeable_ranks"],
                             spec["special_tokens"], spec.get("explicit_n_vocab"))


def _load_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    ranks = {}
    for lineno, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError:
            raise ValueError(f"Line {lineno} of {str(path)!r} is not '<base64 token> <rank>'.") from None
    return ranks


# --------------------------------------------------------------------------------------
# Loading saved tokenizers
# --------------------------------------------------------------------------------------


def load(directory: str | os.PathLike) -> Tokenizer:
    """Load a tokenizer saved with :meth:`Tokenizer.save`.

    A directory (or file) holding a plain Hugging Face ``tokenizer.json`` is
    accepted too and loaded like :func:`hf`.

    Example::

        >>> tok = char("hello")
        >>> import tempfile; d = tempfile.mkdtemp()
        >>> load(tok.save(d)).encode("hello") == tok.encode("hello")
        True
    """
    d = Path(directory).expanduser()
    path = d / "tokenizer.json" if d.is_dir() else d
    if not path.exists() or path.is_dir():  # anything else that exists is refused by the reader, naming it
        raise FileNotFoundError(f"No saved tokenizer at {str(d)!r} (expected a tokenizer.json in it).")
    d = path.parent
    try:
        header = read_json_file(path, MAX_TOKENIZER_FILE_BYTES, "the tokenizer file")
    except UnreadableFile as e:
        raise ValueError(str(e)) from None
    except ValueError as e:
        raise ValueError(f"{str(path)!r} is not valid JSON: {e}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        if isinstance(header, dict) and "model" in header:
            return hf(path)
        raise ValueError(f"{str(path)!r} was not written by slamdunk_lab (no 'format': {FORMAT!r}).")
    version = _field(header, "format_version", path, int, "an integer", optional=True)
    if version is not None and version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format_version {version}; this slamdunk_lab reads up to "
            f"{FORMAT_VERSION}. Upgrade slamdunk_lab."
        )
    vocab_size = _field(header, "vocab_size", path, int, "an integer")
    tok = _build_from_header(header, path)
    if tok.vocab_size != vocab_size:
        raise ValueError(
            f"Tokenizer in {str(d)!r} rebuilt with vocab_size {tok.vocab_size}, but the file says "
            f"{vocab_size}; the files may be damaged."
        )
    return tok


def _field(section: dict[str, Any], dotted: str, path: Path, types: type | tuple[type, ...], what: str,
           optional: bool = False) -> Any:
    """The field ``dotted`` (e.g. ``"config.chars"``) of a saved tokenizer.json, read from ``section``.

    A missing field, or one of the wrong type, raises a ValueError naming the file and the field;
    an ``optional`` field may be absent or null (and then gives None).
    """
    key = dotted.rsplit(".", 1)[-1]
    value = section.get(key)
    if value is None and optional:
        return None
    if key not in section:
        raise ValueError(f"{str(path)!r} is damaged: it has no field {dotted!r}.")
    if isinstance(value, bool) or not isinstance(value, types):
        shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."
        # ValueError, not TypeError: the file holds a bad value; the caller's arguments are fine.
        raise ValueError(  # noqa: TRY004
            f"{str(path)!r} is damaged: field {dotted!r} must be {what}, got {shown}."
        )
    return value


def _data_file(cfg: dict[str, Any], key: str, path: Path) -> Path:
    """The file named by ``config.<key>``, next to tokenizer.json; it must exist.

    Only a plain file name inside the tokenizer's folder is accepted: no folder part, not absolute, not
    ``.`` or ``..``, and -- once symlinks are followed -- still inside the folder. A downloaded tokenizer
    folder must never make :func:`load` read a file elsewhere on the machine.
    """
    name = _field(cfg, f"config.{key}", path, str, "a file name")
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if (not name or name in (".", "..") or "\x00" in name or any(s in name for s in separators)
            or os.path.isabs(name) or Path(name).drive):
        shown = repr(name) if len(repr(name)) <= 80 else f"{repr(name)[:77]}..."
        raise ValueError(
            f"{str(path)!r} is damaged or unsafe: field 'config.{key}' must be the plain name of a file in "
            f"{str(path.parent)!r}, got {shown}; a saved tokenizer only reads files from its own folder."
        )
    folder = path.parent
    target = folder / name
    try:
        real_folder, real_target = folder.resolve(), target.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop, or a name the OS refuses
        raise ValueError(f"{str(path)!r}: cannot use {name!r} (config.{key}): {e}") from None
    if real_target == real_folder or not real_target.is_relative_to(real_folder):
        raise ValueError(
            f"{str(path)!r} is unsafe: {name!r} (config.{key}) is a link to {str(real_target)!r}, outside "
            f"{str(folder)!r}; a saved tokenizer only reads files from its own folder."
        )
    if not target.exists():
        raise FileNotFoundError(f"{str(path)!r} needs {name!r} (config.{key}), which is missing from "
                                f"{str(path.parent)!r}.")
    _check_data_file(target, f"{name!r} (config.{key})")
    return target


#: The largest file a saved tokenizer may hold (the biggest public tokenizer.json files are about 30 MB).
MAX_TOKENIZER_FILE_BYTES = 256 * 2**20


def _check_data_file(target: Path, what: str) -> None:
    """A tokenizer's data file must be a regular file of at most 256 MB: the Rust readers would block forever on a
    named pipe and read a device such as /dev/zero until memory runs out."""
    import stat

    info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what} in {str(target.parent)!r} is not a regular file (a named pipe, a device or a "
                         "folder); a saved tokenizer reads only regular files.")
    if info.st_size > MAX_TOKENIZER_FILE_BYTES:
        raise ValueError(f"{what} in {str(target.parent)!r} is {info.st_size / 2**20:,.0f} MB, more than the "
                         f"{MAX_TOKENIZER_FILE_BYTES // 2**20} MB a tokenizer file may be.")


def _build_from_header(header: dict[str, Any], path: Path) -> Tokenizer:
    kind = header.get("kind")
    cfg = _field(header, "config", path, dict, "an object", optional=True) or {}
    if kind == "char":
        chars = _field(cfg, "config.chars", path, str, "a string of characters")
        unk = _field(cfg, "config.unk", path, str, "a character", optional=True)
        tok: Tokenizer = CharTokenizer(list(chars), unk=unk)
    elif kind == "byte":
        tok = ByteTokenizer()
    elif kind in ("bpe", "hf"):
        hft = _require_hf_tokenizers()
        tokenizer_file = _data_file(cfg, "tokenizer_file", path)
        try:
            backend = hft.Tokenizer.from_file(str(tokenizer_file))
        except Exception as e:  # noqa: BLE001 - the Rust side raises a plain Exception on bad JSON
            raise ValueError(
                f"{str(tokenizer_file)!r} is not a valid Hugging Face tokenizer.json: {e}"
            ) from None
        name = _field(header, "name", path, str, "a string")
        eos_token = _field(cfg, "config.eos_token", path, str, "a string", optional=True)
        tok = HFTokenizer(backend, name=name, kind=kind, eos_token=eos_token)
    elif kind == "tiktoken":
        ranks = _load_tiktoken_ranks(_data_file(cfg, "ranks_file", path))
        special = _field(cfg, "config.special_tokens", path, dict, "an object of token -> id")
        bad = [token for token, i in special.items() if isinstance(i, bool) or not isinstance(i, int)]
        if bad:
            raise ValueError(
                f"{str(path)!r} is damaged: config.special_tokens[{bad[0]!r}] must be an integer id, "
                f"got {special[bad[0]]!r}."
            )
        tok = TiktokenTokenizer(
            _field(header, "name", path, str, "a string"),
            _field(cfg, "config.pat_str", path, str, "a string"),
            ranks,
            special,
            _field(cfg, "config.explicit_n_vocab", path, int, "an integer", optional=True),
        )
    else:
        raise ValueError(f"Unknown tokenizer kind {kind!r} in {str(path)!r}.")
    name = _field(header, "name", path, str, "a string", optional=True)
    if name is not None:
        tok.name = name
    return tok
