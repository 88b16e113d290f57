"""Base class of every SLaM Dunk Lab notebook widget.

Each view has its own front-end bundle, built by ``npm run build`` into ``slamdunk_lab/static/<view>.js`` and
``<view>.css`` (anywidget ``_esm`` / ``_css``; ``<view>`` is the ``_view`` traitlet). A saved notebook stores
the ESM of every widget instance, so a monitor carries only what a monitor needs, not the canvas's React Flow.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import anywidget
import traitlets

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: The views with a bundle of their own.
VIEWS = ("canvas", "monitor", "playground", "runs")


def esm_path(view: str) -> Path:
    """The ESM bundle of ``view``."""
    return STATIC_DIR / f"{view}.js"


def css_path(view: str) -> Path:
    """The stylesheet of ``view``."""
    return STATIC_DIR / f"{view}.css"

#: Languages of the widgets' interface; "auto" follows JupyterLab's language (Korean when JupyterLab is Korean).
LANGUAGES = ("auto", "en", "ko")
_language = "auto"


def set_language(language: str) -> None:
    """Set the interface language of every widget created from now on: ``"ko"`` (Korean), ``"en"`` (English)
    or ``"auto"`` (JupyterLab's language, the default). A widget's own ``language`` changes just that widget.

    >>> sd.set_language("ko")   # doctest: +SKIP
    """
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, got {language!r}")
    _language = language


_cache: dict[Path, tuple[float, str]] = {}
_hot: dict[Path, Any] = {}
_nonce = itertools.count(1)


class BundleMissingError(RuntimeError):
    """The widget front-end bundle was not built or not installed."""


def _hot_bundle(path: Path) -> Any:
    """With ``ANYWIDGET_HMR=1`` (and watchfiles installed): anywidget's watched file, so rebuilds
    by ``npm run watch`` reach widgets already shown."""
    if (
        not os.environ.get("ANYWIDGET_HMR")
        or not path.is_file()
        or not importlib.util.find_spec("watchfiles")
    ):
        return None
    try:
        from anywidget._file_contents import FileContents  # private API: degrade to plain reads
    except ImportError:
        return None
    if path not in _hot:
        _hot[path] = FileContents(path, start_thread=True)
    return _hot[path]


def _read_bundle(path: Path) -> Any:
    hot = _hot_bundle(path)
    if hot is not None:
        return hot
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise BundleMissingError(
            f"The SLaM Dunk Lab widget bundle is missing ({path}).\n"
            "From a source checkout, build it with Node.js 20+:\n"
            "    npm ci && npm run build\n"
            "or reinstall the package (`pip install -e .` runs the same build when Node.js is present;"
            " a wheel from PyPI ships it prebuilt)."
        ) from None
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, path.read_text(encoding="utf-8"))
        _cache[path] = cached
    return cached[1]


def bundle_available(view: str | None = None) -> bool:
    """True when the built front-end bundle of ``view`` (default: every view) is present."""
    views = VIEWS if view is None else (view,)
    return all(esm_path(v).is_file() and css_path(v).is_file() for v in views)


#: Class of the static output's root element (``text/html``).
STATIC_CLASS = "sdl-static"
#: CSS of the static output: where the live widget renders (its root has ``.sdl-root``) the static output next to
#: it is hidden; where it does not (a saved notebook without widget state, reopened without a kernel), the
#: widget's placeholder ("Error displaying widget: model not found") is hidden and the static output shows.
STATIC_STYLE = (
    "<style>"
    ".jp-OutputArea-child:has(.sdl-root) + .jp-OutputArea-child:has(> .jp-OutputArea-output > .sdl-static)"
    "{display:none}"
    ".jp-OutputArea-child:not(:has(.sdl-root)):has(+ .jp-OutputArea-child > .jp-OutputArea-output > .sdl-static)"
    "{display:none}"
    "</style>"
)


def static_html(body: str, view: str) -> str:
    """``body`` wrapped as a widget's static output (see :data:`STATIC_STYLE`)."""
    return f'<div class="{STATIC_CLASS} {STATIC_CLASS}-{view}">{body}</div>{STATIC_STYLE}'


class SlamDunkWidget(anywidget.AnyWidget):
    """anywidget base: loads the view's own bundle lazily.

    Subclasses set ``_view`` (``"canvas"``, ``"monitor"``, ... : ``static/<view>.js`` and ``.css``).
    One-shot events travel as custom messages ``{"type": ..., ...}``; durable
    state lives in synced traitlets.
    """

    _view = traitlets.Unicode("").tag(sync=True)
    #: Interface language: "en", "ko", or "auto" (JupyterLab's language); the default comes from
    #: :func:`set_language`. The canvas's EN/한 switch sets it.
    language = traitlets.Enum(list(LANGUAGES)).tag(sync=True)

    @traitlets.default("language")
    def _default_language(self) -> str:
        return _language

    #: The widget's model id, put on the view's root element (``data-slamdunk-model-id``) so the
    #: JupyterLab extension can find the cell that displays it.
    _anchor = traitlets.Unicode("").tag(sync=True)

    # anywidget reads ``_esm``/``_css`` with getattr in ``__init__``; properties
    # defer reading the files until a widget is created, so importing this module
    # never fails, and a missing bundle gives a clear error at creation time.
    @property
    def _esm(self) -> Any:
        return _read_bundle(esm_path(self._view))

    @property
    def _css(self) -> Any:
        return _read_bundle(css_path(self._view))

    def __init__(self, **kwargs: Any) -> None:
        if not self._view:
            raise TypeError(f"{type(self).__name__} must set the `_view` traitlet")
        self._static_id = f"sdl-{uuid.uuid4().hex}"
        self._static_shown = False
        self._static_last = 0.0
        self._static_timer: threading.Timer | None = None
        self._static_lock = threading.Lock()
        super().__init__(**kwargs)
        self._anchor = self.model_id or ""
        self.on_msg(self._dispatch_msg)

    # -- static output ------------------------------------------------------
    #: Seconds between two refreshes of the static output (the latest state always arrives: a timer sends it).
    static_interval = 1.0

    def _static_data(self) -> dict[str, Any] | None:
        """The mime data of the output a saved notebook shows where the widget does not render (HTML export,
        GitHub, nbviewer, JupyterLab without widget state): ``{"text/html": ..., "text/plain": ...}``, or None
        for no such output. Subclasses override it."""
        return None

    def _ipython_display_(self) -> None:
        """Two outputs: the live widget, then its static picture (updated in place as the widget changes, so a
        saved notebook shows the latest state; hidden while the live widget renders)."""
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        display(data, metadata=metadata, raw=True)
        static = self._static_data()
        if static is not None:
            display(static, raw=True, display_id=self._static_id)
            self._static_shown = True
            self._static_last = time.monotonic()

    def refresh_static(self, now: bool = False) -> None:
        """Update the static output of every display of this widget (at most every :attr:`static_interval`
        seconds unless ``now``); a no-op until the widget was displayed."""
        if not self._static_shown:
            return
        with self._static_lock:
            wait = self._static_last + self.static_interval - time.monotonic()
            if not now and wait > 0:
                if self._static_timer is None:
                    self._static_timer = threading.Timer(wait, self._flush_static)
                    self._static_timer.daemon = True
                    self._static_timer.start()
                return
            if self._static_timer is not None:
                self._static_timer.cancel()
                self._static_timer = None
            self._static_last = time.monotonic()
        self._publish_static()

    def _flush_static(self) -> None:
        with self._static_lock:
            self._static_timer = None
            self._static_last = time.monotonic()
        self._publish_static()

    def _publish_static(self) -> None:
        try:
            from IPython.display import update_display

            static = self._static_data()
            if static is not None:
                update_display(static, raw=True, display_id=self._static_id)
        except Exception:
            logger.exception("could not update the static output of %s", type(self).__name__)

    # -- custom messages --------------------------------------------------
    def _send_event(self, type_: str, **payload: Any) -> int:
        """Send a one-shot event to the front end; returns its nonce."""
        nonce = next(_nonce)
        self.send({"type": type_, "nonce": nonce, **payload})
        return nonce

    def _dispatch_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        handler = getattr(self, f"_on_msg_{content.get('type', '')}", None)
        if handler is not None:
            handler(content)

    # -- notebook helpers -------------------------------------------------
    last_insert = traitlets.Dict(allow_none=True, default_value=None, read_only=True)

    def insert_cell_below(self, code: str, *, run: bool = False) -> None:
        """Insert a code cell directly below the cell that displays this widget.

        Needs the SLaM Dunk Lab JupyterLab extension (installed with the package);
        the result arrives asynchronously in :attr:`last_insert`.
        """
        if not isinstance(code, str):
            raise TypeError("code must be a string")
        self._send_event("insert_cell", code=code, run=bool(run))

    def _on_msg_insert_cell_result(self, content: dict) -> None:
        self.set_trait("last_insert", {k: v for k, v in content.items() if k != "type"})
