"""Checks a teacher reuses to grade designs, models and runs (``sd.check``): each returns a :class:`Result`
with points and a sentence a student understands.

>>> import slamdunk_lab as sd
>>> g = sd.template("llama3", size="tiny", n_layer=2)
>>> print(sd.check.attention(g, n_kv_heads=2))
✔ 1/1 attention: every attention block has 4 query heads sharing 2 key/value heads (grouped-query attention).
>>> sd.check.max_params(g, 100_000).passed
False

A check never trusts a number the student reports. Design checks rebuild the model from the graph (on torch's
``meta`` device: no memory, any size) and read the built modules; training checks train a fresh copy of the
design with a fixed seed, inside a time limit, and measure the loss themselves on held-out text with a fixed
seed; a model's loss is measured again, never read from its run.

In an nbgrader autograder cell, ``.require()`` turns a failed check into an ``AssertionError`` carrying the
message (nbgrader then gives the cell zero points and shows the message)::

    sd.check.attention(canvas, n_kv_heads=2).require()

``sd.check.set_language("ko")`` writes the messages in Korean (``"en"`` is the default).

A design is anything that holds a graph: a graph dict, a canvas, a model from ``sd.build``, or the path of a
design file (``.json``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import Analysis, analyze
from .errors import GraphError

__all__ = [
    "CheckFailed", "Report", "Result", "answer", "attention", "builds", "evaluates_to", "feed_forward",
    "held_out_loss", "kv_cache_bytes", "layers", "locked_unchanged", "max_params", "norms", "positions", "report",
    "residuals",
    "round_trips", "same_logits", "set_language", "trains_to",
]

LANGUAGES = ("en", "ko")
_language = "en"


def set_language(language: str) -> None:
    """Write the messages of the checks that follow in ``"en"`` (English) or ``"ko"`` (Korean)."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, got {language!r}")
    _language = language


def _t(en: str, ko: str) -> str:
    """The sentence in the language chosen by :func:`set_language`."""
    return ko if _language == "ko" else en


# ---------------------------------------------------------------------------------------------- results
class CheckFailed(AssertionError):
    """A check that did not pass, raised by :meth:`Result.require`; ``result`` is the :class:`Result`."""

    def __init__(self, result: Result):
        super().__init__(result.message)
        self.result = result


@dataclass(frozen=True)
class Result:
    """What a check found: ``passed``, ``points`` out of ``max_points``, and a ``message`` for the student.
    ``details`` holds the measured numbers (a loss, a parameter count) for a teacher's own report."""

    check: str
    passed: bool
    points: float
    max_points: float
    message: str
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✔' if self.passed else '✘'} {self.points:g}/{self.max_points:g} {self.check}: {self.message}"

    __repr__ = __str__

    def require(self) -> Result:
        """Raise :class:`CheckFailed` (an ``AssertionError``) with the message unless the check passed;
        returns the result when it did (for autograder cells)."""
        if not self.passed:
            raise CheckFailed(self)
        return self

    def to_json(self) -> dict:
        return {"check": self.check, "passed": self.passed, "points": self.points, "max_points": self.max_points,
                "message": self.message, "details": self.details}


@dataclass(frozen=True)
class Report:
    """Several results together: ``points`` of ``max_points``, one line per check."""

    results: tuple[Result, ...]

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        total = _t("total", "합계")
        return "\n".join([*map(str, self.results), f"{total}: {self.points:g}/{self.max_points:g}"])

    __repr__ = __str__

    def require(self) -> Report:
        """Raise :class:`CheckFailed` naming every failed check unless all passed."""
        failed = [r for r in self.results if not r.passed]
        if failed:
            joined = Result("report", False, self.points, self.max_points,
                            "\n".join(f"{r.check}: {r.message}" for r in failed))
            raise CheckFailed(joined)
        return self


def report(*results: Result | Iterable[Result]) -> Report:
    """The results of several checks as one :class:`Report` (``print(report)`` lists them with a total)."""
    flat: list[Result] = []
    for r in results:
        flat.extend([r] if isinstance(r, Result) else r)
    return Report(tuple(flat))


def _result(check: str, passed: bool, points: float, message: str, **details: Any) -> Result:
    return Result(check, bool(passed), float(points) if passed else 0.0, float(points), message, details)


# ---------------------------------------------------------------------------------------------- designs
def design_graph(design: Any) -> dict:
    """The graph a design holds: a graph dict, anything with a ``.graph`` dict (a canvas, a built model) or
    the path of a design file (``.json``). A copy: the check never changes the student's design."""
    if isinstance(design, (str, os.PathLike)) and not isinstance(design, bytes):
        path = Path(design).expanduser()
        if not path.is_file():
            raise FileNotFoundError(_t(f"no design file at '{path}'", f"'{path}'에 설계 파일이 없습니다"))
        if path.stat().st_size > 64 * 2**20:
            raise ValueError(_t(f"'{path.name}' is larger than 64 MB: not a design file",
                                f"'{path.name}'은(는) 64 MB보다 커서 설계 파일이 아닙니다"))
        raw = json.loads(path.read_text(encoding="utf-8"))
        design = raw["graph"] if isinstance(raw, dict) and isinstance(raw.get("graph"), dict) else raw
    graph = getattr(design, "graph", design)
    if not isinstance(graph, dict):
        raise TypeError(_t(f"a design is a graph dict, a canvas, a model or a design file; got "
                           f"{type(design).__name__}",
                           f"설계는 그래프 dict, 캔버스, 모델 또는 설계 파일이어야 합니다. 받은 것: "
                           f"{type(design).__name__}"))
    return copy.deepcopy(graph)


@dataclass
class _Design:
    """A design read for grading: the canonical graph (defaults filled in) and the model built from it."""

    graph: dict
    analysis: Analysis
    nodes: dict[str, dict]

    def of_type(self, *types: str) -> list[dict]:
        return [n for n in self.graph["nodes"] if n["type"] in types]

    def sources(self, node_id: str, handle: str | None = None) -> list[str]:
        return [e["source"] for e in self.graph["edges"]
                if e["target"] == node_id and (handle is None or (e.get("targetHandle") or "in") == handle)]

    def targets(self, node_id: str) -> list[str]:
        return [e["target"] for e in self.graph["edges"] if e["source"] == node_id]

    def meta_model(self) -> Any:
        """The model built on torch's meta device: its modules and shapes, no memory."""
        from .model import build

        return build(self.analysis, device="meta")


def _read(design: Any, check: str, points: float) -> _Design | Result:
    """The design, or a failed result saying why it cannot be graded (it does not build)."""
    try:
        graph = design_graph(design)
    except (TypeError, ValueError, OSError) as exc:
        return _result(check, False, points, str(exc))
    result = analyze(graph)
    if not result.ok:
        problems = "; ".join(str(e) for e in result.errors[:3])
        more = len(result.errors) - 3
        extra = _t(f" (and {more} more)", f" (외 {more}개)") if more > 0 else ""
        return _result(check, False, points, _t(f"the design does not build: {problems}{extra}",
                                                f"설계를 만들 수 없습니다: {problems}{extra}"),
                       errors=[str(e) for e in result.errors])
    canonical = result.graph
    return _Design(canonical, result, {n["id"]: n for n in canonical["nodes"]})


def builds(design: Any, points: float = 1) -> Result:
    """The design builds into a model whose forward pass gives finite logits of the right shape (built with a
    fixed seed, run on a short sequence)."""
    d = _read(design, "builds", points)
    if isinstance(d, Result):
        return d
    import torch

    from .model import build

    if d.analysis.params > 50_000_000:
        return _result("builds", False, points, _t(
            f"the design has {d.analysis.params:,} parameters; grading builds at most 50 M",
            f"설계의 파라미터가 {d.analysis.params:,}개입니다. 채점은 5천만 개까지만 만듭니다"))
    with _fixed_seed(0), _quiet():
        model = build(d.analysis).eval()
        T = min(8, model.context)
        ids = torch.randint(0, model.vocab_size, (2, T), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            logits = model(ids)
    shape = tuple(logits.shape)
    if shape != (2, T, model.vocab_size) or not bool(torch.isfinite(logits).all()):
        return _result("builds", False, points, _t(
            f"the model builds, but its logits have shape {shape} or are not finite",
            f"모델은 만들어지지만 로짓의 모양이 {shape}이거나 유한하지 않습니다"), shape=shape)
    return _result("builds", True, points, _t(
        f"the design builds: {d.analysis.params:,} parameters, {d.analysis.n_layers} layers",
        f"설계가 만들어집니다: 파라미터 {d.analysis.params:,}개, {d.analysis.n_layers}개 층"),
        params=d.analysis.params, layers=d.analysis.n_layers)


def max_params(design: Any, limit: int, points: float = 1) -> Result:
    """At most ``limit`` parameters, counted on the model built from the graph (tied weights once)."""
    d = _read(design, "max_params", points)
    if isinstance(d, Result):
        return d
    n = _count_params(d)
    ok = n <= limit
    return _result("max_params", ok, points, _t(
        f"{n:,} parameters, {'within' if ok else 'more than'} the limit of {limit:,}",
        f"파라미터 {n:,}개로 한도 {limit:,}개{'를 지킵니다' if ok else '를 넘습니다'}"), params=n, limit=limit)


def _count_params(d: _Design) -> int:
    with _quiet():
        model = d.meta_model()
    return sum(p.numel() for p in model.parameters())


def layers(design: Any, n: int, points: float = 1) -> Result:
    """The model runs ``n`` transformer layers (repeats counted), as built."""
    d = _read(design, "layers", points)
    if isinstance(d, Result):
        return d
    with _quiet():
        found = len(d.meta_model()._cache_shapes)
    return _result("layers", found == n, points, _t(f"the model has {found} attention layers (asked: {n})",
                                                    f"모델의 어텐션 층은 {found}개입니다 (요구: {n}개)"),
                   layers=found)


_KINDS = {"mha": "multi-head", "gqa": "grouped-query", "mqa": "multi-query"}
_KINDS_KO = {"mha": "멀티헤드", "gqa": "그룹 쿼리", "mqa": "멀티쿼리"}


def attention(design: Any, kind: str | None = None, n_heads: int | None = None, n_kv_heads: int | None = None,
              points: float = 1) -> Result:
    """Every attention block has ``n_heads`` query heads and ``n_kv_heads`` key/value heads, and/or is of
    ``kind``: ``"mha"`` (as many key/value heads as query heads), ``"gqa"`` (fewer, more than one) or ``"mqa"``
    (one). Read from the built modules (what the KV cache keeps), not from the numbers typed in."""
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    d = _read(design, "attention", points)
    if isinstance(d, Result):
        return d
    with _quiet():
        model = d.meta_model()
    calls = model._attention_calls()
    if not calls:
        return _result("attention", False, points, _t("the design has no attention block",
                                                      "설계에 어텐션 블록이 없습니다"))
    shapes = sorted({(m.n_heads, m.n_kv_heads) for m in calls})
    wrong = []
    for h, kv in shapes:
        found = "mha" if kv == h else "mqa" if kv == 1 else "gqa"
        if (kind and found != kind) or (n_heads and h != n_heads) or (n_kv_heads and kv != n_kv_heads):
            wrong.append((h, kv, found))
    h, kv = shapes[0]
    found = "mha" if kv == h else "mqa" if kv == 1 else "gqa"
    if not wrong and len(shapes) == 1:
        return _result("attention", True, points, _t(
            f"every attention block has {h} query heads sharing {kv} key/value heads ({_KINDS[found]} attention).",
            f"모든 어텐션 블록이 쿼리 헤드 {h}개와 키/값 헤드 {kv}개를 씁니다 ({_KINDS_KO[found]} 어텐션)."),
            heads=h, kv_heads=kv, kind=found)
    wanted = _wanted_attention(kind, n_heads, n_kv_heads)
    seen = ", ".join(_t(f"{a} query / {b} key-value heads", f"쿼리 {a}개 / 키·값 {b}개") for a, b in shapes)
    return _result("attention", False, points, _t(f"expected {wanted}; the model has {seen}",
                                                  f"기대한 것: {wanted}. 모델: {seen}"),
                   shapes=shapes)


def _wanted_attention(kind: str | None, n_heads: int | None, n_kv_heads: int | None) -> str:
    parts = []
    if kind:
        parts.append(_t(f"{_KINDS[kind]} attention", f"{_KINDS_KO[kind]} 어텐션"))
    if n_heads:
        parts.append(_t(f"{n_heads} query heads", f"쿼리 헤드 {n_heads}개"))
    if n_kv_heads:
        parts.append(_t(f"{n_kv_heads} key/value heads", f"키/값 헤드 {n_kv_heads}개"))
    return ", ".join(parts) or _t("attention", "어텐션")


def kv_cache_bytes(design: Any, context: int | None = None, batch_size: int = 1, dtype: str = "float32") -> int:
    """Bytes the KV cache of ``design`` takes for ``batch_size`` sequences of ``context`` tokens (default: the
    model's context): keys and values of every attention call, as the built model allocates them."""
    d = _read(design, "kv_cache_bytes", 0)
    if isinstance(d, Result):
        raise GraphError(d.message)
    with _quiet():
        model = d.meta_model()
    T = context or model.context
    size = {"float32": 4, "bfloat16": 2, "float16": 2}[dtype]
    return sum(2 * batch_size * kv * hd * T * size for kv, hd in model._cache_shapes)


def positions(design: Any, kind: str, points: float = 1) -> Result:
    """Where the model gets word order from: ``"learned"`` or ``"sinusoidal"`` (a positional embedding),
    ``"rope"`` (rotary attention), ``"none"`` (nothing: attention alone, with the causal mask)."""
    d = _read(design, "positions", points)
    if isinstance(d, Result):
        return d
    found = _position_kinds(d)
    shown = ", ".join(sorted(found)) or "none"
    ok = found == set() if kind == "none" else kind in found
    return _result("positions", ok, points, _t(f"the model's positions: {shown} (asked: {kind})",
                                               f"모델의 위치 정보: {shown} (요구: {kind})"), found=sorted(found))


def _position_kinds(d: _Design) -> set[str]:
    found = {n["data"].get("kind") for n in d.of_type("positionalEmbedding")}
    for n in d.of_type("attention"):
        if n["data"].get("rope"):
            found.add("rope")
        bias = n["data"].get("position_bias")
        if bias and bias != "none":
            found.add(str(bias))
    return {k for k in found if k and k != "none"}


def norms(design: Any, kind: str | None = None, placement: str | None = None, points: float = 1) -> Result:
    """The blocks' norms are of ``kind`` (``"layerNorm"`` or ``"rmsNorm"``) and sit ``placement``: ``"pre"``
    (each attention and feed-forward reads a norm of the stream; the residual stream itself is never
    normalised until the end) or ``"post"`` (each residual add is followed by a norm)."""
    if placement not in (None, "pre", "post"):
        raise ValueError(f"placement must be 'pre' or 'post', got {placement!r}")
    d = _read(design, "norms", points)
    if isinstance(d, Result):
        return d
    norm_types = {"layerNorm", "rmsNorm"}
    found_kinds = {n["type"] for n in d.of_type(*norm_types) if n.get("parentId")}
    found_place = _placement(d, norm_types)
    problems = []
    if kind is not None and found_kinds != {kind}:
        problems.append(_t(f"the norms inside the block are {', '.join(sorted(found_kinds)) or 'missing'} "
                           f"(asked: {kind})",
                           f"블록 안의 정규화는 {', '.join(sorted(found_kinds)) or '없음'}입니다 (요구: {kind})"))
    if placement is not None and found_place != placement:
        problems.append(_t(f"the norms sit {found_place or 'neither before nor after'} the sub-layers "
                           f"(asked: {placement}-norm)",
                           f"정규화 위치가 {found_place or '앞도 뒤도 아닌 곳'}입니다 (요구: {placement}-norm)"))
    if problems:
        return _result("norms", False, points, "; ".join(problems), kinds=sorted(found_kinds),
                       placement=found_place)
    return _result("norms", True, points, _t(f"{', '.join(sorted(found_kinds))}, {found_place}-norm",
                                             f"{', '.join(sorted(found_kinds))}, {found_place}-norm"),
                   kinds=sorted(found_kinds), placement=found_place)


def _placement(d: _Design, norm_types: set[str]) -> str | None:
    """"pre" when every sub-layer reads a norm, "post" when every residual add feeds a norm, else None."""
    subs = d.of_type("attention", "feedForward")
    adds = d.of_type("add")
    reads_norm = subs and all(any(d.nodes[s]["type"] in norm_types for s in d.sources(n["id"])) for n in subs)
    if reads_norm:
        return "pre"
    feeds_norm = adds and all(any(d.nodes[t]["type"] in norm_types for t in d.targets(a["id"])) for a in adds)
    return "post" if feeds_norm else None


def residuals(design: Any, count: int, points: float = 1) -> Result:
    """The block has ``count`` residual connections: add blocks whose two inputs come from different places
    (the skip and the sub-layer), counted inside one transformer block."""
    d = _read(design, "residuals", points)
    if isinstance(d, Result):
        return d
    found = 0
    for a in d.of_type("add"):
        if not a.get("parentId"):
            continue
        left, right = d.sources(a["id"], "a"), d.sources(a["id"], "b")
        if left and right and set(left) != set(right):
            found += 1
    return _result("residuals", found == count, points, _t(
        f"each transformer block has {found} residual connection(s) (asked: {count})",
        f"트랜스포머 블록마다 잔차 연결이 {found}개 있습니다 (요구: {count}개)"), residuals=found)


def feed_forward(design: Any, gated: bool | None = None, activation: str | None = None,
                 hidden_dim: int | None = None, points: float = 1) -> Result:
    """Every feed-forward block is gated or not (SwiGLU, GeGLU, ReGLU are gated), uses ``activation`` and has
    ``hidden_dim`` hidden units, read from the built modules."""
    from .blocks.activations import ACTIVATIONS

    d = _read(design, "feed_forward", points)
    if isinstance(d, Result):
        return d
    ffs = d.of_type("feedForward")
    if not ffs:
        return _result("feed_forward", False, points, _t("the design has no feed-forward block",
                                                         "설계에 피드포워드 블록이 없습니다"))
    seen = sorted({(n["data"]["activation"], int(n["data"]["hidden_dim"])) for n in ffs})
    bad = [(a, h) for a, h in seen
           if (gated is not None and ACTIVATIONS[a].gated != gated) or (activation and a != activation)
           or (hidden_dim and h != hidden_dim)]
    shown = ", ".join(f"{a} × {h}" for a, h in seen)
    if bad:
        wanted = []
        if gated is not None:
            wanted.append(_t("gated" if gated else "not gated", "게이트 있음" if gated else "게이트 없음"))
        if activation:
            wanted.append(activation)
        if hidden_dim:
            wanted.append(_t(f"{hidden_dim} hidden units", f"은닉 {hidden_dim}"))
        return _result("feed_forward", False, points, _t(f"feed-forward: {shown} (asked: {', '.join(wanted)})",
                                                         f"피드포워드: {shown} (요구: {', '.join(wanted)})"),
                       feed_forward=seen)
    return _result("feed_forward", True, points, _t(f"feed-forward: {shown}", f"피드포워드: {shown}"),
                   feed_forward=seen)


# ---------------------------------------------------------------------------------------------- numbers
def locked_unchanged(design: Any, template: Any, points: float = 1) -> Result:
    """The blocks ``template`` locks (``"locked": true``; ``sd.Canvas(..., locked=[...])`` writes them) are all
    in ``design`` with the template's type, settings and parent (they may have moved). Compares with the
    teacher's template, so a student's file that dropped the lock marks does not fool it."""
    from .graph import locked_changes, locked_ids

    check = "locked_unchanged"
    try:
        graph, base = design_graph(design), design_graph(template)
    except (TypeError, ValueError, OSError) as exc:
        return _result(check, False, points, str(exc))
    ids = locked_ids(base)
    issues = locked_changes(graph, base)
    if not issues:
        return _result(check, True, points, _t(f"the {len(ids)} locked block(s) are as the template has them",
                                               f"잠긴 블록 {len(ids)}개가 템플릿 그대로입니다"), locked=ids)
    changed = sorted({i.node_id for i in issues if i.node_id})
    return _result(check, False, points,
                   _t(f"locked block(s) changed: {'; '.join(i.message for i in issues[:3])}",
                      f"잠긴 블록이 바뀌었습니다: {', '.join(changed)}"),
                   locked=ids, changed=changed)


def answer(value: Any, expected: float, rel: float = 0.01, what: str = "the answer", points: float = 1) -> Result:
    """A number the student worked out equals ``expected`` (which the grader computes itself) within ``rel``
    (relative). ``what`` names it in the message."""
    try:
        got = float(value)
    except (TypeError, ValueError):
        return _result("answer", False, points, _t(f"{what} should be a number, got {value!r}",
                                                   f"{what}은(는) 숫자여야 합니다. 받은 값: {value!r}"))
    ok = math.isfinite(got) and abs(got - expected) <= rel * max(abs(expected), 1e-12)
    if ok:
        return _result("answer", True, points, _t(f"{what}: {got:,.6g} is right", f"{what}: {got:,.6g} 정답"),
                       value=got, expected=expected)
    hint = _t("too high" if got > expected else "too low", "너무 큽니다" if got > expected else "너무 작습니다")
    return _result("answer", False, points, _t(f"{what}: {got:,.6g} is {hint}", f"{what}: {got:,.6g} — {hint}"),
                   value=got, expected=expected)


# ---------------------------------------------------------------------------------------------- training
def trains_to(design: Any, corpus: Any, tok: Any, val_loss: float, steps: int = 300, seconds: float = 120,
              batch_size: int = 12, context: int = 64, lr: float = 1e-3, seed: int = 0, eval_batches: int = 20,
              held_out: Any = None, points: float = 1) -> Result:
    """Train a fresh copy of the design (seed ``seed``) on ``corpus`` for ``steps`` steps, stopping early after
    ``seconds``; pass when its loss on held-out text is at most ``val_loss``.

    Held-out text is the validation split of ``corpus`` (never trained on) or ``held_out`` (a corpus or text
    the student never had). The loss is measured here on ``eval_batches`` fixed batches (seed ``seed``).
    """
    d = _read(design, "trains_to", points)
    if isinstance(d, Result):
        return d
    fit = _fits(d, tok, context)
    if fit:
        return _result("trains_to", False, points, fit)
    from .tokcache import tokenize_corpus
    from .training.events import Failed
    from .training.execute import execute
    from .training.spec import JobSpec
    from .training.trainer import TrainConfig

    corpus = _corpus(corpus)
    tokenized = tokenize_corpus(corpus, tok)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, context=context, lr=lr, warmup=min(100, steps // 10),
                      eval_every=0, sample_every=0, checkpoint_every=0, keep_checkpoints=1, seed=seed,
                      device="cpu", dtype="float32")
    deadline = time.monotonic() + seconds
    trainer_box: list = []
    with tempfile.TemporaryDirectory(prefix="sd-grading-") as tmp, _quiet(), _fixed_seed(seed):
        spec = JobSpec(name="grading", experiment="grading", graph=d.graph, data={"kind": "cache", "path": tmp},
                       config=cfg.to_json(), checkpoint_dir=str(Path(tmp) / "run"), mlflow=False)
        final = execute(spec, lambda event: None, lambda: time.monotonic() > deadline, tokenized=tokenized,
                        on_trainer=trainer_box.append)
        if isinstance(final, Failed):
            return _result("trains_to", False, points, _t(f"training failed: {final.error}",
                                                          f"학습이 실패했습니다: {final.error}"))
        model = trainer_box[0].model
        trained = final.step
    loss = held_out_loss(model, corpus if held_out is None else held_out, tok, context=context,
                         batch_size=batch_size, batches=eval_batches, seed=seed)
    ok = loss <= val_loss
    cut = "" if trained >= steps else _t(f" (stopped at the {seconds:g} s limit)", f" ({seconds:g}초 제한에서 멈춤)")
    return _result("trains_to", ok, points, _t(
        f"after {trained} of {steps} steps{cut} the held-out loss is {loss:.3f}, "
        f"{'within' if ok else 'above'} the goal of {val_loss:g}",
        f"{steps}단계 중 {trained}단계 학습 후{cut} 검증 손실은 {loss:.3f}로 목표 {val_loss:g}"
        f"{'를 달성했습니다' if ok else '보다 높습니다'}"), val_loss=loss, steps=trained)


def _fits(d: _Design, tok: Any, context: int) -> str | None:
    """Why the design cannot train with this tokenizer and context, or None."""
    plan = d.analysis.plan
    if tok.vocab_size > plan.vocab_size:
        return _t(f"the tokenizer has {tok.vocab_size} tokens but the design's vocabulary holds {plan.vocab_size}",
                  f"토크나이저의 토큰은 {tok.vocab_size}개인데 설계의 어휘는 {plan.vocab_size}개입니다")
    if context > plan.context:
        return _t(f"grading trains with context {context}, longer than the design's {plan.context} positions",
                  f"채점은 컨텍스트 {context}로 학습하는데, 설계의 위치는 {plan.context}개뿐입니다")
    return None


def _corpus(corpus: Any) -> Any:
    from . import data

    if isinstance(corpus, data.Corpus):
        return corpus
    if isinstance(corpus, (str, list, tuple)):
        return data.text(corpus)
    raise TypeError(f"corpus must be a slamdunk_lab Corpus (sd.data.*) or text, got {type(corpus).__name__}")


def held_out_loss(model: Any, corpus: Any, tok: Any, context: int = 64, batch_size: int = 12, batches: int = 20,
                  seed: int = 0) -> float:
    """Mean cross-entropy of ``model`` on ``batches`` fixed windows (seed ``seed``) of held-out text: the
    validation split of ``corpus`` (a Corpus or text)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from .tokcache import tokenize_corpus

    tokenized = tokenize_corpus(_corpus(corpus), tok)
    context = min(context, model.context, len(tokenized.tokens("val")) - 1)
    rng = np.random.default_rng([seed, 7])
    was_training = model.training
    model.eval()
    losses = []
    try:
        with torch.no_grad():
            for _ in range(batches):
                x, y = tokenized.get_batch("val", batch_size, context, rng)
                logits = model(torch.from_numpy(x))
                losses.append(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)),
                                              torch.from_numpy(y).reshape(-1)).item())
    finally:
        model.train(was_training)
    return float(sum(losses) / len(losses))


def evaluates_to(model: Any, corpus: Any, tok: Any, val_loss: float, context: int = 64, batches: int = 20,
                 seed: int = 0, points: float = 1) -> Result:
    """A trained model's loss on held-out text (the validation split of ``corpus``, measured here with a fixed
    seed) is at most ``val_loss``."""
    if not hasattr(model, "graph") or not callable(model):
        return _result("evaluates_to", False, points, _t("this is not a model built by slamdunk_lab",
                                                         "slamdunk_lab으로 만든 모델이 아닙니다"))
    if tok.vocab_size > model.vocab_size:
        return _result("evaluates_to", False, points, _t(
            f"the tokenizer has {tok.vocab_size} tokens, the model only {model.vocab_size}",
            f"토크나이저의 토큰은 {tok.vocab_size}개, 모델은 {model.vocab_size}개뿐입니다"))
    loss = held_out_loss(model, corpus, tok, context=context, batches=batches, seed=seed)
    ok = loss <= val_loss
    return _result("evaluates_to", ok, points, _t(
        f"held-out loss {loss:.3f}, {'within' if ok else 'above'} the goal of {val_loss:g}",
        f"검증 손실 {loss:.3f}, 목표 {val_loss:g}{'를 달성했습니다' if ok else '보다 높습니다'}"), val_loss=loss)


# ---------------------------------------------------------------------------------------------- export, tokens
def same_logits(code: str, design_or_model: Any, atol: float = 1e-5, points: float = 1) -> Result:
    """The exported code (a string defining ``build_model()``) computes the same logits as the model: the
    model's weights (or, for a design, freshly built ones with a fixed seed) are loaded into it and both run on
    the same random tokens."""
    import torch

    from .model import build

    if not isinstance(code, str) or "def build_model" not in code:
        return _result("same_logits", False, points, _t("the code defines no build_model()",
                                                        "코드에 build_model()이 없습니다"))
    if hasattr(design_or_model, "state_dict") and hasattr(design_or_model, "graph"):
        model = design_or_model
    else:
        d = _read(design_or_model, "same_logits", points)
        if isinstance(d, Result):
            return d
        with _fixed_seed(0), _quiet():
            model = build(d.analysis)
    module = types.ModuleType("graded_export")  # a real module: dataclasses look their class's module up
    sys.modules[module.__name__] = module
    try:
        with _quiet():
            exec(compile(code, "exported_design.py", "exec"), module.__dict__)  # noqa: S102 - the student's code
            exported = module.build_model()
            exported.load_state_dict(model.state_dict())
    except Exception as exc:  # noqa: BLE001 - the student's code: any error is the message
        return _result("same_logits", False, points, _t(f"the code fails: {type(exc).__name__}: {exc}",
                                                        f"코드가 실패합니다: {type(exc).__name__}: {exc}"))
    finally:
        sys.modules.pop(module.__name__, None)
    T = min(16, model.context)
    ids = torch.randint(0, model.vocab_size, (2, T), generator=torch.Generator().manual_seed(1))
    was = model.training
    model.eval(), exported.eval()
    with torch.no_grad():
        diff = (exported(ids).float() - model(ids).float()).abs().max().item()
    model.train(was)
    ok = diff <= atol
    return _result("same_logits", ok, points, _t(
        f"the exported code's logits differ by at most {diff:.2e} ({'same' if ok else 'not the same'} model)",
        f"내보낸 코드의 로짓 차이는 최대 {diff:.2e}입니다 ({'같은' if ok else '다른'} 모델)"), max_diff=diff)


def round_trips(tok: Any, texts: str | Sequence[str] = (), model: Any = None, prompt: str = "\n",
                max_new_tokens: int = 100, points: float = 1) -> Result:
    """Text survives the tokenizer: ``decode(encode(text)) == text`` for every text given and, with ``model``,
    for text the model writes (sampled with a fixed seed)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if model is not None:
        from .generation import generate

        with _quiet():
            texts.append(generate(model, tok, prompt, max_new_tokens=max_new_tokens, seed=0))
    if not texts:
        raise ValueError("round_trips needs texts=... or model=...")
    for text in texts:
        try:
            back = tok.decode(tok.encode(text))
        except Exception as exc:  # noqa: BLE001 - a character the tokenizer cannot encode is the finding
            return _result("round_trips", False, points, _t(f"{text[:40]!r} cannot be encoded: {exc}",
                                                            f"{text[:40]!r}을(를) 인코딩할 수 없습니다: {exc}"))
        if back != text:
            at = next((i for i, (a, b) in enumerate(zip(text, back)) if a != b), min(len(text), len(back)))
            return _result("round_trips", False, points, _t(
                f"{text[max(0, at - 10):at + 10]!r} comes back as {back[max(0, at - 10):at + 10]!r}",
                f"{text[max(0, at - 10):at + 10]!r}이(가) {back[max(0, at - 10):at + 10]!r}(으)로 돌아옵니다"))
    return _result("round_trips", True, points, _t(f"{len(texts)} text(s) come back unchanged from the tokenizer",
                                                   f"텍스트 {len(texts)}개가 토크나이저를 거쳐 그대로 돌아옵니다"))


# ---------------------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _fixed_seed(seed: int):
    """torch's global generator seeded for the block, then put back (the student's random state is theirs)."""
    import torch

    state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_rng_state(state)


@contextlib.contextmanager
def _quiet():
    """No warnings while a check runs: nbgrader counts anything written to stderr as a failed cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _checks() -> dict[str, Callable[..., Result]]:
    """Every check by name (for the docs and the tests)."""
    return {name: globals()[name] for name in ("answer", "attention", "builds", "evaluates_to", "feed_forward",
                                               "layers", "locked_unchanged", "max_params", "norms", "positions", "residuals",
                                               "round_trips", "same_logits", "trains_to")}
