"""Save and load: round trips, and clear refusals of damaged, altered or mismatched files. Nothing is unpickled."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
from helpers import TEMPLATE_NAMES, node
from safetensors.torch import save_file

import slamdunk_lab as sd
from slamdunk_lab import io as sdio
from slamdunk_lab import tokenizers

PACKAGE = Path(sd.__file__).parent


def _idx(vocab: int) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 12), generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small GPT-2 saved once; tests copy the folder before damaging it."""
    torch.manual_seed(0)
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=2)).eval()
    folder = sd.save(model, tmp_path_factory.mktemp("saved") / "gpt2")
    return model, folder


@pytest.fixture
def copy_of(saved, tmp_path):
    import shutil

    model, folder = saved
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return model, target


def _rewrite(path: Path, edit) -> None:
    """Rewrite a safetensors file's header with ``edit(header)``, keeping its data bytes."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    edit(header)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def _fix_checksum(folder: Path) -> None:
    meta = json.loads((folder / "slamdunk.json").read_text())
    meta["weights"]["sha256"] = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    (folder / "slamdunk.json").write_text(json.dumps(meta))


# --------------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_round_trip_every_template(name, tmp_path):
    torch.manual_seed(0)
    model = sd.build(sd.template(name, size="tiny")).eval()
    loaded = sd.load(sd.save(model, tmp_path / name))
    assert not loaded.training and loaded.tokenizer is None
    assert loaded.graph == model.graph
    want, got = model.state_dict(), loaded.state_dict()
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)
    idx = _idx(model.vocab_size)
    with torch.no_grad():
        assert torch.equal(loaded(idx), model(idx))


def test_tied_weights_are_stored_once_and_stay_tied(saved):
    _, folder = saved
    header = sdio.read_safetensors_header(folder / "model.safetensors")
    assert "tok_emb.weight" in header and "lm_head.weight" not in header
    assert header["__metadata__"] == {"format": "slamdunk-lab", "version": "1"}
    loaded = sd.load(folder)
    assert loaded.lm_head.weight.data_ptr() == loaded.tok_emb.weight.data_ptr()
    with torch.no_grad():
        loaded.tok_emb.weight.add_(1.0)  # training one moves the other
    assert torch.equal(loaded.lm_head.weight, loaded.tok_emb.weight)


def test_metadata_describes_the_model(saved):
    model, folder = saved
    meta = json.loads((folder / "slamdunk.json").read_text())
    assert meta["params"] == sd.analyze(model.graph).params
    assert meta["dtype"] == "float32" and meta["library_version"] == sd.__version__
    assert meta["weights"]["sha256"] == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert meta["created"].endswith("Z")
    assert json.loads((folder / "graph.json").read_text()) == model.graph
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left behind


def test_shared_weights_and_bfloat16_round_trip(tmp_path):
    graph = sd.template("llama3", size="tiny", n_layer=3)
    node(graph, "blocks")["data"]["share_weights"] = True
    model = sd.build(graph, dtype="bfloat16").eval()
    loaded = sd.load(sd.save(model, tmp_path / "m"))
    assert loaded.tok_emb.weight.dtype == torch.bfloat16
    assert json.loads((tmp_path / "m" / "slamdunk.json").read_text())["dtype"] == "bfloat16"
    idx = _idx(model.vocab_size)
    with torch.no_grad():
        assert torch.equal(loaded(idx), model(idx))


def test_tokenizer_travels_with_the_model(tmp_path):
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1))
    tok = tokenizers.char("to be or not to be")
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)
    loaded = sd.load(folder)
    assert loaded.tokenizer.encode("not to be") == tok.encode("not to be")
    model.tokenizer = tokenizers.byte()  # the attribute is used when no tokenizer is passed
    assert sd.load(sd.save(model, folder)).tokenizer.vocab_size == 256
    del model.tokenizer
    sd.save(model, folder)  # saving again without one drops the old tokenizer
    assert sd.load(folder).tokenizer is None and not (folder / "tokenizer").exists()


# --------------------------------------------------------------------------------------------- paths
def test_dot_dot_is_resolved_and_nul_refused(saved, tmp_path):
    model, _ = saved
    folder = sd.save(model, str(tmp_path / "a" / ".." / "b"))
    assert folder == (tmp_path / "b").resolve() and (folder / "model.safetensors").is_file()
    assert not (tmp_path / "a").exists()
    with pytest.raises(sd.ModelFileError, match="NUL"):
        sd.save(model, str(tmp_path / "bad\x00name"))
    with pytest.raises(sd.ModelFileError, match="NUL"):
        sd.load(str(tmp_path / "bad\x00name"))


def test_refuses_to_save_into_an_existing_file(saved, tmp_path):
    model, _ = saved
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(sd.ModelFileError, match="existing file"):
        sd.save(model, target)
    assert target.read_text() == "keep me"


def _outputs(model, idx):
    with torch.no_grad():
        return model.eval()(idx)


class _FailingTokenizer:
    """A tokenizer whose save writes part of its folder, then fails (a full disk, say)."""

    def save(self, folder):
        Path(folder).mkdir()
        (Path(folder) / "tokenizer.json").write_text("{")
        raise OSError(28, "No space left on device", str(Path(folder) / "vocab.json"))


def test_a_failed_save_leaves_the_previous_save_loadable(tmp_path, monkeypatch):
    torch.manual_seed(0)
    old = sd.build(sd.template("gpt2", size="tiny", n_layer=2))
    tok = tokenizers.char("to be or not to be")
    folder = sd.save(old, tmp_path / "m", tokenizer=tok)
    (folder / "notes.txt").write_text("mine")
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    idx = _idx(old.vocab_size)
    new = sd.build(sd.template("gpt2", size="tiny", n_layer=1))

    failed = []

    def replace_failing_on_the_weights(src, dst):  # one failure while the new files are being moved in
        if Path(dst) == folder / "model.safetensors" and not failed:
            failed.append(src)
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst)

    real_replace = sdio.os.replace
    attempts = [
        (lambda: sd.save(new, folder, tokenizer="not a tokenizer"), TypeError, "save\\(folder\\) method"),
        (lambda: sd.save(new, folder, tokenizer=_FailingTokenizer()), sd.ModelFileError,
         "cannot save the model to .*m': no space left on .*vocab.json"),
    ]
    for attempt, error, message in attempts:
        with pytest.raises(error, match=message):
            attempt()
        assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
        loaded = sd.load(folder)
        assert loaded.graph == old.graph and torch.equal(_outputs(loaded, idx), _outputs(old, idx))
        assert loaded.tokenizer.encode("not to be") == tok.encode("not to be")
    monkeypatch.setattr(sdio.os, "replace", replace_failing_on_the_weights)
    with pytest.raises(sd.ModelFileError, match="Input/output error"):
        sd.save(new, folder)  # also drops the tokenizer: that must be undone too
    monkeypatch.undo()
    assert failed  # the new graph was already in place, and the tokenizer set aside, when it failed
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert torch.equal(_outputs(sd.load(folder), idx), _outputs(old, idx))
    # a save that works replaces the saved files, keeps the others, and leaves no temporary folder behind
    assert sd.load(sd.save(new, folder, tokenizer=tok)).graph == new.graph
    assert sorted(p.name for p in folder.iterdir()) == ["graph.json", "model.safetensors", "notes.txt",
                                                        "slamdunk.json", "tokenizer"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_save_does_not_write_through_a_tokenizer_link(tmp_path):
    model = sd.build(sd.template("gpt2", size="tiny", n_layer=1))
    tok = tokenizers.char("to be or not to be")
    outside = tmp_path / "outside"
    outside.mkdir()
    fresh = tmp_path / "fresh"  # a folder holding nothing but the link
    fresh.mkdir()
    (fresh / "tokenizer").symlink_to(outside)
    folder = sd.save(model, tmp_path / "m", tokenizer=tok)  # an earlier save whose tokenizer became a link
    shutil.rmtree(folder / "tokenizer")
    (folder / "tokenizer").symlink_to(outside)
    weights = (folder / "model.safetensors").read_bytes()
    for target in (fresh, folder):
        with pytest.raises(sd.ModelFileError, match=r"'tokenizer' there is .*link"):
            sd.save(model, target, tokenizer=tok)
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in fresh.iterdir()) == ["tokenizer"]  # nothing written before the refusal
    assert (folder / "model.safetensors").read_bytes() == weights


def test_too_long_paths_are_model_file_errors(saved, tmp_path):
    model, _ = saved
    long_name = tmp_path / ("x" * 300)
    with pytest.raises(sd.ModelFileError, match=r"cannot use the folder '.*xxx.*': File name too long: the name "
                                                r"'x+\.\.\.x+ \(300 characters\)' is 300 bytes long"):
        sd.save(model, long_name)
    with pytest.raises(sd.ModelFileError, match="File name too long"):
        sd.load(long_name)
    deep = tmp_path.joinpath(*["y" * 200] * 30)  # every name is fine; the whole path is too long
    for call in (lambda: sd.save(model, deep), lambda: sd.load(deep)):
        with pytest.raises(sd.ModelFileError, match=r"'.*yyy.*\(6,\d\d\d characters\)': File name too long"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_and_missing_file(copy_of, tmp_path):
    with pytest.raises(sd.ModelFileError, match="does not exist"):
        sd.load(tmp_path / "nowhere")
    _, folder = copy_of
    (folder / "model.safetensors").unlink()
    with pytest.raises(sd.ModelFileError, match="model.safetensors is missing"):
        sd.load(folder)


# --------------------------------------------------------------------------------------------- damaged files
def test_truncated_weights(copy_of):
    _, folder = copy_of
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(sd.ModelFileError, match="truncated"):
        sd.load(folder)
    path.write_bytes(b"\x10\x00")
    with pytest.raises(sd.ModelFileError, match="truncated"):
        sd.load(folder)


def test_flipped_byte_in_the_data(copy_of):
    _, folder = copy_of
    path = folder / "model.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(sd.ModelFileError, match="SHA-256.*changed or damaged"):
        sd.load(folder)


def test_header_claiming_a_huge_tensor_is_refused_before_reading(copy_of):
    _, folder = copy_of
    path = folder / "model.safetensors"

    def huge(header):
        header["tok_emb.weight"]["shape"] = [2**40, 2**20]

    _rewrite(path, huge)
    with pytest.raises(sd.ModelFileError, match="tok_emb.weight.*needs .* bytes"):
        sd.load(folder)


def test_header_with_huge_offsets_or_length(saved, tmp_path):
    _, original = saved
    raw = (original / "model.safetensors").read_bytes()
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 2**62) + raw[8:])
    with pytest.raises(sd.ModelFileError, match="header, more than"):
        sdio.read_safetensors_header(path)
    path.write_bytes(raw)

    def huge(header):  # a consistent header whose data would need 4 TiB
        info = header["tok_emb.weight"]
        begin, end = info["data_offsets"]
        info["shape"] = [2**20, 2**20]
        grow = 2**42 - (end - begin)
        info["data_offsets"] = [begin, begin + 2**42]
        for other in header.values():
            if other is not info and "data_offsets" in other and other["data_offsets"][0] >= end:
                other["data_offsets"] = [o + grow for o in other["data_offsets"]]

    _rewrite(path, huge)
    with pytest.raises(sd.ModelFileError, match="truncated: its header describes"):
        sdio.read_safetensors_header(path)


def test_graph_edited_to_another_width(copy_of):
    _, folder = copy_of
    graph = json.loads((folder / "graph.json").read_text())
    node(graph, "tok_emb")["data"]["d_model"] = 64
    node(graph, "mlp")["data"]["hidden_dim"] = 256
    (folder / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(sd.ModelFileError, match=r"does not match graph.json: .*shape \(256, 128\) but the design "
                                                r"needs \(256, 64\)"):
        sd.load(folder)


def test_graph_made_invalid(copy_of):
    _, folder = copy_of
    graph = json.loads((folder / "graph.json").read_text())
    node(graph, "attn")["data"]["n_heads"] = 3
    (folder / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(sd.GraphError, match="n_heads"):
        sd.load(folder)
    (folder / "graph.json").write_text("{not json")
    with pytest.raises(sd.ModelFileError, match="graph.json is not valid JSON"):
        sd.load(folder)


def test_unexpected_and_missing_tensors(copy_of):
    model, folder = copy_of
    tensors = {k: v for k, v in model.state_dict().items() if k not in ("lm_head.weight", "ln_f.bias")}
    tensors["extra.weight"] = torch.zeros(3)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "slamdunk-lab", "version": "1"})
    _fix_checksum(folder)
    with pytest.raises(sd.ModelFileError, match="missing tensor.*ln_f.bias.*unexpected tensor.*extra.weight"):
        sd.load(folder)


def test_wrong_dtype_in_the_file(copy_of):
    model, folder = copy_of
    tensors = {k: v.to(torch.float16) for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(tensors, str(folder / "model.safetensors"))
    _fix_checksum(folder)
    with pytest.raises(sd.ModelFileError, match="is F16 but the design needs F32"):
        sd.load(folder)


def test_metadata_not_ours(copy_of):
    _, folder = copy_of
    (folder / "slamdunk.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(sd.ModelFileError, match="not written by slamdunk_lab.save"):
        sd.load(folder)


# --------------------------------------------------------------------------------------------- no pickles
def _calls(tree):
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            yield n


def test_no_module_unpickles_anything():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(PACKAGE.parent)
        for n in ast.walk(tree):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                names = [n.module or ""]
            if any(m.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "shelve", "marshal") for m in names):
                offenders.append(f"{rel}:{n.lineno} imports {names}")
        for call in _calls(tree):
            func = call.func
            kwargs = {k.arg: k.value for k in call.keywords}
            if (isinstance(func, ast.Attribute) and func.attr == "load" and isinstance(func.value, ast.Name)
                    and func.value.id == "torch"):
                wo = kwargs.get("weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    offenders.append(f"{rel}:{call.lineno} calls torch.load without weights_only=True")
            ap = kwargs.get("allow_pickle")
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                offenders.append(f"{rel}:{call.lineno} passes allow_pickle")
    assert not offenders, "\n".join(offenders)


def test_save_needs_a_built_model(tmp_path):
    with pytest.raises(TypeError, match="slamdunk_lab.build"):
        sd.save(torch.nn.Linear(2, 2), tmp_path / "m")
    graph = copy.deepcopy(sd.template("gpt2", size="tiny"))
    with pytest.raises(TypeError):
        sd.save(graph, tmp_path / "m")
