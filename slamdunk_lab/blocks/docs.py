"""The block reference (docs/blocks.md, docs/blocks.ko.md), rendered from the catalogue.

    python -m slamdunk_lab.blocks.docs          # rewrites docs/blocks.md and docs/blocks.ko.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from .catalog import BLOCKS, PARAM_LABELS

_TEXT = {
    "en": {"title": "Block reference", "intro": "Generated from the block catalogue "
           "(`python -m slamdunk_lab.blocks.docs`); the canvas palette, forms and docs panel read the same data.",
           "setting": "setting", "type": "type", "default": "default", "range": "allowed", "what": "meaning",
           "formula": "Formula", "shapes": "Shapes", "handles": "Handles", "in": "inputs", "out": "outputs",
           "none": "none"},
    "ko": {"title": "블록 참조", "intro": "블록 카탈로그에서 생성되었습니다(`python -m slamdunk_lab.blocks.docs`). 캔버스의 "
           "팔레트, 입력 양식, 문서 패널도 같은 데이터를 읽습니다.", "setting": "설정", "type": "형식", "default": "기본값",
           "range": "허용 범위", "what": "의미", "formula": "수식", "shapes": "모양", "handles": "핸들", "in": "입력",
           "out": "출력", "none": "없음"},
}


def render_markdown(lang: str = "en") -> str:
    """The reference for every block in ``lang`` ("en" or "ko")."""
    t = _TEXT[lang]
    out = [f"# {t['title']}", "", t["intro"], ""]
    for spec in BLOCKS.values():
        docs = spec.docs_en if lang == "en" else spec.docs_ko
        title = spec.title if lang == "en" else (spec.title_ko or spec.title)
        out += [f"## {title} (`{spec.type}`)", "", docs.summary, "",
                f"**{t['formula']}:** `{docs.formula}`", "", f"**{t['shapes']}:** {docs.shapes}", "",
                (f"**{t['handles']}:** {t['in']}: {', '.join(spec.inputs) or t['none']}; "
                 f"{t['out']}: {', '.join(spec.outputs) or t['none']}"), ""]
        if spec.params:
            out += [f"| {t['setting']} | {t['type']} | {t['default']} | {t['range']} | {t['what']} |",
                    "|---|---|---|---|---|"]
            for p in spec.params:
                kind = p.kind + ((" or null" if lang == "en" else " 또는 null") if p.nullable else "")
                help_ = p.help if lang == "en" else p.help_ko
                label = PARAM_LABELS.get(p.name, (p.name, p.name))[0 if lang == "en" else 1]
                out.append(f"| {label} (`{p.name}`) | {kind} | `{p.default!r}` | {p.describe_range(lang) or '-'} "
                           f"| {help_} |")
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "docs"
    (root / "blocks.md").write_text(render_markdown("en"), encoding="utf-8")
    (root / "blocks.ko.md").write_text(render_markdown("ko"), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
