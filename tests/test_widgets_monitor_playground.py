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


def _tiny_model(text="hello world, this is a test of the playground"):
    import slamdunk_lab as sd
    from slamdunk_lab import tokenizers

    tok = tokenizers.char(text)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=2, vocab_size=tok.vocab_size, context=96))
    return model, tok


def test_playground_generates_what_the_library_generates():
    import slamdunk_lab as sd

    model, tok = _tiny_model()
    pg = Playground(model, tok, prompt="hello", max_new_tokens=20, temperature=0.9, top_k=5, seed=3)
    pg.run(wait=True)
    assert pg.error == "" and not pg.running
    expected = sd.generate(model, tok, "hello", max_new_tokens=20, temperature=0.9, top_k=5, top_p=0.95,
                           repetition_penalty=1.0, seed=3)
    assert pg.output == expected and len(expected) == 20
    assert Playground.for_model(model, tok).can_inspect


def test_playground_streams_at_about_ten_updates_a_second():
    def slow(prompt, max_new_tokens):
        for i in range(max_new_tokens):
            time.sleep(0.01)
            yield str(i % 10)

    pg = Playground(slow, max_new_tokens=60)
    updates = []
    pg.observe(lambda c: updates.append(c["new"]), "output")
    t0 = time.monotonic()
    pg.run("go", wait=True)
    elapsed = time.monotonic() - t0
    assert pg.output == "".join(str(i % 10) for i in range(60))
    assert updates[-1] == pg.output
    # ~0.6 s of pieces: at most one push per 0.1 s (plus the reset and the final push), far fewer than 60
    assert len(updates) <= elapsed / 0.1 + 3
    assert not pg.can_inspect  # a plain function has no model to look inside


def test_playground_probabilities_and_attention_follow_the_prompt():
    import slamdunk_lab as sd

    model, tok = _tiny_model()
    pg = Playground(model, tok, prompt="hello")
    pg._inspect_thread.join(10)
    expected = sd.next_token_probs(model, tok, "hello", k=10)
    assert [p["id"] for p in pg.probs] == [p["id"] for p in expected]
    assert [p["prob"] for p in pg.probs] == pytest.approx([p["prob"] for p in expected], abs=1e-4)
    assert pg.probs_prompt == "hello" and pg.inspect_error == ""
    att = pg.attention
    assert att["tokens"] == list("hello") and att["layer_names"] == ["blocks.0.attn", "blocks.1.attn"]
    w = att["weights"]
    assert (len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])) == (2, 4, 5, 5)
    for row in w[1][2]:
        assert sum(row) == pytest.approx(1, abs=1e-3)
    assert w[0][0][0][1:] == [0, 0, 0, 0]  # causal: the first token sees only itself
    # the page sends a new prompt: the panels follow it
    pg.set_state({"prompt": "this is"})
    pg._inspect_thread.join(10)
    assert pg.probs_prompt == "this is" and len(pg.attention["tokens"]) == 7
    # a long prompt: the heatmap covers its last MAX_ATTENTION_TOKENS tokens
    long = "hello world " * 8
    pg.prompt = long
    pg._inspect_thread.join(10)
    from slamdunk_lab.widgets.playground import MAX_ATTENTION_TOKENS

    assert len(pg.attention["tokens"]) == MAX_ATTENTION_TOKENS
    assert pg.attention["offset"] == len(long) - MAX_ATTENTION_TOKENS
    pg.prompt = ""
    pg._inspect_thread.join(10)
    assert pg.probs == [] and pg.attention == {} and pg.inspect_error == ""


def test_playground_errors_are_sentences_in_the_widget():
    model, tok = _tiny_model()
    pg = Playground(model, tok, prompt="hé")
    pg._inspect_thread.join(10)
    assert "'é'" in pg.inspect_error and "Traceback" not in pg.inspect_error and pg.probs == []
    pg.run(wait=True)
    assert "'é'" in pg.error and pg.output == "" and not pg.running
    pg.run("", wait=True)
    assert pg.error == "The prompt is empty: type some text for the model to continue." and not pg.running
    pg.settings = {**pg.settings, "top_p": 2}
    pg.run("hello", wait=True)
    assert "top_p" in pg.error
    with pytest.raises(TypeError, match="tokenizer"):
        Playground(model)
    with pytest.raises(TypeError, match="encode"):
        Playground(model, "not a tokenizer")


def test_playground_stop_ends_a_real_generation():
    model, tok = _tiny_model()
    model.train()
    pg = Playground(model, tok, max_new_tokens=4000, temperature=1.0)
    pg.run("hello")
    deadline = time.monotonic() + 10
    while not pg.output and time.monotonic() < deadline:
        time.sleep(0.01)
    pg._dispatch_msg(pg, {"type": "stop"}, [])
    pg._thread.join(10)
    assert not pg.running and 0 < len(pg.output) < 4000
    assert model.training  # closing the stopped generation gave the model its training flag back
    pg.settings = {**pg.settings, "max_new_tokens": 5}
    pg.run("hello", wait=True)
    assert pg.error == "" and len(pg.output) == 5


@pytest.mark.slow
def test_monitor_follows_a_real_training_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # checkpoints go under ./runs
    train = pytest.importorskip("slamdunk_lab.session").train
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


def test_playground_for_run_reads_the_model_lazily():
    model, tok = _tiny_model()

    class Run:  # what the playground reads of sd.train's Run: model, tokenizer, status, name
        name = "gpt2-tiny-7"
        model = None
        tokenizer = tok
        status = "queued"

    run = Run()
    pg = Playground.for_run(run, prompt="hello", max_new_tokens=5)
    assert pg.title == "Playground · gpt2-tiny-7" and pg.can_inspect
    pg.run(wait=True)
    assert pg.error == "RuntimeError: the run has no model yet (status: queued)"
    pg._inspect_thread.join(10)
    assert "no model yet" in pg.inspect_error
    run.model = model
    pg.run(wait=True)
    assert len(pg.output) == 5 and pg.error == ""
    pg.refresh(wait=True)
    assert len(pg.probs) == 10 and pg.inspect_error == ""
