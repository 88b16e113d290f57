"""#8 item 3 on the Python side: every structural problem reported together, sentences, the vocabulary follows
the tokenizer."""

from __future__ import annotations

import pytest

import slamdunk_lab as sd
from slamdunk_lab.widgets import _base

needs_bundle = pytest.mark.skipif(not _base.bundle_available(), reason="front end not built")


def _with_attention(graph: dict, **data) -> dict:
    for n in graph["nodes"]:
        if n["type"] == "attention":
            n["data"].update(data)
    return graph


def test_every_attention_problem_is_reported_together():
    graph = _with_attention(sd.template("gpt2", size="tiny"), n_heads=3, n_kv_heads=2)
    problems = [(e.node_id, e.field) for e in sd.analyze(graph).errors]
    assert ("attn", "n_heads") in problems and ("attn", "n_kv_heads") in problems
    messages = [e.message for e in sd.analyze(graph).errors]
    assert any("d_model 128 is not divisible by n_heads 3" in m for m in messages)
    assert any("n_heads 3 is not divisible by n_kv_heads 2" in m for m in messages)
    # odd head width with RoPE and too many key/value heads: both named too
    rope = _with_attention(sd.template("llama3", size="tiny"), n_heads=4, n_kv_heads=8, head_dim=7, rope=True)
    fields = {e.field for e in sd.analyze(rope).errors}
    assert {"n_kv_heads", "head_dim"} <= fields


def test_problem_messages_are_sentences_without_a_wrong_article():
    graph = sd.template("gpt2", size="tiny")
    graph["edges"].append({"id": "bad", "source": "add_1", "target": "add_2", "sourceHandle": "out",
                           "targetHandle": "c"})
    messages = [e.message for e in sd.analyze(graph).errors]
    assert any("goes into input 'c', but Add (residual) has inputs" in m for m in messages), messages
    assert not any(" a Add" in m or " a Attention" in m for m in messages)


@needs_bundle
def test_set_vocab_makes_the_design_follow_the_tokenizer():
    canvas = sd.Canvas(template="gpt2", size="tiny")
    tok = sd.tokenizers.char("To be, or not to be")
    assert canvas.set_vocab(tok) == tok.vocab_size
    sizes = [n["data"]["vocab_size"] for n in canvas.graph["nodes"] if "vocab_size" in n["data"]]
    assert sizes == [tok.vocab_size, tok.vocab_size] and canvas.analysis.ok
    assert canvas.tokenizer_vocab == tok.vocab_size
    # a template chosen in the menu follows too
    canvas._on_msg_load_template({"type": "load_template", "name": "llama3", "size": "tiny"})
    assert {n["data"]["vocab_size"] for n in canvas.graph["nodes"] if "vocab_size" in n["data"]} == {tok.vocab_size}
    # setting the same size again changes nothing (no undo step on the page)
    before = canvas.graph
    canvas.set_vocab(tok.vocab_size)
    assert canvas.graph is before
    for bad in (0, -3, 2.5, True, "big"):
        with pytest.raises(ValueError, match="set_vocab needs"):
            canvas.set_vocab(bad)


@needs_bundle
def test_default_height_fits_the_palette():
    assert sd.Canvas().height == 720
