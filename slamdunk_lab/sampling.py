"""The sampling settings of :func:`slamdunk_lab.generate`, stated once.

:class:`GenerationSettings` holds each setting's bounds, default and help text. ``sd.generate`` accepts exactly
these values (a test walks every bound), and the playground's settings form is generated from this model's JSON
Schema, so the page and the library never disagree about, say, whether ``top_k = 0`` is allowed.

>>> from slamdunk_lab.sampling import GenerationSettings
>>> GenerationSettings(temperature=0).temperature
0.0
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Largest seed a sampler accepts (torch.Generator takes a 64-bit signed integer).
MAX_SEED = 2**63 - 1


class GenerationSettings(BaseModel):
    """How ``sd.generate`` picks each next token (the defaults are ``sd.generate``'s)."""

    model_config = ConfigDict(extra="forbid", title="Generation settings")

    max_new_tokens: int = Field(200, ge=0, title="Max new tokens", description="How many tokens to write at most.")
    temperature: float = Field(0.8, ge=0, allow_inf_nan=False, title="Temperature",
                               description="0 = always the most likely token; higher = more varied.")
    top_k: int | None = Field(40, ge=0, title="Top-k",
                              description="Sample among the k most likely tokens; empty or 0 = no limit.")
    top_p: float = Field(0.95, gt=0, le=1, title="Top-p",
                         description="Keep the fewest likely tokens whose probabilities add up to p; 1 = no limit.")
    repetition_penalty: float = Field(1.0, gt=0, allow_inf_nan=False, title="Repetition penalty",
                                      description="1 = off; above 1 discourages repeating tokens.")
    seed: int | None = Field(0, ge=0, le=MAX_SEED, title="Seed",
                             description="The same seed writes the same text; empty = a different draw each time.")


def form_schema() -> dict:
    """The JSON Schema the playground's settings form is generated from."""
    return GenerationSettings.model_json_schema()
