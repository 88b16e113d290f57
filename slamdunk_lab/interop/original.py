"""``sd.seed``: everything a student of the original web project brings along — designs, training settings and
the models it trained.

* :func:`from_seed` (also ``sd.graph.from_seed``): a request body, or the saved canvas, as our graph;
  ``report=True`` adds the notes on where our model differs from what the original built.
* :func:`train_args`: the payload's ``config`` (epochs, batch size, stride, context, dtype, learning rate, dataset,
  model type) as ``sd.train`` arguments: ``sd.train(**sd.seed.train_args(payload))``.
* :func:`tokenizer`: the tokenizer the original used for ``config.model``.
* :func:`load_model`: a ``completed/<name>.pt`` file the original trained, opened with
  ``torch.load(weights_only=True)`` only, as the model the original really ran (:func:`as_run`), with its
  weights; its logits equal the original's forward pass.

The original trained with Adam at a constant learning rate of 5e-3, split each text 80/20 into training and
validation, and cut ``epochs`` passes of windows ``stride`` tokens apart; here ``epochs`` and ``stride`` become a
number of steps over the same data (``sd.train`` accepts them itself).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import GraphError, GraphIssue, ModelFileError
from .seed import as_run, canvas_to_payload, from_seed, is_canvas_state

__all__ = ["DATASETS", "TOKENIZER_FILES", "as_run", "canvas_to_payload", "epochs_to_steps", "from_seed",
           "load_model", "payload_of", "tokenizer", "train_args"]

#: The original's dataset ids (its dataset page's ``path``) → our named sets (``sd.data.load``).
DATASETS = {
    "tiny_shakespeare": "tiny_shakespeare", "karpathy/tiny_shakespeare": "tiny_shakespeare",
    "roneneldan/TinyStories": "TinyStories", "TinyStories": "TinyStories",
    "mychen76/openwebtext-100k": "openwebtext-100k", "Elriggs/openwebtext-100k": "openwebtext-100k",
    "openwebtext-100k": "openwebtext-100k",
    "allenai/c4": "c4", "c4": "c4",
}

#: The tokenizer file each ``config.model`` needs (the original kept them in ``backend/tasks/files/``); GPT-2 uses
#: tiktoken's ``gpt2`` encoding. The original read Llama 2's as a SentencePiece ``.model``: here its Hugging Face
#: ``tokenizer.json`` form, under this name, is needed.
TOKENIZER_FILES = {"llama2": "llama2-tokenizer.json", "llama3": "llama3-tokenizer.json",
                   "qwen3": "qwen3-tokenizer.json", "smollm3": "smollm3-tokenizer.json"}

_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "float32": "float32", "bfloat16": "bfloat16"}
#: The largest ``completed/*.pt`` file opened (a 7B model in bf16 is about 13.5 GB).
MAX_FILE_BYTES = 64 * 2**30


def payload_of(payload: Any) -> dict:
    """The request body for ``payload``: a dict, its JSON text, a path to a ``.json`` file, or the saved canvas."""
    import json

    if isinstance(payload, os.PathLike) or (isinstance(payload, str) and payload.strip().endswith(".json")
                                            and not payload.lstrip().startswith("{")):
        path = Path(payload)
        if not path.is_file():
            raise FileNotFoundError(f"no such design file: {str(path)!r}")
        payload = path.read_text(encoding="utf-8")
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise GraphError(f"the seed design is not valid JSON: {exc}") from None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict) and "type" not in payload[0]:
        payload = {"config": payload[0], "model": payload[1:]}  # the original's temp_structures/<name>.json
    if not isinstance(payload, dict):
        raise GraphError(f"a seed design must be an object with 'config' and 'model', got {type(payload).__name__}")
    if is_canvas_state(payload):
        payload = canvas_to_payload(payload)
    return payload


def _model_type(config: dict) -> str:
    from .seed import _MODEL_ALIASES, MODEL_TYPES

    raw = config.get("model")
    if not isinstance(raw, str):
        raise GraphError(GraphIssue(None, "config.model", "config.model is missing: it names the tokenizer "
                                                          f"({', '.join(MODEL_TYPES)})"))
    key = _MODEL_ALIASES.get(raw.strip().lower(), raw.strip().lower())
    if key not in MODEL_TYPES:
        raise GraphError(GraphIssue(None, "config.model", f"config.model must be one of {', '.join(MODEL_TYPES)}, "
                                                          f"got {raw!r}"))
    return key


def tokenizer(payload: Any, files: str | os.PathLike | None = None):
    """The tokenizer the original used for the payload's ``config.model``.

    GPT-2: tiktoken's ``gpt2`` encoding. Llama 2, Llama 3, Qwen3, SmolLM3: the Hugging Face ``tokenizer.json``
    named in :data:`TOKENIZER_FILES`, read from ``files`` (a folder; default ``$SLAMDUNK_SEED_TOKENIZERS``, else
    ``./files``). A file that is not there is an error naming it: nothing is downloaded.
    """
    from .. import tokenizers

    config = payload_of(payload).get("config") or {}
    kind = _model_type(config)
    if kind == "gpt-2":
        return tokenizers.tiktoken("gpt2")
    folder = Path(files if files is not None else os.environ.get("SLAMDUNK_SEED_TOKENIZERS", "files")).expanduser()
    path = folder / TOKENIZER_FILES[kind]
    if not path.is_file():
        raise FileNotFoundError(
            f"config.model is {config.get('model')!r}, whose tokenizer is the file {TOKENIZER_FILES[kind]!r}, and it "
            f"is not at {str(path)!r}; copy it from the original project's backend/tasks/files/ (or the model's "
            f"tokenizer.json) and pass files='<folder>' (nothing is downloaded)")
    return tokenizers.hf(path)


def train_args(payload: Any, files: str | os.PathLike | None = None, load_data: bool = True) -> dict:
    """``sd.train`` arguments for the original's payload: ``sd.train(**sd.seed.train_args(payload))``.

    Returns a dict with ``g_or_model`` (the imported graph, named after ``modelName``), ``corpus`` (its
    ``dataset`` as our named set, loaded; ``load_data=False``: the set's name), ``tok`` (:func:`tokenizer`),
    ``epochs``, ``stride``, ``batch_size``, ``context`` (``config.context_length``), ``dtype`` (fp32 →
    float32, bf16 → bfloat16), ``lr`` when the config has one (``lr`` or ``learning_rate``) and ``name``.
    ``epochs`` and ``stride`` become a number of steps over the chosen data inside ``sd.train``.
    """
    from .. import data
    from .seed import _Fields

    body = payload_of(payload)
    config = body.get("config") or {}
    errors: list[GraphIssue] = []
    c = _Fields(errors, None, config, prefix="config.")
    args: dict[str, Any] = {"g_or_model": from_seed(body)}
    epochs = c.int("epochs", 1, maximum=1_000_000)
    batch = c.int("batch_size", None, maximum=1_000_000)
    context = c.int("context_length", None, maximum=1_048_576)
    stride = c.int("stride", None, maximum=1_048_576)
    lr = c.float("lr", None, 0.0, 10.0, low_open=True) if "lr" in config else \
        c.float("learning_rate", None, 0.0, 10.0, low_open=True)
    dtype = config.get("dtype")
    if dtype is not None and _DTYPES.get(str(dtype).lower()) is None:
        c.fail("dtype", f"config.dtype {dtype!r} cannot train here; use fp32 or bf16 (fp16 training is not "
                        "supported)")
    dataset = body.get("dataset", "tiny_shakespeare")
    if dataset not in DATASETS:
        errors.append(GraphIssue(None, "dataset", f"dataset {dataset!r} is none of the original's sets "
                                                  f"({', '.join(sorted(k for k in DATASETS if '/' in k))}, "
                                                  "tiny_shakespeare)"))
    if errors:
        raise GraphError(errors)
    args["epochs"] = epochs
    if batch is not None:
        args["batch_size"] = batch
    if context is not None:
        args["context"] = context
    if stride is not None:
        args["stride"] = stride
    if dtype is not None:
        args["dtype"] = _DTYPES[str(dtype).lower()]
    if lr is not None:
        args["lr"] = lr
    name = body.get("modelName")
    if isinstance(name, str) and name.strip():
        args["name"] = name.strip()[:200]
    args["tok"] = tokenizer(body, files)
    args["corpus"] = data.load(DATASETS[dataset]) if load_data else DATASETS[dataset]
    return args


def epochs_to_steps(train_tokens: int, context: int, stride: int, batch_size: int, epochs: int) -> int:
    """Steps for ``epochs`` passes over ``train_tokens`` tokens cut into windows of ``context`` tokens ``stride``
    apart, ``batch_size`` windows a step (the original's data loader: ⌊(tokens − context) / stride⌋ windows,
    the last incomplete batch dropped); at least 1.

    >>> epochs_to_steps(10_000, context=64, stride=64, batch_size=8, epochs=3)
    57
    """
    windows = max(0, (int(train_tokens) - int(context)) // int(stride))
    return max(1, int(epochs) * (windows // int(batch_size)))


# --------------------------------------------------------------------------------------------- trained models
def _read_file(path: Path) -> Any:
    import torch

    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {str(path)!r}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{path.name} is {size / 2**30:.1f} GiB, more than the {MAX_FILE_BYTES / 2**30:.0f} "
                             f"GiB a trained model of the original can be")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - the safe loader refusing (UnpicklingError) or a damaged file
        raise ModelFileError(
            f"{path.name} cannot be opened as plain weights (torch.load(weights_only=True): {str(exc)[:200]}); "
            "a file that needs a full unpickle could run any code, so it is refused") from None


def _origin_tensors(state: dict, prefix: str) -> dict:
    """The tensors of the original's layer at ``prefix`` (``layers.3`` or ``layers.2.sequence.1``), by name."""
    return {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}


#: Buffers the original's attention saved with its weights (its causal mask and RoPE tables): recomputed here.
_BUFFERS = ("mask", "cos", "sin")


def load_model(pt_file: str | os.PathLike, payload: Any = None, dtype: str | None = None):
    """Open a model the original trained (``completed/<name>.pt``) as the model it really ran.

    The file is read with ``torch.load(weights_only=True)`` only: a file that needs a full unpickle is refused,
    naming it. It holds the original's bundle (``layers``, ``config``, ``state_dict``) or a bare state dict; then
    ``payload`` (the request body it was trained from, or its saved canvas) is required, and when given it is
    used in any case. The model is built with :func:`as_run` — one set of block weights looped ``numOfBlocks``
    times, no residuals inside blocks, learned positions, as the original ran it — and every tensor is copied
    in; a missing, extra or misshapen tensor is an error naming it. ``dtype``: ``"float32"``, ``"bfloat16"`` or
    ``"float16"`` (default: the dtype the file's tensors were saved in).

    >>> model = sd.seed.load_model("completed/ex1.pt")                   # doctest: +SKIP
    >>> sd.generate(model, sd.seed.tokenizer(payload), "Hello", include_prompt=True)  # doctest: +SKIP
    """
    import torch

    from ..model import build, module_name

    path = Path(pt_file).expanduser()
    loaded = _read_file(path)
    config: dict = {}
    layers = None
    if isinstance(loaded, dict) and "state_dict" in loaded:
        state, layers, config = loaded["state_dict"], loaded.get("layers"), loaded.get("config") or {}
    else:
        state = loaded
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ModelFileError(f"{path.name} holds no state dict of tensors")
    if payload is not None:
        body = payload_of(payload)
    elif layers:
        body = {"config": config, "model": layers}
    else:
        raise ModelFileError(f"{path.name} holds weights only; pass payload= (the design it was trained from)")
    config = {**config, **(body.get("config") or {})}
    graph, origin = as_run(body, origins=True)
    stored = next((v.dtype for v in state.values() if v.is_floating_point()), torch.float32)
    chosen = dtype or {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(stored, "float32")
    model = build(graph, dtype=chosen, max_params=None)
    taken: set[str] = set()
    names = {n["id"]: module_name(n["id"], taken) for n in model.graph["nodes"]}
    parents = {n["id"]: n.get("parentId") for n in model.graph["nodes"]}
    types = {n["id"]: n["type"] for n in model.graph["nodes"]}
    used: set[str] = set()
    filled: set[int] = set()
    with torch.no_grad():
        for node_id, (prefix, seed_type) in origin.items():
            if parents[node_id] is not None:  # inside a shared block: its one layer holds the module
                module = getattr(getattr(model, names[parents[node_id]])[0], names[node_id])
            else:
                module = getattr(model, names[node_id])
            theirs = _origin_tensors(state, prefix)
            for ours, value in _mapped(seed_type, types[node_id], theirs, path.name, prefix).items():
                try:
                    target = module.get_parameter(ours)
                except AttributeError:
                    raise ModelFileError(f"{path.name}: {prefix} has a tensor for {ours} that the design does not "
                                         "make; the payload is not the design this file was trained from") from None
                if tuple(target.shape) != tuple(value.shape):
                    raise ModelFileError(f"{path.name}: {prefix} has {ours} of shape {tuple(value.shape)}, but the "
                                         f"design makes it {tuple(target.shape)}; the payload is not the design "
                                         "this file was trained from")
                target.copy_(value.to(target.dtype))
                filled.add(id(target))
            used.update(f"{prefix}.{key}" for key in theirs if key in _consumed(seed_type, types[node_id], theirs))
    model.tie_weights()
    missing = [name for name, p in model.named_parameters() if id(p) not in filled]
    extra = sorted(k for k in state if k not in used)
    if missing or extra:
        raise ModelFileError(f"{path.name} does not match the design: " + "; ".join(
            ([f"no tensor for {', '.join(missing[:5])}"] if missing else []) +
            ([f"unexpected {', '.join(extra[:5])}"] if extra else [])))
    return model.eval()


#: The original's parameter names → ours, per (seed type, our block type).
_NAMES = {
    "tokenEmbedding": {"embedding.weight": "weight"},
    "positionalEmbedding": {"position_embeddings.weight": "weight"},
    "layerNorm": {"scale": "weight", "shift": "bias"},
    "rmsNorm": {"scale": "weight"},
    "mhAttention": {"qkv.weight": "qkv_proj.weight", "qkv.bias": "qkv_proj.bias", "proj.weight": "out_proj.weight",
                    "proj.bias": "out_proj.bias"},
    "gqAttention": {"out_proj.weight": "out_proj.weight", "out_proj.bias": "out_proj.bias",
                    "q_norm.scale": "q_norm.weight", "k_norm.scale": "k_norm.weight"},
    "gated": {"fc1.weight": "gate_proj.weight", "fc1.bias": "gate_proj.bias", "fc2.weight": "up_proj.weight",
              "fc2.bias": "up_proj.bias", "fc3.weight": "down_proj.weight", "fc3.bias": "down_proj.bias"},
    "standard": {"fc_in.weight": "fc_in.weight", "fc_in.bias": "fc_in.bias", "fc_out.weight": "fc_out.weight",
                 "fc_out.bias": "fc_out.bias"},
    "linear": {"weight": "weight", "bias": "bias"},
}


def _consumed(seed_type: str, our_type: str, theirs: dict) -> set[str]:
    """The original's tensor names of one layer that :func:`_mapped` reads, and its recomputed buffers."""
    if seed_type == "normalization":
        table = _NAMES[our_type]
    elif seed_type == "feedForward":
        table = {**_NAMES["gated"], **_NAMES["standard"]}
    else:
        table = _NAMES.get(seed_type, {})
    qkv = {f"W_{w}.{k}" for w in ("query", "key", "value") for k in ("weight", "bias")} \
        if seed_type == "gqAttention" else set()
    buffers = set(_BUFFERS) if seed_type in ("mhAttention", "gqAttention") else set()
    return (set(table) | qkv | buffers) & set(theirs)


def _mapped(seed_type: str, our_type: str, theirs: dict, file: str, prefix: str) -> dict:
    """Our parameter name → tensor for one layer's tensors in the original's names."""
    import torch

    if seed_type == "normalization":
        table = _NAMES[our_type]
    elif seed_type == "feedForward":
        table = _NAMES["gated" if "fc1.weight" in theirs else "standard"]
    else:
        table = _NAMES.get(seed_type, {})
    out = {table[k]: v for k, v in theirs.items() if k in table}
    if seed_type == "gqAttention":  # separate query, key and value matrices → our one qkv projection
        for kind in ("weight", "bias"):
            parts = [theirs[f"W_{w}.{kind}"] for w in ("query", "key", "value") if f"W_{w}.{kind}" in theirs]
            if len(parts) == 3:
                out[f"qkv_proj.{kind}"] = torch.cat(parts, dim=0)
            elif parts:
                raise ModelFileError(f"{file}: {prefix} has some but not all of W_query/W_key/W_value.{kind}")
    return out
