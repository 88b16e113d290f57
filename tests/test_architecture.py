"""docs/architecture.md stays true: its layer table is the enforced one, what it names exists, its code runs."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest
from test_layers import LAYERS

from slamdunk_lab.blocks import spec as spec_module
from slamdunk_lab.blocks.activations import Activation

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
NAMED = re.findall(r"`([^`]+)`", TEXT)
REGISTRY = {"BlockSpec": spec_module.BlockSpec, "Param": spec_module.Param, "HFRule": spec_module.HFRule,
            "ExportNames": spec_module.ExportNames, "Activation": Activation}


def test_the_layer_table_is_the_one_the_import_contract_enforces():
    section = TEXT.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| layer")]
    table = [(cells[0], tuple(re.findall(r"`([^`]+)`", cells[1])))
             for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows) if cells[0] != "---"]
    assert table == LAYERS


def test_every_path_it_names_exists():
    paths = [n for n in NAMED if re.fullmatch(r"(slamdunk_lab|tests|docs|js)/[\w./-]*", n)]
    assert len(paths) > 10
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, missing


def test_every_registry_field_and_helper_it_names_exists():
    fields = [n for n in NAMED if re.fullmatch(r"[A-Z]\w*\.\w+", n) and n.split(".")[0] in REGISTRY]
    assert len(fields) > 15
    for name in fields:
        cls, attr = name.split(".")
        known = {f.name for f in dataclasses.fields(REGISTRY[cls])} | set(dir(REGISTRY[cls]))
        assert attr in known, f"{name} is named in docs/architecture.md but does not exist"
    for helper in ("hf_key", "hf_require", "hf_refuse", "hf_unused"):
        assert f"`{helper}`" in TEXT and callable(getattr(spec_module, helper))
    for command in re.findall(r"`python -m ([\w.]+)`", TEXT):
        importlib.import_module(command)


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", TEXT))))
def test_every_code_block_runs(index):
    pytest.importorskip("anywidget")
    code = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)[index]
    namespace = {"__name__": "architecture_doc"}
    exec(compile(code, f"docs/architecture.md block {index}", "exec"), namespace)  # noqa: S102 - the doc's own code
