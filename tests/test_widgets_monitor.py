"""The training monitor's state logic on real (tiny) training runs, without a browser: throttled batched
appends, replay on re-display, final states, the Stop message, and the runs browser on a real sqlite store."""

from __future__ import annotations

import itertools
import time

import pytest
from helpers import isolate_training

pytest.importorskip("anywidget")

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.session import runs, train
from slamdunk_lab.training import Step
from slamdunk_lab.widgets import Monitor, _base

pytestmark = [
    pytest.mark.skipif(not _base.bundle_available(), reason="front end not built (npm ci && npm run build)"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]

FAST = {
    "batch_size": 4,
    "context": 32,
    "warmup": 2,
    "eval_every": 10,
    "eval_batches": 1,
    "sample_every": 10,
    "checkpoint_every": 0,
    "progress": False,
    "monitor": False,
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, one_torch_thread):
    isolate_training(monkeypatch, tmp_path, mlflow=True)


@pytest.fixture(scope="module")
def corpus():
    return data.synthetic("arithmetic", n=500)


@pytest.fixture(scope="module")
def tok(corpus):
    return tokenizers.char(corpus)


def tiny(tok, **kw):
    settings = {"n_layer": 1, "d_model": 32, "n_head": 2, "context": 32, **kw}
    return sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size, **settings)


class Sent:
    """Records the custom messages a widget sends (and still sends them)."""

    def __init__(self, widget):
        self.messages: list[tuple[float, dict]] = []
        original = widget.send

        def send(content, buffers=None):
            self.messages.append((time.monotonic(), content))
            original(content, buffers)

        widget.send = send

    def of(self, kind: str) -> list[dict]:
        return [m for _, m in self.messages if m.get("type") == kind]

    def times(self, kind: str) -> list[float]:
        return [t for t, m in self.messages if m.get("type") == kind]


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def page_points(sent: Sent) -> list[dict]:
    """The points a page would hold after applying the messages in order (as js/monitor/history.ts does)."""
    points: list[dict] = []
    for _, m in sent.messages:
        if m.get("type") == "reset":
            points = list(m["points"])
        elif m.get("type") == "append":
            assert m["start"] <= len(points), "a batch left a gap"
            points = points[: m["start"]] + m["points"] + points[m["start"] + len(m["points"]) :]
    return points


def test_a_thousand_step_events_in_under_a_second_make_at_most_six_updates_a_second():
    m = Monitor()
    sent = Sent(m)
    t0 = time.monotonic()
    for i in range(1, 1001):
        m._on_run_event(
            Step(
                run="r",
                step=i,
                total_steps=1000,
                loss=5.0 - i / 500,
                lr=1e-3,
                tokens_per_s=9e3,
                eta=(1000 - i) / 1000,
            )
        )
        time.sleep(0.0005)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.5
    time.sleep(0.4)  # the trailing batch
    batches = sent.times("append")
    assert len(batches) <= 6 * max(elapsed, 1.0) + 1, (len(batches), elapsed)
    assert len(batches) >= 2  # it did update while the events came, not only at the end
    gaps = [b - a for a, b in itertools.pairwise(batches)]
    assert min(gaps) >= 0.19
    # batched appends, never the whole history again; the page ends with every point, in order
    assert sum(len(b["points"]) for b in sent.of("append")) == 1000
    assert [p["step"] for p in page_points(sent)] == list(range(1, 1001))
    assert m.count == 1000 and m.step == 1000 and m.status.startswith("step 1000/1000")


def test_monitor_follows_a_real_run_then_replays_it_and_shows_the_final_state(corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=40, background=True, **FAST)
    m = Monitor().follow(run)
    sent = Sent(m)
    assert m.can_stop and m.state in ("queued", "running")
    run.wait(120)
    wait_until(lambda: m.state == "finished", 10)
    assert run.status == "finished"
    # every step's loss and learning rate (read from the run's history, not only the throttled events)
    train_points = [p for p in m.history if "loss" in p]
    assert [p["step"] for p in train_points] == list(range(1, 41))
    assert all(p["lr"] > 0 for p in train_points)
    assert [p["step"] for p in m.history if "val_loss" in p] == [10, 20, 30, 40]
    assert m.step == 40 and m.total_steps == 40 and not m.running and not m.can_stop
    assert m.status == "finished at step 40" and m.error == ""
    assert m.sample and m.sample_step == 40
    assert m.mlflow_run_id == run.mlflow_run_id and m.experiment == run.experiment == "gpt2-tiny"
    assert page_points(sent) == m.history[: len(page_points(sent))] and len(sent.of("append")) >= 1

    # re-display: a fresh widget of the ended run has the whole history and the final state at once
    again = run.monitor()
    assert again is not m and again.history == m.history and again.count == len(m.history)
    assert again.state == "finished" and again.status == "finished at step 40" and not again.can_stop
    assert again.sample == m.sample and again.mlflow_run_id == run.mlflow_run_id
    # a page that holds nothing (new view, reload) asks for the points: the full history comes once
    resent = Sent(again)
    again._dispatch_msg(again, {"type": "sync"}, [])
    assert resent.of("reset") == [{"type": "reset", "points": again.history}]
    # the Stop button of an ended run does nothing
    again._dispatch_msg(again, {"type": "stop"}, [])
    assert not again.stop_requested and run.status == "finished"


def test_stop_message_stops_the_run_and_the_button_is_disabled(corpus, tok):
    run = train(tiny(tok), corpus, tok, steps=5000, background=True, mlflow=False, **FAST)
    m = run.monitor()
    sent = Sent(m)
    wait_until(lambda: m.step >= 3 and m.state == "running", 60)
    assert m.can_stop
    m._dispatch_msg(m, {"type": "stop"}, [])  # what the page's Stop button sends
    assert m.stop_requested and not m.can_stop
    run.wait(60)
    assert run.status == "stopped"
    wait_until(lambda: m.state == "stopped", 10)
    assert not m.running and not m.can_stop and m.status.startswith("stopped at step")
    assert m.step == run.step < 5000
    # live appends were batched: never more than ~5 a second
    times = sent.times("append")
    if len(times) > 1:
        assert len(times) <= 6 * (times[-1] - times[0]) + 2


def test_failed_run_shows_its_error(corpus, tok):
    def poison(step, loss):
        return loss * float("nan") if step == 4 else loss

    run = train(
        tiny(tok), corpus, tok, steps=20, background=True, mlflow=False, _hooks={"loss": poison}, **FAST
    )
    run.wait(60)
    m = run.monitor()  # created after the run ended
    assert run.status == "failed"
    assert m.state == "failed" and "step 4" in m.error and m.error == run.error
    assert m.status.startswith("failed:") and not m.running and not m.can_stop


def test_a_canvas_trains_like_its_graph(corpus, tok):
    from slamdunk_lab.widgets import Canvas

    canvas = Canvas(tiny(tok, d_model=40))
    run = train(canvas, corpus, tok, steps=3, mlflow=False, **FAST)
    assert run.status == "finished"
    assert {n["id"]: n["data"].get("d_model") for n in run.graph["nodes"]}["tok_emb"] == 40


def test_train_shows_no_monitor_outside_a_kernel_and_monitor_false_is_accepted(corpus, tok, capsys):
    run = train(tiny(tok), corpus, tok, steps=3, background=True, mlflow=False, **{**FAST, "monitor": None})
    run.wait(60)
    assert run.status == "finished"
    assert "Monitor" not in capsys.readouterr().out  # nothing displayed: no front end here


# ---------------------------------------------------------------------- the runs browser
def test_runs_widget_lists_compares_and_refreshes(corpus, tok):
    from slamdunk_lab.widgets import Runs

    small = train(tiny(tok), corpus, tok, steps=12, lr=1e-3, **FAST)
    wide = train(tiny(tok, d_model=48, n_head=4), corpus, tok, steps=12, lr=3e-3, **FAST)
    assert small.status == wide.status == "finished"

    assert hasattr(runs(), "columns")  # the DataFrame stays the default
    table = runs(widget=True)
    assert isinstance(table, Runs)
    by_id = {r["run_id"]: r for r in table.rows}
    assert set(by_id) == {small.mlflow_run_id, wide.mlflow_run_id}
    row = by_id[wide.mlflow_run_id]
    assert row["name"] == wide.name and row["status"] == "finished" and row["steps"] == 12
    assert row["design"] == "gpt2-tiny" and row["parameters"] > by_id[small.mlflow_run_id]["parameters"]
    assert row["val_loss"] > 0 and row["tokens_per_s"] > 0 and row["start_time"] > 0
    assert [r["run_id"] for r in table.rows] == [wide.mlflow_run_id, small.mlflow_run_id]  # newest first

    table.selected = [small.mlflow_run_id, wide.mlflow_run_id]  # what ticking two rows on the page does
    curves = table.curves
    assert [s for s, _ in curves[small.mlflow_run_id]["loss"]] == list(range(1, 13))
    assert [s for s, _ in curves[wide.mlflow_run_id]["val_loss"]] == [10, 12]
    params = {p["key"]: p for p in table.params_diff}
    assert params["lr"]["differs"] and params["lr"]["values"] == {
        small.mlflow_run_id: "0.001",
        wide.mlflow_run_id: "0.003",
    }
    assert params["width"]["differs"] and params["width"]["group"] == "design"
    assert not params["steps"]["differs"] and not params["batch_size"]["differs"]
    assert "run_name" not in params
    design = {(d["node"], d["field"]): d["values"] for d in table.design_diff}
    assert design[("tokenEmbedding", "d_model")] == {small.mlflow_run_id: 32, wide.mlflow_run_id: 48}
    assert design[("attention", "n_heads")] == {small.mlflow_run_id: 2, wide.mlflow_run_id: 4}
    assert ("layerNorm 3", "eps") not in design  # only what differs

    # one run selected: its curves, no diff
    table.selected = [wide.mlflow_run_id]
    assert list(table.curves) == [wide.mlflow_run_id] and table.params_diff == [] and table.design_diff == []

    third = train(tiny(tok), corpus, tok, steps=3, **FAST)
    assert len(table.rows) == 2
    table._dispatch_msg(table, {"type": "refresh"}, [])  # the Refresh button
    assert table.rows[0]["run_id"] == third.mlflow_run_id and len(table.rows) == 3
    assert table.selected == [wide.mlflow_run_id] and table.error == ""


def test_runs_widget_on_an_empty_store_says_so(tmp_path, monkeypatch):
    from slamdunk_lab.widgets import Runs

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}")
    table = Runs()
    assert table.rows == [] and table.error == "" and not (tmp_path / "none").exists()


def test_a_stopped_run_is_stopped_and_its_resume_continues_the_same_run(corpus, tok):
    """#8 item 5: stopped reads "stopped" with the checkpoint to resume from; a resumed run is one row with its
    segments, one curve in the runs browser, and its monitor shows the whole curve."""
    from slamdunk_lab.widgets import Runs

    run = train(tiny(tok), corpus, tok, steps=16, background=True, name="lineage", **FAST)
    run.subscribe(lambda e: run.stop() if isinstance(e, Step) and e.step >= 3 else None)
    run.wait(60)
    stopped_at = run.step
    assert run.status == "stopped" and 3 <= stopped_at < 16
    where = f"step-{stopped_at:06d}"
    assert run.status_line == f"stopped at step {stopped_at}/16; sd.resume(run) continues from {where}"
    assert repr(run).startswith(f"Run({run.name!r}, stopped at step {stopped_at}/16; sd.resume(run) continues")
    row = runs().set_index("run_id").loc[run.mlflow_run_id]
    assert row["status"] == "stopped" and row["checkpoint"] == run.last_checkpoint
    assert Runs().rows[0]["status"] == "stopped"

    rest = sd.resume(run, progress=False, monitor=False)  # the rest of the plan, blocking here
    assert rest.status == "finished" and rest.step == 16 and rest.start_step == stopped_at
    assert rest.resumed_from == run.last_checkpoint
    table = runs()
    assert list(table.run_id) == [rest.mlflow_run_id]  # one run as the student sees it
    row = table.iloc[0]
    assert row["name"] == run.name and row["status"] == "finished" and row["step"] == 16
    assert [(s["run_id"], s["status"], s["start_step"], s["step"]) for s in row["segments"]] == [
        (run.mlflow_run_id, "stopped", 0, stopped_at), (rest.mlflow_run_id, "finished", stopped_at, 16)]

    monitor = rest.monitor()  # the whole curve, from step 1
    wait_until(lambda: monitor.state == "finished", 10)
    assert [p["step"] for p in monitor.history if "loss" in p] == list(range(1, 17))

    browser = Runs()
    assert [r["run_id"] for r in browser.rows] == [rest.mlflow_run_id]
    assert [s["name"] for s in browser.rows[0]["segments"]] == [run.name, rest.name]
    browser.selected = [rest.mlflow_run_id]
    assert [s for s, _ in browser.curves[rest.mlflow_run_id]["loss"]] == list(range(1, 17))


def test_the_design_diff_matches_blocks_by_their_place_not_their_id(corpus, tok):
    """A design drawn by hand (other node ids) compares block by block with the template it equals."""
    from slamdunk_lab.widgets import Runs

    template = tiny(tok)
    renamed = {old["id"]: f"n{i}" for i, old in enumerate(template["nodes"])}
    by_hand = {**template, "nodes": [], "edges": []}
    for node in reversed(template["nodes"]):  # other ids, listed in another order
        new = {**node, "id": renamed[node["id"]], "data": dict(node.get("data") or {})}
        if node.get("parentId"):
            new["parentId"] = renamed[node["parentId"]]
        by_hand["nodes"].append(new)
    by_hand["nodes"].sort(key=lambda n: bool(n.get("parentId")))  # a group before its blocks
    by_hand["edges"] = [{**e, "id": f"e{i}", "source": renamed[e["source"]], "target": renamed[e["target"]]}
                        for i, e in enumerate(template["edges"])]
    for node in by_hand["nodes"]:
        if node["type"] == "feedForward":
            node["data"]["hidden_dim"] = 64
    a = train(template, corpus, tok, steps=2, **FAST)
    b = train(by_hand, corpus, tok, steps=2, **FAST)
    table = Runs()
    table.selected = [a.mlflow_run_id, b.mlflow_run_id]
    assert [(d["node"], d["field"]) for d in table.design_diff] == [("feedForward", "hidden_dim")]
    assert table.design_diff[0]["values"] == {a.mlflow_run_id: 128, b.mlflow_run_id: 64}
    assert table.design_diff[0]["titles"] == {"en": "Feed-forward", "ko": "피드포워드"}  # as the page names it
