"""Policy phase: strategies allocate the year's budget to instruments and households.

The foundation ships the interface and ``status_quo`` (no programme). A strategy writes this
year's effects into ``model.effects`` (transfers, extra medical cover, schooling aid, ...) and
books what it spends in ``model.ledger``; the income phase reads the effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSTRUMENTS = (
    "dibao",
    "cash_transfer",
    "industry",
    "relocation",
    "training",
    "microcredit",
    "medical_aid",
    "education_aid",
    "housing",
    "infrastructure",
    "monitoring",
)


class Effects:
    """This year's policy effects, per household; reset at the start of each policy phase."""

    def __init__(self, n: int):
        self.n = n
        self.reset()

    def reset(self) -> None:
        n = self.n
        self.transfers = np.zeros(n)  # programme transfers reaching the household, yuan
        self.schooling_aid = np.zeros(n)  # schooling cost covered, yuan
        self.school_barrier = np.zeros(n)  # share of the poverty barrier to schooling removed


@dataclass
class Ledger:
    """Programme spending booked per instrument and year; the budget is never exceeded."""

    budget: float
    carry_over: bool = False
    spent: dict[int, dict[str, float]] = field(default_factory=dict)
    available: float = 0.0
    year: int = 0

    def open_year(self, year: int) -> None:
        leftover = self.available if self.carry_over else 0.0
        self.year = year
        self.available = self.budget + leftover
        self.spent.setdefault(year, {})

    def spend(self, instrument: str, amount: float) -> float:
        """Book up to ``amount``; returns what was actually granted."""
        if instrument not in INSTRUMENTS:
            raise KeyError(f"unknown instrument {instrument!r}")
        grant = float(min(max(amount, 0.0), self.available))
        self.available -= grant
        book = self.spent.setdefault(self.year, {})
        book[instrument] = book.get(instrument, 0.0) + grant
        return grant

    def year_spending(self, year: int | None = None) -> dict[str, float]:
        return dict(self.spent.get(self.year if year is None else year, {}))


class Strategy:
    """A named bundle of instruments and allocation rules."""

    name = "base"
    description = ""

    def apply(self, model) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class StatusQuo(Strategy):
    name = "status_quo"
    description = (
        "No programme: standing pensions and farm subsidies only; shocks run their course."
    )

    def apply(self, model) -> None:
        return None


STRATEGIES: dict[str, type[Strategy]] = {"status_quo": StatusQuo}


def get_strategy(name: str | Strategy) -> Strategy:
    from sim.config import ConfigError

    if isinstance(name, Strategy):
        return name
    if name not in STRATEGIES:
        raise ConfigError(
            [f"strategy: unknown strategy {name!r}; allowed: {', '.join(sorted(STRATEGIES))}"]
        )
    return STRATEGIES[name]()
