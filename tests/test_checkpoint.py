"""Checkpoints: atomic layout, exact round trips of weights, optimizer and random states, damage tolerance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import slamdunk_lab as sd
from slamdunk_lab import tokenizers
from slamdunk_lab.training import checkpoint as ckpt
from slamdunk_lab.training.trainer import TrainConfig, make_optimizer


@pytest.fixture
def parts():
    tok = tokenizers.char("abcdefgh\n")
    torch.manual_seed(0)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, d_model=16, n_head=2, context=16,
                                 vocab_size=tok.vocab_size))
    opt = make_optimizer(model, TrainConfig(), torch.device("cpu"))
    x = torch.randint(0, tok.vocab_size, (2, 8))
    model(x).sum().backward()
    opt.step()
    return model, opt, tok


def state(model) -> dict:
    return {"graph": model.graph, "config": TrainConfig().to_json(), "history": [{"kind": "train", "step": 1}]}


def test_round_trip_is_exact_and_keeps_weights_tied(tmp_path, parts):
    model, opt, tok = parts
    rng = np.random.default_rng(7)
    rng.integers(0, 100, 5)
    torch.manual_seed(3)
    saved_rng = ckpt.rng_state(rng, torch.device("cpu"))
    expected_np, expected_torch = rng.integers(0, 10**9, 4), torch.rand(3)  # what comes next
    path = ckpt.save(tmp_path, 12, model, opt, {**state(model), "rng": saved_rng}, tok)
    assert path.name == "step-000012"
    assert json.loads((tmp_path / "latest.json").read_text()) == {"checkpoint": "step-000012", "step": 12}

    loaded = ckpt.LoadedCheckpoint(tmp_path)
    assert loaded.step == 12 and loaded.state["history"] == [{"kind": "train", "step": 1}]
    clone = loaded.build_model()
    for (n, a), (_, b) in zip(model.state_dict().items(), clone.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=n)
    assert clone.lm_head.weight is clone.tok_emb.weight  # tied weights stay one tensor
    opt2 = make_optimizer(clone, TrainConfig(), torch.device("cpu"))
    opt2.load_state_dict(loaded.optimizer_state())
    for a, b in zip(opt.state.values(), opt2.state.values()):
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert loaded.tokenizer().encode("cafe") == tok.encode("cafe")

    # random states: what comes next is the same after a restore
    other = np.random.default_rng(0)
    torch.manual_seed(99)
    ckpt.restore_rng_state(loaded.state["rng"], other, torch.device("cpu"))
    assert (other.integers(0, 10**9, 4) == expected_np).all()
    torch.testing.assert_close(torch.rand(3), expected_torch, rtol=0, atol=0)


def test_latest_points_at_newest_and_old_ones_are_pruned(tmp_path, parts):
    model, opt, tok = parts
    for step in (1, 2, 3, 4):
        ckpt.save(tmp_path, step, model, opt, state(model), tok, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-000003", "step-000004"]
    assert ckpt.resolve(tmp_path).name == "step-000004"
    assert not list(tmp_path.glob(".tmp-*"))


def test_damaged_or_half_written_checkpoints_are_skipped(tmp_path, parts):
    model, opt, tok = parts
    ckpt.save(tmp_path, 5, model, opt, state(model), tok)
    # a crash mid-write leaves a temp folder and maybe a folder without state.json; latest.json may be stale
    (tmp_path / ".tmp-step-000009-123").mkdir()
    (tmp_path / "step-000009").mkdir()
    (tmp_path / "step-000009" / "model.safetensors").write_bytes(b"half")
    (tmp_path / "latest.json").write_text('{"checkpoint": "step-000009", "step": 9}')
    assert ckpt.resolve(tmp_path).name == "step-000005"
    (tmp_path / "latest.json").write_text("{not json")
    assert ckpt.LoadedCheckpoint(tmp_path).step == 5


def test_a_state_with_nan_is_never_written(tmp_path, parts):
    model, opt, tok = parts
    with pytest.raises(ValueError):
        ckpt.save(tmp_path, 3, model, opt, {**state(model), "history": [{"loss": float("nan")}]}, tok)
    assert not list(tmp_path.glob("step-*")) and not (tmp_path / "latest.json").exists()


def test_resaving_a_step_keeps_the_existing_checkpoint(tmp_path, parts):
    model, opt, tok = parts
    first = ckpt.save(tmp_path, 7, model, opt, state(model), tok)
    mtime = (first / "model.safetensors").stat().st_mtime_ns
    again = ckpt.save(tmp_path, 7, model, opt, state(model), tok)
    assert again == first and (first / "model.safetensors").stat().st_mtime_ns == mtime


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.resolve(tmp_path)
    with pytest.raises(FileNotFoundError):
        ckpt.resolve(tmp_path / "missing")
    (tmp_path / "state.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a slamdunk_lab checkpoint"):
        ckpt.LoadedCheckpoint(tmp_path)
