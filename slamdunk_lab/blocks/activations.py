"""Feed-forward activations: one table that every consumer reads.

The feed-forward block's ``activation`` choices, its parameter count (gated or not), the torch module that
computes it (the builder and the exported code), the name ``transformers`` gives it (Hugging Face export and
import) and the original web project's names for it (the seed import) all come from :data:`ACTIVATIONS`.
Adding an activation is one :class:`Activation` line here (and, when torch has no module for it, a class in
:mod:`slamdunk_lab.blocks.modules`); the docs are regenerated from it.

This module is pure data: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Activation:
    """One non-linearity of the feed-forward block."""

    name: str  # the feed-forward block's ``activation`` value
    gated: bool  # gated feed-forward, three matrices: down(act(gate(x)) * up(x)); else two: fc_out(act(fc_in(x)))
    torch: str  # the class computing it: a name in torch.nn, or a class in slamdunk_lab.blocks.modules
    kwargs: dict[str, Any] = field(default_factory=dict)  # its constructor arguments
    hf: str | None = None  # the name transformers' ACT2FN gives it (hidden_act / activation_function); None: none
    hf_aliases: tuple[str, ...] = ()  # other ACT2FN names for the same function, accepted on import
    seed: tuple[tuple[str, str], ...] = ()  # the original project's (feedForwardType, actFunc) pairs meaning it
    note: str = ""  # the architecture that made it known, shown in the help text


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", False, "ReLU", hf="relu", seed=(("standard", "relu"),)),
    # The original project's GELU is torch's exact (erf) GELU, F.gelu with its default approximate="none".
    Activation("gelu", False, "GELU", hf="gelu", seed=(("standard", "gelu"),)),
    Activation("gelu_tanh", False, "GELU", {"approximate": "tanh"}, hf="gelu_new",
               hf_aliases=("gelu_pytorch_tanh",), note="GPT-2"),
    Activation("silu", False, "SiLU", hf="silu", hf_aliases=("swish",),
               seed=(("standard", "silu"), ("standard", "swish"))),
    Activation("leaky_relu", False, "LeakyReLU", {"negative_slope": 0.01}, hf="leaky_relu",
               seed=(("standard", "leaky"), ("standard", "leakyrelu"))),
    Activation("mish", False, "Mish", hf="mish", seed=(("standard", "mish"),)),
    # SwiGLU is by definition gated (Swish(x W) ⊙ x V), so the original form's "Standard + SwiGLU" can only mean
    # the same block as "Gated + SwiGLU".
    Activation("swiglu", True, "SiLU", hf="silu", hf_aliases=("swish",),
               seed=(("gated", "swiglu"), ("standard", "swiglu"), ("gated", "silu"), ("gated", "swish")),
               note="Llama"),
    Activation("geglu", True, "GELU", hf="gelu", seed=(("gated", "gelu"),)),
    Activation("reglu", True, "ReLU", hf="relu", seed=(("gated", "relu"),)),
    Activation("leaky_reglu", True, "LeakyReLU", {"negative_slope": 0.01}, hf="leaky_relu",
               seed=(("gated", "leaky"), ("gated", "leakyrelu"))),
)}


def is_gated(name: str) -> bool:
    return ACTIVATIONS[name].gated


def from_hf(hf_name: str, gated: bool) -> Activation | None:
    """The activation a Hugging Face config names (``hidden_act`` of a gated family, else
    ``activation_function``), or None."""
    return next((a for a in ACTIVATIONS.values()
                 if a.gated == gated and hf_name in ((a.hf,) if a.hf else ()) + a.hf_aliases), None)


def from_seed(ff_type: str, act: str) -> Activation | None:
    """The activation the original project's ``feedForwardType`` and ``actFunc`` (lower case, no spaces) mean."""
    return next((a for a in ACTIVATIONS.values() if (ff_type, act) in a.seed), None)


def _listing(gated: bool, space: str = " ") -> str:
    return ", ".join(f"{a.name}{space}({a.note})" if a.note else a.name
                     for a in ACTIVATIONS.values() if a.gated == gated)


def help_text() -> tuple[str, str]:
    """The ``activation`` setting's help, in English and Korean, listing every activation."""
    en = f"Non-linearity. {_listing(False)}: two layers; {_listing(True)}: gated, three weight matrices."
    ko = f"비선형 함수. {_listing(False, '')}는 두 층; {_listing(True, '')}는 게이트형으로 가중치 행렬이 셋입니다."
    return en, ko


__all__ = ["ACTIVATIONS", "Activation", "from_hf", "from_seed", "help_text", "is_gated"]
