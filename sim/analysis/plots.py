"""Figures of a batch (`povsim plot`): each answers one question, titled with it (docs/analysis.md).

Every figure function takes a :class:`sim.batch.results.Results` and returns a matplotlib ``Figure``
(tests and the report inspect it); it raises :class:`SkipFigure` when the batch did not record
what the figure needs. Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never
through pyplot, so plotting changes no global state and leaks no open figures. Colours are the
Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); bands are the 50%
and 90% ranges of the run values (25th–75th and 5th–95th percentiles over seeds × samples).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.analysis.outcomes import (
    outcome_unit,
    paired_differences,
    parse_outcome,
    phase_out_year,
    run_outcomes,
)
from sim.config.files import write_text_atomic, write_with
from sim.model.outputs import TRIGGERS

# Okabe & Ito (2008), "Color Universal Design": safe for deuteranopia, protanopia, tritanopia.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
STRATEGY_COLOURS = {
    "status_quo": OKABE_ITO["black"],
    "transfusion": OKABE_ITO["vermillion"],
    "blood_making": OKABE_ITO["blue"],
    "precision": OKABE_ITO["bluish_green"],
}
SPARE_COLOURS = [OKABE_ITO[c] for c in ("orange", "sky_blue", "reddish_purple", "yellow")]
CYCLE = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish_green", "orange", "sky_blue")] + [
    OKABE_ITO[c] for c in ("reddish_purple", "black", "yellow")
]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D"]
HATCHES = [None, "//", "..", "xx"]

STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}
BAND_ALPHA = {50: 0.30, 90: 0.13}
DPI = 150
FORMATS = ("png", "svg")

INCOME_COMPONENTS = {  # column stem → legend label (income_<stem>_pc_reg0)
    "farm": "farm (net of production costs)",
    "livestock": "livestock",
    "wage": "local and enterprise wages",
    "migrant": "migrant work",
    "business": "business and contracts",
    "property": "rent and interest",
    "transfers": "transfers (standing and programme)",
}
INCOME_COLOURS = [
    OKABE_ITO[c]
    for c in (
        "yellow",
        "orange",
        "blue",
        "sky_blue",
        "bluish_green",
        "reddish_purple",
        "vermillion",
    )
]


class SkipFigure(Exception):
    """The batch did not record what a figure needs; the message says what is missing."""


# ---------------------------------------------------------------------------------------------
# Series: one per lever combination, labelled by strategy and any other lever that varies


@dataclass
class Series:
    """The finished runs of a batch grouped by lever combination. Colour says the strategy;
    a lever combination's rank within its strategy (``variant``) picks the line style, marker
    and hatch, so a batch with several budgets stays readable."""

    runs: pd.DataFrame  # ok runs with a ``series`` column
    labels: list[str]
    colours: dict[str, str]
    variant: dict[str, int]

    def style(self, label: str) -> str:
        return LINESTYLES[self.variant[label] % len(LINESTYLES)]

    def marker(self, label: str) -> str:
        return MARKERS[self.variant[label] % len(MARKERS)]

    def hatch(self, label: str) -> str | None:
        return HATCHES[self.variant[label] % len(HATCHES)]

    @property
    def bands(self) -> tuple[int, ...]:
        """Bands drawn around medians: both up to 4 series, the 50% one up to 8, else none
        (more would hide each other)."""
        n = len(self.labels)
        return (90, 50) if n <= 4 else (50,) if n <= 8 else ()

    @property
    def legend_columns(self) -> int:
        longest = max(len(lab) for lab in self.labels)
        return max(1, min(4, 100 // (longest + 8)))


def series_of(results) -> Series:
    """Group the ok runs by lever combination in plan order; one colour per strategy."""
    runs = results.runs
    runs = runs[runs["status"] == "ok"].copy() if "status" in runs else runs.copy()
    if runs.empty:
        raise SkipFigure("the batch has no finished runs")
    levers = [c for c in results.levers if c in runs.columns and c != "strategy"]
    varying = [c for c in levers if runs[c].nunique(dropna=False) > 1]
    runs = runs.sort_values("run_id")

    def label(row) -> str:
        extra = [f"{c.split('.')[-1]}={_short(row[c])}" for c in varying]
        return ", ".join([str(row["strategy"]), *extra])

    runs["series"] = runs.apply(label, axis=1) if len(runs) else []
    labels = list(dict.fromkeys(runs["series"]))
    strategies = list(dict.fromkeys(runs["strategy"]))
    spare = iter(SPARE_COLOURS * 4)
    by_strategy = {s: STRATEGY_COLOURS.get(s) or next(spare) for s in strategies}
    colours: dict[str, str] = {}
    variant: dict[str, int] = {}
    seen: dict[str, int] = {}
    for lab in labels:
        strategy = runs.loc[runs["series"] == lab, "strategy"].iloc[0]
        colours[lab] = by_strategy[strategy]
        variant[lab] = seen.get(strategy, 0)
        seen[strategy] = variant[lab] + 1
    return Series(runs=runs, labels=labels, colours=colours, variant=variant)


def _short(v) -> str:
    if isinstance(v, float | int | np.integer | np.floating) and not isinstance(v, bool):
        v = float(v)
        if abs(v) >= 1e6:
            return f"{v / 1e6:g}M"
        return f"{v:g}"
    return str(v)


def _joined(results, series: Series, columns: list[str]) -> pd.DataFrame:
    """Timeseries rows of the ok runs with their series label; SkipFigure if a column is absent
    or was never recorded (all NaN)."""
    ts = results.timeseries
    missing = [c for c in columns if c not in ts.columns or ts[c].isna().all()]
    if missing:
        raise SkipFigure(f"the batch did not record {', '.join(missing)}")
    df = ts[["run_id", "year", *columns]].merge(
        series.runs[["run_id", "series", "strategy"]], on="run_id", how="inner"
    )
    if df.empty:
        raise SkipFigure("the batch has no timeseries for its finished runs")
    return df


def quantile_bands(df: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Median, 50% and 90% ranges of ``value`` over runs, per ``by`` group (NaNs ignored)."""
    g = df.groupby(by, sort=False)[value]
    out = pd.DataFrame(
        {
            "p5": g.quantile(0.05),
            "p25": g.quantile(0.25),
            "p50": g.quantile(0.50),
            "p75": g.quantile(0.75),
            "p95": g.quantile(0.95),
            "mean": g.mean(),
            "runs": g.count(),
        }
    )
    return out.reset_index()


def _styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under the house style without touching the global rcParams."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Figure:
        with mpl.rc_context(STYLE):
            fig = fn(*args, **kwargs)
        FigureCanvasAgg(fig)
        return fig

    return wrapper


def _new_figure(width: float = 9.0, height: float = 5.4) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


BAND_LIMITS = {90: ("p5", "p95"), 50: ("p25", "p75")}


def _band(ax, x, band: pd.DataFrame, series: Series, label: str) -> Line2D:
    """Median line over its 90% and 50% bands; returns the line (the legend handle)."""
    colour = series.colours[label]
    for level in series.bands:
        lo, hi = BAND_LIMITS[level]
        ax.fill_between(x, band[lo], band[hi], color=colour, alpha=BAND_ALPHA[level], lw=0)
    (line,) = ax.plot(x, band["p50"], color=colour, ls=series.style(label), lw=2.2, label=label)
    return line


def _band_legend_handles(series: Series) -> list:
    grey = "#555555"
    text = {50: "middle 50% of runs", 90: "middle 90% of runs"}
    extra = {50: 0.1, 90: 0.05}
    return [
        Patch(facecolor=grey, alpha=BAND_ALPHA[k] + extra[k], label=text[k])
        for k in sorted(series.bands)
    ]


def _legend(fig: Figure, ax, handles: list, series: Series, **kwargs) -> None:
    """Inside the axes for a few series; below the plot when there are many."""
    if len(series.labels) <= 4:
        ax.legend(handles=handles, loc=kwargs.pop("loc", "best"), **kwargs)
    else:
        kwargs.pop("loc", None)
        fig.legend(
            handles=handles, loc="outside lower center", ncols=series.legend_columns, **kwargs
        )


def _phase_out_years(results, series: Series) -> list[int]:
    """Last programme years of the series that fall inside the horizon."""
    last = int(results.timeseries["year"].max())
    return sorted({int(y) for y in phase_out_year(results, series.runs).unique() if y <= last})


def _mark_phase_out(ax, years: list[int]) -> list:
    """Dashed vertical line after each last programme year; returns legend handles."""
    for y in years:
        ax.axvline(y, color="#444444", ls="--", lw=1.2, zorder=1)
    if not years:
        return []
    text = ", ".join(str(y) for y in years)
    return [Line2D([], [], color="#444444", ls="--", lw=1.2, label=f"last programme year ({text})")]


def _year_axis(ax, results) -> None:
    ts = results.timeseries
    base = None
    if "calendar_year" in ts.columns and len(ts):
        base = int((ts["calendar_year"] - ts["year"]).iloc[0])
    ax.set_xlabel(f"model year (0 = {base}, registration)" if base is not None else "model year")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))


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
    ax.set_xlabel("main trigger of the return (largest loss that year)")
    ax.set_ylabel(f"returns to poverty, years 1–{last} (households)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, _ = ax.get_legend_handles_labels()
    _legend(fig, ax, handles, series, title="mean, bar = 90% of runs")
    fig.suptitle("What pushes exited households back into poverty?")
    return fig


# ---------------------------------------------------------------------------------------------
# 7. heatmap over two numeric levers


def numeric_levers(results) -> list[str]:
    """Levers of the batch (other than strategy) whose values are numbers."""
    runs = results.runs
    return [
        c
        for c in results.levers
        if c != "strategy" and c in runs.columns and pd.api.types.is_numeric_dtype(runs[c])
    ]


def check_heatmap(results, levers: list[str], outcome: str) -> None:
    """Raise ValueError (a user message) unless ``levers`` are two numeric levers of the batch
    and ``outcome`` is a known outcome name."""
    numeric = numeric_levers(results)
    if len(levers) != 2 or levers[0] == levers[1]:
        raise ValueError(f"--heatmap {','.join(levers)}: give two different levers, LEVER1,LEVER2")
    bad = [lv for lv in levers if lv not in numeric]
    if bad:
        raise ValueError(
            f"--heatmap {','.join(levers)}: {', '.join(bad)} is not a numeric lever of this batch; "
            f"its numeric levers: {', '.join(numeric) or '(none)'}"
        )
    parse_outcome(outcome)  # ValueError with the allowed forms


def heatmap_data(results, levers: list[str], outcome: str) -> pd.DataFrame:
    """Mean of ``outcome`` over runs per (strategy, lever1, lever2)."""
    check_heatmap(results, levers, outcome)
    frame = run_outcomes(results, [outcome])
    if frame.empty or frame[outcome].isna().all():
        raise SkipFigure(f"the batch did not record {outcome}")
    return frame.groupby(["strategy", *levers], sort=False)[outcome].mean().reset_index()


@_styled
def plot_heatmap(results, levers: list[str], outcome: str) -> Figure:
    """Mean outcome over a grid of two numeric levers, one panel per strategy."""
    data = heatmap_data(results, levers, outcome)
    l1, l2 = levers
    strategies = list(dict.fromkeys(data["strategy"]))
    unit = outcome_unit(outcome)
    is_share = unit.startswith("share") or unit == "0-1" and "rate" in outcome
    fig = _new_figure(1.0 + 4.6 * len(strategies), 4.8)
    axes = np.atleast_1d(fig.subplots(1, len(strategies), sharey=True))
    vmin, vmax = data[outcome].min(), data[outcome].max()
    xs, ys = sorted(data[l1].unique()), sorted(data[l2].unique())
    image = None
    for ax, s in zip(axes, strategies, strict=True):
        grid = (
            data[data["strategy"] == s]
            .pivot_table(index=l2, columns=l1, values=outcome)
            .reindex(index=ys, columns=xs)
        )
        image = ax.imshow(
            grid.to_numpy(), origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto"
        )
        for (i, j), v in np.ndenumerate(grid.to_numpy()):
            if np.isnan(v):
                continue
            text = f"{v:.1%}" if is_share else f"{v:,.3g}"
            bright = (v - vmin) / (vmax - vmin) > 0.6 if vmax > vmin else False
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="black" if bright else "white",
            )
        ax.set_xticks(range(len(xs)), [_short(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_short(v) for v in ys])
        ax.set_xlabel(l1)
        ax.set_title(s)
        ax.grid(False)
    axes[0].set_ylabel(l2)
    cbar = fig.colorbar(image, ax=list(axes), shrink=0.9)
    cbar.set_label(f"{outcome} ({unit}), mean over runs")
    if is_share:
        cbar.formatter = PercentFormatter(1.0, decimals=0)
        cbar.update_ticks()
    fig.suptitle(f"How does {outcome} depend on {l1} and {l2}?")
    return fig


# ---------------------------------------------------------------------------------------------
# Writing the figures


@dataclass(frozen=True)
class FigureSpec:
    slug: str  # file name stem
    question: str  # also the figure's title (short form for notices and the report)
    draw: Callable[..., Figure]


FIGURES = [
    FigureSpec("poverty_rate", "How many people are poor each year?", plot_poverty_rate),
    FigureSpec(
        "exits_returns",
        "How many households leave poverty and fall back each year?",
        plot_exits_returns,
    ),
    FigureSpec("cost_effectiveness", "What does the money buy?", plot_cost_effectiveness),
    FigureSpec(
        "income_composition",
        "Where does the income of the year-0 poor come from?",
        plot_income_composition,
    ),
    FigureSpec("durability", "Do exits last?", plot_durability),
    FigureSpec(
        "returns_by_trigger",
        "What pushes exited households back into poverty?",
        plot_returns_by_trigger,
    ),
]


def heatmap_slug(levers: list[str], outcome: str) -> str:
    raw = f"heatmap_{outcome}_{levers[0]}_{levers[1]}"
    return re.sub(r"[^A-Za-z0-9_-]+", "_", raw.replace("@", "_at_"))


def save(fig: Figure, stem: Path, formats=("png",)) -> list[Path]:
    """Write ``fig`` as ``stem.<format>`` for each format."""
    paths = []
    for fmt in formats:
        path = stem.parent / f"{stem.name}.{fmt}"
        write_with(path, lambda tmp, fmt=fmt: fig.savefig(tmp, dpi=DPI, format=fmt))
        paths.append(path)
    return paths


def make_figures(
    results,
    out: str | Path,
    formats=("png",),
    reference: str = "status_quo",
    heatmap: list[str] | None = None,
    outcome: str | None = None,
    notify: Callable[[str], None] = print,
) -> dict[str, list[Path]]:
    """Draw every figure the batch supports into ``out``; each one it cannot draw is skipped
    with a one-line notice. Returns the written files by figure slug."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Callable[[], Figure]]] = []
    for spec in FIGURES:
        kwargs = {"reference": reference} if spec.slug == "cost_effectiveness" else {}
        jobs.append((spec.slug, functools.partial(spec.draw, results, **kwargs)))
    if heatmap:
        name = outcome or f"poverty_rate@{int(results.timeseries['year'].max())}"
        jobs.append(
            (heatmap_slug(heatmap, name), functools.partial(plot_heatmap, results, heatmap, name))
        )
    written: dict[str, list[Path]] = {}
    for slug, draw in jobs:
        try:
            fig = draw()
        except SkipFigure as exc:
            notify(f"skipped {slug}: {exc}")
            continue
        written[slug] = save(fig, out / slug, formats)
        if heatmap and slug.startswith("heatmap_"):  # lets the report read the heatmap again
            meta = {"levers": list(heatmap), "outcome": name}
            write_text_atomic(out / f"{slug}.json", json.dumps(meta) + "\n")
    return written
