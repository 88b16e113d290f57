"""Generate text with a model, and look inside it: next-token probabilities and attention maps.

>>> import torch, slamdunk_lab as sd
>>> from slamdunk_lab import tokenizers
>>> tok = tokenizers.char("hello world")
>>> model = sd.build(sd.template("gpt2", size="tiny", n_layer=2, vocab_size=tok.vocab_size, context=32))
>>> text = sd.generate(model, tok, "hello", max_new_tokens=10, seed=1)
>>> len(text)
10

Generation uses the model's KV cache: the prompt is run once (prefill), then each new token costs one forward
pass over a single position. Sampling draws from a local ``torch.Generator`` seeded with ``seed``, so the same
call gives the same text and never disturbs the global random state.

**Longer than the context.** A prompt longer than the model's context keeps only its last ``context`` tokens.
When generation fills the context, the window slides by half a context at once: the cache is emptied and the
last ``context // 2`` tokens are run again (positions restart at 0), then generation continues one token per
step until the window is full again. So every token is predicted from at least the last ``context // 2`` and
at most the last ``context`` tokens, and the re-run costs one half-context prefill per ``context // 2`` new
tokens instead of a full forward pass per token.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import torch

__all__ = ["AttentionMaps", "attention", "decode_stream", "generate", "next_token_probs"]

_REPLACEMENT = "\ufffd"  # what a decoder writes for an incomplete UTF-8 sequence
#: How many token ids before the text still being decoded are decoded with it (and their own text cut off the
#: front): the end of the prompt before the first new token, then the last tokens already turned into text.
#: A decoder that treats the first token of a text differently (SentencePiece drops its leading space) then
#: gives each piece the text it has in context, while each step decodes only a few ids.
_DECODE_CONTEXT = 8


# ---------------------------------------------------------------------------------------------- public API
@overload
def generate(model: Any, tok: Any, prompt: str, max_new_tokens: int = ..., temperature: float = ...,
             top_k: int | None = ..., top_p: float = ..., repetition_penalty: float = ...,
             stop: str | Sequence[str] | None = ..., seed: int | None = ..., stream: Literal[False] = ...,
             include_prompt: bool = ...) -> str: ...
@overload
def generate(model: Any, tok: Any, prompt: str, max_new_tokens: int = ..., temperature: float = ...,
             top_k: int | None = ..., top_p: float = ..., repetition_penalty: float = ...,
             stop: str | Sequence[str] | None = ..., seed: int | None = ..., *, stream: Literal[True],
             include_prompt: bool = ...) -> Iterator[str]: ...
def generate(model, tok, prompt: str, max_new_tokens: int = 200, temperature: float = 0.8,
             top_k: int | None = 40, top_p: float = 0.95, repetition_penalty: float = 1.0,
             stop: str | Sequence[str] | None = None, seed: int | None = 0,
             stream: bool = False, include_prompt: bool = False) -> str | Iterator[str]:
    """Continue ``prompt`` with up to ``max_new_tokens`` tokens; returns the new text only, without the prompt
    (``include_prompt=True``: the prompt followed by the new text, as the original student project's
    ``/generate-text`` answered).

    The new text is what follows the prompt when the prompt's tokens and the new ones are decoded together, so
    ``prompt + text`` reads as one text (a SentencePiece tokenizer keeps the space before the first new word).

    Args:
        model: a model from :func:`slamdunk_lab.build` (or loaded); it runs in eval mode under
            ``torch.inference_mode()`` and gets its training flag back afterwards.
        tok: the tokenizer the model was trained with.
        prompt: the text to continue. An empty prompt starts from the tokenizer's end-of-text token when it has
            one, otherwise from a newline ("\\n") when the tokenizer can encode it; otherwise it is an error.
        max_new_tokens: how many tokens to generate at most.
        temperature: divides the logits; 0 means greedy (always the most likely token). Any positive value
            works: a tiny one (below about 1e-38) picks the most likely token, like 0.
        top_k: sample only among the ``top_k`` most likely tokens (``None`` or 0: no limit).
        top_p: nucleus sampling: keep the fewest most-likely tokens whose probabilities add up to at least
            ``top_p`` (1.0: no limit; the most likely token is always kept).
        repetition_penalty: CTRL-style penalty (> 1 discourages repeats) on every token already in the prompt
            or the generated text: positive logits are divided by it, negative ones multiplied.
        stop: a string or list of strings; generation stops as soon as one appears in the generated text, and
            the text returned is cut just before it. Generation also stops (without returning it) when the
            model produces the tokenizer's end-of-text token, if the tokenizer has one.
        seed: seed of the sampler's own random generator, a whole number from 0 to 2**63 - 1 (``None``: a
            random seed).
        stream: if True, return an iterator of text pieces as they are generated instead of one string; the
            pieces joined equal the string ``stream=False`` returns. Pieces never end inside a multi-byte
            character or inside a possible stop string. The model is in eval mode until the iterator ends.
        include_prompt: if True, the result starts with ``prompt`` itself (streamed: as the first piece).

    Sampling order: repetition penalty, temperature, top-k, top-p, then one draw. See the module docstring for
    what happens when the text grows past the model's context.

    **A design vocabulary larger than the tokenizer's.** Only ids the tokenizer can decode are ever sampled:
    the scores of ids ``tok.vocab_size`` and above (which a model with a rounded-up ``vocab_size`` has, and
    can rank first) are left out before sampling, as if they were not there.
    """
    settings = _check_settings(max_new_tokens, temperature, top_k, top_p, repetition_penalty)
    stops = _check_stop(stop)
    ids, prompt_ids = _encode_prompt(tok, prompt)
    generator = _generator(model, seed)
    token_ids = _sample_ids(model, ids, max_new_tokens, settings, generator, eos_id=getattr(tok, "eos_id", None),
                            seen_ids=prompt_ids, vocab_size=_decodable(tok))
    # The new ids are decoded after the end of the prompt, so the text is what follows the prompt in
    # decode(prompt + new ids): a SentencePiece tokenizer keeps the space that starts the first new word.
    if not isinstance(include_prompt, bool):
        raise TypeError(f"include_prompt must be True or False, got {include_prompt!r}")
    head = prompt if include_prompt else ""
    if stream or stops:
        pieces = _text_pieces(tok, token_ids, stops, context_ids=prompt_ids)
        if stream:
            return itertools.chain([head], pieces) if head else pieces
        return head + "".join(pieces)
    # nothing to watch for while generating: one decode at the end, with the same prompt context
    keep = _context_size(tok)
    return head + _after(tok, list(prompt_ids)[len(prompt_ids) - keep:], list(token_ids))


def next_token_probs(model, tok, prompt: str, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` most likely next tokens after ``prompt``, most likely first.

    Each entry is ``{"token": str, "id": int, "prob": float}``; probabilities are the softmax of the model's
    logits at temperature 1 (so they sum to at most 1 over the ``k`` shown). An empty prompt is handled as in
    :func:`generate`; a prompt longer than the context keeps its last ``context`` tokens. As in
    :func:`generate`, only ids the tokenizer can decode (below ``tok.vocab_size``) are candidates.

    >>> import slamdunk_lab as sd
    >>> from slamdunk_lab import tokenizers
    >>> tok = tokenizers.char("abc")
    >>> model = sd.build(sd.template("gpt2", size="tiny", n_layer=1, vocab_size=3, context=8))
    >>> [sorted(e) for e in sd.next_token_probs(model, tok, "ab", k=2)]
    [['id', 'prob', 'token'], ['id', 'prob', 'token']]
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive whole number, got {k!r}")
    ids = _prompt_ids(tok, prompt)[-model.context:]
    with _eval_mode(model), torch.inference_mode():
        logits = model(_as_batch(model, ids))[0, -1, :_decodable(tok)].float()  # (V,) the tokenizer can decode
    if not bool(torch.isfinite(logits).all()):
        raise _non_finite()
    probs = logits.softmax(dim=-1)
    top = probs.topk(min(k, probs.numel()))
    return [{"token": tok.decode([i]), "id": i, "prob": p}
            for i, p in zip(top.indices.tolist(), top.values.tolist())]


@dataclass
class AttentionMaps:
    """Attention weights of one prompt, for look-inside views.

    Attributes:
        tokens: the prompt's tokens as text pieces (one per position).
        weights: a float tensor (layers, heads, T, T): ``weights[l, h, i, j]`` is how much position ``i``
            attends to position ``j`` in attention call ``l``, head ``h``; each row sums to 1 and the upper
            triangle (the future) is 0. Grouped-query heads are expanded, so there are as many heads as query
            heads. If the layers have different head counts, ``weights`` is a list of (heads, T, T) tensors.
        layer_names: one name per attention call, its module path (``"blocks.0.attn"``); a layer whose
            weights are shared and run several times is named once per run (``"blocks.0.attn (repeat 2)"``).
    """

    tokens: list[str]
    weights: torch.Tensor | list[torch.Tensor]
    layer_names: list[str]

    def to_json(self) -> dict:
        """Plain lists for a front end: ``{"tokens", "weights", "layer_names"}``."""
        weights = self.weights.tolist() if isinstance(self.weights, torch.Tensor) else [w.tolist() for w in
                                                                                         self.weights]
        return {"tokens": list(self.tokens), "weights": weights, "layer_names": list(self.layer_names)}


def attention(model, tok, prompt: str) -> AttentionMaps:
    """The attention weights every layer and head gives each pair of prompt positions.

    >>> import slamdunk_lab as sd
    >>> from slamdunk_lab import tokenizers
    >>> tok = tokenizers.char("abc")
    >>> model = sd.build(sd.template("gpt2", size="tiny", n_layer=2, n_head=2, vocab_size=3, context=8))
    >>> maps = sd.attention(model, tok, "abca")
    >>> tuple(maps.weights.shape), maps.layer_names
    ((2, 2, 4, 4), ['blocks.0.attn', 'blocks.1.attn'])

    An empty prompt is handled as in :func:`generate`; a prompt longer than the context keeps its last
    ``context`` tokens.
    """
    ids = _prompt_ids(tok, prompt)[-model.context:]
    with _eval_mode(model), torch.inference_mode():
        model(_as_batch(model, ids), capture_attention=True)
    maps = [m[0].float().cpu() for m in model.last_attention]  # each (H, T, T)
    weights: torch.Tensor | list[torch.Tensor] = maps
    if maps and len({m.shape for m in maps}) == 1:
        weights = torch.stack(maps)  # (L, H, T, T)
    return AttentionMaps(tokens=[tok.decode([i]) for i in ids], weights=weights,
                         layer_names=_attention_names(model))


# ---------------------------------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class _Settings:
    temperature: float
    top_k: int | None
    top_p: float
    repetition_penalty: float


#: The most tokens one call writes: each costs a forward pass, so 10**12 would never end (and its ids alone
#: would not fit in memory). Longer texts are written in pieces, each continuing the last.
MAX_NEW_TOKENS = 100_000


def _check_settings(max_new_tokens, temperature, top_k, top_p, repetition_penalty) -> _Settings:
    def number(x) -> bool:  # a finite real number (inf and nan are not settings)
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a whole number ≥ 0, got {max_new_tokens!r}")
    if max_new_tokens > MAX_NEW_TOKENS:
        raise ValueError(f"max_new_tokens={max_new_tokens:,} is more than the {MAX_NEW_TOKENS:,} tokens one call "
                         f"writes; write a longer text in pieces, each continuing the last")
    if not number(temperature) or not temperature >= 0:
        raise ValueError(f"temperature must be a finite number ≥ 0 (0 = always the most likely token), got "
                         f"{temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise ValueError(f"top_k must be a whole number ≥ 0 or None (0 or None = no limit), got {top_k!r}")
    if not number(top_p) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be a number in (0, 1] (1 = no limit), got {top_p!r}")
    if not number(repetition_penalty) or not repetition_penalty > 0:
        raise ValueError(f"repetition_penalty must be a finite number > 0 (1 = off), got {repetition_penalty!r}")
    return _Settings(float(temperature), top_k or None, float(top_p), float(repetition_penalty))


def _check_stop(stop) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, (list, tuple, set, frozenset)):
        stops = list(stop)
    else:
        raise TypeError(f"stop must be a string or a list of strings, got {type(stop).__name__} {_short(stop)}")
    for s in stops:
        if not isinstance(s, str) or not s:
            raise ValueError(f"stop must be a non-empty string or a list of them, got {_short(stop)}")
    return stops


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


def _prompt_ids(tok, prompt: str) -> list[int]:
    return _encode_prompt(tok, prompt)[0]


def _encode_prompt(tok, prompt: str) -> tuple[list[int], list[int]]:
    """The ids to run the model on, and the ids of the prompt's text ([] when it starts from a start token)."""
    if not isinstance(prompt, str):
        raise TypeError(f"the prompt must be a string, got {type(prompt).__name__}")
    if prompt:
        ids = list(tok.encode(prompt))  # a char tokenizer raises its own error naming an unknown character
        if ids:
            return ids, ids
    return _start_ids(tok), []


def _start_ids(tok) -> list[int]:
    if getattr(tok, "eos_id", None) is not None:
        return [tok.eos_id]
    try:
        ids = list(tok.encode("\n"))
    except ValueError:
        ids = []
    if not ids:
        raise ValueError("the prompt is empty and this tokenizer has neither an end-of-text token nor a newline "
                         "to start from; give a prompt of at least one character")
    return ids


def _decodable(tok) -> int | None:
    """How many ids the tokenizer can decode (ids 0 … n-1), or None when it does not say."""
    n = getattr(tok, "vocab_size", None)
    return int(n) if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None


def _check_seed(seed) -> int | None:
    """``seed`` as an int in [0, 2**63) (numpy integers too), or None."""
    if seed is None:
        return None
    try:
        value = None if isinstance(seed, bool) else operator.index(seed)  # no floats, strings or booleans
    except TypeError:
        value = None
    if value is None or not 0 <= value < 2 ** 63:
        raise ValueError(f"seed must be a whole number from 0 to 2**63 - 1, or None for a random seed, "
                         f"got {seed!r}")
    return value


def _generator(model, seed: int | None) -> torch.Generator:
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    seed = _check_seed(seed)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _as_batch(model, ids: list[int]) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.tensor([ids], dtype=torch.long, device=device)  # (1, T)


class _eval_mode:
    """Puts a model in eval mode for a ``with`` block and restores its training flag afterwards."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


def _sample_ids(model, prompt_ids: list[int], max_new_tokens: int, s: _Settings, generator: torch.Generator,
                eos_id: int | None, seen_ids: list[int] | None = None,
                vocab_size: int | None = None) -> Iterator[int]:
    """Yield new token ids one at a time, using the KV cache and sliding the window by half a context.

    ``seen_ids``: the ids the repetition penalty counts as already written (default ``prompt_ids``); an empty
    prompt runs the model on a start token that the text does not contain, so it passes none. ``vocab_size``:
    only ids below it are sampled (the tokenizer's; the model's own may be larger)."""
    if max_new_tokens == 0:
        return
    context = model.context
    keep = max(1, context // 2)  # tokens re-run when the window slides
    device = next(model.parameters()).device
    ids = list(prompt_ids)
    seen = None
    # Not `with torch.inference_mode()` around the loop: the mode would leak to the caller between yields.
    # One guard object entered per token, and one (1, 1) input tensor refilled: ~3 µs a token less than new ones.
    no_grad = torch.inference_mode()
    with _eval_mode(model):  # restores the training flag when the iterator ends or is closed
        with no_grad:
            one = torch.empty((1, 1), dtype=torch.long, device=device)
            cache = model.new_cache(batch_size=1)
            logits = model(_as_batch(model, ids[-context:]), cache=cache)[0, -1, :vocab_size]  # prefill, (V,)
            if s.repetition_penalty != 1.0:
                seen = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
                earlier = ids if seen_ids is None else list(seen_ids)
                if earlier:
                    seen[torch.tensor(earlier, device=logits.device)] = True
            next_id = _pick(logits.float(), s, seen, generator)
        for step in range(max_new_tokens):
            if next_id == eos_id:
                return
            yield next_id
            if step == max_new_tokens - 1:
                return
            ids.append(next_id)
            with no_grad:
                if seen is not None:
                    seen[next_id] = True
                if cache.pos < cache.max_len:
                    logits = model(one.fill_(next_id), cache=cache)[0, -1, :vocab_size]  # one position
                else:  # the window is full: restart it from the last `keep` tokens
                    cache.reset()
                    logits = model(_as_batch(model, ids[-keep:]), cache=cache)[0, -1, :vocab_size]
                next_id = _pick(logits.float(), s, seen, generator)


class NonFiniteOutput(ValueError):
    """The model's scores for the next token hold NaN or infinity: its weights are not usable."""


def _non_finite() -> NonFiniteOutput:
    return NonFiniteOutput("the model's scores for the next token are NaN or infinite, so no text can be sampled: "
                           "its weights hold NaN or infinity, or overflow (a training run that diverged gives "
                           "such weights). Load an earlier checkpoint of the run, or train again with a lower lr")


def _pick(logits: torch.Tensor, s: _Settings, seen: torch.Tensor | None, generator: torch.Generator) -> int:
    """One token id from float32 logits (V,)."""
    if seen is not None:
        penalised = torch.where(logits > 0, logits / s.repetition_penalty, logits * s.repetition_penalty)
        logits = torch.where(seen, penalised, logits)
    if s.temperature == 0:
        best = int(logits.argmax())  # argmax ranks NaN first and +inf above all: checking the winner suffices
        if not math.isfinite(float(logits[best])):
            raise _non_finite()
        return best
    if s.temperature < 1e-3:
        # Shifted so the largest is 0: divided by a tiny temperature the others go to -inf, never to inf or
        # nan. A temperature below float32's smallest normal number divides as that number (greedy already).
        logits = (logits - logits.max()) / max(s.temperature, torch.finfo(logits.dtype).tiny)
    else:
        logits = logits / s.temperature
    candidates = None  # token ids of `logits` when it holds only some of them, most likely first
    if s.top_k is not None and s.top_k < logits.numel():
        logits, candidates = torch.topk(logits, s.top_k)  # (k,), sorted
    if s.top_p < 1.0:
        if candidates is None:
            logits, candidates = torch.sort(logits, descending=True)
        probs = logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # probability mass of the tokens ranked above each one
        logits = logits.masked_fill(before >= s.top_p, float("-inf"))  # never the first (its `before` is 0)
    try:
        choice = torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)
    except RuntimeError:  # "probability tensor contains either inf, nan or element < 0"
        raise _non_finite() from None
    return int(choice if candidates is None else candidates[choice])


# ---------------------------------------------------------------------------------------------- text
def decode_stream(tok, token_ids, stop: str | Sequence[str] | None = None) -> Iterator[str]:
    """Text pieces for a stream of token ids, as :func:`generate` yields them with ``stream=True``.

    The pieces joined equal ``tok.decode(all ids)`` (cut before the first stop string, if any). A piece never
    ends inside a character whose bytes are split over several tokens, nor inside a possible stop string.

    >>> from slamdunk_lab import tokenizers
    >>> tok = tokenizers.byte()
    >>> list(decode_stream(tok, tok.encode("né.")))
    ['n', 'é', '.']
    """
    return _text_pieces(tok, iter(token_ids), _check_stop(stop))


def _text_pieces(tok, token_ids: Iterator[int], stops: list[str],
                 context_ids: Sequence[int] = ()) -> Iterator[str]:
    """Turn new token ids into text pieces and yield what is new and final.

    ``context_ids`` are the ids before the new ones (the prompt's). Each step decodes the ids not yet turned
    into text together with up to ``_DECODE_CONTEXT`` ids before them, and cuts off the front the text those
    context ids decode to alone; so the text is what follows the context in one decode of everything (a
    SentencePiece decoder keeps the space of the first new word), at the cost of a few ids per step. If the
    new ids change the text of the ones before them, the pending ids are decoded alone instead.

    Holding back a trailing U+FFFD keeps a multi-byte character that is split over several tokens whole;
    holding back the end of the text that could be the start of a stop string keeps stop strings out.
    """
    keep = _context_size(tok)
    ids: list[int] = list(context_ids)[len(context_ids) - keep:]  # the context, then the ids not yet in `final`
    done = len(ids)  # ids[:done] are the context
    prefix = _decode(tok, ids)  # the text of the context decoded alone
    final = ""  # the text of the new ids before ids[done:]; it ends on a complete character
    text, sent = "", 0
    longest_stop = max((len(s) for s in stops), default=0)
    try:
        for token_id in token_ids:
            ids.append(token_id)
            window = tok.decode(ids)
            if window.startswith(prefix):
                pending = window[len(prefix):]
            else:  # the new ids changed how the ones before them decode: decode them alone
                pending = tok.decode(ids[done:])
            text = final + pending
            if not pending.endswith(_REPLACEMENT):  # complete characters: the last ids become the context
                final = text
                del ids[:len(ids) - keep]
                done = len(ids)
                prefix = _decode(tok, ids)
            if stops:
                cut = _first_stop(text, stops, start=max(0, sent - longest_stop))
                if cut is not None:
                    if cut > sent:
                        yield text[sent:cut]
                    return
            head = text.rstrip(_REPLACEMENT)
            ready = len(head) - _partial_stop(head, stops)
            if ready > sent:
                yield text[sent:ready]
                sent = ready
    finally:
        if hasattr(token_ids, "close"):
            token_ids.close()  # restore the model's training flag now, not when garbage-collected
    if len(text) > sent:  # the end of the text is final now, incomplete characters included
        yield text[sent:]


def _context_size(tok) -> int:
    """How many ids before the new ones to decode with them: none for our tokenizers whose text is the
    concatenation of their tokens' texts (char, byte, tiktoken), ``_DECODE_CONTEXT`` for the rest."""
    return 0 if getattr(tok, "kind", None) in ("char", "byte", "tiktoken") else _DECODE_CONTEXT


def _after(tok, context: list[int], new: list[int]) -> str:
    """The text of ``new`` as it reads after ``context`` (``_text_pieces``'s rule, for one decode)."""
    if not context:
        return tok.decode(new)
    prefix, whole = tok.decode(context), tok.decode(context + new)
    return whole[len(prefix):] if whole.startswith(prefix) else tok.decode(new)


def _decode(tok, ids: list[int]) -> str:
    return tok.decode(ids) if ids else ""


def _first_stop(text: str, stops: list[str], start: int) -> int | None:
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(hits) if hits else None


def _partial_stop(text: str, stops: list[str]) -> int:
    """Length of the longest end of ``text`` that is the beginning of a stop string."""
    best = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best


def _attention_names(model) -> list[str]:
    paths = {id(m): name for name, m in model.named_modules()}
    names: list[str] = []
    runs: dict[str, int] = {}
    for module in model._attention_calls():
        base = paths.get(id(module), type(module).__name__)
        runs[base] = runs.get(base, 0) + 1
        names.append(base if runs[base] == 1 else f"{base} (repeat {runs[base]})")
    return names
