"""Household income: the six calculations (六算) after labour is allocated (docs/ODD.md §7.10,
§7.11).

Income is computed as speech 1's 六算 asks: (1) farm and livestock, (2) wage / migrant work and
diversified business, (3) property and transfers, minus (4)-(6) rigid spending: illness,
schooling (university above all) and debt service. Per-capita income after rigid spending is
what the poverty line is compared with.

Two household passes, each over few arrays (a loop over many arrays at once runs several times
slower per array): farm, assets, contracts and rent; then transfers, rigid spending and income.
Each kernel reads its columns by name (:func:`sim.model.kernels.columns`) and its parameters
from one record built here.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from sim.model.kernels import columns, jit, parallel, row

# exp() of the logistic overflows past ~700; beyond ±50 the S-shape is flat to 1e-21 anyway, so
# the clip is a numerical guard, not a behavioural choice
LOGISTIC_CLIP = 50.0
MIN_LABOUR_NEED = 1e-12  # guard for land that needs (almost) no labour
MONTHS = 12.0  # a monthly pension paid for a year

FarmHouseholds = namedtuple(
    "FarmHouseholds",
    "village land productivity assets savings enterprise link_year labour_units farm_labour "
    "asset_return asset_income inc_farm cost_production loss_disaster inc_livestock inc_business loss_market "
    "contract_income_prev inc_property dividend dividend_from dividend_until",
)
FarmVillages = namedtuple("FarmVillages", "land_productivity infrastructure remoteness hit")
FarmEnterprises = namedtuple("FarmEnterprises", "alive lag industry income_per_household premium")
FarmParams = namedtuple(
    "FarmParams",
    "year crop_price industry_price wage_index price_level labour_per_mu farm_gross_per_mu "
    "farm_cost_per_mu farm_loss farm_infrastructure_weight labour_floor capacity_per_labour "
    "livestock_share "
    "land_rent_per_mu rent_remoteness_discount savings_interest",
)
IncomeHouseholds = namedtuple(
    "IncomeHouseholds",
    "size land dibao pensioners transfers school schooling_aid debt loan loan_interest_paid "
    "medical_cost sp_medical med_new lost_work earn_local ent_wage_prev inc_farm cost_production "
    "inc_livestock inc_migrant inc_business inc_property inc_wage inc_transfers_programme "
    "inc_transfers inc_dibao_standing sp_schooling sp_debt_service loss_illness net_income "
    "income income_pc",
)
IncomeParams = namedtuple(
    "IncomeParams",
    "pension_year ag_subsidy_per_mu price_level debt_interest loan_rate dibao_standard",
)


def asset_return(assets: np.ndarray, a) -> np.ndarray:
    """Yearly return on productive assets: an S-shape around the threshold, or flat."""
    if not a.trap:
        return np.full_like(assets, a.return_flat)
    x = np.clip((assets - a.threshold) / a.width, -LOGISTIC_CLIP, LOGISTIC_CLIP)
    return a.return_low + (a.return_high - a.return_low) / (1.0 + np.exp(-x))


@jit
def return_at(assets, trap, threshold, width, low, high, flat):
    """:func:`asset_return` of one household's assets, for compiled callers."""
    if not trap:
        return flat
    x = min(max((assets - threshold) / width, -LOGISTIC_CLIP), LOGISTIC_CLIP)
    return low + (high - low) / (1.0 + math.exp(-x))


@jit
def labour_factor(labour_units, labour_floor):
    """Share of full asset and contract income a household's labour earns (§7.10)."""
    labour = labour_floor + (1.0 - labour_floor) * min(labour_units, 1.0)
    return min(max(labour, 0.0), 1.0)


@jit
def asset_yield(assets, ret, productivity, labour_units, labour_floor, capacity_per_labour):
    """A year's income from productive assets (§7.10): the return times the assets, with
    diminishing returns per labour unit (returns halve at ``capacity_per_labour`` x labour
    units), so that accumulation above the threshold levels off at a high steady state."""
    capacity = capacity_per_labour * max(labour_units, labour_floor)
    scale = 1.0 / (1.0 + assets / capacity) if capacity > 0 else 0.0
    factor = labour_factor(labour_units, labour_floor)
    return assets * ret * productivity * factor * scale


AssetIncomeHouseholds = namedtuple(
    "AssetIncomeHouseholds", "assets asset_return productivity labour_units asset_income"
)


def asset_income(hh, a) -> None:
    """``hh.asset_income`` from ``hh.assets`` alone, by the rule of the income phase (for
    projections of the asset rule outside a model run, sim.model.assets.project)."""
    hh.asset_return[:] = asset_return(hh.assets, a)
    par = (float(a.labour_floor), float(a.capacity_per_labour))
    parallel(_asset_income, len(hh.assets), columns(AssetIncomeHouseholds, hh), *par)


@jit
def _asset_income(lo, hi, hh, labour_floor, capacity_per_labour):
    assets, ret, productivity, labour_units = (
        hh.assets,
        hh.asset_return,
        hh.productivity,
        hh.labour_units,
    )
    out = hh.asset_income
    for h in range(row(lo), row(hi)):
        out[h] = asset_yield(
            assets[h], ret[h], productivity[h], labour_units[h], labour_floor, capacity_per_labour
        )


def farm_assets_contracts(model, work, wage_index: float, price_level: float) -> None:
    """Farm, livestock, business, contract and property income (一算, 二算, 三算)."""
    sc = model.scenario
    ec = sc.economy
    work.asset_return[:] = asset_return(model.hh.assets, ec.assets)
    par = FarmParams(
        year=model.year,
        crop_price=model.crop_price,
        industry_price=model.industry_price,
        wage_index=wage_index,
        price_level=price_level,
        labour_per_mu=float(ec.labour_per_mu),
        farm_gross_per_mu=float(ec.farm_gross_per_mu),
        farm_cost_per_mu=float(ec.farm_cost_per_mu),
        farm_loss=float(sc.shocks.disaster.farm_loss),
        farm_infrastructure_weight=float(ec.farm_infrastructure_weight),
        labour_floor=float(ec.assets.labour_floor),
        capacity_per_labour=float(ec.assets.capacity_per_labour),
        livestock_share=float(ec.assets.livestock_share),
        land_rent_per_mu=float(ec.land_rent_per_mu),
        rent_remoteness_discount=float(ec.rent_remoteness_discount),
        savings_interest=float(ec.savings_interest),
    )
    parallel(
        _farm_assets_contracts,
        model.hh.n,
        columns(FarmHouseholds, model.hh, work, model.yr),
        columns(FarmVillages, model.villages),
        columns(FarmEnterprises, model.ent),
        par,
    )


def transfers_spending_income(model, work, price_level: float) -> None:
    """Transfers, rigid spending, the standing dibao top-up and income per person."""
    sc = model.scenario
    ec = sc.economy
    par = IncomeParams(
        pension_year=sc.pension_monthly(model.year) * MONTHS,
        ag_subsidy_per_mu=float(ec.ag_subsidy_per_mu),
        price_level=price_level,
        debt_interest=float(ec.debt_interest),
        loan_rate=float(model.strategy.params.microcredit.interest_rate),
        dibao_standard=float(sc.dibao_standard(model.year)),
    )
    parallel(
        _transfers_spending_income,
        model.hh.n,
        columns(IncomeHouseholds, model.hh, work, model.effects, model.yr),
        par,
    )


@jit
def _farm_assets_contracts(lo, hi, hh, villages, ent, par):
    """Farm income (一算), asset and contract income (一算, 二算) and rent (三算) (§7.10).
    The columns are taken out of their records before the loop (see ``sim.model.labour._labour``:
    read through the record inside it, every access costs a reference count)."""
    village, land, productivity, assets = hh.village, hh.land, hh.productivity, hh.assets
    savings, enterprise, link_year = hh.savings, hh.enterprise, hh.link_year
    labour_units, cost_production = hh.labour_units, hh.cost_production
    farm_labour, asset_return, inc_farm = hh.farm_labour, hh.asset_return, hh.inc_farm
    asset_income_of, capacity_per_labour = hh.asset_income, par.capacity_per_labour
    loss_disaster, inc_livestock = hh.loss_disaster, hh.inc_livestock
    inc_business, loss_market, inc_property = hh.inc_business, hh.loss_market, hh.inc_property
    contract_income = hh.contract_income_prev
    dividend, dividend_from, dividend_until = hh.dividend, hh.dividend_from, hh.dividend_until
    land_productivity, infrastructure = villages.land_productivity, villages.infrastructure
    remoteness, hit = villages.remoteness, villages.hit
    alive, lag, industry, premium = ent.alive, ent.lag, ent.industry, ent.premium
    income_per_household, industry_price = ent.income_per_household, par.industry_price
    crop_price, price_level, year = par.crop_price, par.price_level, par.year
    infra_w, labour_floor = par.farm_infrastructure_weight, par.labour_floor
    livestock_share = par.livestock_share
    for h in range(row(lo), row(hi)):
        vil = village[h]
        ld = land[h]
        needed = ld * par.labour_per_mu
        farmed = min(1.0, farm_labour[h] / max(needed, MIN_LABOUR_NEED)) * (needed > 0)
        potential = (
            ld
            * farmed
            * par.farm_gross_per_mu
            * land_productivity[vil]
            * ((1.0 - infra_w) + infra_w * infrastructure[vil])
            * productivity[h]
            * price_level
        )
        cut = par.farm_loss * hit[vil]
        inc_farm[h] = potential * crop_price * (1.0 - cut)
        cost_production[h] = ld * farmed * par.farm_cost_per_mu * price_level
        loss_disaster[h] += potential * crop_price * cut
        market = potential * max(0.0, 1.0 - crop_price) * (1.0 - cut)
        # productive assets (the poverty trap) and contracts with a linked enterprise
        factor = labour_factor(labour_units[h], labour_floor)
        asset_income = asset_yield(
            assets[h],
            asset_return[h],
            productivity[h],
            labour_units[h],
            labour_floor,
            capacity_per_labour,
        )
        asset_income_of[h] = asset_income
        contract = 0.0
        e = enterprise[h]
        if e >= 0:
            if alive[e] and year - link_year[h] >= lag[e]:
                ind_price = industry_price[industry[e]]
                base = income_per_household[e] * (1.0 + premium[e]) * par.wage_index
                contract = base * ind_price * factor
                market += base * max(0.0, 1.0 - ind_price) * factor
        inc_livestock[h] = asset_income * livestock_share
        inc_business[h] = asset_income * (1.0 - livestock_share) + contract
        loss_market[h] = market
        contract_income[h] = contract
        # unfarmed land is let out, for less in a remote village
        rent_factor = 1.0 - par.rent_remoteness_discount * remoteness[vil]
        rent = ld * (1.0 - farmed) * par.land_rent_per_mu * rent_factor * price_level
        # an asset share's dividend (资产收益) is property income, as the NBS counts it
        paid = dividend[h] if dividend_from[h] <= year <= dividend_until[h] else 0.0
        inc_property[h] = rent + savings[h] * par.savings_interest + paid


@jit
def _transfers_spending_income(lo, hi, hh, par):
    """Transfers (三算), rigid spending (五算, 六算), the standing dibao top-up and income
    per person (§7.10, §7.11). Columns taken out of their record before the loop, as above."""
    size, land, dibao, pensioners = hh.size, hh.land, hh.dibao, hh.pensioners
    transfers, school, schooling_aid = hh.transfers, hh.school, hh.schooling_aid
    debt, loan = hh.debt, hh.loan
    interest_paid, medical_cost, sp_medical = hh.loan_interest_paid, hh.medical_cost, hh.sp_medical
    med_new, lost_work, earn_local = hh.med_new, hh.lost_work, hh.earn_local
    earn_enterprise, inc_farm, cost_production = hh.ent_wage_prev, hh.inc_farm, hh.cost_production
    inc_livestock, inc_migrant, inc_business = hh.inc_livestock, hh.inc_migrant, hh.inc_business
    inc_property, inc_wage, inc_transfers = hh.inc_property, hh.inc_wage, hh.inc_transfers
    inc_programme, inc_dibao = hh.inc_transfers_programme, hh.inc_dibao_standing
    sp_schooling, sp_debt_service = hh.sp_schooling, hh.sp_debt_service
    loss_illness = hh.loss_illness
    net_income, income, income_pc = hh.net_income, hh.income, hh.income_pc
    for h in range(row(lo), row(hi)):
        wage = earn_local[h] + earn_enterprise[h]
        inc_wage[h] = wage
        inc_programme[h] = transfers[h]
        transfer = pensioners[h] * par.pension_year + land[h] * par.ag_subsidy_per_mu + transfers[h]
        schooling = max(school[h] * par.price_level - schooling_aid[h], 0.0)
        sp_schooling[h] = schooling
        unpaid = (loan[h] > 0) & ~interest_paid[h]
        debt_service = debt[h] * par.debt_interest + loan[h] * par.loan_rate * unpaid
        sp_debt_service[h] = debt_service
        # an illness shock is this year's new cost (hospital episodes, new chronic cases), at the
        # household's out-of-pocket share, plus work lost; a long-standing chronic cost is not news
        cost = medical_cost[h]
        oop_share = sp_medical[h] / cost if cost > 0 else 0.0
        loss_illness[h] = oop_share * med_new[h] + lost_work[h]
        net = (
            inc_farm[h]
            - cost_production[h]
            + inc_livestock[h]
            + wage
            + inc_migrant[h]
            + inc_business[h]
            + inc_property[h]
            + transfer
        )
        # the standing dibao tops income up to the standard (差额补助); not programme money
        topup = max(par.dibao_standard * size[h] - net, 0.0) * dibao[h]
        inc_dibao[h] = topup
        inc_transfers[h] = transfer + topup
        net += topup
        net_income[h] = net
        inc = net - sp_medical[h] - schooling - debt_service
        income[h] = inc
        income_pc[h] = inc / size[h]
