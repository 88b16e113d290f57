"""Hugging Face interop: hand a built model to ``transformers``, or bring a checkpoint in as a graph.

>>> import slamdunk_lab as sd
>>> from slamdunk_lab.interop.hf import hf_config
>>> hf_config(sd.template("llama3", size="tiny"))["architectures"]
['LlamaForCausalLM']

A graph can be exported when it is the template shape that every supported family shares::

    tokens → token embedding → [positional embedding] → transformer block ×N → norm → LM head → logits
    transformer block:  x + Attention(Norm(x)) = h,   h + FeedForward(Norm(h))

(dropout blocks may sit anywhere on that path: they do nothing at inference). Its settings then pick the
Hugging Face class: LayerNorm with learned positions is GPT-2; RMSNorm with RoPE is Llama, with QK-norm Qwen3,
with NoPE layers SmolLM3. Anything else is refused with the node and setting that no class can express.

Weights travel as safetensors only; a pickled checkpoint (``pytorch_model.bin``) is refused, never loaded.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import torch

from .._files import atomic_write, write_text_atomic
from ..analysis import DEFAULT_MAX_PARAMS, Analysis, FrozenDict, GroupPlan, Step, analyze
from ..blocks.activations import ACTIVATIONS
from ..blocks.activations import from_hf as activation_from_hf
from ..blocks.catalog import BLOCKS, LAYER_NORM, RMS_NORM
from ..blocks.spec import HF_FAMILIES, HFRule
from ..errors import GraphError, GraphIssue, ModelFileError
from ..model import GraphModel, build, module_name
from ..templates import TemplateConfig, graph_from_config

__all__ = ["SUPPORTED", "Stack", "export_hf", "hf_config", "import_hf", "recognise", "template_config"]

#: Hugging Face ``model_type`` → the causal-LM class that runs it.
SUPPORTED = {"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM", "qwen3": "Qwen3ForCausalLM",
             "smollm3": "SmolLM3ForCausalLM"}
assert tuple(SUPPORTED) == HF_FAMILIES, "every family the catalogue maps settings for is exported"
MARKER = "slamdunk_lab.json"  # written next to every export, so a later export may replace it
DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth", "model.ckpt")


# ============================================================================================ recognition
@dataclass
class Stack:
    """The template-shaped decoder a graph expresses: the plan step behind each role.

    ``pos`` is None without a positional embedding; ``dropouts`` are the dropout blocks with where they sit,
    "embeddings" (before the transformer block) or "layers" (inside it); dropout is inert at inference.
    """

    tokens: Step
    emb: Step
    pos: Step | None
    group: GroupPlan
    ln_1: Step
    attn: Step
    ln_2: Step
    mlp: Step
    ln_f: Step
    head: Step
    tied: bool
    context: int
    dropouts: tuple[tuple[Step, str], ...] = ()

    @property
    def norms(self) -> list[Step]:
        return [self.ln_1, self.ln_2, self.ln_f]

    @property
    def model_type(self) -> str:
        """The Hugging Face family these settings belong to (whether every setting fits is checked apart)."""
        a = self.attn.kwargs
        if self.ln_1.type == LAYER_NORM.type:
            return "gpt2"
        if a["qk_norm"]:
            return "qwen3"
        return "smollm3" if a["no_rope_every"] or not a["rope"] else "llama"


class _Walk:
    """Follows the data flow backwards from the logits, skipping blocks that are inert at inference."""

    def __init__(self, steps: Sequence[Step | GroupPlan]):
        self.producer: dict[str, Step | GroupPlan] = {(s.exit if isinstance(s, GroupPlan) else s.node_id): s for s in steps}
        self.steps = steps
        self.seen: set[str] = set()
        self.dropouts: list[Step] = []

    def source(self, value: str) -> tuple[str, Step | GroupPlan | None]:
        """The value that really arrives at ``value`` (after dropouts) and the step producing it."""
        while (step := self.producer.get(value)) is not None and _inert(step):
            self.seen.add(step.node_id)
            if _slot(step) == "dropout":
                self.dropouts.append(step)
            value = step.inputs[0]
        step = self.producer.get(value)
        if step is not None:
            self.seen.add(step.node_id)
        return value, step

    def leftover(self) -> Step | GroupPlan | None:
        return next((s for s in self.steps if s.node_id not in self.seen), None)


def _slot(step: Step | GroupPlan | None) -> str | None:
    """The step's place in a Hugging Face decoder, as its block states it (None: it has none)."""
    if step is None:
        return None
    return "layers" if isinstance(step, GroupPlan) else BLOCKS[step.type].hf_slot


def _inert(step: Step | GroupPlan) -> TypeGuard[Step]:
    """Blocks that change nothing at inference: dropout, and blocks whose module is the identity."""
    return isinstance(step, Step) and (_slot(step) == "dropout" or step.module == "Identity")


def _fail(node: str | None, message: str, field_: str | None = None) -> GraphError:
    return GraphError(GraphIssue(node, field_, message))


def _what(step: Step | GroupPlan | None, fallback: str) -> tuple[str | None, str]:
    if step is None:
        return fallback, "the token input"
    kind = "transformer block" if isinstance(step, GroupPlan) else f"{step.type} block"
    return step.node_id, f"this {kind}"


def recognise(graph_or_model: Any) -> Stack:
    """Read the template shape out of a graph (dict, :class:`Analysis` or built model), or raise GraphError."""
    analysis = _analysis_of(graph_or_model)
    plan = analysis.plan
    tokens = plan.source
    top = _Walk(plan.steps)

    _, head = top.source(plan.output)
    if _slot(head) != "head":
        node, what = _what(head, tokens)
        raise _fail(node, f"a Hugging Face causal LM ends in an LM head, but the logits come from {what}")
    assert isinstance(head, Step)  # a slot belongs to a block step
    _, ln_f = top.source(head.inputs[0])
    if _slot(ln_f) != "norm":
        node, what = _what(ln_f, tokens)
        raise _fail(node, f"Hugging Face decoders normalise the stream right before the LM head, but '{head.node_id}' "
                          f"reads {what}")
    assert isinstance(ln_f, Step)
    _, group = top.source(ln_f.inputs[0])
    if not isinstance(group, GroupPlan):
        node, what = _what(group, tokens)
        raise _fail(node, f"the final norm '{ln_f.node_id}' must read the output of one transformer block (the "
                          f"repeated layers), but it reads {what}; layers outside a transformer block have no "
                          "Hugging Face equivalent")
    top.dropouts = []  # from here on, dropout between the embeddings and the layers (GPT-2's embd_pdrop)
    _, below = top.source(group.entry)
    pos = None
    if _slot(below) == "positions":
        assert isinstance(below, Step)
        pos = below
        _, below = top.source(below.inputs[0])
    if _slot(below) != "embedding":
        node, what = _what(below, tokens)
        kind = "a second transformer block" if isinstance(below, GroupPlan) else what
        raise _fail(node, f"the transformer block '{group.node_id}' must be fed by the token embedding (and "
                          f"optionally a positional embedding), but it is fed by {kind}")
    assert isinstance(below, Step)
    emb = below
    _, first = top.source(emb.inputs[0])
    if first is not None:
        raise _fail(emb.node_id, "the token embedding must read the token input directly")
    extra = top.leftover()
    if extra is not None:
        raise _fail(extra.node_id, "this block has no place in a Hugging Face decoder (embedding → layers → "
                                   "norm → LM head)")

    layer = _Walk(group.steps)
    x = group.entry
    h, mlp, ln_2 = _pre_norm_residual(layer, group.exit, "mlp", x=None)
    _, attn, ln_1 = _pre_norm_residual(layer, h, "attention", x=x)
    extra = layer.leftover()
    if extra is not None:
        raise _fail(extra.node_id, "this block has no place in a Hugging Face decoder layer (norm → attention → "
                                   "add, norm → feed-forward → add)")
    source = Step(tokens, BLOCKS_BY_ROLE["source"].type, "source",
                  FrozenDict(next(n["data"] for n in analysis.graph["nodes"] if n["id"] == tokens)), (), (), ("B", "T"),
                  None, FrozenDict())
    dropouts = tuple((d, "embeddings") for d in top.dropouts) + tuple((d, "layers") for d in layer.dropouts)
    return Stack(tokens=source, emb=emb, pos=pos, group=group, ln_1=ln_1, attn=attn, ln_2=ln_2, mlp=mlp, ln_f=ln_f,
                 head=head, tied=bool(plan.ties), context=plan.context, dropouts=dropouts)


def _pre_norm_residual(walk: _Walk, out: str, kind: str, x: str | None) -> tuple[str, Step, Step]:
    """Match ``out = x + Sub(Norm(x))`` with Sub in slot ``kind``; returns (x, sub, norm)."""
    title = {"mlp": "feed-forward", "attention": "attention"}[kind]
    _, add = walk.source(out)
    if _slot(add) != "residual":
        node = add.node_id if add is not None else None
        raise _fail(node, f"Hugging Face decoders are pre-norm: each half of a layer ends with the residual add "
                          f"x + {title}(norm(x)), but here the stream continues from a {getattr(add, 'type', '?')} "
                          "block (post-norm or other wiring has no Hugging Face equivalent)")
    assert isinstance(add, Step)
    sides = [walk.source(v) for v in add.inputs]
    subs = [i for i, (_, s) in enumerate(sides) if _slot(s) == kind]
    if len(subs) != 1:
        odd = [s for v, s in sides if isinstance(s, Step) and _slot(s) != "residual" and v != x]
        node, what = (odd[0].node_id, f"this {odd[0].type} block has no place in a Hugging Face decoder layer: "
                      ) if len(odd) == 1 and not subs else (add.node_id, "")
        raise _fail(node, f"{what}the residual add '{add.node_id}' must sum the stream and the output of a {title} "
                          "block")
    sub = sides[subs[0]][1]
    assert isinstance(sub, Step)
    stream = sides[1 - subs[0]][0]
    if x is not None and stream != x:
        raise _fail(add.node_id, f"this residual add must add the {title} output to the layer's input stream")
    _, norm = walk.source(sub.inputs[0])
    if _slot(norm) != "norm":
        raise _fail(sub.node_id, f"Hugging Face decoders are pre-norm: the {title} block must read a norm of the "
                                 "stream")
    assert isinstance(norm, Step)
    if walk.source(norm.inputs[0])[0] != stream:
        raise _fail(norm.node_id, f"this norm must read the same stream that the residual add '{add.node_id}' "
                                  "carries around it")
    return stream, sub, norm


def _analysis_of(obj: Any) -> Analysis:
    if isinstance(obj, GraphModel):
        return obj.analysis
    if isinstance(obj, Analysis):
        analysis = obj
    else:
        analysis = analyze(obj)
    analysis.raise_for_errors()
    return analysis


# ============================================================================================ settings
#: What every export of a family carries whatever the design: the class, and settings our blocks always have.
_FAMILY_CONSTANTS: dict[str, dict] = {
    "gpt2": {"embd_pdrop": 0.0, "resid_pdrop": 0.0, "scale_attn_weights": True,
             "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False},
    "llama": {},
    "qwen3": {"use_sliding_window": False},
    "smollm3": {"use_sliding_window": False},
}
BLOCKS_BY_ROLE = {spec.role: spec for spec in BLOCKS.values() if spec.role in ("source", "sink")}
BLOCKS_POSITIONS = next(spec for spec in BLOCKS.values() if spec.hf_slot == "positions")


@dataclass(frozen=True)
class _RuleNode:
    """What a setting's :class:`HFRule` sees of its node (see ``slamdunk_lab.blocks.spec.HFRule``)."""

    data: dict
    kwargs: dict
    model: dict  # model-wide facts: d_model
    where: str  # "embeddings", "layers" or "" (dropout only: where it sits)


@dataclass
class _ConfigWriter:
    """Applies each setting's rule for one family: writes config keys, collects the refusals."""

    family: str
    config: dict
    issues: list[GraphIssue] = field(default_factory=list)
    writers: dict[str, tuple[str, str, Any]] = field(default_factory=dict)  # key -> (node, field, value)

    @property
    def cls(self) -> str:
        return SUPPORTED[self.family]

    def node(self, step: Step | GroupPlan, model: dict, where: str = "") -> None:
        rule_node = _RuleNode(step.data, getattr(step, "kwargs", {}), model, where)
        for param in BLOCKS[step.type].params:
            self.setting(step.node_id, param.name, step.data[param.name], param.hf_rule(self.family), rule_node)

    def setting(self, node_id: str, name: str, value: Any, rule: HFRule | None, node: _RuleNode,
                field_: Any = ...) -> None:
        assert rule is not None, f"{name} states no Hugging Face rule for {self.family}"  # the catalogue tests
        field_ = name if field_ is ... else field_
        if rule.require is not None and not rule.require(value, node):
            self.refuse(node_id, field_, rule.why(value, node) if callable(rule.why) else rule.why, value)
            return
        if not rule.keys or (rule.when is not None and not rule.when(node)):
            return
        out = rule.value(value, node) if rule.value is not None else value
        for key in rule.keys:
            self.write(key(node) if callable(key) else key, out, node_id, field_, value, rule)

    def write(self, key: str, out: Any, node_id: str, field_: str | None, value: Any, rule: HFRule) -> None:
        if key in self.writers:
            other, _, other_value = self.writers[key]
            current = _get(self.config, key)
            if rule.merge == "max":
                _set(self.config, key, max(current, out))
            elif current != out:
                why = rule.why if isinstance(rule.why, str) and rule.why else "{field} differs from '{other}', and {cls}'s config.json holds one {key}"
                self.refuse(node_id, field_, why, value, other=other, other_value=other_value, key=key)
            return
        self.writers[key] = (node_id, field_, value)
        _set(self.config, key, out if rule.merge != "max" else max(out, _get(self.config, key, out)))

    def refuse(self, node_id: str, field_: str | None, why: str, value: Any, **facts: Any) -> None:
        message = why.format(cls=self.cls, value=value, field=field_, **facts)
        self.issues.append(GraphIssue(node_id, field_, message))


def _get(config: dict, key: str, default: Any = None) -> Any:
    *path, last = key.split(".")
    for part in path:
        config = config.get(part, {})
    return config.get(last, default)


def _set(config: dict, key: str, value: Any) -> None:
    *path, last = key.split(".")
    for part in path:
        config = config.setdefault(part, {})
    config[last] = value


def _structure_issues(s: Stack) -> list[GraphIssue]:
    """Norms of different kinds: Hugging Face decoders use one kind of norm throughout."""
    return [GraphIssue(norm.node_id, None, f"this {norm.type} differs from '{s.ln_1.node_id}' ({s.ln_1.type}); "
                                           "Hugging Face decoders use one kind of norm throughout")
            for norm in s.norms[1:] if norm.type != s.ln_1.type]


def _family_config(s: Stack, dtype: str) -> tuple[dict, list[GraphIssue]]:
    """The config.json a recognised stack becomes, every setting through its catalogue rule, and the refusals."""
    family = s.model_type
    config = {"architectures": [SUPPORTED[family]], "model_type": family, "bos_token_id": None,
              "eos_token_id": None, "pad_token_id": None, "dtype": dtype, "torch_dtype": dtype,  # 5.x reads dtype,
              "use_cache": True, **_FAMILY_CONSTANTS[family]}  # 4.x torch_dtype
    writer = _ConfigWriter(family, config, issues=_structure_issues(s))
    mismatched = {issue.node_id for issue in writer.issues}
    model = {"d_model": s.emb.data["d_model"]}
    writer.node(s.tokens, model)
    writer.node(s.emb, model)
    pos_kind = BLOCKS_POSITIONS.param("kind")
    if s.pos is None:  # no positional embedding: as if its kind were "none", reported on the token embedding
        writer.setting(s.emb.node_id, "kind", "none", pos_kind.hf_rule(family), _RuleNode({}, {}, model, ""),
                       field_=None)
    else:
        writer.node(s.pos, model)
    writer.node(s.group, model)
    for step in (s.ln_1, s.attn, s.ln_2, s.mlp, s.ln_f, s.head):
        if step.node_id not in mismatched:
            writer.node(step, model)
    for step, where in s.dropouts:
        writer.node(step, model, where)
    if family != "gpt2":
        rope = config.get("rope_parameters", {})
        # transformers 5 reads rope_parameters; 4.x reads rope_theta and rope_scaling.
        config["rope_scaling"] = ({k: v for k, v in rope.items() if k != "rope_theta"}
                                  if rope.get("rope_type") != "default" else None)
    if family == "smollm3":
        every = config["no_rope_layer_interval"]
        config["no_rope_layers"] = [int((i + 1) % every != 0) for i in range(s.group.repeat)]
    return config, writer.issues


def hf_config(graph_or_model: Any, dtype: str = "float32") -> dict:
    """The ``config.json`` that makes ``transformers`` build the model a graph describes.

    Every setting travels through the rule its catalogue entry states for the family
    (:class:`slamdunk_lab.blocks.spec.HFRule`). Raises :class:`GraphError` naming each node and setting that no
    supported Hugging Face class expresses.
    """
    config, issues = _family_config(recognise(graph_or_model), dtype)
    if issues:
        raise GraphError(issues)
    _widen_positions(config)
    return config


def _widen_positions(config: dict) -> None:
    """``max_position_embeddings`` of a RoPE model with llama3 scaling: at least one more than the scaling's
    original context (a Llama 3 shrunk for a laptop keeps 8B's scaling). transformers warns on load when the
    original context is not below it; RoPE models have no position table, so the larger number changes no
    output. The export's marker keeps the real context for :func:`import_hf`."""
    rope = config.get("rope_parameters") or {}
    original = rope.get("original_max_position_embeddings")
    if rope.get("rope_type") == "llama3" and isinstance(original, int) and "max_position_embeddings" in config:
        config["max_position_embeddings"] = max(config["max_position_embeddings"], original + 1)


# ============================================================================================ weights
# (Hugging Face name with {i} for the layer, role in the stack, our parameter under it, how it changes).
# "t": GPT-2's Conv1D stores (in, out); "q" / "k" / "v": rows of our fused qkv_proj.
_GPT2 = [
    ("transformer.wte.weight", "emb", "weight", None),
    ("transformer.wpe.weight", "pos", "weight", None),
    ("transformer.h.{i}.ln_1.weight", "ln_1", "weight", None),
    ("transformer.h.{i}.ln_1.bias", "ln_1", "bias", None),
    ("transformer.h.{i}.attn.c_attn.weight", "attn", "qkv_proj.weight", "t"),
    ("transformer.h.{i}.attn.c_attn.bias", "attn", "qkv_proj.bias", None),
    ("transformer.h.{i}.attn.c_proj.weight", "attn", "out_proj.weight", "t"),
    ("transformer.h.{i}.attn.c_proj.bias", "attn", "out_proj.bias", None),
    ("transformer.h.{i}.ln_2.weight", "ln_2", "weight", None),
    ("transformer.h.{i}.ln_2.bias", "ln_2", "bias", None),
    ("transformer.h.{i}.mlp.c_fc.weight", "mlp", "fc_in.weight", "t"),
    ("transformer.h.{i}.mlp.c_fc.bias", "mlp", "fc_in.bias", None),
    ("transformer.h.{i}.mlp.c_proj.weight", "mlp", "fc_out.weight", "t"),
    ("transformer.h.{i}.mlp.c_proj.bias", "mlp", "fc_out.bias", None),
    ("transformer.ln_f.weight", "ln_f", "weight", None),
    ("transformer.ln_f.bias", "ln_f", "bias", None),
    ("lm_head.weight", "head", "weight", None),
]
_LLAMA = [
    ("model.embed_tokens.weight", "emb", "weight", None),
    ("model.layers.{i}.input_layernorm.weight", "ln_1", "weight", None),
    *[(f"model.layers.{{i}}.self_attn.{p}_proj.{w}", "attn", f"qkv_proj.{w}", p)
      for w in ("weight", "bias") for p in "qkv"],
    ("model.layers.{i}.self_attn.o_proj.weight", "attn", "out_proj.weight", None),
    ("model.layers.{i}.self_attn.o_proj.bias", "attn", "out_proj.bias", None),
    ("model.layers.{i}.self_attn.q_norm.weight", "attn", "q_norm.weight", None),
    ("model.layers.{i}.self_attn.k_norm.weight", "attn", "k_norm.weight", None),
    ("model.layers.{i}.post_attention_layernorm.weight", "ln_2", "weight", None),
    *[(f"model.layers.{{i}}.mlp.{p}.{w}", "mlp", f"{p}.{w}", None)
      for p in ("gate_proj", "up_proj", "down_proj") for w in ("weight", "bias")],
    ("model.norm.weight", "ln_f", "weight", None),
    ("lm_head.weight", "head", "weight", None),
]
_TABLES = {"gpt2": _GPT2, "llama": _LLAMA, "qwen3": _LLAMA, "smollm3": _LLAMA}
# Tensors some checkpoints carry that are not weights (old causal-mask and RoPE buffers).
_BUFFERS = re.compile(r"(.*\.attn\.(bias|masked_bias)|.*rotary_emb\.inv_freq)$")
_LAYER_ROLES = ("ln_1", "attn", "ln_2", "mlp")


@dataclass
class _Param:
    """One of our parameters and the Hugging Face tensors it becomes: [(name, kind)]."""

    ours: str
    parts: list[tuple[str, str | None]] = field(default_factory=list)


def _attribute_names(graph: dict) -> dict[str, str]:
    taken: set[str] = set()  # the same walk GraphModel makes, so the names agree
    return {n["id"]: module_name(n["id"], taken) for n in graph["nodes"]}


def _weight_plan(s: Stack, model: GraphModel) -> list[_Param]:
    """Our state-dict keys in order, each with the Hugging Face tensors that hold it."""
    names = _attribute_names(model.graph)
    have = model.state_dict(keep_vars=True)
    plan: dict[str, _Param] = {}
    for hf, role, param, kind in _TABLES[s.model_type]:
        if role == "head" and s.tied:
            continue  # the tied head is the embedding: saved once, as transformers expects
        step = getattr(s, role)
        if step is None:
            continue
        layers = range(s.group.repeat) if role in _LAYER_ROLES else [None]
        for i in layers:
            prefix = names[step.node_id] if i is None else f"{names[s.group.node_id]}.{i}.{names[step.node_id]}"
            ours = f"{prefix}.{param}"
            if ours in have:
                plan.setdefault(ours, _Param(ours)).parts.append((hf.format(i=i), kind))
    covered = set(plan) | ({f"{names[s.head.node_id]}.weight"} if s.tied else set())
    assert covered == set(have), f"unmapped parameters: {sorted(set(have) - covered)}"
    return list(plan.values())


def _qkv_sizes(s: Stack) -> dict[str, int]:
    a = s.attn.kwargs
    return {"q": a["n_heads"] * a["head_dim"], "k": a["n_kv_heads"] * a["head_dim"],
            "v": a["n_kv_heads"] * a["head_dim"]}


def _to_hf(p: _Param, tensor: torch.Tensor, sizes: dict[str, int]) -> dict[str, torch.Tensor]:
    tensor = tensor.detach().to("cpu")
    if p.parts[0][1] in ("q", "k", "v"):
        chunks = tensor.split([sizes[k] for _, k in p.parts], dim=0)
        return {name: c.clone().contiguous() for (name, _), c in zip(p.parts, chunks)}
    ((name, kind),) = p.parts
    return {name: (tensor.t() if kind == "t" else tensor).clone().contiguous()}


def _hf_shapes(p: _Param, shape: tuple, sizes: dict[str, int]) -> dict[str, tuple]:
    if p.parts[0][1] in ("q", "k", "v"):
        return {name: (sizes[k], *shape[1:]) for name, k in p.parts}
    ((name, kind),) = p.parts
    return {name: tuple(reversed(shape)) if kind == "t" else tuple(shape)}


def _from_hf(p: _Param, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    if p.parts[0][1] in ("q", "k", "v"):
        return torch.cat([tensors[name] for name, _ in p.parts], dim=0)
    ((name, kind),) = p.parts
    return tensors[name].t() if kind == "t" else tensors[name]


# ============================================================================================ export
def export_hf(model: Any, out_dir: str | os.PathLike, overwrite: bool = False, tokenizer: Any = None) -> Path:
    """Write a folder that ``transformers`` loads as the same model, with its tokenizer and generation settings.

    >>> import tempfile, torch, slamdunk_lab as sd
    >>> tok = sd.tokenizers.byte()
    >>> model = sd.build(sd.template("llama3", size="tiny", n_layer=2, vocab_size=tok.vocab_size))
    >>> path = sd.export_hf(model, tempfile.mkdtemp() + "/tiny-llama", tokenizer=tok)
    >>> sorted(p.name for p in path.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['config.json', 'generation_config.json', 'model.safetensors', 'slamdunk_lab.json', 'special_tokens_map.json',
     'tokenizer.json', 'tokenizer_config.json']

    Then ``AutoTokenizer.from_pretrained(path)`` encodes text to the same ids as ``tok`` and
    ``pipeline("text-generation", model=path)`` writes text.

    ``model`` is a built :class:`GraphModel` (or anything with a ``.model`` that is one). Its graph must be
    one that GPT-2, Llama, Qwen3 or SmolLM3 expresses, else :class:`GraphError` names the node and setting in
    the way. ``tokenizer`` (default: ``model.tokenizer``, which :func:`slamdunk_lab.load` sets) is written as a
    Hugging Face fast tokenizer (char, byte, BPE, tiktoken or a loaded ``tokenizer.json``); its end-of-text token
    becomes the bos/eos/pad id of ``config.json`` and ``generation_config.json``. ``out_dir`` is created; a
    non-empty directory that is not an earlier export is refused unless ``overwrite=True``. Returns the directory.
    """
    model = _as_model(model)
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    params = list(model.parameters())
    if params[0].device.type == "meta":
        raise ValueError("this model was built on the meta device and has no weights to export; build it on "
                         "a real device (and train it) first")
    dtype = DTYPE_NAMES.get(params[0].dtype, "float32")
    config = hf_config(model, dtype=dtype)
    hf_tok = _hf_tokenizer_of(tokenizer, config["vocab_size"])
    ids = _special_ids(tokenizer)
    config.update(ids)
    s = recognise(model)
    sizes = _qkv_sizes(s)
    state = model.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for p in _weight_plan(s, model):
        tensors.update(_to_hf(p, state[p.ours], sizes))
    out = _prepare_dir(out_dir, overwrite)
    from safetensors.torch import save_file

    atomic_write(out / "model.safetensors", lambda f: save_file(tensors, str(f), metadata={"format": "pt"}))
    write_text_atomic(out / "config.json", json.dumps(config, indent=2) + "\n")
    write_text_atomic(out / "generation_config.json", json.dumps(_generation_config(ids, s.context), indent=2) + "\n")
    if hf_tok is not None:
        _write_tokenizer(out, hf_tok, tokenizer, s.context)
    else:  # an earlier export's tokenizer would not belong to this model
        for name in TOKENIZER_FILES:
            (out / name).unlink(missing_ok=True)
    marker = {"format": "slamdunk_lab.hf_export", "version": 1, "name": model.graph.get("name"), "context": s.context}
    write_text_atomic(out / MARKER, json.dumps(marker, indent=2) + "\n")
    return out


#: Files a tokenizer export writes (an earlier export's are removed when the new one has no tokenizer).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _hf_tokenizer_of(tokenizer: Any, vocab_size: int) -> Any:
    """The Hugging Face ``tokenizers.Tokenizer`` for ``tokenizer`` (None for none), checked against the model."""
    if tokenizer is None:
        return None
    to_hf = getattr(tokenizer, "to_hf", None)
    if not callable(to_hf) or not isinstance(getattr(tokenizer, "vocab_size", None), int):
        raise TypeError(f"tokenizer must be a slamdunk_lab tokenizer (sd.tokenizers.char / byte / bpe / tiktoken / "
                        f"hf), got {type(tokenizer).__name__}")
    if tokenizer.vocab_size > vocab_size:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model's vocabulary holds only "
                         f"{vocab_size}: this tokenizer does not belong to this model")
    return to_hf()


def _special_ids(tokenizer: Any) -> dict[str, int | None]:
    """bos/eos/pad ids for config.json: the end-of-text token plays all three (as in GPT-2); None without one."""
    eos = getattr(tokenizer, "eos_id", None) if tokenizer is not None else None
    return {"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": eos}


def _generation_config(ids: dict[str, int | None], context: int) -> dict:
    """Sampling as ``sd.generate`` does by default; by default at most 200 new tokens or half the context, so a
    short prompt and its continuation fit the positions the model has."""
    return {**{k: v for k, v in ids.items() if v is not None}, "do_sample": True, "temperature": 0.8,
            "top_k": 40, "top_p": 0.95, "max_new_tokens": max(1, min(200, context // 2))}


def _write_tokenizer(out: Path, hf_tok: Any, tokenizer: Any, context: int) -> None:
    """tokenizer.json (the fast tokenizer), tokenizer_config.json and special_tokens_map.json."""
    specials = dict(tokenizer.special_tokens)
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": context,
              "clean_up_tokenization_spaces": False, "add_bos_token": False, "add_eos_token": False, **specials}
    write_text_atomic(out / "tokenizer.json", hf_tok.to_str(pretty=True) + "\n")
    write_text_atomic(out / "tokenizer_config.json", json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / "special_tokens_map.json", json.dumps(specials, indent=2, ensure_ascii=False) + "\n")


def _as_model(obj: Any) -> GraphModel:
    if isinstance(obj, GraphModel):
        return obj
    inner = getattr(obj, "model", None)
    if isinstance(inner, GraphModel):
        return inner
    if isinstance(obj, (dict, str)) or hasattr(obj, "nodes"):
        raise TypeError("export_hf needs a built model with weights, not a graph; call sd.build(graph) (and "
                        "train it) first, then pass the model")
    raise TypeError(f"export_hf needs a model built by sd.build, got {type(obj).__name__}")


def _prepare_dir(out_dir: Any, overwrite: bool) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir).strip() or "\x00" in str(out_dir):
        raise ValueError(f"out_dir must be a directory path, got {out_dir!r}")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"'{out}' exists and is not a directory; choose another out_dir")
    if out.is_dir() and any(out.iterdir()) and not overwrite and not _is_export(out):
        raise FileExistsError(f"'{out}' is not empty and does not hold an earlier export; choose an empty "
                              "directory or pass overwrite=True")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _exported_context(folder: Path) -> int | None:
    """The design's context recorded by :func:`export_hf` in its marker (None for other folders)."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    context = marker.get("context") if isinstance(marker, dict) else None
    ok = isinstance(context, int) and not isinstance(context, bool) and context > 0 and _is_export(folder)
    return context if ok else None


def _is_export(folder: Path) -> bool:
    try:
        return json.loads((folder / MARKER).read_text()).get("format") == "slamdunk_lab.hf_export"
    except (OSError, ValueError, AttributeError):
        return False


# ============================================================================================ import
def import_hf(path: str | os.PathLike, dtype: Any = None, device: Any = None,
              max_params: int | None = DEFAULT_MAX_PARAMS) -> tuple[dict, GraphModel]:
    """Load a Hugging Face GPT-2, Llama, Qwen3 or SmolLM3 checkpoint as ``(graph, model)``.

    ``path`` is a local directory with ``config.json`` and ``model.safetensors`` (or a sharded
    ``model.safetensors.index.json``), or a Hub id such as ``"HuggingFaceTB/SmolLM3-3B"`` (downloaded with
    ``huggingface_hub``; only ``*.json`` and ``*.safetensors`` files). Pickled weights (``pytorch_model.bin``)
    are refused: loading a pickle can run arbitrary code. Every tensor must be accounted for and every shape
    must match, else :class:`ModelFileError` names the tensor.
    """
    folder, name = _resolve_source(path)
    config = _read_config(folder)
    context = _exported_context(folder)
    if context is not None and "max_position_embeddings" in config:  # see _widen_positions
        config = {**config, "max_position_embeddings": context}
    cfg = template_config(config, name)
    graph = graph_from_config(cfg)
    graph["name"] = _graph_name(folder, name)
    files = _weight_files(folder)
    model = build(graph, device=device, dtype=dtype, max_params=max_params)
    # The Llama-family classes share one weight layout, so a SmolLM3 config whose layers all use RoPE may read
    # back as plain Llama here; its tensors load the same way.
    _load_weights(model, recognise(model), files, config["model_type"])
    return model.graph, model


def _resolve_source(path: Any) -> tuple[Path, str]:
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip() or "\x00" in str(path):
        raise ModelFileError(f"import_hf needs a directory or a Hugging Face Hub id, got {path!r}")
    local = Path(path).expanduser()
    if local.is_dir():
        return local, local.resolve().name
    if local.exists():
        raise ModelFileError(f"'{local}' is a file; pass the directory that holds config.json and the weights")
    repo_id = str(path)
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", repo_id) or ".." in repo_id:
        raise ModelFileError(f"'{path}' is neither a local directory nor a Hugging Face Hub id (owner/name)")
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelFileError(f"'{path}' is not a local directory, and fetching it from the Hugging Face Hub needs "
                             "the huggingface_hub package; install it or pass a local directory") from None
    try:
        local = Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors"],
                                       local_files_only=offline))
    except Exception as exc:  # noqa: BLE001 - any hub failure becomes one readable sentence
        why = ("HF_HUB_OFFLINE is set and it is not in the local cache" if offline
               else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise ModelFileError(f"'{path}' is not a local directory and could not be fetched from the Hugging Face "
                             f"Hub ({why}); download it where there is network and pass the directory") from None
    return local, repo_id.split("/")[-1]


def _graph_name(folder: Path, name: str) -> str:
    try:
        marker = json.loads((folder / MARKER).read_text())
        saved = marker.get("name") if marker.get("format") == "slamdunk_lab.hf_export" else None
    except (OSError, ValueError, AttributeError):
        saved = None
    chosen = saved if isinstance(saved, str) and saved.strip() else name
    return chosen[:200]


def _read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise ModelFileError(f"'{folder}' has no config.json; it does not look like a Hugging Face model directory")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"'{path}' is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"'{path}' must hold a JSON object")
    model_type = config.get("model_type")
    if model_type not in SUPPORTED:
        raise ModelFileError(f"config.json: model_type {model_type!r} is not supported; import_hf reads "
                             f"{', '.join(SUPPORTED)}")
    return config


class _Fields:
    """Typed reads of config.json fields, each error naming the field."""

    def __init__(self, config: dict):
        self.c = config

    def int(self, key: str, default: Any = ...) -> int:
        v = self.c.get(key)
        if v is None:  # absent or null: transformers' default
            if default is ...:
                raise ModelFileError(f"config.json: field '{key}' is missing")
            v = default
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ModelFileError(f"config.json: field '{key}' must be a positive whole number, got {v!r}")
        return v

    def num(self, key: str, default: float) -> float:
        v = self.c.get(key, default)
        v = default if v is None else v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ModelFileError(f"config.json: field '{key}' must be a non-negative number, got {v!r}")
        return float(v)

    def flag(self, key: str, default: bool) -> bool:
        v = self.c.get(key, default)
        if not isinstance(v, bool):
            raise ModelFileError(f"config.json: field '{key}' must be true or false, got {v!r}")
        return v

    def refuse(self, key: str, allowed: Any, why: str) -> None:
        if self.c.get(key, allowed) not in (allowed, None):
            raise ModelFileError(f"config.json: {key}={self.c[key]!r} is not supported: {why}")


def _activation(config: dict, key: str, default: str, gated: bool) -> str:
    """Our feed-forward activation for the Hugging Face name at ``config[key]`` (the activation table's)."""
    name = config.get(key, default)
    found = activation_from_hf(name, gated) if isinstance(name, str) else None
    if found is None:
        known = [n for a in ACTIVATIONS.values() if a.gated == gated for n in ((a.hf,) if a.hf else ()) + a.hf_aliases]
        raise ModelFileError(f"config.json: {key} {name!r} is not supported; use one of "
                             f"{', '.join(dict.fromkeys(known))}")
    return found.name


def template_config(config: dict, name: str = "imported") -> TemplateConfig:
    """The :class:`TemplateConfig` whose graph is the model a Hugging Face ``config.json`` describes."""
    f = _Fields(config)
    mt = config["model_type"]
    base: dict[str, Any] = {"size": name, "description": f"Imported from Hugging Face ({SUPPORTED[mt]}): {name}."}
    if mt == "gpt2":
        act = _activation(config, "activation_function", "gelu_new", gated=False)
        f.refuse("scale_attn_by_inverse_layer_idx", False, "attention scores scaled by layer index")
        f.refuse("scale_attn_weights", True, "attention scores without the 1/√head_dim scale")
        f.refuse("add_cross_attention", False, "cross-attention is not part of a decoder-only model")
        d_model = f.int("n_embd")
        return TemplateConfig(family="gpt2", **base, vocab_size=f.int("vocab_size"), context=f.int("n_positions"),
                              n_layer=f.int("n_layer"), n_head=f.int("n_head"), d_model=d_model,
                              d_ff=f.int("n_inner", 4 * d_model), norm=LAYER_NORM.type,
                              norm_eps=f.num("layer_norm_epsilon", 1e-5), activation=act, ff_bias=True,
                              qkv_bias=True, out_bias=True, positional="learned", rope=False,
                              tie=f.flag("tie_word_embeddings", True), dropout=f.num("resid_pdrop", 0.1))
    act = _activation(config, "hidden_act", "silu", gated=True)
    d_model, n_head = f.int("hidden_size"), f.int("num_attention_heads")
    n_kv = f.int("num_key_value_heads", n_head)
    # transformers' defaults when config.json leaves head_dim out: Qwen3Config 128, the others d_model / heads.
    head_dim = f.int("head_dim", 128 if mt == "qwen3" else d_model // n_head if d_model % n_head == 0 else ...)
    if n_head % n_kv:
        raise ModelFileError(f"config.json: num_attention_heads {n_head} is not divisible by num_key_value_heads "
                             f"{n_kv}")
    rope_base, scaling = _rope(config, f)
    bias = f.flag("attention_bias", False)
    no_rope_every = 0
    rope = True
    if mt == "smollm3":
        no_rope_every, rope = _no_rope_every(config, f.int("num_hidden_layers"))
    if mt in ("qwen3", "smollm3") and f.flag("use_sliding_window", False):
        raise ModelFileError("config.json: use_sliding_window=true is not supported: sliding-window attention")
    family = mt
    if mt == "llama":
        family = "llama3" if scaling is not None or n_kv != n_head else "llama2"
    return TemplateConfig(
        family=family, **base, vocab_size=f.int("vocab_size"), context=f.int("max_position_embeddings"),
        n_layer=f.int("num_hidden_layers"), n_head=n_head, d_model=d_model, d_ff=f.int("intermediate_size"),
        n_kv_head=n_kv if n_kv != n_head else None,
        head_dim=head_dim if mt == "qwen3" or head_dim * n_head != d_model else None,
        norm=RMS_NORM.type, norm_eps=f.num("rms_norm_eps", 1e-6), activation=act,
        ff_bias=f.flag("mlp_bias", False) if mt != "qwen3" else False, qkv_bias=bias, out_bias=bias,
        positional="none", rope=rope, rope_base=rope_base, rope_scaling=scaling, qk_norm=mt == "qwen3",
        no_rope_every=no_rope_every, tie=f.flag("tie_word_embeddings", mt == "smollm3"),
        dropout=f.num("attention_dropout", 0.0))


def _rope(config: dict, f: _Fields) -> tuple[float, dict | None]:
    """(rope_theta, Llama 3 scaling or None) from either spelling: ``rope_parameters`` (transformers 5) or
    ``rope_theta`` + ``rope_scaling`` (4.x)."""
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if not isinstance(params, dict) or any(isinstance(v, dict) for v in params.values()):
        raise ModelFileError("config.json: rope_parameters must be one flat object (per-layer RoPE settings are "
                             "not supported)")
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not theta >= 1:
        raise ModelFileError(f"config.json: rope_theta must be a number of at least 1, got {theta!r}")
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "default":
        return float(theta), None
    if kind != "llama3":
        raise ModelFileError(f"config.json: rope_type {kind!r} is not supported; import_hf reads 'default' and "
                             "'llama3' RoPE")
    scaled = _Fields(params)
    return float(theta), {"factor": scaled.num("factor", 8.0), "low_freq_factor": scaled.num("low_freq_factor", 1.0),
                          "high_freq_factor": scaled.num("high_freq_factor", 4.0),
                          "original_context": scaled.int("original_max_position_embeddings",
                                                         config.get("max_position_embeddings"))}


def _no_rope_every(config: dict, n_layer: int) -> tuple[int, bool]:
    """SmolLM3's per-layer RoPE switches as our rule "skip RoPE in repeat i when (i+1) % N == 0"."""
    interval = config.get("no_rope_layer_interval", 4)
    layers = config.get("no_rope_layers")
    if layers is None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ModelFileError(f"config.json: no_rope_layer_interval must be a positive whole number, got "
                                 f"{interval!r}")
        layers = [int((i + 1) % interval != 0) for i in range(n_layer)]
    if not isinstance(layers, list) or len(layers) < n_layer or any(v not in (0, 1) for v in layers):
        raise ModelFileError(f"config.json: no_rope_layers must list 0 or 1 for each of the {n_layer} layers")
    layers = [int(v) for v in layers[:n_layer]]
    if not any(layers):
        return 0, False

    def pattern(every: int) -> list[int]:
        return [int((i + 1) % every != 0) for i in range(n_layer)]

    # The stated interval first: with 2 layers and interval 4 every layer has RoPE, yet the design says 4.
    if isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1 and layers == pattern(interval):
        return interval, True
    if all(layers):
        return 0, True
    for every in range(1, n_layer + 1):
        if layers == pattern(every):
            return every, True
    raise ModelFileError(f"config.json: no_rope_layers {layers} is not a regular pattern (no RoPE in every N-th "
                         "layer), which is the only pattern a graph expresses")


def _weight_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"'{index}' is not a valid safetensors index: {exc}") from None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise ModelFileError(f"'{index}': weight_map must map tensor names to file names")
        files = []
        for name in dict.fromkeys(weight_map.values()):
            if Path(name).name != name or name in (".", "..") or not name.endswith(".safetensors"):
                raise ModelFileError(f"'{index}' points at {name!r}; shards must be .safetensors files in the same "
                                     "directory")
            if not (folder / name).is_file():
                raise ModelFileError(f"'{index}' lists the shard '{name}', which is missing")
            files.append(folder / name)
        return files
    pickles = [p for p in PICKLES if (folder / p).exists()] + sorted(
        p.name for p in folder.glob("*.bin") if p.name not in PICKLES)
    if pickles:
        raise ModelFileError(f"'{folder}' has only pickled PyTorch weights ({', '.join(pickles[:3])}); SLaM Dunk "
                             "Lab never unpickles files, because loading a pickle can run arbitrary code. Convert "
                             "them to safetensors where you trust the file (transformers: save_pretrained(..., "
                             "safe_serialization=True)) and import that")
    raise ModelFileError(f"'{folder}' has no model.safetensors or model.safetensors.index.json")


def _load_weights(model: GraphModel, s: Stack, files: list[Path], model_type: str) -> None:
    from safetensors import safe_open

    sizes = _qkv_sizes(s)
    state = model.state_dict()
    plan = _weight_plan(s, model)
    expected: dict[str, tuple] = {}
    for p in plan:
        expected.update(_hf_shapes(p, tuple(state[p.ours].shape), sizes))
    prefix = "transformer." if model_type == "gpt2" else "model."
    found: dict[str, tuple[Path, str, tuple]] = {}  # our HF name -> (file, name in file, shape)
    problems: list[str] = []
    for path in files:
        try:
            with safe_open(str(path), framework="pt") as fh:
                for key in fh.keys():  # noqa: SIM118 - safe_open is not iterable
                    # Base-model checkpoints leave out the "model." / "transformer." prefix.
                    name = next((n for n in (key, prefix + key) if n in expected), key)
                    if name in expected:
                        found[name] = (path, key, tuple(fh.get_slice(key).get_shape()))
                    elif _BUFFERS.match(name) or (s.tied and name == "lm_head.weight"):
                        continue  # buffers, or the tied head saved twice: nothing to load
                    else:
                        problems.append(f"tensor '{key}' in {path.name} has no place in this {SUPPORTED[model_type]}")
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"'{path}' is not a readable safetensors file: {exc}") from None
    problems += [f"tensor '{n}' is missing" for n in expected if n not in found]
    problems += [f"tensor '{n}' has shape {list(found[n][2])}, but config.json implies {list(shape)}"
                 for n, shape in expected.items() if n in found and found[n][2] != shape]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ModelFileError(f"the weights do not match config.json: {shown}")
    by_file: dict[Path, list[str]] = {}
    for name, (path, _, _) in found.items():
        by_file.setdefault(path, []).append(name)
    tensors: dict[str, torch.Tensor] = {}
    for path, names in by_file.items():
        with safe_open(str(path), framework="pt") as fh:
            for name in names:
                tensor = fh.get_tensor(found[name][1])
                if not tensor.is_floating_point():
                    raise ModelFileError(f"tensor '{name}' holds {tensor.dtype} values, not floating-point weights")
                tensors[name] = tensor
    with torch.no_grad():
        for p in plan:
            state[p.ours].copy_(_from_hf(p, tensors))
    model.tie_weights()

