"""The ``slamdunk-lab`` command: list templates, check a design, train it, and generate text.

.. code-block:: console

    $ slamdunk-lab templates
    $ slamdunk-lab validate my_design.json
    $ slamdunk-lab train my_design.json --data tinyshakespeare.txt --tokenizer char --steps 2000 --out shakespeare
    $ slamdunk-lab generate shakespeare --prompt "ROMEO:" --max-new-tokens 300

Exit status: 0 on success; 1 when the design is invalid or training fails; 2 when a file cannot be read, is not
what it should be, or an argument is wrong (argparse's own usage errors are 2 as well).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._files import safe_name

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A problem to report as one message and an exit status, without a traceback."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------- templates
def cmd_templates(args: argparse.Namespace) -> int:
    """Print every template and size as a table."""
    from .templates import templates

    rows = [(r["name"], r["size"] + (" *" if r["default"] else ""), _human_count(r["params"]),
             r["description"]) for r in templates()]
    header = ("TEMPLATE", "SIZE", "PARAMS", "DESCRIPTION")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    print("\n* the published size, used when no size is given. Start a design with "
          "sd.template(\"gpt2\", size=\"tiny\").")
    return EXIT_OK


def _human_count(n: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


# ---------------------------------------------------------------------------------------------- validate
def cmd_validate(args: argparse.Namespace) -> int:
    """Check a graph file; print a summary (exit 0) or every problem as ``node: field: message`` (exit 1)."""
    from .analysis import analyze

    raw = _read_graph(args.graph)
    analysis = analyze(raw, batch_size=args.batch_size, context=args.context)
    if args.json:
        print(json.dumps(analysis.to_json(), indent=2))
        return EXIT_OK if analysis.ok else EXIT_INVALID
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"{args.graph}" + (f" ({name})" if name else "")
    if not analysis.ok:
        noun = "problem" if len(analysis.errors) == 1 else "problems"
        print(f"{label}: {len(analysis.errors)} {noun}", file=sys.stderr)
        for issue in analysis.errors:
            print(_issue_line(issue), file=sys.stderr)
        return EXIT_INVALID
    print(f"{label}: valid")
    print(f"  {analysis.summary()}")
    print(f"  vocabulary {analysis.plan.vocab_size}, context {analysis.plan.context}")
    for issue in analysis.warnings:
        print(f"  warning: {_issue_line(issue)}")
    return EXIT_OK


def _issue_line(issue) -> str:
    from .errors import shorten, shorten_quoted

    node = shorten(issue.node_id) if issue.node_id else "(graph)"
    return f"{node}: {shorten(issue.field) if issue.field else '-'}: {shorten_quoted(issue.message)}"


#: The largest graph file read (a 50,000-node design is a few MB).
MAX_GRAPH_BYTES = 64 * 2**20


def _read_graph(path: str) -> Any:
    """The JSON of a graph file: a regular file of at most 64 MB, nested at most 100 levels."""
    from ._files import UnreadableFile, loads_json, read_regular_file

    p = Path(path).expanduser()
    try:
        raw = read_regular_file(p, MAX_GRAPH_BYTES, "the graph file")
    except FileNotFoundError:
        raise CommandError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"cannot read {path}: it is a folder, not a graph file") from None
    except UnreadableFile as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"cannot read {path}: it is not UTF-8 text (a graph file is JSON)") from None
    try:
        return loads_json(text, f"the graph file {path}")
    except UnreadableFile as exc:
        raise CommandError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") \
            from None


# ---------------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    """Train a graph on a corpus and save the model (with its tokenizer) to ``--out``."""
    from .analysis import analyze

    raw = _read_graph(args.graph)
    analysis = analyze(raw)
    if not analysis.ok:
        print(f"{args.graph}: the design is invalid, nothing was trained", file=sys.stderr)
        for issue in analysis.errors:
            print(_issue_line(issue), file=sys.stderr)
        return EXIT_INVALID
    graph = analysis.graph
    name = args.name or graph.get("name") or Path(args.graph).stem
    out = Path(args.out) if args.out else Path("models") / safe_name(name, default="model")
    _check_out(out, given=bool(args.out))  # before any work, not after training
    corpus = _load_corpus(args.data)
    tok = _make_tokenizer(args.tokenizer, corpus)
    if tok.vocab_size != analysis.plan.vocab_size:
        print(f"note: vocabulary set to {tok.vocab_size} to match the {tok.name} tokenizer (the design had "
              f"{analysis.plan.vocab_size})", file=sys.stderr)
        graph = _with_vocab(graph, tok.vocab_size)
    context = args.context if args.context is not None else min(analysis.plan.context, 256)

    from .session import train

    warmup = args.warmup if args.warmup is not None else min(100, args.steps // 10)
    options: dict[str, Any] = {
        "steps": args.steps, "batch_size": args.batch_size, "context": context, "lr": args.lr, "warmup": warmup,
        "eval_every": args.eval_every, "sample_every": args.sample_every, "seed": args.seed, "device": args.device,
        "dtype": args.dtype, "name": name, "mlflow": args.mlflow, "background": False, "progress": True}
    if args.min_lr is not None:
        options["min_lr"] = args.min_lr
    elif args.lr < 1e-4:
        options["min_lr"] = args.lr / 10  # the default floor (1e-4) would sit above a small lr
    try:
        run = train(graph, corpus, tok, **options)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except KeyboardInterrupt:
        print("\ninterrupted; the last checkpoint is in the runs folder (resume with sd.resume)", file=sys.stderr)
        return 130
    if run.status != "finished":
        print(f"training {run.status}: {run.error or 'stopped before the last step'}", file=sys.stderr)
        return EXIT_INVALID

    from .errors import ModelFileError
    from .io import save

    try:
        folder = save(run.model, out, tokenizer=tok)
    except ModelFileError as exc:
        where = run.last_checkpoint
        note = f" (the trained weights are in the checkpoint {where})" if where else ""
        raise CommandError(f"{exc}{note}") from None
    print(f"saved the model to {folder}")
    print(f"try: slamdunk-lab generate {folder} --prompt \"...\"")
    return EXIT_OK


def _check_out(out: Path, given: bool) -> None:
    """Refuse an output folder that cannot be created: an existing file, or a path through one."""
    what, fix = ("--out", "choose another name") if given else ("the output folder", "choose another with --out")
    path = out.expanduser()
    if path.exists() and not path.is_dir():
        raise CommandError(f"{what} {out} is an existing file, not a folder; {fix}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise CommandError(f"{what} {out} cannot be created: {parent} is a file, not a folder; {fix}")


def _load_corpus(source: str):
    from . import data

    path = Path(source).expanduser()
    if path.exists():
        try:
            return data.file(path)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the data file {source}: {exc}") from None
    try:
        return data.load(source)
    except (ValueError, TypeError, ConnectionError, OSError) as exc:
        raise CommandError(f"--data {source!r} is neither an existing file nor a dataset that could be "
                           f"loaded: {exc}") from None


def _make_tokenizer(spec: str, corpus):
    from . import tokenizers

    kind, _, size = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "char" and not size:
        return tokenizers.char(corpus)
    if kind == "byte" and not size:
        return tokenizers.byte()
    if kind == "bpe":
        try:
            n = int(size) if size else 2048
        except ValueError:
            n = 0
        if not 257 <= n <= tokenizers.MAX_BPE_VOCAB:
            raise CommandError(f"--tokenizer {spec}: the BPE vocabulary size must be a whole number from 257 (the "
                               f"byte symbols plus merges) to {tokenizers.MAX_BPE_VOCAB:,}, e.g. bpe:2048")
        try:
            return tokenizers.bpe(corpus, vocab_size=n)
        except (ValueError, RuntimeError) as exc:
            raise CommandError(f"--tokenizer {spec}: {exc}") from None
    raise CommandError(f"--tokenizer must be char, byte or bpe[:N] (e.g. bpe:2048), got {spec!r}")


def _with_vocab(graph: dict, vocab_size: int) -> dict:
    graph = json.loads(json.dumps(graph))
    for node in graph["nodes"]:
        if node["type"] in ("tokenEmbedding", "lmHead"):
            node["data"]["vocab_size"] = vocab_size
    return graph


# ---------------------------------------------------------------------------------------------- generate
def cmd_generate(args: argparse.Namespace) -> int:
    """Load a saved model and print the prompt followed by the generated text, as it is generated."""
    from .errors import GraphError, ModelFileError
    from .generation import generate
    from .io import load

    device = None
    if args.device is not None:
        from .training.trainer import resolve_device

        try:
            device = resolve_device(args.device)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    try:
        model = load(args.model, device=device)
    except (ModelFileError, GraphError) as exc:
        raise CommandError(str(exc)) from None
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        raise CommandError(f"{args.model} was saved without a tokenizer, so text cannot be turned into tokens; "
                           f"save it with sd.save(model, folder, tokenizer=tok)")
    try:
        pieces = generate(model, tok, args.prompt, max_new_tokens=args.max_new_tokens,
                          temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                          repetition_penalty=args.repetition_penalty, stop=args.stop or None, seed=args.seed,
                          stream=True)
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc)) from None
    sys.stdout.write(args.prompt)
    try:
        for piece in pieces:  # the model runs while the pieces are read: its errors come from here
            sys.stdout.write(piece)
            sys.stdout.flush()
    except ValueError as exc:  # e.g. a model whose weights hold NaN
        sys.stdout.write("\n")
        raise CommandError(str(exc), EXIT_INVALID) from None
    sys.stdout.write("\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- parser
def _whole_number(minimum: int, maximum: int | None = None, bounds: str | None = None):
    """An argparse ``type``: a whole number ≥ ``minimum`` (and ≤ ``maximum``); argparse names the flag."""
    bounds = bounds or (f"from {minimum} to {maximum}" if maximum is not None else f"≥ {minimum}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {text!r}")
        return value

    return parse


_POSITIVE, _COUNT = _whole_number(1), _whole_number(0)
_SEED = _whole_number(0, 2 ** 63 - 1, bounds="from 0 to 2**63 - 1")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``slamdunk-lab`` (its subcommands: templates, validate, train, generate)."""
    parser = argparse.ArgumentParser(prog="slamdunk-lab",
                                     description="Design, train and run small decoder-only language models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("templates", help="list the architecture templates and their sizes")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("validate", help="check a graph file and summarise it",
                       description="Check a graph file. Exit 0 and print a summary when it is valid; exit 1 and "
                                   "list every problem as 'node: field: message' when it is not; exit 2 when "
                                   "the file cannot be read or is not JSON.")
    p.add_argument("graph", metavar="GRAPH.json")
    p.add_argument("--batch-size", type=_POSITIVE, default=1, help="batch size for the memory estimate "
                                                                   "(default 1)")
    p.add_argument("--context", type=_POSITIVE, default=None, help="sequence length for the estimates "
                                                             "(default: the model's context)")
    p.add_argument("--json", action="store_true", help="print the full analysis as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("train", help="train a graph on a corpus and save the model",
                       description="Train a design and save it with its tokenizer. Checkpoints go to "
                                   "$SLAMDUNK_RUNS_DIR or ./runs.")
    p.add_argument("graph", metavar="GRAPH.json")
    p.add_argument("--data", required=True, metavar="PATH_OR_NAME",
                   help="a text/.jsonl/.json file, or a dataset name (tiny_shakespeare, arithmetic, reverse, "
                        "grammar, ...)")
    p.add_argument("--tokenizer", default="char", metavar="char|byte|bpe[:N]",
                   help="char (default), byte, or bpe:N for a BPE of N tokens trained on the data")
    p.add_argument("--steps", type=_POSITIVE, required=True)
    p.add_argument("--batch-size", type=_POSITIVE, default=12)
    p.add_argument("--context", type=_POSITIVE, default=None,
                   help="training sequence length (default: the model's context, at most 256)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=None)
    p.add_argument("--warmup", type=_COUNT, default=None, help="warm-up steps (default: a tenth of the steps, "
                                                            "at most 100)")
    p.add_argument("--eval-every", type=_COUNT, default=250, help="steps between evaluations (0: never)")
    p.add_argument("--sample-every", type=_COUNT, default=500, help="steps between samples (0: never)")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, mps")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto (default): bfloat16 where a probe measures it faster here, else float32")
    p.add_argument("--name", default=None, help="run name (default: the design's name)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where to save the trained model (default: models/NAME)")
    p.add_argument("--mlflow", action="store_true", help="also log the run to MLflow")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate text with a saved model")
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument("--prompt", default="", help="text to continue (default: empty)")
    p.add_argument("--max-new-tokens", type=_COUNT, default=200)
    p.add_argument("--temperature", type=float, default=0.8, help="0 = always the most likely token")
    p.add_argument("--top-k", type=_COUNT, default=40, help="0 = no limit")
    p.add_argument("--top-p", type=float, default=0.95, help="1 = no limit")
    p.add_argument("--repetition-penalty", type=float, default=1.0)
    p.add_argument("--stop", action="append", default=[], help="stop before this text (may be repeated)")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--device", default=None, help="cpu (default), auto, cuda, cuda:1, mps")
    p.set_defaults(func=cmd_generate)

    from .runners.commands import add_commands  # worker, serve, cluster (no torch, no Celery until run)

    add_commands(sub, _POSITIVE)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``slamdunk-lab`` with ``argv`` (default: the command line); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"slamdunk-lab {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # e.g. `slamdunk-lab templates | head`
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
