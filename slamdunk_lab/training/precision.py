"""``dtype="auto"``: bfloat16 autocast where it is measured to be faster for this model on this machine, float32
elsewhere; and this machine's measured matmul peak, for the monitor's MFU.

The rule is grounded in measurements, never in guesses about hardware:

* **Probe.** At the start of a run, the model's own training step (forward and backward on a real batch of the
  run's shape) is timed in float32 and under bfloat16 autocast, interleaved (A B, B A, …, after one warm-up
  of each) so that a machine busy with other work slows both alike; the speed-up is the median of the
  per-round ratios.
* **Rule** (:func:`decide`, deterministic): bfloat16 when its step takes at most 1 − :data:`MARGIN` of
  float32's (a speed-up of at least 1.11); float32 otherwise (a tie is not worth bfloat16's rounding).
* **Cache.** Probes are kept in this machine's *record*, a JSON file under the per-user cache folder
  (``$SLAMDUNK_CACHE_DIR/machine/`` or ``~/.cache/slamdunk_lab/machine/``, one file per machine: CPU or GPU
  model, torch version and thread count), keyed by the design's hash and the step's shape (batch, context,
  device, compile), so a design is probed once per machine. ``$SLAMDUNK_MACHINE_RECORD`` names another record
  file (tests use it to make the choice deterministic).
* **Resume.** A checkpoint records the choice; a resumed ``auto`` run uses it without probing, so it
  continues exactly.

The record also holds the machine's matmul peak per precision (:func:`peak_flops`, measured once): MFU, the
"model FLOPs utilisation", is the training FLOPs the model does per second (``sd.analyze``'s training FLOPs per
token × tokens/s) divided by that peak.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .._files import safe_name, write_json_atomic

RECORD_ENV = "SLAMDUNK_MACHINE_RECORD"
#: bfloat16 must make the step at least this much faster (median) to be chosen.
MARGIN = 0.10
#: Interleaved rounds of the probe (each times one float32 and one bfloat16 step), after one warm-up each.
PROBE_ROUNDS = 3
RECORD_VERSION = 1
#: A probe of slow steps (over a second) stops after two rounds when both ratios are beyond this either way.
DECISIVE = 1.5


@dataclass
class Choice:
    """The precision a run trains in, and why (``requested``: what the user asked for)."""

    dtype: str
    reason: str
    requested: str

    def to_json(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ the machine record
def machine_name(device: torch.device) -> str:
    """What the measurements depend on: the processor (or GPU), torch's version and its thread count."""
    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        chip = f"Apple MPS {platform.machine()}"
    else:
        chip = _cpu_model() or platform.processor() or platform.machine()
        chip = f"{chip} {torch.get_num_threads()} threads"
    return f"{chip} torch {torch.__version__.split('+')[0]}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def record_path(device: torch.device) -> Path:
    """``$SLAMDUNK_MACHINE_RECORD``, else this machine's file in the per-user cache folder."""
    chosen = os.environ.get(RECORD_ENV)
    if chosen:
        return Path(chosen).expanduser()
    root = os.environ.get("SLAMDUNK_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "slamdunk_lab"
    return base / "machine" / f"{safe_name(machine_name(device))[:150]}.json"


def load_record(path: Path) -> dict:
    """The record at ``path`` (an empty one when there is none or it cannot be read)."""
    try:
        if path.is_file() and path.stat().st_size < 16 * 2**20:
            record = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(record, dict):
                record.setdefault("probes", {})
                record.setdefault("peak_flops", {})
                return record
    except (OSError, ValueError):
        pass
    return {"version": RECORD_VERSION, "probes": {}, "peak_flops": {}, "peak_load_average": {}}


def _save_record(path: Path, record: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, record)
    except OSError:  # a read-only cache: measured again next time, nothing lost
        pass


def probe_key(design_hash: str, batch_size: int, context: int, device: torch.device, compiled: bool) -> str:
    """The design and the shape of its step: what a probe's result depends on besides the machine."""
    return f"{design_hash}-b{batch_size}-t{context}-{device.type}" + ("-compiled" if compiled else "")


# ------------------------------------------------------------------ the rule
def decide(probe: dict | None, requested: str = "auto") -> Choice:
    """The precision for a probe result ``{"float32_s": median step, "bfloat16_s": median step, "speedup": median
    of the per-round float32/bfloat16 ratios}``: bfloat16 when the step takes at most 1 − :data:`MARGIN` of
    float32's time (speedup ≥ 1.11), else float32. ``None`` (bfloat16 could not run) is float32."""
    if requested != "auto":
        return Choice(requested, f"{requested}, as asked", requested)
    if not probe or not probe.get("bfloat16_s") or not probe.get("float32_s"):
        why = (probe or {}).get("error") or "bfloat16 autocast is not available on this device"
        return Choice("float32", f"float32: {why}", requested)
    f32, bf16 = float(probe["float32_s"]), float(probe["bfloat16_s"])
    speedup = float(probe.get("speedup") or f32 / bf16)
    measured = (f"a training step took {bf16 * 1e3:.0f} ms in bfloat16 and {f32 * 1e3:.0f} ms in float32 "
                f"(medians of {probe.get('rounds', PROBE_ROUNDS)} interleaved probes on this machine)")
    if speedup >= 1 / (1 - MARGIN):
        return Choice("bfloat16", f"bfloat16 autocast, {speedup:.2f}× faster: {measured}", requested)
    return Choice("float32", f"float32: bfloat16 autocast was not at least {MARGIN:.0%} faster ({speedup:.2f}×): "
                             f"{measured}", requested)


def probe(step: Callable[[str], None], rounds: int | None = None,
          synchronize: Callable[[], None] = lambda: None) -> dict:
    """Time ``step("float32")`` and ``step("bfloat16")`` interleaved: one warm-up each, then ``rounds`` pairs in
    alternating order (:data:`PROBE_ROUNDS`, or 7 when a step takes under 0.2 s); the medians of each and the
    median of the per-round ratios (the two steps of a round share the machine's state, so on a busy machine
    their ratio is far steadier than either time). An error in bfloat16 (no autocast support) is recorded, not
    raised."""
    times: dict[str, list[float]] = {"float32": [], "bfloat16": []}

    def timed(dtype: str) -> float:
        synchronize()
        t0 = time.perf_counter()
        step(dtype)
        synchronize()
        return time.perf_counter() - t0

    try:
        timed("bfloat16")
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        return {"float32_s": None, "bfloat16_s": None, "error": f"bfloat16 autocast failed here ({exc})"[:300]}
    warm = timed("float32")
    rounds = rounds or (PROBE_ROUNDS if warm >= 0.2 else 7)
    for i in range(rounds):
        for dtype in (("float32", "bfloat16") if i % 2 == 0 else ("bfloat16", "float32")):
            times[dtype].append(timed(dtype))
        ratios = [f / b for f, b in zip(times["float32"], times["bfloat16"])]
        if i >= 1 and warm >= 1.0 and (min(ratios) >= DECISIVE or max(ratios) <= 1 / DECISIVE):
            rounds = i + 1  # slow steps and a clear answer in both orders: a third round would not change it
            break
    return {"float32_s": statistics.median(times["float32"]), "bfloat16_s": statistics.median(times["bfloat16"]),
            "speedup": statistics.median(ratios), "rounds": rounds, "float32_all": times["float32"],
            "bfloat16_all": times["bfloat16"],
            "load_average": _load_average(),
            "measured": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def choose(requested: str, key: str, device: torch.device, step: Callable[[str], None],
           synchronize: Callable[[], None] = lambda: None) -> Choice:
    """The run's precision: as asked, or for ``"auto"`` the rule applied to this machine's record for ``key``
    (probing with ``step`` and recording the result when the record has none)."""
    if requested != "auto":
        return decide(None, requested)
    if device.type not in ("cpu", "cuda"):
        return Choice("float32", f"float32: bfloat16 autocast is not probed on {device.type}", requested)
    path = record_path(device)
    record = load_record(path)
    found = record["probes"].get(key)
    if found is None:
        found = probe(step, synchronize=synchronize)
        record = load_record(path)  # another run may have written it meanwhile
        record["machine"] = machine_name(device)
        record["probes"][key] = found
        _save_record(path, record)
    return decide(found, requested)


# ------------------------------------------------------------------ the machine's matmul peak
def peak_flops(dtype: str, device: torch.device) -> float:
    """This machine's measured dense matmul rate in ``dtype`` (FLOP/s), from the record (measured once).

    A peak measured while the machine was busy (a load average at or above its core count) is measured again
    at a later start when the machine is less busy, and the higher figure kept: the peak is what the
    hardware can do, not what it did under someone else's load."""
    path = record_path(device)
    record = load_record(path)
    value = record["peak_flops"].get(dtype)
    loads = record.setdefault("peak_load_average", {})
    known = isinstance(value, (int, float)) and value > 0
    now = _load_average()
    busy_then = loads.get(dtype) is not None and loads[dtype] >= (os.cpu_count() or 1)
    if known and not (busy_then and now is not None and now < loads[dtype] and device.type == "cpu"):
        return float(value)
    measured = measure_matmul_peak(dtype, device)
    record = load_record(path)
    record["machine"] = machine_name(device)
    record["peak_flops"][dtype] = max(measured, float(value) if known else 0.0)
    record.setdefault("peak_load_average", {})[dtype] = now if measured >= (value if known else 0) else loads[dtype]
    _save_record(path, record)
    return float(record["peak_flops"][dtype])


def measure_matmul_peak(dtype: str, device: torch.device, n: int | None = None, seconds: float = 0.5) -> float:
    """Best of 5 timings of repeated n×n @ n×n matmuls in ``dtype`` (2n³ FLOPs each): the most this machine's
    matmul reaches, the ceiling a training step's FLOP/s is compared with."""
    n = n or (4096 if device.type == "cuda" else 2048)
    torch_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.random.fork_rng(devices=[]):
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen).to(device=device, dtype=torch_dtype)
        b = torch.randn(n, n, generator=gen).to(device=device, dtype=torch_dtype)
    a @ b  # warm-up
    sync()
    t0 = time.perf_counter()
    reps = 0
    while time.perf_counter() - t0 < seconds / 4 or reps < 2:
        a @ b
        reps += 1
    sync()
    per = (time.perf_counter() - t0) / reps
    reps = max(2, int(seconds / 3 / max(per, 1e-9)))
    best = float("inf")
    for _ in range(5):  # best of 5: on a shared machine the best is the one least disturbed
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync()
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2 * n**3 / best


def mfu(flops_per_token: float, tokens_per_s: float, peak: float) -> float:
    """Model FLOPs utilisation: the training FLOP/s achieved over the machine's matmul peak."""
    return flops_per_token * tokens_per_s / peak if peak > 0 else 0.0


def record_for_tests(path: str | os.PathLike, key: str, float32_s: float, bfloat16_s: float,
                     peaks: dict[str, float] | None = None) -> Path:
    """Write a machine record (for tests and demos): one probe result and, optionally, matmul peaks."""
    p = Path(path)
    record = load_record(p)
    record["probes"][key] = {"float32_s": float32_s, "bfloat16_s": bfloat16_s, "speedup": float32_s / bfloat16_s,
                             "rounds": PROBE_ROUNDS}
    record["peak_flops"].update(peaks or {})
    _save_record(p, record)
    return p
