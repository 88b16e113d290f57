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
from helpers import tiny_gpt2 as tiny

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


def artifacts(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= artifacts(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def logged_model(client, run_id: str):
    """The MLflow logged model a run produced (its output)."""
    outputs = client.get_run(run_id).outputs.model_outputs
    assert len(outputs) == 1
    return client.get_logged_model(outputs[0].model_id)


def local_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


def logged_model_files(client, run_id: str) -> set[str]:
    root = local_path(logged_model(client, run_id).artifact_location)
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


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
    assert {"graph.json", "model.py", "samples.txt"} <= artifacts(store, run.mlflow_run_id)
    model_files = logged_model_files(store, run.mlflow_run_id)
    assert {"MLmodel", "mlflow_model.py", "artifacts/slamdunk_model/model.safetensors",
            "artifacts/slamdunk_model/slamdunk.json",
            "artifacts/slamdunk_model/tokenizer/tokenizer.json"} <= model_files

    table = runs()
    row = table[table.run_id == run.mlflow_run_id].iloc[0]
    assert row["status"] == "finished" and row["experiment"] == "adder" and row["steps"] == 10
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
    assert row["status"] == "stopped"  # MLflow says KILLED; this library says what happened

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
    from safetensors.torch import load_file, save_file

    run = train(tiny(tok), corpus, tok, steps=2, name="adder", **FAST)
    shutil.rmtree(run.checkpoint_dir)
    root = local_path(logged_model(store, run.mlflow_run_id).artifact_location)
    weights = os.path.join(root, "artifacts", "slamdunk_model", "model.safetensors")
    tensors = load_file(weights)
    save_file({k: v for k, v in tensors.items() if ".attn." not in k}, weights)
    with pytest.raises(sd.ModelFileError, match="missing tensor"):
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


# ------------------------------------------------------------------ MLflow-native (#9 item 2)
PREDICT = """
import json, sys
import mlflow
import numpy as np
model = mlflow.pyfunc.load_model(sys.argv[1])
text = model.predict(["12+3="], params={"max_new_tokens": 6, "seed": 3})
logits = model.predict(["12+3="], params={"output": "logits"})
print(json.dumps({"text": text["text"].tolist(), "logits": np.asarray(logits).tolist(),
                  "batch": model.predict(["1+1=", "2+2="], params={"max_new_tokens": 2})["text"].tolist()}))
"""


def test_the_run_logs_an_mlflow_model_that_loads_without_unpickling(store, corpus, tok, tmp_path):
    """`mlflow.pyfunc.load_model("runs:/<id>/model")` in a fresh process where MLflow refuses to unpickle:
    it generates the text the trained model generates, and returns its logits."""
    import json

    import yaml

    run = train(tiny(tok), corpus, tok, steps=5, **FAST)
    files = logged_model_files(store, run.mlflow_run_id)
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".pt", ".bin"))], files
    root = local_path(logged_model(store, run.mlflow_run_id).artifact_location)
    with open(os.path.join(root, "MLmodel")) as f:
        mlmodel = yaml.safe_load(f)
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["model_code_path"].endswith("mlflow_model.py") and "python_model" not in pyfunc
    assert {p["name"] for p in json.loads(mlmodel["signature"]["params"])} >= {"max_new_tokens", "output"}
    assert "input_example.json" in files and "serving_input_example.json" in files

    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
    out = subprocess.run([sys.executable, "-c", PREDICT, f"runs:/{run.mlflow_run_id}/model"], env=env, check=False,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    run.model.eval()
    assert got["text"] == [sd.generate(run.model, tok, "12+3=", max_new_tokens=6, temperature=0.8, top_k=40,
                                       top_p=0.95, seed=3)]
    with torch.no_grad():
        expected = run.model(torch.tensor([tok.encode("12+3=")]))[0, -1]
    torch.testing.assert_close(torch.tensor(got["logits"][0]), expected)
    assert len(got["batch"]) == 2


def test_the_users_experiment_and_active_run_are_respected(store, corpus, tok):
    """mlflow.set_experiment picks the experiment; inside mlflow.start_run() our run is its nested child."""
    from mlflow.tracking import fluent

    try:
        mlflow.set_experiment("course-week-3")
        alone = train(tiny(tok), corpus, tok, steps=2, **FAST)
        with mlflow.start_run(run_name="sweep") as parent:
            child = train(tiny(tok), corpus, tok, steps=2, tags={"student": "kim"}, **FAST)
        assert mlflow.active_run() is None
    finally:
        fluent._active_experiment_id = None
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    week3 = store.get_experiment_by_name("course-week-3").experiment_id
    a, c = store.get_run(alone.mlflow_run_id), store.get_run(child.mlflow_run_id)
    assert a.info.experiment_id == week3 and "mlflow.parentRunId" not in a.data.tags
    assert c.info.experiment_id == week3 and c.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert c.data.tags["student"] == "kim"
    assert a.info.status == c.info.status == "FINISHED"
    # without a chosen experiment it goes back to one per design
    later = train(tiny(tok), corpus, tok, steps=1, name="adder", **FAST)
    assert store.get_experiment(store.get_run(later.mlflow_run_id).info.experiment_id).name == "adder"


def test_device_dataset_source_and_tags_are_logged(store, corpus, tok, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/student/week3.ipynb")
    run = train(tiny(tok), corpus, tok, steps=2, device="auto", tags={"course": "nlp101"}, **FAST)
    r = store.get_run(run.mlflow_run_id)
    assert r.data.params["device"] == "cpu" and r.data.params["device_requested"] == "auto"
    tags = r.data.tags
    assert tags["course"] == "nlp101" and tags["mlflow.user"]
    assert tags["mlflow.source.name"] == "/home/student/week3.ipynb" and tags["mlflow.source.type"] == "NOTEBOOK"
    (inp,) = r.inputs.dataset_inputs
    assert inp.dataset.name == corpus.name and inp.dataset.digest == corpus.fingerprint()[:36]
    assert {t.key: t.value for t in inp.tags} == {"mlflow.data.context": "training"}
    with pytest.raises(ValueError, match="reserved"):
        train(tiny(tok), corpus, tok, steps=1, tags={"mlflow.user": "x"}, **FAST)


def test_system_metrics_are_logged_when_asked(store, corpus, tok, monkeypatch):
    import time

    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")

    def slow(step, loss):
        time.sleep(0.1)
        return loss

    off = train(tiny(tok), corpus, tok, steps=12, _hooks={"loss": slow}, **FAST)
    on = train(tiny(tok), corpus, tok, steps=12, system_metrics=True, _hooks={"loss": slow}, **FAST)
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    by_env = train(tiny(tok), corpus, tok, steps=12, _hooks={"loss": slow}, **FAST)
    for run, wanted in ((off, False), (on, True), (by_env, True)):
        keys = store.get_run(run.mlflow_run_id).data.metrics
        assert any(k.startswith("system/cpu") for k in keys) == wanted, (wanted, sorted(keys))
