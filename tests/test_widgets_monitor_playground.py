"""Monitor and Playground widgets, Python side (no browser)."""

from __future__ import annotations

import math
import threading
import time

import pytest

pytest.importorskip("anywidget")

from slamdunk_lab.widgets import Monitor, Playground, _base

pytestmark = pytest.mark.skipif(
    not _base.bundle_available(), reason="front end not built (npm ci && npm run build)"
)


def test_monitor_logs_throttles_and_finishes():
    m = Monitor(title="run", total_steps=10, interval=10.0)
    assert m._view == "monitor"
    m.log(0, loss=4.0)  # first point is sent at once
    assert m.history == [{"step": 0, "loss": 4.0}] and m.running
    m.log(1, loss=float("nan"), val_loss=3.5)  # within the interval: held back
    assert len(m.history) == 1
    m.finish()
    assert m.history[-1] == {"step": 1, "loss": None, "val_loss": 3.5}
    assert not m.running and m.status == "done"
    m.reset()
    assert m.history == []


def test_monitor_trailing_update_from_a_thread():
    m = Monitor(interval=0.05)

    def train():
        for step in range(20):
            m.log(step, loss=1 / (step + 1))

    t = threading.Thread(target=train)
    t.start()
    t.join()
    deadline = time.monotonic() + 2
    while len(m.history) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(m.history) == 20
    assert math.isclose(m.history[-1]["loss"], 1 / 20)


def test_playground_streams_and_stops():
    started = threading.Event()
    release = threading.Event()

    def gen(prompt, max_new_tokens, temperature, top_k):
        assert (max_new_tokens, temperature, top_k) == (5, 0.0, None)
        yield prompt.upper()
        started.set()
        release.wait(2)
        for i in range(100):
            yield str(i)

    pg = Playground(gen, prompt="hi", max_new_tokens=5, temperature=0.0, top_k=None)
    pg.run()
    assert started.wait(2)
    assert pg.running and pg.output == "HI"
    pg._dispatch_msg(pg, {"type": "stop"}, [])
    release.set()
    pg._thread.join(2)
    assert not pg.running and pg.output.startswith("HI0") and len(pg.output) < 20


def test_playground_plain_string_errors_and_messages():
    pg = Playground(lambda prompt, **s: prompt + " world")
    pg._dispatch_msg(pg, {"type": "generate", "prompt": "hello"}, [])
    pg._thread.join(2)
    assert pg.prompt == "hello" and pg.output == "hello world" and pg.error == ""

    def boom(prompt, **s):
        raise ValueError("no model")

    bad = Playground(boom)
    bad.run(wait=True)
    assert bad.error == "ValueError: no model" and not bad.running
    with pytest.raises(TypeError, match="unknown settings"):
        Playground(boom, beam_width=3)
    with pytest.raises(TypeError, match="callable"):
        Playground("nope")  # type: ignore[arg-type]


class FakeEvent:
    def __init__(self, **data):
        self.data = data

    def to_json(self):
        return self.data


class FakeRun:
    """Stands in for sd.train's Run: subscribe(callback, replay) and stop()."""

    name = "gpt2-tiny-1"

    def __init__(self, events):
        self.events = events
        self.callbacks = []
        self.stopped = False

    def subscribe(self, callback, replay=False):
        self.callbacks.append(callback)
        if replay:
            for e in self.events:
                callback(e)
        return lambda: self.callbacks.remove(callback)

    def stop(self):
        self.stopped = True


def test_monitor_follows_run_events():
    run = FakeRun(
        [
            FakeEvent(type="Started", step=0, total_steps=4, device="cpu", dtype="float32"),
            FakeEvent(type="Step", step=1, total_steps=4, loss=5.0, tokens_per_s=1234.0, eta=75.0),
            FakeEvent(type="Step", step=2, total_steps=4, loss=4.0, tokens_per_s=1300.0, eta=5.0),
        ]
    )
    m = Monitor(interval=0.0).follow(run)
    assert m.title == "gpt2-tiny-1" and m.total_steps == 4 and m.can_stop and m.running
    assert m.history == [{"step": 1, "loss": 5.0}, {"step": 2, "loss": 4.0}]
    assert m.status == "step 2/4 · 1,300 tok/s · ETA 5s"
    m._dispatch_msg(m, {"type": "stop"}, [])
    assert run.stopped
    emit = run.callbacks[0]
    emit(FakeEvent(type="Eval", step=2, train_loss=4.0, val_loss=4.5))
    emit(FakeEvent(type="Sample", step=1, prompt="ROMEO:", text=" hi"))
    emit(FakeEvent(type="Finished", step=4))
    assert m.history[-1] == {"step": 2, "val_loss": 4.5}
    assert m.sample == "ROMEO: hi" and m.status == "finished at step 4"
    assert not m.running and not m.can_stop
    m.unfollow()
    assert run.callbacks == []
    with pytest.raises(TypeError, match="subscribe"):
        m.follow(object())


def test_playground_for_model_streams_from_the_library(monkeypatch):
    from slamdunk_lab import generation

    seen = {}

    def fake_generate(model, tok, prompt, stream=False, **settings):
        seen.update(model=model, tok=tok, prompt=prompt, stream=stream, **settings)
        return iter(["a", "b"])

    monkeypatch.setattr(generation, "generate", fake_generate)
    pg = Playground.for_model("MODEL", "TOK", prompt="x", max_new_tokens=2)
    pg.run(wait=True)
    assert (
        pg.output == "ab"
        and seen["stream"] is True
        and seen["model"] == "MODEL"
        and seen["max_new_tokens"] == 2
    )


@pytest.mark.slow
def test_monitor_follows_a_real_training_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # checkpoints go under ./runs
    train = pytest.importorskip("slamdunk_lab.training.runs").train
    import slamdunk_lab as sd
    from slamdunk_lab import data, tokenizers

    corpus = data.synthetic("arithmetic", n=2000)
    tok = tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size)
    run = train(
        g,
        corpus,
        tok,
        steps=12,
        batch_size=4,
        context=32,
        eval_every=6,
        eval_batches=1,
        sample_every=6,
        mlflow=False,
        background=True,
        progress=False,
        checkpoint_every=1000,
    )
    m = Monitor(interval=0.0).follow(run)
    deadline = time.monotonic() + 120
    while run.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 5
    while m.running and time.monotonic() < deadline:  # the dispatcher thread delivers the last events
        time.sleep(0.05)
    assert run.status == "finished"
    assert m.status.startswith("finished at step") and not m.running
    steps = [p["step"] for p in m.history if "loss" in p]  # the trainer may report every few steps
    assert len(steps) >= 3 and steps == sorted(steps) and steps[-1] == 12
    assert any("val_loss" in p for p in m.history)
    assert m.sample


def test_playground_for_run_reads_the_model_lazily(monkeypatch):
    from slamdunk_lab import generation

    monkeypatch.setattr(
        generation, "generate", lambda model, tok, prompt, stream=False, **s: iter([model, tok])
    )

    class Run:
        model = None
        tokenizer = "T"
        status = "queued"

    run = Run()
    pg = Playground.for_run(run)
    pg.run(wait=True)
    assert pg.error == "RuntimeError: the run has no model yet (status: queued)"
    run.model = "M"
    pg.run(wait=True)
    assert pg.output == "MT" and pg.error == ""
