"""The oldest torch we declare (2.4) cannot be installed on this machine as a CPU build, so the one code path that
differs there is exercised here: torch 2.4's scaled_dot_product_attention has no ``enable_gqa``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import slamdunk_lab as sd
from slamdunk_lab.blocks import modules as M


def test_grouped_query_attention_without_enable_gqa_gives_the_same_logits_and_gradients(monkeypatch):
    g = sd.template("llama3", size="tiny", n_layer=2)  # grouped-query attention: fewer key/value heads
    attn = next(n for n in g["nodes"] if n["type"] == "attention")["data"]
    assert attn["n_kv_heads"] < attn["n_heads"]
    torch.manual_seed(0)
    model = sd.build(g)
    idx = torch.randint(0, 256, (2, 12))
    expected = model(idx)
    expected.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    real = F.scaled_dot_product_attention
    calls = {"refused": 0}

    def torch_2_4(q, k, v, **kwargs):
        if "enable_gqa" in kwargs:
            calls["refused"] += 1
            raise TypeError("scaled_dot_product_attention() got an unexpected keyword argument 'enable_gqa'")
        assert k.shape[1] == q.shape[1], "torch 2.4 needs as many key/value heads as query heads"
        return real(q, k, v, **kwargs)

    monkeypatch.setattr(M.F, "scaled_dot_product_attention", torch_2_4)
    got = model(idx)
    got.sum().backward()
    assert calls["refused"] == 2  # once per layer, then the repeated heads were used
    torch.testing.assert_close(got, expected)
    for p, grad in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, grad)
    # generation with the KV cache (keys longer than the queries) takes the same path
    tok = sd.tokenizers.byte()
    old_torch_text = sd.generate(model, tok, "hi", max_new_tokens=5, temperature=0)
    monkeypatch.undo()
    assert old_torch_text == sd.generate(model, tok, "hi", max_new_tokens=5, temperature=0)
