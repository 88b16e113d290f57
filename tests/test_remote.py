"""Remote runs on real Celery worker processes over a real Redis: same handle, exact resume anywhere, at most
one copy of a job at a time, stop and force stop, lost workers."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from remote_harness import Cluster, redis_or_skip, wait_for

import slamdunk_lab as sd
from slamdunk_lab import data, tokenizers
from slamdunk_lab.runners.remote import CeleryRunner

pytestmark = pytest.mark.slow

SETTINGS = {"batch_size": 4, "context": 16, "warmup": 2, "eval_every": 0, "sample_every": 0, "lr": 3e-3,
            "mlflow": False, "progress": False}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    client = redis_or_skip()
    c = Cluster(tmp_path_factory.mktemp("remote"))
    c.start_worker("w1")
    c.start_worker("w2")
    try:
        c.wait_ready("w1", "w2")
        yield c
    finally:
        c.close(client)


@pytest.fixture(autouse=True)
def _env(cluster, monkeypatch, one_torch_thread):
    cluster.apply(monkeypatch)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def setup():
    corpus = data.synthetic("reverse", n=400, seed=0)
    tok = tokenizers.char(corpus)
    g = sd.template("gpt2", size="tiny", n_layer=1, d_model=16, n_head=2, context=16, vocab_size=tok.vocab_size)
    return corpus, tok, g


def losses(history) -> list[float]:
    return [h["loss"] for h in history if h["kind"] == "train"]


def reference(setup, steps: int, **over) -> list[float]:
    """The same job trained without interruption in this process."""
    corpus, tok, g = setup
    run = sd.train(g, corpus, tok, steps=steps, background=False, **{**SETTINGS, **over})
    return losses(run.history)


def remote(setup, steps: int, queue: str = "cpu", **over):
    corpus, tok, g = setup
    return sd.train(g, corpus, tok, steps=steps, runner="celery", queue=queue, background=True,
                    **{**SETTINGS, **over})


def test_a_worker_trains_a_job_and_the_handle_is_a_local_ones(setup):
    run = remote(setup, 12, checkpoint_every=6)
    assert run.runner == "celery" and run.status in ("queued", "running")
    run.wait(180)
    assert run.status == "finished" and run.step == 12 and run.worker in ("w1@test", "w2@test")
    assert losses(run.history) == reference(setup, 12, checkpoint_every=6)  # same numbers, every step
    kinds = [type(e).__name__ for e in run.events]
    assert kinds[0] == "Started" and kinds[-1] == "Finished" and kinds.count("Checkpoint") == 2
    assert run.last_checkpoint.endswith("step-000012") and "runs/gpt2-tiny/" in run.last_checkpoint
    assert sum(p.numel() for p in run.model.parameters()) > 0  # loaded from the shared runs folder
    again = CeleryRunner().attach(run.id).wait(30)  # a second reader: every event again
    assert [type(e).__name__ for e in again.events] == kinds and again.history == run.history


def test_sigkill_marks_the_run_lost_and_resume_elsewhere_is_exact(setup, cluster):
    cluster.start_worker("doomed", queues="doomed")
    cluster.wait_ready("doomed")
    run = remote(setup, 40, queue="doomed", checkpoint_every=5)
    wait_for(lambda: run.last_checkpoint and run.step >= 7, 180, "a checkpoint and a few more steps")
    cluster.kill("doomed")
    killed_at = time.monotonic()
    wait_for(lambda: run.status == "lost", 8 + 10, "the run to be marked lost")  # heartbeat TTL is 8 s
    assert time.monotonic() - killed_at < 8 + 5
    lost = run.events[-1]
    assert type(lost).__name__ == "Lost" and lost.worker == "doomed@test" and lost.checkpoint
    rest = sd.resume(run, background=True)  # any worker: w1 or w2 (queue cpu)
    rest.wait(180)
    assert rest.status == "finished" and rest.step == 40 and rest.worker in ("w1@test", "w2@test")
    assert losses(rest.history) == reference(setup, 40, checkpoint_every=5)  # exact, as if never killed
    record = CeleryRunner().store.get(run.id)
    assert record["status"] == "lost" and record["continued_by"] == rest.id


def test_a_redelivered_message_never_starts_a_second_copy(setup, cluster):
    from slamdunk_lab.runners.workers import TASK

    run = remote(setup, 100_000)
    wait_for(lambda: run.status == "running", 120, "the run to start")
    runner = CeleryRunner()
    spec = runner.store.spec(run.id)
    runner.app.send_task(TASK, args=[spec], queue="cpu", task_id=run.id)  # the same message, delivered again
    wait_for(lambda: runner.store.get(run.id).get("duplicates") == "1", 60, "the other worker to drop it")
    run.stop().wait(120)
    assert run.status == "stopped"
    assert [type(e).__name__ for e in run.events].count("Started") == 1
    holder = run.worker
    other = "w2" if holder == "w1@test" else "w1"
    assert "is already running on " + holder in cluster.log(other)


def test_stop_checkpoints_and_force_stop_kills(setup):
    run = remote(setup, 100_000, checkpoint_every=5)
    wait_for(lambda: run.step >= 3, 120, "a few steps")
    run.stop().wait(60)
    assert run.status == "stopped" and 3 <= run.step < 100_000
    assert run.last_checkpoint.endswith(f"step-{run.step:06d}")  # the step it stopped at, checkpointed
    forced = remote(setup, 100_000, checkpoint_every=5)
    wait_for(lambda: forced.last_checkpoint and forced.step >= 7, 120, "a checkpoint and more steps")
    forced.stop(force=True).wait(60)
    end = forced.events[-1]
    assert forced.status == "killed" and type(end).__name__ == "Stopped" and end.forced
    kept = int(end.checkpoint.rsplit("-", 1)[1])
    assert kept % 5 == 0 and kept <= forced.step  # the last checkpoint written before; no new one
    record = CeleryRunner().store.get(forced.id)
    assert record["status"] == "killed"


def test_a_job_stopped_while_queued_never_trains(setup, cluster):
    run = remote(setup, 50, queue="nobody-listens")
    run.stop()
    cluster.start_worker("late", queues="nobody-listens")
    run.wait(120)
    assert run.status == "stopped" and run.step == 0 and run.history == []
    cluster.kill("late")


def restore_unacked(app) -> int:
    """What Redis's transport does once a message has been unacknowledged for the visibility timeout (a day by
    default, so the test does it now): put the dead worker's message back on its queue."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        tags = channel.client.zrange(channel.unacked_index_key, 0, -1)  # (ZRANGE takes the key prefix)
        for tag in tags:
            channel.qos.restore_by_tag(tag, channel.client)
        return len(tags)


def test_redelivery_after_a_dead_worker_resumes_from_its_checkpoint(setup, cluster):
    """acks_late: the dead worker's message comes back; the job's lock has lapsed with its heartbeat, so the
    other worker continues the same run from its last checkpoint."""
    cluster.start_worker("r1", queues="redeliver")
    cluster.start_worker("r2", queues="redeliver")
    cluster.wait_ready("r1", "r2")
    # long enough that the kill lands mid-run on a fast, quiet machine (40 steps could end before the kill)
    run = remote(setup, 160, queue="redeliver", checkpoint_every=5)
    wait_for(lambda: run.last_checkpoint and run.step >= 7, 180, "a checkpoint and a few more steps")
    first = run.worker.split("@")[0]
    cluster.kill(first)
    assert run.step < 160, "the run ended before its worker was killed"
    wait_for(lambda: run.status == "lost", 25, "the run to be marked lost")
    assert restore_unacked(CeleryRunner().app) >= 1
    restarted = wait_for(lambda: [e for e in run.events if type(e).__name__ == "Started"][1:], 120,
                         "the message to come back")
    assert restarted[0].worker != run.events[0].worker and restarted[0].step % 5 == 0 and restarted[0].step > 0
    run.wait(180)
    assert run.status == "finished" and run.step == 160
    assert losses(run.history) == reference(setup, 160, checkpoint_every=5)


def test_workers_pin_their_device_and_refuse_another_kind():
    from slamdunk_lab.runners.workers import pinned_config

    assert pinned_config({"device": "auto"}, "cpu")["device"] == "cpu"
    assert pinned_config({"device": "cuda"}, "cuda:1")["device"] == "cuda:1"
    with pytest.raises(ValueError, match="this worker trains on cpu, but the job asks for device 'cuda'.*gpu"):
        pinned_config({"device": "cuda"}, "cpu")
    from slamdunk_lab.runners.remote import queue_for

    assert queue_for({"device": "cuda:1"}) == "gpu" and queue_for({"device": "auto"}) == "cpu"


def test_a_worker_refuses_a_device_this_machine_lacks(cluster):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = subprocess.run([sys.executable, "-m", "slamdunk_lab.cli", "worker", "--device", "cuda:1"],
                         capture_output=True, text=True, env=cluster.env, timeout=60, check=False)
    assert out.returncode != 0 and "no CUDA GPU" in out.stderr


def test_the_worker_process_never_imports_torch_before_a_job(cluster):
    """prefork + torch hangs: the Celery app and the worker set-up must not import torch."""
    code = ("import sys; from slamdunk_lab.runners.workers import make_app, worker_argv; app = make_app(); "
            "import slamdunk_lab.cli; slamdunk_lab.cli.build_parser(); "
            "print(json.dumps(['torch' in sys.modules, worker_argv('cpu', ['cpu'], 'x')]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                         env=cluster.env, timeout=60, check=True)
    imported, argv = json.loads(out.stdout)
    assert imported is False
    assert argv[argv.index("--pool") + 1] == "solo" and argv[argv.index("--prefetch-multiplier") + 1] == "1"


def test_only_json_is_accepted_from_the_queue(cluster):
    from slamdunk_lab.runners.workers import make_app

    conf = make_app().conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.broker_transport_options["visibility_timeout"] >= 86400


def test_a_worker_starved_past_its_heartbeat_comes_back_and_finishes(setup, cluster):
    """A worker frozen longer than the heartbeat TTL (SIGSTOP: a swapping or overloaded machine) is taken for
    lost; when it runs again it takes its lock back, the run is running again and ends once, finished."""
    import os
    import signal

    cluster.start_worker("sleepy", queues="sleepy")
    cluster.wait_ready("sleepy")
    run = remote(setup, 300, queue="sleepy", checkpoint_every=50)
    wait_for(lambda: run.step >= 3, 120, "a few steps")
    pid = cluster.workers["sleepy"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: run.status == "lost", 30, "the frozen run to be taken for lost")
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: run.status == "running", 30, "the run to be running again")
    run.wait(240)
    assert run.status == "finished" and run.step == 300
    assert CeleryRunner().store.get(run.id)["status"] == "finished"
    kinds = [type(e).__name__ for e in run.events]
    assert kinds.count("Lost") == 1 and kinds.count("Finished") == 1 and kinds[-1] == "Finished"
    assert [h["step"] for h in run.history if h["kind"] == "train"] == list(range(1, 301))
    cluster.kill("sleepy")
