"""Every problem the analysis reports has a Korean sentence (#8 item 4), fail-closed.

Two nets: many broken designs (every setting of every block out of range or of the wrong type, every kind of
wiring mistake, every shape rule, the argument checks and warnings) go through ``sd.analyze`` and each error and
warning must carry Korean; and every place in the analysis' modules that writes a message must write a
``Bilingual`` one, so a sentence added later in English only fails here even before a design reaches it.
"""

from __future__ import annotations

import ast
import copy
import json
import math
import re
from pathlib import Path

import pytest
from helpers import chain, node
from test_hostile import HOSTILE, mutate

import slamdunk_lab as sd
from slamdunk_lab.blocks.catalog import BLOCKS

HANGUL = re.compile("[\uac00-\ud7a3]")
PACKAGE = Path(sd.__file__).parent
#: The modules whose messages reach the canvas through ``sd.analyze``.
MODULES = ["analysis/__init__.py", "analysis/validate.py", "analysis/plan.py", "blocks/catalog.py",
           "blocks/spec.py", "graph/schema.py"]


def korean_everywhere(result: sd.Analysis) -> list[str]:
    """The English messages (errors and warnings) that have no Korean sentence."""
    issues = list(result.errors) + list(result.warnings)
    return [e.message for e in issues if not (e.message_ko and HANGUL.search(e.message_ko))]


def wrong_values(p) -> list:
    """Values the setting ``p`` refuses: below and above its range, of the wrong type, not a choice."""
    values: list = ["x", [1], {"a": 1}]
    if not p.nullable:
        values.append(None)
    if p.kind in ("int", "float"):
        values += [True, math.nan if p.kind == "float" else 1.5]
        if p.minimum is not None:
            values.append(p.minimum - (0 if p.exclusive_minimum else 1))
        if p.maximum is not None:
            values.append(p.maximum + (0 if p.exclusive_maximum else 1))
    elif p.kind == "bool":
        values += [1, "true"]
    else:
        values += ["not-a-choice", 3]
    return values


def _with_data(type_: str, name: str, value) -> dict:
    """A small valid design with one setting of one ``type_`` block replaced by ``value``."""
    spec = BLOCKS[type_]
    if spec.role == "op" or spec.role == "residual":
        data = dict(spec.examples[0]) if spec.examples else {}
        g = chain((type_, data)) if spec.role == "op" else chain()
        if spec.role == "residual":
            g = copy.deepcopy(sd.template("gpt2", size="tiny"))
            node_id = "add_1"
        else:
            node_id = "b0"
    else:
        g = copy.deepcopy(sd.template("gpt2", size="tiny"))
        node_id = next(n["id"] for n in g["nodes"] if n["type"] == type_)
    node(g, node_id)["data"][name] = value
    return g


def setting_cases():
    for type_, spec in BLOCKS.items():
        for p in spec.params:
            for value in wrong_values(p):
                yield pytest.param(type_, p.name, value, id=f"{type_}.{p.name}={value!r}"[:80])
        yield pytest.param(type_, "bogus", 1, id=f"{type_}.bogus")


@pytest.mark.parametrize(("type_", "name", "value"), list(setting_cases()))
def test_every_setting_out_of_range_or_of_the_wrong_type_has_korean(type_, name, value):
    result = sd.analyze(_with_data(type_, name, value))
    assert not result.ok, (type_, name, value)
    assert not korean_everywhere(result)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_every_hostile_design_has_korean(name):
    fn, _ = HOSTILE[name]
    result = sd.analyze(mutate(fn))
    assert result.errors
    assert not korean_everywhere(result)


def _tiny():
    return copy.deepcopy(sd.template("gpt2", size="tiny", n_layer=2))


def _edit(fn):
    g = _tiny()
    fn(g)
    return g


def _drop_edges(g, pred):
    g["edges"] = [e for e in g["edges"] if not pred(e)]


def _two_exits(g):
    g["edges"].append({"id": "x2", "source": "attn", "target": "ln_f"})
    _drop_edges(g, lambda e: e["source"] == "add_2" and e["target"] == "ln_f")
    g["edges"].append({"id": "x3", "source": "add_2", "target": "lm_head"})
    _drop_edges(g, lambda e: e["source"] == "ln_f")


WIRING = {
    "edge into the token input": lambda g: g["edges"].append({"id": "i", "source": "ln_f", "target": "tokens"}),
    "one input too many": lambda g: g["edges"].append({"id": "i", "source": "tok_emb", "target": "add_1"}),
    "two edges into one input": lambda g: g["edges"].append({"id": "i", "source": "tok_emb", "target": "ln_1"}),
    "two streams leave a block": _two_exits,
    "empty transformer block": lambda g: g["nodes"].append({"id": "g2", "type": "transformerBlock", "data": {}}),
    "nothing flows into a block": lambda g: _drop_edges(g, lambda e: e["target"] in ("ln_1", "add_1")),
    "nothing leaves a block": lambda g: _drop_edges(g, lambda e: e["source"] == "add_2"),
    "token input inside a block": lambda g: node(g, "tokens").update(parentId="blocks"),
    "missing parent": lambda g: node(g, "ln_f").update(parentId="nowhere"),
    "no logits": lambda g: g["nodes"].pop(),
    "two token inputs": lambda g: g["nodes"].append({"id": "t2", "type": "tokens", "data": {}}),
    "tokens straight into attention": lambda g: [e.update(source="tokens") for e in g["edges"]
                                                 if e["target"] == "attn"],
    "activations into the token embedding": lambda g: [e.update(source="ln_f") for e in g["edges"]
                                                       if e["target"] == "tok_emb"],
    "tokens straight into the logits": lambda g: [e.update(source="tokens") for e in g["edges"]
                                                  if e["target"] == "logits"],
    "tokens into an add": lambda g: [e.update(source="tokens") for e in g["edges"] if e["target"] == "add_1"],
    "width into the logits differs from the vocabulary": lambda g: [
        e.update(source="ln_f") for e in g["edges"] if e["target"] == "logits"],
    "too few learned positions": lambda g: node(g, "pos_emb")["data"].update(positions=4),
    "odd width with sinusoidal positions": lambda g: [node(g, "pos_emb")["data"].update(kind="sinusoidal"),
                                                      node(g, "tok_emb")["data"].update(d_model=127)],
    "two embeddings and tying": lambda g: [g["nodes"].append({"id": "emb2", "type": "tokenEmbedding",
                                                              "data": {"vocab_size": 256, "d_model": 128}}),
                                           node(g, "lm_head")["data"].update(tie_weights=True)],
    "llama3 rope factors the wrong way round": lambda g: node(g, "attn")["data"].update(
        rope=True, rope_scaling="llama3", rope_low_freq_factor=4.0, rope_high_freq_factor=1.0),
    "kv heads above heads": lambda g: node(g, "attn")["data"].update(n_kv_heads=8, n_heads=4),
}


#: What each mistake above is reported as (so each case keeps reaching the message it is here for).
EXPECTED = {
    "edge into the token input": "which takes no input",
    "one input too many": "is one input too many",
    "two edges into one input": "more than one incoming edge",
    "two streams leave a block": "hands one stream on",
    "empty transformer block": "is empty",
    "nothing flows into a block": "nothing flows into",
    "nothing leaves a block": "nothing leaves",
    "token input inside a block": "cannot sit inside a block",
    "missing parent": "does not exist",
    "no logits": "has none",
    "two token inputs": "but has 2",
    "tokens straight into attention": "needs activations",
    "activations into the token embedding": "part of a cycle",
    "tokens straight into the logits": "needs scores",
    "tokens into an add": "adds activations, not token ids",
    "width into the logits differs from the vocabulary": "scores per position",
    "too few learned positions": "a row for every position",
    "odd width with sinusoidal positions": "need an even width",
    "two embeddings and tying": "tying needs exactly one",
    "llama3 rope factors the wrong way round": "must be larger than",
    "kv heads above heads": "is larger than n_heads",
}


@pytest.mark.parametrize("name", list(WIRING))
def test_every_wiring_and_shape_mistake_has_korean(name):
    result = sd.analyze(_edit(WIRING[name]))
    assert any(EXPECTED[name] in e.message for e in result.errors), result.errors
    assert not korean_everywhere(result)


def test_a_repeated_block_that_changes_the_width_has_korean():
    g = chain(("linear", {"out_features": 32}))
    g["nodes"].append({"id": "g", "type": "transformerBlock", "data": {"repeat": 2}})
    node(g, "b0")["parentId"] = "g"
    (err,) = sd.analyze(g).errors
    assert "must keep its input shape" in err.message
    assert err.message_ko == "2번 반복하는 블록은 입력 모양을 그대로 유지해야 하는데 (B, T, 16)을(를) (B, T, 32)(으)로 바꿉니다"


def test_tying_to_an_embedding_of_another_width_has_korean():
    g = chain(("linear", {"out_features": 8}), tie=True)
    (err,) = sd.analyze(g).errors
    assert err.field == "tie_weights" and "cannot tie weights" in err.message
    assert err.message_ko == "가중치를 묶을 수 없습니다. 헤드의 입력 폭은 8인데 토큰 임베딩의 d_model은 16입니다"


RAW = {
    "not json": "{not json",
    "not an object": [1, 2],
    "nodes not a list": {"nodes": "abc"},
    "edges not a list": {"nodes": [], "edges": 1},
    "too many nodes": {"nodes": [0] * 50_001},
    "too many edges": {"nodes": [], "edges": [0] * 200_001},
    "node not an object": {"nodes": [1], "edges": []},
    "edge not an object": {"nodes": [], "edges": [1]},
    "edge without a source": {"nodes": [], "edges": [{"target": "x"}]},
    "version 2": {"version": 2, "nodes": []},
    "bad viewport": {"nodes": [], "viewport": {"zoom": -1}},
    "bad name": {"nodes": [], "name": 5},
    "empty id": {"nodes": [{"id": "", "type": "dropout"}]},
    "long type": {"nodes": [{"id": "a", "type": "t" * 500}]},
}


@pytest.mark.parametrize("name", list(RAW))
def test_every_unreadable_graph_has_korean(name):
    result = sd.analyze(RAW[name])
    assert result.errors
    assert not korean_everywhere(result)


def test_duplicate_edge_id_has_korean():
    g = _tiny()
    g["edges"].append(dict(g["edges"][0]))
    result = sd.analyze(g)
    assert any("used twice" in e.message for e in result.errors)
    assert not korean_everywhere(result)


def test_argument_checks_and_warnings_have_korean():
    g = _tiny()
    result = sd.analyze(g, batch_size=0, context=0, dtype="float8")
    assert {e.field for e in result.errors} == {"batch_size", "context", "dtype"}
    assert not korean_everywhere(result)
    result = sd.analyze(g, context=10**6)
    assert [e.field for e in result.errors] == ["context"]
    assert not korean_everywhere(result)
    result = sd.analyze(g, max_params=1, max_memory=1)
    assert result.ok and {w.field for w in result.warnings} == {"params", "memory"}
    assert not korean_everywhere(result)
    ko = {w.field: w.message_ko for w in result.warnings}
    assert "파라미터" in ko["params"] and "GiB" in ko["memory"]


def test_the_english_stays_and_the_korean_keeps_names_and_numbers():
    g = _edit(lambda g: node(g, "attn")["data"].update(n_heads=0))
    (err,) = sd.analyze(g).errors
    assert err.message == "n_heads must be at least 1 and at most 1024, got 0"
    assert err.message_ko == "n_heads은(는) 1 이상 1024 이하여야 합니다(입력: 0)"
    g = _edit(lambda g: node(g, "mlp").update(type="default"))
    (err,) = sd.analyze(g).errors
    assert err.message.startswith("'default' is a React Flow built-in type")
    assert "React Flow" in err.message_ko and "'default'" in err.message_ko
    g = _edit(lambda g: node(g, "ln_f").update(parentId="mlp"))
    err = next(e for e in sd.analyze(g).errors if e.field == "parentId")
    assert err.message_ko == "부모 'mlp'은(는) 피드포워드 블록인데, 다른 블록을 담을 수 있는 것은 트랜스포머 블록뿐입니다"
    json.dumps([e.to_json() for e in sd.analyze(g).errors], ensure_ascii=False)


def test_a_bilingual_message_survives_copy_and_pickle():
    import pickle

    from slamdunk_lab.errors import Bilingual

    text = Bilingual("its input is not connected", "입력이 연결되지 않았습니다")
    for again in (copy.deepcopy(text), pickle.loads(pickle.dumps(text))):
        assert again == text and again.ko == text.ko


def _message_argument(call: ast.Call) -> ast.expr | None:
    """The message given to BlockProblem(field, message), GraphIssue(node, field, message) or err(node, field,
    message)."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    index = {"BlockProblem": 1, "GraphIssue": 2, "err": 2}.get(name or "")
    if index is None or len(call.args) <= index:
        return None
    return call.args[index]


@pytest.mark.parametrize("module", MODULES)
def test_every_message_the_analysis_writes_is_bilingual(module):
    """A message written in place (a string or f-string) must be a Bilingual(...) call; a name passes on a
    message built elsewhere (itself checked here). A new English-only sentence fails this test."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    english_only = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        message = _message_argument(call)
        if message is None or isinstance(message, (ast.Name, ast.Attribute)):
            continue
        if isinstance(message, ast.Call) and getattr(message.func, "id", None) == "Bilingual":
            continue
        english_only.append(f"{module}:{call.lineno}")
    # Messages given by assignment (message = ...), or returned as (field, message) by the functions that explain
    # a pydantic error, must be Bilingual too.
    for item in ast.walk(tree):
        named_message = isinstance(item, ast.Assign) and any(getattr(t, "id", None) == "message"
                                                             for t in item.targets)
        if named_message and isinstance(item.value, (ast.Constant, ast.JoinedStr, ast.BinOp)):
            english_only.append(f"{module}:{item.lineno}")
        if isinstance(item, ast.FunctionDef) and item.name in ("validate_data", "_explain", "_first_error"):
            for ret in (r for r in ast.walk(item) if isinstance(r, ast.Return) and r.value is not None):
                pairs = [p.elts[1] for p in ast.walk(ret.value) if isinstance(p, ast.Tuple) and len(p.elts) == 2]
                for message in pairs:
                    if isinstance(message, (ast.Constant, ast.JoinedStr, ast.BinOp)) or (
                            isinstance(message, ast.Call) and getattr(message.func, "id", None) == "str"):
                        english_only.append(f"{module}:{ret.lineno}")
    assert not english_only, english_only
