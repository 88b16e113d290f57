"""Generation and look-inside: KV cache equals the plain forward pass, samplers do what they promise."""

from __future__ import annotations

import pytest
import torch
from helpers import sentencepiece_tokenizer

import slamdunk_lab as sd
from slamdunk_lab import tokenizers
from slamdunk_lab.generation import attention, decode_stream, generate, next_token_probs

TEXT = "the quick brown fox jumps over the lazy dog.\nTHE END!"


def lively(model: torch.nn.Module, std: float = 1.0, seed: int = 0) -> torch.nn.Module:
    """Bigger random weights than the GPT-2 init, so an untrained model's next token depends on its input."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, std)
    return model.eval()


def char_model(context: int = 32, n_layer: int = 2, family: str = "gpt2", dtype=torch.float64, std: float = 1.0,
               **overrides):
    tok = tokenizers.char(TEXT)
    graph = sd.template(family, size="tiny", n_layer=n_layer, n_head=2, d_model=32, vocab_size=tok.vocab_size,
                        context=context, **overrides)
    return lively(sd.build(graph, dtype=dtype), std=std), tok


def with_sliding_window(graph: dict, window: int) -> dict:
    for node in graph["nodes"]:
        if node["type"] == "attention":
            node["data"]["sliding_window"] = window
    return graph


def with_shared_weights(graph: dict) -> dict:
    for node in graph["nodes"]:
        if node["type"] == "transformerBlock":
            node["data"]["share_weights"] = True
    return graph


CACHE_CASES = {
    "gpt2": lambda: sd.template("gpt2", size="tiny", n_layer=2),
    "llama2": lambda: sd.template("llama2", size="tiny", n_layer=2),
    "llama3": lambda: sd.template("llama3", size="tiny", n_layer=2),
    "qwen3": lambda: sd.template("qwen3", size="tiny", n_layer=2),
    "smollm3": lambda: sd.template("smollm3", size="tiny", n_layer=4),  # layer 4 has no RoPE
    "sliding_window": lambda: with_sliding_window(sd.template("llama3", size="tiny", n_layer=2), 5),
    "shared_weights": lambda: with_shared_weights(sd.template("gpt2", size="tiny", n_layer=3)),
}


# ---------------------------------------------------------------------------------------------- KV cache
@pytest.mark.parametrize("name", list(CACHE_CASES))
def test_cached_logits_equal_the_uncached_forward_pass(name):
    torch.manual_seed(0)
    model = lively(sd.build(CACHE_CASES[name]()), std=0.05)
    idx = torch.randint(0, model.vocab_size, (2, 24))
    with torch.inference_mode():
        full = model(idx)  # (2, 24, V)
        cache = model.new_cache(batch_size=2)
        chunks, start = [], 0
        for size in (7, 5, 1, 1, 10):  # a chunked prefill, single tokens, then another chunk
            chunks.append(model(idx[:, start:start + size], cache=cache))
            start += size
    assert cache.pos == 24
    torch.testing.assert_close(torch.cat(chunks, dim=1), full, atol=1e-5, rtol=1e-5)


def greedy_reference(model, ids: list[int], n: int, window) -> list[int]:
    """Greedy decoding with a full forward pass per token over ``window(ids)`` (no cache)."""
    out = []
    with torch.inference_mode():
        for _ in range(n):
            logits = model(torch.tensor([window(ids)]))[0, -1]
            ids = ids + [int(logits.argmax())]
            out.append(ids[-1])
    return out


def test_greedy_with_cache_equals_greedy_by_full_forward_until_the_window_fills():
    model, tok = char_model(context=32)
    prompt = "the lazy dog"
    ids = tok.encode(prompt)
    n = model.context - len(ids) + 1  # every one of these tokens sees the whole text
    expected = greedy_reference(model, ids, n, window=lambda x: x[-model.context:])
    assert len(set(expected)) > 3  # the model is not stuck on one token, so the comparison means something
    assert generate(model, tok, prompt, max_new_tokens=n, temperature=0) == tok.decode(expected)


@pytest.mark.parametrize("family", ["gpt2", "llama3"])  # learned positions and RoPE
def test_generation_slides_the_window_by_half_a_context(family):
    model, tok = char_model(context=16, family=family)
    prompt = "the quick"
    n = 3 * model.context

    start = 0

    def documented_window(ids):
        # The window restarts from the last context // 2 tokens whenever it would exceed the context.
        nonlocal start
        if len(ids) - start > model.context:
            start = len(ids) - model.context // 2
        return ids[start:]

    expected = greedy_reference(model, tok.encode(prompt), n, documented_window)
    text = generate(model, tok, prompt, max_new_tokens=n, temperature=0)
    assert len(text) == n
    assert text == tok.decode(expected)
    # Sampling past the context works too, and stays reproducible.
    sampled = generate(model, tok, prompt, max_new_tokens=n, temperature=1.0, seed=3)
    assert len(sampled) == n and sampled == generate(model, tok, prompt, max_new_tokens=n, temperature=1.0, seed=3)


def test_a_prompt_longer_than_the_context_keeps_its_last_tokens():
    model, tok = char_model(context=16)
    prompt = TEXT[:40]
    assert generate(model, tok, prompt, max_new_tokens=8, temperature=0) == \
        generate(model, tok, prompt[-16:], max_new_tokens=8, temperature=0)


# ---------------------------------------------------------------------------------------------- sampling
def test_seeds_are_reproducible_and_leave_the_global_rng_alone():
    model, tok = char_model()
    state = torch.get_rng_state()
    a = generate(model, tok, "the", max_new_tokens=40, temperature=1.0, top_k=None, top_p=1.0, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert a == generate(model, tok, "the", max_new_tokens=40, temperature=1.0, top_k=None, top_p=1.0, seed=7)
    assert a != generate(model, tok, "the", max_new_tokens=40, temperature=1.0, top_k=None, top_p=1.0, seed=8)


def first_tokens(model, tok, prompt, seeds=range(60), **kw) -> set[str]:
    return {generate(model, tok, prompt, max_new_tokens=1, temperature=1.0, seed=s, **kw) for s in seeds}


def test_top_k_samples_only_among_the_k_most_likely_tokens():
    model, tok = char_model()
    top3 = {e["token"] for e in next_token_probs(model, tok, "the q", k=3)}
    assert first_tokens(model, tok, "the q", top_k=3, top_p=1.0) <= top3
    assert len(first_tokens(model, tok, "the q", top_k=None, top_p=1.0)) > 3  # without the limit: more


def test_top_p_keeps_the_smallest_set_reaching_p_and_at_least_one_token():
    model, tok = char_model()
    probs = next_token_probs(model, tok, "the q", k=tok.vocab_size)
    mass, nucleus = 0.0, set()
    for e in probs:
        nucleus.add(e["token"])
        mass += e["prob"]
        if mass >= 0.5:
            break
    assert first_tokens(model, tok, "the q", top_k=None, top_p=0.5) <= nucleus
    greedy = generate(model, tok, "the q", max_new_tokens=12, temperature=0)
    assert generate(model, tok, "the q", max_new_tokens=12, top_k=None, top_p=1e-9, seed=5) == greedy
    assert generate(model, tok, "the q", max_new_tokens=12, top_k=1, top_p=1.0, seed=5) == greedy


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens():
    model, tok = char_model()
    for n in range(8, len(TEXT)):  # find a prompt whose most likely next token is already in it
        ids = tok.encode(TEXT[:n])
        with torch.inference_mode():
            logits = model(torch.tensor([ids]))[0, -1].float()
        if int(logits.argmax()) in ids:
            break
    penalised = logits.clone()
    for i in set(ids):
        penalised[i] = logits[i] / 20 if logits[i] > 0 else logits[i] * 20
    assert int(penalised.argmax()) != int(logits.argmax())  # the penalty matters for this prompt
    got = generate(model, tok, TEXT[:n], max_new_tokens=1, temperature=0, repetition_penalty=20.0)
    assert got == tok.decode([int(penalised.argmax())])


def test_an_empty_prompt_penalises_nothing_it_did_not_write():
    """An empty prompt runs the model on a start token ("\n" here) that is not part of the text: the repetition
    penalty must not count it as written, so the first token is the unpenalised favourite."""
    tok = tokenizers.char("ab\n")
    start = tok.encode("\n")[0]
    for seed in range(60):  # a model whose favourite after the start token is the start token itself
        model = lively(sd.build(sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=16, vocab_size=3,
                                            context=32), dtype=torch.float64), seed=seed)
        with torch.inference_mode():
            if int(model(torch.tensor([[start]]))[0, -1].argmax()) == start:
                break
    else:
        pytest.fail("no model found whose favourite after the start token is the start token")
    assert generate(model, tok, "", max_new_tokens=1, temperature=0) == "\n"
    assert generate(model, tok, "", max_new_tokens=1, temperature=0, repetition_penalty=20.0) == "\n"
    # a real "\n" in the prompt is written text, and is penalised
    assert generate(model, tok, "\n", max_new_tokens=1, temperature=0, repetition_penalty=1e6) != "\n"


def test_stop_strings_cut_the_text_before_the_first_one():
    model, tok = char_model()
    full = generate(model, tok, "the", max_new_tokens=60, temperature=1.0, seed=2)
    stop = full[20:22]
    expected = full[:full.index(stop)]
    assert generate(model, tok, "the", max_new_tokens=60, temperature=1.0, seed=2, stop=stop) == expected
    assert generate(model, tok, "the", max_new_tokens=60, temperature=1.0, seed=2,
                    stop=["@@never@@", stop]) == expected
    assert "".join(generate(model, tok, "the", max_new_tokens=60, temperature=1.0, seed=2, stop=stop,
                            stream=True)) == expected


def test_generation_stops_at_the_end_of_text_token():
    tok = tokenizers.char("ab.")
    model = lively(sd.build(sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=16, vocab_size=3,
                                        context=64), dtype=torch.float64))
    plain = generate(model, tok, "ab", max_new_tokens=60, temperature=2.0, top_k=None, top_p=1.0, seed=0)
    assert "." in plain
    tok.eos_id = tok.encode(".")[0]  # a tokenizer with an end-of-text token
    cut = generate(model, tok, "ab", max_new_tokens=60, temperature=2.0, top_k=None, top_p=1.0, seed=0)
    assert cut == plain[:plain.index(".")]


def test_streamed_pieces_join_to_the_same_text():
    model, tok = char_model()
    pieces = list(generate(model, tok, "the", max_new_tokens=50, seed=4, stream=True))
    assert len(pieces) > 1 and "".join(pieces) == generate(model, tok, "the", max_new_tokens=50, seed=4)


def test_a_sentencepiece_tokenizer_keeps_the_space_before_the_first_new_word(tmp_path):
    tok = sentencepiece_tokenizer(tmp_path)
    assert tok.decode(tok.encode("hello")) + tok.decode(tok.encode(" world")) == "helloworld"  # the trap
    model = lively(sd.build(sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=32,
                                        vocab_size=tok.vocab_size, context=64), dtype=torch.float64))
    new_words = 0
    # The last prompt is longer than the few tokens decoded with each new one.
    for prompt in ["hello", "the cat", "on the", "sat", "mat", "the cat sat on the mat hello world the cat sat"]:
        ids = tok.encode(prompt)
        assert tok.decode(ids) == prompt
        new = greedy_reference(model, ids, 12, window=lambda x: x)
        whole = tok.decode(ids + new)  # prompt and continuation decoded as one text
        text = generate(model, tok, prompt, max_new_tokens=12, temperature=0)
        assert prompt + text == whole
        assert "".join(generate(model, tok, prompt, max_new_tokens=12, temperature=0, stream=True)) == text
        if " " in text:  # stop strings still cut the text, streamed or not
            cut = text[:text.index(" ")]
            assert generate(model, tok, prompt, max_new_tokens=12, temperature=0, stop=" ") == cut
            assert "".join(generate(model, tok, prompt, max_new_tokens=12, temperature=0, stop=" ",
                                    stream=True)) == cut
        new_words += text.startswith(" ")
    assert new_words  # some continuation starts a new word, so the comparison means something


def test_long_streams_equal_one_decode_of_everything():
    tok = tokenizers.bpe(TEXT * 20, vocab_size=300)
    ids = tok.encode(TEXT * 6)  # many more ids than are decoded together at each step
    pieces = list(decode_stream(tok, ids))
    assert len(pieces) > 50 and "".join(pieces) == TEXT * 6
    assert "".join(decode_stream(tok, ids, stop="END!")) == (TEXT * 6)[:TEXT.index("END!")]


def test_streaming_never_splits_a_multibyte_character():
    tok = tokenizers.byte()
    text = "naïve café — 東京"
    pieces = list(decode_stream(tok, tok.encode(text)))
    assert "".join(pieces) == text and "\ufffd" not in "".join(pieces)
    assert "東" in pieces and "é" in pieces
    # A possible stop string is held back until it is known not to be one.
    assert list(decode_stream(tok, tok.encode("ab\nc\n\nd"), stop="\n\n")) == ["a", "b", "\nc"]
    model = lively(sd.build(sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=16, vocab_size=256,
                                        context=32)))
    streamed = "".join(generate(model, tok, "é", max_new_tokens=40, seed=1, stream=True))
    assert streamed == generate(model, tok, "é", max_new_tokens=40, seed=1)


def test_the_training_flag_is_restored():
    model, tok = char_model(dropout=0.1)
    model.train()
    a = generate(model, tok, "the", max_new_tokens=20, temperature=0)
    assert model.training
    assert a == generate(model, tok, "the", max_new_tokens=20, temperature=0)  # dropout was off
    stream = generate(model, tok, "the", max_new_tokens=20, stream=True)
    next(stream)
    stream.close()
    assert model.training
    next_token_probs(model, tok, "the")
    attention(model, tok, "the")
    assert model.training


def test_empty_prompts_unknown_characters_and_bad_settings():
    model, tok = char_model()
    assert len(generate(model, tok, "", max_new_tokens=5, temperature=0)) == 5  # starts from "\n"
    no_newline = tokenizers.char("abc")
    small = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=3, context=8))
    with pytest.raises(ValueError, match="prompt"):
        generate(small, no_newline, "")
    with pytest.raises(ValueError, match="'z'"):
        generate(small, no_newline, "abz")
    assert generate(model, tok, "the", max_new_tokens=0) == ""
    for bad in ({"temperature": -1}, {"top_p": 0}, {"top_k": -2}, {"repetition_penalty": 0},
                {"max_new_tokens": 1.5}, {"stop": ""}):
        with pytest.raises(ValueError):
            generate(model, tok, "the", **bad)


def test_a_tiny_temperature_picks_the_most_likely_token():
    model, tok = char_model()
    greedy = generate(model, tok, "the", max_new_tokens=30, temperature=0)
    for temperature in (1e-6, 1e-40, 1e-300, 5e-324):  # logits / temperature would overflow to inf
        assert generate(model, tok, "the", max_new_tokens=30, temperature=temperature, seed=1) == greedy
        assert generate(model, tok, "the", max_new_tokens=30, temperature=temperature, top_k=None,
                        top_p=0.5, seed=1) == greedy
    huge = generate(model, tok, "the", max_new_tokens=30, temperature=1e300, top_k=None, top_p=1.0, seed=1)
    assert len(huge) == 30


def test_seeds_must_be_whole_numbers_from_0_below_2_to_the_63():
    np = pytest.importorskip("numpy")
    model, tok = char_model()
    a = generate(model, tok, "the", max_new_tokens=10, temperature=1.0, seed=5)
    assert generate(model, tok, "the", max_new_tokens=10, temperature=1.0, seed=np.int64(5)) == a
    assert len(generate(model, tok, "the", max_new_tokens=10, temperature=1.0, seed=2 ** 63 - 1)) == 10
    for bad in ("a", 1.5, 5.0, True, -1, 2 ** 63, 2 ** 70, np.float64(3)):
        with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*63 - 1") as info:
            generate(model, tok, "the", max_new_tokens=10, seed=bad)
        assert repr(bad) in str(info.value)
        with pytest.raises(ValueError, match="seed"):
            generate(model, tok, "the", max_new_tokens=10, seed=bad, stream=True)  # at the call, not later


# ---------------------------------------------------------------------------------------------- look inside
def test_next_token_probs_are_the_softmax_of_the_logits():
    model, tok = char_model()
    probs = next_token_probs(model, tok, "the qu", k=5)
    with torch.inference_mode():
        expected = model(torch.tensor([tok.encode("the qu")]))[0, -1].float().softmax(-1)
    assert [e["prob"] for e in probs] == sorted((e["prob"] for e in probs), reverse=True)
    assert 0 < sum(e["prob"] for e in probs) <= 1
    for e in probs:
        assert e["prob"] == pytest.approx(float(expected[e["id"]]), abs=1e-6)
        assert e["token"] == tok.decode([e["id"]])
    everything = next_token_probs(model, tok, "the qu", k=1000)
    assert len(everything) == tok.vocab_size and sum(e["prob"] for e in everything) == pytest.approx(1.0)


@pytest.mark.parametrize("family", ["gpt2", "llama3"])  # llama3 tiny has grouped-query heads
def test_attention_maps_are_causal_rows_that_sum_to_one(family):
    model, tok = char_model(family=family, n_layer=3, dtype=torch.float32, std=0.1)
    maps = attention(model, tok, "the dog")
    n_heads = next(n["data"]["n_heads"] for n in model.graph["nodes"] if n["type"] == "attention")
    assert maps.weights.shape == (3, n_heads, 7, 7)
    assert maps.tokens == list("the dog")
    assert maps.layer_names == ["blocks.0.attn", "blocks.1.attn", "blocks.2.attn"]
    torch.testing.assert_close(maps.weights.sum(-1), torch.ones(3, n_heads, 7))
    future = torch.ones(7, 7, dtype=torch.bool).triu(diagonal=1)
    assert torch.all(maps.weights[..., future] == 0) and torch.all(maps.weights[..., ~future] > 0)
    assert len(maps.to_json()["weights"]) == 3


@pytest.mark.parametrize("stream", [False, True])
def test_a_design_vocabulary_larger_than_the_tokenizers_samples_only_decodable_ids(stream):
    """A design with a rounded-up vocab_size has output ids the tokenizer cannot decode: they are never
    sampled (here they are the model's favourites, so without the mask greedy decoding picks one at once)."""
    tok = tokenizers.char("abcdefgh \n")
    extra = 40
    graph = sd.template("gpt2", size="tiny", n_layer=1, n_head=2, d_model=32, vocab_size=tok.vocab_size + extra,
                        context=16)
    model = lively(sd.build(graph))
    with torch.no_grad():  # every decodable id scores 0, the undecodable ones score at random (most of them > 0)
        model.tok_emb.weight[: tok.vocab_size] = 0.0
    logits = model(torch.tensor([tok.encode("abc")]))[0, -1]
    assert int(logits.argmax()) >= tok.vocab_size  # the model itself prefers an id the tokenizer lacks
    for temperature in (0, 1.0):
        out = generate(model, tok, "abc", max_new_tokens=30, temperature=temperature, top_k=None, top_p=1.0,
                       seed=3, stream=stream)
        text = "".join(out) if stream else out
        assert len(text) == 30 and set(text) <= set("abcdefgh \n")
    probs = next_token_probs(model, tok, "abc", k=20)
    assert len(probs) == tok.vocab_size and all(p["id"] < tok.vocab_size for p in probs)
