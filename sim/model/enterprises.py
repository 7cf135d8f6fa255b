"""Leading enterprises (龙头企业) and cooperatives: contract income, jobs, finite capacity, failure.

Speech 2: "只要企业收果子,农民就能致富" — enterprises drive income; their failure is a correlated
shock to every linked household at once.
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from sim.model.households import Table


class EnterpriseTable(Table):
    FIELDS = {
        "industry": ("int16", "index into the scenario's industry list"),
        "village": ("int32", "village where it sits"),
        "capacity": ("int32", "households it can link"),
        "jobs": ("int32", "jobs it offers"),
        "premium": ("float64", "contract price premium over the market price"),
        "lag": ("int16", "years from linking to first contract income"),
        "failure_risk": ("float64", "yearly failure probability"),
        "income_per_household": ("float64", "contract income of a linked household, yuan/year"),
        "alive": ("bool", "operating this year"),
        "failed_year": ("int16", "year of the last failure, -1 never"),
        "failures": ("int16", "number of failures so far"),
    }


def build_enterprises(scenario, n_villages: int, rng: np.random.Generator):
    """Enterprise table from the scenario's list; unset fields inherit the industry defaults."""
    industries = list(scenario.industries)
    specs = scenario.enterprises
    n = len(specs)
    t = EnterpriseTable(n)
    for i, e in enumerate(specs):
        ind = scenario.industries[e.industry]
        t.industry[i] = industries.index(e.industry)
        t.village[i] = e.village if e.village is not None else -1
        t.capacity[i] = e.capacity
        t.jobs[i] = e.jobs
        t.premium[i] = ind.premium if e.premium is None else e.premium
        t.lag[i] = ind.lag if e.lag is None else e.lag
        t.failure_risk[i] = ind.failure_risk if e.failure_risk is None else e.failure_risk
        t.income_per_household[i] = ind.income_per_household
    unplaced = t.village < 0
    t.village[unplaced] = rng.integers(0, max(n_villages, 1), size=int(unplaced.sum()))
    t.alive[:] = True
    t.failed_year[:] = -1
    names = [e.name for e in specs]
    return t, names, industries


class Enterprise(Agent):
    """A live view of one row of the enterprise table."""

    def __init__(self, model, row: int, name: str):
        super().__init__(model)
        self.row = int(row)
        self.name = name

    def __getattr__(self, name: str):
        if name in EnterpriseTable.FIELDS:
            return getattr(self.model.ent, name)[self.row].item()
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def industry_name(self) -> str:
        return self.model.industry_names[self.model.ent.industry[self.row]]

    @property
    def linked_households(self) -> np.ndarray:
        return np.flatnonzero(self.model.hh.enterprise == self.row)

    def __repr__(self) -> str:
        state = "alive" if self.alive else "failed"
        return f"<Enterprise {self.name} ({self.industry_name}, {state})>"
