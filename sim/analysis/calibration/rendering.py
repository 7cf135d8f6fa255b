"""docs/calibration.md: simulated values beside the facts, every gap stated plainly with the
parameter that would close it, and the yearly table."""

from __future__ import annotations

import hashlib
import math
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration.decomposition import section as decomposition_section
from sim.analysis.calibration.facts import (
    DEFAULT_SCENARIO,
    DEFAULT_SEEDS,
    FACT_SET,
    FACTS,
    HAND_SET,
    HAND_TARGETS,
    HINDCAST_KEYS,
    HINDCAST_SCENARIO,
    LEVER_SEEDS,
    ROOT,
    STRATEGIES,
    YEARS,
    Fact,
    role_of,
)
from sim.analysis.calibration.hindcast import collect_hindcast
from sim.analysis.calibration.hindcast import section as hindcast_section
from sim.analysis.calibration.runs import _summary, collect, judged, run_levers
from sim.config import Scenario, load_scenario
from sim.config.parameters import iter_params

# ---------------------------------------------------------------------------------------------
# Report


def _fmt(fact: Fact, v: float) -> str:
    if math.isnan(v):
        return "—"
    if fact.kind == "share":
        return f"{v:.1%}"
    if fact.metric == "income_growth" or fact.kind == "ratio":
        return f"{v:.2f}"
    if fact.kind in ("shape", "falling"):
        return f"{v:.0%} of seeds"
    return f"{v:,.0f}"


def _cell(fact: Fact, mean: float, lo: float, hi: float, n: int) -> str:
    if math.isnan(mean):
        return "—"
    if n > 1 and not math.isclose(lo, hi, rel_tol=1e-9, abs_tol=1e-12):
        return f"{_fmt(fact, mean)} [{_fmt(fact, lo)}–{_fmt(fact, hi)}]"
    return _fmt(fact, mean)


def fact_rows(runs: pd.DataFrame, strategies=STRATEGIES, facts=FACTS) -> list[dict]:
    n = runs["seed"].nunique()
    out = []
    for f in facts:
        cells = {s: _cell(f, *_summary(runs, s, f.metric, f.year), n) for s in strategies}
        value, ok, text = judged(runs, f, f.judge)
        if f.key in HINDCAST_KEYS:  # a fact of the policy followed: the hindcast judges it
            text += " (this county's flagship set-up; the hindcast below sets it beside the record)"
        out.append(
            {
                "key": f.key,
                "fact": f.label,
                "year": f.year,
                "reference": f.reference_text,
                **cells,
                "judged": f.judge,
                "value": value,
                "matches": ok,
                "verdict": text,
                "source": f.source,
                "kind": role_of(f),
            }
        )
    return out


def _git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sim", "scenarios"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable (not a git checkout)"
    return f"{sha} (with uncommitted changes in sim/ or scenarios/)" if dirty else sha


def _param_value(scenario: Scenario, path: str):
    node: Any = scenario._tree
    for part in path.split("."):
        node = node[part]
    return node


def _gap_text(row: dict, fact: Fact, levers: pd.DataFrame, lever_seeds: str) -> str:
    value = row["value"]
    lines = [
        f"- **{fact.label}** ({_year_label(fact.year)}): simulated {_fmt(fact, value)} under "
        f"`{fact.judge}` against {fact.reference_text}; {row['verdict']}."
    ]
    if fact.note:
        lines.append(f"  {fact.note}")
    lev = levers[levers["fact"] == fact.key] if len(levers) else levers
    if fact.lever is not None and len(lev):
        r = lev.iloc[0]
        before, after = r["before"], r["after"]
        lines.append(
            f"  Parameter: `{r['path']}` ({r['why']}). Measured: {r['base']:g} → {r['value']:g} "
            f"moves it from {_fmt(fact, before)} to {_fmt(fact, after)} (seeds "
            f"{lever_seeds})."
        )
        base = float(r["base"])
        step = float(r["value"]) - base
        slope = (after - before) / step if step != 0 else math.nan
        if math.isnan(slope) or abs(slope) < 1e-12 or math.isnan(value):
            lines.append("  Expected: this parameter alone does not move it here.")
        else:
            need = base + (fact.reference - before) / slope
            if _plausible(r["path"], base, need):
                lines.append(
                    f"  Expected: a value near {need:.3g} would close the gap if the response "
                    "were linear (it is not; read this as direction and rough size only)."
                )
            else:
                lines.append(
                    f"  Expected: no plausible value of this parameter alone closes the gap "
                    f"(a linear extrapolation asks for {need:.3g}); the gap is structural."
                )
    return "\n".join(lines)


def _plausible(path: str, base: float, need: float) -> bool:
    """Whether a linearly extrapolated parameter value is within reach: the same sign, within
    a factor of three of the base, and at most 1 for probabilities and shares."""
    unit = {p.path: p.unit for p in iter_params()}.get(path, "")
    if need < 0 or (base > 0 and not base / 3 <= need <= base * 3):
        return False
    return not (("probability" in unit or "share" in unit) and need > 1)


def _year_label(year: int) -> str:
    return f"year {year} = {2015 + year}"


def render(
    scenario: Scenario,
    runs: pd.DataFrame,
    levers: pd.DataFrame,
    seeds,
    strategies=STRATEGIES,
    seconds: float | None = None,
    scenario_path: str | Path | None = None,
    hindcast: tuple | None = None,
) -> str:
    """docs/calibration.md from the calibration runs and lever runs (and the hindcast's
    ``(scenario, runs, variants, seeds, path)``, when given)."""
    rows = fact_rows(runs, strategies)
    base_year = scenario.meta.base_year
    lever_seeds = list(seeds)[:LEVER_SEEDS]
    lever_seed_text = ", ".join(str(s) for s in lever_seeds)
    L = _setup_section(scenario, runs, seeds, strategies, seconds, scenario_path)
    L += _facts_section(rows, strategies, base_year)
    L += _kinds_section(rows)
    L += _hand_set_section(scenario)
    L += _gaps_section(rows, levers, lever_seed_text)
    if hindcast is not None:
        L += hindcast_section(*hindcast)
    L += decomposition_section(runs)
    L += _trap_figure_section()
    L += _yearly_section(runs, strategies, base_year)
    L += _sensitivity_section(levers)
    return "\n".join(L)


def _setup_section(scenario, runs, seeds, strategies, seconds, scenario_path) -> list[str]:
    """Title and set-up: versions, scenario file and overrides, strategies, seeds, years."""
    import mesa

    import sim

    base_year = scenario.meta.base_year
    lever_seeds = list(seeds)[:LEVER_SEEDS]
    path = Path(scenario_path) if scenario_path else Path(scenario._source)
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    except OSError:
        sha, shown = "n/a", path
    over = scenario._overrides
    L = []
    L.append("# Calibration report")
    L.append("")
    L.append(
        "Generated by `python -m sim.analysis.calibration` (`make calibration`); do not edit by hand. It "
        "sets the seed county's simulated values beside the official facts that the model can "
        "reproduce, states every gap plainly and names the parameter that would move each fact."
    )
    L.append("")
    L.append("## Set-up")
    L.append("")
    L.append(f"- date: {datetime.now(UTC).date().isoformat()} (UTC)")
    L.append(f"- povsim version: {sim.__version__}; git commit: {_git_commit()}")
    L.append(
        f"- python {platform.python_version()}, numpy {np.__version__}, pandas "
        f"{pd.__version__}, mesa {mesa.__version__}"
    )
    L.append(f"- scenario: `{shown}` (sha256 {sha}…), {scenario.meta.name}")
    if over:
        L.append("- overrides: " + ", ".join(f"`{k}={v}`" for k, v in sorted(over.items()) if k))
    L.append(
        f"- {scenario.population.households:,} households, {scenario.population.people:,} "
        f"people; {scenario.population.registered.households:,} registered households"
    )
    L.append(f"- strategies: {', '.join(f'`{s}`' for s in strategies)}")
    L.append(
        f"- seeds: {', '.join(str(s) for s in seeds)} (cells show the mean over seeds and "
        f"[min–max]); parameter sensitivities use seeds {', '.join(map(str, lever_seeds))}"
    )
    L.append(
        f"- years: 0..{int(runs['year'].max())} = {base_year}..{base_year + int(runs['year'].max())}"
        " (year 0 is the registration snapshot; the programme runs from year 1)"
    )
    if seconds is not None:
        L.append(f"- run time: {seconds:.0f} s")
    L.append("")
    return L


def _facts_section(rows, strategies, base_year) -> list[str]:
    """Each fact beside the simulated values, with its verdict, sources and definitions."""
    L = []
    L.append("## Facts and simulated values")
    L.append("")
    L.append(
        "The verdict compares the mean of the judged strategy with the fact: shares match within "
        "3 percentage points, money within 10%. The real 2016-2020 campaign is closest to "
        "`precision`, so every fact after year 0 is judged under it; year-0 values do not "
        "depend on the strategy. *kind* says what a match is worth (next section)."
    )
    L.append("")
    head = ["fact", "year", "reference", *strategies, "judged", "verdict", "kind"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for r in rows:
        cells = [
            r["fact"],
            f"{r['year']} ({base_year + r['year']})",
            r["reference"],
            *[r[s] for s in strategies],
            f"`{r['judged']}`",
            ("✅ " if r["matches"] else "❌ ") + r["verdict"],
            r["kind"],
        ]
        L.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    L.append("")
    n_ok = sum(r["matches"] for r in rows)
    L.append(f"{n_ok} of {len(rows)} rows match; sources of the facts:")
    L.append("")
    for f in FACTS:
        L.append(f"- {f.label}: {f.source}.")
    L.append("")
    L.append("Definitions:")
    L.append("")
    L.append(
        "- *registered income*: `mean_income_pc_registered0`, the per-capita net income (before "
        "rigid spending) of the households registered at year 0, whatever their status later."
    )
    L.append(
        "- *illness as a cause*: the `Cause.ILLNESS` bit of `causes` among households registered "
        "at year 0."
    )
    L.append(
        "- *admission rate*: share of persons with a hospital episode (`acute`) in the year, by "
        "whether their household is (ever) registered."
    )
    L.append(
        "- *out-of-pocket share*: `medical_oop_share_registered`; *catastrophic*: "
        "`catastrophic_health_share` (all households)."
    )
    L.append(
        "- *microcredit take-up*: ever-registered households with `microcredit_first` in "
        "0..year, over ever-registered households."
    )
    L.append(
        "- *relocated income*: sum of `net_income` over sum of `size` for households with "
        "`relocated_year` in 0..year."
    )
    L.append("")

    return L


KIND_TEXT = {
    "input": "INPUT: a parameter is set to the number, so a match only checks the plumbing",
    "construction": "BY CONSTRUCTION: the synthesis of the population makes it true",
    "set": "SET TO: a parameter was tuned to match it, so a match is not evidence",
    "reproduces": "REPRODUCES: nothing was tuned to it; only these rows are evidence",
}


def _kinds_section(rows) -> list[str]:
    """How many facts of each kind match: only untuned reproductions are evidence."""
    L = ["## What kind of evidence each fact is", ""]
    L.append("| kind | meaning | facts | match |")
    L.append("|---|---|---|---|")
    for kind, text in KIND_TEXT.items():
        mine = [r for r in rows if r["kind"] == kind]
        label, meaning = text.split(": ", 1)
        ok = sum(r["matches"] for r in mine)
        L.append(f"| {kind} | {label}: {meaning} | {len(mine)} | {ok} of {len(mine)} |")
    rep = [r for r in rows if r["kind"] == "reproduces"]
    L += [
        "",
        f"Of the {len(rep)} facts the model reproduces untuned, {sum(r['matches'] for r in rep)} "
        "match: "
        + "; ".join(f"{r['fact']} ({'matches' if r['matches'] else 'misses'})" for r in rep)
        + ".",
        "",
    ]
    return L


def _trap_figure_section() -> list[str]:
    """Link to the asset-trajectory figure when it has been drawn."""
    fig = ROOT / "docs" / "figures" / "trap.png"
    if not fig.exists():
        return []
    return [
        "## Poverty trap: asset trajectories",
        "",
        "![asset trajectories around the threshold](figures/trap.png)",
        "",
    ]


def _hand_set_section(scenario) -> list[str]:
    """Parameters set by hand, to match a fact, or copied from a fact: no evidence either way."""
    L = []
    L.append("## Parameters set by hand")
    L.append("")
    L.append(f"These were set by hand (docs/ODD.md §10) to match {HAND_TARGETS}:")
    L.append("")
    L.append("| parameter | value here | default |")
    L.append("|---|---|---|")
    idx = {p.path: p for p in iter_params()}
    for path in HAND_SET:
        L.append(f"| `{path}` | {_param_value(scenario, path)} | {idx[path].value} |")
    L.append("")
    L.append("Instrument parameters set to match a fact (so matching it is not evidence either):")
    L.append("")
    L.append("| parameter | value here | fact |")
    L.append("|---|---|---|")
    for path, fact in FACT_SET.items():
        L.append(f"| `{path}` | {_param_value(scenario, path)} | {fact} |")
    L.append("")
    L.append(
        "Parameters whose default is copied from a calibration fact (so matching that fact is "
        "not evidence for the model):"
    )
    L.append("")
    L.append("| parameter | value here | source |")
    L.append("|---|---|---|")
    for p in iter_params():
        if "calibration fact" in p.source:
            L.append(f"| `{p.path}` | {_param_value(scenario, p.path)} | {p.source} |")
    L.append("")

    return L


def _gaps_section(rows, levers, lever_seed_text) -> list[str]:
    """Every fact that does not match, stated plainly with the lever that would move it."""
    L = []
    L.append("## Gaps")
    L.append("")
    misses = [(r, f) for r, f in zip(rows, FACTS, strict=True) if not r["matches"]]
    if not misses:
        L.append("Every fact matches within its tolerance.")
    for r, f in misses:
        L.append(_gap_text(r, f, levers, lever_seed_text))
    L.append(
        "- **Poverty line 2020**: the default series follows the NBS line in current prices "
        "(2,855 / 2,952 / 2,952 / 2,995 / 3,218 yuan for 2015-2019) and grows 3% a year after, "
        "about 3,315 yuan in 2020. The often quoted 'about 4,000 yuan in 2020' is not used: it "
        "mixes price bases and would add a 24% jump in one year."
    )
    L.append("")
    return L


def _yearly_section(runs, strategies, base_year) -> list[str]:
    L = []
    L.append("## Yearly values")
    L.append("")
    L.append(
        "Mean over seeds, by strategy and year (the per-year snapshots behind the table above)."
    )
    L.append("")
    L.extend(yearly_table(runs, strategies, base_year))
    L.append("")
    return L


def _sensitivity_section(levers) -> list[str]:
    """One parameter per fact, re-run with the same seeds."""
    L = []
    L.append("## Sensitivity: one parameter per fact")
    L.append("")
    L.append(
        "Each row re-runs the judged strategy with one parameter changed (same seeds, so the "
        "difference is the parameter's effect, not noise). Nothing here changes a default."
    )
    L.append("")
    L.append("| fact | parameter | base → new | strategy | before | after |")
    L.append("|---|---|---|---|---|---|")
    fidx = {f.key: f for f in FACTS}
    for _, r in levers.iterrows():
        f = fidx[r["fact"]]
        L.append(
            f"| {f.label} ({f.year}) | `{r['path']}` | {r['base']:g} → {r['value']:g} | "
            f"`{r['strategy']}` | {_fmt(f, r['before'])} | {_fmt(f, r['after'])} |"
        )
    L.append("")
    return L


YEARLY = (
    ("poverty_rate", "poverty rate", "share"),
    ("income_registered0", "registered income (yuan/person)", "money"),
    ("oop_registered", "out-of-pocket share, registered", "share"),
    ("catastrophic", "catastrophic health spending", "share"),
    ("admission_registered", "admission rate, registered", "share"),
    ("microcredit_takeup", "microcredit take-up, registered", "share"),
    ("relocated_households", "relocated households", "count"),
    ("relocated_income", "relocated income (yuan/person)", "money"),
)


def yearly_table(runs: pd.DataFrame, strategies, base_year: int) -> list[str]:
    years = sorted(int(y) for y in runs["year"].unique())
    mean = runs.groupby(["strategy", "metric", "year"])["value"].mean()
    head = ["strategy", "quantity", *(f"{base_year + y}" for y in years)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for strategy in strategies:
        for metric, label, kind in YEARLY:
            cells = []
            for y in years:
                v = float(mean.get((strategy, metric, y), math.nan))
                if math.isnan(v):
                    cells.append("—")
                elif kind == "share":
                    cells.append(f"{v:.1%}")
                else:
                    cells.append(f"{v:,.0f}")
            out.append(f"| `{strategy}` | {label} | " + " | ".join(cells) + " |")
    return out


def build_report(
    scenario_path: str | Path = DEFAULT_SCENARIO,
    seeds=DEFAULT_SEEDS,
    strategies=STRATEGIES,
    overrides: dict | None = None,
    hindcast_path: str | Path | None = HINDCAST_SCENARIO,
    hindcast_overrides: dict | None = None,
) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Run everything and return (markdown, runs, levers); the hindcast (``hindcast_path``,
    None: none) with its own overrides."""
    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path, overrides or None)
    runs = collect(scenario, strategies, seeds, YEARS)
    levers = run_levers(scenario, runs, seeds, source=scenario_path)
    hindcast = None
    if hindcast_path is not None:
        hc = collect_hindcast(hindcast_path, seeds, hindcast_overrides)
        hindcast = (*hc, seeds, hindcast_path)
    seconds = time.perf_counter() - t0
    text = render(scenario, runs, levers, seeds, strategies, seconds, scenario_path, hindcast)
    return text, runs, levers
