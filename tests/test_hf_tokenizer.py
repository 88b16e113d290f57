"""sd.export_hf writes a tokenizer and generation settings that transformers uses as they are: AutoTokenizer gives
the same ids as our tokenizer, and pipeline("text-generation") writes text for every template, warning-free."""

from __future__ import annotations

import io
import json
import logging
import warnings
from contextlib import contextmanager

import pytest
import torch
from helpers import TEMPLATE_NAMES

import slamdunk_lab as sd
from slamdunk_lab import tokenizers

transformers = pytest.importorskip("transformers")

TEXTS = [
    "Every tree in the garden falls.",
    "  two  spaces, tabs\tand\nnew lines\n\n",
    "Ünïcödé café — “quotes” 日本語 한국어 🤖🏀",
    "numbers 12345 and punctuation!?;:",
]


@pytest.fixture(scope="module")
def corpus():
    grammar = sd.data.synthetic("grammar", n=300, seed=0)
    return sd.data.Corpus(grammar.docs + TEXTS * 3, name="mix")


@pytest.fixture(scope="module")
def made(corpus):
    """One tokenizer of each kind we make ourselves."""
    return {"char": tokenizers.char(corpus), "char-unk": tokenizers.char(sd.data.synthetic("grammar", n=50), unk="?"),
            "byte": tokenizers.byte(), "bpe": tokenizers.bpe(corpus, vocab_size=400)}


@contextmanager
def transformers_warnings():
    """Everything transformers says at WARNING or above, through logging or the warnings module."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    said: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield said
        finally:
            logger.removeHandler(handler)
            said += [str(w.message) for w in caught if "transformers" in (w.filename or "")
                     or "transformers" in str(w.message)]
            said += [line for line in buf.getvalue().splitlines() if line.strip()]


def export(tok, tmp_path, template="gpt2", **overrides):
    model = sd.build(sd.template(template, size="tiny", n_layer=1, vocab_size=tok.vocab_size, **overrides))
    return model, sd.export_hf(model, tmp_path / f"{template}-{tok.name}", tokenizer=tok)


@pytest.mark.parametrize("kind", ["char", "char-unk", "byte", "bpe"])
def test_auto_tokenizer_gives_our_ids_and_text_back(made, kind, tmp_path):
    tok = made[kind]
    _, out = export(tok, tmp_path)
    with transformers_warnings() as said:
        auto = transformers.AutoTokenizer.from_pretrained(out)
    assert said == []
    texts = TEXTS if kind in ("byte", "bpe") else [t for t in TEXTS if all(c in tok.chars for c in t)] + \
        ["every tree"]
    if kind == "char-unk":
        texts = ["every tree falls", "ÜNKNOWN chars become ?"]
    assert texts
    for text in texts:
        ids = auto(text)["input_ids"]
        assert ids == tok.encode(text), text
        assert auto.decode(ids) == tok.decode(ids)
    assert len(auto) == tok.vocab_size


def test_bpe_special_tokens_and_ids_reach_every_config(made, tmp_path):
    tok = made["bpe"]
    _, out = export(tok, tmp_path, "llama3")
    auto = transformers.AutoTokenizer.from_pretrained(out)
    assert auto.eos_token == "<|endoftext|>" and auto.eos_token_id == tok.eos_id
    assert auto.bos_token_id == tok.eos_id and auto.pad_token_id == tok.eos_id
    assert auto.model_max_length == 256  # the tiny template's context
    config = json.loads((out / "config.json").read_text())
    generation = json.loads((out / "generation_config.json").read_text())
    for section in (config, generation):
        assert (section["bos_token_id"], section["eos_token_id"], section["pad_token_id"]) == (tok.eos_id,) * 3
    loaded = transformers.GenerationConfig.from_pretrained(out)
    assert loaded.eos_token_id == tok.eos_id and loaded.do_sample and loaded.max_new_tokens == 128


def test_tiktoken_gpt2_is_written_as_gpt2s_own_tokenizer(gpt2, gpt2_files, tmp_path):
    # the reference: GPT-2's byte-level BPE read from OpenAI's original files (vocabulary and merges), as
    # transformers builds GPT-2's fast tokenizer, not from the tiktoken ranks our conversion starts from
    hft = pytest.importorskip("tokenizers")
    reference = hft.Tokenizer(hft.models.BPE.from_file(str(gpt2_files / "encoder.json"),
                                                       str(gpt2_files / "vocab.bpe")))
    reference.pre_tokenizer = hft.pre_tokenizers.ByteLevel(add_prefix_space=False)  # GPT-2's split pattern
    tok_json = gpt2.to_hf()
    texts = [*TEXTS, "Hello world", " leading space", "it's we've they'll I'd"]
    for text in texts:
        assert tok_json.encode(text).ids == gpt2.encode(text) == reference.encode(text).ids, text
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=gpt2.vocab_size))
    out = sd.export_hf(model, tmp_path / "gpt2-tiktoken", tokenizer=gpt2)
    auto = transformers.AutoTokenizer.from_pretrained(out)
    for text in texts:
        assert auto(text)["input_ids"] == reference.encode(text).ids
        assert auto.decode(auto(text)["input_ids"]) == text
    assert auto.eos_token_id == 50256 == gpt2.eos_id and len(auto) == 50257
    assert json.loads((out / "config.json").read_text())["eos_token_id"] == 50256


def test_a_loaded_tokenizer_json_is_exported_unchanged(made, tmp_path):
    saved = made["bpe"].save(tmp_path / "saved")
    tok = tokenizers.hf(saved / "hf_tokenizer.json")
    _, out = export(tok, tmp_path)
    auto = transformers.AutoTokenizer.from_pretrained(out)
    for text in TEXTS:
        assert auto(text)["input_ids"] == made["bpe"].encode(text)


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_template_exports_to_a_pipeline_that_writes_text(made, template, tmp_path):
    tok = made["bpe"]
    torch.manual_seed(0)
    model, out = export(tok, tmp_path, template)
    with transformers_warnings() as said:
        transformers.AutoTokenizer.from_pretrained(out)
        transformers.AutoModelForCausalLM.from_pretrained(out)
        generator = transformers.pipeline("text-generation", model=str(out))
    assert said == [], f"transformers warned on load: {said}"
    prompt = "Every tree"
    result = generator(prompt, max_new_tokens=12)[0]["generated_text"]
    assert result.startswith(prompt) and len(result) > len(prompt)
    # greedy decoding through transformers continues the prompt exactly as sd.generate does
    greedy = generator(prompt, max_new_tokens=12, do_sample=False)[0]["generated_text"]
    assert greedy == prompt + sd.generate(model, tok, prompt, max_new_tokens=12, temperature=0)
    # the default call (no max_new_tokens) stays inside the model's positions
    assert generator(prompt)[0]["generated_text"].startswith(prompt)


def test_the_model_s_own_tokenizer_is_the_default(made, tmp_path):
    tok = made["char"]
    model = sd.build(sd.template("qwen3", size="tiny", n_layer=1, vocab_size=tok.vocab_size))
    loaded = sd.load(sd.save(model, tmp_path / "saved", tokenizer=tok))
    out = sd.export_hf(loaded, tmp_path / "export")
    assert transformers.AutoTokenizer.from_pretrained(out)("every tree")["input_ids"] == tok.encode("every tree")


def test_a_tokenizer_bigger_than_the_vocabulary_is_refused_and_stale_files_go(made, tmp_path):
    tok = made["bpe"]
    small = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=300))
    with pytest.raises(ValueError, match="400 tokens but the model's vocabulary holds only 300"):
        sd.export_hf(small, tmp_path / "x", tokenizer=tok)
    assert not (tmp_path / "x").exists()
    _, out = export(tok, tmp_path)
    assert (out / "tokenizer.json").exists()
    sd.export_hf(sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=tok.vocab_size)), out)
    assert not (out / "tokenizer.json").exists() and not (out / "tokenizer_config.json").exists()
    with pytest.raises(TypeError, match="slamdunk_lab tokenizer"):
        sd.export_hf(small, tmp_path / "y", tokenizer="gpt2")
