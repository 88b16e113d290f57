"""Text generation playground: prompt, sampling settings, streamed output, next-token probabilities and
attention maps of the user's own model.

>>> pg = sd.Playground(model, tok)                 # doctest: +SKIP
>>> pg = sd.Playground.for_run(run)                # doctest: +SKIP  (the run's model, read when used)
>>> pg = sd.Playground(my_generate)                # doctest: +SKIP  (any function prompt -> text pieces)

Generation runs in a background thread; the text is pushed to the page at most ~10 times a second. Each
change of the prompt (the page sends it after a short pause in typing) recomputes the top-10 next-token
probabilities (``next_token_probs``) and the attention maps (``attention``) of the prompt, also in the
background. Problems (a character the tokenizer does not know, an empty prompt, bad settings) are shown in
the widget as one sentence, never as a traceback.
"""

from __future__ import annotations

import html
import inspect
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import traitlets

from .._html import table
from ..sampling import GenerationSettings
from ._base import SlamDunkWidget, static_html

#: ``generate(prompt, **settings)`` returns the continuation as a string, or yields it piece by piece.
GenerateFn = Callable[..., str | Iterable[str]]

#: sd.generate's settings (``GenerationSettings``), with a shorter continuation for a quick try.
DEFAULT_SETTINGS = GenerationSettings(max_new_tokens=64).model_dump()
#: Seconds between two pushes of streamed text to the page (~10 Hz).
STREAM_INTERVAL = 0.1
#: Attention maps cover at most the last this-many prompt tokens (a T×T map per layer and head).
MAX_ATTENTION_TOKENS = 64
TOP_K_PROBS = 10


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Playground(SlamDunkWidget):
    """Try a model: type a prompt, press Generate, watch the text stream in, and look inside the model.

    >>> pg = sd.Playground(model, tok, prompt="ROMEO:", temperature=0.7)   # doctest: +SKIP
    """

    _view = traitlets.Unicode("playground").tag(sync=True)

    prompt = traitlets.Unicode("").tag(sync=True)
    output = traitlets.Unicode("").tag(sync=True)
    settings = traitlets.Dict(default_value=dict(DEFAULT_SETTINGS)).tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("Playground").tag(sync=True)
    #: Whether the playground has a model to look inside (probabilities and attention panels).
    can_inspect = traitlets.Bool(False).tag(sync=True)
    #: Top next tokens after :attr:`probs_prompt`: ``[{"token", "id", "prob"}]``, most likely first.
    probs: traitlets.List[Any] = traitlets.List(default_value=[]).tag(sync=True)
    probs_prompt = traitlets.Unicode("").tag(sync=True)
    #: Attention maps of the prompt: ``{"tokens", "weights" (layers, heads, T, T), "layer_names", "offset"}``.
    attention = traitlets.Dict(default_value={}).tag(sync=True)
    #: Why the probabilities / attention could not be computed for the current prompt ("" when they could).
    inspect_error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, model: Any, tokenizer: Any = None, *, prompt: str = "", title: str = "Playground",
                 **settings: Any) -> None:
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
        self._generate_fn: GenerateFn | None = None
        self._source: Callable[[], tuple[Any, Any]] | None = None
        if isinstance(model, _RunModel):
            self._source = model
        elif tokenizer is None:
            if hasattr(model, "parameters") or not callable(model):
                raise TypeError(
                    "Playground needs a model and its tokenizer: sd.Playground(model, tok); or a callable "
                    "generate(prompt, **settings) -> str or iterable of str"
                )
            self._generate_fn = model
        else:
            if not hasattr(tokenizer, "encode") or not hasattr(tokenizer, "decode"):
                raise TypeError(f"the tokenizer must have encode() and decode(), got {type(tokenizer).__name__}")
            self._source = lambda: (model, tokenizer)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._model_lock = threading.Lock()
        self._inspect_lock = threading.Lock()
        self._inspect_seq = 0
        self._inspect_thread: threading.Thread | None = None
        super().__init__(prompt=prompt, title=title, settings={**DEFAULT_SETTINGS, **settings},
                         can_inspect=self._generate_fn is None)

    # -- other sources ------------------------------------------------------------
    @classmethod
    def for_model(cls, model: Any, tok: Any, *, prompt: str = "", **settings: Any) -> Playground:
        """The same as ``Playground(model, tok, ...)``."""
        return cls(model, tok, prompt=prompt, **settings)

    @classmethod
    def for_run(cls, run: Any, *, prompt: str = "", **settings: Any) -> Playground:
        """A playground on a training run's model (``sd.train(...)``), read each time it is used, so it can
        be shown while the run is still queued or training."""
        return cls(_RunModel(run), prompt=prompt, title=f"Playground · {getattr(run, 'name', 'run')}", **settings)

    # -- generation ------------------------------------------------------------------
    def run(self, prompt: str | None = None, *, wait: bool = False) -> None:
        """Generate from ``prompt`` (default: the prompt in the widget) in a background thread."""
        if self.running:
            raise RuntimeError("already generating; call stop() first")
        if prompt is not None:
            self.prompt = prompt
        self._stop.clear()
        self.output = ""
        self.error = ""
        if self._generate_fn is None and not self.prompt:
            self.error = "The prompt is empty: type some text for the model to continue."
            return
        self.running = True
        self._thread = threading.Thread(target=self._work, args=(self.prompt, dict(self.settings)), daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    def stop(self) -> None:
        """Stop a streaming generation after the current piece."""
        self._stop.set()

    def _pieces(self, prompt: str, settings: dict) -> str | Iterable[str]:
        if self._generate_fn is not None:
            return self._generate_fn(prompt, **_accepted(self._generate_fn, settings))
        from slamdunk_lab import generation  # torch: imported on first use

        model, tok = self._source()
        return generation.generate(model, tok, prompt, stream=True, **settings)

    def _work(self, prompt: str, settings: dict) -> None:
        text = ""
        last_push = 0.0
        pieces: Any = None
        try:
            with self._model_lock:
                pieces = self._pieces(prompt, settings)
                if isinstance(pieces, str):
                    text = pieces
                else:
                    for piece in pieces:
                        text += str(piece)
                        now = time.monotonic()
                        if now - last_push >= STREAM_INTERVAL:
                            self.output = text
                            last_push = now
                        if self._stop.is_set():
                            break
        except Exception as exc:  # noqa: BLE001 - any error of the model or the user's function is shown
            self.error = _message(exc)
        finally:
            close = getattr(pieces, "close", None)
            if callable(close):
                try:
                    close()  # a stopped generator restores the model's training flag now
                except Exception as exc:  # noqa: BLE001 - the generation's own error (if any) is shown first
                    self.error = self.error or _message(exc)
            self.output = text
            self.running = False
        if self.can_inspect and self.inspect_error and not self.error:
            self.refresh()  # e.g. a run's model that did not exist when the prompt was typed

    # -- the static output ----------------------------------------------------------
    @traitlets.observe("output", "running", "error", "probs")
    def _shown_changed(self, change: Any) -> None:
        self.refresh_static(now=not self.running)

    def _static_data(self) -> dict[str, Any]:
        """The last prompt and generated text, the settings and the next-token table: what a saved notebook
        shows where the widget does not render."""
        esc = html.escape
        settings = " · ".join(f"{k}={v}" for k, v in self.settings.items() if v is not None)
        probs = [(r.get("token", ""), f"{float(r.get('prob', 0)):.1%}") for r in self.probs[:10]]
        body = (
            f'<div style="font:12px sans-serif;color:#333;margin-bottom:4px"><b>{esc(self.title)}</b>'
            f" {esc(settings)}</div>"
            f'<pre style="white-space:pre-wrap;max-height:20em;overflow:auto;border:1px solid #ddd;padding:6px">'
            f"<b>{esc(self.prompt)}</b>{esc(self.output)}</pre>"
            + (f'<div style="font:12px sans-serif;color:#b00020">{esc(self.error)}</div>' if self.error else "")
            + ('<div style="font:12px sans-serif;color:#555">next token after the prompt:</div>'
               + table([(repr(tok), p) for tok, p in probs], ["token", "probability"]) if probs else "")
        )
        return {"text/plain": f"{self.title}: {self.prompt}{self.output}", "text/html": static_html(body, "playground")}

    # -- look inside -----------------------------------------------------------------
    @traitlets.observe("prompt", "can_inspect")
    def _prompt_changed(self, change: Any) -> None:
        if self.can_inspect:
            self.refresh()

    def refresh(self, *, wait: bool = False) -> None:
        """Recompute the next-token probabilities and attention maps of the current prompt (in the
        background; the latest prompt wins)."""
        with self._inspect_lock:
            self._inspect_seq += 1
            seq = self._inspect_seq
        thread = threading.Thread(target=self._inspect, args=(seq, self.prompt), daemon=True)
        self._inspect_thread = thread
        thread.start()
        if wait:
            thread.join()

    def _inspect(self, seq: int, prompt: str) -> None:
        if not prompt:
            self._publish(seq, prompt, [], {}, "")
            return
        try:
            from slamdunk_lab import generation

            model, tok = self._source()
            with self._model_lock:
                if seq != self._inspect_seq:
                    return  # a newer prompt arrived while waiting
                probs = generation.next_token_probs(model, tok, prompt, k=TOP_K_PROBS)
                ids = list(tok.encode(prompt))
                offset = max(0, len(ids) - MAX_ATTENTION_TOKENS)
                maps = generation.attention(model, tok, tok.decode(ids[offset:]) if offset else prompt)
            attention = _attention_json(maps, offset)
        except Exception as exc:  # noqa: BLE001 - e.g. a character the tokenizer does not know
            self._publish(seq, prompt, [], {}, _message(exc))
            return
        self._publish(seq, prompt, [{"token": p["token"], "id": int(p["id"]), "prob": round(float(p["prob"]), 5)}
                                    for p in probs], attention, "")

    def _publish(self, seq: int, prompt: str, probs: list, attention: dict, error: str) -> None:
        with self._inspect_lock:
            if seq != self._inspect_seq:
                return
            with self.hold_sync():
                self.probs = probs
                self.attention = attention
                self.inspect_error = error
                self.probs_prompt = prompt

    # -- messages from the page ------------------------------------------------------
    def _on_msg_generate(self, content: dict) -> None:
        if isinstance(content.get("prompt"), str):
            self.prompt = content["prompt"]
        if not self.running:
            self.run()

    def _on_msg_stop(self, content: dict) -> None:
        self.stop()


class _RunModel:
    """The model and tokenizer of a training run, read each time they are needed."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def __call__(self) -> tuple[Any, Any]:
        model = getattr(self.run, "model", None)
        if model is None:
            raise RuntimeError(f"the run has no model yet (status: {getattr(self.run, 'status', '?')})")
        return model, self.run.tokenizer


def _accepted(fn: Callable, settings: dict) -> dict:
    """The settings ``fn`` accepts (all of them when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return settings
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return settings
    names = {p.name for p in params}
    return {k: v for k, v in settings.items() if k in names}


def _attention_json(maps: Any, offset: int) -> dict:
    """Attention maps as rounded nested lists (layers, heads, T, T) for the page."""
    weights = maps.weights
    layers = [weights[i] for i in range(len(weights))]
    return {
        "tokens": list(maps.tokens),
        "weights": [[[[round(float(v), 4) for v in row] for row in head.tolist()] for head in layer]
                    for layer in layers],
        "layer_names": list(maps.layer_names),
        "offset": offset,
    }
