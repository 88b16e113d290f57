"""No poisoned or half-written files: SIGKILL at any instant of a save or a checkpoint leaves a loadable model,
temporary folders of dead processes go away, a NaN never becomes the run's latest checkpoint, a killed run shows
the last step it reached, and a run stopped while queued lets go of its files."""

from __future__ import annotations

import gc
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

import slamdunk_lab as sd
from slamdunk_lab import _files, tokenizers
from slamdunk_lab.training import checkpoint as ckpt

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill loops fork")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _tiny(seed: int):
    torch.manual_seed(seed)
    return sd.build(sd.template("gpt2", size="tiny", n_layer=1, d_model=32, vocab_size=256, context=16))


def _fingerprint(model) -> float:
    return float(sum(p.detach().double().sum() for p in model.parameters()))


def _kill_loop(kills: int, work, check, max_delay: float, seed: int = 0) -> None:
    """Fork a child that runs ``work()`` forever, SIGKILL it after a random delay, then ``check()``; ``kills``
    times. The delays spread the kills over every instant of the work."""
    rng = random.Random(seed)
    for i in range(kills):
        pid = os.fork()
        if pid == 0:  # the child: work until killed
            try:
                torch.set_num_threads(1)
                while True:
                    work()
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0, max_delay))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check(i)


def test_sd_save_survives_200_sigkills_at_any_instant(tmp_path):
    torch.set_num_threads(1)
    a, b = _tiny(1), _tiny(2)
    tok = tokenizers.byte()
    expected = {_fingerprint(a): "a", _fingerprint(b): "b"}
    folder = tmp_path / "model"
    sd.save(a, folder, tokenizer=tok)
    turn = [0]

    def save_both():  # in the child: overwrite the folder with a, then b, then a ...
        turn[0] += 1
        sd.save((a, b)[turn[0] % 2], folder, tokenizer=tok)

    seen, mid_swap = Counter(), [0]

    def check(_):
        if not (folder / "slamdunk.json").exists():
            mid_swap[0] += 1  # killed between moving the old save out and the new one in: load finishes it
        model = sd.load(folder)  # never an error: the old save or the new one, whole
        seen[expected[_fingerprint(model)]] += 1
        assert model.tokenizer is not None

    _kill_loop(200, save_both, check, max_delay=0.04)
    assert sum(seen.values()) == 200 and set(seen) == {"a", "b"}, seen
    leftovers = [p.name for p in folder.iterdir() if ".saving-" in p.name]
    assert leftovers == [], leftovers  # every temporary folder of a killed save is gone
    print(f"outcomes {dict(seen)}, {mid_swap[0]} kills landed mid-swap")


def test_a_new_folder_killed_while_saving_never_appears_half_written(tmp_path):
    torch.set_num_threads(1)
    model = _tiny(3)
    counter = [0]

    def save_new():
        counter[0] += 1
        sd.save(model, tmp_path / f"m{os.getpid()}-{counter[0]}")

    def check(_):
        for folder in tmp_path.glob("m*"):
            assert sd.load(folder) is not None  # a folder that exists is complete

    _kill_loop(30, save_new, check, max_delay=0.03, seed=1)
    sd.save(model, tmp_path / "after")  # the next save beside them clears their temporary folders
    sd.load(tmp_path / "after")
    for folder in tmp_path.glob("m*"):
        sd.save(model, folder)
    assert not [p for p in tmp_path.iterdir() if ".saving-" in p.name]


def test_checkpoints_survive_100_sigkills_and_stale_temporaries_go(tmp_path):
    torch.set_num_threads(1)
    model = _tiny(4)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 4, dtype=torch.long)).sum().backward()
    optimizer.step()
    tok = tokenizers.byte()
    root = tmp_path / "run"
    state = {"config": {}, "graph": model.graph, "rng": {"torch_cpu": "", "numpy_batches": {}}}
    ckpt.save(root, 1, model, optimizer, state, tok, keep=2)
    step = [1]

    def write():
        step[0] += 1
        ckpt.save(root, step[0] + 1000 * (os.getpid() % 1000), model, optimizer, state, tok, keep=2)

    def check(_):
        loaded = ckpt.LoadedCheckpoint(root)  # opening the run removes the dead writer's .tmp-step-* folder
        loaded.build_model()
        assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]

    _kill_loop(100, write, check, max_delay=0.04, seed=2)


def test_temporary_folders_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    model, tok = _tiny(5), tokenizers.byte()
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)
    host = _files._host()
    dead, alive = f"{_dead_pid()}@{host}", f"{os.getppid()}@{host}"
    elsewhere = f"{_dead_pid()}@another-machine"  # a pid of another machine sharing the folder: not ours to judge
    for tag in (dead, alive, elsewhere):
        (folder / f".m.saving-{tag}-0123abcd").mkdir()
        (folder / f".m.saving-{tag}-0123abcd" / "model.safetensors").write_bytes(b"x" * 1000)
    run = tmp_path / "run"
    root = ckpt.save(run, 1, model, torch.optim.AdamW(model.parameters()),
                     {"config": {}, "graph": model.graph, "rng": {"torch_cpu": "", "numpy_batches": {}}}, tok).parent
    (root / f".tmp-step-000002-{dead}").mkdir()
    (root / f".tmp-step-000003-{alive}").mkdir()
    (root / f".tmp-step-000004-{_dead_pid()}").mkdir()  # written by an older version: no host, this machine's
    sd.load(folder)
    ckpt.LoadedCheckpoint(root)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == sorted(
        [f".m.saving-{alive}-0123abcd", f".m.saving-{elsewhere}-0123abcd"])
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [f".tmp-step-000003-{alive}"]


# ----------------------------------------------------------------------------------------- NaN
@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SLAMDUNK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("SLAMDUNK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "runs"


def _corpus_and_graph():
    corpus = sd.data.synthetic("grammar", n=300)
    tok = tokenizers.char(corpus)
    return corpus, tok, sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size, context=32)


def _finite_forward(checkpoint: str, tok, corpus) -> bool:
    model, _ = sd.load_run(checkpoint)
    x = torch.tensor([tok.encode(corpus.docs[0][:32])])
    return bool(torch.isfinite(model(x)).all())


def test_after_a_nan_at_step_k_the_latest_checkpoint_is_one_that_works(runs_dir, one_torch_thread):
    corpus, tok, graph = _corpus_and_graph()
    # the loss of step 11 is NaN: it was computed with the weights of step 10, which were checkpointed
    run = sd.train(graph, corpus, tok, steps=20, batch_size=4, context=32, checkpoint_every=5, eval_every=0,
                   sample_every=0, mlflow=False, background=False, progress=False,
                   _hooks={"loss": lambda step, loss: loss * math.nan if step == 11 else loss})
    assert run.status == "failed"
    assert "the checkpoint of step 10, whose weights gave this loss, was removed" in run.error
    assert "latest checkpoint is now step 5" in run.error
    assert Path(run.last_checkpoint).name == "step-000005"
    assert ckpt.LoadedCheckpoint(run.checkpoint_dir).step == 5 and _finite_forward(run.last_checkpoint, tok, corpus)
    # a run that diverges by itself (a huge learning rate): whatever is left as latest works
    wild = sd.train(graph, corpus, tok, steps=30, batch_size=4, context=32, lr=1e4, min_lr=0.0, warmup=0,
                    grad_clip=0.0, checkpoint_every=1, eval_every=0, sample_every=0, mlflow=False,
                    background=False, progress=False, keep_checkpoints=30)
    assert wild.status == "failed" and "nan" in wild.error.lower()
    if wild.last_checkpoint is not None:
        assert _finite_forward(wild.last_checkpoint, tok, corpus)


def test_weights_that_overflow_are_never_checkpointed(runs_dir, one_torch_thread):
    corpus, tok, graph = _corpus_and_graph()
    run = sd.train(graph, corpus, tok, steps=10, batch_size=4, context=32, checkpoint_every=5, eval_every=0,
                   sample_every=0, mlflow=False, background=False, progress=False)
    trainer = run._trainer
    with torch.no_grad():  # finite weights whose attention scores overflow to inf, then NaN
        trainer.model.blocks[0].attn.qkv_proj.weight.fill_(1e30)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    trainer.step += 1
    with pytest.raises(Exception, match="finite but the model's output on a training batch is NaN or infinite"):
        trainer.save_checkpoint()
    assert ckpt.LoadedCheckpoint(run.checkpoint_dir).step == 10  # latest still points at the good one


# ----------------------------------------------------------------------------------------- runs
@pytest.mark.slow
def test_a_killed_run_shows_the_last_step_it_reached(tmp_path, monkeypatch):
    env = {**os.environ, "SLAMDUNK_RUNS_DIR": str(tmp_path / "runs"), "SLAMDUNK_CACHE_DIR": str(tmp_path / "c"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "HF_HUB_OFFLINE": "1"}
    script = textwrap.dedent("""
        import torch, slamdunk_lab as sd
        torch.set_num_threads(1)
        corpus = sd.data.synthetic("grammar", n=300); tok = sd.tokenizers.char(corpus)
        g = sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size, context=32)
        sd.train(g, corpus, tok, steps=100000, batch_size=4, context=32, checkpoint_every=20, eval_every=0,
                 sample_every=0, mlflow=True, background=False, progress=False, name="doomed")
    """)
    # stderr to a file, not a pipe nobody reads while it trains: a child that writes more than a pipe holds
    # (warnings, logging) would block there and never reach step 40
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 300
        while not list((tmp_path / "runs").glob("doomed/*/step-000040")):
            assert proc.poll() is None, errors.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "the run never reached step 40: " + \
                errors.read_text(errors="replace")[-2000:]
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"])
    table = sd.runs()
    row = table[table["name"].str.startswith("doomed")].iloc[0]
    assert row["status"] == "killed"  # its kernel died: killed, not stopped
    assert row["step"] is not None and not math.isnan(row["step"]) and row["step"] >= 40


def test_a_run_stopped_while_queued_lets_go_of_its_token_files(runs_dir, one_torch_thread):
    corpus, tok, graph = _corpus_and_graph()
    first = sd.train(graph, corpus, tok, steps=100000, batch_size=4, context=32, eval_every=0, sample_every=0,
                     mlflow=False, background=True, progress=False, monitor=False)
    other = sd.data.text("a queued run's own text " * 400, name="queued")
    queued = sd.train(graph, other, tokenizers.char(other), steps=5, batch_size=4, context=32, eval_every=0,
                      sample_every=0, mlflow=False, background=True, progress=False, monitor=False)
    try:
        assert queued.status == "queued"
        queued.stop().wait(30)
        assert queued.status == "stopped"
        gc.collect()
        cache = runs_dir.parent / "cache" / "tokens"
        mine = [p for p in cache.iterdir() if (p / "meta.json").exists()
                and '"queued"' in (p / "meta.json").read_text()]
        assert mine, list(cache.iterdir())
        mapped = Path("/proc/self/maps").read_text()
        assert str(mine[0]) not in mapped, "the stopped run still maps its token files"
    finally:
        first.stop().wait(60)
