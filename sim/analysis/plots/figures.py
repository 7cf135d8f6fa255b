"""The batch's figures, each as the data it shows (a function the report reads too) and the
function that draws it: poverty rate, exits and returns, cost-effectiveness, income composition,
durability of exits, returns by trigger."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.analysis.outcomes import (
    paired_differences,
    run_outcomes,
)
from sim.analysis.plots.style import (
    INCOME_COLOURS,
    INCOME_COMPONENTS,
    OKABE_ITO,
    SkipFigure,
    _band,
    _band_legend_handles,
    _joined,
    _legend,
    _mark_phase_out,
    _new_figure,
    _phase_out_years,
    _styled,
    _year_axis,
    quantile_bands,
    series_of,
)
from sim.model.outputs import TRIGGERS

# ---------------------------------------------------------------------------------------------
# 1. poverty rate by year


def poverty_rate_bands(results) -> pd.DataFrame:
    """Per series and year: median and 50% / 90% ranges of the poverty rate over runs."""
    series = series_of(results)
    df = _joined(results, series, ["poverty_rate"])
    return quantile_bands(df, "poverty_rate", ["series", "year"])


@_styled
def plot_poverty_rate(results) -> Figure:
    """Poverty rate by year per strategy: median line, 50% and 90% bands, phase-out marked."""
    series = series_of(results)
    bands = poverty_rate_bands(results)
    fig = _new_figure()
    ax = fig.add_subplot()
    lines = []
    for lab in series.labels:
        b = bands[bands["series"] == lab]
        lines.append(_band(ax, b["year"], b, series, lab))
    extra = _mark_phase_out(ax, _phase_out_years(results, series))
    ax.set_ylabel("poverty rate (% of persons below the line)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _year_axis(ax, results)
    fig.legend(
        handles=[*lines, *_band_legend_handles(series), *extra],
        loc="outside lower center",
        ncols=series.legend_columns,
    )
    fig.suptitle("How many people are poor each year under each strategy?")
    return fig


# ---------------------------------------------------------------------------------------------
# 2. exits and returns per year


def flow_bands(results) -> dict[str, pd.DataFrame]:
    """Exits and returns per year (years 1..), per series: median and ranges over runs."""
    series = series_of(results)
    df = _joined(results, series, ["exits", "returns"])
    df = df[df["year"] >= 1]
    return {m: quantile_bands(df, m, ["series", "year"]) for m in ("exits", "returns")}


@_styled
def plot_exits_returns(results) -> Figure:
    """Households exiting and returning to poverty each year, per strategy."""
    series = series_of(results)
    flows = flow_bands(results)
    fig = _new_figure(11.0, 5.0)
    axes = fig.subplots(1, 2, sharex=True)
    years = _phase_out_years(results, series)
    extra: list = []
    lines: list = []
    for ax, metric, title in zip(
        axes,
        ("exits", "returns"),
        ("exits from poverty", "returns to poverty"),
        strict=True,
    ):
        bands = flows[metric]
        lines = [
            _band(ax, b["year"], b, series, lab)
            for lab in series.labels
            for b in [bands[bands["series"] == lab]]
        ]
        extra = _mark_phase_out(ax, years)
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.set_ylabel("households per year")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _year_axis(ax, results)
    fig.legend(
        handles=[*lines, *_band_legend_handles(series), *extra],
        loc="outside lower center",
        ncols=series.legend_columns,
    )
    fig.suptitle("How many households leave poverty, and how many fall back, each year?")
    return fig


# ---------------------------------------------------------------------------------------------
# 3. cost-effectiveness


def cost_effectiveness(results, reference: str = "status_quo") -> pd.DataFrame:
    """Per run and year (the phase-out year and the last): Δ cumulative spending and the fall
    in the poverty rate against the reference run of the same (sample, replication)."""
    series = series_of(results)
    if reference not in set(series.runs["strategy"]):
        raise SkipFigure(f"the reference strategy {reference} is not in the batch")
    if set(series.runs["strategy"]) == {reference}:
        raise SkipFigure(f"the batch has no strategy besides the reference {reference}")
    last = int(results.timeseries["year"].max())
    years = sorted({y for y in _phase_out_years(results, series) if 0 < y < last} | {last})
    names = [f"{m}@{y}" for y in years for m in ("poverty_rate", "cumulative_spending")]
    frame = run_outcomes(results, names).merge(series.runs[["run_id", "series"]], on="run_id")
    others = [c for c in results.levers if c in frame.columns and c != "strategy"]
    rows = []
    for y in years:
        d = paired_differences(frame, f"poverty_rate@{y}", reference, others)
        d = paired_differences(d, f"cumulative_spending@{y}", reference, others)
        d = d[d["strategy"] != reference]
        rows.append(
            pd.DataFrame(
                {
                    "series": d["series"],
                    "year": y,
                    "spending": d[f"cumulative_spending@{y}_diff"],
                    "reduction": -d[f"poverty_rate@{y}_diff"],
                }
            ).dropna()
        )
    return pd.concat(rows, ignore_index=True)


@_styled
def plot_cost_effectiveness(results, reference: str = "status_quo") -> Figure:
    """Poverty reduction against spending, paired with the reference; mean and 90% intervals."""
    series = series_of(results)
    data = cost_effectiveness(results, reference)
    years = sorted(data["year"].unique())
    fig = _new_figure(4.0 + 3.5 * len(years), 5.4)  # text as large as the other figures
    axes = np.atleast_1d(fig.subplots(1, len(years), sharey=True, sharex=True))
    phase_out = set(_phase_out_years(results, series))
    for ax, y in zip(axes, years, strict=True):
        d = data[data["year"] == y]
        for lab in series.labels:
            s = d[d["series"] == lab]
            if s.empty:
                continue
            c = series.colours[lab]
            x, yv = s["spending"] / 1e6, s["reduction"] * 100
            ax.scatter(x, yv, color=c, alpha=0.25, s=14, lw=0)
            mx, my = x.mean(), yv.mean()
            xe = np.abs(np.percentile(x, [5, 95]) - mx).reshape(2, 1)
            ye = np.abs(np.percentile(yv, [5, 95]) - my).reshape(2, 1)
            ax.errorbar(
                mx,
                my,
                xerr=xe,
                yerr=ye,
                color=c,
                marker=series.marker(lab),
                ms=8,
                capsize=4,
                lw=1.8,
                label=lab,
            )
        ax.axhline(0, color="#444444", lw=0.8)
        when = "last programme year" if y in phase_out else "end of the horizon"
        ax.set_title(f"year {y} ({when})")
        ax.set_xlabel(f"extra spending vs {reference}, years 1–{y} (million yuan)")
        lo, hi = ax.get_xlim()
        ax.set_xlim(min(0, lo), hi + 0.04 * (hi - min(0, lo)))  # room for the rightmost bars
    axes[0].set_ylabel(f"fall in poverty rate vs {reference} (percentage points)")
    handles, _ = axes[0].get_legend_handles_labels()
    handles.append(
        Line2D([], [], color="#888888", marker="o", ls="", alpha=0.4, label="one pair of runs")
    )
    _legend(fig, axes[0], handles, series, title="mean and 90% of pairs")
    fig.suptitle(
        f"What does the money buy? Fall in the poverty rate against spending, vs {reference}"
    )
    return fig


# ---------------------------------------------------------------------------------------------
# 4. income composition of the year-0 registered poor


def income_composition(results) -> pd.DataFrame:
    """Mean income per person by component (households registered at year 0), per series, at
    year 0 and the last year."""
    series = series_of(results)
    cols = [f"income_{c}_pc_reg0" for c in INCOME_COMPONENTS]
    df = _joined(results, series, cols)
    last = int(df["year"].max())
    df = df[df["year"].isin([0, last])]
    out = df.groupby(["series", "year"], sort=False)[cols].mean()
    out.columns = list(INCOME_COMPONENTS)
    return out.reset_index()


@_styled
def plot_income_composition(results) -> Figure:
    """Stacked income components at year 0 and the last year, per strategy."""
    series = series_of(results)
    comp = income_composition(results)
    last = int(comp["year"].max())
    n = len(series.labels)
    fig = _new_figure(max(8.0, 1.6 * n + 4.5), 5.6)
    ax = fig.add_subplot()
    width, gap = 0.8, 0.6
    ticks, ticklabels, centres = [], [], []
    for i, lab in enumerate(series.labels):
        base_x = i * (2 + gap)
        for j, year in enumerate((0, last)):
            row = comp[(comp["series"] == lab) & (comp["year"] == year)]
            if row.empty:
                continue
            x = base_x + j
            pos, neg = 0.0, 0.0
            for k, (c, name) in enumerate(INCOME_COMPONENTS.items()):
                v = float(row[c].iloc[0])
                bottom = pos if v >= 0 else neg
                ax.bar(
                    x,
                    v,
                    width,
                    bottom=bottom,
                    color=INCOME_COLOURS[k],
                    edgecolor="white",
                    lw=0.6,
                    label=name if i == 0 and j == 0 else None,
                )
                if v >= 0:
                    pos += v
                else:
                    neg += v
            ticks.append(x)
            ticklabels.append(f"year {year}")
        centres.append(base_x + 0.5)
    ax.set_xticks(ticks, ticklabels)
    for x, lab in zip(centres, series.labels, strict=True):
        ax.annotate(
            lab,
            (x, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -28),
            textcoords="offset points",
            ha="center",
            va="top",
            fontweight="bold",
            color=series.colours[lab] if series.colours[lab] != OKABE_ITO["yellow"] else "black",
        )
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("yuan per person per year (mean over runs)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        title="income component",
    )
    fig.suptitle("Where does the income of the households registered at year 0 come from?")
    return fig


# ---------------------------------------------------------------------------------------------
# 5. durability of exits


def durability_bands(results) -> pd.DataFrame:
    """Per series and k (years since the first exit, 0..9): share still out of poverty at the
    last year — median and ranges over runs of ``durability_k``; k = 0 is 100% by definition."""
    series = series_of(results)
    ts = results.timeseries
    ks = [
        k for k in range(1, 10) if f"durability_{k}" in ts and ts[f"durability_{k}"].notna().any()
    ]
    if not ks:
        raise SkipFigure("the batch did not record durability_1 … durability_9")
    df = _joined(results, series, [f"durability_{k}" for k in ks])
    df = df[df["year"] == df["year"].max()]
    long = df.melt(id_vars=["run_id", "series"], value_vars=[f"durability_{k}" for k in ks])
    long["k"] = long["variable"].str.removeprefix("durability_").astype(int)
    long = long.dropna(subset=["value"])
    if long.empty:
        raise SkipFigure("no household had exited long enough for durability_k to be defined")
    bands = quantile_bands(long, "value", ["series", "k"])
    start = pd.DataFrame(
        {
            "series": series.labels,
            "k": 0,
            **{p: 1.0 for p in ("p5", "p25", "p50", "p75", "p95", "mean")},
        }
    )
    start["runs"] = 0
    return pd.concat([start, bands], ignore_index=True).sort_values(["series", "k"], kind="stable")


@_styled
def plot_durability(results) -> Figure:
    """Survival curves of exits: share still out of poverty k years after the first exit."""
    series = series_of(results)
    bands = durability_bands(results)
    last = int(results.timeseries["year"].max())
    fig = _new_figure()
    ax = fig.add_subplot()
    lines = [
        _band(ax, b["k"], b, series, lab)
        for lab in series.labels
        for b in [bands[bands["series"] == lab]]
    ]
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("years since the household's first exit (k)")
    ax.set_ylabel("share not returned within k years (%)")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    _legend(fig, ax, [*lines, *_band_legend_handles(series)], series, loc="upper right")
    fig.suptitle(
        f"Do exits last? Households still out of poverty k years after exiting (at year {last})"
    )
    return fig


# ---------------------------------------------------------------------------------------------
# 6. returns by trigger


def returns_by_trigger(results) -> pd.DataFrame:
    """Per series and trigger: returns summed over the years of each run; mean and 90% range."""
    series = series_of(results)
    cols = [f"returns_{t}" for t in TRIGGERS]
    df = _joined(results, series, cols)
    totals = df.groupby(["run_id", "series"], sort=False)[cols].sum().reset_index()
    long = totals.melt(id_vars=["run_id", "series"], value_vars=cols, var_name="trigger")
    long["trigger"] = long["trigger"].str.removeprefix("returns_")
    return quantile_bands(long, "value", ["series", "trigger"])


@_styled
def plot_returns_by_trigger(results) -> Figure:
    """Grouped bars: returns over the horizon by main trigger, per strategy, with 90% ranges."""
    series = series_of(results)
    data = returns_by_trigger(results)
    last = int(results.timeseries["year"].max())
    fig = _new_figure(10.0, 5.4)
    ax = fig.add_subplot()
    n = len(series.labels)
    width = 0.8 / n
    x = np.arange(len(TRIGGERS))
    for i, lab in enumerate(series.labels):
        d = data[data["series"] == lab].set_index("trigger").reindex(TRIGGERS)
        err = np.vstack([d["mean"] - d["p5"], d["p95"] - d["mean"]]).clip(min=0)
        ax.bar(
            x + (i - (n - 1) / 2) * width,
            d["mean"],
            width,
            yerr=err,
            capsize=2,
            color=series.colours[lab],
            hatch=series.hatch(lab),
            edgecolor="white",
            lw=0.5,
            label=lab,
            error_kw={"lw": 1, "ecolor": "#333333"},
        )
    ax.set_xticks(x, [t.replace("_", " ") for t in TRIGGERS])
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(
        "trigger of the return (the loss without which the household would have stayed out)"
    )
    ax.set_ylabel(f"returns to poverty, years 1–{last} (households)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, _ = ax.get_legend_handles_labels()
    _legend(fig, ax, handles, series, title="mean, bar = 90% of runs")
    fig.suptitle("What pushes exited households back into poverty?")
    return fig
