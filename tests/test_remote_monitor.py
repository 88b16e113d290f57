"""The monitor shows what only remote runs do: the worker's name, a lost worker, a forced stop, a run that was
delivered again after its worker died."""

from __future__ import annotations

import pytest

from slamdunk_lab.runners.base import Run
from slamdunk_lab.training import JobSpec, Lost, Started, Step, Stopped
from slamdunk_lab.widgets import Monitor

pytest.importorskip("anywidget")


def remote_like_run() -> Run:
    return Run(JobSpec(name="r", experiment="e", graph={}, data={"kind": "cache"}, config={"steps": 40}))


def follow(run: Run) -> Monitor:
    m = Monitor(interval=0.0).follow(run)
    return m


def test_a_lost_worker_reads_as_a_failure_that_says_how_to_go_on():
    run = remote_like_run()
    m = follow(run)
    run.record(Started(run="r", step=0, total_steps=40, worker="w1@host"))
    run._dispatcher.drain(5)
    assert "w1@host" in m.status
    run.record(Step(run="r", step=2, total_steps=40, loss=3.0, points=[[1, 3.1, 1e-3, 1.0], [2, 3.0, 1e-3, 1.0]]))
    run._dispatcher.drain(5)
    assert m.state == "running" and m.status == "step 2/40" and m.count == 2
    run.record(Lost(run="r", step=2, checkpoint="/runs/e/r/step-000002", worker="w1@host"))
    run._dispatcher.drain(5)
    assert run.status == "lost" and m.state == "failed" and not m.running and not m.can_stop
    assert m.error == "lost: the worker w1@host stopped answering; sd.resume(run) continues it from step-000002 on any worker"
    run.record(Started(run="r", step=2, total_steps=40, worker="w2@host", history=run.history))  # delivered again
    run._dispatcher.drain(5)
    assert run.status == "running" and m.state == "running" and "w2@host" in m.status


def test_a_forced_stop_reads_as_killed():
    run = remote_like_run()
    m = follow(run)
    run.record(Started(run="r", step=0, total_steps=40))
    run.record(Stopped(run="r", step=5, checkpoint="/x/step-000005", forced=True))
    run._dispatcher.drain(5)
    assert run.status == "killed" and m.state == "stopped" and m.status == "killed at step 5"
