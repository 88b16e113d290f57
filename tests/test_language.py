"""One language switch for every widget (#8 item 4)."""

from __future__ import annotations

import pytest

import slamdunk_lab as sd
from slamdunk_lab.widgets import _base

pytestmark = pytest.mark.skipif(not _base.bundle_available(), reason="front end not built")


@pytest.fixture(autouse=True)
def _restore_language():
    yield
    sd.set_language("auto")


def test_widgets_follow_jupyterlab_unless_a_language_is_set():
    assert sd.Canvas().language == "auto"  # the page shows JupyterLab's language
    sd.set_language("ko")
    assert [w.language for w in (sd.Canvas(), sd.widgets.Monitor())] == ["ko", "ko"]
    assert sd.Canvas(language="en").language == "en"  # one widget's own choice wins
    with pytest.raises(ValueError, match="language must be one of"):
        sd.set_language("fr")
    with pytest.raises(Exception):
        sd.Canvas().language = "fr"
