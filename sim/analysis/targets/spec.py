"""What a plan target is: a metric at a year, a comparison and a value; the metrics it may name
(the outcome registry, or a ratio of two columns) and how its values are written."""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config import ConfigError
from sim.model.outputs import COLUMNS, DERIVED, OUTCOMES, Outcome, is_share

# ---------------------------------------------------------------------------------------------
# Vocabulary

OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
UPPER_OPS = ("<=", "<")  # the target caps the metric: smaller is better
MAX_YEAR = 100  # the longest horizon a scenario allows (meta.years <= 100)

# Not outcomes: a target on them would test the calendar.
NOT_TARGETS = ("year", "calendar_year")
AFTER_PHASE_OUT = {"max_return_rate_after_phase_out", "returns_after_phase_out"}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _allowed_metrics_text() -> str:
    return (
        "a timeseries column (docs/outputs.md, e.g. poverty_rate), a ratio of two columns "
        "(e.g. returns/exits), or one of " + ", ".join(DERIVED)
    )


def _suggest(word: str) -> str:
    pool = [c for c in COLUMNS if c not in NOT_TARGETS] + list(DERIVED)
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def metric_info(metric: str) -> Outcome:
    """The registry's ``metric`` (a column or a derived metric), or an ``A/B`` ratio of two
    columns; ValueError if unknown."""
    name = metric.strip()
    if "@" in name:
        raise ValueError(
            f"{metric!r}: give the year in the `year` field, not in the metric "
            f"(metric = {name.split('@')[0]!r}, year = {name.split('@', 1)[1]})"
        )
    if "/" in name:
        parts = [p.strip() for p in name.split("/")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{metric!r}: a ratio is COLUMN/COLUMN, e.g. returns/exits")
        infos = []
        for p in parts:
            if p not in COLUMNS or p in NOT_TARGETS:
                raise ValueError(
                    f"{metric!r}: {p!r} is not a timeseries column{_suggest(p)}; a ratio is "
                    "COLUMN/COLUMN of timeseries columns (docs/outputs.md)"
                )
            infos.append(COLUMNS[p].low)
        low = 0.0 if infos[0] >= 0 and infos[1] >= 0 else -math.inf
        ua, ub = COLUMNS[parts[0]].unit, COLUMNS[parts[1]].unit
        unit = "ratio" if ua == ub else f"{ua} per {ub[:-1] if ub.endswith('s') else ub}"
        return Outcome(
            f"{parts[0]}/{parts[1]}",
            unit,
            f"{parts[0]} / {parts[1]} at the target year (0 when both are 0; infinite when only "
            "the divisor is 0)",
            kind="ratio",
            low=low,
            high=math.inf,
        )
    if name in OUTCOMES and name not in NOT_TARGETS:
        return OUTCOMES[name]
    if name in NOT_TARGETS:
        raise ValueError(
            f"{metric!r} is the time axis, not an outcome; allowed: " + _allowed_metrics_text()
        )
    if not _NAME.match(name):
        raise ValueError(f"{metric!r} is not a metric name; allowed: {_allowed_metrics_text()}")
    raise ValueError(
        f"unknown metric {metric!r}{_suggest(name)}; allowed: {_allowed_metrics_text()}"
    )


# ---------------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """One plan target: ``metric`` at ``year`` ``op`` ``value``, for some or all strategies."""

    name: str
    metric: str
    year: int
    op: str
    value: float
    strategies: tuple[str, ...] | None = None  # None: every strategy of the batch
    note: str = ""

    @property
    def info(self) -> Outcome:
        return metric_info(self.metric)

    @property
    def label(self) -> str:
        return f"{self.metric}@{self.year} {self.op} {format_value(self.value, self.info.unit)}"

    @property
    def layer(self) -> str:
        """The layer the metric reads: "register", "income" or "other" (sim.model.outputs)."""
        return self.info.layer

    @property
    def upper(self) -> bool:
        """True for ``<=``/``<``: the target caps the metric."""
        return self.op in UPPER_OPS

    def applies_to(self, strategy: str) -> bool:
        return self.strategies is None or strategy in self.strategies

    def met(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Which values meet the target; an undefined (NaN) value never does."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return OPS[self.op](v, self.value) & ~np.isnan(v)

    def interval(self) -> tuple[float, bool, float, bool]:
        """The values meeting the target as (low, low_closed, high, high_closed)."""
        v = self.value
        return {
            "<=": (-math.inf, False, v, True),
            "<": (-math.inf, False, v, False),
            ">=": (v, True, math.inf, False),
            ">": (v, False, math.inf, False),
        }[self.op]


@dataclass(frozen=True)
class Plan:
    """The exit plan a targets file carries (``[plan]``): households to exit in each model year
    from year 1 and the calendar year of 摘帽 (0: none); checked against the batch's runs."""

    exits: tuple[int, ...]
    declare_year: int

    @property
    def label(self) -> str:
        declared = f", declared out in {self.declare_year}" if self.declare_year else ""
        return f"exits {schedule_text(self.exits)}{declared}"


def schedule_text(exits) -> str:
    """Yearly exits with repeats folded: ``2,150 x 5`` or ``1,000, 2,000 x 2``."""
    parts: list[list[int]] = []
    for x in exits:
        if parts and parts[-1][0] == x:
            parts[-1][1] += 1
        else:
            parts.append([int(x), 1])
    return ", ".join(f"{v:,}" + (f" x {k}" if k > 1 else "") for v, k in parts) or "none"


@dataclass
class TargetsFile:
    path: str
    targets: list[Target]
    description: str = ""
    plan: Plan | None = None

    def by_name(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise ConfigError(
            [
                f"--target {name}: no target of that name in {self.path}; targets: "
                + ", ".join(t.name for t in self.targets)
            ]
        )


@dataclass(frozen=True)
class Context:
    """What a targets file is checked against: the horizon and the strategies."""

    horizon: int = MAX_YEAR
    horizon_source: str = "the longest horizon a scenario allows"
    known_strategies: frozenset[str] | None = None  # None: the built-in strategies


# ---------------------------------------------------------------------------------------------
# Formatting


def format_value(v: float, unit: str) -> str:
    """A value in its unit: shares as percentages, counts and money with thousands separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "undefined"
    if math.isinf(v):
        return "never" if v > 0 else "-never"
    if is_share(unit):
        return f"{v:.2%}"
    if unit in ("households", "persons", "enterprises", "villages"):
        return f"{v:,.0f}"
    if unit.startswith("yuan"):
        return f"{v:,.0f}"
    return f"{v:.4g}"


def format_margin(v: float, unit: str) -> str:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return format_value(v, unit)
    s = format_value(abs(v), unit)
    if is_share(unit):
        s = f"{abs(v) * 100:.2f} pt"
    return ("+" if v >= 0 else "-") + s
