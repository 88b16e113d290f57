"""A console progress bar for scripts and blocking notebook cells: a run subscriber that prints.

On a terminal it redraws one line (``\\r``) at most 5 times a second; elsewhere (a log file, a notebook run
by nbclient) it prints a plain line every 10% of the steps, so captured output stays short. Evaluations,
samples, checkpoints and the end of the run always get their own lines.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .events import Checkpoint, Eval, Event, Failed, Finished, Sample, Started, Step, Stopped


def fmt_seconds(s: float) -> str:
    """``75`` → ``'1m15s'``."""
    s = max(0, round(s))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class ConsoleProgress:
    """Prints a run's events; attach with ``run.subscribe(ConsoleProgress())``."""

    def __init__(self, stream: TextIO | None = None, width: int = 24, min_interval: float = 0.2):
        self.stream = stream or sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_decile = -1
        self._open_line = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self._open_line:
            self._write("\n")
            self._open_line = False
        self._write(text + "\n")

    def bar(self, e: Step) -> str:
        frac = e.step / e.total_steps if e.total_steps else 0.0
        filled = int(self.width * frac)
        bar = "█" * filled + "·" * (self.width - filled)
        return (f"{e.run} {bar} {e.step}/{e.total_steps} loss {e.loss:.4f} lr {e.lr:.2e} "
                f"|g| {e.grad_norm:.2f} {e.tokens_per_s / 1000:.1f}k tok/s "
                f"{fmt_seconds(e.elapsed)} eta {fmt_seconds(e.eta)}")

    def __call__(self, e: Event) -> None:
        if isinstance(e, Step):
            if self.tty:
                now = time.monotonic()
                if now - self._last_draw >= self.min_interval or e.step == e.total_steps:
                    self._last_draw = now
                    self._write("\r" + self.bar(e) + "\x1b[K")
                    self._open_line = True
            else:
                decile = int(10 * e.step / e.total_steps) if e.total_steps else 0
                if decile > self._last_decile:
                    self._last_decile = decile
                    self._line(self.bar(e))
        elif isinstance(e, Started):
            self._line(f"{e.run}: training {e.params:,} parameters on {e.device} ({e.dtype}), steps "
                       f"{e.step}→{e.total_steps}; checkpoints in {e.checkpoint_dir}")
        elif isinstance(e, Eval):
            self._line(f"{e.run} step {e.step}: train loss {e.train_loss:.4f}, val loss {e.val_loss:.4f}")
        elif isinstance(e, Sample):
            self._line(f"{e.run} step {e.step} sample: {e.prompt + e.text!r}")
        elif isinstance(e, Checkpoint):
            pass  # the final line names the checkpoint; one line per save would be noise
        elif isinstance(e, Finished):
            val = f", val loss {e.val_loss:.4f}" if e.val_loss is not None else ""
            self._line(f"{e.run}: finished {e.step} steps in {fmt_seconds(e.elapsed)}{val}; "
                       f"checkpoint {e.checkpoint}")
        elif isinstance(e, Stopped):
            if e.checkpoint:
                self._line(f"{e.run}: stopped at step {e.step}; continue with sd.resume({e.checkpoint!r})")
            else:
                self._line(f"{e.run}: stopped before it started; there is nothing to resume")
        elif isinstance(e, Failed):
            self._line(f"{e.run}: failed at step {e.step}: {e.error}")
