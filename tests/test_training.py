"""Training in the kernel: blocking and background runs, stop and exact resume, failures, events, the queue."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import QUIET_RUN as FAST
from helpers import isolate_training
from helpers import tiny_gpt2 as tiny

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.session import load_run, resume, train
from slamdunk_lab.training import (
    Checkpoint,
    Eval,
    Failed,
    Finished,
    Sample,
    Started,
    Step,
    Stopped,
    event_from_json,
    lr_at,
)
from slamdunk_lab.training import checkpoint as ckpt
from slamdunk_lab.training.trainer import param_groups
from slamdunk_lab.widgets.kernel import interactive_kernel


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path, one_torch_thread):
    isolate_training(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def corpus():
    return data.synthetic("reverse", n=600, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return tokenizers.char(corpus)


def train_losses(run) -> list[float]:
    return [h["loss"] for h in run.history if h["kind"] == "train"]


# ------------------------------------------------------------------ blocking run
def test_blocking_run_learns_and_reports_everything(tmp_path):
    text = data.text("the cat sat on the mat. " * 200)
    tok = tokenizers.char(text)
    run = train(tiny(tok), text, tok, steps=60, batch_size=8, context=32, lr=1e-2, warmup=5, eval_every=30,
                eval_batches=4, sample_every=60, checkpoint_every=30, sample_prompt="the ", mlflow=False,
                progress=False)
    assert run.status == "finished" and run.error is None
    losses = train_losses(run)
    assert [h["step"] for h in run.history if h["kind"] == "train"] == list(range(1, 61))
    assert np.mean(losses[-10:]) < np.mean(losses[:5]) - 1.0  # a phrase repeated 200 times is easy to learn
    evals = [h for h in run.history if h["kind"] == "eval"]
    assert [e["step"] for e in evals] == [30, 60] and evals[-1]["val_loss"] < math.log(tok.vocab_size) - 1
    samples = [h for h in run.history if h["kind"] == "sample"]
    assert len(samples) == 1 and isinstance(samples[0]["text"], str) and samples[0]["text"]
    # every step row carries a learning rate that follows the schedule
    assert [h["lr"] for h in run.history if h["kind"] == "train"][:3] == [lr_at(s, 1e-2, 5, 60, "cosine", 1e-4)
                                                                       for s in range(3)]
    # the checkpoint loads back into the same function
    model, tok2 = load_run(run.checkpoint_dir)
    x = torch.tensor([tok.encode("the cat sat")])
    run.model.eval()
    torch.testing.assert_close(model(x), run.model(x), rtol=0, atol=0)
    assert tok2.encode("the mat") == tok.encode("the mat")
    assert ckpt.LoadedCheckpoint(run.checkpoint_dir).step == 60


def test_progress_bar_prints_in_blocking_mode(corpus, tok, capsys):
    run = train(tiny(tok), corpus, tok, steps=4, **{**FAST, "progress": None})
    err = capsys.readouterr().err
    assert run.status == "finished"
    assert "training" in err and "4/4" in err and "finished 4 steps" in err


def test_model_is_trained_in_place_and_graph_objects_are_snapshotted(corpus, tok):
    model = sd.build(tiny(tok))
    before = model.tok_emb.weight.detach().clone()
    run = train(model, corpus, tok, steps=3, **FAST)
    assert run.model is model and not torch.equal(before, model.tok_emb.weight)

    class Canvas:  # anything with a .graph, like the design canvas
        graph = tiny(tok)

    canvas = Canvas()
    run = train(canvas, corpus, tok, steps=2, background=True, **FAST)
    canvas.graph["nodes"][1]["data"]["d_model"] = 999  # editing the design after the call changes nothing
    run.wait(60)
    assert run.status == "finished" and run.graph["nodes"][1]["data"]["d_model"] == 32


@pytest.mark.parametrize("settings", [
    {"dtype": "bfloat16"}, {"grad_accum": 2, "schedule": "linear"}, {"schedule": "constant", "grad_clip": 0.0},
    {"weight_decay": 0.0, "warmup": 0, "eval_every": 2, "eval_batches": 1, "sample_every": 3},
])
def test_every_setting_trains(corpus, tok, settings):
    run = train(tiny(tok), corpus, tok, steps=4, **{**FAST, **settings})
    assert run.status == "finished", run.error
    assert all(math.isfinite(h["loss"]) for h in run.history if h["kind"] == "train")
    assert run.history[-1]["step"] == 4


def test_compiled_training_follows_the_eager_losses(corpus, tok):
    """compile=True (inductor) trains the same model: a RoPE + grouped-query + RMSNorm + SwiGLU design."""
    g = sd.template("llama3", size="tiny", n_layer=2, d_model=32, n_head=2, n_kv_head=1, context=32,
                    vocab_size=tok.vocab_size)
    eager = train(g, corpus, tok, steps=3, **FAST)
    compiled = train(g, corpus, tok, steps=3, compile=True, **FAST)
    assert compiled.status == "finished", compiled.error
    np.testing.assert_allclose(train_losses(compiled), train_losses(eager), rtol=1e-5)
    weights = compiled.model.state_dict()
    assert all(torch.allclose(v, weights[k], atol=1e-5) for k, v in eager.model.state_dict().items())


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("kwargs, fragment", [
    ({"steps": 0}, "steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": -3}, "batch_size"),
    ({"context": 64}, "positions"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": float("inf")}, "lr"),
    ({"lr": -1e-3}, "lr"),
    ({"device": "tpu9"}, "device"),
    ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "cuda:99"}, "cuda"),
    ({"schedule": "exponential"}, "schedule"),
    ({"dtype": "float8"}, "dtype"),
    ({"grad_accum": 0}, "grad_accum"),
    ({"max_concurrent": 0}, "max_concurrent"),
])
def test_bad_arguments_raise_before_anything_starts(corpus, tok, tmp_path, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        train(tiny(tok), corpus, tok, **{**FAST, "steps": 5, **kwargs})
    assert not (tmp_path / "runs").exists()


def test_vocab_mismatch_names_both_sizes_and_the_fix(corpus, tok):
    with pytest.raises(ValueError) as err:
        train(tiny(tok, vocab_size=10), corpus, tok, steps=5, **{k: v for k, v in FAST.items()})
    msg = str(err.value)
    assert str(tok.vocab_size) in msg and "10" in msg and f"vocab_size={tok.vocab_size}" in msg


def test_empty_or_short_corpus_is_refused(tok):
    with pytest.raises(ValueError, match="empty"):
        train(tiny(tok), data.text(""), tok, steps=5, **FAST)
    short = data.text("abc>cba\n" * 6)  # 48 characters: the val split cannot hold a 33-token window
    with pytest.raises(ValueError, match="val split"):
        train(tiny(tok), short, tok, steps=5, **{**FAST, "eval_every": 10})


# ------------------------------------------------------------------ background, stop, resume
def test_background_run_streams_events_stops_within_a_step_and_resumes_exactly(corpus, tok):
    g = tiny(tok, dropout=0.1)  # dropout: the torch RNG state must come back too
    full = train(g, corpus, tok, steps=30, **FAST)
    assert full.status == "finished"

    seen: list = []
    holder: list = []
    ready = threading.Event()

    def stop_at_step_7(step, loss):  # the user's stop() lands while step 7 is being computed
        ready.wait(30)
        if step == 7:
            holder[0].stop()
        return loss

    run = train(g, corpus, tok, steps=30, background=True, _hooks={"loss": stop_at_step_7}, **FAST)
    assert run.status in ("queued", "running")
    run.subscribe(seen.append, replay=True)
    holder.append(run)
    ready.set()
    run.wait(60)
    assert run.status == "stopped", run.error
    assert run.step == 7  # within one step: step 7 completes, step 8 never starts
    stopped_at = run.step
    assert seen == run.events  # replayed then live: every event once, in order
    kinds = [type(e) for e in seen]
    assert kinds[0] is Started and Step in kinds and kinds[-2:] == [Checkpoint, Stopped]
    assert next(e.step for e in seen if isinstance(e, Step)) == 1
    assert ckpt.LoadedCheckpoint(run.checkpoint_dir).step == stopped_at
    assert seen[-1].checkpoint == str(ckpt.resolve(run.checkpoint_dir))

    rest = resume(run.checkpoint_dir, steps=30 - stopped_at, mlflow=False, progress=False)
    assert rest.status == "finished" and rest.step == 30
    torch.testing.assert_close(torch.tensor(train_losses(rest)), torch.tensor(train_losses(full)), rtol=0, atol=0)
    for a, b in zip(rest.model.parameters(), full.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_resume_needs_its_data_and_takes_overrides(corpus, tok, tmp_path):
    import shutil

    run = train(tiny(tok), corpus, tok, steps=3, **FAST)
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(ValueError, match="token cache"):
        resume(run.checkpoint_dir, steps=2, mlflow=False, progress=False)
    with pytest.raises(ValueError, match="unknown training setting"):
        resume(run.checkpoint_dir, steps=2, corpus=corpus, learning_rate=1.0)
    more = resume(run.checkpoint_dir, steps=2, corpus=corpus, lr=5e-4, mlflow=False, progress=False)
    assert more.status == "finished" and more.step == 5 and more.config.lr == 5e-4
    assert [h["step"] for h in more.history if h["kind"] == "train"] == [1, 2, 3, 4, 5]
    assert more.checkpoint_dir != run.checkpoint_dir


def test_runs_queue_one_after_another_and_a_queued_run_can_be_cancelled(corpus, tok):
    starts, ends = {}, {}

    def track(event):
        if isinstance(event, Started):
            starts[event.run] = time.monotonic()
        elif isinstance(event, (Finished, Stopped, Failed)):
            ends[event.run] = time.monotonic()

    inside, gate = threading.Event(), threading.Event()

    def hold(step, loss):  # keeps the first run busy in its first step until the test lets it go
        inside.set()
        gate.wait(30)
        return loss

    first = train(tiny(tok), corpus, tok, steps=200, background=True, _hooks={"loss": hold}, **FAST)
    second = train(tiny(tok), corpus, tok, steps=3, background=True, **FAST)
    third = train(tiny(tok), corpus, tok, steps=3, background=True, **FAST)
    assert len({first.checkpoint_dir, second.checkpoint_dir, third.checkpoint_dir}) == 3
    for r in (first, second):
        r.subscribe(track, replay=True)
    assert inside.wait(30)
    time.sleep(0.1)
    assert first.status == "running" and second.status == "queued" and third.status == "queued"
    third.stop()
    first.stop()  # asked during step 1: step 1 completes, step 2 never starts
    gate.set()
    for r in (first, second, third):
        r.wait(60)
    assert first.status == "stopped" and first.step == 1 and second.status == "finished"
    assert third.status == "stopped" and third.step == 0 and third.model is None
    assert starts[second.name] >= ends[first.name]


# ------------------------------------------------------------------ failures
def test_nan_loss_fails_the_run_naming_the_step_and_writes_no_checkpoint(corpus, tok):
    def poison(step, loss):
        return loss * float("inf") if step >= 5 else loss

    run = train(tiny(tok), corpus, tok, steps=20, **{**FAST, "checkpoint_every": 2}, _hooks={"loss": poison})
    assert run.status == "failed"
    assert "step 5" in run.error and ("inf" in run.error or "nan" in run.error)
    # the loss of step 5 came from the weights of step 4: that checkpoint would resume into the NaN, so it goes
    # and the run's latest is the one before (#9 item 6)
    assert "the checkpoint of step 4, whose weights gave this loss, was removed" in run.error
    assert ckpt.LoadedCheckpoint(run.checkpoint_dir).step == 2  # the last good one; nothing from step ≥ 4
    saved = sorted(p.name for p in Path(run.checkpoint_dir).glob("step-*"))
    assert saved[-1] == "step-000002"


def test_huge_learning_rate_fails_cleanly(corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=40, **{**FAST, "lr": 1e6, "warmup": 0, "grad_clip": 0.0,
                                                      "checkpoint_every": 1})
    assert run.status == "failed" and "step" in run.error
    loaded = ckpt.LoadedCheckpoint(run.checkpoint_dir) if run.last_checkpoint else None
    if loaded is not None:  # whatever was saved before the blow-up is finite
        model = loaded.build_model()
        assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("exc, fragment", [
    (RuntimeError("boom"), "RuntimeError at step 3: boom"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "batch_size"),
])
def test_any_exception_ends_the_run_as_failed_with_a_message(corpus, tok, exc, fragment):
    def explode(step, loss):
        if step == 3:
            raise exc
        return loss

    events = []
    run = train(tiny(tok), corpus, tok, steps=10, background=True, _hooks={"loss": explode}, **FAST)
    run.subscribe(events.append, replay=True)
    run.wait(60)
    assert run.status == "failed" and fragment in run.error
    assert isinstance(events[-1], Failed) and events[-1].error == run.error


def test_ctrl_c_in_a_blocking_run_stops_it_with_a_checkpoint(corpus, tok, tmp_path):
    def interrupt(step, loss):
        if step == 3:
            raise KeyboardInterrupt
        return loss

    with pytest.raises(KeyboardInterrupt):
        train(tiny(tok), corpus, tok, steps=10, _hooks={"loss": interrupt}, **FAST)
    (folder,) = (tmp_path / "runs" / "gpt2-tiny").iterdir()
    loaded = ckpt.LoadedCheckpoint(folder)
    assert loaded.step == 2 and [h["step"] for h in loaded.state["history"]] == [1, 2]
    # and the queue is free for the next run
    assert train(tiny(tok), corpus, tok, steps=1, **FAST).status == "finished"


def test_ctrl_c_anywhere_in_a_step_still_resumes_exactly(corpus, tok):
    """A KeyboardInterrupt in the middle of step 4 (its second micro-batch): the checkpoint is step 3's, with
    the random state from before step 4 drew its batches, so the resumed run redraws them and matches."""
    g = tiny(tok, dropout=0.1)
    settings = {**FAST, "grad_accum": 2}
    full = train(g, corpus, tok, steps=8, **settings)
    calls = []

    def interrupt(step, loss):
        calls.append(step)
        if calls.count(4) == 2:
            raise KeyboardInterrupt
        return loss

    with pytest.raises(KeyboardInterrupt):
        train(g, corpus, tok, steps=8, _hooks={"loss": interrupt}, name="cut", **settings)
    (folder,) = (Path(os.environ["SLAMDUNK_RUNS_DIR"]) / "cut").iterdir()  # runs/<name>/<name>-<time>
    assert ckpt.LoadedCheckpoint(folder).step == 3
    rest = resume(folder, mlflow=False, progress=False)  # steps=None: the rest of the original 8
    assert rest.status == "finished" and rest.step == 8
    assert train_losses(rest) == train_losses(full)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_first_interrupt_finishes_the_step_checkpoints_and_then_interrupts(corpus, tok, capsys):
    """A real SIGINT (Ctrl-C, Jupyter's interrupt) in a blocking run: the run stops after the current step with
    an exact checkpoint, MLflow-style status "stopped", and then the interrupt reaches the caller."""
    import signal

    g = tiny(tok, dropout=0.1)
    full = train(g, corpus, tok, steps=10, **FAST)

    def ctrl_c(step, loss):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)
        return loss

    # Ctrl-C as in a terminal or a Jupyter kernel: a process started in the background (`cmd &`, as CI scripts
    # do) begins with SIGINT ignored, and then a run rightly trains on (the next test)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            train(g, corpus, tok, steps=10, _hooks={"loss": ctrl_c}, name="sigint", **{**FAST, "progress": True})
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    finally:
        signal.signal(signal.SIGINT, before)
    assert "stopping after step 4" in capsys.readouterr().err
    (folder,) = (Path(os.environ["SLAMDUNK_RUNS_DIR"]) / "sigint").iterdir()
    assert ckpt.LoadedCheckpoint(folder).step == 4  # step 4 was finished, not thrown away
    rest = resume(folder, mlflow=False, progress=False)
    assert rest.step == 10 and train_losses(rest) == train_losses(full)
    for a, b in zip(rest.model.parameters(), full.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_process_that_ignores_ctrl_c_trains_on(corpus, tok):
    """Under nohup or `cmd &` SIGINT is ignored; the run must not install its own handler over that."""
    import signal

    def ctrl_c(step, loss):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return loss

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = train(tiny(tok), corpus, tok, steps=4, _hooks={"loss": ctrl_c}, **FAST)
        assert run.status == "finished" and run.step == 4
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_resumed_run_interrupted_at_once_points_back_to_where_it_began(corpus, tok, capsys):
    run = train(tiny(tok), corpus, tok, steps=3, **FAST)
    start = str(ckpt.resolve(run.checkpoint_dir))

    def interrupt(step, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resume(run, steps=2, mlflow=False, progress=True, _hooks={"loss": interrupt})
    assert f"stopped at step 3; continue with sd.resume({start!r})" in capsys.readouterr().err


def test_resume_keeps_saved_optimizer_settings_a_checkpoint_config_does_not_name(corpus, tok):
    import json

    run = train(tiny(tok), corpus, tok, steps=3, betas=(0.8, 0.9), weight_decay=0.0, **FAST)
    state_file = Path(ckpt.resolve(run.checkpoint_dir)) / ckpt.STATE
    state = json.loads(state_file.read_text())
    del state["config"]["betas"], state["config"]["weight_decay"]  # an older or hand-edited checkpoint
    state_file.write_text(json.dumps(state))
    more = resume(run, steps=1, mlflow=False, progress=False)
    assert [(g["weight_decay"], g["betas"]) for g in more._trainer.optimizer.param_groups] == [
        (0.0, (0.8, 0.9)), (0.0, (0.8, 0.9))]


def test_resume_defaults_to_the_rest_of_the_plan_and_accepts_a_run(corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=3, **FAST)
    with pytest.raises(ValueError, match=r"already trained all 3 steps.*steps=N"):
        resume(run, mlflow=False, progress=False)
    more = resume(run, steps=np.int64(2), mlflow=False, progress=False)
    assert more.status == "finished" and more.step == 5


def test_resume_overrides_reach_the_optimizer(corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=3, **FAST)
    more = resume(run.checkpoint_dir, steps=1, weight_decay=0.0, betas=(0.5, 0.6), mlflow=False, progress=False)
    assert more.config.weight_decay == 0.0 and more.config.betas == (0.5, 0.6)
    assert [(g["weight_decay"], g["betas"]) for g in more._trainer.optimizer.param_groups] == [
        (0.0, (0.5, 0.6)), (0.0, (0.5, 0.6))]


def test_numpy_numbers_are_accepted_and_stored_as_plain_json(corpus, tok):
    """A sweep over np.arange / np.logspace: numpy scalars work and the checkpoint's JSON is plain."""
    run = train(tiny(tok), corpus, tok, **{**FAST, "steps": np.int64(3), "batch_size": np.int32(8),
                                          "lr": np.float32(1e-3), "checkpoint_every": np.int64(2)})
    assert run.status == "finished", run.error
    config = ckpt.LoadedCheckpoint(run.checkpoint_dir).state["config"]
    assert config["steps"] == 3 and type(config["steps"]) is int and type(config["lr"]) is float


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"mlflow": "no"}, TypeError, "mlflow must be True, False or None, got 'no'"),
    ({"background": "yes"}, TypeError, "background must be"),
    ({"compile": "no"}, TypeError, "compile must be True or False"),
    ({"betas": 0.9}, ValueError, "betas must be two numbers"),
    ({"betas": ("a", "b")}, ValueError, "betas must be two numbers"),
    ({"betas": (0.9, 1.0)}, ValueError, "betas must be two numbers"),
    ({"name": ""}, ValueError, "name must be a non-empty string"),
    ({"name": 123}, ValueError, "name must be a non-empty string"),
    ({"seed": 2**70}, ValueError, "seed must be below 2\\*\\*63"),
])
def test_bad_switches_and_settings_name_themselves(corpus, tok, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        train(tiny(tok), corpus, tok, steps=2, **{**FAST, **kwargs})


def test_a_late_subscriber_never_gets_an_event_twice(corpus, tok):
    """Events still queued for a slow subscriber when a new one subscribes with replay: the new one gets
    them once, from the replay, in order."""
    release = threading.Event()
    late: list = []

    def slow(event):
        release.wait(30)

    run = train(tiny(tok), corpus, tok, steps=6, background=True, **{**FAST, "checkpoint_every": 2})
    run.subscribe(slow)
    while len(run.events) < 3 and not run.done:
        time.sleep(0.01)
    run.subscribe(late.append, replay=True)
    release.set()
    run.wait(60)
    assert run.status == "finished"
    assert late == run.events


def test_the_same_callback_subscribed_twice_and_unsubscribed_once_gets_each_event_once():
    from slamdunk_lab.training.events import Dispatcher

    d, got, release = Dispatcher("t"), [], threading.Event()
    d.add(lambda e: release.wait(10))  # holds the queue while the subscriptions change
    first, _second = d.add(got.append), d.add(got.append)
    event = Started(run="t")
    d.emit(event)
    first.unsubscribe()
    release.set()
    d.drain(10)
    assert got == [event]  # once, for the subscription that is left


def test_a_queued_run_that_is_cancelled_says_there_is_nothing_to_resume(corpus, tok, capsys):
    from slamdunk_lab.training.progress import ConsoleProgress

    ConsoleProgress()(Stopped(run="r", step=0, checkpoint=""))
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "sd.resume('')" not in err


def test_a_failing_subscriber_is_logged_and_never_kills_the_run(corpus, tok, caplog):
    got = []

    def broken(event):
        raise ZeroDivisionError("subscriber bug")

    run = train(tiny(tok), corpus, tok, steps=5, background=True, **FAST)
    run.subscribe(broken)
    run.subscribe(got.append)
    with caplog.at_level(logging.ERROR, logger="slamdunk_lab.training"):
        run.wait(60)
    assert run.status == "finished"
    assert isinstance(got[-1], Finished)
    assert any("subscriber" in r.getMessage() for r in caplog.records)


def test_a_late_subscriber_with_replay_sees_every_event_once_in_order(corpus, tok):
    first_step = threading.Event()
    run = train(tiny(tok), corpus, tok, steps=40, background=True,
                _hooks={"loss": lambda step, loss: (time.sleep(0.005), loss)[1]}, **FAST)
    run.subscribe(lambda e: first_step.set() if isinstance(e, Step) else None)
    assert first_step.wait(30)
    late: list = []
    run.subscribe(late.append, replay=True)  # joins mid-run
    run.wait(60)
    assert late == run.events and isinstance(late[0], Started) and isinstance(late[-1], Finished)
    after: list = []
    run.subscribe(after.append, replay=True)  # joins after the end
    assert after == run.events


def test_unsubscribe_stops_delivery(corpus, tok):
    got = []
    run = train(tiny(tok), corpus, tok, steps=3, background=True, **FAST)
    handle = run.subscribe(got.append)
    handle.unsubscribe()
    run.wait(60)
    assert got == [] and run.status == "finished"


# ------------------------------------------------------------------ pieces
def test_events_survive_json():
    events = [Started(run="r", step=0, total_steps=10, params=5, config={"lr": 1e-3}),
              Step(run="r", step=3, total_steps=10, loss=2.5, lr=1e-3, grad_norm=0.5, tokens_per_s=1e4,
                   elapsed=1.0, eta=2.0),
              Eval(run="r", step=5, train_loss=2.0, val_loss=2.1), Sample(run="r", step=5, prompt="\n", text="hi"),
              Checkpoint(run="r", step=5, path="/x"), Stopped(run="r", step=6, checkpoint="/x"),
              Finished(run="r", step=10, elapsed=3.0, val_loss=1.9), Failed(run="r", step=4, error="bad")]
    for e in events:
        assert event_from_json(json.loads(json.dumps(e.to_json()))) == e
    with pytest.raises(ValueError, match="unknown event type"):
        event_from_json({"type": "Nope"})


def test_schedules():
    assert lr_at(0, 1.0, 10, 100) == pytest.approx(0.1)
    assert lr_at(9, 1.0, 10, 100) == pytest.approx(1.0)
    assert lr_at(10, 1.0, 10, 100, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_at(55, 1.0, 10, 100, "cosine", 0.1) == pytest.approx(0.55)
    assert lr_at(100, 1.0, 10, 100, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_at(55, 1.0, 10, 100, "linear", 0.0) == pytest.approx(0.5)
    assert lr_at(99, 1.0, 10, 100, "constant", 0.1) == 1.0
    assert lr_at(0, 1.0, 0, 100, "cosine", 0.0) == 1.0


def test_weight_decay_skips_norms_biases_and_embeddings(tok):
    model = sd.build(tiny(tok))
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert "blocks.0.attn.qkv_proj.weight" in decayed and "blocks.1.mlp.fc_out.weight" in decayed
    assert not any(k in n for n in decayed for k in ("bias", "ln_", "tok_emb", "pos_emb"))
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_background_rule(monkeypatch):
    monkeypatch.setenv("SLAMDUNK_BACKGROUND", "1")
    assert interactive_kernel() is True
    monkeypatch.setenv("SLAMDUNK_BACKGROUND", "0")
    assert interactive_kernel() is False
    monkeypatch.delenv("SLAMDUNK_BACKGROUND")
    monkeypatch.setenv("CI", "true")
    assert interactive_kernel() is False
    monkeypatch.delenv("CI")
    assert interactive_kernel() is False  # pytest is no Jupyter kernel


def test_a_jupyter_kernel_trains_in_the_background_only_for_a_person(tmp_path, monkeypatch):
    """A real kernel: JupyterLab-like requests (allow_stdin=True) return at once; nbclient-like ones block."""
    manager = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "slamdunk-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({  # this interpreter, whatever kernels the machine has
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "slamdunk test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SLAMDUNK_BACKGROUND")}
    km, kc = manager.start_new_kernel(kernel_name="slamdunk-test", env=env, cwd=str(tmp_path))
    setup = ("import slamdunk_lab as sd; from slamdunk_lab import data, tokenizers; "
             "from slamdunk_lab.session import train; c = data.synthetic('reverse', n=300); "
             "tok = tokenizers.char(c); g = sd.template('gpt2', size='tiny', n_layer=1, d_model=16, n_head=2, "
             "context=16, vocab_size=tok.vocab_size); "
             "kw = dict(batch_size=4, context=16, eval_every=0, sample_every=0, mlflow=False, progress=False)")

    def execute(code: str, allow_stdin: bool) -> str:
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        kc.execute_interactive(code, allow_stdin=allow_stdin, output_hook=hook, timeout=60)
        return "".join(out).strip()

    try:
        execute(setup, allow_stdin=False)
        assert execute("r = train(g, c, tok, steps=300, **kw); print(r.status)", allow_stdin=True) in (
            "queued", "running")
        assert execute("r.stop().wait(60); print(r.status)", allow_stdin=True) == "stopped"
        assert execute("r = train(g, c, tok, steps=3, **kw); print(r.status)", allow_stdin=False) == "finished"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("name, folder", [("CON", "_CON"), ("nul.txt", "_nul.txt"), ("../../escape", "escape"),
                                          ("my model!", "my_model")])
def test_run_names_become_safe_folders_on_every_system(corpus, tok, name, folder):
    run = train(tiny(tok), corpus, tok, steps=1, name=name, **FAST)
    root = Path(os.environ["SLAMDUNK_RUNS_DIR"]).resolve()
    assert Path(run.checkpoint_dir).resolve().parent == root / folder


def test_tokens_per_second_is_the_rate_over_the_recent_steps_not_one_step():
    """The monitor's tok/s: a slow first step weighs in until it is older than the window, then only the
    recent steps count; a single fast or slow report never sets the figure alone."""
    from slamdunk_lab.training.trainer import SpeedMeter

    meter = SpeedMeter(start_step=0, tokens_per_step=100, window=5.0)
    assert meter.add(2.0, 1) == pytest.approx(50.0)  # the first step (slow: warm-up)
    assert meter.add(2.1, 2) == pytest.approx(100 * 2 / 2.1)  # a fast one does not jump to 1000 tok/s
    rates = [meter.add(2.1 + 0.1 * i, 2 + i) for i in range(1, 80)]  # steady 1000 tok/s for 7.9 s
    assert rates[-1] == pytest.approx(1000.0)  # the warm-up has left the window
    stalled = meter.add(13.0, 82)  # one step that took 3 s: the window softens it
    assert 300 < stalled < 1000
