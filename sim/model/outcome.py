"""What an outcome is: its unit, the values the unit allows, the direction of good news and the
layer it reads (the register or the incomes). The registry of every outcome is
``sim.model.outputs``; this module is the type it is made of. Pure data (no numba, no mesa).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MINIMIZE, MAXIMIZE, INFO = -1, +1, 0  # the direction in which a change is good news


def is_share(unit: str) -> bool:
    """A unit whose values are fractions of a whole (shown as percentages)."""
    return unit.startswith("share") or unit == "0-1"


def unit_range(unit: str) -> tuple[float, float]:
    """The values a column in ``unit`` can take (targets reject a value outside them)."""
    if unit in ("share of the line", "share of the line, squared"):
        return 0.0, math.inf  # FGT with negative incomes after rigid spending can exceed 1
    if is_share(unit):
        return 0.0, 1.0
    if unit in ("households", "persons", "enterprises", "villages", "yuan", "yuan/household"):
        return 0.0, math.inf
    return -math.inf, math.inf  # incomes can be negative after rigid spending


# The layer an outcome reads (docs/ODD.md §7.15): the register (officials' status) or the
# incomes against the line; the rest (spending, assets, debt, ...) is "other". Targets name it.
REGISTER_LAYER = frozenset(
    "registered_households registered_people newly_registered register_removed register_exits register_returns "
    "helped_in_place edge_helped "
    "paper_exits plan_exits missed_poor exited_not_found missed_rate wrongful_exit_rate "
    "omission_rate comprehensive_incidence county_exit_test monitored_households exits returns "
    "exited_cumulative returns_cumulative ever_exited exited_now sustained_exits "
    "sustained_exit_share return_rate max_return_rate_after_phase_out returns_after_phase_out "
    "cost_per_sustained_exit exits_total".split()
)
INCOME_LAYER = frozenset(
    "poor_households poor_people poverty_rate poverty_gap poverty_severity vulnerability_rate "
    "vulnerability_gap vulnerability_severity income_poor_households income_exits income_entries "
    "new_poor mean_income_pc median_income_pc mean_income_pc_registered0 gini "
    "mean_poverty_rate".split()
)


def layer_of(name: str) -> str:
    """ "register", "income" or "other"; a ratio ``A/B`` is its columns' layer if they share
    one, else "other"."""
    if "/" in name:
        layers = {layer_of(p.strip()) for p in name.split("/")}
        return layers.pop() if len(layers) == 1 else "other"
    if name in REGISTER_LAYER or name.startswith(("returns_", "durability_")):
        return "register"
    if name in INCOME_LAYER or name.startswith(("income_", "new_poor")):
        return "income"
    return "other"


@dataclass(frozen=True)
class Outcome:
    """One outcome. ``kind`` is "column" (a timeseries column), "derived" (computed by analysis
    from a run's timeseries) or "ratio" (``A/B`` of two columns, built by targets on request)."""

    name: str
    unit: str
    definition: str
    direction: int = INFO
    kind: str = "column"
    low: float | None = None  # None: from the unit (``unit_range``)
    high: float | None = None
    cumulative: bool = False  # never decreases from one year to the next
    layer: str = ""  # "register", "income" or "other"; "" : from the name (``layer_of``)

    def __post_init__(self):
        if not self.layer:
            object.__setattr__(self, "layer", layer_of(self.name))
        lo, hi = unit_range(self.unit)
        if self.low is None:
            object.__setattr__(self, "low", lo)
        if self.high is None:
            object.__setattr__(self, "high", hi)

    @property
    def derived(self) -> bool:
        return self.kind == "derived"
