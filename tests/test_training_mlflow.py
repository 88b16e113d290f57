"""MLflow tracking of training runs against a real sqlite store: params, metrics, artifacts, statuses,
stale runs of dead kernels, ``runs()`` and ``load_run``."""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from helpers import isolate_training

mlflow = pytest.importorskip("mlflow")

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.session import load_run, runs, train
from slamdunk_lab.training import Step, tracking

# MLflow 3.17 itself triggers this SQLAlchemy 2.1 deprecation when it opens a store
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")

FAST = {"batch_size": 8, "context": 32, "warmup": 2, "eval_every": 5, "eval_batches": 2, "sample_every": 5, "checkpoint_every": 0,
            "progress": False}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite store for the module (creating the schema takes a few seconds)."""
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        isolate_training(mp, root, mlflow=True)
        yield tracking.client()


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@pytest.fixture(scope="module")
def corpus():
    return data.synthetic("arithmetic", n=500, seed=1)


@pytest.fixture(scope="module")
def tok(corpus):
    return tokenizers.char(corpus)


def tiny(tok):
    return sd.template("gpt2", size="tiny", n_layer=2, d_model=32, n_head=2, context=32, vocab_size=tok.vocab_size)


def artifacts(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= artifacts(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def test_finished_run_logs_params_metrics_artifacts_and_loads_back(store, corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=10, name="adder", **FAST)
    assert run.status == "finished" and run.mlflow_run_id
    r = store.get_run(run.mlflow_run_id)
    assert r.info.status == "FINISHED"
    assert store.get_experiment(r.info.experiment_id).name == "adder"
    p = r.data.params
    assert p["lr"] == "0.001" and p["steps"] == "10" and p["layers"] == "2" and p["heads"] == "2"
    assert p["width"] == "32" and p["family"] == "gpt2" and int(p["parameters"]) == sd.analyze(tiny(tok)).params
    assert len(p["graph_hash"]) == 16
    losses = store.get_metric_history(run.mlflow_run_id, "loss")
    assert sorted(m.step for m in losses) == list(range(1, 11))
    logged = {m.step: m.value for m in losses}
    assert logged == {h["step"]: pytest.approx(h["loss"]) for h in run.history if h["kind"] == "train"}
    assert [m.step for m in store.get_metric_history(run.mlflow_run_id, "val_loss")] == [5, 10]
    files = artifacts(store, run.mlflow_run_id)
    assert {"graph.json", "model.py", "samples.txt", "model/model.safetensors",
            "model/tokenizer/tokenizer.json"} <= files

    table = runs()
    row = table[table.run_id == run.mlflow_run_id].iloc[0]
    assert row["status"] == "FINISHED" and row["experiment"] == "adder" and row["steps"] == 10
    assert row["val_loss"] == pytest.approx(run.history[-2]["val_loss"] if run.history[-1]["kind"] == "sample"
                                            else run.history[-1]["val_loss"])

    x = torch.tensor([tok.encode("12+3=15")])
    run.model.eval()
    model, tok2 = load_run(run.mlflow_run_id)
    torch.testing.assert_close(model(x), run.model(x), rtol=0, atol=0)
    # with the checkpoint folder gone, the logged model is downloaded instead
    shutil.rmtree(run.checkpoint_dir)
    model, tok2 = load_run(run.mlflow_run_id)
    torch.testing.assert_close(model(x), run.model(x), rtol=0, atol=0)
    assert tok2.encode("9-4=5") == tok.encode("9-4=5")


def test_stopped_run_is_killed_and_failed_run_is_failed(store, corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=500, background=True, **FAST)
    run.subscribe(lambda e: run.stop() if isinstance(e, Step) else None)
    run.wait(60)
    assert run.status == "stopped"
    assert store.get_run(run.mlflow_run_id).info.status == "KILLED"
    row = runs().set_index("run_id").loc[run.mlflow_run_id]
    assert row["step"] == run.step < row["steps"] == 500  # how far it got, and what was planned

    def poison(step, loss):
        return loss * float("nan") if step == 3 else loss

    bad = train(tiny(tok), corpus, tok, steps=10, _hooks={"loss": poison}, **FAST)
    assert bad.status == "failed"
    r = store.get_run(bad.mlflow_run_id)
    assert r.info.status == "FAILED" and "step 3" in r.data.tags["slamdunk.error"]


def test_runs_of_a_dead_kernel_are_marked_killed(store, corpus, tok):
    exp = store.get_experiment_by_name("adder") or store.get_experiment(store.create_experiment("adder"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    common = {tracking.LIBRARY_TAG: "0.1.0", tracking.OWNER_HOST: host}
    stale = store.create_run(exp.experiment_id, run_name="crashed",
                             tags={**common, tracking.OWNER_PID: str(dead.pid), tracking.OWNER_START: "1"})
    alive = store.create_run(exp.experiment_id, run_name="other-kernel",
                             tags={**common, tracking.OWNER_PID: str(os.getppid()),
                                   tracking.OWNER_START: tracking._process_start(os.getppid())})
    elsewhere = store.create_run(exp.experiment_id, run_name="other-host",
                                 tags={**common, tracking.OWNER_HOST: host + "-x", tracking.OWNER_PID: "1"})
    foreign = store.create_run(exp.experiment_id, run_name="not-ours", tags={tracking.OWNER_HOST: host,
                                                                              tracking.OWNER_PID: str(dead.pid)})
    run = train(tiny(tok), corpus, tok, steps=2, name="adder", **{**FAST, "sample_every": 0, "eval_every": 0})
    assert run.status == "finished"
    status = {r.info.run_id: store.get_run(r.info.run_id).info.status for r in (stale, alive, elsewhere, foreign)}
    assert status == {stale.info.run_id: "KILLED", alive.info.run_id: "RUNNING",
                      elsewhere.info.run_id: "RUNNING", foreign.info.run_id: "RUNNING"}
    for r in (alive, elsewhere, foreign):
        store.set_terminated(r.info.run_id, "FINISHED")


def test_mlflow_switches(store, corpus, tok):
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS

    off = train(tiny(tok), corpus, tok, steps=2, mlflow=False, **FAST)
    assert off.status == "finished" and off.mlflow_run_id is None
    saved = copy.deepcopy(dict(AUTOLOGGING_INTEGRATIONS))
    try:
        mlflow.autolog(disable=True)
        assert train(tiny(tok), corpus, tok, steps=2, **FAST).mlflow_run_id is None
        forced = train(tiny(tok), corpus, tok, steps=2, mlflow=True, **FAST)
        assert forced.mlflow_run_id and store.get_run(forced.mlflow_run_id).info.status == "FINISHED"
    finally:
        AUTOLOGGING_INTEGRATIONS.clear()
        AUTOLOGGING_INTEGRATIONS.update(saved)
    assert train(tiny(tok), corpus, tok, steps=2, **FAST).mlflow_run_id is not None


def test_runs_without_a_store_is_empty_and_creates_nothing(store, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    table = runs()
    assert table.empty and "val_loss" in table.columns
    assert not (tmp_path / "mlflow.db").exists()


def test_a_run_of_this_process_being_set_up_is_never_marked_killed(store):
    """Between MLflow's create_run and the run joining the queue's active list, another run starting (or
    sd.runs()) looks for stale runs: a run this process is still setting up must stay RUNNING."""
    tracker = tracking.Tracker("setting-up", "slow-start", {"steps": 1}, {tracking.LIBRARY_TAG: "0.1.0"},
                               active_ids=set())
    try:
        assert tracking.kill_stale_runs(store, active_ids=set()) == []
        assert store.get_run(tracker.run_id).info.status == "RUNNING"
    finally:
        tracker.end("FINISHED")
    # once ended it is no longer protected (a RUNNING leftover of this process would be stale)
    assert store.get_run(tracker.run_id).info.status == "FINISHED"


def test_load_run_names_a_mistyped_folder_and_creates_no_store(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    with pytest.raises(ValueError, match="no checkpoint folder at 'runs/adder/typo'"):
        load_run("runs/adder/typo")
    with pytest.raises(ValueError, match="no tracking store"):
        load_run("0123456789abcdef0123456789abcdef")
    assert not (tmp_path / "elsewhere.db").exists()


def test_logged_weights_that_do_not_match_the_design_are_refused(store, corpus, tok):
    """With the checkpoint folder gone, load_run falls back to the logged model: a file with tensors missing
    must be an error, never a model that is silently part random."""
    from urllib.parse import unquote, urlparse

    from safetensors.torch import load_file, save_file

    run = train(tiny(tok), corpus, tok, steps=2, name="adder", **FAST)
    shutil.rmtree(run.checkpoint_dir)
    uri = store.get_run(run.mlflow_run_id).info.artifact_uri
    weights = os.path.join(unquote(urlparse(uri).path), "model", "model.safetensors")
    tensors = load_file(weights)
    save_file({k: v for k, v in tensors.items() if ".attn." not in k}, weights)
    with pytest.raises(sd.ModelFileError, match="is missing"):
        load_run(run.mlflow_run_id)


def test_load_run_of_a_path_that_does_not_exist_says_so(tmp_path):
    from pathlib import Path

    with pytest.raises(FileNotFoundError, match="no checkpoint folder at"):
        load_run(Path(tmp_path / "gone"))


def test_a_very_long_design_name_is_still_tracked(store, corpus, tok):
    long = "an experiment about " + "attention " * 80
    run = train(tiny(tok), corpus, tok, steps=1, name=long, **FAST)
    assert run.status == "finished" and run.mlflow_run_id
    experiment = store.get_experiment(store.get_run(run.mlflow_run_id).info.experiment_id).name
    assert len(experiment) == 250 and experiment.startswith("an experiment about attention")
