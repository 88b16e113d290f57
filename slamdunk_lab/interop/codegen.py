"""Export a graph as one standalone PyTorch file: ``sd.to_code(graph) -> str``.

The file depends on torch alone. Its building blocks are the classes of :mod:`slamdunk_lab.blocks.modules`,
copied with :func:`inspect.getsource`, so the code a student reads is the code that ran; only the blocks the
graph uses (and what they need) are copied. Then come a ``Config`` dataclass with the values used, one
``Block`` class per transformer block whose ``forward`` is the plan written out line by line with shape
comments, a ``Model`` with the KV cache, and ``build_model()``.

Attribute names are those :func:`slamdunk_lab.model.module_name` gives, so the state dict of
``sd.build(graph)`` loads into ``build_model()`` unchanged and gives the same logits.

>>> import slamdunk_lab as sd
>>> code = sd.to_code(sd.template("gpt2", size="tiny", n_layer=2))
>>> ns = {}
>>> exec(compile(code, "<export>", "exec"), ns)
>>> sorted(ns["build_model"]().state_dict()) == sorted(sd.build(sd.template("gpt2", size="tiny", n_layer=2))
...                                                   .state_dict())
True
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import re
import textwrap
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis import Analysis, GroupPlan, Step, analyze
from ..blocks import modules as M
from ..blocks.activations import ACTIVATIONS
from ..blocks.catalog import BLOCKS
from ..model import GraphModel, module_name

#: Kwargs that mean the same thing in every block, so they share one config field.
_SHARED_FIELDS = frozenset({"d_model", "vocab_size", "context"})


def to_code(graph: Any) -> str:
    """Readable, standalone PyTorch source for a design (a graph, or a model built with :func:`build`).

    The result runs as a script (it builds the model and prints its parameter count) or can be imported;
    ``build_model().load_state_dict(sd.build(graph).state_dict())`` works and gives identical logits.
    Raises :class:`slamdunk_lab.GraphError` listing every problem if the graph is invalid.
    """
    if isinstance(graph, GraphModel):
        graph = graph.graph
    analysis = graph if isinstance(graph, Analysis) else analyze(graph)
    analysis.raise_for_errors()
    return _Exporter(analysis).source()


# --------------------------------------------------------------------------------------------- source of blocks
_PARSE_LOCK = threading.Lock()


@dataclass
class _Definitions:
    """The top-level classes, functions and tables of ``blocks/modules.py``, in file order."""

    order: list[str]
    nodes: dict[str, ast.AST]
    source: str

    @classmethod
    def read(cls) -> _Definitions:
        source = inspect.getsource(M)
        with _PARSE_LOCK:  # CPython 3.11's parser is not safe to run from two threads at once (SystemError)
            tree = ast.parse(source)
        order: list[str] = []
        nodes: dict[str, ast.AST] = {}
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                order.append(node.name)
                nodes[node.name] = node
            elif isinstance(node, ast.Assign) and isinstance(target := node.targets[0], ast.Name) and \
                    target.id == "ACTIVATIONS":
                order.append("ACTIVATIONS")
                nodes["ACTIVATIONS"] = node
        return cls(order, nodes, source)

    def needs(self, names: set[str], activations: set[str]) -> set[str]:
        """``names`` plus every definition they refer to, recursively (the activation table's entries: only
        the classes of the ``activations`` this design uses)."""
        found, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name in found or name not in self.nodes:
                continue
            found.add(name)
            if name == "ACTIVATIONS":
                todo += [ACTIVATIONS[a].torch for a in activations]
            else:
                todo += [n.id for n in ast.walk(self.nodes[name]) if isinstance(n, ast.Name)]
        return found

    def text(self, name: str, activations: set[str]) -> str:
        if name == "ACTIVATIONS":  # the activation table: only the entries this design uses, written out
            return "ACTIVATIONS = {\n" + "\n".join(_activation_entry(ACTIVATIONS[a], self.nodes)
                                                    for a in ACTIVATIONS if a in activations) + "\n}"
        return inspect.getsource(getattr(M, name)).rstrip()


def _activation_entry(activation, ours: dict) -> str:
    """``"gelu_tanh": lambda: nn.GELU(approximate="tanh"),``: one line of the exported activation table."""
    cls = activation.torch if activation.torch in ours else f"nn.{activation.torch}"
    args = ", ".join(f"{k}={_literal(v)}" for k, v in activation.kwargs.items())
    return f"    {_literal(activation.name)}: lambda: {cls}({args}),"


def _names_in(code: str) -> set[str]:
    with _PARSE_LOCK:
        tree = ast.parse(code)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")" if shape else "(?)"


def _summary(spec_type: str) -> str:
    """The first sentence of a block's documentation, for a comment above its constructor."""
    text = BLOCKS[spec_type].docs_en.summary
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return f"{BLOCKS[spec_type].title}. {first}"


def _comment_lines(text: str, indent: str, width: int = 106) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, width - len(indent) - 2)]


def _literal(value: Any) -> str:
    """Python source for a plain value, with double-quoted strings (as ruff format writes them)."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    else:
        text = repr(value)
    with _PARSE_LOCK:
        written = ast.literal_eval(text)
    assert written == value, f"cannot write {value!r} as a literal"  # internal invariant
    return text


def _call(indent: str, target: str, func: str, args: list[str], comment: str = "", width: int = 110) -> list[str]:
    """``target = func(args)``, on one line when it fits, else one argument per line (ruff format's style)."""
    line = f"{indent}{target}{func}({', '.join(args)}){comment}"
    if len(line) <= width or not args:
        return [line]
    return [f"{indent}{target}{func}(", *(f"{indent}    {a}," for a in args), f"{indent}){comment}"]


def _safe_text(text: str) -> str:
    """A user-chosen name made safe for a docstring or comment (no quotes, backslashes or line breaks)."""
    return re.sub(r"[^\w .,:;()+\-/\[\]]", "_", str(text), flags=re.ASCII)[:80] or "model"


# --------------------------------------------------------------------------------------------- config fields
@dataclass
class _Field:
    name: str
    value: Any
    annotation: str
    help: str


class _ConfigBuilder:
    """Chooses a ``Config`` field for every constructor argument: one field per distinct setting.

    A setting used by several blocks with one value (``d_model``, ``norm_eps``) is one field; when blocks
    disagree, the most common value keeps the plain name and the others get ``<attribute>_<name>``.
    """

    def __init__(self):
        self.fields: dict[str, _Field] = {}
        self.uses: list[tuple[str, str, str, Any, str, str]] = []  # (attr, kwarg, base name, value, ann, help)

    def add_field(self, name: str, value: Any, annotation: str, help: str) -> str:
        while name in self.fields:
            name += "_"
        self.fields[name] = _Field(name, value, annotation, help)
        return name

    def add_use(self, attr: str, step: Step, kwarg: str, value: Any, annotation: str) -> None:
        names = BLOCKS[step.type].export
        prefix = f"{_snake(step.type)}_" if names.prefix is None else names.prefix
        base = names.fields.get(kwarg, kwarg if kwarg in _SHARED_FIELDS else prefix + kwarg)
        self.uses.append((attr, kwarg, base, value, annotation, _help_for(step.type, kwarg)))

    def resolve(self) -> dict[tuple[str, str], str]:
        """(attribute, kwarg) -> field name, adding the fields the uses need."""
        by_base: dict[str, list] = {}
        for use in self.uses:
            by_base.setdefault(use[2], []).append(use)
        mapping = {}
        for base, uses in by_base.items():
            values = [_literal(u[3]) for u in uses]
            if base in self.fields:  # a field set up front (vocab_size, context) keeps its value
                common = _literal(self.fields[base].value)
                plain = base
            else:
                counts = Counter(values)
                common = max(counts, key=lambda v: (counts[v], -values.index(v)))
                plain = None
            for (attr, kwarg, _, value, annotation, help_), text in zip(uses, values):
                if text == common:
                    plain = plain or self.add_field(base, value, annotation, help_)
                    mapping[attr, kwarg] = plain
                else:
                    mapping[attr, kwarg] = self.add_field(f"{attr}_{base}", value, annotation,
                                                          f"{help_} (for {attr})" if help_ else f"for {attr}")
        return mapping


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _help_for(block_type: str | None, kwarg: str) -> str:
    """The catalogue's help text for a setting (looked up in the block itself, then in any block)."""
    for spec in [*([BLOCKS[block_type]] if block_type else []), *BLOCKS.values()]:
        for p in spec.params:
            if p.name == kwarg:
                return p.help
    return ""


def _annotation(cls: type, kwarg: str, value: Any) -> str:
    try:
        ann = inspect.signature(cls).parameters[kwarg].annotation
    except (KeyError, TypeError, ValueError):
        ann = inspect.Parameter.empty
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type):
        return ann.__name__
    return type(value).__name__ if value is not None else "object"


# --------------------------------------------------------------------------------------------- the exporter
class _Exporter:
    def __init__(self, analysis: Analysis):
        self.a = analysis
        self.plan = analysis.plan
        self.graph = analysis.graph
        taken: set[str] = set()
        self.names = {n["id"]: module_name(n["id"], taken) for n in self.graph["nodes"]}
        self.taken = set(taken)
        self.config_attr = module_name("config", set(taken))
        self.tokens_id = self.plan.source
        self.groups = [item for item in self.plan.steps if isinstance(item, GroupPlan)]
        used: set[str] = set()
        self.block_class = {}
        for g in self.groups:
            base = "Block" if len(self.groups) == 1 else _camel(self.names[g.node_id]) + "Block"
            while base in used or base in ("Model", "Config") or base in M.__dict__:
                base += "_"
            used.add(base)
            self.block_class[g.node_id] = base
        self.cfg = _ConfigBuilder()
        self._collect_config()

    # ----------------------------------------------------------------- config
    def _collect_config(self) -> None:
        self.cfg.add_field("vocab_size", self.plan.vocab_size, "int", _help_for(None, "vocab_size"))
        self.cfg.add_field("context", self.plan.context, "int", _help_for(None, "context"))
        self.repeat_field = {}
        for g in self.groups:
            name = "n_layer" if len(self.groups) == 1 else f"{self.names[g.node_id]}_n_layer"
            how = ("one set of weights run that many times" if g.share_weights
                   else "each with its own weights")
            self.repeat_field[g.node_id] = self.cfg.add_field(
                name, g.repeat, "int", f"How many times the transformer block is stacked ({how}).")
        for step in self.plan.all_steps():
            if step.module is None:
                continue
            cls = getattr(M, step.module)
            for kwarg, value in step.kwargs.items():
                self.cfg.add_use(self.names[step.node_id], step, kwarg, value, _annotation(cls, kwarg, value))
        self.field_of = self.cfg.resolve()

    # ----------------------------------------------------------------- construction
    def _constructor(self, step: Step, cfg: str) -> tuple[str, list[str]]:
        cls = getattr(M, step.module)
        attr = self.names[step.node_id]
        args = [f"{k}={cfg}.{self.field_of[attr, k]}" for k in step.kwargs]
        if cls.__module__ == M.__name__:
            return step.module, args
        return f"nn.{cls.__name__}", args  # a plain torch layer (an alias in blocks/modules.py)

    def _init_lines(self, steps: Sequence[Step | GroupPlan], indent: str, cfg: str) -> list[str]:
        lines = []
        for item in steps:
            if isinstance(item, GroupPlan):
                attr, cls = self.names[item.node_id], self.block_class[item.node_id]
                n = f"{cfg}.{self.repeat_field[item.node_id]}"
                if item.share_weights:
                    lines.append(f"{indent}# One {cls} whose weights are reused on every one of the {n} passes "
                                 "(ALBERT-style weight sharing).")
                    lines.append(f"{indent}self.{attr} = nn.ModuleList([{cls}({cfg})])")
                else:
                    lines.append(f"{indent}# {item.repeat} layers stacked one after another, each with its own "
                                 "weights.")
                    lines.append(f"{indent}self.{attr} = nn.ModuleList([{cls}({cfg}) for _ in range({n})])")
            elif item.module is not None:
                lines += _comment_lines(_summary(item.type), indent)
                lines += _call(indent, f"self.{self.names[item.node_id]} = ", *self._constructor(item, cfg))
        return lines

    # ----------------------------------------------------------------- forward
    def _forward_lines(self, steps: Sequence[Step | GroupPlan], entry: dict[str, str], keep: set[str], indent: str,
                       output: str | None) -> tuple[list[str], dict[str, str]]:
        """Straight-line code for ``steps``. ``entry`` maps value ids to variables already holding them."""
        last_use: dict[str, int] = {}
        consumers: dict[str, list[int]] = {}
        for i, item in enumerate(steps):
            for v in ([item.entry] if isinstance(item, GroupPlan) else item.inputs):
                last_use[v] = i
                consumers.setdefault(v, []).append(i)
        for v in keep:
            last_use[v] = len(steps)
        var = dict(entry)
        holder: dict[str, str] = {name: v for v, name in entry.items()}  # variable -> value it holds
        inline: dict[str, str] = {}  # value id -> expression, for values written into their consumer
        lines: list[str] = []

        def is_ids(v: str) -> bool:
            shape = self._shape_of(v)
            return shape is not None and len(shape) == 2

        def free(name: str, i: int) -> bool:
            v = holder.get(name)
            return v is None or last_use.get(v, -1) <= i

        def fresh(i: int) -> str:
            for name in itertools.chain(["x", "h"], (f"h{k}" for k in itertools.count(2))):
                if free(name, i) and name not in ("idx", "logits"):
                    return name
            raise AssertionError("unreachable")  # itertools.count never ends

        def target(i: int, value: str, inputs: list[str], prefer_x: bool) -> str:
            if value == output:
                return "logits"
            dying = [var[v] for v in inputs if v in var and last_use.get(v) == i and not is_ids(v)]
            if prefer_x and "x" in dying:
                return "x"
            return dying[0] if dying else fresh(i)

        def ref(v: str) -> str:
            return inline.get(v) or var[v]

        def roots(v: str) -> list[str]:  # the variables an inlined expression reads
            return self._inline_inputs.get(v, [v])

        self._inline_inputs: dict[str, list[str]] = {}
        for i, item in enumerate(steps):
            if isinstance(item, GroupPlan):
                attr = self.names[item.node_id]
                vin = var[item.entry]
                out = target(i, item.exit, [item.entry], prefer_x=True)
                if out != vin:
                    lines.append(f"{indent}{out} = {vin}")
                n = f"self.{self.config_attr}.{self.repeat_field[item.node_id]}"
                if item.share_weights:
                    lines.append(f"{indent}for i in range({n}):  # the same weights on every pass")
                    call = f"self.{attr}[0]({out}, ctx)"
                else:
                    lines.append(f"{indent}for i, layer in enumerate(self.{attr}):")
                    call = f"layer({out}, ctx)"
                lines.append(f"{indent}    ctx.repeat_index = i  # which layer is running (NoPE layers need it)")
                lines.append(f"{indent}    {out} = {call}  # {_shape(self._shape_of(item.exit))}")
                var[item.exit], holder[out] = out, item.exit
                continue
            shape = _shape(self._shape_of(item.node_id))
            attr = self.names[item.node_id]
            if item.role == "residual":
                a, b = item.inputs
                expr = f"{ref(a)} + {ref(b)}"
                used = roots(a) + roots(b)
                name = target(i, item.node_id, used, prefer_x=True)
                lines.append(f"{indent}{name} = {expr}  # {shape} {attr}: residual connection")
            else:
                (v,) = item.inputs
                takes_ctx = getattr(getattr(M, item.module), "takes_context", False)
                expr = f"self.{attr}({ref(v)}{', ctx' if takes_ctx else ''})"
                used = roots(v)
                nxt = steps[i + 1] if i + 1 < len(steps) else None
                # One level only: an inlined block reads a variable, never another inlined call, so a chain of
                # 1,000 norms stays 1,000 lines instead of one expression too deep for Python's parser.
                if (BLOCKS[item.type].export.inline and consumers.get(item.node_id) == [i + 1]
                        and v not in inline and item.node_id not in keep and isinstance(nxt, Step)
                        and nxt.module is not None):
                    inline[item.node_id] = expr
                    self._inline_inputs[item.node_id] = used
                    for u in used:  # the consumer reads these variables, so they live one step longer
                        last_use[u] = max(last_use[u], i + 1)
                    continue
                name = target(i, item.node_id, used, prefer_x=False)
                lines.append(f"{indent}{name} = {expr}  # {shape}")
            var[item.node_id], holder[name] = name, item.node_id
        return lines, var

    def _shape_of(self, value_id: str):
        if value_id == self.tokens_id:
            return ("B", "T")
        info = self.a.nodes.get(value_id)
        return info.shape if info else None

    # ----------------------------------------------------------------- classes
    def _block_class(self, g: GroupPlan) -> str:
        cls = self.block_class[g.node_id]
        attr = self.names[g.node_id]
        lines = [f"class {cls}(nn.Module):",
                 f'    """One layer of the transformer block \'{attr}\': the blocks inside it, called in order."""',
                 "",
                 "    def __init__(self, cfg: Config):",
                 "        super().__init__()"]
        lines += self._init_lines(g.steps, "        ", "cfg")
        body, var = self._forward_lines(g.steps, {g.entry: "x"}, {g.exit}, "        ", output=None)
        lines += ["",
                  "    def forward(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:",
                  f"        # x: {_shape(self._shape_of(g.entry))}, the stream coming into the block"]
        lines += body
        lines.append(f"        return {var[g.exit]}")
        return "\n".join(lines)

    def _attention_calls(self) -> str:
        """An expression listing the attention modules in call order (one per KV-cache slot)."""
        parts = []
        for item in self.plan.steps:
            if isinstance(item, GroupPlan):
                attn = [self.names[s.node_id] for s in item.steps if _keeps_cache(s)]
                if not attn:
                    continue
                attr = self.names[item.node_id]
                if item.share_weights:
                    n = f"self.{self.config_attr}.{self.repeat_field[item.node_id]}"
                    parts.append(f"[{', '.join(f'self.{attr}[0].{a}' for a in attn)}] * {n}")
                elif len(attn) == 1:
                    parts.append(f"[layer.{attn[0]} for layer in self.{attr}]")
                else:
                    each = ", ".join(f"layer.{a}" for a in attn)
                    parts.append(f"[m for layer in self.{attr} for m in ({each})]")
            elif _keeps_cache(item):
                parts.append(f"[self.{self.names[item.node_id]}]")
        return " + ".join(parts) if parts else "[]"

    def _model_class(self) -> str:
        ties = [(self.names[h], self.names[e]) for h, e in self.plan.ties]
        lines = ["class Model(nn.Module):",
                 '    """The whole language model: token ids (B, T) in, next-token logits (B, T, vocab_size) out."""',
                 "",
                 "    def __init__(self, cfg: Config):",
                 "        super().__init__()",
                 f"        self.{self.config_attr} = cfg",
                 "        self.context = cfg.context  # the longest sequence the model accepts",
                 "        self.vocab_size = cfg.vocab_size"]
        lines += self._init_lines(self.plan.steps, "        ", "cfg")
        lines.append("        self.tie_weights()")
        lines += ["",
                  "    def tie_weights(self) -> None:",
                  '        """Share the LM head\'s weight matrix with the token embedding, where the design asks."""']
        lines += [f"        self.{h}.weight = self.{e}.weight  # one (vocab_size, d_model) matrix, used twice"
                  for h, e in ties] or ["        # this design has no tied weights"]
        body, var = self._forward_lines(self.plan.steps, {self.tokens_id: "idx"}, {self.plan.output},
                                        "        ", output=self.plan.output)
        lines += [
            "",
            "    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:",
            '        """Logits (B, T, V) for token ids idx (B, T). With a cache, idx continues the cached prefix."""',
            "        start = cache.pos if cache is not None else 0  # position of the first token in idx",
            "        limit = cache.max_len if cache is not None else self.context",
            "        T = idx.shape[1]",
            "        if start + T > limit:",
            '            raise ValueError(f"the sequence would reach position {start + T}, but this model handles "',
            '                             f"at most {limit} positions; crop the input to the last {limit - start} "',
            '                             "tokens")',
            "        ctx = ForwardContext(start, cache)  # shared by all blocks: positions, cache slots, RoPE tables",
            *body,
            "        if cache is not None:",
            "            cache.pos = start + T  # the cache now holds T more positions",
            f"        return {var[self.plan.output]}",
            "",
            "    def new_cache(self, batch_size: int = 1, max_len: int | None = None) -> KVCache:",
            '        """An empty KV cache for up to max_len positions (default: the model\'s context)."""',
            f"        attention = {self._attention_calls()}  # one cache entry per attention call, in order",
            "        shapes = [m.kv_cache_shape() for m in attention]",
            "        p = next(self.parameters())",
            "        return KVCache(shapes, batch_size, max_len or self.context, device=p.device, dtype=p.dtype)",
        ]
        return "\n".join(lines)

    def _config_class(self) -> str:
        lines = ["@dataclass",
                 "class Config:",
                 '    """The hyperparameters of this design: the values it was built with."""',
                 ""]
        for f in self.cfg.fields.values():
            if isinstance(f.value, (dict, list)):
                line = f"    {f.name}: {f.annotation} = field(default_factory=lambda: {_literal(f.value)})"
            else:
                line = f"    {f.name}: {f.annotation} = {_literal(f.value)}"
            help_ = _safe_comment(f.help)
            if help_ and len(line) + len(help_) + 4 <= 110:
                line += f"  # {help_}"
            elif help_:
                lines += _comment_lines(help_, "    ")
            lines.append(line)
        return "\n".join(lines)

    # ----------------------------------------------------------------- the file
    def source(self) -> str:
        blocks_src = [self._block_class(g) for g in self.groups]
        model_src = self._model_class()
        defs = _Definitions.read()
        activations = {s.kwargs["activation"] for s in self.plan.all_steps() if "activation" in s.kwargs}
        model_src += "\n\n" + textwrap.indent(textwrap.dedent(inspect.getsource(GraphModel.reset_parameters)).rstrip(),
                                               "    ")
        wanted = defs.needs({n for n in _names_in("\n".join([*blocks_src, model_src])) if n in defs.nodes}
                            | {"ForwardContext", "KVCache"}, activations)
        copied = [defs.text(name, activations) for name in defs.order if name in wanted]
        config = self._config_class()
        body = [*blocks_src, model_src, _BUILD]
        names = _names_in("\n\n".join([*copied, config, *body]))
        imports = []  # no `from __future__ import annotations`: dataclasses exec()ed without a module need real ones
        if "math" in names:
            imports.append("import math")
        imports.append("from dataclasses import " + ", ".join(n for n in ("dataclass", "field") if n in names))
        imports += ["", "import torch"]
        if "F" in names:
            imports.append("import torch.nn.functional as F")
        imports.append("from torch import nn")
        sections = [self._header() + "\n\n" + "\n".join(imports) + "\n\n"
                    + _rule("Building blocks, copied unchanged from slamdunk_lab/blocks/modules.py"),
                    *copied,
                    _rule("This design: its settings, its layers and the model"),
                    config, *body]
        text = "\n\n\n".join(sections) + "\n"
        compile(text, "<export>", "exec")  # internal invariant: we always write valid Python
        return text

    def _header(self) -> str:
        name = _safe_text(self.graph.get("name") or "model")
        n_layers = self.a.n_layers
        tied = " Its LM head shares its weights with the token embedding." if self.plan.ties else ""
        facts = "\n".join(textwrap.wrap(
            f"{self.a.params:,} parameters, {n_layers} attention layer{'s' if n_layers != 1 else ''}, context "
            f"{self.plan.context}, vocabulary {self.plan.vocab_size}.{tied}", 106))
        layout = ("each Block class spells out one transformer layer line by line and `Model` puts the pieces\n"
                  "together." if self.groups else "and `Model` spells out the design line by line.")
        return f'''"""{name}: a decoder-only language model exported from SLaM Dunk Lab.

{facts}

This file needs PyTorch and nothing else. The building blocks below are copied unchanged from
slamdunk_lab/blocks/modules.py, so this is the code that ran in the lab. `Config` holds the settings,
{layout} The parameter names match the lab's, so a state dict saved there loads here.

Usage:
    model = build_model()  # fresh weights (GPT-2 initialisation)
    model.load_state_dict(state_dict)  # e.g. safetensors.torch.load_file("model.safetensors")
    model.eval()
    logits = model(idx)  # idx: (B, T) token ids -> logits (B, T, vocab_size)

    cache = model.new_cache(batch_size=1)  # generation: keys and values are computed once
    logits = model(prompt, cache=cache)  # the whole prompt first,
    logits = model(next_token, cache=cache)  # then one token at a time

Run it as a script to build the model and print its parameter count.
"""'''


def _keeps_cache(step: Step) -> bool:
    return step.module is not None and hasattr(getattr(M, step.module), "kv_cache_shape")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Group"


def _safe_comment(text: str) -> str:
    return " ".join(str(text).split())


def _rule(title: str) -> str:
    return f"# {'-' * 20} {title} {'-' * max(3, 85 - len(title))}"


_BUILD = '''def build_model(cfg: Config | None = None) -> Model:
    """The model with freshly initialised weights (the same as the lab's under the same torch.manual_seed)."""
    model = Model(cfg or Config())
    model.reset_parameters()
    return model


if __name__ == "__main__":
    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())  # tied weights are counted once
    print(f"{n_params:,} parameters")'''


__all__ = ["to_code"]
