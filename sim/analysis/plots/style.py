"""What every figure shares: colours that stay the same strategy across figures (Okabe-Ito,
colour-blind safe), the series of a batch (one per lever combination), quantile bands, legends
and the phase-out mark."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.analysis.outcomes import (
    phase_out_year,
)

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
