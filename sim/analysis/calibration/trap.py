"""The poverty trap drawn from the model's own asset rule: the phase diagram (a year's net
accumulation against assets) of a typical registered household and its asset paths from just
below and just above the threshold, and after one-off grants that do and do not cross it.

The paths come from :func:`sim.model.assets.project`, which runs the compiled asset-income and
asset kernels of a model run; nothing is re-implemented here (docs/ODD.md §7.12).

    python -m sim.analysis.calibration.trap docs/figures/trap.png
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import Scenario, load_scenario

COUNTY = Path(__file__).resolve().parents[3] / "scenarios" / "county.toml"
YEARS = 15
GRID_STEP = 250.0  # yuan: resolution of the phase diagram and its roots
GRANTS = (5000.0, 30000.0)  # one-off asset grants to a household at its low steady state


@dataclass(frozen=True)
class Household:
    """The typical registered household of the figure: its income apart from its assets is
    the poverty line per person (a household on the margin of poverty)."""

    size: float = 3.2
    labour_units: float = 1.5
    productivity: float = 1.0
    other_income_pc: float | None = None  # None: the year-0 poverty line

    def other_income(self, scenario: Scenario) -> float:
        pc = self.other_income_pc
        return self.size * (scenario.poverty_line(0) if pc is None else pc)


def paths(scenario: Scenario, start, years: int = YEARS, household: Household = Household()):
    """Assets year by year (years + 1, len(start)) from each of ``start``."""
    from sim.model.assets import project  # the compiled model, loaded only when drawing

    h = household
    return project(
        scenario.economy,
        np.asarray(start, dtype=float),
        h.other_income(scenario),
        h.size,
        h.labour_units,
        h.productivity,
        years,
    )


def phase(scenario: Scenario, top: float = 100000.0, household: Household = Household()):
    """Assets on a grid and each one's net accumulation over one year."""
    grid = np.arange(0.0, top + GRID_STEP, GRID_STEP)
    p = paths(scenario, grid, 1, household)
    return grid, p[1] - p[0]


def steady_states(grid: np.ndarray, change: np.ndarray) -> list[tuple[float, str]]:
    """Where net accumulation changes sign, and how: "stable" (+ to -) or "threshold" (- to +)."""
    out = []
    for i in range(len(grid) - 1):
        a, b = change[i], change[i + 1]
        if (a > 0) != (b > 0):
            x = grid[i] + (grid[i + 1] - grid[i]) * a / (a - b)
            out.append((float(x), "stable" if a > 0 else "threshold"))
    return out


def draw(path: str | Path, scenario: Scenario | None = None) -> dict:
    """Draw the phase diagram and the asset paths to the PNG ``path``; returns the numbers
    drawn (steady states with the trap on and off, the paths' start and end)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sc = scenario if scenario is not None else load_scenario(COUNTY)
    off = without_trap(sc)
    grid, on_change = phase(sc)
    _, off_change = phase(off)
    roots = steady_states(grid, on_change)
    threshold = next(x for x, kind in roots if kind == "threshold")
    low = next(x for x, kind in roots if kind == "stable")
    starts = [threshold - 1500.0, threshold + 1500.0, low + GRANTS[0], low + GRANTS[1]]
    labels = [
        "just below the threshold",
        "just above the threshold",
        f"low steady state + {GRANTS[0]:,.0f} grant",
        f"low steady state + {GRANTS[1]:,.0f} grant",
    ]
    trap_paths = paths(sc, starts)
    flat_paths = paths(off, starts)

    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.axhline(0, color="0.5", lw=0.8)
    ax1.plot(grid / 1000, on_change, color="C3", label="trap on")
    ax1.plot(grid / 1000, off_change, color="C0", ls="--", label="trap off (flat return)")
    for x, kind in roots:
        ax1.plot(x / 1000, 0, "o" if kind == "stable" else "x", color="k")
    ax1.set(
        xlabel="productive assets A (thousand yuan)",
        ylabel="net accumulation over a year (yuan)",
        title="Phase diagram: size 3.2, 1.5 labour units, income at the line",
    )
    ax1.legend(loc="lower left", fontsize=8)
    years = np.arange(trap_paths.shape[0])
    for j, label in enumerate(labels):
        ax2.plot(years, trap_paths[:, j] / 1000, color=f"C{j}", label=label)
        ax2.plot(years, flat_paths[:, j] / 1000, color=f"C{j}", ls=":", lw=1)
    ax2.axhline(threshold / 1000, color="0.5", lw=0.8, ls="--")
    ax2.set(xlabel="year", ylabel="productive assets (thousand yuan)", title="Asset paths")
    ax2.legend(fontsize=8, title="solid: trap on; dotted: off", title_fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return {
        "steady_states_trap_on": roots,
        "steady_states_trap_off": steady_states(grid, off_change),
        "paths": {
            lab: (float(trap_paths[0, j]), float(trap_paths[-1, j])) for j, lab in enumerate(labels)
        },
    }


def without_trap(sc: Scenario) -> Scenario:
    ec = sc.economy
    assets = ec.assets.model_copy(update={"trap": False})
    return sc.model_copy(update={"economy": ec.model_copy(update={"assets": assets})})


if __name__ == "__main__":
    print(draw(sys.argv[1] if len(sys.argv) > 1 else "docs/figures/trap.png"))
