"""Assets: keep asset income as stock, save, invest, repay, or cover a shortfall from savings,
distress sales and debt up to a credit limit; depreciate (docs/ODD.md §7.12).

The poverty trap lives here and in the asset income of ``sim.model.income``: below the threshold
the return, reinvested, does not cover depreciation and assets drift down to a low steady state;
above it they grow until diminishing returns per labour unit stop them at a high one. A module of
its own because it is the one phase that moves a household's stocks (assets, savings, debt)
rather than its flows of the year.
"""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import numpy as np

from sim.model import credit
from sim.model.income import asset_income
from sim.model.kernels import columns, jit, parallel, row

MIN_KEEP = 1e-9  # guard: a distress sale that fetches nothing cannot raise money
TINY = 1e-9  # yuan: less than this unmet is rounding, not deprivation

# ``repaid``: the microcredit principal repaid out of this year's surplus (the settlement)
AssetHouseholds = namedtuple(
    "AssetHouseholds",
    "size income repaid asset_income credit_limit sp_medical sp_schooling sp_debt_service debt "
    "assets savings house_safe sp_consumption arrears unpaid_bills deprived",
)
AssetParams = namedtuple(
    "AssetParams",
    "need_pp saving_rate debt_repay_share investment_share reinvest_share consumption_floor "
    "min_consumption keep sale_share kept_after_depreciation renovation_cost",
)


def asset_params(ec, price_level: float = 1.0) -> AssetParams:
    """The rule's parameters from the scenario's ``economy`` at a price level."""
    return AssetParams(
        need_pp=ec.subsistence_per_person * price_level,
        saving_rate=float(ec.saving_rate),
        debt_repay_share=float(ec.debt_repay_share),
        investment_share=float(ec.investment_share),
        reinvest_share=float(ec.assets.reinvest_share),
        consumption_floor=float(ec.consumption_floor),
        min_consumption=float(min(ec.credit.min_consumption, ec.consumption_floor)),
        keep=1.0 - ec.distress_sale_discount,
        sale_share=float(ec.distress_sale_share),
        kept_after_depreciation=1.0 - ec.asset_depreciation,
        renovation_cost=ec.house_renovation_cost * price_level,
    )


def credit_limit(cr, net_income, assets, village, n_villages: int, out=None) -> np.ndarray:
    """Informal credit limit (economy.credit): years of net income plus a share of the assets,
    at most a multiple of the village's mean household net income (relatives and neighbours
    lend what they can spare); written into ``out`` when given."""
    out = np.empty(len(net_income)) if out is None else out
    _credit_limits(
        net_income,
        assets,
        village,
        int(n_villages),
        float(cr.income_multiple),
        float(cr.asset_share),
        float(cr.village_multiple),
        out,
    )
    return out


@jit
def _credit_limits(net_income, assets, village, n_villages, income_multiple, asset_share, cap, out):
    """:func:`credit_limit` in two passes (village means, then each household's limit):
    compiled because the numpy form makes six temporaries of the households' length a year."""
    totals = np.zeros(n_villages)
    counts = np.zeros(n_villages)
    for h in range(len(net_income)):
        v = village[h]
        totals[v] += max(net_income[h], 0.0)
        counts[v] += 1.0
    for v in range(n_villages):
        totals[v] = cap * totals[v] / max(counts[v], 1.0)
    for h in range(len(net_income)):
        own = income_multiple * max(net_income[h], 0.0) + asset_share * assets[h]
        out[h] = min(own, totals[village[h]])


def assets(model, keys, work) -> None:
    """Settle microcredit, then keep, save, invest, repay, cope and depreciate (§7.12);
    ``work``: the economy's per-household work arrays (``repaid`` is written here)."""
    ec = model.scenario.economy
    hh = model.hh
    price_level = model.line(model.year) / model.line(0)
    par = asset_params(ec, price_level)
    # microcredit principal due this year is repaid first, out of the surplus (zeros: no loans)
    work.repaid[:] = credit.settle(model, hh.income - par.need_pp * hh.size, model.strategy.params)
    credit_limit(ec.credit, hh.net_income, hh.assets, hh.village, model.villages.n, hh.credit_limit)
    parallel(_assets, hh.n, columns(AssetHouseholds, hh, work), par)


@jit
def _assets(lo, hi, hh, par):
    """Keeping, saving, repayment, investment, coping and depreciation, household by household
    (§7.12). Invariant: ``debt`` ends at most ``max(credit_limit, debt on entry) + arrears``,
    where ``arrears`` (interest left unpaid at the minimum consumption) is at most the year's
    interest: new borrowing never goes past the limit."""
    # the columns taken out of their record before the loop: read through it inside, every
    # access costs a reference count (measured ten times slower; sim.model.labour._labour)
    size, income, repaid, asset_income_of = hh.size, hh.income, hh.repaid, hh.asset_income
    limit, debt_of, assets, savings = hh.credit_limit, hh.debt, hh.assets, hh.savings
    house_safe, consumption = hh.house_safe, hh.sp_consumption
    arrears_of, unpaid_of, deprived = hh.arrears, hh.unpaid_bills, hh.deprived
    sp_medical, sp_schooling, sp_debt_service = hh.sp_medical, hh.sp_schooling, hh.sp_debt_service
    keep, renovation_cost = par.keep, par.renovation_cost
    for h in range(row(lo), row(hi)):
        need = par.need_pp * size[h]
        floor = par.consumption_floor * need
        total = income[h] - repaid[h]
        # asset smoothing: asset income is kept as stock (offspring, profits left in the
        # business) as long as consumption can stay at the floor; the rest is cash
        kept = min(par.reinvest_share * max(asset_income_of[h], 0.0), max(total - floor, 0.0))
        cash = total - kept
        surplus = cash - need
        saving = par.saving_rate * surplus if surplus > 0 else 0.0
        debt = debt_of[h]
        repay = min(min(debt, par.debt_repay_share * debt), saving)
        debt -= repay
        invest = par.investment_share * (saving - repay)
        a = assets[h] + kept + invest
        s = savings[h] + (saving - repay - invest)
        # below the floor the household draws savings, borrows up to its credit limit
        # (sim.model.assets.credit_limit), and covers a share of what is still missing by
        # selling assets at a discount; the rest squeezes consumption (asset smoothing)
        shortfall = max(floor - cash, 0.0)
        from_savings = min(s, shortfall)
        s -= from_savings
        shortfall -= from_savings
        borrowed = min(shortfall, max(limit[h] - debt, 0.0))
        rest = shortfall - borrowed
        sold = min(a, par.sale_share * rest / max(keep, MIN_KEEP))
        a -= sold
        unmet = max(rest - sold * keep, 0.0)
        # what it cannot raise squeezes consumption below the floor (deprivation); below the
        # minimum it leaves bills unpaid instead: medical and school bills first (written off or
        # care forgone), then interest, which is added to the debt
        left = floor - unmet  # money for consumption after rigid spending
        unpaid = min(
            sp_medical[h] + sp_schooling[h] + sp_debt_service[h],
            max(par.min_consumption * need - left, 0.0),
        )
        interest = max(unpaid - sp_medical[h] - sp_schooling[h], 0.0)
        debt_of[h] = debt + borrowed + interest
        arrears_of[h] = interest
        unpaid_of[h] = unpaid - interest
        deprived[h] = unmet > TINY
        consumption[h] = cash - saving if surplus > 0 else max(cash, floor) - unmet + unpaid
        a = max(a * par.kept_after_depreciation, 0.0)
        if not house_safe[h] and s >= renovation_cost:
            s -= renovation_cost
            house_safe[h] = True
        assets[h] = a
        savings[h] = s


def project(ec, start_assets, other_income, size, labour_units, productivity, years: int):
    """Assets year by year under the model's own rule (``sim.model.income.asset_yield`` and
    :func:`_assets`, the compiled functions a run uses) for households whose income apart from
    their assets is ``other_income`` every year, with no shocks, debt or programme, at year-0
    prices. Returns an array (years + 1, households)."""
    start = np.asarray(start_assets, dtype=float)
    n = len(start)

    def full(x, dtype=float):
        return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()

    hh = SimpleNamespace(
        size=full(size, np.int16),
        labour_units=full(labour_units),
        productivity=full(productivity),
        assets=start.copy(),
        asset_return=np.zeros(n),
        asset_income=np.zeros(n),
        income=np.zeros(n),
        repaid=np.zeros(n),
        credit_limit=np.zeros(n),
        debt=np.zeros(n),
        savings=np.zeros(n),
        house_safe=np.ones(n, dtype=bool),
        sp_consumption=np.zeros(n),
        arrears=np.zeros(n),
        unpaid_bills=np.zeros(n),
        sp_medical=np.zeros(n),
        sp_schooling=np.zeros(n),
        sp_debt_service=np.zeros(n),
        deprived=np.zeros(n, dtype=bool),
    )
    other = full(other_income)
    par = asset_params(ec)
    path = [hh.assets.copy()]
    for _ in range(years):
        asset_income(hh, ec.assets)
        hh.income[:] = other + hh.asset_income
        credit_limit(
            ec.credit, hh.income, hh.assets, np.zeros(n, dtype=np.int32), 1, hh.credit_limit
        )
        parallel(_assets, n, columns(AssetHouseholds, hh), par)
        path.append(hh.assets.copy())
    return np.array(path)
