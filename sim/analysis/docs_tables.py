"""Regenerate the generated tables in docs/ (``make docs``): tests check they match the code."""

from __future__ import annotations

from pathlib import Path

from sim.config.files import write_text_atomic
from sim.config.parameters import iter_params
from sim.model.codes import INSTRUMENTS
from sim.model.outputs import COLUMNS, DERIVED, MAXIMIZE, MINIMIZE, RUN_OUTCOMES, Outcome

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


def _direction(o: Outcome) -> str:
    return {MINIMIZE: "lower", MAXIMIZE: "higher"}.get(o.direction, "")


def columns_table() -> str:
    rows = ["| column | unit | better | definition |", "|---|---|---|---|"]
    for o in COLUMNS.values():
        rows.append(f"| `{o.name}` | {o.unit} | {_direction(o)} | {_cell(o.definition)} |")
    return "\n".join(rows)


def derived_table() -> str:
    rows = ["| outcome | unit | better | whole-run | definition |", "|---|---|---|---|---|"]
    for o in DERIVED.values():
        run = "yes" if o.name in RUN_OUTCOMES else ""
        rows.append(f"| `{o.name}` | {o.unit} | {_direction(o)} | {run} | {_cell(o.definition)} |")
    return "\n".join(rows)


def receipts_table() -> str:
    """The household receipt fields, three per instrument (they follow the registry's list)."""
    rows = ["| field | type | definition |", "|---|---|---|"]
    for i in INSTRUMENTS:
        rows += [
            f"| `{i}_first` | int16 | first year {i} was received, -1 never |",
            f"| `{i}_last` | int16 | last year {i} was received, -1 never |",
            f"| `{i}_cost` | float64 | programme cost of {i} for this household, yuan |",
        ]
    return "\n".join(rows)


def outputs_md(text: str) -> str:
    """docs/outputs.md's text with its generated tables (columns, derived outcomes, receipt
    fields) renewed."""
    text = _replace_between(text, "<!-- columns:start -->", "<!-- columns:end -->", columns_table())
    text = _replace_between(
        text, "<!-- receipts:start -->", "<!-- receipts:end -->", receipts_table()
    )
    return _replace_between(text, "<!-- derived:start -->", "<!-- derived:end -->", derived_table())


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
    write_text_atomic(odd, text)
    out = ROOT / "docs" / "outputs.md"
    write_text_atomic(out, outputs_md(out.read_text(encoding="utf-8")))
    print(f"updated {odd.relative_to(ROOT)} and {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
