"""Assemble the report from its sections and write report.html and report.md."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sim.analysis.compare import (
    compare,
)
from sim.analysis.files import write_csv
from sim.analysis.report.document import Doc
from sim.analysis.report.readings import _stale, ensure_figures
from sim.analysis.report.sections import (
    ODD,
    _experiment,
    _scenario,
    section_absorption,
    section_assumptions,
    section_compare,
    section_figures,
    section_provenance,
    section_question,
    section_sensitivity,
    section_setup,
    warnings_of,
)
from sim.config.files import write_text_atomic

# ---------------------------------------------------------------------------------------------
# The report


def resolve_reference(results, reference: str | None) -> str:
    """The given reference, else status_quo if the batch has it, else its first strategy."""
    ok = results.runs[results.runs["status"] == "ok"] if "status" in results.runs else results.runs
    strategies = list(dict.fromkeys(ok["strategy"]))
    if reference:
        return reference
    return "status_quo" if "status_quo" in strategies else strategies[0]


def build_report(
    results, reference: str | None = None, notify: Callable[[str], None] = print
) -> Doc:
    """Assemble the report; makes compare.csv and the figures first if missing or stale."""
    reference = resolve_reference(results, reference)
    comparison = compare(results, reference=reference)
    csv = results.path / "compare.csv"
    if _stale(csv, results):
        write_csv(comparison.table, csv)
        notify(f"wrote {csv}")
    figures = ensure_figures(results, reference, notify)
    exp = _experiment(results)
    scenario, note = _scenario(results)
    odd_link = os.path.relpath(ODD, results.path.resolve())
    name = results.manifest.get("experiment", {}).get("name", results.path.name)
    strategies = list(dict.fromkeys(comparison.table["strategy"]))

    doc = Doc()
    when = results.manifest.get("finished") or results.manifest.get("updated", "")
    doc.title(
        f"{name}: what the strategies buy",
        f"povsim batch report · batch of {when} · reference strategy `{reference}`",
    )
    for w in warnings_of(results, comparison, figures):
        doc.para(w, css="warning")
    section_question(doc, exp, scenario, strategies, comparison.horizon)
    section_setup(doc, results, exp, scenario, comparison.horizon)
    section_compare(doc, comparison)
    section_absorption(doc, results)
    section_figures(doc, results, figures, reference, odd_link)
    section_sensitivity(doc, results)
    section_assumptions(doc, results, exp, scenario, note, odd_link)
    section_provenance(doc, results)
    return doc


def write_report(
    results, reference: str | None = None, notify: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """Write RESULTS/report.html (self-contained) and RESULTS/report.md; returns their paths."""
    doc = build_report(results, reference, notify)
    name = results.manifest.get("experiment", {}).get("name", results.path.name)
    html_path, md_path = results.path / "report.html", results.path / "report.md"
    page, text = doc.render_html(f"{name} — povsim report"), doc.render_md()
    write_text_atomic(html_path, page)
    write_text_atomic(md_path, text)
    return html_path, md_path
