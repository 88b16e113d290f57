"""Import designs saved by the original student web project (the "seed" format) as v1 graphs.

The original project sent one JSON request body: a ``config`` of family/training settings and a ``model`` list
of LayerNodes in forward order (``shared/seed-format.md``). :func:`from_seed` turns it into our graph:

* a ``tokens`` node (its context is ``config.context_length``, else the largest ``ctxLength``), then one node per
  LayerNode, ids taken from ``data.id`` (sanitised, made unique), then a ``logits`` node;
* a ``transformerBlock`` becomes a group with ``repeat = numOfBlocks`` (missing: 1, as the original) and
  ``share_weights = False``: each repeat is a distinct layer (the original looped one layer's weights — a bug we
  do not copy; :mod:`slamdunk_lab.seed` rebuilds that shared model to open files the original trained);
* a ``residual`` becomes an ``add`` node: input ``a`` is the value its ``source`` names — ``"<id>:in"`` (what the
  original canvas writes) the value that *entered* that layer, ``"<id>:out"`` (or a bare id at the top level, as
  the original cached it) the value it handed on; a bare id inside a block means its input, the pre-LN skip —
  and input ``b`` the current stream, so ``ln1 → attn → residual(source="ln1:in")`` is ``x + attn(ln1(x))``;
* a Rotary positional node becomes ``positionalEmbedding(kind="none")`` and turns RoPE on in every attention that
  follows it; a Relative one turns on a T5-style relative position bias there instead;
* the last top-level ``linear``, whose ``outDim`` must be the vocabulary size, becomes an ``lmHead`` (tied when
  ``weightTying``) followed by the ``logits`` node.

The settings follow what the original built: norms with eps 1e-6, exact GELU, the multi-head attention's output
bias on exactly when ``qkvBias`` is, QK-norm after RoPE, a learned table sized from the node's ``ctxLength``.
``config.model`` picks the tokenizer only. Values a node leaves out come from ``config``, then from the block
catalogue. Widths our blocks infer (``inDim``, ``outDim``, ``embDim``) are checked against the stream instead of
being dropped. Anything we cannot represent (a gated Mish) is an error naming the node; every place where our
model differs from what the original would have built is a note (``from_seed(payload, report=True)``). Every
problem is collected and raised together as a :class:`~slamdunk_lab.errors.GraphError`.

The original's saved canvas (React Flow ``{nodes, edges}``) is accepted too (:func:`canvas_to_payload`).

Every node is written through the block catalogue: its type and default settings come from the block's
specification, and the activation names from the activation table. This module is pure Python: no torch.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..blocks.activations import ACTIVATIONS
from ..blocks.activations import from_seed as activation_from_seed
from ..blocks.catalog import (
    ADD,
    ATTENTION,
    DROPOUT,
    FEED_FORWARD,
    LAYER_NORM,
    LINEAR,
    LM_HEAD,
    LOGITS,
    POSITIONAL_EMBEDDING,
    RMS_NORM,
    TOKEN_EMBEDDING,
    TOKENS,
    TRANSFORMER_BLOCK,
)
from ..blocks.spec import BlockSpec
from ..errors import GraphError, GraphIssue
from ..graph.schema import make_edge, make_node

#: ``config.model`` values of the original form. It picks the tokenizer (and the training settings), never the
#: architecture: the original built the model from the nodes alone, and so does the import.
MODEL_TYPES = ("gpt-2", "llama2", "llama3", "qwen3", "smollm3")
_MODEL_ALIASES = {"gpt2": "gpt-2", "llama-2": "llama2", "llama-3": "llama3", "qwen-3": "qwen3", "smollm-3": "smollm3"}

#: The original’s norms (LayerNorm and RMSNorm alike) were built with eps 1e-6 whatever a node said.
ORIGINAL_NORM_EPS = 1e-6

#: Seed positional names (``posType`` with " Positional Embedding" dropped, or the older ``mode``) → our kind.
#: ``"rope"`` means: no additive positions, RoPE in the attention that follows. ``"relative"``: no additive
#: positions, a T5-style bucketed relative bias in the attention that follows.
POSITIONAL_KINDS = {"learned": "learned", "absolute": "learned", "sinusoidal": "sinusoidal", "sinusoid": "sinusoidal",
                    "rotary": "rope", "rope": "rope", "none": "none", "relative": "relative"}

NORM_TYPES: dict[str, BlockSpec] = {"layer": LAYER_NORM, "rms": RMS_NORM}

#: The original form's activation names (``actFunc``, compared lower case without spaces), as it showed them.
#: Which (feedForwardType, actFunc) pair means which of our activations is the activation table's ``seed``
#: column; a pair it does not list (gated ReLU, gated Mish) is refused, never quietly turned into another.
SEED_ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "silu": "SiLU", "swish": "Swish", "leaky": "leaky",
                    "leakyrelu": "LeakyReLU", "swiglu": "SwiGLU", "mish": "Mish"}

#: Fields of the original canvas that mean nothing to the model (ignored, like any other unknown field).
UI_FIELDS = frozenset({"label", "isCollapsed", "isLocked", "hideHandles", "isTarget"})

LAYER_TYPES = ("tokenEmbedding", "positionalEmbedding", "normalization", "mhAttention", "gqAttention", "feedForward",
               "residual", "dropout", "linear", "transformerBlock")
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
MAX_LAYERS = 50_000
MAX_REPEAT = 1000
STEP = 110.0
_MISSING = object()


def from_seed(payload: Any, report: bool = False) -> Any:
    """Convert the original web project's request body (a dict or its JSON text) to a v1 graph dict.

    >>> import slamdunk_lab as sd
    >>> g = sd.graph.from_seed({"config": {"vocab_size": 96, "context_length": 32, "emb_dim": 32, "n_heads": 2},
    ...     "model": [{"type": "tokenEmbedding", "data": {"id": "emb"}},
    ...               {"type": "normalization", "data": {"id": "ln", "normType": "RMS Normalization"}},
    ...               {"type": "linear", "data": {"id": "head", "outDim": 96, "bias": False}}]})
    >>> [n["type"] for n in g["nodes"]]
    ['tokens', 'tokenEmbedding', 'rmsNorm', 'lmHead', 'logits']

    ``payload`` may also be the original’s saved canvas (React Flow's ``{"nodes", "edges"}``, as it keeps it in
    the browser): it is first turned into the request body the original front end would send
    (:func:`canvas_to_payload`).

    With ``report=True`` it returns ``(graph, notes)``: ``notes`` is a list of
    :class:`~slamdunk_lab.errors.GraphIssue`, one per place where the imported model differs from what the
    original would have built (each repeat of a block made distinct, residuals inside blocks made live, the
    original’s ignored fields, vocabulary mismatches, ...). Without it, only the graph.

    Raises :class:`~slamdunk_lab.errors.GraphError` listing every problem found (each naming the seed node's id
    and field) when the design cannot be imported faithfully.
    """
    converter = _Converter(payload)
    graph = converter.run()
    return (graph, converter.notes) if report else graph


def as_run(payload: Any, origins: bool = False) -> Any:
    """The graph of the model the original project really ran for ``payload`` (to open the files it trained).

    Its quirks, reproduced: one set of block weights looped ``numOfBlocks`` times (``share_weights``); residuals
    inside a block add nothing, so they are left out; every positional layer is a learned table of ``ctxLength``
    rows (its server dropped ``posType``), with no RoPE from a Rotary layer and no relative bias; norms use eps
    1e-6; a top-level residual whose source it never stored (``"<id>:out"``) adds the stream to itself. What
    the original could not build or run (Mish, a Standard SwiGLU, positions anywhere but straight after the
    token embedding) is an error naming the node.

    ``origins=True`` returns ``(graph, origins)``: for each node made from a layer, the name the original's model
    gave that layer (``"layers.3"``, ``"layers.2.sequence.1"``: the prefix of its tensors in the original's
    state dict) and the layer's type.
    """
    converter = _Converter(payload, as_run=True)
    graph = converter.run()
    return (graph, converter.origins) if origins else graph


def residual_source(source: str, top_level: bool, ids: set[str] | frozenset[str] = frozenset()) -> tuple[str, str]:
    """A residual's ``source`` as (layer id, ``"in"`` or ``"out"``): which value of that layer it adds back.

    The original canvas writes ``"<id>:in"`` for every connection drawn (its ``onConnect``): the value that
    flowed *into* that layer. Its model code also keeps each top-level layer's output under the bare id, so a
    bare id at the top level adds that layer's *output*; ``"<id>:out"`` says so explicitly. Inside a block the
    original ran no residual at all, and its GPT-2 preset names the block's norm with a bare id, meaning the
    usual pre-LN skip around it: a bare id inside a block adds that layer's input.

    >>> residual_source("ln1:in", top_level=True), residual_source("ln1", top_level=True)
    (('ln1', 'in'), ('ln1', 'out'))
    >>> residual_source("ln1", top_level=False), residual_source("ln1:out", top_level=False)
    (('ln1', 'in'), ('ln1', 'out'))
    """
    for suffix, end in ((":in", "in"), (":out", "out")):
        if source.endswith(suffix) and (source not in ids or source[: -len(suffix)] in ids):
            return source[: -len(suffix)], end
    return source, "out" if top_level else "in"


#: Fields the original front end removed before sending a design (``buildModelJSON``), and we ignore.
_CANVAS_UI = ("openModal", "hideHandles", "isCollapsed", "isTarget", "isLocked")


def canvas_to_payload(state: Any, config: dict | None = None) -> dict:
    """The request body the original front end would send for its saved canvas state.

    The original keeps its canvas in the browser (``localStorage["canvasState"]``, also offered as a download)
    as React Flow's ``{"nodes": [...], "edges": [...]}``. Its ``buildModelJSON`` turns that into the layer list:
    start at the one top-level node no edge enters (edges to or from a residual handle do not count), follow
    the edges depth first, and give each block its children (nodes whose parent is the block) from top to
    bottom. This does the same; ``config`` (the original’s side panel, which the canvas state does not hold)
    becomes the payload's ``config``.

    >>> state = {"nodes": [{"id": "e", "type": "tokenEmbedding", "position": {"x": 0, "y": 0},
    ...                     "data": {"id": "e", "label": "Token Embedding", "vocabSize": 96, "embDim": 32}},
    ...                    {"id": "h", "type": "linear", "position": {"x": 0, "y": 200},
    ...                     "data": {"id": "h", "inDim": 32, "outDim": 96, "bias": False, "weightTying": True}}],
    ...          "edges": [{"source": "e", "target": "h", "sourceHandle": "src", "targetHandle": "tgt"}]}
    >>> [layer["type"] for layer in canvas_to_payload(state)["model"]]
    ['tokenEmbedding', 'linear']
    """
    if isinstance(state, (str, bytes)):
        try:
            state = json.loads(state)
        except (ValueError, RecursionError) as exc:
            raise GraphError(f"the canvas state is not valid JSON: {exc}") from None
    if not isinstance(state, dict) or not isinstance(state.get("nodes"), list) \
            or not isinstance(state.get("edges", []), list):
        raise GraphError(GraphIssue(None, "nodes", "a canvas state must be an object with 'nodes' and 'edges' "
                                                   "lists (the original’s saved canvas)"))
    nodes = [n for n in state["nodes"] if isinstance(n, dict) and isinstance(n.get("id"), (str, int))]
    edges = [e for e in state.get("edges") or [] if isinstance(e, dict)]
    if not nodes:
        raise GraphError(GraphIssue(None, "nodes", "the canvas is empty: there is no layer to import (add layers "
                                                   "in the original, or load one of its presets, and save again)"))
    if len(nodes) > MAX_LAYERS:
        raise GraphError(GraphIssue(None, "nodes", f"the canvas has more than {MAX_LAYERS} layers"))
    by_id = {str(n["id"]): n for n in nodes}

    def parent_of(n: dict) -> str | None:
        parent = n.get("parentNode", n.get("parentId"))
        return str(parent) if parent is not None else None

    in_degree = dict.fromkeys(by_id, 0)
    adjacent: dict[str, list[str]] = {}
    for e in edges:
        source, target = str(e.get("source")), str(e.get("target"))
        adjacent.setdefault(source, []).append(target)
        if e.get("sourceHandle") == "residual-source" or e.get("targetHandle") == "residual-target":
            continue
        if target in in_degree:
            in_degree[target] += 1
    roots = [i for i, d in in_degree.items() if d == 0 and parent_of(by_id[i]) is None]
    if len(roots) != 1:
        listed = ", ".join(f"'{r}'" for r in roots[:6]) + (" ..." if len(roots) > 6 else "")
        raise GraphError(GraphIssue(None, "edges", f"the canvas must have exactly one starting layer (a top-level "
                                                   f"layer no edge enters), but it has {len(roots)}"
                                                   + (f": {listed}" if roots else "")
                                                   + "; connect the layers into one chain"))

    def layer_of(n: dict, drop_label: bool) -> dict:
        data = dict(n.get("data") or {}) if isinstance(n.get("data"), dict) else {}
        for key in _CANVAS_UI + (("label",) if drop_label else ()):
            data.pop(key, None)
        return {"type": n.get("type"), "data": data}

    model: list[dict] = []
    visited: set[str] = set()
    stack: list[Any] = [iter([roots[0]])]
    while stack:  # depth first, in edge order, as buildModelJSON's recursion
        node_id = next(stack[-1], None)
        if node_id is None:
            stack.pop()
            continue
        if node_id in visited or node_id not in by_id:
            continue
        visited.add(node_id)
        n = by_id[node_id]
        item = layer_of(n, drop_label=True)
        if "Block" in str(n.get("type") or ""):
            kids = [c for c in nodes if parent_of(c) == node_id]
            kids.sort(key=lambda c: float((c.get("position") or {}).get("y") or 0))
            item["children"] = [layer_of(c, drop_label=False) for c in kids]
        model.append(item)
        stack.append(iter(adjacent.get(node_id, [])))
    payload: dict[str, Any] = {"config": dict(config or state.get("config") or {}), "model": model}
    return payload


def is_canvas_state(payload: Any) -> bool:
    """Whether ``payload`` is the original’s saved canvas (React Flow nodes and edges), not a request body."""
    return isinstance(payload, dict) and "nodes" in payload and "model" not in payload


# --------------------------------------------------------------------------------------------- reading values
def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Fields:
    """Typed reads of one LayerNode's ``data`` (or of ``config``); each bad value becomes one GraphIssue."""

    def __init__(self, errors: list[GraphIssue], node_id: str | None, data: dict, prefix: str = ""):
        self.errors, self.node_id, self.data, self.prefix = errors, node_id, data, prefix

    def fail(self, key: str | None, message: str) -> None:
        field = None if key is None else self.prefix + key
        self.errors.append(GraphIssue(self.node_id, field, message))

    def _get(self, key: str, default: Any, hint: str) -> Any:
        value = self.data.get(key, _MISSING)
        if value is None or value is _MISSING:
            if default is _MISSING:
                self.fail(key, f"'{key}' is missing{hint}")
            return None if default is _MISSING else default
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int = 1, maximum: int = 10_000_000,
            hint: str = "") -> int | None:
        value = self._get(key, default, hint)
        if value is None:
            return None
        if not _is_int(value):
            self.fail(key, f"'{key}' must be a whole number, got {_show(value)}")
            return None
        if not minimum <= value <= maximum:
            self.fail(key, f"'{key}' must be between {minimum} and {maximum}, got {_show(value)}")
            return None
        return int(value)

    def float(self, key: str, default: Any = _MISSING, low: float = 0.0, high: float = math.inf,
              low_open: bool = False, high_open: bool = False) -> float | None:
        value = self._get(key, default, "")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(key, f"'{key}' must be a finite number, got {_show(value)}")
            return None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            lo = f"{'above' if low_open else 'at least'} {low:g}"
            hi = "" if high == math.inf else f" and {'below' if high_open else 'at most'} {high:g}"
            self.fail(key, f"'{key}' must be {lo}{hi}, got {_show(value)}")
            return None
        return float(value)

    def bool(self, key: str, default: Any = _MISSING) -> bool | None:
        value = self._get(key, default, "")
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(key, f"'{key}' must be true or false, got {_show(value)}")
            return None
        return value

    def text(self, key: str, default: Any = _MISSING) -> str | None:
        value = self._get(key, default, "")
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"'{key}' must be a string, got {_show(value)}")
            return None
        return value


def _words(text: str, drop: tuple[str, ...] = ()) -> str:
    """'Rotary Positional Embedding' → 'rotary'; 'RMS Normalization' → 'rms' (case and filler words ignored)."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return " ".join(w for w in words if w not in drop)


# --------------------------------------------------------------------------------------------- the converter
class _Converter:
    def __init__(self, payload: Any, as_run: bool = False):
        self.payload = payload
        self.as_run = as_run  # build what the original ran, quirks included (see as_run())
        self.origins: dict[str, tuple[str, str]] = {}  # our node id -> (the original's module path, seed type)
        self.current: tuple[str, str, str] | None = None  # (module path, seed type, seed id) being converted
        self.block_path = ""
        self.errors: list[GraphIssue] = []
        self.nodes: list[dict] = []
        self.edges: list[dict] = []
        self.taken: set[str] = set()
        # The stream: the value (our node id) flowing on, its width, and whether it is still token ids.
        self.stream = ""
        self.width: int | None = None  # None: unknown (an earlier error), so width checks are skipped
        self.width_from = ""
        self.is_ids = True
        self.rope_from: str | None = None  # seed id of the Rotary node that turned RoPE on, if any
        self.relative_from: str | None = None  # seed id of the Relative node that turned the T5 bias on, if any
        self.notes: list[GraphIssue] = []  # where our model differs from what the original built
        self.embedding_node: str | None = None
        self.embedding: dict | None = None  # {"vocab_size", "d_model"} of the token embedding, when valid
        self.saw_embedding = False
        self.head: str | None = None
        self.block_residuals: list[str] = []
        self.y = 0.0

    def fail(self, node_id: str | None, field: str | None, message: str) -> None:
        self.errors.append(GraphIssue(node_id, field, message))

    def note(self, node_id: str | None, field: str | None, message: str) -> None:
        """A place where the imported model differs from what the original would have built."""
        self.notes.append(GraphIssue(node_id, field, message))

    @property
    def stream_is_embedding(self) -> bool:
        return self.embedding_node is not None and self.stream == self.embedding_node

    # ------------------------------------------------------------------ entry
    def run(self) -> dict:
        payload = self.payload
        if isinstance(payload, (str, bytes)):
            try:
                payload = json.loads(payload)
            except (ValueError, RecursionError) as exc:
                raise GraphError(f"the seed design is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise GraphError(f"a seed design must be an object with 'config' and 'model', got "
                             f"{type(payload).__name__}")
        if is_canvas_state(payload):  # the original’s saved canvas: the request body its front end would build
            payload = canvas_to_payload(payload)
        layers = payload.get("model")
        if not isinstance(layers, list) or not layers:
            raise GraphError(GraphIssue(None, "model", "'model' must be a non-empty list of layers in forward order"))
        config = payload.get("config", {})
        if not isinstance(config, dict):
            self.fail(None, "config", f"'config' must be an object, got {type(config).__name__}")
            config = {}
        self.all_ids = self._scan(layers)
        self._read_config(config)
        name = payload.get("modelName")

        self.stream = self._node("tokens", TOKENS, {"context": self.context or 1})
        self._walk(layers, parent=None)
        if not self.saw_embedding:
            self.fail(None, "model", "the design has no tokenEmbedding layer; the model must start with one")
        if self.head is not None:
            logits = self._node("logits", LOGITS, {})
            self._edge(self.head, logits)
        if self.errors:
            raise GraphError(self.errors)
        graph: dict[str, Any] = {"version": 1}
        if isinstance(name, str) and name.strip():
            graph["name"] = name.strip()[:200]
        graph.update(nodes=self.nodes, edges=self.edges, viewport={"x": 0.0, "y": 0.0, "zoom": 1.0})
        return graph

    def _scan(self, layers: list) -> set[str]:
        """Every seed id (for residual messages) and the largest ctxLength (the context when config has none)."""
        ids: set[str] = set()
        self.largest_ctx = 0
        stack, count = list(layers), 0
        while stack:
            item = stack.pop()
            count += 1
            if count > MAX_LAYERS:
                raise GraphError(GraphIssue(None, "model", f"the design has more than {MAX_LAYERS} layers"))
            if not isinstance(item, dict):
                continue
            data = item.get("data")
            if isinstance(data, dict):
                if isinstance(data.get("id"), (str, int)) and not isinstance(data.get("id"), bool):
                    ids.add(str(data["id"]))
                ctx = data.get("ctxLength")
                if _is_int(ctx) and ctx > 0:
                    self.largest_ctx = max(self.largest_ctx, int(ctx))
            if isinstance(item.get("children"), list):
                stack.extend(item["children"])
        return ids

    def _read_config(self, config: dict) -> None:
        c = _Fields(self.errors, None, config, prefix="config.")
        model_type = c.text("model", None)
        self.model_type: str | None = None
        if model_type is not None:
            key = _MODEL_ALIASES.get(model_type.strip().lower(), model_type.strip().lower())
            if key not in MODEL_TYPES:
                c.fail("model", f"'model' must be one of {', '.join(MODEL_TYPES)}, got {_show(model_type)}")
            else:
                self.model_type = key
        self.cfg: dict[str, Any] = {
            "vocab_size": c.int("vocab_size", None),
            "context_length": c.int("context_length", None, maximum=1_048_576),
            "emb_dim": c.int("emb_dim", None, maximum=65_536),
            "n_heads": c.int("n_heads", None, maximum=1024),
            "n_blocks": c.int("n_blocks", config.get("n_layers"), maximum=MAX_REPEAT),
            "drop_rate": c.float("drop_rate", None, 0.0, 1.0, high_open=True),
            "qkv_bias": c.bool("qkv_bias", None),
            "hidden_dim": c.int("hidden_dim", None, maximum=1_048_576),
            "n_kv_groups": c.int("n_kv_groups", None, maximum=1024),
            "rope_base": c.float("rope_base", None, 1.0, 1e12),
            "qk_norm": c.bool("qk_norm", None),
            "qk_norm_eps": c.float("qk_norm_eps", None, 0.0, 1.0, low_open=True),
            "head_dim": c.int("head_dim", None, maximum=4096),
        }
        scaling_key = "rope_config" if config.get("rope_config") is not None else "rope_freq"
        self.cfg["rope_scaling"] = self._rope_scaling(c, scaling_key)
        dtype = c.text("dtype", None)
        if dtype is not None and dtype.lower() not in DTYPES:
            c.fail("dtype", f"'dtype' must be one of {', '.join(DTYPES)}, got {_show(dtype)}")
        self.context = self.cfg["context_length"] or self.largest_ctx
        if not self.context:
            self.fail(None, "config.context_length", "the context length is unknown: set config.context_length "
                                                     "or ctxLength on a layer")

    def _rope_scaling(self, f: _Fields, key: str) -> dict | None:
        """The Llama 3 RoPE scaling numbers in ``f.data[key]`` as our attention fields, or None if absent."""
        raw = f.data.get(key)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            f.fail(key, f"'{key}' must be an object with factor, low_freq_factor, high_freq_factor and "
                        f"original_context_length, got {_show(raw)}")
            return None
        r = _Fields(self.errors, f.node_id, raw, prefix=f"{f.prefix}{key}.")
        out = {"rope_scaling": "llama3",
               "rope_factor": r.float("factor", 8.0, 1.0, 1024.0),
               "rope_low_freq_factor": r.float("low_freq_factor", 1.0, 0.0, 1024.0, low_open=True),
               "rope_high_freq_factor": r.float("high_freq_factor", 4.0, 0.0, 1024.0, low_open=True),
               "rope_original_context": r.int("original_context_length", 8192)}
        return None if None in out.values() else out

    # ------------------------------------------------------------------ graph writing
    def _new_id(self, wanted: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", wanted)[:100] or "node"
        node_id, n = base, 2
        while node_id in self.taken:
            node_id, n = f"{base}_{n}", n + 1
        self.taken.add(node_id)
        return node_id

    def _node(self, wanted: str, spec: BlockSpec, data: dict, parent: str | None = None) -> str:
        """A node of block ``spec``: its catalogue defaults, then ``data`` (each one a setting of the block)."""
        unknown = set(data) - {p.name for p in spec.params}
        assert not unknown, f"{spec.type} has no setting {sorted(unknown)}"  # internal invariant: an importer bug
        node_id = self._new_id(wanted)
        if self.current is not None and wanted == self.current[2]:
            self.origins[node_id] = self.current[:2]
        if parent is None:
            x, y = 0.0, self.y
            self.y += STEP
        else:
            x, y = 40.0, self.cy
            self.cy += STEP
        self.nodes.append(make_node(node_id, spec.type, x, y, {**spec.defaults(), **data}, parent))
        return node_id

    def _edge(self, source: str, target: str, handle: str = "in") -> None:
        self.edges.append(make_edge(source, target, handle))

    def _then(self, node_id: str, new_width: tuple[int | None, str] | None = None) -> None:
        """Connect the stream into ``node_id`` and make its output the stream (``new_width``: (width, set by))."""
        self._edge(self.stream, node_id)
        self.stream = node_id
        if new_width is not None:
            (self.width, self.width_from), self.is_ids = new_width, False

    # ------------------------------------------------------------------ walking the layer list
    def _walk(self, layers: list, parent: str | None) -> None:
        """Convert one container's LayerNodes (the top level or a block's children), in forward order."""
        here = {str(item["data"]["id"]) for item in layers
                if isinstance(item, dict) and isinstance(item.get("data"), dict) and "id" in item["data"]}
        entered: dict[str, tuple[str, int | None, bool]] = {}  # seed id -> the stream that flowed into it
        left: dict[str, tuple[str, int | None, bool]] = {}  # seed id -> the stream it handed on (its output)
        seed_id = None
        for index, item in enumerate(layers):
            where = f"model[{index}]" if parent is None else f"{parent}.children[{index}]"
            if not isinstance(item, dict):
                self.fail(None, where, f"layer {where} must be an object with 'type' and 'data', got "
                                       f"{type(item).__name__}")
                continue
            type_, data = item.get("type"), item.get("data", {})
            raw_id = data.get("id") if isinstance(data, dict) else None
            seed_id = str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) \
                and str(raw_id) else f"{type_ if isinstance(type_, str) else 'layer'}_{index}"
            if not isinstance(data, dict):
                self.fail(seed_id, "data", f"layer {where}: 'data' must be an object, got {type(data).__name__}")
                continue
            if type_ not in LAYER_TYPES:
                self.fail(seed_id, "type", f"unknown layer type {_show(type_)}; known types: "
                                           f"{', '.join(LAYER_TYPES)}")
                continue
            if "children" in item and item["children"] is not None and type_ != "transformerBlock":
                self.fail(seed_id, "children", f"only a transformerBlock can contain layers, not a {type_}")
            before = (self.stream, self.width, self.is_ids)
            path = f"layers.{index}" if parent is None else f"{self.block_path}.sequence.{index}"
            self.current = (path, type_, seed_id)
            if type_ == "transformerBlock":
                self.block_path = path
            fields = _Fields(self.errors, seed_id, data)
            last = parent is None and index == len(layers) - 1
            if type_ == "residual":
                self._residual(seed_id, fields, parent, entered, left, here)
            elif type_ == "transformerBlock":
                self._block(seed_id, item, fields, parent)
            elif type_ == "linear":
                self._linear(seed_id, fields, parent, last)
            else:
                getattr(self, "_" + type_)(seed_id, fields, parent)
            entered[seed_id] = before
            left[seed_id] = (self.stream, self.width, self.is_ids)
        if parent is None and self.head is None and self.saw_embedding:
            self.fail(seed_id, None, "the design must end with a linear layer whose outDim is the vocabulary size "
                                     "(the LM head); the last top-level layer is not one")

    def _needs_activations(self, f: _Fields) -> bool:
        if self.is_ids:
            f.fail(None, "it receives token ids; put a tokenEmbedding before it")
            return False
        return True

    def _check_width(self, f: _Fields, key: str, what: str = "the stream entering it") -> None:
        """``data[key]`` (if given) must equal the stream width our block infers."""
        value = f.int(key, None, maximum=1_048_576)
        if value is not None and self.width is not None and value != self.width:
            source = f" (set by '{self.width_from}')" if self.width_from else ""
            f.fail(key, f"{key} is {value}, but {what} is {self.width} wide{source}; the widths must agree")

    def _check_context(self, f: _Fields) -> None:
        ctx = f.int("ctxLength", None, maximum=1_048_576)
        if ctx is not None and self.context and ctx < self.context:
            f.fail("ctxLength", f"ctxLength is {ctx}, but the model's context length is {self.context}; the "
                                f"layer could not handle the longest sequences (make them equal)")

    # ------------------------------------------------------------------ layer types
    def _tokenEmbedding(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        vocab = f.int("vocabSize", self.cfg["vocab_size"] or _MISSING, hint=" (and config.vocab_size is not set)")
        width = f.int("embDim", self.cfg["emb_dim"] or _MISSING, maximum=65_536,
                      hint=" (and config.emb_dim is not set)")
        if not self.is_ids:
            f.fail(None, "a token embedding reads token ids, so it must come first, straight after the input")
        node = self._node(seed_id, TOKEN_EMBEDDING, {"vocab_size": vocab or 1, "d_model": width or 1}, parent)
        self.embedding_node = node
        if vocab is not None and self.cfg["vocab_size"] is not None and vocab != self.cfg["vocab_size"]:
            self.note(seed_id, "vocabSize", f"config.vocab_size is {self.cfg['vocab_size']} but this node's "
                                            f"vocabSize is {vocab}; the model has {vocab} tokens, as the original "
                                            "built it (it read the nodes, not config)")
        self.saw_embedding = True
        if self.embedding is None and vocab is not None and width is not None:
            self.embedding = {"vocab_size": vocab, "d_model": width}
        self._then(node, (width, seed_id))

    def _positionalEmbedding(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        kind = self._positional_kind(f) if not self.as_run else "learned"
        if self._needs_activations(f):
            self._check_width(f, "embDim")
        self._check_context(f)
        data: dict[str, Any] = {"kind": kind or "learned"}
        if self.as_run:  # the original's server dropped posType: a learned table of ctxLength rows, always
            rows = f.int("ctxLength", None, maximum=1_048_576)
            if not self.stream_is_embedding:
                f.fail(None, "the original replaced the stream with the position table here (it added positions "
                             "only straight after the token embedding); that model cannot be rebuilt")
            data = {"kind": "learned", "positions": rows if rows and rows != self.context else None}
            self._then(self._node(seed_id, POSITIONAL_EMBEDDING, data, parent))
            return
        if kind == "rope":
            self.rope_from, data["kind"] = seed_id, "none"
        elif kind == "relative":
            self.relative_from, data["kind"] = seed_id, "none"
            self.note(seed_id, "posType", "the original built a learned position table here whatever posType said "
                                          "(its server dropped the field); this import gives every attention that "
                                          "follows a T5-style relative position bias instead")
        elif kind == "learned":
            rows = f.int("ctxLength", None, maximum=1_048_576)
            if rows is not None and self.context and rows > self.context:
                data["positions"] = rows  # the original sized the table from the node's ctxLength
        if kind in ("rope", "sinusoidal"):
            self.note(seed_id, "posType", f"the original built a learned position table here whatever posType said "
                                          f"(its server dropped the field); this import keeps the "
                                          f"{'rotary' if kind == 'rope' else 'sinusoidal'} positions the design asked "
                                          "for")
        if not self.stream_is_embedding:
            self.note(seed_id, None, "the original added positions only straight after the token embedding (anywhere "
                                     "else its positional layer replaced the stream); here it adds them to the "
                                     "stream it receives")
        self._then(self._node(seed_id, POSITIONAL_EMBEDDING, data, parent))

    def _positional_kind(self, f: _Fields) -> str | None:
        chosen: dict[str, str] = {}
        for key in ("posType", "mode"):
            text = f.text(key, None)
            if text is not None:
                chosen[key] = _words(text, ("positional", "position", "embedding", "embeddings", "encoding"))
        if not chosen:
            f.fail("posType", "'posType' is missing; say which positional embedding this is")
            return None
        if len(set(chosen.values())) > 1:
            f.fail("mode", f"posType {_show(f.data['posType'])} and mode {_show(f.data['mode'])} disagree")
            return None
        key, name = next(iter(chosen.items()))
        if name not in POSITIONAL_KINDS:
            f.fail(key, f"unknown positional embedding {_show(f.data[key])}; expected Learned, Sinusoidal, "
                        f"Relative or Rotary Positional Embedding")
            return None
        return POSITIONAL_KINDS[name]

    def _normalization(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        text = f.text("normType", _MISSING)
        spec = None
        if text is not None:
            spec = NORM_TYPES.get(_words(text, ("normalization", "normalisation", "norm")).replace(" ", ""))
            if spec is None:
                f.fail("normType", f"unknown normType {_show(text)}; expected 'Layer Normalization' or "
                                   "'RMS Normalization'")
        spec = spec or LAYER_NORM
        eps = f.float("eps", ORIGINAL_NORM_EPS, 0.0, 1.0, low_open=True) or ORIGINAL_NORM_EPS
        if self.as_run:
            eps = ORIGINAL_NORM_EPS
        elif eps != ORIGINAL_NORM_EPS:
            self.note(seed_id, "eps", f"the original ignored eps and normalised with {ORIGINAL_NORM_EPS:g}; this "
                                      f"import uses the {eps:g} the node states")
        if self._needs_activations(f):
            self._check_width(f, "inDim")
            self._check_width(f, "embDim")
        data = {"eps": eps, "bias": True} if spec.param("bias") else {"eps": eps}
        self._then(self._node(seed_id, spec, data, parent))

    def _mhAttention(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        self._attention(seed_id, f, parent, grouped=False)

    def _gqAttention(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        self._attention(seed_id, f, parent, grouped=True)

    def _attention(self, seed_id: str, f: _Fields, parent: str | None, grouped: bool) -> None:
        cfg = self.cfg
        heads = f.int("numHeads", cfg["n_heads"] or _MISSING, maximum=1024, hint=" (and config.n_heads is not set)")
        qkv_bias = bool(f.bool("qkvBias", _fallback(cfg["qkv_bias"], False)))
        is_rope = f.bool("isRoPE", None)
        if is_rope is None and grouped:
            self.note(seed_id, "isRoPE", "the original refused a GQ attention without isRoPE; this import turns "
                                         "RoPE on, as grouped-query attention models use it")
        data: dict[str, Any] = {
            "n_heads": heads or 1,
            "qkv_bias": qkv_bias,
            # The original’s multi-head attention gave its output projection a bias exactly when qkvBias was on;
            # its grouped-query attention never did.
            "out_bias": qkv_bias and not grouped,
            "dropout": f.float("dropoutRate", _fallback(cfg["drop_rate"], 0.0), 0.0, 1.0, high_open=True) or 0.0,
            "rope": bool(grouped if is_rope is None else is_rope) or self.rope_from is not None,
            "rope_base": f.float("ropeBase", _fallback(cfg["rope_base"], 10000.0), 1.0, 1e12) or 10000.0,
        }
        if self.relative_from is not None:
            data["position_bias"] = "t5"
        if self.rope_from is not None and is_rope is False:
            self.note(seed_id, "isRoPE", f"isRoPE is off, but the Rotary positional layer '{self.rope_from}' before "
                                         "it turns RoPE on here (the original built a learned table there and no "
                                         "RoPE)")
        if f.data.get("projBias") is not None and bool(f.data["projBias"]) != data["out_bias"]:
            self.note(seed_id, "projBias", f"the original ignored projBias; the output projection "
                                           f"{'has' if data['out_bias'] else 'has no'} bias, as it built it")
        head_dim = None
        if grouped:
            data["n_kv_heads"] = f.int("numKvGroups", cfg["n_kv_groups"], maximum=1024)
            qk_norm = bool(f.bool("qkNorm", _fallback(cfg["qk_norm"], False)))
            head_dim = f.int("headDim", cfg["head_dim"], maximum=4096)
            if head_dim is not None and not qk_norm:
                # The original passed headDim on only together with QK-norm; otherwise heads were width / numHeads.
                if heads and self.width and head_dim * heads != self.width:
                    self.note(seed_id, "headDim", f"the original used headDim only with qkNorm, so each head is "
                                                  f"{self.width // heads} wide here, not {head_dim}")
                head_dim = None
            data["head_dim"] = head_dim
            data["qk_norm"] = qk_norm
            data["qk_norm_eps"] = f.float("qkNormEps", _fallback(cfg["qk_norm_eps"], 1e-6), 0.0, 1.0,
                                          low_open=True) or 1e-6
            if qk_norm:
                data["qk_norm_order"] = "after_rope"  # the original normalised the rotated queries and keys
            scaling = self._rope_scaling(f, "ropeConfig") if f.data.get("ropeConfig") is not None \
                else cfg["rope_scaling"]
            if data["rope"]:
                data.update(scaling or {})
        if self._needs_activations(f):
            self._check_width(f, "inDim")
            self._check_attention_out(f, heads, head_dim)
        self._check_context(f)
        self._then(self._node(seed_id, ATTENTION, data, parent))

    def _check_attention_out(self, f: _Fields, heads: int | None, head_dim: int | None) -> None:
        """Our attention hands on the stream width; ``outDim`` may say that, or (with headDim) n_heads·head_dim."""
        out = f.int("outDim", None, maximum=1_048_576)
        if out is None or self.width is None or out == self.width:
            return
        if head_dim is not None and heads is not None and out == heads * head_dim:
            return  # the inner width, as grouped-query attention with an explicit head size names it
        f.fail("outDim", f"outDim is {out}, but the attention's input is {self.width} wide; an attention layer "
                         f"here returns the width it receives, so outDim must be {self.width}")

    def _feedForward(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        kind = f.text("feedForwardType", None)
        if kind is None:
            kind = "Standard"
            self.note(seed_id, "feedForwardType", "the original refused a feed-forward without feedForwardType; "
                                                  "this import reads it as Standard")
        act = f.text("actFunc", None)
        if act is None and kind is not None:
            act = "SwiGLU" if _words(kind) == "gated" else "GELU"
            self.note(seed_id, "actFunc", f"the original refused a feed-forward without actFunc; this import uses "
                                          f"{act}")
        activation = None
        if kind is not None and act is not None:
            k, a = _words(kind).replace(" ", ""), _words(act).replace(" ", "").replace("-", "")
            found = activation_from_seed(k, a)
            activation = found.name if found is not None else None
            if activation is None and k in ("standard", "gated") and a in SEED_ACTIVATIONS:
                f.fail("actFunc", f"a {k.capitalize()} feed-forward with {act} has no block in SLaM Dunk Lab; use "
                                  f"{_seed_pairs()}")
            elif activation is None and k not in ("standard", "gated"):
                f.fail("feedForwardType", f"feedForwardType must be 'Standard' or 'Gated', got {_show(kind)}")
            elif activation is None:
                f.fail("actFunc", f"actFunc must be {_or(list(SEED_ACTIVATIONS.values()))}, got {_show(act)}")
            elif self.as_run and (a == "mish" or (k == "standard" and ACTIVATIONS[activation].gated)):
                f.fail("actFunc", f"the original could not build a {kind} feed-forward with {act}, so it trained no "
                                  "such model")
            elif a == "mish":
                self.note(seed_id, "actFunc", "the original could not build Mish (it had no such activation); this "
                                              "import runs it")
            elif k == "standard" and ACTIVATIONS[activation].gated:
                self.note(seed_id, "feedForwardType", f"the original refused a Standard feed-forward with {act}; "
                                                      "this import builds the gated one the activation implies")
        width = self.width if self._needs_activations(f) else None
        self._check_width(f, "inDim")
        self._check_width(f, "outDim", "the stream it must hand back")
        hidden = f.int("hiddenDim", self.cfg["hidden_dim"] or (4 * width if width else _MISSING),
                       maximum=1_048_576, hint=" (and config.hidden_dim is not set)")
        gated = activation is not None and ACTIVATIONS[activation].gated
        bias = f.bool("bias", None)
        if bias is None:
            bias = not gated
            self.note(seed_id, "bias", f"the original refused a feed-forward without bias; this import uses "
                                       f"bias={str(bias).lower()}")
        data = {"activation": activation or "gelu", "hidden_dim": hidden or 1, "bias": bool(bias)}
        self._then(self._node(seed_id, FEED_FORWARD, data, parent))

    def _dropout(self, seed_id: str, f: _Fields, parent: str | None) -> None:
        p = f.float("dropoutRate", _fallback(self.cfg["drop_rate"], 0.1), 0.0, 1.0, high_open=True)
        self._needs_activations(f)
        self._then(self._node(seed_id, DROPOUT, {"p": p or 0.0}, parent))

    def _linear(self, seed_id: str, f: _Fields, parent: str | None, last: bool) -> None:
        vocab = (self.embedding or {}).get("vocab_size", self.cfg["vocab_size"])
        out = f.int("outDim", vocab if last and vocab else _MISSING, maximum=10_000_000)
        tie = f.bool("weightTying", False)
        bias = f.bool("bias", not last)
        if self._needs_activations(f):
            self._check_width(f, "inDim")
        if not last:
            if tie:
                f.fail("weightTying", "only the final linear layer (the LM head) can share the token embedding's "
                                      "weight")
            self._then(self._node(seed_id, LINEAR, {"out_features": out or 1, "bias": bool(bias)}, parent),
                       (out, seed_id))
            return
        if out is not None and vocab is not None and out != vocab:
            f.fail("outDim", f"the final linear layer outputs {out} scores per position, but the vocabulary has "
                             f"{vocab} tokens; set outDim to {vocab}")
        emb = self.embedding
        if tie and emb is not None and self.width is not None and emb["d_model"] != self.width:
            f.fail("weightTying", f"cannot tie weights: this layer reads a {self.width}-wide stream but the token "
                                  f"embedding is {emb['d_model']} wide")
        data = {"vocab_size": out or 1, "bias": bool(bias), "tie_weights": bool(tie)}
        self.head = self._node(seed_id, LM_HEAD, data, parent)
        self._then(self.head, (out, seed_id))

    def _residual(self, seed_id: str, f: _Fields, parent: str | None,
                  entered: dict[str, tuple[str, int | None, bool]], left: dict[str, tuple[str, int | None, bool]],
                  here: set[str]) -> None:
        if self.as_run and parent is not None:
            return  # the original's residuals inside a block handed their input on unchanged
        source = f.data.get("source")
        scope = "block" if parent is not None else "top level of the model"
        skip = None
        name, end = None, None
        if source is None:
            f.fail("source", "'source' is missing; name the earlier layer whose input this residual adds back")
        elif not isinstance(source, (str, int)) or isinstance(source, bool):
            f.fail("source", f"'source' must be a layer id, got {_show(source)}")
        else:
            name, end = residual_source(str(source), top_level=parent is None, ids=self.all_ids)
        if name is None:
            pass
        elif name == seed_id:
            f.fail("source", "a residual's source must be an earlier layer, not the residual itself")
        elif self.as_run and str(source).endswith(":out"):
            skip = (self.stream, self.width, self.is_ids)  # a key the original never stored: x + previous output
        elif name in entered:
            skip = (entered if end == "in" else left)[name]
        elif name in here:
            f.fail("source", f"source '{name}' comes after this residual; it must name an earlier layer in the "
                             f"same {scope}")
        elif name in self.all_ids:
            f.fail("source", f"source '{name}' is not in the same {scope}; a residual can only skip over layers "
                             "of its own block")
        else:
            f.fail("source", f"source '{name}' does not name any layer in the design")
        self._needs_activations(f)
        node = self._node(seed_id, ADD, {}, parent)
        what = "input" if end == "in" else "output"
        if parent is not None:
            self.block_residuals.append(seed_id)
        elif skip is not None and str(source).endswith(":out"):
            self.note(seed_id, "source", f"the original kept no value named {_show(str(source))} and so added the "
                                         f"stream to itself (x + x); this import adds the output of '{name}'")
        if skip is not None:
            value, width, is_ids = skip
            if is_ids:
                f.fail("source", f"the {what} of '{name}' is token ids, which cannot be added to activations")
            elif width is not None and self.width is not None and width != self.width:
                f.fail("source", f"the {what} of '{name}' is {width} wide but the stream here is {self.width} "
                                 "wide; a residual adds values of the same width")
            self._edge(value, node, "a")
        self._edge(self.stream, node, "b")
        self.stream = node

    def _block(self, seed_id: str, item: dict, f: _Fields, parent: str | None) -> None:
        if parent is not None:
            f.fail(None, "transformer blocks cannot be nested inside each other")
            return
        repeat = f.int("numOfBlocks", None, maximum=MAX_REPEAT)
        if repeat is None and f.data.get("numOfBlocks") is None:
            repeat = 1  # as the original: a block without numOfBlocks runs once
            if self.cfg["n_blocks"] not in (None, 1):
                self.note(seed_id, "numOfBlocks", f"numOfBlocks is missing, so the block runs once as in the "
                                                  f"original (config.n_blocks = {self.cfg['n_blocks']} is not used)")
        children = item.get("children")
        if not isinstance(children, list) or not children:
            f.fail("children", "a transformerBlock needs a non-empty list of children (its layers in order)")
            return
        group = self._node(seed_id, TRANSFORMER_BLOCK, {"repeat": repeat or 1, "share_weights": self.as_run})
        self.nodes[-1]["position"]["x"] = -40.0
        self.cy = 50.0
        width_in, ids_in = self.width, self.is_ids
        self.block_residuals = []
        self._walk(children, parent=group)
        if (repeat or 1) > 1 and not self.as_run:
            self.note(seed_id, "numOfBlocks", f"the original ran one set of this block's layers {repeat} times (the "
                                              f"same weights in every repeat); here each of the {repeat} repeats is "
                                              "a distinct layer with its own weights (sd.seed.load_model builds the "
                                              "shared version to open a model the original trained)")
        if self.block_residuals:
            names = ", ".join(f"'{r}'" for r in self.block_residuals)
            self.note(seed_id, "children", f"the original’s residuals inside a transformer block added nothing (the "
                                           f"block ran without skip connections); here {names} "
                                           f"{'is a real skip connection' if len(self.block_residuals) == 1 else 'are real skip connections'}")
        self.y += self.cy - STEP + 40.0
        if (repeat or 1) > 1 and not ids_in and None not in (width_in, self.width) and width_in != self.width:
            f.fail("numOfBlocks", f"a block repeated {repeat} times must keep its width, but it turns a "
                                  f"{width_in}-wide stream into a {self.width}-wide one")


def _or(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


def _seed_pairs() -> str:
    """The feed-forward types and activations the import accepts, as the original form names them."""
    by_kind: dict[str, list[str]] = {}
    for activation in ACTIVATIONS.values():
        for kind, act in activation.seed:
            by_kind.setdefault(kind, []).append(SEED_ACTIVATIONS.get(act, act))
    return ", or ".join(f"a {kind.capitalize()} feed-forward with {_or(acts)}" for kind, acts in by_kind.items())


def _fallback(value: Any, default: Any) -> Any:
    return default if value is None else value
