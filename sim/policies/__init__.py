"""Policy phase: strategies allocate the year's budget to instruments and households.

A strategy writes this year's effects into ``model.effects`` (transfers, schooling aid, ...) or
directly into household state (assets, links, houses, skills), and books what it spends in
``model.ledger`` and on each household's record. One module per instrument in this package;
the built-in strategies are data (``strategies.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.codes import INSTRUMENTS  # re-exported: sim.policies.INSTRUMENTS


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
        self.work_factor = np.ones(n)  # multiplier on off-farm work chances (dependency)


@dataclass
class Ledger:
    """Programme spending booked per instrument and year; the budget is never exceeded."""

    budget: float
    carry_over: bool = False
    spent: dict[int, dict[str, float]] = field(default_factory=dict)
    available: float = 0.0
    year: int = 0

    def open_year(self, year: int, funded: bool = True) -> None:
        """Open a year; only programme years are funded, and only they carry money over."""
        leftover = self.available if self.carry_over else 0.0
        self.year = year
        self.available = (self.budget if funded else 0.0) + leftover
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


def builtin_specs() -> dict:
    """The built-in strategies' specifications, from strategies.toml."""
    from sim.config import StrategySpec, builtin_strategy_tables

    return {k: StrategySpec.model_validate(v) for k, v in builtin_strategy_tables().items()}


def available(scenario=None) -> dict:
    """The built-in strategies, or a scenario's (built-ins merged with its own tables)."""
    return dict(scenario.strategies) if scenario is not None else builtin_specs()


def get_strategy(name, scenario=None):
    """A strategy by name (built-in or defined in the scenario), bound to the scenario."""
    from sim.config import ConfigError
    from sim.policies.strategy import Strategy

    if isinstance(name, Strategy):
        return name.bind(scenario) if scenario is not None else name
    specs = available(scenario)
    if name not in specs:
        raise ConfigError(
            [f"strategy: unknown strategy {name!r}; allowed: {', '.join(sorted(specs))}"]
        )
    spec = specs[name]
    if scenario is not None and spec.shares.get("industry", 0) > 0 and not scenario.enterprises:
        raise ConfigError(
            [
                f"strategy: {name!r} funds industry but the scenario has no enterprises; "
                "add [[enterprises]] tables"
            ]
        )
    return Strategy(name, spec, scenario)


from sim.policies.strategy import Strategy  # noqa: E402  (needs the names above)

__all__ = ["INSTRUMENTS", "Effects", "Ledger", "Strategy", "available", "get_strategy"]
