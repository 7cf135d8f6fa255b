"""A declarative strategy: instruments, budget rule, targeting, schedule (docs/ODD.md, Strategies)."""

from __future__ import annotations

import numpy as np

from sim.config import Instruments, StrategySpec
from sim.model.rng import uniforms
from sim.policies import (
    cash_transfer,
    dibao,
    education_aid,
    housing,
    industry,
    infrastructure,
    medical_aid,
    microcredit,
    monitoring,
    relocation,
    training,
)
from sim.policies.base import Context, programme_households
from sim.policies.dependency import work_factor

ALLOCATORS = {
    "dibao": dibao.allocate,
    "cash_transfer": cash_transfer.allocate,
    "industry": industry.allocate,
    "relocation": relocation.allocate,
    "training": training.allocate,
    "microcredit": microcredit.allocate,
    "medical_aid": medical_aid.allocate,
    "education_aid": education_aid.allocate,
    "housing": housing.allocate,
    "infrastructure": infrastructure.allocate,
    "monitoring": monitoring.allocate,
}


class Strategy:
    """A named bundle of instruments and allocation rules, built from a :class:`StrategySpec`."""

    def __init__(self, name: str = "custom", spec: StrategySpec | None = None, scenario=None):
        self.name = name
        self.spec = spec if spec is not None else StrategySpec()
        self.description = self.spec.description
        self.scenario = None
        if scenario is not None:
            self.bind(scenario)

    def bind(self, scenario) -> Strategy:
        """Resolve defaults against a scenario: schedule, budget, instrument parameters."""
        self.scenario = scenario
        prog = scenario.programme
        if getattr(self, "spec", None) is None:  # a subclass that skipped __init__
            self.spec = StrategySpec()
        s = self.spec
        self.start_year = prog.start_year if s.start_year is None else s.start_year
        self.phase_out_year = prog.phase_out_year if s.phase_out_year is None else s.phase_out_year
        self.support_after_exit = (
            prog.support_after_exit if s.support_after_exit is None else s.support_after_exit
        )
        self.targeting = prog.targeting if s.targeting is None else s.targeting
        self.budget = scenario.budget.yearly if s.budget is None else s.budget
        merged = scenario.instruments.model_dump()
        for inst, over in s.params.items():
            merged[inst] = {**merged[inst], **over}
        self.params = Instruments.model_validate(merged)
        self.order = list(s.order) if s.order else list(s.shares)
        return self

    @property
    def instruments(self) -> list[str]:
        return [i for i in self.order if self.spec.shares.get(i, 0.0) > 0]

    def in_programme(self, year: int) -> bool:
        """Funded years: the schedule, for a strategy that spends (has instruments, or is a
        subclass with its own ``apply``)."""
        spends = bool(self.instruments) or type(self).apply is not Strategy.apply
        return spends and self.start_year <= year <= self.phase_out_year

    def apply(self, model) -> None:
        year = model.year
        model.effects.work_factor = work_factor(model, self.params)
        model.yr.loan_interest_paid = np.zeros(model.hh.n, dtype=bool)
        model.hh.dibao_programme[:] = False
        if year == self.phase_out_year + 1:
            dibao.end_programme(model, self.params)
        if not self.in_programme(year):
            return
        # one uniform per household, the same under every strategy (a function of the seed, the
        # year and the household: sim.model.rng); computed only when the queue is random
        random_key = None
        if self.targeting == "random":
            random_key = uniforms(model.streams.key("allocation.queue", year), model.hh.n)
        ctx = Context(
            params=self.params,
            programme=programme_households(model, self.support_after_exit),
            targeting=self.targeting,
            match_causes=self.spec.match_causes,
            random_key=random_key,
            rng=model.streams.get("policy.instruments", year),
        )
        shares = self.spec.shares
        for inst in self.instruments:
            cap = shares[inst] * self.budget
            budget = min(cap, model.ledger.available)
            if budget <= 0:
                model.hh.waiting[ctx.programme] = True
                continue
            ALLOCATORS[inst](model, ctx, budget)
        model.hh.waiting_years += model.hh.waiting
