"""Paper exits now, returns later, against plan speed: what an over-ambitious exit plan costs.

Drawn for a batch that varies ``register.plan.speed`` (experiments/plan_pressure.toml). Per run,
the register's paper exits summed over the years up to the plan's declare year (摘帽) and its
returns (re-registrations) after it; by speed, one line per plan pressure, with the 50% and 90%
ranges of the runs. "不要提过头指标,要留有余地": a plan that asks for more than verification
delivers shows up as households counted out that are not, and found again later.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.analysis.plots.style import (
    BAND_ALPHA,
    OKABE_ITO,
    SkipFigure,
    _band_legend_handles,
    _new_figure,
    _styled,
    quantile_bands,
    series_of,
)

SPEED = "register.plan.speed"
PRESSURE = "register.plan_pressure"
QUESTION = "Paper exits now, returns later, against plan speed"
# low to high pressure: cool to hot, then the rest of the palette
LINE_COLOURS = [
    OKABE_ITO[k]
    for k in ("sky_blue", "orange", "vermillion", "blue", "reddish_purple", "bluish_green", "black")
]


def _declare_year(results, runs: pd.DataFrame) -> pd.Series:
    """Each run's declare year as a model year (from the plan it ran under)."""
    from sim.analysis.targets.register import run_plans

    plans, why = run_plans(results, runs)
    if plans is None:
        raise SkipFigure(f"the batch's plan could not be read: {why}")
    ts = results.timeseries
    base = int((ts["calendar_year"] - ts["year"]).iloc[0]) if "calendar_year" in ts else None
    declared = plans["declare_year"]
    if base is None or (declared <= 0).all():
        raise SkipFigure("the batch's scenario plan has no declare year (register.plan)")
    return (declared - base).where(declared > 0)


def plan_pressure_data(results) -> pd.DataFrame:
    """Per finished run: strategy, speed, pressure, the declare (model) year, paper exits summed
    over years 1..declare year and register returns summed over the years after it."""
    runs = series_of(results).runs
    if SPEED not in runs.columns:
        raise SkipFigure(f"the batch does not vary {SPEED}")
    ts = results.timeseries
    missing = [c for c in ("paper_exits", "register_returns") if c not in ts.columns]
    if missing:
        raise SkipFigure(f"the batch did not record {', '.join(missing)}")
    declared = _declare_year(results, runs)
    horizon = int(ts["year"].max())
    if not (declared < horizon).any():
        raise SkipFigure(f"no year after the declare year within the horizon (year {horizon})")
    df = ts[["run_id", "year", "paper_exits", "register_returns"]].merge(
        declared.rename("declared").reset_index(), on="run_id"
    )
    now = df[(df["year"] >= 1) & (df["year"] <= df["declared"])]
    later = df[df["year"] > df["declared"]]
    out = runs[["run_id", "strategy", SPEED]].rename(columns={SPEED: "speed"})
    out["pressure"] = runs[PRESSURE] if PRESSURE in runs.columns else float("nan")
    out["declared"] = out["run_id"].map(declared)
    out["paper_now"] = out["run_id"].map(now.groupby("run_id")["paper_exits"].sum()).fillna(0)
    out["returns_later"] = (
        out["run_id"].map(later.groupby("run_id")["register_returns"].sum()).fillna(0)
    )
    after = df[df["year"] >= 1].groupby("run_id")["register_returns"].sum()
    out["returns_all"] = out["run_id"].map(after).fillna(0)
    return out.dropna(subset=["declared"]).reset_index(drop=True)


def _line_label(df: pd.DataFrame) -> pd.Series:
    """One line per pressure (and strategy when the batch has several)."""
    if df["pressure"].isna().all():
        lab = pd.Series("pressure as in the scenario", index=df.index)
    else:
        lab = "pressure " + df["pressure"].map(lambda v: f"{v:g}")
    if df["strategy"].nunique() > 1:
        lab = df["strategy"].astype(str) + ", " + lab
    return lab


def plan_pressure_bands(results) -> pd.DataFrame:
    """Per line and speed: median, 50% and 90% ranges and mean of paper exits now and returns
    later (columns ``<quantity>_<stat>``)."""
    df = plan_pressure_data(results)
    df["line"] = _line_label(df)
    parts = []
    for q in ("paper_now", "returns_later"):
        b = quantile_bands(df, q, ["line", "speed"]).set_index(["line", "speed"])
        parts.append(b.add_prefix(f"{q}_"))
    return pd.concat(parts, axis=1).reset_index().sort_values(["line", "speed"])


@_styled
def plot_plan_pressure(results) -> Figure:
    """Paper exits to the declare year and returns after it, by plan speed; a line per pressure."""
    bands = plan_pressure_bands(results)
    declared = plan_pressure_data(results)["declared"]
    base = results.timeseries
    base = int((base["calendar_year"] - base["year"]).iloc[0])
    years = sorted({int(d) + base for d in declared.unique()})
    fig = _new_figure(11.0, 5.0)
    axes = fig.subplots(1, 2, sharex=True)
    lines_ = list(dict.fromkeys(bands["line"]))
    colours = {lab: LINE_COLOURS[k % len(LINE_COLOURS)] for k, lab in enumerate(lines_)}
    handles = []
    when = ", ".join(str(y) for y in years)
    for ax, q, title in zip(
        axes,
        ("paper_now", "returns_later"),
        (f"paper exits up to the declare year ({when})", f"register returns after {when}"),
        strict=True,
    ):
        handles = []
        for lab in lines_:
            b = bands[bands["line"] == lab]
            c = colours[lab]
            for lo, hi, level in (("p5", "p95", 90), ("p25", "p75", 50)):
                ax.fill_between(
                    b["speed"], b[f"{q}_{lo}"], b[f"{q}_{hi}"], color=c, alpha=BAND_ALPHA[level],
                    lw=0,
                )  # fmt: skip
            (h,) = ax.plot(b["speed"], b[f"{q}_p50"], color=c, lw=2.2, marker="o", label=lab)
            handles.append(h)
        ax.axvline(1.0, color="#444444", ls="--", lw=1.2, zorder=1)
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.set_xlabel("plan speed (x the plan's yearly exits; 1 = the plan as written)")
        ax.set_ylabel("households per run")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    grey = _band_legend_handles(_TwoBands())
    fig.legend(
        handles=[*handles, *grey], loc="outside lower center", ncols=min(5, len(handles) + 2)
    )
    fig.suptitle(f"{QUESTION}: an over-ambitious plan (speed > 1) under pressure")
    return fig


class _TwoBands:
    bands = (90, 50)


def read_plan_pressure(results, **_) -> list[str]:
    """The report's reading: at each pressure, the plan as written against the fastest one."""
    bands = plan_pressure_bands(results)
    data = plan_pressure_data(results)
    lines = []
    for lab in dict.fromkeys(bands["line"]):
        cols = ["paper_now", "returns_later", "returns_all"]
        sub = data[_line_label(data) == lab].groupby("speed")[cols].mean()
        if len(sub) < 2:
            continue
        ref = 1.0 if 1.0 in sub.index else sub.index.min()
        fast = sub.index.max()
        r, f = sub.loc[ref], sub.loc[fast]
        lines.append(
            f"{lab}: at speed {fast:g} a run has {f['paper_now']:,.0f} paper exits up to the "
            f"declare year and {f['returns_later']:,.0f} returns after it (means over runs); at "
            f"speed {ref:g}, {r['paper_now']:,.0f} and {r['returns_later']:,.0f}. Returns in all "
            f"years: {f['returns_all']:,.0f} against {r['returns_all']:,.0f} (a plan beyond the "
            "register re-exits the returned before the declare year, so their returns come "
            "earlier)."
        )
    return lines
