"""Small graph builders shared by the core tests."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest

import slamdunk_lab as sd

TEMPLATE_NAMES = ["gpt2", "llama2", "llama3", "qwen3", "smollm3"]

# Tiny Shakespeare (1,115,394 characters): the workspace's shared copy when there is one, else the copy the package
# ships (the same file), so the tests on the real corpus run on any clone
_SHARED_SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
SHAKESPEARE = (_SHARED_SHAKESPEARE if _SHARED_SHAKESPEARE.is_file()
               else Path(sd.__file__).resolve().parent / "datasets" / "tinyshakespeare.txt")


def node(graph: dict, node_id: str) -> dict:
    return next(n for n in graph["nodes"] if n["id"] == node_id)


def edited(graph: dict, node_id: str, **data) -> dict:
    g = copy.deepcopy(graph)
    node(g, node_id)["data"].update(data)
    return g


def chain(*blocks: tuple[str, dict], vocab: int = 50, context: int = 16, d_model: int = 16,
          tie: bool = False) -> dict:
    """tokens → token embedding → blocks… → LM head → logits, as a v1 graph."""
    nodes = [{"id": "tokens", "type": "tokens", "position": {"x": 0, "y": 0}, "data": {"context": context}},
             {"id": "emb", "type": "tokenEmbedding", "position": {"x": 0, "y": 100},
              "data": {"vocab_size": vocab, "d_model": d_model}}]
    for i, (type_, data) in enumerate(blocks):
        nodes.append({"id": f"b{i}", "type": type_, "position": {"x": 0, "y": 200 + 100 * i}, "data": data})
    nodes += [{"id": "head", "type": "lmHead", "position": {"x": 0, "y": 900},
               "data": {"vocab_size": vocab, "tie_weights": tie}},
              {"id": "logits", "type": "logits", "position": {"x": 0, "y": 1000}, "data": {}}]
    ids = [n["id"] for n in nodes]
    edges = [{"id": f"e{i}", "source": a, "target": b} for i, (a, b) in enumerate(itertools.pairwise(ids))]
    return {"version": 1, "nodes": nodes, "edges": edges}


def errors_of(graph, **kwargs) -> list:
    return sd.analyze(graph, **kwargs).errors


def isolate_training(mp: pytest.MonkeyPatch, root: Path, mlflow: bool = False) -> None:
    """Point runs, token caches (and optionally MLflow) into ``root``; let the run mode follow the defaults."""
    mp.setenv("SLAMDUNK_RUNS_DIR", str(root / "runs"))
    mp.setenv("SLAMDUNK_CACHE_DIR", str(root / "cache"))
    if mlflow:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.delenv("SLAMDUNK_BACKGROUND", raising=False)


# short headless training runs: no evaluation, samples, checkpoints, MLflow or progress bar
QUIET_RUN = {"batch_size": 8, "context": 32, "warmup": 5, "eval_every": 0, "sample_every": 0, "checkpoint_every": 0,
             "mlflow": False, "progress": False}


def tiny_gpt2(tok, **over) -> dict:
    """The training tests' design: GPT-2 with 2 layers, width 32, 2 heads, context 32, for ``tok``'s vocabulary."""
    return sd.template("gpt2", size="tiny", **{"n_layer": 2, "d_model": 32, "n_head": 2, "context": 32,
                                               "vocab_size": tok.vocab_size, **over})


def sentencepiece_tokenizer(folder):
    """A Llama/SentencePiece-style tokenizer.json (Metaspace), built here: its decoder drops the space that
    starts the first token of a text, so decoding only the new tokens would glue them to the prompt."""
    hft = pytest.importorskip("tokenizers")
    from slamdunk_lab import tokenizers
    backend = hft.Tokenizer(hft.models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = hft.pre_tokenizers.Metaspace()
    backend.decoder = hft.decoders.Metaspace()
    trainer = hft.trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>"], show_progress=False)
    backend.train_from_iterator(["hello world the cat sat on the mat"] * 50, trainer=trainer)
    backend.save(str(folder / "tokenizer.json"))
    return tokenizers.hf(folder / "tokenizer.json")


def harness(type_: str, data: dict) -> dict:
    """A small valid design that exercises one block with the given settings (a catalogue example).

    Op blocks sit between a 16-wide token embedding of a 50-token vocabulary and the LM head; the token input,
    the token embedding and the transformer block take the example's settings in their own place.
    """
    from slamdunk_lab.blocks import BLOCKS

    spec = BLOCKS[type_]
    if spec.role == "source":
        return chain(context=data.get("context", 16))
    if spec.role == "sink":
        return chain()
    if spec.reads == "ids":
        g = chain()
        node(g, "emb")["data"] = dict(data)
        node(g, "head")["data"]["vocab_size"] = data.get("vocab_size", 50)
        return g
    if spec.role == "group":  # one pre-norm attention layer, repeated
        g = chain(("rmsNorm", {}), ("attention", {"n_heads": 2}), ("add", {}))
        g["nodes"].insert(2, {"id": "grp", "type": type_, "position": {"x": 0, "y": 0}, "data": dict(data)})
        for n in g["nodes"]:
            if n["id"] in ("b0", "b1", "b2"):
                n["parentId"] = "grp"
        _residual(g, "emb", "b2")
        return g
    if spec.role == "residual":  # x + norm(x)
        g = chain(("rmsNorm", {}), (type_, dict(data)))
        _residual(g, "emb", "b1")
        return g
    return chain((type_, dict(data)))


def _residual(g: dict, stream: str, add: str) -> None:
    """Send ``stream`` into the add node's first input; the chain's edge feeds its second."""
    for e in g["edges"]:
        if e["target"] == add:
            e["targetHandle"] = "b"
    g["edges"].append({"id": f"skip-{add}", "source": stream, "target": add, "targetHandle": "a"})
