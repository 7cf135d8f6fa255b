"""Outcomes per run, read from a batch's yearly timeseries: the shared vocabulary of compare,
targets, discovery and sensitivity.

An outcome is named ``METRIC@YEAR`` (any timeseries column at a year, e.g. ``poverty_rate@10``)
or is a whole-run outcome read at a run's last year (``RUN_OUTCOMES`` of the outcome registry
``sim.model.outputs``, which gives every outcome's unit and definition). Paired
differences between strategies match runs on (sample, replication): the same uncertainty draw
and the same seed, so the same households and shocks.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sim.model.outputs import COLUMNS, OUTCOMES, RUN_OUTCOMES

PAIR_KEYS = ("sample", "replication")

_AT = re.compile(r"^(?P<metric>[A-Za-z_][A-Za-z0-9_]*)@(?P<year>\d+)$")


def parse_outcome(name: str) -> tuple[str, int | None]:
    """``poverty_rate@10`` → ("poverty_rate", 10); a derived outcome → (name, None).

    Raises ValueError with the allowed forms for anything else.
    """
    m = _AT.match(name.strip())
    if m:
        metric = m["metric"]
        if metric not in COLUMNS:
            raise ValueError(
                f"unknown metric {metric!r} in {name!r}; allowed: a timeseries column "
                "(docs/outputs.md) at a year, e.g. poverty_rate@10, or one of "
                + ", ".join(RUN_OUTCOMES)
            )
        return metric, int(m["year"])
    if name in RUN_OUTCOMES:
        return name, None
    raise ValueError(
        f"unknown outcome {name!r}; allowed: METRIC@YEAR with METRIC a timeseries column "
        f"(e.g. poverty_rate@10), or one of {', '.join(RUN_OUTCOMES)}"
    )


def phase_out_year(results, runs: pd.DataFrame) -> pd.Series:
    """Each run's phase-out year: the lever if the batch varied it, else the strategy's own or
    the programme's in the batch's scenario file, else 5 (the default schedule)."""
    if "programme.phase_out_year" in runs.columns:
        return runs["programme.phase_out_year"].astype(int)
    scenario = None
    path = (getattr(results, "manifest", {}) or {}).get("scenario", {}).get("path")
    if path:
        try:
            from sim.config import load_scenario

            scenario = load_scenario(path)
        except Exception:  # the file moved or changed: fall back to the default schedule
            scenario = None

    def year_of(strategy: str) -> int:
        if scenario is None:
            return 5
        spec = scenario.strategies.get(strategy)
        if spec is not None and spec.phase_out_year is not None:
            return int(spec.phase_out_year)
        return int(scenario.programme.phase_out_year)

    return runs["strategy"].map({s: year_of(s) for s in runs["strategy"].unique()})


def run_outcomes(results, names: list[str] | None = None) -> pd.DataFrame:
    """One row per finished run: run columns (strategy, levers, uncertainties, seed, sample,
    replication) plus one column per outcome. Default outcomes: every whole-run one and
    poverty_rate at years 5 and the last year."""
    ts = results.timeseries
    runs = (
        results.runs[results.runs["status"] == "ok"].copy()
        if "status" in results.runs
        else results.runs.copy()
    )
    if ts.empty or runs.empty:
        return runs.iloc[:0]
    last_year = int(ts["year"].max())
    names = list(names) if names else [*RUN_OUTCOMES, "poverty_rate@5", f"poverty_rate@{last_year}"]
    wide = ts.set_index(["run_id", "year"]).sort_index()
    out = runs.set_index("run_id")
    by_run = ts.groupby("run_id")
    last = by_run.tail(1).set_index("run_id")
    pout = phase_out_year(results, runs).set_axis(runs["run_id"])
    for name in names:
        metric, year = parse_outcome(name)
        if year is not None:
            try:
                col = wide[metric].xs(year, level="year")
            except KeyError:
                col = pd.Series(np.nan, index=out.index)
            out[name] = col.reindex(out.index)
            continue
        if name == "total_spending":
            out[name] = last["cumulative_spending"].reindex(out.index)
        elif name == "sustained_exits":
            out[name] = last["sustained_exits"].reindex(out.index)
        elif name == "exits_total":
            out[name] = last["exited_cumulative"].reindex(out.index)
        elif name == "cost_per_sustained_exit":
            s = last["sustained_exits"].reindex(out.index).astype(float)
            spend = last["cumulative_spending"].reindex(out.index)
            out[name] = np.where(s > 0, spend / s.where(s > 0), np.nan)
        elif name == "returns_after_phase_out":
            merged = ts[["run_id", "year", "returns"]].copy()
            merged["cut"] = merged["run_id"].map(pout)
            after = merged[merged["year"] > merged["cut"]]
            out[name] = after.groupby("run_id")["returns"].sum().reindex(out.index).fillna(0)
        elif name == "mean_poverty_rate":
            later = ts[ts["year"] >= 1]
            out[name] = later.groupby("run_id")["poverty_rate"].mean().reindex(out.index)
    return out.reset_index()


def paired_differences(
    frame: pd.DataFrame, outcome: str, reference: str, by: list[str]
) -> pd.DataFrame:
    """Per run: outcome minus the reference strategy's outcome in the same (sample,
    replication) and the same values of the other levers ``by`` (strategy excluded)."""
    keys = [k for k in (*PAIR_KEYS, *by) if k in frame.columns and k != "strategy"]
    ref = frame[frame["strategy"] == reference][[*keys, outcome]].rename(columns={outcome: "_ref"})
    merged = frame.merge(ref, on=keys, how="left", validate="m:1")
    merged[f"{outcome}_diff"] = merged[outcome] - merged["_ref"]
    return merged.drop(columns="_ref")


def outcome_unit(name: str) -> str:
    """The unit of an outcome (``poverty_rate@10`` → "share of persons"), for labels and headers."""
    metric, _ = parse_outcome(name)
    return OUTCOMES[metric].unit


def return_rate(ts: pd.DataFrame) -> pd.Series:
    """Yearly return rate per timeseries row: returns / exited_now of the year before.

    The households out of poverty at the start of a year are the ones that can fall back during
    it (returns are counted among them before the year's exits), so the rate lies in 0..1; it is
    0 when nobody was out. Year 0 (no previous year) is 0. Aligned with ``ts``'s index.
    """
    order = ts.sort_values(["run_id", "year"])
    before = order.groupby("run_id")["exited_now"].shift(1).astype(float)
    ret = order["returns"].astype(float)
    rate = (ret / before.where(before > 0)).where(before > 0, 0.0)
    return rate.reindex(ts.index)
