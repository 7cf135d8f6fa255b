"""What a study shows: the Morris and Sobol' figures (rendered in memory, then written) and the
printed table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.files import slug
from sim.analysis.sensitivity.design import Plan
from sim.analysis.sensitivity.indices import MAIN_INDEX, Analysis
from sim.config.files import write_bytes_atomic

# ---------------------------------------------------------------------------------------------
# Figures: Morris μ* against σ; Sobol' S1 and ST bars; one file per outcome


def figure_name(method: str, outcome: str) -> str:
    return f"{method}_{slug(outcome)}.png"


def render_figures(analysis: Analysis, plan: Plan) -> dict[str, bytes]:
    """One PNG per analysed outcome, ``<method>_<outcome>.png`` → its bytes (nothing written)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    noise = analysis.noise.set_index("outcome")
    rendered = {}
    for outcome, df in analysis.indices.groupby("outcome", sort=False):
        fig = Figure(figsize=(9.0, max(4.0, 0.4 * len(plan.factors) + 2.4)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        n = noise.loc[outcome]
        floors = _floors(analysis, outcome)
        if plan.method == "morris":
            _morris_panel(ax, df, floors)
        else:
            _sobol_panel(ax, df, floors)
        ax.set_title(
            f"{outcome}\nseed noise: {_pct(n['noise_share'])} of run variance "
            f"({_pct(n['common_share'])} of it common to all points); "
            f"{_pct(n['noise_share_of_mean'])} of the {int(n['replications'])}-seed means' variance",
            fontsize=9,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        rendered[figure_name(plan.method, str(outcome))] = buf.getvalue()
    return rendered


def plot_study(analysis: Analysis, plan: Plan, folder: Path) -> list[Path]:
    """Write one PNG per analysed outcome to ``folder`` (atomically); other figures are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, png in render_figures(analysis, plan).items():
        write_bytes_atomic(folder / name, png)
        paths.append(folder / name)
    return paths


def _floors(analysis: Analysis, outcome: str) -> pd.Series:
    f = analysis.floors
    return f[f["outcome"] == outcome].set_index("factor")["noise_floor"]


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.0f}%"


def _morris_panel(ax, df: pd.DataFrame, floors: pd.Series) -> None:
    """μ* against σ, one colour per factor (a legend instead of labels that would overlap);
    the factor's seed-noise floor of μ* is a cross of its colour at the same height."""
    wide = df.pivot(index="factor", columns="index", values="value")
    ci = df[df["index"] == "mu_star"].set_index("factor")
    names = list(dict.fromkeys(df["factor"]))
    colours = _colours(len(names))
    for name, colour in zip(names, colours, strict=True):
        x, y = wide.loc[name, "mu_star"], wide.loc[name, "sigma"]
        err = [[max(x - ci.loc[name, "conf_low"], 0)], [max(ci.loc[name, "conf_high"] - x, 0)]]
        ax.errorbar(x, y, xerr=err, fmt="o", color=colour, capsize=3, label=name, clip_on=False)
        floor = floors.get(name, math.nan)
        if np.isfinite(floor):
            ax.plot(floor, y, "x", color=colour, ms=6, clip_on=False)
    right = float(np.nanmax([ci["conf_high"].max(), floors.max(), wide["mu_star"].max()]))
    right = right * 1.1 if right > 0 else 1.0
    top = float(wide["sigma"].max()) * 1.25 or 1.0
    ax.plot([0, right], [0, right], ":", color="gray", lw=0.8)
    ax.set_xlim(0, right)
    ax.set_ylim(0, top)
    ax.set_xlabel("μ* (mean |elementary effect|, outcome units over the factor's range)")
    ax.set_ylabel("σ (interactions, non-linearity)")
    ax.plot([], [], "x", color="gray", label="seed-noise floor of μ* (×, same colour)")
    ax.plot([], [], ":", color="gray", label="σ = μ*")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _sobol_panel(ax, df: pd.DataFrame, floors: pd.Series) -> None:
    names = list(dict.fromkeys(df["factor"]))
    pos = np.arange(len(names))
    for offset, index, color in ((-0.2, "S1", "tab:blue"), (0.2, "ST", "tab:orange")):
        d = df[df["index"] == index].set_index("factor").reindex(names)
        err = [
            (d["value"] - d["conf_low"]).clip(lower=0),
            (d["conf_high"] - d["value"]).clip(lower=0),
        ]
        ax.barh(
            pos + offset, d["value"], height=0.38, xerr=err, color=color, label=index, capsize=2
        )
    fl = floors.reindex(names)
    if fl.notna().any():
        ax.plot(fl, pos + 0.2, "|", color="tab:red", ms=12, mew=2, label="seed-noise floor of ST")
    ax.set_yticks(pos, names, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("share of the variance of the seed mean")
    ax.legend(fontsize=7, loc="lower right")


# ---------------------------------------------------------------------------------------------
# Console summary


def format_analysis(analysis: Analysis, method: str, top: int | None = None) -> str:
    """Per outcome: the seed-noise shares, then the factors by their main index, flagging those
    whose interval does not clear their own seed-noise floor."""
    main = MAIN_INDEX[method]
    lines = []
    noise = analysis.noise.set_index("outcome")
    for outcome, df in analysis.indices.groupby("outcome", sort=False):
        n = noise.loc[outcome]
        lines.append(
            f"{outcome}: mean {n['mean']:.4g}; seed noise {_pct(n['noise_share'])} of the "
            f"variance over runs ({_pct(n['common_share'])} of it common to all points, "
            f"cancelled by the common seeds); {_pct(n['noise_share_of_mean'])} of the variance "
            f"of the {int(n['replications'])}-seed means is noise"
        )
        wide = df.pivot(index="factor", columns="index", values="value")
        ci = df[df["index"] == main].set_index("factor")
        floors = _floors(analysis, outcome)
        order = wide[main].sort_values(ascending=False).index
        cols = ["mu_star", "mu", "sigma"] if method == "morris" else ["S1", "ST"]
        for rank, name in enumerate(order[:top] if top else order, 1):
            lo, hi = ci.loc[name, "conf_low"], ci.loc[name, "conf_high"]
            floor = floors.get(name, math.nan)
            flag = "  (within noise)" if np.isfinite(floor) and not lo > floor else ""
            vals = "  ".join(f"{c} {wide.loc[name, c]:>9.3g}" for c in cols)
            lines.append(
                f"  {rank:>2}. {name:<38} {vals}  CI [{lo:.3g}, {hi:.3g}]  noise {floor:.2g}{flag}"
            )
    for outcome, why in analysis.skipped.items():
        lines.append(f"{outcome}: not analysed: {why}")
    return "\n".join(lines)
