"""The calibration runs: the seed county under each strategy and seed (optionally scaled down for
quick looks), the facts read from them, and the runs that move each fact's lever."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration.facts import (
    DEFAULT_SEEDS,
    FACTS,
    LEVER_SEEDS,
    STRATEGIES,
    YEARS,
    Fact,
    Lever,
)
from sim.config import CATEGORIES, Scenario
from sim.model.codes import Cause
from sim.model.population import _largest_remainder

INCOME_PARTS = ("farm", "livestock", "wage", "migrant", "business", "property", "transfers")

# ---------------------------------------------------------------------------------------------
# Scaling (for quick tests and looks)


def scaled_overrides(scenario: Scenario, factor: float) -> dict[str, Any]:
    """Dotted-path overrides that scale a scenario's counts by ``factor`` consistently.

    Households, people, the register and its categories (which still sum to the register),
    villages, poor villages and resettlement sites, enterprise capacities and jobs, and the
    yearly budget. People per household stay within 1..max_household_size in every group, so
    the result validates. Use with ``load_scenario(path, overrides)`` or ``--set``.
    """
    if not 0 < factor <= 1:
        raise ValueError(f"factor must be in (0, 1], got {factor}")
    p = scenario.population
    r = p.registered
    m = p.max_household_size
    cats = {c: getattr(r.categories, c) for c in CATEGORIES}
    reg_h = max(1 if r.households else 0, round(r.households * factor))
    shares = _largest_remainder(reg_h, [c.households for c in cats.values()])
    cat_h = {name: int(n) for name, n in zip(cats, shares, strict=True)}
    cat_p = {}
    for name, c in cats.items():
        if c.people > 0 and cat_h[name] > 0:
            cat_p[name] = int(min(max(round(c.people * factor), cat_h[name]), cat_h[name] * m))
        else:
            cat_p[name] = 0
    given = sum(cat_p.values())
    derived_h = sum(cat_h[n] for n, c in cats.items() if cat_p[n] == 0 and cat_h[n] > 0)
    if derived_h:
        reg_p = round(r.people * factor)
        reg_p = int(min(max(reg_p, given + derived_h), given + derived_h * m))
    else:
        reg_p = given
    other_h = max(round(p.households * factor) - reg_h, 1 if p.households > r.households else 0)
    other_p = round((p.people - r.people) * factor)
    other_p = int(min(max(other_p, other_h), other_h * m))
    out: dict[str, Any] = {
        "population.households": reg_h + other_h,
        "population.people": reg_p + other_p,
        "population.registered.households": reg_h,
        "population.registered.people": reg_p,
    }
    for name in cats:
        out[f"population.registered.categories.{name}.households"] = cat_h[name]
        out[f"population.registered.categories.{name}.people"] = cat_p[name]
    v = scenario.villages
    count = max(1, round(v.count * factor))
    out["villages.count"] = count
    out["villages.poor"] = min(count, max(1 if v.poor else 0, round(v.poor * factor)))
    if v.resettlement_sites:
        out["villages.resettlement_sites"] = max(1, round(v.resettlement_sites * factor))
    for i, e in enumerate(scenario.enterprises):
        out[f"enterprises.{i}.capacity"] = max(1 if e.capacity else 0, round(e.capacity * factor))
        out[f"enterprises.{i}.jobs"] = round(e.jobs * factor)
        if e.village is not None and e.village >= count:
            out[f"enterprises.{i}.village"] = count - 1
    out["budget.yearly"] = scenario.budget.yearly * factor
    return out


# ---------------------------------------------------------------------------------------------
# Running and recording


def _snapshot(model) -> dict[str, float]:
    """The quantities the facts describe, at the model's current year."""
    hh, persons = model.hh, model.persons
    y = model.year
    row = model.rows[-1]
    reg0 = hh.registered_year == 0
    ever = hh.registered
    size = hh.size.astype(np.float64)
    out = {
        "poverty_rate": row["poverty_rate"],
        "poverty_line": row["poverty_line"],
        "income_registered0": row["mean_income_pc_registered0"],
        "oop_registered": row["medical_oop_share_registered"],
        "catastrophic": row["catastrophic_health_share"],
    }
    for c in INCOME_PARTS:  # absent columns (older models) give NaN, not an error
        out[f"income_{c}"] = float(row.get(f"income_{c}_pc_reg0", math.nan))
    out["illness_cause_share"] = (
        float(((hh.causes[reg0] & int(Cause.ILLNESS)) != 0).mean()) if reg0.any() else math.nan
    )
    p_reg = ever[persons.hh]
    acute = persons.acute
    out["admission_registered"] = float(acute[p_reg].mean()) if p_reg.any() else math.nan
    out["admission_other"] = float(acute[~p_reg].mean()) if (~p_reg).any() else math.nan
    first = hh.microcredit_first
    borrowed = (first >= 0) & (first <= y)
    out["microcredit_takeup"] = float(borrowed[ever].mean()) if ever.any() else math.nan
    reloc = (hh.relocated_year >= 0) & (hh.relocated_year <= y)
    out["relocated_households"] = float(reloc.sum())
    out["relocated_income"] = (
        float(hh.net_income[reloc].sum() / size[reloc].sum()) if reloc.any() else math.nan
    )
    out["disposable_income"] = float(hh.net_income.sum() / size.sum())
    for c in REGISTER_COLUMNS:  # absent columns (older models) give NaN, not an error
        out[c] = float(row.get(c, math.nan))
    return out


REGISTER_COLUMNS = (
    "registered_households",
    "register_exits",
    "register_returns",
    "helped_in_place",
    "edge_helped",
    "help_in_place_cost",
    "paper_exits",
    "comprehensive_incidence",
    "omission_rate",
    "wrongful_exit_rate",
    "county_exit_test",
    "spending",
)


def falls_every_year(values) -> bool:
    """Each value below the one before (the record's shape of register returns, 2016-2019)."""
    return bool((np.diff(np.asarray(values, dtype=float)) < 0).all())


def register_metrics(df: pd.DataFrame) -> None:
    """Add the register trajectories the facts compare, from one run's yearly snapshots (in
    place): exits over the register at the start of the year, the rate over its 2015 level,
    returns over exits to date, returns falling since 2017, the register left, the exit test
    passed to date."""
    reg = df["registered_households"].to_numpy(dtype=float)
    ex = df["register_exits"].to_numpy(dtype=float)
    ret = df["register_returns"].to_numpy(dtype=float)
    prev = np.concatenate([[math.nan], reg[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        df["exit_share"] = np.where(prev > 0, ex / prev, math.nan)
        rate0 = df["poverty_rate"].iloc[0]
        df["nbs_ratio"] = df["poverty_rate"] / rate0 if rate0 > 0 else math.nan
        cum_ex = np.cumsum(np.nan_to_num(ex))
        df["returns_per_exit"] = np.where(cum_ex > 0, np.cumsum(np.nan_to_num(ret)) / cum_ex, 0.0)
    df["register_left"] = reg / reg[0] if reg[0] > 0 else math.nan
    falling = [math.nan] * len(df)
    for y in range(2, len(df)):  # 2017 < 2016, 2018 < 2017, ... up to year y
        falling[y] = float(falls_every_year(ret[1 : y + 1]))
    df["returns_falling"] = falling
    df["county_exit_passed"] = np.maximum.accumulate(np.nan_to_num(df["county_exit_test"]))


def run_one(scenario: Scenario, strategy: str, seed: int, years: int = YEARS) -> pd.DataFrame:
    """Step one run and record a snapshot per year: columns year + metrics."""
    from sim.model import PovertyModel

    model = PovertyModel(scenario, strategy=strategy, seed=seed, years=years, agents=False)
    rows = [{"year": 0, **_snapshot(model)}]
    for _ in range(years):
        model.step()
        rows.append({"year": model.year, **_snapshot(model)})
    df = pd.DataFrame(rows)
    base = df.loc[df["year"] == 0, "income_registered0"].iloc[0]
    df["income_growth"] = df["income_registered0"] / base if base else math.nan
    register_metrics(df)
    return df


def collect(
    scenario: Scenario,
    strategies=STRATEGIES,
    seeds=DEFAULT_SEEDS,
    years: int = YEARS,
) -> pd.DataFrame:
    """Long frame: strategy, seed, year, metric, value."""
    parts = []
    for strategy in strategies:
        for seed in seeds:
            df = run_one(scenario, strategy, seed, years)
            long = df.melt(id_vars="year", var_name="metric", value_name="value")
            long.insert(0, "seed", seed)
            long.insert(0, "strategy", strategy)
            parts.append(long)
    return pd.concat(parts, ignore_index=True)


def _summary(runs: pd.DataFrame, strategy: str, metric: str, year: int, seeds=None):
    sel = runs[(runs.strategy == strategy) & (runs.metric == metric) & (runs.year == year)]
    if seeds is not None:
        sel = sel[sel.seed.isin(list(seeds))]
    vals = sel["value"].to_numpy(dtype=float)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return math.nan, math.nan, math.nan
    return float(vals.mean()), float(vals.min()), float(vals.max())


def judged(runs: pd.DataFrame, fact: Fact, strategy: str) -> tuple[float, bool, str]:
    """(the judged mean, matches, text) of ``fact`` under ``strategy``: a "falling" fact by the
    mean trajectory of its ``trajectory`` metric over seeds, every other by :func:`verdict`."""
    value = _summary(runs, strategy, fact.metric, fact.year)[0]
    if fact.kind != "falling":
        return value, *verdict(fact, value)
    means = [_summary(runs, strategy, fact.trajectory, y)[0] for y in range(1, fact.year + 1)]
    ok = falls_every_year(means)
    shown = " → ".join(f"{m:,.1f}" for m in means)
    return value, ok, ("matches" if ok else "misses") + f": mean over seeds {shown}"


def verdict(fact: Fact, value: float) -> tuple[bool, str]:
    """(matches, text) for the judged mean against the fact."""
    if math.isnan(value):
        return False, "no value (nothing to measure in these runs)"
    ref = fact.reference
    if fact.kind == "shape":
        ok = value >= 1.0 - 1e-9
        return ok, ("matches: every seed" if ok else f"misses: {value:.0%} of seeds show it")
    if fact.bound:
        return _bound_verdict(fact, value)
    if fact.kind == "ratio":
        tol = fact.tol if fact.tol is not None else 0.10
        d = value - ref
        if abs(d) <= tol:
            return True, f"matches within {tol:g} ({d:+.2f})"
        return False, f"misses by {d:+.2f}"
    if fact.kind == "exact":
        ok = abs(value - ref) < 0.5
        return ok, "matches (an input)" if ok else f"differs by {value - ref:+,.0f}"
    if fact.kind == "share":
        d = (value - ref) * 100
        pts = 100 * fact.tol if fact.tol is not None else 3.0
        ok = abs(d) <= pts
        tag = " (by construction)" if fact.by_construction and ok else ""
        if ok:
            return True, f"matches within {pts:g} points ({d:+.1f}){tag}"
        return False, f"misses by {d:+.1f} points"
    rel = (value - ref) / ref * 100
    pct = 100 * fact.tol if fact.tol is not None else 10.0
    ok = abs(rel) <= pct
    if ok:
        return True, f"matches within {pct:g}% ({rel:+.0f}%)"
    return False, f"misses by {rel:+.0f}%"


def _bound_verdict(fact: Fact, value: float) -> tuple[bool, str]:
    """A one-sided fact: the value must be at most (at least) the reference."""
    ref = fact.reference
    scale, unit = (100.0, " points") if fact.kind == "share" else (1.0, "")
    d = (value - ref) * scale
    ok = value <= ref if fact.bound == "at_most" else value >= ref
    word = "at most" if fact.bound == "at_most" else "at least"
    if ok:
        return True, f"matches ({word} the reference)"
    return False, f"misses: {d:+.1f}{unit} beyond the bound"


def _lever_value(scenario: Scenario, lever: Lever) -> tuple[Any, Any]:
    base = scenario._tree
    node: Any = base
    for part in lever.path.split("."):
        node = node[part]
    new = node * lever.factor if lever.factor is not None else lever.value
    return node, new


def run_levers(
    scenario: Scenario, runs: pd.DataFrame, seeds, facts=FACTS, source: str | Path | None = None
) -> pd.DataFrame:
    """For each fact with a lever: the judged mean at the base value and at the lever value
    (the same seeds, so the difference is the parameter's effect)."""
    from sim.config import build_scenario

    seeds = list(seeds)[:LEVER_SEEDS]
    rows = []
    cache: dict[tuple, pd.DataFrame] = {}
    for fact in facts:
        if fact.lever is None:
            continue
        base_val, new_val = _lever_value(scenario, fact.lever)
        key = (fact.lever.path, repr(new_val), fact.judge)
        if key not in cache:
            over = {**scenario._overrides, fact.lever.path: new_val}
            data = _file_data(scenario, source)
            sc = build_scenario(data, scenario._source, over)
            cache[key] = collect(sc, (fact.judge,), seeds, YEARS)
        alt = cache[key]
        before, _, _ = _summary(runs, fact.judge, fact.metric, fact.year, seeds)
        after, _, _ = _summary(alt, fact.judge, fact.metric, fact.year, seeds)
        rows.append(
            {
                "fact": fact.key,
                "path": fact.lever.path,
                "base": base_val,
                "value": new_val,
                "strategy": fact.judge,
                "before": before,
                "after": after,
                "why": fact.lever.why,
            }
        )
    return pd.DataFrame(rows)


def _file_data(scenario: Scenario, source: str | Path | None) -> dict:
    from sim.config import read_toml

    path = source if source is not None else scenario._source
    return read_toml(path, "scenario file")
