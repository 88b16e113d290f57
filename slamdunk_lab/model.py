"""Build a ``torch.nn.Module`` from a graph.

The analysis compiles the graph into a plan (a list of block calls and repeated groups); :class:`GraphModel`
creates one module per node (per repeat) and runs the plan. Parameter names follow the node ids, so a GPT-2
template gives ``blocks.3.attn.qkv_proj.weight``.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .analysis import DEFAULT_MAX_PARAMS, Analysis, GroupPlan, Plan, Step, analyze, machine_memory_bytes
from .blocks import modules as M
from .errors import GraphError, GraphIssue

_RESERVED = set(dir(nn.Module)) | {"graph", "plan", "analysis", "context", "vocab_size", "new_cache", "tie_weights",
                                    "reset_parameters", "last_attention", "tokenizer"}


def module_name(node_id: str, taken: set[str]) -> str:
    """A readable attribute name for a node id ('ln_1' stays 'ln_1'; 'my block!' becomes 'my_block_')."""
    name = re.sub(r"\W", "_", node_id, flags=re.ASCII) or "node"
    if name[0].isdigit():
        name = "n_" + name
    while name in _RESERVED or keyword.iskeyword(name) or name in taken:
        name += "_"
    taken.add(name)
    return name


class GroupLayer(nn.Module):
    """One repeat of a transformer block: its child modules and the order to call them in."""

    def __init__(self, steps: tuple[Step, ...], entry: str, exit: str, names: dict[str, str]):
        super().__init__()
        self._program = _compile(self, steps, entry_values=[entry], names=names)
        self._program.calls(self)  # bound now, not in the first forward: torch.compile would recompile after it
        self._exit = self._program.slot_of[exit]

    def forward(self, x: torch.Tensor, ctx: M.ForwardContext) -> torch.Tensor:
        return self._program.run(self, [x], ctx)[self._exit]


class _Program:
    """A list of calls over numbered value slots; no dict look-ups or isinstance checks per call."""

    ADD, CALL, CALL_CTX, GROUP = range(4)

    def __init__(self):
        self.ops: list[tuple[int, str, tuple[int, ...]]] = []  # (kind, attribute name, input slots)
        self.slot_of: dict[str, int] = {}
        self._bound: tuple[nn.Module, list] | None = None

    def calls(self, owner: nn.Module) -> list:
        """The ops with their modules looked up once (not through nn.Module.__getattr__ on every call)."""
        if self._bound is None or self._bound[0] is not owner:
            self._bound = (owner, [(k, getattr(owner, n) if n else None, ins) for k, n, ins in self.ops])
        return self._bound[1]

    def run(self, owner: nn.Module, values: list, ctx: M.ForwardContext) -> list:
        for kind, module, ins in self.calls(owner):
            if kind == self.ADD:
                values.append(values[ins[0]] + values[ins[1]])  # residual connection
            elif kind == self.CALL:
                values.append(module(values[ins[0]]))
            elif kind == self.CALL_CTX:
                values.append(module(values[ins[0]], ctx))
            else:  # a repeated transformer block
                h = values[ins[0]]
                for i, layer in enumerate(module):
                    ctx.repeat_index = i
                    h = layer(h, ctx)
                values.append(h)
        return values


def _make_module(step: Step) -> nn.Module:
    cls = getattr(M, step.module)
    return cls(**step.kwargs)


def _compile(owner: nn.Module, steps: Sequence[Step | GroupPlan], entry_values: list[str], names: dict[str, str]) -> _Program:
    program = _Program()
    for i, v in enumerate(entry_values):
        program.slot_of[v] = i
    for item in steps:
        if isinstance(item, GroupPlan):
            layers = [GroupLayer(item.steps, item.entry, item.exit, names)
                      for _ in range(1 if item.share_weights else item.repeat)]
            if item.share_weights:  # one set of weights, run `repeat` times
                layers = layers * item.repeat
            owner.add_module(names[item.node_id], _LayerStack(layers, shared=item.share_weights))
            program.ops.append((_Program.GROUP, names[item.node_id], (program.slot_of[item.entry],)))
            program.slot_of[item.exit] = len(program.slot_of)
            continue
        ins = tuple(program.slot_of[v] for v in item.inputs)
        if item.role == "residual":
            program.ops.append((_Program.ADD, "", ins))
        else:
            module = _make_module(item)
            owner.add_module(names[item.node_id], module)
            kind = _Program.CALL_CTX if getattr(module, "takes_context", False) else _Program.CALL
            program.ops.append((kind, names[item.node_id], ins))
        program.slot_of[item.node_id] = len(program.slot_of)
    return program


class _LayerStack(nn.ModuleList):
    """The repeats of a transformer block. With shared weights it holds one layer and yields it N times."""

    def __init__(self, layers: Sequence[nn.Module], shared: bool):
        super().__init__(layers[:1] if shared else layers)
        self.repeat = len(layers)
        self.shared = shared

    def __iter__(self):
        if self.shared:
            return iter([self[0]] * self.repeat)
        return super().__iter__()


class GraphModel(nn.Module):
    """A decoder-only language model built from a graph: ``forward(idx) -> logits``.

    >>> import torch, slamdunk_lab as sd
    >>> model = sd.build(sd.template("gpt2", size="tiny"))
    >>> model(torch.zeros(2, 16, dtype=torch.long)).shape
    torch.Size([2, 16, 256])
    """

    def __init__(self, analysis: Analysis):
        super().__init__()
        plan: Plan = analysis.plan
        self.graph: dict = analysis.graph
        self.analysis = analysis
        self.context: int = plan.context
        self.vocab_size: int = plan.vocab_size
        taken: set[str] = set()
        names = {n["id"]: module_name(n["id"], taken) for n in self.graph["nodes"]}
        self._program = _compile(self, plan.steps, entry_values=[plan.source], names=names)
        self._program.calls(self)  # bound now, not in the first forward: torch.compile would recompile after it
        self._output = self._program.slot_of[plan.output]
        self._ties = [(names[head], names[emb]) for head, emb in plan.ties]
        self.tie_weights()
        self._cache_shapes = [m.kv_cache_shape() for m in self._attention_calls()]

    def tie_weights(self) -> None:
        for head, emb in self._ties:
            getattr(self, head).weight = getattr(self, emb).weight

    def _attention_calls(self) -> list[Any]:  # attention modules (kv_cache_shape, their KV cache)
        """Modules that keep a KV cache (attention), in call order: one entry per call, so shared layers appear
        once per repeat."""
        calls = []
        for kind, name, _ in self._program.ops:
            owner = getattr(self, name, None) if name else None
            if kind == _Program.GROUP:
                for layer in owner:
                    calls += [getattr(layer, n) for k, n, _ in layer._program.ops
                              if k == _Program.CALL_CTX and hasattr(getattr(layer, n), "kv_cache_shape")]
            elif hasattr(owner, "kv_cache_shape"):
                calls.append(owner)
        return calls

    def new_cache(self, batch_size: int = 1, max_len: int | None = None) -> M.KVCache:
        """An empty KV cache for up to ``max_len`` positions (default: the model's context)."""
        p = next(self.parameters())
        return M.KVCache(self._cache_shapes, batch_size, max_len or self.context, device=p.device, dtype=p.dtype)

    def forward(self, idx: torch.Tensor, cache: M.KVCache | None = None,
                capture_attention: bool = False) -> torch.Tensor:
        """Logits (B, T, V) for token ids ``idx`` (B, T). With ``cache``, ``idx`` continues the cached prefix."""
        start = cache.pos if cache is not None else 0
        T = idx.shape[1]
        if start + T > (cache.max_len if cache is not None else self.context):
            limit = cache.max_len if cache is not None else self.context
            raise ValueError(f"the sequence would reach position {start + T}, but this model handles at most "
                             f"{limit} positions; crop the input to the last {limit - start} tokens")
        ctx = M.ForwardContext(start, cache, capture_attention)
        logits = self._program.run(self, [idx], ctx)[self._output]
        if cache is not None:
            cache.pos = start + T
        if capture_attention:
            self.last_attention = ctx.attention_maps
        return logits

    # ------------------------------------------------------------------ initialisation
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """GPT-2 initialisation: N(0, 0.02) weights, zero biases, residual projections scaled by 1/√(2·layers).

        Each module initialises its own weights (``init_weights``), in ``modules()`` order, so the same seed gives
        the same weights wherever this code runs.
        """
        n_residual = sum(1 for m in self.modules() if getattr(m, "residual_projection", False))
        residual_std = 0.02 / math.sqrt(n_residual) if n_residual else 0.02
        for module in self.modules():
            if (init := getattr(module, "init_weights", None)) is not None:
                init(residual_std)
        self.tie_weights()


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _resolve_dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in DTYPES:
        return DTYPES[dtype]
    raise GraphError(GraphIssue(None, "dtype", f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}"))


def build(graph: Any, device: Any = None, dtype: Any = None, max_params: int | None = DEFAULT_MAX_PARAMS,
          max_memory: int | None = None) -> GraphModel:
    """Build the model a graph describes, with freshly initialised weights (deterministic under manual_seed).

    Raises :class:`slamdunk_lab.GraphError` listing every problem if the graph is invalid, or if it is larger
    than ``max_params`` parameters or its weights would not fit in ``max_memory`` bytes (default: this
    machine's memory) — before anything is allocated. ``device="meta"`` builds the structure only, any size.
    """
    torch_dtype = _resolve_dtype(dtype)
    try:
        device = torch.device(device) if device is not None else torch.device("cpu")
    except (RuntimeError, TypeError) as exc:
        raise GraphError(GraphIssue(None, "device", f"unknown device {device!r}: {exc}")) from None
    analysis = graph if isinstance(graph, Analysis) else analyze(graph)
    analysis.raise_for_errors()
    if device.type != "meta":
        weight_bytes = analysis.params * torch.tensor([], dtype=torch_dtype).element_size()
        if max_params is not None and analysis.params > max_params:
            raise GraphError(GraphIssue(None, "params", f"this design has {analysis.params:,} parameters, more than "
                                                        f"the {max_params:,} allowed here; shrink it or pass "
                                                        f"max_params=None (or build on device='meta')"))
        cap = max_memory if max_memory is not None else machine_memory_bytes()
        if weight_bytes > cap:
            raise GraphError(GraphIssue(None, "memory", f"its weights need {weight_bytes / 2**30:.1f} GiB, more "
                                                        f"than the {cap / 2**30:.1f} GiB this machine has"))
    with torch.device(device):
        model = GraphModel(analysis)
    if device.type != "meta":
        model.reset_parameters()
    if torch_dtype != torch.float32:
        model.to(torch_dtype)
    return model
