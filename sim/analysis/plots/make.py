"""Which figures a batch gets and where they are written (``povsim plot``)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from sim.analysis.plots.figures import (
    plot_cost_effectiveness,
    plot_durability,
    plot_exits_returns,
    plot_income_composition,
    plot_poverty_rate,
    plot_returns_by_trigger,
)
from sim.analysis.plots.heatmap import plot_heatmap
from sim.analysis.plots.plan import QUESTION as PLAN_QUESTION
from sim.analysis.plots.plan import SPEED, plot_plan_pressure
from sim.analysis.plots.style import DPI, SkipFigure
from sim.config.files import write_text_atomic, write_with

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


# drawn only for a batch that varies the plan's speed (experiments/plan_pressure.toml)
PLAN_FIGURE = FigureSpec("plan_pressure", PLAN_QUESTION, plot_plan_pressure)


def figures_for(results) -> list[FigureSpec]:
    """The standard figures, and the plan-pressure figure when the batch has the plan-speed
    lever."""
    levers = list(getattr(results, "levers", None) or [])
    return FIGURES + ([PLAN_FIGURE] if SPEED in levers else [])


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
    for spec in figures_for(results):
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
