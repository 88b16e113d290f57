"""Checkpoints: atomic layout, exact round trips of weights, optimizer and random states, damage tolerance."""

from __future__ import annotations

import json
import os
import pickle
import shutil

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
    return {"graph": model.graph, "config": TrainConfig().to_json(), "history": [{"kind": "train", "step": 1}],
            "rng": ckpt.rng_state(np.random.default_rng(0), torch.device("cpu"))}


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


# ------------------------------------------------------------------ untrusted files on disk
def test_latest_json_and_step_links_never_lead_outside_the_run_folder(tmp_path, parts):
    model, opt, tok = parts
    run = tmp_path / "run"
    ckpt.save(run, 4, model, opt, state(model), tok)
    outside = tmp_path / "outside"
    shutil.copytree(run / "step-000004", outside / "evil")
    for target in ("../outside/evil", str(outside / "evil")):
        (run / "latest.json").write_text(json.dumps({"checkpoint": target, "step": 9}))
        assert ckpt.resolve(run) == run / "step-000004"  # damaged latest.json: the newest folder inside
        assert ckpt.LoadedCheckpoint(run).path == run / "step-000004"
    # a step-* entry whose real path is outside is never followed, even when it is the newest
    (run / "latest.json").unlink()
    os.symlink(outside / "evil", run / "step-000009")
    assert ckpt.resolve(run) == run / "step-000004"
    (run / "latest.json").write_text(json.dumps({"checkpoint": "step-000009", "step": 9}))
    assert ckpt.resolve(run) == run / "step-000004"
    # saving a step whose name is such a link writes a real folder and leaves the target alone
    before = sorted(p.name for p in (outside / "evil").iterdir())
    written = ckpt.save(run, 9, model, opt, state(model), tok, keep=1)
    assert not written.is_symlink() and written.resolve().parent == run.resolve()
    assert ckpt.resolve(run) == run / "step-000009"
    # pruning never deletes through a link
    os.symlink(outside, run / "step-000001")
    ckpt.save(run, 10, model, opt, state(model), tok, keep=1)
    assert sorted(p.name for p in (outside / "evil").iterdir()) == before


def _state_cases(good: dict) -> dict:
    drop = lambda key: {k: v for k, v in good.items() if k != key}
    return {"truncated": (json.dumps(good)[:40], "not valid JSON"),
            "empty": ("", "not valid JSON"),
            "a list": ("[]", "holds an array"),
            "format_version a string": (json.dumps({**good, "format_version": "2"}), "'format_version'"),
            "step a string": (json.dumps({**good, "step": "4"}), "'step'"),
            "no config": (json.dumps(drop("config")), "'config' is missing"),
            "no graph": (json.dumps(drop("graph")), "'graph' is missing"),
            "graph a list": (json.dumps({**good, "graph": []}), "'graph' must be a JSON object"),
            "no rng": (json.dumps(drop("rng")), "'rng' is missing"),
            "graph not a design": (json.dumps({**good, "graph": {"nodes": 3}}), "'graph' is not a valid design")}


def test_a_damaged_state_json_is_reported_naming_the_file_and_the_field(tmp_path, parts):
    model, opt, tok = parts
    folder = ckpt.save(tmp_path, 4, model, opt, state(model), tok)
    good = json.loads((folder / "state.json").read_text())
    for name, (text, field) in _state_cases(good).items():
        (folder / "state.json").write_text(text)
        with pytest.raises(sd.ModelFileError) as info:
            ckpt.LoadedCheckpoint(folder).build_model()
        assert str(folder / "state.json") in str(info.value) and field in str(info.value), name


def test_a_damaged_newest_state_json_never_hides_an_older_good_checkpoint(tmp_path, parts):
    model, opt, tok = parts
    ckpt.save(tmp_path, 2, model, opt, state(model), tok)
    newest = ckpt.save(tmp_path, 4, model, opt, state(model), tok)
    good = json.loads((newest / "state.json").read_text())
    for name, (text, _) in _state_cases(good).items():
        if name == "graph not a design":  # only the JSON is read to choose: the design is checked on load
            continue
        (newest / "state.json").write_text(text)
        assert ckpt.resolve(tmp_path).name == "step-000002", name
        assert ckpt.LoadedCheckpoint(tmp_path).step == 2, name
    # when no checkpoint is valid, loading reports what is wrong with the newest one
    shutil.rmtree(tmp_path / "step-000002")
    with pytest.raises(sd.ModelFileError, match="state.json is damaged"):
        ckpt.LoadedCheckpoint(tmp_path)


def test_the_weights_header_is_checked_against_the_graph_before_anything_is_allocated(tmp_path, parts,
                                                                                   monkeypatch):
    model, opt, tok = parts
    folder = ckpt.save(tmp_path, 4, model, opt, state(model), tok)
    # a tampered graph (a 1.5 GB design) must fail on the header, having built on the meta device only
    st = json.loads((folder / "state.json").read_text())
    st["graph"] = sd.template("gpt2", size="tiny", n_layer=2, d_model=4096, n_head=2, context=16,
                              vocab_size=40000)
    (folder / "state.json").write_text(json.dumps(st))
    import slamdunk_lab.model as model_module

    devices, real_build = [], model_module.build

    def spy_build(graph, device=None, **kw):
        devices.append(str(device))
        return real_build(graph, device=device, **kw)

    monkeypatch.setattr(model_module, "build", spy_build)
    with pytest.raises(sd.ModelFileError, match=r"model\.safetensors does not match the graph in .*state\.json: "
                                                r"tensor '[^']+' has shape") as info:
        ckpt.LoadedCheckpoint(folder).build_model()
    assert str(folder / "model.safetensors") in str(info.value) and devices == ["meta"]
    monkeypatch.undo()

    # the weights of another design, a wrong dtype, a missing or an extra tensor: the tensor is named
    st["graph"] = model.graph
    (folder / "state.json").write_text(json.dumps(st))
    from safetensors.torch import save_file

    tensors = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "tok_emb.weight"}
    for change, message in [(lambda t: t.update({"ln_f.weight": torch.zeros(3)}), "tensor 'ln_f.weight' has shape"),
                            (lambda t: t.update({"ln_f.bias": t["ln_f.bias"].double()}), "'ln_f.bias' is F64"),
                            (lambda t: t.pop("pos_emb.weight"), "'pos_emb.weight' is missing"),
                            (lambda t: t.update({"extra": torch.zeros(2)}), "'extra' is not part of the design")]:
        bad = dict(tensors)
        change(bad)
        save_file(bad, str(folder / "model.safetensors"))
        with pytest.raises(sd.ModelFileError, match=message):
            ckpt.LoadedCheckpoint(folder).build_model()
        with pytest.raises(sd.ModelFileError, match=message):  # and on resume, into an existing model
            ckpt.LoadedCheckpoint(folder).load_weights(model)
    save_file(tensors, str(folder / "model.safetensors"))
    ckpt.LoadedCheckpoint(folder).build_model()  # tied weights stored under one name: fine


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickled_optimizer_file_is_refused_and_never_run(tmp_path, parts):
    model, opt, tok = parts
    folder = ckpt.save(tmp_path, 4, model, opt, state(model), tok)
    marker = tmp_path / "payload-ran"
    for write in (lambda f: f.write_bytes(pickle.dumps({"state": {}, "param_groups": _Payload(str(marker))}, protocol=2)),
                  lambda f: torch.save({"state": {}, "param_groups": _Payload(str(marker))}, f)):
        write(folder / "optimizer.pt")
        with pytest.raises(sd.ModelFileError) as info:
            ckpt.LoadedCheckpoint(folder).optimizer_state()
        assert str(info.value) == (f"{folder / 'optimizer.pt'} is not a plain tensor file written by slamdunk_lab; "
                                   f"refused to unpickle it (weights_only=True)")
        assert info.value.__suppress_context__  # torch's message (which suggests weights_only=False) is not shown
        assert not marker.exists()
