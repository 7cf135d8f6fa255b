"""Regenerate the generated tables in docs/ (``make docs``): tests check they match the code."""

from __future__ import annotations

from pathlib import Path

from sim.config.parameters import iter_params
from sim.model.metrics import COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _cell(x) -> str:
    return str(x).replace("|", "\\|")


def instrument_table() -> str:
    rows = ["| parameter | default | unit | description | source |", "|---|---|---|---|---|"]
    for p in iter_params():
        if p.path.startswith(("instruments.", "programme.")):
            cells = [f"`{p.path}`", f"`{p.value}`", p.unit, p.description, p.source]
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def columns_table() -> str:
    rows = ["| column | unit | definition |", "|---|---|---|"]
    for name, (unit, definition) in COLUMNS.items():
        rows.append(f"| `{name}` | {unit} | {_cell(definition)} |")
    return "\n".join(rows)


def _replace_between(text: str, start: str, end: str, body: str) -> str:
    i = text.index(start) + len(start)
    j = text.index(end, i)
    return text[:i] + "\n" + body + "\n" + text[j:]


def main() -> None:
    odd = ROOT / "docs" / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    text = _replace_between(
        text,
        "<!-- params:instruments:start -->",
        "<!-- params:instruments:end -->",
        instrument_table(),
    )
    odd.write_text(text, encoding="utf-8")
    out = ROOT / "docs" / "outputs.md"
    text = out.read_text(encoding="utf-8")
    if "<!-- columns:start -->" in text:
        text = _replace_between(
            text, "<!-- columns:start -->", "<!-- columns:end -->", columns_table()
        )
        out.write_text(text, encoding="utf-8")
    print(f"updated {odd.relative_to(ROOT)} and {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
