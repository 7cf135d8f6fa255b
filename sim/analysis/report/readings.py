"""Every figure of the batch, drawn if missing or stale, and read in two lines generated from its
numbers (what it shows, and what that means for the question)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analysis.compare import (
    Comparison,
    row_labels,
)
from sim.analysis.plots.figures import (
    cost_effectiveness,
    durability_bands,
    flow_bands,
    income_composition,
    poverty_rate_bands,
    returns_by_trigger,
)
from sim.analysis.plots.heatmap import heatmap_data
from sim.analysis.plots.make import figures_for, save
from sim.analysis.plots.plan import read_plan_pressure
from sim.analysis.plots.style import INCOME_COMPONENTS, SkipFigure, series_of

# ---------------------------------------------------------------------------------------------
# Number formatting for readings


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def pp(x: float) -> str:
    return f"{x * 100:+.1f} pp"


def num(x: float) -> str:
    return f"{x:,.0f}"


def myuan(x: float) -> str:
    m = x / 1e6
    return f"{m:,.0f} M yuan" if abs(m) >= 100 else f"{m:.3g} M yuan"


def _extremes(values: pd.Series) -> tuple[str, float, str, float]:
    """(label of the minimum, minimum, label of the maximum, maximum) of a labelled series."""
    v = values.dropna()
    return v.idxmin(), float(v.min()), v.idxmax(), float(v.max())


# ---------------------------------------------------------------------------------------------
# Readings: two lines per figure, computed from the same data the figure draws


def _phase_out(results) -> int | None:
    from sim.analysis.outcomes import phase_out_year

    series = series_of(results)
    years = sorted(set(phase_out_year(results, series.runs)))
    return int(years[0]) if years else None


def read_poverty_rate(results, **_) -> list[str]:
    b = poverty_rate_bands(results)
    last = int(b["year"].max())
    po = _phase_out(results)
    early = po if po is not None and 0 < po < last else max(1, last // 2)
    at = {y: b[b["year"] == y].set_index("series")["p50"] for y in (early, last)}
    lo_e, v_lo_e, hi_e, v_hi_e = _extremes(at[early])
    lo_l, v_lo_l, hi_l, v_hi_l = _extremes(at[last])
    when = "the last programme year" if early == po else "mid-horizon"
    first = (
        f"In year {early} ({when}) {lo_e} has the lowest median poverty rate ({pct(v_lo_e)}) "
        f"and {hi_e} the highest ({pct(v_hi_e)}); by year {last} {lo_l} is lowest "
        f"({pct(v_lo_l)}) and {hi_l} highest ({pct(v_hi_l)})."
    )
    change = (at[last] - at[early]).dropna()
    if len(change) > 1:
        up, v_up = change.idxmax(), change.max()
        down, v_down = change.idxmin(), change.min()
        second = (
            f"From year {early} to year {last} the median rate "
            f"{'rises' if v_up > 0 else 'falls'} by {abs(v_up) * 100:.1f} pp under {up} "
            f"(the largest {'rise' if v_up > 0 else 'change'}) and "
            f"{'falls' if v_down < 0 else 'rises'} by {abs(v_down) * 100:.1f} pp under {down}"
            + (
                f"; {lo_e} loses its lead to {lo_l} after the money stops."
                if lo_e != lo_l
                else f"; {lo_l} keeps the lowest rate."
            )
        )
    else:
        second = (
            f"From year {early} to year {last} the median rate changes by {pp(change.iloc[0])}."
        )
    return [first, second]


def read_exits_returns(results, **_) -> list[str]:
    flows = flow_bands(results)
    ex, ret = flows["exits"], flows["returns"]
    peak = ex.loc[ex["p50"].idxmax()]
    per_series_peak = ex.loc[ex.groupby("series")["p50"].idxmax()]
    years = sorted(set(per_series_peak["year"].astype(int)))
    peak_years = (
        f"exits peak in year {years[0]} under every strategy"
        if len(years) == 1
        else f"exits peak in years {', '.join(map(str, years))}"
    )
    first = (
        f"{peak_years.capitalize()}; the largest yearly number is {num(peak['p50'])} households "
        f"under {peak['series']} in year {int(peak['year'])} (median over runs)."
    )
    po = _phase_out(results)
    last = int(ret["year"].max())
    after = ret[ret["year"] > po] if po is not None and po < last else ret
    span = f"years {po + 1}–{last}" if po is not None and po < last else f"years 1–{last}"
    mean_after = after.groupby("series", sort=False)["p50"].mean()
    lo, v_lo, hi, v_hi = _extremes(mean_after)
    second = (
        f"In {span}{' (after the money stops)' if po is not None and po < last else ''} returns "
        f"are highest under {hi} ({num(v_hi)} households a year) and lowest under {lo} "
        f"({num(v_lo)} a year)."
    )
    return [first, second]


def read_cost_effectiveness(results, reference: str = "status_quo", **_) -> list[str]:
    d = cost_effectiveness(results, reference)
    last = int(d["year"].max())
    at = d[d["year"] == last].groupby("series", sort=False)[["spending", "reduction"]].mean()
    spent = at[at["spending"] > 0]
    if len(spent):
        per = spent["reduction"] / (spent["spending"] / 1e8)
        lo, v_lo, hi, v_hi = _extremes(per)
        first = (
            f"At year {last}, {hi} buys the largest fall in poverty per yuan against {reference}: "
            f"{v_hi * 100:.2f} pp per 100 M yuan ({pp(at.loc[hi, 'reduction'])[1:]} for "
            f"{myuan(at.loc[hi, 'spending'])})"
            + (
                f"; {lo} the smallest ({v_lo * 100:.2f} pp per 100 M yuan, "
                f"{pp(at.loc[lo, 'reduction'])[1:]} for {myuan(at.loc[lo, 'spending'])})."
                if lo != hi
                else "."
            )
        )
    else:
        first = f"No strategy spends more than {reference} by year {last}."
    years = sorted(d["year"].unique())
    if len(years) > 1:
        early = years[0]
        e = d[d["year"] == early].groupby("series", sort=False)["reduction"].mean()
        change = (at["reduction"] - e).dropna()
        lo_c = change.idxmin()
        second = (
            f"Between year {early} and year {last} the fall against {reference} shrinks most "
            f"under {lo_c} (from {e[lo_c] * 100:.1f} to {at.loc[lo_c, 'reduction'] * 100:.1f} pp)"
            f" and changes least under {change.abs().idxmin()} "
            f"({e[change.abs().idxmin()] * 100:.1f} to "
            f"{at.loc[change.abs().idxmin(), 'reduction'] * 100:.1f} pp)."
        )
    else:
        best = at["reduction"].idxmax()
        second = f"The largest fall is under {best} ({at.loc[best, 'reduction'] * 100:.1f} pp)."
    return [first, second]


def read_income_composition(results, **_) -> list[str]:
    comp = income_composition(results)
    last = int(comp["year"].max())
    cols = list(INCOME_COMPONENTS)
    comp["total"] = comp[cols].sum(axis=1)
    y0 = comp[comp["year"] == 0].set_index("series")
    yl = comp[comp["year"] == last].set_index("series")
    t0 = float(y0["total"].mean())
    share0 = float((y0["transfers"] / y0["total"]).mean())
    lo, v_lo, hi, v_hi = _extremes(yl["total"])
    first = (
        f"At year 0 the households registered then have {num(t0)} yuan per person, "
        f"{pct(share0)} of it transfers; by year {last} {hi} has raised it most "
        f"({num(v_hi)} yuan, {pct(yl.loc[hi, 'transfers'] / v_hi)} transfers) and {lo} least "
        f"({num(v_lo)} yuan, {pct(yl.loc[lo, 'transfers'] / v_lo)} transfers)."
    )
    gain_hi = (yl.loc[hi, cols] - y0.loc[hi, cols]).astype(float)
    gain_lo = (yl.loc[lo, cols] - y0.loc[lo, cols]).astype(float)
    short = {"wage": "local wages", "migrant": "migrant work", "property": "rent and interest"}
    top_hi, top_lo = gain_hi.idxmax(), gain_lo.idxmax()
    second = (
        f"Under {hi} the largest gain since year 0 is in {short.get(top_hi, top_hi)} income "
        f"(+{num(gain_hi[top_hi])} yuan per person); under {lo} in "
        f"{short.get(top_lo, top_lo)} (+{num(gain_lo[top_lo])})."
    )
    return [first, second]


def read_durability(results, **_) -> list[str]:
    b = durability_bands(results)
    b = b[b["k"] > 0]
    labels = b["series"].nunique()
    full = b.groupby("k")["series"].nunique()
    ks = sorted(full[full == labels].index)
    k1, kn = ks[0], ks[-1]
    at1 = b[b["k"] == k1].set_index("series")["p50"]
    atn = b[b["k"] == kn].set_index("series")["p50"]
    lo1, v_lo1, hi1, v_hi1 = _extremes(at1)
    lon, v_lon, hin, v_hin = _extremes(atn)
    first = (
        f"{k1} year{'s' if k1 > 1 else ''} after their first exit, {pct(v_hi1)} of households "
        f"have not returned to poverty under {hi1} (the most) and {pct(v_lo1)} under {lo1} "
        "(the fewest; medians over runs)."
    )
    second = (
        f"After {kn} years {hin} keeps the most ({pct(v_hin)}) and {lon} the fewest ({pct(v_lon)})"
    )
    second += f": {hi1} leads early, {hin} in the long run." if hin != hi1 else "."
    return [first, second]


def read_returns_by_trigger(results, **_) -> list[str]:
    d = returns_by_trigger(results)
    wide = d.pivot(index="series", columns="trigger", values="mean")
    total = wide.sum(axis=1)
    top = wide.idxmax(axis=1)
    name = lambda t: t.replace("_", " ")  # noqa: E731
    if top.nunique() == 1:
        t = top.iloc[0]
        shares = wide[t] / total
        first = (
            f"{name(t).capitalize()} is the main trigger of returns under every strategy "
            f"({pct(shares.min())}–{pct(shares.max())} of returns)."
        )
    else:
        first = "The main trigger differs: " + "; ".join(
            f"{s}: {name(t)} ({pct(wide.loc[s, t] / total[s])})" for s, t in top.items()
        )
        first += "."
    spread = (wide.max() - wide.min()).drop(index=top.iloc[0], errors="ignore")
    t = spread.idxmax() if len(spread) else top.iloc[0]
    lo, v_lo, hi, v_hi = _extremes(wide[t])
    last = int(results.timeseries["year"].max())
    second = (
        f"Besides it, {name(t)} differs most between strategies: {num(v_hi)} returns over years "
        f"1–{last} under {hi} against {num(v_lo)} under {lo} (means over runs)."
    )
    return [first, second]


def read_heatmap(results, levers: list[str], outcome: str, **_) -> list[str]:
    from sim.analysis.compare import format_value
    from sim.analysis.outcomes import outcome_unit
    from sim.analysis.plots.style import _short

    d = heatmap_data(results, levers, outcome)
    unit = outcome_unit(outcome)
    shown = "%" if unit.startswith("share") else " M yuan" if unit == "yuan" else ""

    def val(v: float, diff: bool = False) -> str:
        return format_value(v, unit, diff) + (" pp" if diff and shown == "%" else shown)

    def cell(r) -> str:
        where = ", ".join(f"{lv}={_short(r[lv])}" for lv in levers)
        return f"{r['strategy']} at {where} ({val(r[outcome])})"

    hi, lo = d.loc[d[outcome].idxmax()], d.loc[d[outcome].idxmin()]
    first = f"{outcome} is highest under {cell(hi)} and lowest under {cell(lo)}."
    effects = []
    for lv in levers:
        other = [c for c in ("strategy", *levers) if c != lv]
        wide = d.pivot_table(index=other, columns=lv, values=outcome)
        a, b = wide.columns.min(), wide.columns.max()
        effects.append(
            f"moving {lv} from {_short(a)} to {_short(b)} changes it by "
            f"{val((wide[b] - wide[a]).mean(), diff=True)}"
        )
    second = "On average over the other cells, " + "; ".join(effects) + "."
    return [first, second]


def read_compare(comparison: Comparison) -> list[str]:
    """The compare table's headline numbers: who is lowest, who keeps most exits, what it costs,
    and whether equal budgets meant equal spending."""
    from sim.analysis.compare import cost_column, level_column

    t = comparison.table.set_axis(row_labels(comparison))
    h, ref = comparison.horizon, comparison.reference
    rate = t[level_column(f"poverty_rate@{h}", "mean")]
    sust = t[level_column("sustained_exits", "mean")]
    spend = t[level_column("total_spending", "mean")]
    lines = [
        f"Lowest mean poverty rate in year {h}: {rate.idxmin()} ({pct(rate.min())}); "
        f"highest: {rate.idxmax()} ({pct(rate.max())}).",
        f"Most sustained exits (exited, never returned, out of poverty in year {h}): "
        f"{sust.idxmax()} ({num(sust.max())} households); fewest: {sust.idxmin()} "
        f"({num(sust.min())}).",
    ]
    cost = t[cost_column(ref, "ratio")].dropna()
    if len(cost):
        lines.append(
            f"Cheapest additional sustained exit against {ref}: {cost.idxmin()} "
            f"({num(cost.min())} yuan per household); dearest: {cost.idxmax()} "
            f"({num(cost.max())})."
        )
    spenders = spend[spend > 0]
    if len(spenders) > 1 and spenders.max() > 1.05 * spenders.min():
        lines.append(
            "Equal budgets are not equal spending (money an instrument cannot use is returned "
            "unless `budget.unspent` is `carry_over` or `reallocate`): "
            + ", ".join(f"{s} {myuan(v)}" for s, v in spenders.items())
            + " over the horizon."
        )
    public = level_column(f"cumulative_public_cost@{h}", "mean")
    if public in t:
        lines.append(
            f"Programme spending and all public money (programme + standing dibao + pensions "
            f"and farm subsidy) over years 0–{h}: "
            + ", ".join(f"{s} {myuan(spend[s])} / {myuan(t.at[s, public])}" for s in t.index)
            + "."
        )
    return lines


READINGS: dict[str, Callable[..., list[str]]] = {
    "poverty_rate": read_poverty_rate,
    "exits_returns": read_exits_returns,
    "cost_effectiveness": read_cost_effectiveness,
    "income_composition": read_income_composition,
    "durability": read_durability,
    "returns_by_trigger": read_returns_by_trigger,
    "plan_pressure": read_plan_pressure,
}


# ---------------------------------------------------------------------------------------------
# Making what is missing


def _stale(path: Path, results) -> bool:
    """Missing, or older than the batch's manifest (the batch changed since it was written)."""
    manifest = results.path / "manifest.json"
    if not path.is_file():
        return True
    return manifest.is_file() and path.stat().st_mtime < manifest.stat().st_mtime


@dataclass
class FigureStatus:
    slug: str
    question: str
    path: Path | None
    skipped: str | None = None
    extra: dict | None = None  # heatmap parameters


def ensure_figures(results, reference: str, notify: Callable[[str], None]) -> list[FigureStatus]:
    """The standard figures as PNG in RESULTS/figures/, drawn if missing or stale, then any
    other PNG already there (heatmaps made by `povsim plot --heatmap`)."""
    folder = results.path / "figures"
    folder.mkdir(exist_ok=True)
    out = []
    specs = figures_for(results)
    for spec in specs:
        path = folder / f"{spec.slug}.png"
        if _stale(path, results):
            kwargs = {"reference": reference} if spec.slug == "cost_effectiveness" else {}
            try:
                fig = spec.draw(results, **kwargs)
            except SkipFigure as exc:
                notify(f"skipped {spec.slug}: {exc}")
                path.unlink(missing_ok=True)
                out.append(FigureStatus(spec.slug, spec.question, None, str(exc)))
                continue
            save(fig, folder / spec.slug, ("png",))
            notify(f"drew {path}")
        out.append(FigureStatus(spec.slug, spec.question, path))
    known = {spec.slug for spec in specs}
    for path in sorted(folder.glob("*.png")):
        if path.stem in known or not path.is_file():  # not a folder or a pipe named *.png
            continue
        extra = _heatmap_meta(path.with_suffix(".json"))
        question = (
            f"How does {extra['outcome']} depend on {extra['levers'][0]} and {extra['levers'][1]}?"
            if extra
            else path.stem.replace("_", " ")
        )
        out.append(FigureStatus(path.stem, question, path, extra=extra))
    return out


def _heatmap_meta(path: Path) -> dict | None:
    """The levers and outcome `povsim plot --heatmap` recorded next to its figure, or None if
    the file is missing or not what plot writes (the figure is then shown without a reading)."""
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or set(meta) != {"levers", "outcome"}:
        return None
    levers, outcome = meta["levers"], meta["outcome"]
    if not (isinstance(levers, list) and len(levers) == 2 and isinstance(outcome, str)):
        return None
    return meta if all(isinstance(x, str) for x in levers) else None


def _reading(status: FigureStatus, results, reference: str) -> list[str]:
    try:
        if status.extra:
            return read_heatmap(results, **status.extra)
        fn = READINGS.get(status.slug)
        return fn(results, reference=reference) if fn else []
    except (SkipFigure, KeyError, ValueError, IndexError) as exc:
        return [f"(no reading: {exc})"]
