"""Text generation playground: prompt, sampling settings, streamed output, stop button."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import traitlets

from ._base import SlamDunkWidget

#: ``generate(prompt, max_new_tokens=..., temperature=..., top_k=...)`` returns the
#: continuation as a string, or yields it piece by piece (then it can be stopped).
GenerateFn = Callable[..., str | Iterable[str]]

DEFAULT_SETTINGS = {"max_new_tokens": 64, "temperature": 0.8, "top_k": 40}


class Playground(SlamDunkWidget):
    """Try a model: type a prompt, press Generate, watch the text stream in.

    >>> pg = sd.widgets.Playground(lambda prompt, **s: model_generate(prompt, **s))   # doctest: +SKIP
    """

    _view = traitlets.Unicode("playground").tag(sync=True)

    prompt = traitlets.Unicode("").tag(sync=True)
    output = traitlets.Unicode("").tag(sync=True)
    settings = traitlets.Dict(default_value=dict(DEFAULT_SETTINGS)).tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("Playground").tag(sync=True)

    def __init__(self, generate: GenerateFn, *, prompt: str = "", **settings: Any) -> None:
        if not callable(generate):
            raise TypeError(
                "generate must be callable: generate(prompt, **settings) -> str or iterable of str"
            )
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
        super().__init__(prompt=prompt, settings={**DEFAULT_SETTINGS, **settings})
        self._generate = generate
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, prompt: str | None = None, *, wait: bool = False) -> None:
        """Generate from ``prompt`` (default: the prompt in the widget) in a background thread."""
        if self.running:
            raise RuntimeError("already generating; call stop() first")
        if prompt is not None:
            self.prompt = prompt
        self._stop.clear()
        self.output = ""
        self.error = ""
        self.running = True
        self._thread = threading.Thread(
            target=self._work, args=(self.prompt, dict(self.settings)), daemon=True
        )
        self._thread.start()
        if wait:
            self._thread.join()

    def stop(self) -> None:
        """Stop a streaming generation after the current piece."""
        self._stop.set()

    def _work(self, prompt: str, settings: dict) -> None:
        try:
            result = self._generate(prompt, **settings)
            if isinstance(result, str):
                self.output = result
            else:
                text = ""
                for piece in result:
                    text += str(piece)
                    self.output = text
                    if self._stop.is_set():
                        break
        except Exception as exc:  # noqa: BLE001 - any error of the user's function is shown in the widget
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.running = False

    def _on_msg_generate(self, content: dict) -> None:
        if isinstance(content.get("prompt"), str):
            self.prompt = content["prompt"]
        if not self.running:
            self.run()

    def _on_msg_stop(self, content: dict) -> None:
        self.stop()

    @classmethod
    def for_model(cls, model: Any, tok: Any, *, prompt: str = "", **settings: Any) -> Playground:
        """A playground that streams from ``slamdunk_lab.generation.generate(model, tok, ...)``."""
        try:
            from slamdunk_lab.generation import generate
        except ImportError as exc:
            raise RuntimeError(f"slamdunk_lab.generation is not available: {exc}") from exc

        def stream(text: str, **s: Any) -> Iterable[str]:
            return generate(model, tok, text, stream=True, **s)

        return cls(stream, prompt=prompt, **settings)

    @classmethod
    def for_run(cls, run: Any, *, prompt: str = "", **settings: Any) -> Playground:
        """A playground on a training run's model (``sd.train(...)``), read when Generate is pressed,
        so it can be shown while the run is still queued or training."""
        try:
            from slamdunk_lab.generation import generate
        except ImportError as exc:
            raise RuntimeError(f"slamdunk_lab.generation is not available: {exc}") from exc

        def stream(text: str, **s: Any) -> Iterable[str]:
            model = getattr(run, "model", None)
            if model is None:
                raise RuntimeError(f"the run has no model yet (status: {getattr(run, 'status', '?')})")
            return generate(model, run.tokenizer, text, stream=True, **s)

        return cls(stream, prompt=prompt, **settings)
