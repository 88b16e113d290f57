"""Shared test set-up: offline hub, a quiet MLflow, and the optional Tiny Shakespeare corpus."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # an online lookup otherwise hangs ~25 s here
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# CI explores the same examples on every run (a failure there is reproducible, never a roll of the dice);
# local runs draw new ones each time and keep what fails in .hypothesis/ to replay first.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
