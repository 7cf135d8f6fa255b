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
    "asset_return inc_farm cost_production loss_disaster inc_livestock inc_business loss_market "
    "contract_income_prev inc_property",
)
FarmVillages = namedtuple("FarmVillages", "land_productivity infrastructure remoteness hit")
FarmEnterprises = namedtuple("FarmEnterprises", "alive lag industry income_per_household premium")
FarmParams = namedtuple(
    "FarmParams",
    "year crop_price industry_price wage_index price_level labour_per_mu farm_gross_per_mu "
    "farm_cost_per_mu farm_loss farm_infrastructure_weight labour_floor livestock_share "
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
        pension_year=ec.pension_monthly * MONTHS,
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
    """Farm income (一算), asset and contract income (一算, 二算) and rent (三算) (§7.10)."""
    crop_price, price_level = par.crop_price, par.price_level
    infra_w, labour_floor = par.farm_infrastructure_weight, par.labour_floor
    livestock_share = par.livestock_share
    for h in range(row(lo), row(hi)):
        vil = hh.village[h]
        ld = hh.land[h]
        needed = ld * par.labour_per_mu
        farmed = min(1.0, hh.farm_labour[h] / max(needed, MIN_LABOUR_NEED)) * (needed > 0)
        potential = (
            ld
            * farmed
            * par.farm_gross_per_mu
            * villages.land_productivity[vil]
            * ((1.0 - infra_w) + infra_w * villages.infrastructure[vil])
            * hh.productivity[h]
            * price_level
        )
        cut = par.farm_loss * villages.hit[vil]
        hh.inc_farm[h] = potential * crop_price * (1.0 - cut)
        hh.cost_production[h] = ld * farmed * par.farm_cost_per_mu * price_level
        hh.loss_disaster[h] += potential * crop_price * cut
        market = potential * max(0.0, 1.0 - crop_price) * (1.0 - cut)
        # productive assets (the poverty trap) and contracts with a linked enterprise
        labour = labour_floor + (1.0 - labour_floor) * min(hh.labour_units[h], 1.0)
        labour_factor = min(max(labour, 0.0), 1.0)
        asset_income = hh.assets[h] * hh.asset_return[h] * hh.productivity[h] * labour_factor
        contract = 0.0
        e = hh.enterprise[h]
        if e >= 0:
            if ent.alive[e] and par.year - hh.link_year[h] >= ent.lag[e]:
                ind_price = par.industry_price[ent.industry[e]]
                base = ent.income_per_household[e] * (1.0 + ent.premium[e]) * par.wage_index
                contract = base * ind_price * labour_factor
                market += base * max(0.0, 1.0 - ind_price) * labour_factor
        hh.inc_livestock[h] = asset_income * livestock_share
        hh.inc_business[h] = asset_income * (1.0 - livestock_share) + contract
        hh.loss_market[h] = market
        hh.contract_income_prev[h] = contract
        # unfarmed land is let out, for less in a remote village
        rent = (
            ld
            * (1.0 - farmed)
            * par.land_rent_per_mu
            * (1.0 - par.rent_remoteness_discount * villages.remoteness[vil])
            * price_level
        )
        hh.inc_property[h] = rent + hh.savings[h] * par.savings_interest


@jit
def _transfers_spending_income(lo, hi, hh, par):
    """Transfers (三算), rigid spending (五算, 六算), the standing dibao top-up and income
    per person (§7.10, §7.11)."""
    for h in range(row(lo), row(hi)):
        wage = hh.earn_local[h] + hh.ent_wage_prev[h]
        hh.inc_wage[h] = wage
        transfers = hh.transfers[h]
        hh.inc_transfers_programme[h] = transfers
        land = hh.land[h]
        transfer = hh.pensioners[h] * par.pension_year + land * par.ag_subsidy_per_mu + transfers
        schooling = max(hh.school[h] * par.price_level - hh.schooling_aid[h], 0.0)
        hh.sp_schooling[h] = schooling
        loan = hh.loan[h]
        unpaid = (loan > 0) & ~hh.loan_interest_paid[h]
        debt_service = hh.debt[h] * par.debt_interest + loan * par.loan_rate * unpaid
        hh.sp_debt_service[h] = debt_service
        # an illness shock is this year's new cost (hospital episodes, new chronic cases), at the
        # household's out-of-pocket share, plus work lost; a long-standing chronic cost is not news
        cost = hh.medical_cost[h]
        oop_share = hh.sp_medical[h] / cost if cost > 0 else 0.0
        hh.loss_illness[h] = oop_share * hh.med_new[h] + hh.lost_work[h]
        net = (
            hh.inc_farm[h]
            - hh.cost_production[h]
            + hh.inc_livestock[h]
            + wage
            + hh.inc_migrant[h]
            + hh.inc_business[h]
            + hh.inc_property[h]
            + transfer
        )
        # the standing dibao tops income up to the standard (差额补助); not programme money
        topup = max(par.dibao_standard * hh.size[h] - net, 0.0) * hh.dibao[h]
        hh.inc_dibao_standing[h] = topup
        hh.inc_transfers[h] = transfer + topup
        net += topup
        hh.net_income[h] = net
        inc = net - hh.sp_medical[h] - schooling - debt_service
        hh.income[h] = inc
        hh.income_pc[h] = inc / hh.size[h]
