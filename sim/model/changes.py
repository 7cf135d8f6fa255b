"""The lasting changes a policy may make to the county: the only way policies write state.

A strategy's instruments choose who is served and at what cost (``sim.policies``); what being
served does to a household, a person or a village is a rule of the model, written once here. The
year's flows (transfers, programme wages, schooling aid, the work factor) are the
:class:`sim.model.effects.Effects` record, read by the later phases; the changes below last beyond
the year (assets, links, houses, skills, loans, villages) and take effect at once, so an
instrument later in the strategy's order sees what an earlier one did. Every method takes the
rows it changes (household, person or village indices) and the amounts, and nothing else:
``tests/test_architecture.py`` checks that no policy module assigns to the model's tables.
"""

from __future__ import annotations

import numpy as np

from sim.model.codes import Work


class Changes:
    """Lasting changes to the model's tables (``model.changes``), each rule in one method."""

    def __init__(self, model):
        self._model = model

    def new_year(self) -> None:
        """Before the policy phase: nobody waits yet, no programme dibao, no interest paid."""
        hh = self._model.hh
        hh.waiting[:] = False
        hh.dibao_programme[:] = False
        self._model.yr.loan_interest_paid[:] = False

    def close_year(self) -> None:
        """After the policy phase: a year of waiting for those still waiting."""
        hh = self._model.hh
        hh.waiting_years += hh.waiting

    # ---- households ---------------------------------------------------------------------------
    def grant_assets(self, idx: np.ndarray, amount) -> None:
        """Productive assets given (an input grant) or bought with a loan."""
        self._model.hh.assets[idx] += amount

    def own_asset_share(self, idx: np.ndarray, dividend, first: np.ndarray, last: np.ndarray):
        """A share in an asset the programme paid for (资产收益: a village photovoltaic station,
        shares in a cooperative): it pays ``dividend`` a year, as property income, from year
        ``first`` to year ``last``, whatever the household's status and the programme's."""
        hh = self._model.hh
        hh.dividend[idx] = dividend
        hh.dividend_from[idx] = first
        hh.dividend_until[idx] = last

    def link(self, idx: np.ndarray, enterprises: np.ndarray) -> None:
        """Households linked to a leading enterprise this year (its contracts start after the
        enterprise's lag, §7.10)."""
        hh = self._model.hh
        hh.enterprise[idx] = enterprises
        hh.link_year[idx] = self._model.year

    def make_safe(self, idx: np.ndarray) -> None:
        """Houses renovated, rebuilt or left for a safe one (住房安全有保障)."""
        self._model.hh.house_safe[idx] = True

    def insure(self, idx: np.ndarray) -> None:
        """Premiums paid: the households are covered by basic medical insurance."""
        self._model.hh.insured[idx] = True

    def set_medical_cost(self, idx: np.ndarray, out_of_pocket: np.ndarray) -> None:
        """This year's out-of-pocket medical cost after aid (the illness phase computed it before
        aid; the income phase reads it as rigid spending)."""
        self._model.hh.sp_medical[idx] = out_of_pocket

    def lend(self, idx: np.ndarray, amount: float, term: int) -> None:
        """A poverty microcredit loan: principal due after ``term`` years (the asset phase
        settles it, ``sim.model.credit``)."""
        hh = self._model.hh
        hh.loan[idx] = amount
        hh.loan_years_left[idx] = term

    def pay_interest(self, idx: np.ndarray) -> None:
        """The programme paid this year's interest on these loans (the income phase does not
        charge it to the household)."""
        self._model.yr.loan_interest_paid[idx] = True

    def relocate(
        self,
        idx: np.ndarray,
        sites: np.ndarray,
        contribution: np.ndarray,
        land_kept: float,
        job_access: float,
    ) -> None:
        """Resettlement (易地扶贫搬迁): to a site, with a safe house; the household pays its
        contribution from savings, lets the land it leaves behind and has the site's access to
        local jobs."""
        hh = self._model.hh
        hh.savings[idx] -= contribution
        hh.village[idx] = sites
        hh.house_safe[idx] = True
        hh.relocated_year[idx] = self._model.year
        moved_away = hh.land[idx] * (1.0 - land_kept)
        hh.land_let[idx] += moved_away
        hh.land[idx] -= moved_away
        hh.job_access[idx] = job_access

    def enrol_programme_dibao(self, idx: np.ndarray) -> None:
        """Topped up to the dibao standard by the programme this year."""
        self._model.hh.dibao_programme[idx] = True

    def join_standing_dibao(self, mask: np.ndarray) -> None:
        """On the standing (civil-affairs) dibao from now on."""
        self._model.hh.dibao |= mask

    def wait(self, which: np.ndarray) -> None:
        """Eligible households the instrument could not serve this year (a mask or indices)."""
        self._model.hh.waiting[which] = True

    def served_after_all(self, which: np.ndarray) -> None:
        """Households a later pass of the budget served: no longer waiting."""
        self._model.hh.waiting[which] = False

    # ---- persons ------------------------------------------------------------------------------
    def hire(self, persons: np.ndarray) -> None:
        """Members who take a job with the household's linked enterprise."""
        p = self._model.persons
        p.ent_job[persons] = True
        p.work[persons] = Work.ENTERPRISE

    def train(self, persons: np.ndarray, gain: np.ndarray) -> None:
        """Skill raised by a relative ``gain`` (negative draws are no gain)."""
        p = self._model.persons
        factor = 1.0 + np.maximum(gain, 0.0)
        p.skill[persons] *= factor
        p.base_skill[persons] *= factor

    def place(self, persons: np.ndarray) -> None:
        """Members placed in migrant work by organised labour transfer: they go away this year
        and stay away while the labour phase keeps the placement (sim.model.labour)."""
        self._model.persons.placed[persons] = True

    # ---- villages -----------------------------------------------------------------------------
    def build(self, villages: np.ndarray, gain: float, remoteness_cut: float) -> None:
        """Roads, water and power: infrastructure up by ``gain`` (at most 1), remoteness down."""
        v = self._model.villages
        v.infrastructure[villages] = np.minimum(v.infrastructure[villages] + gain, 1.0)
        v.remoteness[villages] *= 1.0 - remoteness_cut
