"""Compare lever combinations of a batch: levels with intervals, and paired differences against a
reference strategy (docs/analysis.md).

Intervals are **90% intervals of the run values**: the 5th and 95th percentiles over every run of a
lever combination (replication seeds × uncertainty samples). They show how much the outcome
varies with what nobody controls, not the uncertainty of the mean. Differences are **paired**: each
run is matched with the reference strategy's run in the same (sample, replication) and the same
other levers — the same households and the same shocks (common random numbers) — so the interval of the
differences is free of the noise that both runs share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.outcomes import PAIR_KEYS, outcome_unit, paired_differences, run_outcomes
from sim.model.outputs import INFO, OUTCOMES

LOW, HIGH = 5, 95  # percentiles of the 90% intervals
BOOTSTRAP = 2000  # resamples of pairs for the cost per additional sustained exit


class CompareError(ValueError):
    """Bad input to compare: the message is meant for the user as is."""


@dataclass
class Comparison:
    """The result of :func:`compare`. ``table`` is what compare.csv holds; ``runs`` has one row
    per run with its outcomes; ``pairs`` adds the paired differences (``<outcome>_diff``)."""

    table: pd.DataFrame
    runs: pd.DataFrame
    pairs: pd.DataFrame
    outcomes: list[str]
    levers: list[str]
    reference: str
    years: list[int]
    horizon: int


def horizon_of(results) -> int:
    """The last model year in the batch's timeseries."""
    ts = results.timeseries
    if ts.empty:
        raise CompareError(f"{results.path}: no finished runs to compare")
    return int(ts["year"].max())


def default_years(horizon: int) -> list[int]:
    """Year 5 (the default phase-out) and the last year, whichever exist."""
    return sorted({y for y in (5, horizon) if 0 <= y <= horizon})


def compare_outcomes(years: list[int], horizon: int) -> list[str]:
    """The outcomes of the compare table, in column order."""
    return [
        *(f"poverty_rate@{y}" for y in years),
        "exits_total",
        "returns_after_phase_out",
        "sustained_exits",
        f"sustained_exit_share@{horizon}",
        "total_spending",
        # every public yuan beside the programme's: standing dibao, pensions, farm subsidy
        f"cumulative_public_cost@{horizon}",
        "cost_per_sustained_exit",
        *(f"transfer_share@{y}" for y in years),
        *(f"gini@{y}" for y in years),
    ]


def favourable_sign(outcome: str) -> int:
    """-1 if lower is good news for ``outcome``, +1 if higher is (the registry's direction)."""
    direction = OUTCOMES[outcome.split("@")[0]].direction
    if direction == INFO:
        raise KeyError(f"{outcome}: no direction in which a difference is good news")
    return direction


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and the 5th and 95th percentiles of the finite values (NaNs if there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    lo, hi = np.percentile(v, [LOW, HIGH])
    return (float(v.mean()), float(lo), float(hi))


def ratio_of_means(num, den, n_boot: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float, float]:
    """mean(num) / mean(den) with a percentile bootstrap interval over pairs.

    The ratio is undefined (NaN) when mean(den) <= 0; a resample whose mean(den) <= 0 counts as
    +inf (the money buys no additional sustained exit), so such resamples push the upper bound
    to infinity rather than being dropped.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    keep = ~(np.isnan(num) | np.isnan(den))
    num, den = num[keep], den[keep]
    if num.size == 0:
        return (np.nan, np.nan, np.nan)
    point = num.mean() / den.mean() if den.mean() > 0 else np.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num.size, size=(n_boot, num.size))
    bn, bd = num[idx].mean(axis=1), den[idx].mean(axis=1)
    big = np.finfo(float).max  # stands for +inf: percentiles cannot interpolate inf
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = np.where(bd > 0, bn / bd, big)
    lo, hi = (v if v < big / 4 else np.inf for v in np.percentile(boot, [LOW, HIGH]))
    return (float(point), float(lo), float(hi))


def level_column(outcome: str, stat: str) -> str:
    """CSV header of a level column, e.g. ``poverty_rate@10 (share of persons) mean``."""
    return f"{outcome} ({outcome_unit(outcome)}) {stat}"


def diff_column(outcome: str, reference: str, stat: str) -> str:
    """CSV header of a paired-difference column: ``poverty_rate@10 - status_quo (...) mean``."""
    return f"{outcome} - {reference} ({outcome_unit(outcome)}) {stat}"


def favourable_column(outcome: str, reference: str) -> str:
    """Header of the share of pairs whose difference has the favourable sign."""
    sign = "<" if favourable_sign(outcome) < 0 else ">"
    return f"{outcome} - {reference} {sign} 0 (share of pairs)"


def cost_column(reference: str, stat: str) -> str:
    return f"cost per additional sustained exit vs {reference} (yuan/household) {stat}"


def parse_years(text: str) -> list[int]:
    """``"5,10"`` → [5, 10]; raises CompareError on anything that is not a list of integers."""
    try:
        years = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise CompareError(
            f"--years {text}: expected comma-separated model years, e.g. 5,10"
        ) from None
    if not years:
        raise CompareError(f"--years {text}: expected comma-separated model years, e.g. 5,10")
    return sorted(set(years))


def lever_columns(results, runs: pd.DataFrame) -> list[str]:
    """The batch's levers that are run columns, strategy first."""
    levers = [c for c in results.levers if c in runs.columns and c != "strategy"]
    return ["strategy", *levers]


def compare(
    results,
    reference: str = "status_quo",
    years: list[int] | None = None,
    n_boot: int = BOOTSTRAP,
    seed: int = 0,
) -> Comparison:
    """One row per lever combination: each outcome's mean and 90% interval over runs, and the
    paired differences against ``reference`` (mean, interval, share of favourable pairs), plus
    the cost per additional sustained exit (ratio of mean paired differences, bootstrap interval).
    """
    horizon = horizon_of(results)
    years = default_years(horizon) if years is None else sorted(set(years))
    outside = [y for y in years if not 0 <= y <= horizon]
    if outside:
        raise CompareError(
            f"--years {','.join(map(str, outside))}: outside the batch's horizon (years 0..{horizon})"
        )
    ok = results.runs[results.runs["status"] == "ok"] if "status" in results.runs else results.runs
    strategies = list(dict.fromkeys(ok["strategy"]))
    if reference not in strategies:
        raise CompareError(
            f"--reference {reference}: not a strategy of this batch; "
            f"its strategies: {', '.join(strategies) or '(none finished)'}"
        )
    outcomes = compare_outcomes(years, horizon)
    frame = run_outcomes(results, outcomes)
    levers = lever_columns(results, frame)
    others = levers[1:]
    pairs = frame
    for o in outcomes:
        pairs = paired_differences(pairs, o, reference, others)
    pairs = paired_differences(pairs, "total_spending", reference, others)

    rows = []
    for key, group in frame.groupby(levers, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict = dict(zip(levers, key, strict=True))
        row["runs"] = len(group)
        for o in outcomes:
            for stat, v in zip(("mean", "p5", "p95"), mean_interval(group[o]), strict=True):
                row[level_column(o, stat)] = v
        sel = pairs.loc[group.index]
        is_ref = row["strategy"] == reference
        matched = sel[f"{outcomes[0]}_diff"].notna()
        row["pairs"] = 0 if is_ref else int(matched.sum())
        for o in outcomes:
            d = sel[f"{o}_diff"].dropna()
            stats = mean_interval(d) if not is_ref else (np.nan,) * 3
            for stat, v in zip(("mean", "p5", "p95"), stats, strict=True):
                row[diff_column(o, reference, stat)] = v
            share = (
                float((np.sign(d) == favourable_sign(o)).mean())
                if len(d) and not is_ref
                else np.nan
            )
            row[favourable_column(o, reference)] = share
        cost = (
            ratio_of_means(
                sel["total_spending_diff"], sel["sustained_exits_diff"], n_boot=n_boot, seed=seed
            )
            if not is_ref
            else (np.nan,) * 3
        )
        for stat, v in zip(("ratio", "p5", "p95"), cost, strict=True):
            row[cost_column(reference, stat)] = v
        rows.append(row)
    table = pd.DataFrame(rows)
    return Comparison(
        table=table,
        runs=frame,
        pairs=pairs,
        outcomes=outcomes,
        levers=levers,
        reference=reference,
        years=years,
        horizon=horizon,
    )


# ---------------------------------------------------------------------------------------------
# Printing


def varying_levers(comparison: Comparison) -> list[str]:
    """Levers other than strategy that take more than one value (they label the rows)."""
    t = comparison.table
    return [c for c in comparison.levers[1:] if t[c].nunique(dropna=False) > 1]


def row_labels(comparison: Comparison) -> list[str]:
    """``strategy`` or ``strategy, lever=value, ...`` for each row of the table."""
    extra = varying_levers(comparison)
    labels = []
    for _, r in comparison.table.iterrows():
        parts = [str(r["strategy"])] + [
            f"{c}={r[c]:g}" if _is_num(r[c]) else f"{c}={r[c]}" for c in extra
        ]
        labels.append(", ".join(parts))
    return labels


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


DISPLAY = {  # unit → (scale, level label, difference label, format)
    "share of persons": (100, "%", "pp", "{:.1f}"),
    "share": (100, "%", "pp", "{:.1f}"),
    "yuan": (1e-6, "M yuan", "M yuan", "{:,.1f}"),
    "0-1": (1, "0-1", "0-1", "{:.3f}"),
}


def _display(unit: str) -> tuple[float, str, str, str]:
    return DISPLAY.get(unit, (1, unit, unit, "{:,.0f}"))


def format_value(value: float, unit: str, diff: bool = False) -> str:
    """A number scaled to the unit readers expect (shares in %, totals in M yuan), no suffix."""
    if value is None or np.isnan(value):
        return "–"
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"
    scale, _, _, fmt = _display(unit)
    text = fmt.format(value * scale)
    return f"+{text}" if diff and value * scale > 0 and text.strip("0.,") else text


def format_cell(mean: float, lo: float, hi: float, unit: str, diff: bool = False) -> str:
    """``mean [p5, p95]`` in the unit's display format."""
    if np.isnan(mean):
        return "–"
    f = [format_value(v, unit, diff) for v in (mean, lo, hi)]
    return f"{f[0]} [{f[1]}, {f[2]}]"


def display_label(outcome: str, diff: bool = False) -> str:
    """Outcome name with its display unit, for printed tables."""
    _, level, difference, _ = _display(outcome_unit(outcome))
    return f"{outcome} ({difference if diff else level})"


def levels_frame(comparison: Comparison) -> pd.DataFrame:
    """Printed levels: one row per outcome, one column per lever combination."""
    t, cols = comparison.table, row_labels(comparison)
    data = {"runs": [str(n) for n in t["runs"]]}
    for o in comparison.outcomes:
        unit = outcome_unit(o)
        data[display_label(o)] = [
            format_cell(*(r[level_column(o, s)] for s in ("mean", "p5", "p95")), unit)
            for _, r in t.iterrows()
        ]
    return pd.DataFrame(data, index=cols).T


def differences_frame(comparison: Comparison, two_lines: bool = False) -> pd.DataFrame:
    """Printed paired differences against the reference, with the share of favourable pairs
    (on a second line of each cell with ``two_lines``, for narrow HTML tables)."""
    t, ref = comparison.table, comparison.reference
    others = t["strategy"] != ref
    cols = [c for c, keep in zip(row_labels(comparison), others, strict=True) if keep]
    data = {}
    for o in comparison.outcomes:
        unit = outcome_unit(o)
        cells = []
        for _, r in t[others].iterrows():
            stats = (r[diff_column(o, ref, s)] for s in ("mean", "p5", "p95"))
            cell = format_cell(*stats, unit, diff=True)
            share = r[favourable_column(o, ref)]
            sign = "lower" if favourable_sign(o) < 0 else "higher"
            if not np.isnan(share):
                cell += f"\n{share:.0%} of pairs {sign}" if two_lines else f" {share:4.0%}"
            cells.append(cell)
        sign = "lower" if favourable_sign(o) < 0 else "higher"
        label = f", {sign} is better" if two_lines else f", % of pairs {sign}"
        data[display_label(o, diff=True) + label] = cells
    cost = []
    for _, r in t[others].iterrows():
        ratio, lo, hi = (r[cost_column(ref, s)] for s in ("ratio", "p5", "p95"))
        cost.append(
            "none added" if np.isnan(ratio) else format_cell(ratio, lo, hi, "yuan/household")
        )
    data["cost per additional sustained exit (yuan/household)"] = cost
    return pd.DataFrame(data, index=cols).T


def format_comparison(comparison: Comparison) -> str:
    """The terminal view: levels, then paired differences, with a note on the intervals."""
    n = comparison.table["runs"]
    runs = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    ref = comparison.reference
    head = (
        f"Levels: mean [5th, 95th percentile] over the {runs} runs of each column "
        "(replication seeds x uncertainty samples)"
    )
    out = [head, levels_frame(comparison).to_string()]
    diffs = differences_frame(comparison)
    if diffs.shape[1]:
        out += [
            "",
            f"Paired differences against {ref} (same sample and seed): mean [5th, 95th percentile] "
            "over pairs, then the share of pairs with the favourable sign; the cost per additional "
            "sustained exit is mean Δspending / mean Δsustained exits with a 90% bootstrap interval "
            "over pairs",
            diffs.to_string(),
        ]
    return "\n".join(out)


__all__ = [
    "PAIR_KEYS",
    "CompareError",
    "Comparison",
    "compare",
    "format_comparison",
    "parse_years",
]
