"""The contract between the model and the strategies that act on it.

A strategy (``sim.policies`` or any object with the :class:`StrategyLike` protocol) runs in the
policy phase. It writes this year's effects into the per-household :class:`Effects` record, which
the later phases read (``economy`` the transfers, programme wages, schooling aid and the work
factor; ``demography`` the schooling barrier), and makes lasting changes (assets, links, houses,
skills, loans, villages) only through the model's rules in :mod:`sim.model.changes`
(``model.changes``). It books what it spends with :func:`book`: the :class:`Ledger` per
instrument and year (the timeseries' ``spending_*`` columns) and the household's receipt fields
(``<instrument>_first``, ``_last``, ``_cost`` in the household frame). The instrument names come
from ``sim.model.codes.INSTRUMENTS`` (the ``[instruments.*]`` tables of the defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sim.model.codes import INSTRUMENTS
from sim.model.kernels import jit


@runtime_checkable
class StrategyLike(Protocol):
    """What the model needs from a strategy.

    ``budget``: yearly programme budget (yuan); ``params``: instrument parameters by attribute
    (the economy reads ``params.microcredit`` for loans the programme made); ``in_programme``:
    whether a year is funded; ``year_budget``: the money of a funded year (the campaign's, or
    the 2021-2025 transition's), with which the ledger opens it; ``apply``: the policy phase. A strategy with ``bind(scenario)`` is
    bound to the model's scenario first.
    """

    budget: float
    params: Any

    def in_programme(self, year: int) -> bool: ...

    def year_budget(self, year: int) -> float: ...

    def apply(self, model) -> None: ...


class Effects:
    """This year's policy effects, per household; reset at the start of each policy phase."""

    def __init__(self, n: int):
        self.n = n
        self.reset()

    def reset(self) -> None:
        n = self.n
        self.transfers = np.zeros(n)  # programme transfers reaching the household, yuan
        self.wages = np.zeros(n)  # programme-paid wages (public-welfare posts), yuan
        self.schooling_aid = np.zeros(n)  # schooling cost covered, yuan
        self.school_barrier = np.zeros(n)  # share of the poverty barrier to schooling removed
        self.work_factor = np.ones(n)  # multiplier on off-farm work chances (dependency)


# the microcredit flows of a year (sim.model.credit, sim.policies.microcredit), yuan
CREDIT_FLOWS = ("lent", "repaid", "defaulted", "risk_fund", "to_debt")


@dataclass
class Ledger:
    """Programme spending booked per instrument and year; the budget is never exceeded.

    Beside the spending it keeps what each instrument was offered and could not use
    (``unabsorbed``: an absorptive-capacity finding) and the year's microcredit flows
    (``credit``, :data:`CREDIT_FLOWS`: principal is the bank's money, not programme spending,
    but it is on the books so that lent = repaid + defaulted + outstanding)."""

    budget: float
    carry_over: bool = False
    spent: dict[int, dict[str, float]] = field(default_factory=dict)
    available: float = 0.0
    year: int = 0
    unabsorbed: dict[int, dict[str, float]] = field(default_factory=dict)
    credit: dict[int, dict[str, float]] = field(default_factory=dict)

    def open_year(self, year: int, funded: bool = True, budget: float | None = None) -> None:
        """Open a year with ``budget`` (the yearly budget if None); only programme years are
        funded, and only they carry money over."""
        leftover = self.available if self.carry_over else 0.0
        self.year = year
        money = self.budget if budget is None else budget
        self.available = (money if funded else 0.0) + leftover
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

    def leave(self, instrument: str, amount: float) -> None:
        """Note money offered to an instrument this year that it could not use."""
        book = self.unabsorbed.setdefault(self.year, {})
        book[instrument] = book.get(instrument, 0.0) + max(float(amount), 0.0)

    def year_unabsorbed(self) -> dict[str, float]:
        return dict(self.unabsorbed.get(self.year, {}))

    def flow(self, name: str, amount: float) -> None:
        """Add to this year's microcredit flow ``name`` (one of :data:`CREDIT_FLOWS`)."""
        if name not in CREDIT_FLOWS:
            raise KeyError(f"unknown credit flow {name!r}")
        book = self.credit.setdefault(self.year, {})
        book[name] = book.get(name, 0.0) + float(amount)

    def year_credit(self) -> dict[str, float]:
        got = self.credit.get(self.year, {})
        return {k: got.get(k, 0.0) for k in CREDIT_FLOWS}


def book(model, instrument: str, idx: np.ndarray, costs: np.ndarray) -> float:
    """Book the cost in the ledger and on each household's record; returns the total."""
    total = float(np.sum(costs))
    if total <= 0 and len(idx) == 0:
        return 0.0
    granted = model.ledger.spend(instrument, total)
    if granted + 1e-6 < total:
        raise RuntimeError(f"{instrument}: booked {total:.2f} but only {granted:.2f} was available")
    hh = model.hh
    if len(idx):
        receipts = (getattr(hh, f"{instrument}_{k}") for k in ("cost", "first", "last"))
        _receive(*receipts, np.asarray(idx), np.asarray(costs, dtype=np.float64), model.year)
    return total


@jit
def _receive(cost, first, last, idx, costs, year):
    """Each household's receipt, in ``idx`` order (what ``np.add.at`` would add)."""
    for j in range(len(idx)):
        i = idx[j]
        cost[i] += costs[j]
        if first[i] < 0:
            first[i] = year
        last[i] = year
