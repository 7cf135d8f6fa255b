"""An outcome over two numeric levers, when the batch varies them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sim.analysis.outcomes import (
    outcome_unit,
    parse_outcome,
    run_outcomes,
)
from sim.analysis.plots.style import SkipFigure, _new_figure, _short, _styled

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
