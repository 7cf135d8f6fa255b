"""The household economy's two yearly phases: labour and income (phase 5), assets (phase 6).

This module only puts the steps in order and owns the per-run work arrays they share
(:class:`Scratch`); the rules live in one module per concept: who works where and earns what
(``sim.model.labour``), the six income calculations and rigid spending (``sim.model.income``),
and saving, investment and coping (``sim.model.assets``). docs/ODD.md §7.9-7.12.
"""

from __future__ import annotations

import numpy as np

from sim.model import assets as asset_phase
from sim.model import income, labour
from sim.model.income import asset_return
from sim.model.labour import HouseholdWork, MigrationMemo

__all__ = ["Scratch", "asset_return", "assets", "labour_and_income"]


class Scratch:
    """The economy's per-run work arrays, kept between years so that a year allocates nothing
    (every kernel overwrites what it uses), made again when the table sizes change.

    - ``work(n)``: per household, what the labour pass leaves for the income passes;
    - ``memo(n)``: per person, the migration threshold and the inputs it was computed from
      (a person's threshold is only computed again when one of them changes, sim.model.labour);
    - ``local_keys(model)``: the key of every year's ``labour.local`` stream, so that a person
      can read the draw of the year its local job draw was last renewed (``persons.local_year``).
    """

    def __init__(self) -> None:
        self._work: HouseholdWork | None = None
        self._memo: MigrationMemo | None = None
        self._local_keys = np.zeros(0, dtype=np.uint64)

    def work(self, n: int) -> HouseholdWork:
        if self._work is None or len(self._work.farm_labour) != n:
            self._work = HouseholdWork(*(np.zeros(n) for _ in HouseholdWork._fields))
        return self._work

    def memo(self, n: int) -> MigrationMemo:
        if self._memo is None or len(self._memo.skill) != n:
            nan = np.full(n, np.nan)  # nothing computed yet: nan equals nothing
            # the work factor starts at 1 (no response): a computed threshold is then redone
            # when it moves from 1 and back (sim.model.labour.labour_params)
            self._memo = MigrationMemo(nan, np.zeros(n, dtype=bool), np.ones(n), np.zeros(n))
        return self._memo

    def local_keys(self, model) -> np.ndarray:
        if len(self._local_keys) <= model.year:
            horizon = max(model.years, model.year) + 1
            self._local_keys = np.array(
                [model.streams.key("labour.local", y) for y in range(horizon)], dtype=np.uint64
            )
        return self._local_keys


def labour_and_income(model, keys) -> None:
    """Phase 5: who works where, the six income components, rigid spending, the standing dibao
    top-up and per-capita income (docs/ODD.md §7.9-7.11).

    Three passes, each over few arrays (a loop over many arrays at once runs several times
    slower per array): persons (work and earnings, summed per household), then households twice
    (farm, assets, contracts, rent; then transfers, rigid spending and income).
    """
    scratch = model.economy_scratch
    work = scratch.work(model.hh.n)
    memo = scratch.memo(model.persons.n)
    wage_index = (1.0 + model.scenario.economy.wage_growth) ** model.year
    labour.labour(model, keys, work, memo, scratch.local_keys(model), wage_index)
    price_level = model.line(model.year) / model.line(0)
    income.farm_assets_contracts(model, work, wage_index, price_level)
    work.earn_local[:] += model.effects.wages  # programme-paid wages (public-welfare posts)
    income.transfers_spending_income(model, work, price_level)


def assets(model, keys) -> None:
    """Phase 6: save, invest, repay, or cover a shortfall from savings, distress sales and
    debt; depreciate (docs/ODD.md §7.12)."""
    asset_phase.assets(model, keys, model.economy_scratch.work(model.hh.n))
