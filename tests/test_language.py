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


def test_a_students_usual_mistakes_have_korean_analysis_errors():
    """A bad setting, heads that do not divide the width, a block left unconnected: each error has a Korean
    sentence for the canvas (message_ko) next to the English one Python shows."""
    g = sd.template("gpt2", size="tiny")
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "ln_f"]
    g["edges"] = [e for e in g["edges"] if "ln_f" not in (e["source"], e["target"])]
    for node in g["nodes"]:
        if node["id"] == "attn":
            node["data"]["n_heads"] = 3
        if node["id"] == "mlp":
            node["data"]["hidden_dim"] = 0
    errors = {(e.node_id, e.field): e for e in sd.analyze(g).errors}
    assert errors[("mlp", "hidden_dim")].message_ko.startswith("hidden_dim은(는) 1 이상")
    assert "must be at least 1" in errors[("mlp", "hidden_dim")].message
    assert "나누어떨어지지 않습니다" in errors[("attn", "n_heads")].message_ko
    assert errors[("lm_head", "edges")].message_ko == "입력이 연결되지 않았습니다"
    assert "쓰이지 않습니다" in errors[("add_2", "edges")].message_ko
    assert all(e.to_json()["message_ko"] for e in errors.values())  # what the canvas receives


def test_the_canvas_receives_korean_for_every_problem_of_a_broken_design():
    """In Korean mode the canvas gets a Korean sentence for every problem of a design with many at once:
    a bad setting, a wrong type, an unknown block, a shape rule, a stray edge and a missing parent."""
    import re

    g = sd.template("llama3", size="tiny")
    for node in g["nodes"]:
        if node["id"] == "attn":
            node["data"]["n_kv_heads"] = 3
        if node["id"] == "mlp":
            node["data"]["bias"] = "yes"
        if node["id"] == "lm_head":
            node["data"]["vocab_size"] = 999
    g["nodes"].append({"id": "stray", "type": "transformer", "data": {}})
    g["nodes"].append({"id": "orphan", "type": "dropout", "data": {"p": 2}, "parentId": "nowhere"})
    g["edges"].append({"id": "ghost", "source": "ghost", "target": "ln_f"})
    canvas = sd.Canvas(g, language="ko")
    issues = canvas.analysis_json["errors"]
    assert {"n_kv_heads", "bias", "vocab_size", "type", "p", "parentId", "edges"} <= {i["field"] for i in issues}
    assert all(re.search("[가-힣]", i["message_ko"] or "") for i in issues), issues
    assert next(i for i in issues if i["node_id"] == "stray")["message_ko"].startswith("알 수 없는 블록 유형 'transformer'")
