"""Training: the trainer, its events, checkpoints, MLflow logging, and :func:`execute`, the one function
every runner calls with a JSON :class:`JobSpec` (``sd.train``, ``sd.resume``, ``sd.runs`` and ``sd.load_run``
are in :mod:`slamdunk_lab.session`; the runners and the run handle in :mod:`slamdunk_lab.runners`).
Nothing here imports the widgets or the runners.

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
    Lost,
    Sample,
    Started,
    Step,
    Stopped,
    Subscription,
    event_from_json,
)
from .execute import Interrupted, Killed, execute
from .progress import ConsoleProgress
from .results import load_run
from .schedule import lr_at
from .spec import JobSpec, data_spec, runs_root, tokenizer_spec
from .trainer import TrainConfig, sample_text

__all__ = ["Checkpoint", "ConsoleProgress", "Eval", "Event", "Failed", "Finished", "Interrupted", "JobSpec",
           "Killed", "Lost", "Sample", "Started", "Step", "Stopped", "Subscription", "TrainConfig", "data_spec",
           "event_from_json", "execute", "load_run", "lr_at", "runs_root", "sample_text", "tokenizer_spec"]
