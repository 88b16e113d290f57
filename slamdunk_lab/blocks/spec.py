"""How a block is described: typed parameters, handles, shape/parameter/FLOP rules and documentation.

This module is pure data and arithmetic (no torch): the analysis, the catalogue sent to the canvas and the
docs all read it. The torch side (``slamdunk_lab.blocks.modules``) is looked up by the class *name* each
spec carries, the way LitGPT resolves its norm and MLP classes, so a graph stays plain JSON.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..errors import Bilingual

Shape = tuple  # ("B", "T") for token ids, ("B", "T", D) for activations

ParamKind = Literal["int", "float", "bool", "choice"]

#: What a block is to the graph. ``source``: where token ids enter (no inputs); ``sink``: where the logits leave
#: (no outputs); ``group``: a container other blocks sit in; ``residual``: sums its inputs (a skip connection,
#: no module); ``op``: every other block, one module call.
Role = Literal["source", "sink", "group", "residual", "op"]
ROLES: tuple[str, ...] = ("source", "sink", "group", "residual", "op")

#: What flows along an edge: integer token ids (B, T) or activations (B, T, D).
Stream = Literal["ids", "activations"]


#: The Hugging Face families (``model_type``) a design can be exported to; each setting says what it becomes in
#: each of them (:class:`HFRule`).
HF_FAMILIES: tuple[str, ...] = ("gpt2", "llama", "qwen3", "smollm3")


@dataclass(frozen=True)
class HFRule:
    """What one setting becomes in one Hugging Face family's ``config.json``.

    A rule maps the value to config ``keys``, requires a value the family can express (else the export is refused
    with ``why``), both, or neither (the setting does not matter to the family; ``why`` says so). Callables get
    ``(value, node)``: ``node.data`` holds the node's settings, ``node.kwargs`` its resolved module arguments,
    ``node.model`` model-wide facts (``d_model``). ``{cls}`` in ``why`` is the family's class name.
    """

    # Config keys carrying the value ("a.b" is key b of the object at key a), or functions of the node giving one.
    keys: tuple[str | Callable[[Any], str], ...] = ()
    value: Callable[[Any, Any], Any] | None = None  # (value, node) -> the config value (default: the value)
    require: Callable[[Any, Any], bool] | None = None  # (value, node) -> True when the family expresses it
    # The refusal sentence (or a function (value, node) -> sentence); for keys, the sentence when two nodes disagree
    # on one key ({value}, {other}, {other_value} and {key} are filled in).
    why: str | Callable[[Any, Any], str] = ""
    when: Callable[[Any], bool] | None = None  # (node) -> whether the keys apply (else the setting is unused)
    merge: Literal["same", "max"] = "same"  # several nodes writing one key: they must agree, or the largest wins


def hf_key(*keys: str | Callable[[Any], str], value=None, when=None, merge: Literal["same", "max"] = "same",
           why: str = "", require=None, refuse: str = "") -> HFRule:
    """The setting becomes config ``keys`` (optionally converted by ``value``, and refused with ``refuse`` unless
    ``require`` holds)."""
    if require is not None:
        require = require if callable(require) else _equals(require)
    return HFRule(keys=keys, value=value, require=require, why=refuse or why, when=when, merge=merge)


def hf_require(test: Any, why: str | Callable[[Any, Any], str]) -> HFRule:
    """The family needs this value (or values for which ``test(value, node)`` is true); else refuse with ``why``."""
    return HFRule(require=test if callable(test) else _equals(test), why=why)


def hf_refuse(why: str) -> HFRule:
    """The family cannot express this setting at all: any value is refused with ``why``."""
    return HFRule(require=lambda value, node: False, why=why)


def hf_unused(why: str) -> HFRule:
    """The setting does not matter to the family (``why`` says why), so any value exports."""
    return HFRule(why=why)


def _equals(expected: Any) -> Callable[[Any, Any], bool]:
    return lambda value, node: value == expected


@dataclass(frozen=True)
class Param:
    """One typed setting of a block (one key of the node's ``data``)."""

    name: str
    kind: ParamKind
    default: Any
    help: str
    help_ko: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False  # ``None`` means "automatic" or "off", as the help says
    # What it becomes in each Hugging Face family: keys are a family, a tuple of families or "*" (the rest).
    hf: dict[Any, HFRule] = field(default_factory=dict, compare=False, hash=False)

    def hf_rule(self, family: str) -> HFRule | None:
        """This setting's rule for a Hugging Face family (None: not stated, which the catalogue tests refuse)."""
        for key in (family, *[k for k in self.hf if isinstance(k, tuple) and family in k], "*"):
            if key in self.hf:
                return self.hf[key]
        return None

    def annotation(self) -> Any:
        base: Any = {"int": int, "float": float, "bool": bool}.get(self.kind)
        if self.kind == "choice":
            base = Literal[self.choices]
        return base | None if self.nullable else base

    def field_info(self) -> Any:
        kwargs: dict[str, Any] = {"default": self.default, "description": self.help}
        if self.minimum is not None:
            kwargs["gt" if self.exclusive_minimum else "ge"] = self.minimum
        if self.maximum is not None:
            kwargs["lt" if self.exclusive_maximum else "le"] = self.maximum
        if self.kind == "float":
            kwargs["allow_inf_nan"] = False
        return Field(**kwargs)

    def describe_range(self, lang: str = "en") -> str:
        """The values allowed, as words: "at least 1 and at most 64" ("1 이상 64 이하" in Korean)."""
        if self.kind == "choice":
            options = ", ".join(repr(c) for c in self.choices or ())
            return f"{options} 중 하나" if lang == "ko" else f"one of {options}"
        parts = []
        if lang == "ko":
            if self.minimum is not None:
                parts.append(f"{_num(self.minimum)} {'초과' if self.exclusive_minimum else '이상'}")
            if self.maximum is not None:
                parts.append(f"{_num(self.maximum)} {'미만' if self.exclusive_maximum else '이하'}")
            return " ".join(parts)
        if self.minimum is not None:
            parts.append(f"{'above' if self.exclusive_minimum else 'at least'} {_num(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"{'below' if self.exclusive_maximum else 'at most'} {_num(self.maximum)}")
        return " and ".join(parts)


def _must_be_ko(words: str) -> str:
    """``words`` + "이어야" or "여야" (the copula after a final consonant or a vowel): "1 이상이어야"."""
    last = words[-1:] or " "
    batchim = "가" <= last <= "힣" and (ord(last) - 0xAC00) % 28 != 0
    return f"{words}{'이어야' if batchim or not '가' <= last <= '힣' else '여야'}"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


class BlockProblem(Exception):
    """Raised by a shape rule: ``field`` is the data key at fault (or None), ``message`` a full sentence."""

    def __init__(self, field: str | None, message: str, also: tuple[BlockProblem, ...] = ()):
        super().__init__(message)
        self.field = field
        self.message = message
        #: Other problems of the same block found in the same check (each one is reported).
        self.also = tuple(also)

    def every(self) -> tuple[BlockProblem, ...]:
        """This problem and the others found with it."""
        return (self, *self.also)

    @staticmethod
    def raise_all(problems: list[BlockProblem]) -> None:
        """Raise the first of ``problems`` carrying the rest (nothing when there are none)."""
        if problems:
            first, *rest = problems
            raise BlockProblem(first.field, first.message, tuple(rest))


@dataclass
class GraphContext:
    """Graph-wide facts a block's rules may need (filled in by the analysis before any rule runs)."""

    context: int = 256  # maximum positions (the tokens node's ``context``)
    seq_len: int = 256  # the sequence length the FLOP estimate is made for
    n_residual_layers: int = 1  # number of attention (and so transformer) layers, repeats counted
    token_embedding: dict | None = None  # data of the (single) token embedding, for weight tying


@dataclass(frozen=True)
class Docs:
    summary: str
    formula: str
    shapes: str


@dataclass(frozen=True)
class ExportNames:
    """The names code export (``sd.to_code``) gives a block's constructor arguments in the ``Config`` class."""

    prefix: str | None = None  # prefix of its fields ("" for plain kwarg names); None: the snake-case type + "_"
    fields: dict[str, str] = field(default_factory=dict)  # kwarg -> field name, where the prefixed one misleads
    inline: bool = False  # written inside its consumer's call, nanoGPT style: self.attn(self.ln_1(x), ctx)


@dataclass(frozen=True)
class BlockSpec:
    """Everything the library knows about one block type."""

    type: str
    title: str
    category: str
    params: tuple[Param, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    docs_en: Docs
    docs_ko: Docs
    # Rules: each gets (data, input shapes, GraphContext).
    infer: Callable[[dict, list, GraphContext], Shape]
    count_params: Callable[[dict, list, GraphContext], int] = lambda d, s, g: 0
    flops: Callable[[dict, list, GraphContext], int] = lambda d, s, g: 0  # forward FLOPs per token
    activations: Callable[[dict, list, GraphContext], int] = lambda d, s, g: 0  # saved elements per token
    # Class name in slamdunk_lab.blocks.modules (or a function of the data giving it); None: no module.
    module: Any = None
    module_kwargs: Callable[[dict, list, GraphContext], dict] | None = None
    role: Role = "op"
    reads: Stream | None = "activations"  # what its inputs carry; None: it takes no input
    emits: Stream | None = "activations"  # what its output carries; None: it has no output
    feeds_logits: bool = False  # its output may be the logits (scores over the vocabulary)
    counts_as_layer: bool = False  # each call is one of the model's layers (n_layers) and keeps a KV cache
    ties: str | None = None  # the bool setting that shares its weight with the token embedding
    # Example settings for the tests: together they give every setting a value other than its default. Op blocks'
    # examples fit between a 16-wide token embedding of a 50-token vocabulary and an LM head.
    examples: tuple[dict, ...] = ()
    export: ExportNames = field(default_factory=ExportNames)
    # Its place in a Hugging Face decoder ("embedding", "positions", "norm", "attention", "mlp", "residual",
    # "dropout", "head", "layers", "tokens", "logits"); None: no Hugging Face decoder has one.
    hf_slot: str | None = None
    keeps_shape: bool = False  # output shape = input shape whatever the settings (lets checks go on past errors)
    color: str = "#6b7280"
    title_ko: str = ""  # the title in Korean (the catalogue tests require one)
    _model: Any = field(default=None, repr=False, compare=False)

    @property
    def data_model(self) -> builtins.type[BaseModel]:  # `type` is a field of this class
        """The pydantic model of this block's ``data`` (strict types, ranges, no unknown fields)."""
        if self._model is None:
            fields = {p.name: (p.annotation(), p.field_info()) for p in self.params}
            model = create_model(  # type: ignore[call-overload]
                f"{self.type[0].upper()}{self.type[1:]}Data",
                __config__=ConfigDict(extra="forbid", strict=True, title=self.title),
                **fields,
            )
            object.__setattr__(self, "_model", model)
        return self._model

    @property
    def is_group(self) -> bool:
        return self.role == "group"

    def module_name(self, data: dict) -> str | None:
        return self.module(data) if callable(self.module) else self.module

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def validate_data(self, data: Any) -> tuple[dict | None, list[tuple[str | None, str]]]:
        """Check a node's ``data``: returns (data with defaults filled in, [(field, message), ...])."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return None, [(None, Bilingual(f"'data' must be an object of settings, got {_short(data)}",
                                           f"'data'는 설정을 담은 객체여야 합니다(입력: {_short(data)})"))]
        try:
            model = self.data_model.model_validate(data)
        except ValidationError as exc:
            return None, [self._explain(err) for err in exc.errors()]
        return model.model_dump(), []

    def _explain(self, err: Any) -> tuple[str | None, str]:
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else None
        value = err.get("input")
        kind = err.get("type", "")
        param = self.param(name) if name else None
        if kind == "extra_forbidden":
            known = ", ".join(p.name for p in self.params) or "none"
            return name, Bilingual(f"'{name}' is not a setting of a {self.title} block (its settings are: {known})",
                                   f"'{name}'은(는) {self.title_ko or self.title} 블록의 설정이 아닙니다"
                                   f"(설정: {known})")
        if param is None:  # pydantic's own sentence (not reached by a dict of settings; kept for safety)
            return name, Bilingual(str(err.get("msg")), f"설정 값이 올바르지 않습니다: {err.get('msg')}")
        got = _short(value)
        if kind == "missing":
            return name, Bilingual(f"{name} is required", f"{name} 값이 필요합니다")
        if param.kind == "choice" or kind.startswith(("greater_than", "less_than")):
            return name, Bilingual(f"{name} must be {param.describe_range()}, got {got}",
                                   f"{name}은(는) {_must_be_ko(param.describe_range('ko'))} 합니다(입력: {got})")
        if kind in ("finite_number",) or (isinstance(value, float) and not math.isfinite(value)):
            return name, Bilingual(f"{name} must be a finite number, got {got}",
                                   f"{name}은(는) 유한한 숫자여야 합니다(입력: {got})")
        expected = {"int": "a whole number", "float": "a number", "bool": "true or false"}[param.kind]
        expected_ko = {"int": "정수", "float": "숫자", "bool": "true 또는 false"}[param.kind]
        if param.nullable:
            expected += " or null"
            expected_ko += " 또는 null"
        return name, Bilingual(f"{name} must be {expected}, got {got}",
                               f"{name}은(는) {_must_be_ko(expected_ko)} 합니다(입력: {got})")

    def json_schema(self) -> dict:
        schema = self.data_model.model_json_schema()
        for p in self.params:
            prop = schema.get("properties", {}).get(p.name)
            if prop is not None:
                prop["x-help-ko"] = p.help_ko
        return schema

    def to_catalog(self) -> dict:
        return {
            "type": self.type,
            "title": self.title,
            "category": self.category,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "is_group": self.is_group,
            "role": self.role,
            "reads": self.reads,
            "emits": self.emits,
            "feeds_logits": self.feeds_logits,
            "color": self.color,
            "defaults": self.defaults(),
            "schema": self.json_schema(),
            "docs": {
                "en": {"summary": self.docs_en.summary, "formula": self.docs_en.formula,
                       "shapes": self.docs_en.shapes},
                "ko": {"summary": self.docs_ko.summary, "formula": self.docs_ko.formula,
                       "shapes": self.docs_ko.shapes},
            },
        }


def _short(value: Any, limit: int = 60) -> str:
    """A value as a user typed it, cut short so a 10 MB string does not flood the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
