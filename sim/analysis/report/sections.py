"""The sections of the report: the question, the set-up, the comparison, the figures, the
sensitivity, the assumptions that carry the most weight, provenance and warnings."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare import (
    Comparison,
    differences_frame,
    levels_frame,
)
from sim.analysis.report.document import Doc
from sim.analysis.report.readings import FigureStatus, _reading, myuan, pct, read_compare

ROOT = Path(__file__).resolve().parents[3]
ODD = ROOT / "docs" / "ODD.md"
SENSITIVITY = "sensitivity"

# Defaults that carry the most weight (the poverty trap and the strategies), shown with their effective values.
KEY_DEFAULTS = [
    "economy.poverty_line",
    "economy.assets.trap",
    "economy.assets.threshold",
    "economy.assets.return_low",
    "economy.assets.return_high",
    "programme.start_year",
    "programme.phase_out_year",
    "programme.support_after_exit",
    "programme.targeting",
    "budget.yearly",
    "budget.unspent",
    "instruments.dibao.standing_after_phase_out",
]


# ---------------------------------------------------------------------------------------------
# Sections


def _experiment(results) -> dict:
    """The experiment file as the manifest recorded it; tables of the wrong type are dropped
    (the copy is informative: a hand-edited manifest must not break the report)."""
    text = (results.manifest.get("experiment") or {}).get("text")
    if not text or not isinstance(text, str):
        return {}
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}
    tables = ("experiment", "levers", "uncertainties", "constants", "sampling", "outputs")
    return {k: v for k, v in data.items() if k not in tables or isinstance(v, dict)}


def _scenario(results):
    """The batch's scenario (as the file reads now) and a note if it changed or is gone."""
    from sim.config import ConfigError, load_scenario

    info = results.manifest.get("scenario") or {}
    path = info.get("path")
    if not path or not isinstance(path, str):
        return None, "the manifest names no scenario file"
    p = Path(path)
    if not p.is_file():
        return None, f"the scenario file {path} is gone; defaults are shown"
    import hashlib

    note = None
    if info.get("sha256") and hashlib.sha256(p.read_bytes()).hexdigest() != info["sha256"]:
        note = f"the scenario file {path} has changed since the batch ran; values are from the current file"
    try:
        return load_scenario(p), note
    except ConfigError as exc:
        return None, f"the scenario file {path} no longer loads ({exc.problems[0]})"


def describe_distribution(spec) -> str:
    """An uncertainty's distribution as text: ``uniform 0.1–0.16``, ``one of 0.05, 0.15``."""
    if not isinstance(spec, dict):
        return str(spec)
    if "values" in spec:
        return "one of " + ", ".join(
            f"{v:g}" if isinstance(v, float | int) else str(v) for v in spec["values"]
        )
    d = spec.get("dist", "?")
    if d == "uniform":
        text = f"uniform {spec['low']:g}–{spec['high']:g}"
    elif d == "triangular":
        text = f"triangular {spec['low']:g}–{spec['high']:g}, mode {spec['mode']:g}"
    elif d == "normal":
        text = f"normal, mean {spec['mean']:g}, sd {spec['sd']:g}"
    elif d == "lognormal":
        text = f"lognormal, mean {spec['mean']:g}, sigma {spec['sigma']:g}"
    else:
        text = d + " " + ", ".join(f"{k} {v}" for k, v in spec.items() if k != "dist")
    if d in ("normal", "lognormal") and ("low" in spec or "high" in spec):
        text += f", truncated to [{spec.get('low', '-∞')}, {spec.get('high', '∞')}]"
    return text


def _param_info(paths: list[str], scenario) -> pd.DataFrame:
    from sim.config.params_table import params_frame

    df = params_frame(scenario).set_index("path")
    return df.reindex(paths)


def _fmt_value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, int | float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"
    if isinstance(v, list):
        return ", ".join(_fmt_value(x) for x in v)
    return str(v)


def section_question(doc: Doc, exp: dict, scenario, strategies: list[str], horizon: int) -> None:
    """The batch's question, with its budget and programme years from the levers or the
    scenario (constants would override both; they are listed under the assumptions)."""
    levers = exp.get("levers", {})

    def setting(path: str, get) -> list:
        if path in levers:
            return list(levers[path])
        try:
            return [get(scenario)] if scenario is not None else []
        except AttributeError:
            return []

    budget = setting("budget.yearly", lambda sc: sc.budget.yearly)
    start = setting("programme.start_year", lambda sc: sc.programme.start_year)
    stop = setting("programme.phase_out_year", lambda sc: sc.programme.phase_out_year)
    money = ""
    if budget:
        money = " or ".join(myuan(b) for b in budget) + " a year"
        if len(start) == 1 and len(stop) == 1:
            money += f" in programme years {start[0]}–{stop[0]}"
        money = f"With the same programme money ({money}), which"
    doc.heading(2, "The question")
    names = ", ".join(f"`{s}`" for s in strategies)
    doc.para(
        f"{money or 'Which'} of {names} leaves fewer people poor by year {horizon}, and fewer "
        "households falling back into poverty (返贫) after the money stops? Transfusion (输血) "
        "lifts income while transfers last; blood-making (造血) builds capacity that should "
        "outlast the money."
    )
    desc = (exp.get("experiment") or {}).get("description")
    if desc:
        doc.para(f"Experiment: {desc}")


def section_setup(doc: Doc, results, exp: dict, scenario, horizon: int) -> None:
    doc.heading(2, "Scenario and experiment")
    ts = results.timeseries
    y0 = ts[ts["year"] == 0]
    m = results.manifest
    e = exp.get("experiment", {})
    items = []
    if scenario is not None:
        meta = scenario.meta
        items.append(
            f"Scenario **{meta.name}** (`{m.get('scenario', {}).get('path', '?')}`): "
            f"{scenario.population.households:,} households, {scenario.population.people:,} people, "
            f"{scenario.population.registered.households:,} registered poor households at year 0, "
            f"{scenario.villages.count} villages ({scenario.villages.poor} poor), "
            f"{len(scenario.enterprises)} leading enterprises; base year {meta.base_year}."
        )
    if len(y0):
        items.append(
            f"At year 0 (registration, the same in every run of a seed) the poverty rate is "
            f"{pct(y0['poverty_rate'].mean())} of persons "
            f"({y0['poverty_rate'].min() * 100:.1f}–{y0['poverty_rate'].max() * 100:.1f}% over runs), "
            f"with {y0['registered_households'].mean():,.0f} households on the register."
        )
    sampling = exp.get("sampling", m.get("sampling", {}))
    reps = sampling.get("replications", len(m.get("seeds", [])) or "?")
    items.append(
        f"Experiment **{e.get('name', m.get('experiment', {}).get('name', '?'))}** "
        f"(`{m.get('experiment', {}).get('path', '?')}`): horizon {horizon} years; "
        f"{m.get('total_runs', len(results.runs))} runs = lever combinations × "
        f"{sampling.get('samples', 1)} uncertainty samples ({sampling.get('method', 'lhs')}) × "
        f"{reps} replication seeds, the same seeds for every lever combination (paired)."
    )
    for name, values in (exp.get("levers") or {}).items():
        items.append(f"Lever `{name}`: {_fmt_value(values)}")
    doc.bullets(items)
    try:
        from sim.policies import available

        specs = available(scenario)
        strategies = list(dict.fromkeys(results.runs["strategy"]))
        doc.bullets([f"`{s}`: {specs[s].description}" for s in strategies if s in specs])
    except Exception:  # a strategy defined only in the experiment file: its name is enough
        pass
    text = (m.get("experiment") or {}).get("text")
    if text:
        doc.pre(text.strip(), "The experiment file, as run")


def section_compare(doc: Doc, comparison: Comparison) -> None:
    doc.heading(2, "Compare table")
    n = comparison.table["runs"]
    runs = f"{n.min()}" if n.min() == n.max() else f"{n.min()}–{n.max()}"
    doc.para(
        f"Each cell is the **mean** over the {runs} runs of a lever combination with, in brackets, "
        "the **5th and 95th percentiles of the run values** — a 90% interval across replication "
        "seeds and uncertainty samples (how much the outcome varies with what nobody controls, not "
        "the uncertainty of the mean). Shares are in %, spending in million yuan. Written to "
        "`compare.csv` with every column's unit in its header."
    )
    doc.table(levels_frame(comparison), index_label="outcome")
    doc.bullets(read_compare(comparison))
    diffs = differences_frame(comparison, two_lines=True)
    if diffs.shape[1]:
        ref = comparison.reference
        doc.heading(3, f"Paired differences against {ref}")
        doc.para(
            f"Each run minus the `{ref}` run with the same uncertainty sample and seed (the same "
            "households and shocks): mean [5th, 95th percentile] over pairs in percentage points "
            "(pp) for shares, then the share of pairs in which the difference has the favourable "
            "sign. The cost per additional sustained exit is mean Δspending / mean Δsustained "
            "exits over pairs (a ratio of means) with a 90% bootstrap interval over pairs; ∞ "
            "means that some resamples add no sustained exit."
        )
        doc.table(diffs, index_label="outcome (better if)")
    missing = [
        o for o in comparison.outcomes if comparison.runs[o].isna().all() if o in comparison.runs
    ]
    if missing:
        doc.para(
            "Not recorded by this batch (shown as –): " + ", ".join(f"`{o}`" for o in missing),
            css="warning",
        )


def section_absorption(doc: Doc, results) -> None:
    """What each strategy's instruments could not use of their own allotment, and why: where
    money cannot be spent is a planning finding (absorptive capacity)."""
    ts = results.timeseries
    cols = [c for c in ts.columns if c.startswith("unabsorbed_")]
    if not cols or "strategy" not in results.runs:
        return
    strategy = results.runs.set_index("run_id")["strategy"]
    per_run = ts.groupby("run_id")[[*cols, "spending"]].sum()
    per_run["unspent"] = ts.groupby("run_id")["unspent"].sum() if "unspent" in ts else np.nan
    mean = per_run.groupby(strategy.reindex(per_run.index).values).mean() / 1e6
    mean = mean[mean["spending"] > 0]
    if mean.empty:
        return
    used = [c for c in cols if (mean[c] > 0.005).any()]
    from sim.policies.registry import instruments

    limits = {name: inst.limit for name, inst in instruments().items()}
    doc.heading(2, "What the strategies could not absorb")
    doc.para(
        "Mean over runs, in million yuan over the horizon, of what each instrument could not use "
        "of its own allotment (its share of the budget, or what was left under priority "
        "allocation) in the first pass of each year, beside what the strategy spent and what "
        "was finally left unspent (returned or carried over; with `budget.unspent = "
        '"reallocate"` the strategy\'s other instruments took what they could). The reason is '
        "what, besides money, limits each instrument."
    )
    table = mean[["spending", "unspent", *used]].round(1)
    table.columns = ["spent", "left unspent", *(c.removeprefix("unabsorbed_") for c in used)]
    doc.table(table, index_label="strategy")
    lines = []
    for s, row in mean.iterrows():
        big = sorted(((row[c], c.removeprefix("unabsorbed_")) for c in used), reverse=True)
        big = [(v, i) for v, i in big if v >= 0.05 * max(row["spending"], 1e-9)]
        if big:
            lines.append(
                f"`{s}` could not use "
                + "; ".join(f"{myuan(v * 1e6)} of {i} ({limits.get(i, '')})" for v, i in big)
            )
    doc.bullets(lines)


def section_figures(
    doc: Doc, results, figures: list[FigureStatus], reference: str, odd_link: str
) -> None:
    doc.heading(2, "Figures")
    doc.para(
        "Lines are medians over runs; the darker band holds the middle 50% of runs and the lighter "
        "band the middle 90% (5th–95th percentiles). Colours are the Okabe–Ito palette."
    )
    skipped = []
    for k, status in enumerate(figures, 1):
        if status.path is None:
            skipped.append(f"{status.question} (`{status.slug}`): {status.skipped}")
            continue
        doc.heading(3, f"{k}. {status.question}")
        doc.figure(
            status.path,
            f"figures/{status.path.name}",
            status.question,
            _reading(status, results, reference),
        )
    if skipped:
        doc.para("Figures not drawn because the batch did not record their data:", css="warning")
        doc.bullets(skipped)


def section_sensitivity(doc: Doc, results) -> None:
    folder = results.path / SENSITIVITY
    csv = folder / "indices.csv"
    if not csv.is_file():
        return
    doc.heading(2, "Sensitivity")
    try:
        df = pd.read_csv(csv)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        doc.para(f"`sensitivity/indices.csv` could not be read: {exc}", css="warning")
        return
    needed = {"outcome", "factor", "method", "index", "value"}
    if not needed <= set(df.columns):
        doc.para(
            "`sensitivity/indices.csv` lacks the columns "
            + ", ".join(sorted(needed - set(df.columns))),
            css="warning",
        )
        return
    doc.para(
        "Indices written by `povsim sensitivity`: how much each factor moves each outcome "
        "(confidence bounds in brackets where the method gives them)."
    )
    for (outcome, method), g in df.groupby(["outcome", "method"], sort=False):
        cells = g.assign(
            cell=[
                f"{v:.3g}" + (f" [{lo:.3g}, {hi:.3g}]" if pd.notna(lo) and pd.notna(hi) else "")
                for v, lo, hi in zip(
                    g["value"], g.get("conf_low", np.nan), g.get("conf_high", np.nan), strict=False
                )
            ]
        )
        wide = cells.pivot_table(index="factor", columns="index", values="cell", aggfunc="first")
        vals = g.pivot_table(index="factor", columns="index", values="value", aggfunc="first")
        key = next(
            (c for c in ("ST", "mu_star", "S1", "delta") if c in vals.columns), vals.columns[0]
        )
        order = vals[key].sort_values(ascending=False)
        wide = wide.reindex(order.index)
        doc.heading(3, f"{outcome} ({method})")
        top = order.index[:2]
        reading = f"By {key}, `{top[0]}` moves {outcome} most ({order.iloc[0]:.3g})"
        reading += f", then `{top[1]}` ({order.iloc[1]:.3g})." if len(top) > 1 else "."
        doc.para(reading)
        doc.table(wide.fillna(""), index_label="factor")
    for path in sorted((folder / "figures").glob("*.png")):
        doc.figure(path, f"{SENSITIVITY}/figures/{path.name}", path.stem.replace("_", " "), [])


def section_assumptions(
    doc: Doc, results, exp: dict, scenario, note: str | None, odd_link: str
) -> None:
    doc.heading(2, "Assumptions that carry the most weight")
    doc.para(
        f"The model is described in [docs/ODD.md]({odd_link}); every parameter has a unit and a "
        "source in `sim/config/parameters/defaults.toml` (`povsim params`)."
    )
    if note:
        doc.para(note, css="warning")
    unc = exp.get("uncertainties") or {}
    levers = exp.get("levers") or {}
    consts = exp.get("constants") or {}
    paths = [*unc, *(p for p in levers if p != "strategy"), *consts, *KEY_DEFAULTS]
    info = _param_info(list(dict.fromkeys(paths)), scenario)
    rows = []
    for p, spec in unc.items():
        rows.append(
            (
                "uncertainty",
                p,
                describe_distribution(spec),
                info.loc[p, "unit"],
                info.loc[p, "description"],
            )
        )
    for p, values in levers.items():
        if p == "strategy":
            continue
        rows.append(
            ("lever", p, _fmt_value(values), info.loc[p, "unit"], info.loc[p, "description"])
        )
    for p, value in consts.items():
        rows.append(
            ("constant", p, _fmt_value(value), info.loc[p, "unit"], info.loc[p, "description"])
        )
    varied = set(unc) | set(levers) | set(consts)
    for p in KEY_DEFAULTS:
        if p in varied or p not in info.index or pd.isna(info.loc[p, "unit"]):
            continue
        rows.append(
            (
                "default",
                p,
                _fmt_value(info.loc[p, "value"]),
                info.loc[p, "unit"],
                info.loc[p, "description"],
            )
        )
    table = pd.DataFrame(rows, columns=["kind", "parameter", "value or range", "unit", "meaning"])
    table = table.fillna("")
    table["parameter"] = "`" + table["parameter"] + "`"
    doc.table(table, index=False, text=True)


def section_provenance(doc: Doc, results) -> None:
    m = results.manifest
    doc.heading(2, "Provenance")
    versions = m.get("versions", {})
    counts = m.get("counts", {})
    items = [
        f"Batch folder: `{results.path}`; status **{m.get('status', '?')}**; runs: "
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("ok", "failed", "pending"))
        + f" of {m.get('total_runs', len(results.runs))}.",
        f"Started {m.get('started', '?')}, finished {m.get('finished') or '(not finished)'} (UTC).",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"Experiment file `{m.get('experiment', {}).get('path', '?')}`, sha256 "
        f"`{m.get('experiment', {}).get('sha256', '?')}`.",
        f"Scenario file `{m.get('scenario', {}).get('path', '?')}`, sha256 "
        f"`{m.get('scenario', {}).get('sha256', '?')}`.",
        f"Master seed {m.get('master_seed', '?')}; sampling {json.dumps(m.get('sampling', {}))}.",
        "Replication seeds (the same for every lever combination and sample): "
        + ", ".join(str(s) for s in m.get("seeds", [])),
    ]
    for s in m.get("sessions", []):
        items.append(
            f"Session {s.get('started', '?')} – {s.get('ended', '?')}: {s.get('runs', '?')} runs on "
            f"{s.get('backend', '?')} with {s.get('workers', '?')} workers."
        )
    doc.bullets(items)
    runs = results.runs
    failed = runs[runs["status"] == "failed"] if "status" in runs else runs.iloc[:0]
    if len(failed):
        doc.heading(3, "Failed runs")
        cols = [
            c
            for c in ("run_id", "strategy", "sample", "replication", "seed", "error")
            if c in failed
        ]
        doc.table(failed[cols].astype(str), index=False, text=True)


def warnings_of(results, comparison: Comparison | None, figures: list[FigureStatus]) -> list[str]:
    """What a reader must know before reading the numbers."""
    out = []
    runs = results.runs
    status = runs["status"] if "status" in runs else pd.Series("ok", index=runs.index)
    n_failed, n_pending = int((status == "failed").sum()), int((status == "pending").sum())
    if n_failed:
        out.append(
            f"{n_failed} of {len(runs)} runs failed; every number below uses the "
            f"{int((status == 'ok').sum())} finished runs (see Provenance for the errors). Pairs "
            "whose reference or comparison run failed are dropped."
        )
    if n_pending:
        out.append(
            f"The batch is incomplete ({results.manifest.get('status', '?')}): {n_pending} runs have "
            "not run; finish it with `povsim batch EXPERIMENT --out DIR --resume`."
        )
    skipped = [f.slug for f in figures if f.path is None]
    if skipped:
        out.append(
            f"Missing outcomes: figures {', '.join(skipped)} could not be drawn (see Figures)."
        )
    if comparison is not None:
        missing = [
            o
            for o in comparison.outcomes
            if o in comparison.runs and comparison.runs[o].isna().all()
        ]
        if missing:
            out.append("Missing outcomes in the compare table: " + ", ".join(missing) + ".")
    return out
