"""A declarative strategy: instruments, budget rule, targeting, schedule (docs/ODD.md, Strategies)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.config import StrategySpec
from sim.model.rng import uniforms
from sim.policies import dibao, registry
from sim.policies.base import Context, programme_households
from sim.policies.dependency import work_factor

# a later pass of "reallocate": instruments that used this share of their offer take part; passes
# stop when less than TOLERANCE of the yearly budget is left, or after PASSES passes in all
SATURATED = 0.95
TOLERANCE = 0.001
PASSES = 4
# instruments that end with the campaign even under the transition: new relocation ended in 2020
# (what followed was follow-up support for the relocated: jobs and industry, which continue)
TRANSITION_ENDS = frozenset({"relocation"})


def transition_shares(spec: StrategySpec) -> dict[str, float]:
    """The transition's rule, one for all strategies (docs/ODD.md, Strategies): every instrument
    of the strategy except :data:`TRANSITION_ENDS` continues at its share (摘帽不摘政策); under
    ``allocation = "shares"`` the kept shares are scaled to sum to 1, so that the transition
    budget is offered in full, as the campaign's was."""
    kept = {i: v for i, v in spec.shares.items() if i not in TRANSITION_ENDS and v > 0}
    total = sum(kept.values())
    if spec.allocation == "shares" and total > 0:
        kept = {i: v / total for i, v in kept.items()}
    return kept


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
        # after the phase-out: the transition (四个不摘) on its own budget and shares, or nothing
        transition = prog.after_phase_out == "transition"
        self.transition_years = prog.transition_years if transition else 0
        self.transition_budget = prog.transition_budget_share * self.budget
        self.transition_shares = transition_shares(s)
        self._shares, self._budget = dict(s.shares), self.budget
        merged = scenario.instruments.model_dump()
        for inst, over in s.params.items():
            merged[inst] = {**merged[inst], **over}
        where = f"strategy {self.name!r}: instruments" if s.params else "instruments"
        self.params = registry.validate_params(merged, where)
        self.order = list(s.order) if s.order else list(s.shares)
        self.reallocate = scenario.budget.unspent == "reallocate"
        return self

    @property
    def instruments(self) -> list[str]:
        return [i for i in self.order if self.spec.shares.get(i, 0.0) > 0]

    @property
    def last_year(self) -> int:
        """The last funded year: the phase-out year, or the transition's last year."""
        return self.phase_out_year + self.transition_years

    def in_transition(self, year: int) -> bool:
        return self.phase_out_year < year <= self.last_year and year >= self.start_year

    def in_programme(self, year: int) -> bool:
        """Funded years: the schedule and the transition after it, for a strategy that spends
        (has instruments, or is a subclass with its own ``apply``)."""
        if type(self).apply is not Strategy.apply:
            return self.start_year <= year <= self.phase_out_year
        if self.in_transition(year):
            return bool(self.transition_shares) and self.transition_budget > 0
        return bool(self.instruments) and self.start_year <= year <= self.phase_out_year

    def year_plan(self, year: int) -> tuple[dict[str, float], float]:
        """This year's shares and budget: the campaign's, or the transition's."""
        if self.in_transition(year):
            return self.transition_shares, self.transition_budget
        return dict(self.spec.shares), self.budget

    def year_budget(self, year: int) -> float:
        """The money the ledger opens ``year`` with (:meth:`year_plan`)."""
        return self.year_plan(year)[1]

    def apply(self, model) -> None:
        year = model.year
        model.effects.work_factor = work_factor(model, self.params)
        if year in (self.phase_out_year + 1, self.last_year + 1):
            # the campaign's dibao enrollees join the standing scheme at the phase-out (the
            # transition's guarantee is the standing dibao), the transition's when it ends
            dibao.end_programme(model, self.params)
        if not self.in_programme(year):
            return
        self._shares, self._budget = self.year_plan(year)
        support = self.support_after_exit
        if self.in_transition(year):
            support = year  # every exited household stays served (摘帽不摘帮扶)
        # one uniform per household, the same under every strategy (a function of the seed, the
        # year and the household: sim.model.rng); computed only when the queue is random
        random_key = None
        if self.targeting == "random":
            random_key = uniforms(model.streams.key("allocation.queue", year), model.hh.n)
        ctx = Context(
            params=self.params,
            programme=programme_households(model, support),
            targeting=self.targeting,
            match_causes=self.spec.match_causes,
            random_key=random_key,
            instruments=registry.instruments(),
        )
        offered = {}
        for inst in [i for i in self.order if self._shares.get(i, 0.0) > 0]:
            budget = self.allotment(inst, model.ledger.available)
            if budget <= 0:
                model.changes.wait(ctx.programme)
                continue
            offered[inst] = self._offer(model, ctx, inst, budget)
        if self.reallocate:
            self._reallocate(model, ctx, offered)

    def _offer(self, model, ctx, inst: str, budget: float, first: bool = True) -> tuple:
        """Run one instrument with ``budget``. Returns (offered, spent); in the first pass what
        it could not use of its own allotment is noted (``unabsorbed_<instrument>``)."""
        before = model.ledger.year_spending().get(inst, 0.0)
        ctx.instruments[inst].allocate(model, ctx, budget)
        spent = model.ledger.year_spending().get(inst, 0.0) - before
        if first:
            model.ledger.leave(inst, budget - spent)
        return budget, spent

    def _reallocate(self, model, ctx, offered: dict) -> None:
        """``budget.unspent = "reallocate"``: what is left after the first pass goes to the
        instruments that used at least :data:`SATURATED` of what they were offered, in order,
        each in proportion to its share of the shares still to come (so what one cannot use
        passes on); again while money is left and some instrument took its offer, at most
        :data:`PASSES` passes in all. A later pass serves only households the instrument has
        not served this year (its commitments are paid once); a household a later pass serves
        no longer counts as waiting."""
        later = np.zeros(model.hh.n, dtype=bool)
        for _ in range(PASSES - 1):
            takers = [i for i, (o, sp) in offered.items() if o > 0 and sp >= SATURATED * o]
            if model.ledger.available <= TOLERANCE * self._budget or not takers:
                break
            weights = [self._shares[i] for i in takers]
            offered = {}
            for k, inst in enumerate(takers):
                money = model.ledger.available * weights[k] / sum(weights[k:])
                served = getattr(model.hh, f"{inst}_last") == model.year
                again = replace(ctx, programme=ctx.programme & ~served)
                offered[inst] = self._offer(model, again, inst, money, first=False)
                later |= again.programme & (getattr(model.hh, f"{inst}_last") == model.year)
        model.changes.served_after_all(later)

    def allotment(self, instrument: str, available: float) -> float:
        """What an instrument may spend this year, given what is left in the ledger.

        One rule, ``min(share x budget, what is left)``, instruments in ``order``; the allocation
        mode says what the shares are. ``"shares"``: a fixed split — the shares sum to 1 (the
        validator), so every instrument can have its full share whatever the order, and what one
        leaves unspent is taken by another only under ``budget.unspent = "reallocate"``
        (:meth:`_reallocate`). ``"priority"``: the shares are caps that may
        sum to more than 1 — instruments take money in ``order`` while it lasts, so an
        instrument early in the order can leave a later one short
        (tests/test_policies.py::test_priority_order_decides_who_is_short). In the transition the
        shares and budget are the transition's (:meth:`year_plan`)."""
        return min(self._shares[instrument] * self._budget, available)
