"""Assets: save, invest, repay, or cover a shortfall from savings, distress sales and debt;
depreciate (docs/ODD.md §7.12).

Below the asset threshold returns are low and a shock forces sales that push assets lower still;
above it, investment out of surplus keeps assets rising: the poverty trap. A module of its own
because it is the one phase that moves a household's stocks (assets, savings, debt) rather than
its flows of the year.
"""

from __future__ import annotations

from collections import namedtuple

from sim.model import credit
from sim.model.kernels import columns, jit, parallel, row

MIN_KEEP = 1e-9  # guard: a distress sale that fetches nothing cannot raise money

# ``repaid``: the microcredit principal repaid out of this year's surplus (the settlement)
AssetHouseholds = namedtuple(
    "AssetHouseholds",
    "size income repaid debt assets savings house_safe sp_consumption",
)
AssetParams = namedtuple(
    "AssetParams",
    "need_pp saving_rate debt_repay_share investment_share consumption_floor keep "
    "kept_after_depreciation renovation_cost",
)


def assets(model, keys, work) -> None:
    """Settle microcredit, then save, invest, repay, cope and depreciate (§7.12); ``work``:
    the economy's per-household work arrays (``repaid`` is written here)."""
    ec = model.scenario.economy
    hh = model.hh
    price_level = model.line(model.year) / model.line(0)
    need_pp = ec.subsistence_per_person * price_level
    # microcredit principal due this year is repaid first, out of the surplus (zeros: no loans)
    work.repaid[:] = credit.settle(model, hh.income - need_pp * hh.size, model.strategy.params)
    par = AssetParams(
        need_pp=need_pp,
        saving_rate=float(ec.saving_rate),
        debt_repay_share=float(ec.debt_repay_share),
        investment_share=float(ec.investment_share),
        consumption_floor=float(ec.consumption_floor),
        keep=1.0 - ec.distress_sale_discount,
        kept_after_depreciation=1.0 - ec.asset_depreciation,
        renovation_cost=ec.house_renovation_cost * price_level,
    )
    parallel(_assets, hh.n, columns(AssetHouseholds, hh, work), par)


@jit
def _assets(lo, hi, hh, par):
    """Saving, repayment, investment, coping and depreciation, household by household (§7.12)."""
    # the columns taken out of their record before the loop: read through it inside, every
    # access costs a reference count (measured ten times slower; sim.model.labour._labour)
    size, income, repaid, debt_of = hh.size, hh.income, hh.repaid, hh.debt
    assets, savings = hh.assets, hh.savings
    house_safe, consumption = hh.house_safe, hh.sp_consumption
    keep, renovation_cost = par.keep, par.renovation_cost
    for h in range(row(lo), row(hi)):
        need = par.need_pp * size[h]
        cash = income[h] - repaid[h]
        surplus = cash - need
        saving = par.saving_rate * surplus if surplus > 0 else 0.0
        debt = debt_of[h]
        repay = min(min(debt, par.debt_repay_share * debt), saving)
        debt -= repay
        invest = par.investment_share * (saving - repay)
        a = assets[h] + invest
        s = savings[h] + (saving - repay - invest)
        # below the floor (a share of need) the household draws savings, sells assets at a
        # discount, and borrows the rest; it consumes the floor
        floor = par.consumption_floor * need
        shortfall = max(floor - cash, 0.0)
        from_savings = min(s, shortfall)
        s -= from_savings
        shortfall -= from_savings
        sold = min(a, shortfall / max(keep, MIN_KEEP))
        a -= sold
        debt_of[h] = debt + max(shortfall - sold * keep, 0.0)
        consumption[h] = cash - saving if surplus > 0 else max(cash, floor)
        a = max(a * par.kept_after_depreciation, 0.0)
        if not house_safe[h] and s >= renovation_cost:
            s -= renovation_cost
            house_safe[h] = True
        assets[h] = a
        savings[h] = s
