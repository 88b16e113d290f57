"""Training in the kernel: ``train``, ``resume``, ``runs``, ``load_run`` and the :class:`Run` handle.

>>> import slamdunk_lab as sd
>>> corpus = sd.data.synthetic("reverse", n=2000)                                    # doctest: +SKIP
>>> tok = sd.tokenizers.char(corpus)                                                 # doctest: +SKIP
>>> g = sd.template("gpt2", size="tiny", vocab_size=tok.vocab_size)                  # doctest: +SKIP
>>> run = sd.train(g, corpus, tok, steps=500)                                        # doctest: +SKIP
>>> run.status, run.history[-1]["kind"]                                              # doctest: +SKIP
('finished', 'sample')
>>> model, tok = sd.load_run(run.checkpoint_dir)                                     # doctest: +SKIP
"""

from __future__ import annotations

from .events import (
    Checkpoint,
    Eval,
    Event,
    Failed,
    Finished,
    Sample,
    Started,
    Step,
    Stopped,
    Subscription,
    event_from_json,
)
from .progress import ConsoleProgress
from .runs import Run, interactive_kernel, load_run, resume, runs, train
from .schedule import lr_at
from .trainer import TrainConfig, sample_text

__all__ = ["Checkpoint", "ConsoleProgress", "Eval", "Event", "Failed", "Finished", "Run", "Sample", "Started",
           "Step", "Stopped", "Subscription", "TrainConfig", "event_from_json", "interactive_kernel", "load_run",
           "lr_at", "resume", "runs", "sample_text", "train"]
