"""dtype="auto" (#14): the rule decides from the machine record deterministically, the choice and its reason reach
the run's events, its checkpoint, the monitor and MLflow, runs resume exactly in float32 and in auto (with the
recorded choice), and MFU is FLOPs per token × tokens/s ÷ the machine's peak. No timing is asserted."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from helpers import QUIET_RUN, isolate_training, tiny_gpt2

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab._files import safe_name
from slamdunk_lab.session import resume, train
from slamdunk_lab.training import Started, Step
from slamdunk_lab.training import precision as prec
from slamdunk_lab.training.spec import design_summary

FAST = {**QUIET_RUN, "device": "cpu"}
PEAKS = {"float32": 1.0e11, "bfloat16": 4.0e11}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path, one_torch_thread):
    isolate_training(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def corpus():
    return data.synthetic("reverse", n=600, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return tokenizers.char(corpus)


def tiny(tok, **over):
    return tiny_gpt2(tok, **{"dropout": 0.1, **over})


def key_of(graph, batch_size=8, context=32):
    analysis = sd.analyze(graph)
    return prec.probe_key(design_summary(analysis, analysis.graph)["graph_hash"], batch_size, context,
                          torch.device("cpu"), False)


def machine(monkeypatch, tmp_path, graph, float32_s, bfloat16_s, name="record.json"):
    """A machine record that says how fast this design's step is in each precision."""
    path = prec.record_for_tests(tmp_path / name, key_of(graph), float32_s, bfloat16_s, PEAKS)
    monkeypatch.setenv(prec.RECORD_ENV, str(path))
    return path


def started(run) -> Started:
    return next(e for e in run.events if isinstance(e, Started))


def losses(run) -> list[float]:
    return [h["loss"] for h in run.history if h["kind"] == "train"]


def test_the_rule_is_deterministic_for_a_record_and_has_a_margin():
    fast = {"float32_s": 0.30, "bfloat16_s": 0.18, "speedup": 0.30 / 0.18}
    assert prec.decide(fast) == prec.decide(dict(fast))
    assert prec.decide(fast).dtype == "bfloat16" and "1.67× faster" in prec.decide(fast).reason
    # 5% faster is inside the margin: not worth bfloat16's rounding
    close = {"float32_s": 0.105, "bfloat16_s": 0.100, "speedup": 1.05}
    assert prec.decide(close).dtype == "float32" and "not at least 10% faster" in prec.decide(close).reason
    assert prec.decide({"float32_s": 0.1, "bfloat16_s": 0.2}).dtype == "float32"
    assert prec.decide(None).dtype == "float32"
    assert prec.decide({"float32_s": None, "bfloat16_s": None, "error": "bfloat16 autocast failed here (x)"}).reason \
        == "float32: bfloat16 autocast failed here (x)"
    assert prec.decide(fast, requested="float32") == prec.Choice("float32", "float32, as asked", "float32")


def test_the_probe_interleaves_and_takes_medians_of_paired_ratios():
    calls = []

    def step(dtype):
        calls.append(dtype)

    result = prec.probe(step, rounds=4)
    assert calls == ["bfloat16", "float32"] + ["float32", "bfloat16", "bfloat16", "float32"] * 2
    assert set(result) >= {"float32_s", "bfloat16_s", "speedup", "rounds", "load_average"}
    assert result["rounds"] == 4 and len(result["float32_all"]) == len(result["bfloat16_all"]) == 4


def test_auto_follows_the_machine_record_and_says_why(monkeypatch, tmp_path, corpus, tok):
    g = tiny(tok)
    machine(monkeypatch, tmp_path, g, float32_s=0.020, bfloat16_s=0.010)
    fast = train(g, corpus, tok, steps=3, **FAST)
    st = started(fast)
    assert st.dtype == "bfloat16" and st.precision["requested"] == "auto"
    assert "bfloat16 autocast, 2.00× faster" in st.precision["reason"] and st.config["dtype"] == "auto"
    assert st.peak_flops == PEAKS["bfloat16"]

    machine(monkeypatch, tmp_path, g, float32_s=0.010, bfloat16_s=0.020, name="slow.json")
    slow = started(train(g, corpus, tok, steps=3, **FAST))
    assert slow.dtype == "float32" and slow.precision["reason"].startswith("float32: bfloat16 autocast was not")
    assert slow.peak_flops == PEAKS["float32"]
    # the same record and design always give the same choice
    assert started(train(g, corpus, tok, steps=1, **FAST)).precision == slow.precision
    # asked for explicitly: no probe, today's behaviour
    asked = started(train(g, corpus, tok, steps=1, dtype="float32", **FAST))
    assert asked.dtype == "float32" and asked.precision["reason"] == "float32, as asked"


def test_a_probe_is_measured_once_and_recorded_under_the_per_user_cache(monkeypatch, tmp_path, corpus, tok):
    monkeypatch.delenv(prec.RECORD_ENV, raising=False)
    g = tiny(tok, dropout=0.0)
    run = train(g, corpus, tok, steps=2, **FAST)
    path = prec.record_path(torch.device("cpu"))
    assert path.parent == tmp_path / "cache" / "machine" and path.name == safe_name(path.name)
    record = json.loads(path.read_text())
    probe = record["probes"][key_of(g)]
    assert probe["rounds"] >= 3 and probe["float32_s"] > 0 and probe["bfloat16_s"] > 0
    assert started(run).precision == prec.decide(probe).to_json()
    assert record["peak_flops"][started(run).dtype] == started(run).peak_flops > 0
    # the probe leaves the run alone: the same losses as a run with the choice made beforehand
    same = train(g, corpus, tok, steps=2, **{**FAST, "dtype": started(run).dtype})
    assert losses(same) == losses(run)


def run_with_stop(g, corpus, tok, steps, stop_at, **kw):
    holder: list = []
    ready = threading.Event()

    def stop(step, loss):
        ready.wait(30)
        if step == stop_at:
            holder[0].stop()
        return loss

    run = train(g, corpus, tok, steps=steps, background=True, _hooks={"loss": stop}, **kw)
    holder.append(run)
    ready.set()
    run.wait(120)
    assert run.status == "stopped" and run.step == stop_at, run.error
    return run


@pytest.mark.parametrize("dtype", ["float32", "auto"])
def test_float32_and_auto_runs_resume_exactly(monkeypatch, tmp_path, corpus, tok, dtype):
    g = tiny(tok)
    machine(monkeypatch, tmp_path, g, float32_s=0.020, bfloat16_s=0.010)  # auto: bfloat16 here
    kw = {**FAST, "dtype": dtype}
    full = train(g, corpus, tok, steps=12, **kw)
    stopped = run_with_stop(g, corpus, tok, 12, 5, **kw)
    # the machine changed its mind meanwhile: a resumed auto run still uses the choice it recorded
    machine(monkeypatch, tmp_path, g, float32_s=0.010, bfloat16_s=0.020, name="changed.json")
    rest = resume(stopped.checkpoint_dir, mlflow=False, progress=False)
    assert rest.status == "finished" and rest.step == 12
    assert started(rest).dtype == started(full).dtype == ("bfloat16" if dtype == "auto" else "float32")
    if dtype == "auto":
        assert "recorded in the checkpoint" in started(rest).precision["reason"]
    assert losses(rest) == losses(full)
    for a, b in zip(rest.model.parameters(), full.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_mfu_is_flops_per_token_times_tokens_per_s_over_the_peak(monkeypatch, tmp_path, corpus, tok):
    g = tiny(tok)
    machine(monkeypatch, tmp_path, g, float32_s=0.010, bfloat16_s=0.020)
    run = train(g, corpus, tok, steps=20, **FAST)
    st = started(run)
    assert st.flops_per_token == sd.analyze(g).train_flops_per_token > 0
    steps = [e for e in run.events if isinstance(e, Step) and e.tokens_per_s > 0]
    assert steps
    for e in steps:
        assert e.mfu == pytest.approx(st.flops_per_token * e.tokens_per_s / PEAKS["float32"], rel=1e-12)
    assert prec.mfu(6e6, 1000.0, 1e11) == pytest.approx(0.06)


def test_the_monitor_shows_the_choice_and_mfu(monkeypatch, tmp_path, corpus, tok):
    from slamdunk_lab.widgets import Monitor

    g = tiny(tok)
    machine(monkeypatch, tmp_path, g, float32_s=0.020, bfloat16_s=0.010)
    run = train(g, corpus, tok, steps=20, **FAST)
    mon = Monitor()
    for e in run.events:
        mon._on_run_event(e)
    mon.flush()
    st = started(run)
    assert (mon.precision, mon.precision_requested) == ("bfloat16", "auto")
    assert mon.precision_reason == st.precision["reason"] and mon.peak_flops == PEAKS["bfloat16"]
    last = [e for e in run.events if isinstance(e, Step)][-1]
    assert mon.mfu == pytest.approx(last.mfu) and mon.mfu > 0


def test_mlflow_records_the_choice_and_mfu(monkeypatch, tmp_path, corpus, tok):
    pytest.importorskip("mlflow")
    from slamdunk_lab.training import tracking

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    g = tiny(tok)
    machine(monkeypatch, tmp_path, g, float32_s=0.020, bfloat16_s=0.010)
    run = train(g, corpus, tok, steps=20, **{**FAST, "mlflow": True})
    client = tracking.client()
    r = client.get_run(run.mlflow_run_id)
    assert r.data.params["dtype"] == "auto" and r.data.params["precision"] == "bfloat16"
    assert r.data.params["precision_reason"] == started(run).precision["reason"]
    assert float(r.data.params["peak_flops"]) == PEAKS["bfloat16"]
    logged = {m.step: m.value for m in client.get_metric_history(run.mlflow_run_id, "mfu")}
    sent = {e.step: e.mfu for e in run.events if isinstance(e, Step) and e.mfu}
    assert logged and logged == pytest.approx(sent)


def test_a_bad_dtype_names_the_choices(corpus, tok):
    with pytest.raises(ValueError, match="choose 'auto'"):
        train(tiny(tok), corpus, tok, steps=1, dtype="fp8", **FAST)
