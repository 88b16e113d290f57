"""Fail closed: every block and every setting in the catalogue is handled by every consumer.

These tests enumerate the catalogue, so a new block or setting that a consumer does not handle fails here
instead of being silently dropped: example data for the tests, the builder's initialisation and KV cache, code
export, Hugging Face export (mapped or refused, and equal to transformers when mapped), the docs in English and
Korean, and the schema the canvas builds its forms from.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
from helpers import harness, node

import slamdunk_lab as sd
from slamdunk_lab.blocks import BLOCKS
from slamdunk_lab.blocks import modules as M
from slamdunk_lab.blocks.spec import HF_FAMILIES

EXAMPLES = [(t, i, ex) for t, spec in BLOCKS.items() for i, ex in enumerate(spec.examples or ({},))]
EXAMPLE_IDS = [f"{t}-{i}" for t, i, _ in EXAMPLES]
PARAMS = [(t, p.name) for t, spec in BLOCKS.items() for p in spec.params]
DOCS = Path(__file__).resolve().parents[1] / "docs"


# ------------------------------------------------------------------------------------------- example data
@pytest.mark.parametrize("type_,name", PARAMS)
def test_every_setting_has_example_data_away_from_its_default(type_, name):
    spec = BLOCKS[type_]
    param = spec.param(name)
    values = [ex[name] for ex in spec.examples if name in ex]
    assert any(v != param.default for v in values), f"{type_}.{name}: no example sets it to another value"
    if param.kind == "choice":
        assert set(param.choices) <= set(values) | {param.default}, f"{type_}.{name}: a choice has no example"
    for ex in spec.examples:
        assert set(ex) <= {p.name for p in spec.params}, f"{type_}: example {ex} names an unknown setting"


@pytest.mark.parametrize("type_,index,example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_is_a_valid_design_whose_modules_initialise_themselves(type_, index, example):
    graph = harness(type_, example)
    analysis = sd.analyze(graph)
    assert analysis.ok, analysis.errors
    torch.manual_seed(0)
    model = sd.build(graph)
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            assert hasattr(module, "init_weights"), f"{name} ({type(module).__name__}) has weights but no init_weights"
    for step in analysis.plan.all_steps():
        if step.module is not None:
            keeps_cache = hasattr(getattr(M, step.module), "kv_cache_shape")
            assert keeps_cache == BLOCKS[step.type].counts_as_layer, step.type
    assert len(model._attention_calls()) == analysis.n_layers
    assert sum(p.numel() for p in model.parameters()) == analysis.params


# ------------------------------------------------------------------------------------------- code export
@pytest.mark.parametrize("type_,index,example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_exports_to_code_that_computes_the_same_logits(type_, index, example):
    graph = harness(type_, example)
    code = sd.to_code(graph)
    ns: dict = {}
    exec(compile(code, "<export>", "exec"), ns)  # noqa: S102 - running our own export is the test
    ours = sd.build(graph).eval()
    theirs = ns["build_model"]().eval()
    theirs.load_state_dict(ours.state_dict())
    idx = torch.randint(0, 50, (2, 5))
    torch.testing.assert_close(theirs(idx), ours(idx))
    cache = theirs.new_cache(batch_size=2)
    torch.testing.assert_close(theirs(idx, cache=cache), ours(idx))


@pytest.mark.parametrize("type_,name", PARAMS)
def test_every_setting_shows_in_the_exported_code(type_, name):
    """Setting it back to its default changes the exported file (or the design is only valid with it)."""
    spec, param = BLOCKS[type_], BLOCKS[type_].param(name)
    compared, only_valid_as_set = 0, []
    for ex in spec.examples:
        if ex.get(name, param.default) == param.default:
            continue
        back = harness(type_, {**ex, name: param.default})
        if not sd.analyze(back).ok:  # e.g. the LM head's vocab_size must equal the embedding's
            only_valid_as_set.append(ex)
            continue
        assert sd.to_code(harness(type_, ex)) != sd.to_code(back), f"{type_}.{name}={ex[name]!r} leaves no trace"
        compared += 1
    for ex in only_valid_as_set if not compared else []:
        config = sd.to_code(harness(type_, ex)).split("class Config:")[1].split("\n\n\n")[0]
        assert f"= {ex[name]!r}" in config, f"{type_}.{name}={ex[name]!r} is not in the exported Config"
    assert compared or only_valid_as_set, f"{type_}.{name}: no example differs from its default"


# ------------------------------------------------------------------------------------------- docs
@pytest.mark.parametrize("lang,file", [("en", "blocks.md"), ("ko", "blocks.ko.md")])
def test_every_block_and_setting_is_in_the_docs(lang, file):
    text = (DOCS / file).read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## [^\n]*\(`(\w+)`\)\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL))
    assert set(sections) == set(BLOCKS)
    for type_, spec in BLOCKS.items():
        docs = spec.docs_en if lang == "en" else spec.docs_ko
        assert docs.summary in sections[type_]
        for p in spec.params:
            help_ = p.help if lang == "en" else p.help_ko
            assert f"(`{p.name}`) |" in sections[type_] and help_ in sections[type_], f"{type_}.{p.name} ({lang})"
            if lang == "ko":  # the Korean reference has Korean titles and range texts
                assert p.describe_range("ko") in sections[type_], f"{type_}.{p.name} range in Korean"
    if lang == "ko":
        assert all(f"## {spec.title_ko} (`{t}`)" in text for t, spec in BLOCKS.items())


def test_every_block_category_and_setting_has_a_korean_name():
    """#8 item 4: with Korean on, the palette, node titles and inspector labels are Korean; a new block,
    category or setting without its Korean name fails here."""
    from slamdunk_lab.blocks.catalog import CATEGORY_TITLES, PARAM_LABELS

    hangul = re.compile("[가-힣]")
    for type_, spec in BLOCKS.items():
        assert hangul.search(spec.title_ko), f"{type_} has no Korean title"
        assert spec.category in CATEGORY_TITLES and hangul.search(CATEGORY_TITLES[spec.category][1])
        for p in spec.params:
            assert p.name in PARAM_LABELS, f"{type_}.{p.name} has no label"
            assert hangul.search(PARAM_LABELS[p.name][1]), f"{type_}.{p.name} has no Korean label"
            if p.kind != "bool" and p.describe_range():
                assert hangul.search(p.describe_range("ko")) or p.kind == "choice", f"{type_}.{p.name} range"
    cat = sd.catalog()
    assert {c: t["ko"] for c, t in cat["category_titles"].items()} == {c: k for c, (_, k) in CATEGORY_TITLES.items()
                                                                       if c in cat["categories"]}
    for entry in cat["blocks"]:
        assert entry["titles"]["ko"] == BLOCKS[entry["type"]].title_ko
        for name, prop in entry["schema"].get("properties", {}).items():
            assert (prop["title"], prop["x-title-ko"]) == PARAM_LABELS[name]


# ------------------------------------------------------------------------------------------- canvas forms
_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "choice": "string"}


def _types(prop: dict) -> set:
    options = prop.get("anyOf", [prop])
    return {o.get("type") for o in options} | {v for o in options for v in o.get("enum", [])} | (
        {o["const"] for o in options if "const" in o})


@pytest.mark.parametrize("type_,name", PARAMS)
def test_every_setting_has_a_form_field_in_the_schema_the_canvas_receives(type_, name):
    pytest.importorskip("anywidget")
    from slamdunk_lab.widgets import _base

    if not _base.bundle_available():
        pytest.skip("front end not built (npm ci && npm run build)")
    canvas = sd.Canvas()
    entry = next(b for b in canvas.catalog["blocks"] if b["type"] == type_)
    param = BLOCKS[type_].param(name)
    prop = entry["schema"]["properties"][name]
    kinds = _types(prop)
    assert _JSON_TYPES[param.kind] in kinds or (param.kind == "choice" and set(param.choices) <= kinds)
    if param.kind == "choice":
        assert set(param.choices) <= kinds
    if param.nullable:
        assert "null" in kinds
    assert prop["description"] == param.help and prop["x-help-ko"] == param.help_ko
    assert prop["x-title-ko"] and prop["x-range-ko"] == param.describe_range("ko")
    assert entry["defaults"][name] == param.default


# ------------------------------------------------------------------------------------------- Hugging Face
@pytest.mark.parametrize("type_,name", [(t, n) for t, n in PARAMS if BLOCKS[t].hf_slot is not None])
def test_every_setting_states_what_it_becomes_in_every_hugging_face_family(type_, name):
    param = BLOCKS[type_].param(name)
    for family in HF_FAMILIES:
        rule = param.hf_rule(family)
        assert rule is not None, f"{type_}.{name} has no Hugging Face rule for {family}: map it, require a value " \
                                 "or say why it does not matter"
        assert rule.keys or rule.require is not None or rule.why, f"{type_}.{name} ({family}): an empty rule"


@pytest.mark.parametrize("type_", [t for t, s in BLOCKS.items() if s.hf_slot is None])
def test_blocks_without_a_hugging_face_place_are_refused_by_name(type_):
    graph = _family_graph("llama")
    example = BLOCKS[type_].examples[0]
    graph["nodes"].append({"id": "odd", "type": type_, "position": {"x": 0, "y": 0}, "data": dict(example)})
    for e in graph["edges"]:
        if e["target"] == "lm_head":
            e["target"] = "odd"
    graph["edges"].append({"id": "odd-head", "source": "odd", "target": "lm_head"})
    assert sd.analyze(graph).ok
    with pytest.raises(sd.GraphError) as info:
        sd.export_hf(sd.build(graph), "/nonexistent/never-written")
    assert any(issue.node_id == "odd" for issue in info.value.errors)


_TEMPLATES = {"gpt2": "gpt2", "llama": "llama3", "qwen3": "qwen3", "smollm3": "smollm3"}


def _family_graph(family: str) -> dict:
    return sd.template(_TEMPLATES[family], "tiny", n_layer=2, d_model=16, n_head=2, vocab_size=50, dropout=0.1)


def _candidates(spec, param, current) -> list:
    values = [ex[param.name] for ex in spec.examples if param.name in ex]
    values += list(param.choices or ()) + ([not current] if param.kind == "bool" else []) + [param.default]
    return [v for v in _unique(values) if v != current]


def _unique(values: list) -> list:
    seen, out = set(), []
    for v in values:
        if repr(v) not in seen:
            seen.add(repr(v))
            out.append(v)
    return out


def _hf_cases():
    for family in HF_FAMILIES:
        for n in _family_graph(family)["nodes"]:
            spec = BLOCKS[n["type"]]
            for param in spec.params:
                yield family, n["id"], param.name


@pytest.fixture(scope="module")
def hf_equal(tmp_path_factory):
    """Checks that transformers computes our logits from an export (one folder per call)."""
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    folder = tmp_path_factory.mktemp("hf")
    counter = iter(range(10_000))

    def check(graph: dict) -> None:
        torch.manual_seed(0)
        ours = sd.build(graph).eval()
        path = sd.export_hf(ours, folder / str(next(counter)))
        theirs = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
        idx = torch.randint(0, 50, (1, 7))
        with torch.no_grad():
            torch.testing.assert_close(theirs(idx).logits, ours(idx), atol=1e-5, rtol=1e-5)

    return check


@pytest.mark.parametrize("family,node_id,name", list(_hf_cases()))
def test_every_setting_is_mapped_or_refused_in_hugging_face_export(family, node_id, name, hf_equal):
    """Changing a setting either changes the exported config.json (and transformers then computes the same
    logits), or is refused naming the node, or its rule says it does not matter to the family."""
    graph = _family_graph(family)
    base = sd.hf.hf_config(graph)
    spec = BLOCKS[node(graph, node_id)["type"]]
    param = spec.param(name)
    rule = param.hf_rule(family)
    assert rule is not None
    for value in _candidates(spec, param, node(graph, node_id)["data"][name]):
        changed = copy.deepcopy(graph)
        node(changed, node_id)["data"][name] = value
        if not sd.analyze(changed).ok:
            continue  # a setting the rest of the design cannot take
        try:
            config = sd.hf.hf_config(changed)
        except sd.GraphError as exc:
            # the refusal names the node, or a node it now disagrees with names it ("differs from 'ln_1'")
            assert any(issue.node_id in (node_id, "tok_emb") or f"'{node_id}'" in issue.message
                       for issue in exc.errors), exc.errors
            continue
        same_model = sd.to_code(changed) == sd.to_code(graph)  # e.g. n_kv_heads None is n_kv_heads = n_heads
        if config == base:
            # A Llama 3 with its RoPE scaling widens max_position_embeddings past the scaling's original context
            # (transformers warns otherwise); the real context then travels in the export's marker.
            widened = rule.keys == ("max_position_embeddings",) and \
                (base.get("rope_parameters") or {}).get("rope_type") == "llama3" and \
                sd.analyze(changed).context != sd.analyze(graph).context
            assert not rule.keys or rule.when is not None or same_model or widened, \
                f"{node_id}.{name}={value!r} exports the same config.json although the rule maps it"
        else:
            assert rule.keys or rule.require is not None or config["model_type"] != base["model_type"], \
                f"{node_id}.{name}={value!r} changes config.json although its rule says it does not matter"
        if not same_model:  # whatever the rule says, transformers must compute what we compute
            hf_equal(changed)
