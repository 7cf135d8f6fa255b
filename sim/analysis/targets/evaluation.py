"""Targets against a batch's results: each run's value of a target's metric at its year, and
the verdict table per strategy x target."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.targets.consistency import Issue, check_plan
from sim.analysis.targets.file import load_batch_scenario
from sim.analysis.targets.register import COST_COLUMNS, check_batch_plan, cost_cells, register_costs
from sim.analysis.targets.spec import AFTER_PHASE_OUT, Target, TargetsFile
from sim.analysis.targets.verdicts import DEFAULT_CONFIDENCE, assess

# ---------------------------------------------------------------------------------------------
# Metric values per run


def _wide(ts: pd.DataFrame, column: str) -> pd.DataFrame:
    return ts.pivot(index="run_id", columns="year", values=column).sort_index(axis=1)


def return_rate_wide(ts: pd.DataFrame) -> pd.DataFrame:
    """return_rate (sim.analysis.outcomes.return_rate) per run (rows) and year (columns)."""
    from sim.analysis.outcomes import return_rate

    rate = ts[["run_id", "year"]].assign(rate=return_rate(ts))
    return rate.pivot(index="run_id", columns="year", values="rate").sort_index(axis=1)


def metric_values(
    ts: pd.DataFrame, target: Target, phase_out: pd.Series | None = None
) -> pd.Series:
    """The target's metric for every run in ``ts`` (index run_id); NaN where undefined.

    ``phase_out``: each run's phase-out year (index run_id), for the after-phase-out metrics.
    """
    info = target.info
    y = target.year
    years = sorted(ts["year"].unique())
    if y not in years:
        return pd.Series(np.nan, index=pd.Index(sorted(ts["run_id"].unique()), name="run_id"))
    if info.kind == "column":
        return _wide(ts, info.name)[y].astype(float)
    if info.kind == "ratio":
        a, b = info.name.split("/")
        num, den = _wide(ts, a)[y].astype(float), _wide(ts, b)[y].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = num / den
        r[(den == 0) & (num == 0)] = 0.0
        return r
    m = info.name
    if m == "return_rate":
        return return_rate_wide(ts)[y]
    if m in ("total_spending",):
        return _wide(ts, "cumulative_spending")[y].astype(float)
    if m == "exits_total":
        return _wide(ts, "exited_cumulative")[y].astype(float)
    if m == "cost_per_sustained_exit":
        spend = _wide(ts, "cumulative_spending")[y].astype(float)
        sus = _wide(ts, "sustained_exits")[y].astype(float)
        return spend / sus.where(sus > 0)
    if m == "mean_poverty_rate":
        pr = _wide(ts, "poverty_rate")
        cols = [c for c in pr.columns if 1 <= c <= y]
        return pr[cols].mean(axis=1) if cols else pd.Series(np.nan, index=pr.index)
    if m in AFTER_PHASE_OUT:
        wide = return_rate_wide(ts) if m.startswith("max_") else _wide(ts, "returns").astype(float)
        cut = (
            phase_out.reindex(wide.index).astype(float)
            if phase_out is not None
            else pd.Series(5.0, index=wide.index)
        )
        cols = np.asarray(wide.columns, dtype=float)
        window = (cols[None, :] > cut.to_numpy()[:, None]) & (cols[None, :] <= y)
        vals = wide.to_numpy(dtype=float)
        masked = np.where(window, vals, np.nan)
        any_year = window.any(axis=1)
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            out = np.nanmax(masked, axis=1) if m.startswith("max_") else np.nansum(masked, axis=1)
        out = np.where(any_year, out, np.nan)
        return pd.Series(out, index=wide.index)
    raise ValueError(f"no evaluation for metric {m!r}")  # pragma: no cover


class _quiet_nan_warnings:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


# ---------------------------------------------------------------------------------------------
# Evaluation against a batch


REPORT_COLUMNS = [
    "target",
    "strategy",
    "metric",
    "layer",
    "year",
    "op",
    "value",
    "unit",
    "runs",
    "met",
    "undefined",
    "probability",
    "ci_low",
    "ci_high",
    "verdict",
    "confidence",
    "achievable",
    "margin",
    *COST_COLUMNS,
    "note",
]


@dataclass
class Evaluation:
    """The verdict table (one row per strategy × target) and the plan's inconsistencies."""

    frame: pd.DataFrame
    issues: list[Issue]
    confidence: float
    targets: TargetsFile
    n_ok: int = 0
    n_total: int = 0
    horizon: int = 0
    values: dict[str, pd.Series] = field(default_factory=dict)  # target name → value per run
    plan_lines: list[str] = field(default_factory=list)  # the targets file's plan against the batch


def ok_runs(results) -> pd.DataFrame:
    runs = results.runs
    if "status" in runs.columns:
        runs = runs[runs["status"] == "ok"]
    return runs


def run_phase_out(results, runs: pd.DataFrame) -> pd.Series:
    from sim.analysis.outcomes import phase_out_year

    if runs.empty:
        return pd.Series(dtype=float)
    return phase_out_year(results, runs).set_axis(runs["run_id"].to_numpy())


def target_values(results, target: Target, runs: pd.DataFrame | None = None) -> pd.Series:
    """The target's metric for each finished run (index run_id)."""
    runs = ok_runs(results) if runs is None else runs
    ts = results.timeseries
    ts = ts[ts["run_id"].isin(runs["run_id"])]
    phase = run_phase_out(results, runs) if target.metric in AFTER_PHASE_OUT else None
    return metric_values(ts, target, phase).reindex(runs["run_id"].to_numpy())


def evaluate(results, targets: TargetsFile, confidence: float = DEFAULT_CONFIDENCE) -> Evaluation:
    """Every strategy × target: probability met, Wilson interval, verdict, achievable level."""
    runs = ok_runs(results)
    strategies = list(dict.fromkeys(runs["strategy"].astype(str)))
    rows = []
    values: dict[str, pd.Series] = {}
    for t in targets.targets:
        vals = target_values(results, t, runs)
        values[t.name] = vals
        costs = register_costs(results.timeseries, t) if t.layer == "register" else None
        for s in strategies:
            if not t.applies_to(s):
                continue
            ids = runs.loc[runs["strategy"].astype(str) == s, "run_id"].to_numpy()
            row = {
                "target": t.name,
                "strategy": s,
                "metric": t.metric,
                "layer": t.layer,
                "year": t.year,
                "op": t.op,
                "value": t.value,
                "unit": t.info.unit,
                **assess(t, vals.reindex(ids).to_numpy(), confidence),
                "confidence": confidence,
                "note": t.note,
            }
            row.update(cost_cells(costs, t.met(vals.reindex(ids).to_numpy()), ids))
            rows.append(row)
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    scenario, why = load_batch_scenario(results)
    phase = run_phase_out(results, runs)
    by_strategy = {
        s: set(phase[runs.loc[runs["strategy"] == s, "run_id"]].astype(int))
        for s in strategies
        if len(phase)
    }
    issues = check_plan(targets.targets, scenario, strategies, by_strategy)
    if scenario is None:
        issues.append(Issue("scenario", f"scenario not checked: {why}"))
    plan_lines: list[str] = []
    if targets.plan is not None:
        plan_lines, plan_issues = check_batch_plan(targets.plan, results, runs)
        issues += plan_issues
    horizon = int(results.timeseries["year"].max()) if len(results.timeseries) else 0
    return Evaluation(
        frame=frame,
        issues=issues,
        confidence=confidence,
        targets=targets,
        n_ok=len(runs),
        n_total=len(results.runs),
        horizon=horizon,
        values=values,
        plan_lines=plan_lines,
    )


def fails(evaluation: Evaluation, fail_on: str | None) -> pd.DataFrame:
    """Rows that trip ``--fail-on``: over-ambitious ones; with ``stretch``, any not realistic."""
    f = evaluation.frame
    if fail_on is None:
        return f.iloc[:0]
    bad = {"over-ambitious"} if fail_on == "over-ambitious" else {"over-ambitious", "stretch"}
    return f[f["verdict"].isin(bad)]
