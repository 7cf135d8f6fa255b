"""Labour, the six income components, rigid spending, and the asset dynamics (the poverty trap).

Income is computed as speech 1's 六算 asks: (1) farm and livestock, (2) wage / migrant work and
diversified business, (3) property and transfers, minus (4)-(6) rigid spending: illness, schooling
(university above all) and debt service. Per-capita income after rigid spending is what the
poverty line is compared with.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from sim.codes import Health, Stage, Work
from sim.policies import microcredit


def asset_return(assets: np.ndarray, a) -> np.ndarray:
    """Yearly return on productive assets: an S-shape around the threshold, or flat."""
    if not a.trap:
        return np.full_like(assets, a.return_flat)
    x = np.clip((assets - a.threshold) / a.width, -50.0, 50.0)
    return a.return_low + (a.return_high - a.return_low) / (1.0 + np.exp(-x))


def labour_and_income(model, rng: np.random.Generator) -> None:
    sc = model.scenario
    ec = sc.economy
    lab = sc.population.labour
    p, hh, v = model.persons, model.hh, model.villages
    n_h = hh.n
    year = model.year
    z_year = rng.standard_normal(p.n)
    u_loc = rng.random(p.n)
    rho = ec.labour_persistence
    # a higher propensity means a smaller uniform, so a better chance of off-farm work
    u_mig = ndtr(-(np.sqrt(rho) * p.work_propensity + np.sqrt(1.0 - rho) * z_year))

    wage_index = (1.0 + ec.wage_growth) ** year
    price_level = model.line(year) / model.line(0)
    age = p.age
    vil = hh.village[p.hh]
    rem = v.remoteness[vil]
    infra = v.infrastructure[vil]

    # ---- labour allocation ---------------------------------------------------------------------
    out_of_school = p.stage == Stage.NONE
    working_age = (age >= lab.working_age_min) & (age <= lab.working_age_max) & out_of_school
    able = working_age & (p.health != Health.DISABLED)
    sick_w = np.where(p.health == Health.CHRONIC, lab.chronic_labour_weight, 1.0)
    acute_keep = np.where(p.acute, 1.0 - sc.shocks.illness.acute_work_loss, 1.0)
    weight = np.where(able, sick_w, 0.0) * acute_keep

    skill = p.skill
    p_mig = ec.migrant_base_prob * np.power(np.maximum(skill, 1e-6), ec.skill.migrant_elasticity)
    p_mig = np.where(p.health == Health.CHRONIC, 0.3 * p_mig, p_mig)
    work_factor = model.effects.work_factor[p.hh]
    p_mig = np.where(age <= ec.migrant_age_max, np.minimum(p_mig * work_factor, 0.95), 0.0)
    linked = hh.enterprise[p.hh] >= 0
    ent_job = p.ent_job & linked & able
    migrant = able & ~ent_job & (u_mig < p_mig)
    p_loc = (
        ec.local_job_prob
        * (1.0 - 0.6 * rem)
        * (0.5 + 0.5 * infra)
        * np.minimum(skill, 1.5)
        * hh.job_access[p.hh]
        * work_factor
    )
    local = able & ~ent_job & ~migrant & (u_loc < np.clip(p_loc, 0.0, 0.95))
    farm_wa = able & ~ent_job & ~migrant & ~local
    elderly_farm = (
        (age > lab.working_age_max)
        & (age <= lab.elderly_farm_age_max)
        & (p.health == Health.HEALTHY)
        & out_of_school
    )
    p.work[:] = Work.NONE
    p.work[farm_wa | elderly_farm] = Work.FARM
    p.work[local] = Work.LOCAL
    p.work[ent_job] = Work.ENTERPRISE
    p.work[migrant] = Work.MIGRANT

    # ---- earnings per person -------------------------------------------------------------------
    migrant_pay = ec.migrant_monthly_wage * ec.migrant_months * ec.migrant_remit_share * wage_index
    earn_mig = np.where(migrant, weight * skill * migrant_pay, 0.0)
    earn_loc = np.where(
        local, weight * skill * ec.local_daily_wage * ec.local_max_days * wage_index, 0.0
    )
    earn_ent = np.where(ent_job, weight * sc.enterprise_defaults.job_wage * wage_index, 0.0)
    lost_work = np.where(
        p.acute & (migrant | local | ent_job),
        (earn_mig + earn_loc + earn_ent)
        * sc.shocks.illness.acute_work_loss
        / max(1.0 - sc.shocks.illness.acute_work_loss, 1e-9),
        0.0,
    )

    farm_w = (
        np.where(farm_wa, weight, 0.0)
        + np.where(local, 0.5 * weight, 0.0)
        + np.where(elderly_farm, lab.elderly_labour_weight * acute_keep, 0.0)
    )
    farm_labour = np.bincount(p.hh, weights=farm_w, minlength=n_h)
    hh.labour_units[:] = np.bincount(p.hh, weights=weight, minlength=n_h) + np.bincount(
        p.hh, weights=np.where(elderly_farm, lab.elderly_labour_weight, 0.0), minlength=n_h
    )
    hh.inc_migrant[:] = np.bincount(p.hh, weights=earn_mig, minlength=n_h)
    ent_wage = np.bincount(p.hh, weights=earn_ent, minlength=n_h)
    hh.inc_wage[:] = np.bincount(p.hh, weights=earn_loc, minlength=n_h) + ent_wage

    # ---- farm ------------------------------------------------------------------------------------
    hv = hh.village
    needed = hh.land * ec.labour_per_mu
    farmed = np.where(needed > 0, np.minimum(1.0, farm_labour / np.maximum(needed, 1e-12)), 0.0)
    potential = (
        hh.land
        * farmed
        * ec.farm_gross_per_mu
        * v.land_productivity[hv]
        * (0.7 + 0.3 * v.infrastructure[hv])
        * hh.productivity
        * price_level
    )
    hit = v.hit[hv]
    disaster_cut = np.where(hit, sc.shocks.disaster.farm_loss, 0.0)
    price = model.crop_price
    hh.inc_farm[:] = potential * price * (1.0 - disaster_cut)
    hh.cost_production[:] = hh.land * farmed * ec.farm_cost_per_mu * price_level
    hh.loss_disaster += potential * price * disaster_cut
    market_loss = potential * max(0.0, 1.0 - price) * (1.0 - disaster_cut)

    # ---- productive assets and enterprise contracts -------------------------------------------
    a = ec.assets
    labour_factor = np.clip(0.3 + 0.7 * np.minimum(hh.labour_units, 1.0), 0.0, 1.0)
    asset_income = hh.assets * asset_return(hh.assets, a) * hh.productivity * labour_factor
    e = model.ent
    contract = np.zeros(n_h)
    has = hh.enterprise >= 0
    if has.any():
        idx = hh.enterprise[has]
        producing = e.alive[idx] & (year - hh.link_year[has] >= e.lag[idx])
        ind_price = model.industry_price[e.industry[idx]]
        base = e.income_per_household[idx] * (1.0 + e.premium[idx]) * wage_index
        contract[has] = np.where(producing, base * ind_price * labour_factor[has], 0.0)
        market_loss[has] += np.where(
            producing, base * np.maximum(0.0, 1.0 - ind_price) * labour_factor[has], 0.0
        )
    hh.inc_livestock[:] = asset_income * a.livestock_share
    hh.inc_business[:] = asset_income * (1.0 - a.livestock_share) + contract
    hh.loss_market[:] = market_loss
    model.yr.contract_income_prev = contract
    model.yr.ent_wage_prev = ent_wage

    # ---- property and transfers ------------------------------------------------------------------
    rent = (
        hh.land
        * (1.0 - farmed)
        * ec.land_rent_per_mu
        * (1.0 - 0.5 * v.remoteness[hv])
        * price_level
    )
    hh.inc_property[:] = rent + hh.savings * ec.savings_interest
    pensioners = (age >= ec.pension_age).astype(np.float64)
    pension = np.bincount(p.hh, weights=pensioners, minlength=n_h) * ec.pension_monthly * 12.0
    subsidy = hh.land * ec.ag_subsidy_per_mu
    hh.inc_transfers_programme[:] = model.effects.transfers
    hh.inc_transfers[:] = pension + subsidy + model.effects.transfers

    # ---- rigid spending --------------------------------------------------------------------------
    s = sc.schooling
    stage_cost = np.select(
        [p.stage == Stage.COMPULSORY, p.stage == Stage.HIGH, p.stage == Stage.UNIVERSITY],
        [s.compulsory_cost, s.high_school_cost, s.university_cost],
        0.0,
    )
    schooling = np.bincount(p.hh, weights=stage_cost, minlength=n_h) * price_level
    hh.sp_schooling[:] = np.maximum(schooling - model.effects.schooling_aid, 0.0)
    hh.sp_debt_service[:] = hh.debt * ec.debt_interest + microcredit.unpaid_interest(
        model, model.strategy.params.microcredit.interest_rate
    )
    # an illness shock is this year's new cost (hospital episodes, new chronic cases), at the
    # household's out-of-pocket share, plus work lost; a long-standing chronic cost is not news
    oop_share = np.divide(
        hh.sp_medical, hh.medical_cost, out=np.zeros(n_h), where=hh.medical_cost > 0
    )
    hh.loss_illness[:] = oop_share * model.yr.med_new + np.bincount(
        p.hh, weights=lost_work, minlength=n_h
    )

    hh.net_income[:] = (
        hh.inc_farm
        - hh.cost_production
        + hh.inc_livestock
        + hh.inc_wage
        + hh.inc_migrant
        + hh.inc_business
        + hh.inc_property
        + hh.inc_transfers
    )
    # the standing dibao tops income up to the standard (差额补助); it is not programme money
    standard = sc.dibao_standard(year) * hh.size
    topup = np.where(hh.dibao, np.maximum(standard - hh.net_income, 0.0), 0.0)
    hh.inc_dibao_standing[:] = topup
    hh.inc_transfers += topup
    hh.net_income += topup
    hh.income[:] = hh.net_income - hh.sp_medical - hh.sp_schooling - hh.sp_debt_service
    hh.income_pc[:] = hh.income / hh.size


def assets(model, rng: np.random.Generator) -> None:
    """Save, invest, repay, or cover a shortfall from savings, distress sales and debt; depreciate.

    Below the asset threshold returns are low and a shock forces sales that push assets lower
    still; above it, investment out of surplus keeps assets rising: the poverty trap.
    """
    sc = model.scenario
    ec = sc.economy
    hh = model.hh
    price_level = model.line(model.year) / model.line(0)
    need = ec.subsistence_per_person * hh.size * price_level
    cash = hh.income
    used = microcredit.settle(model, cash - need, model.strategy.params)
    cash = cash - used  # principal repaid at maturity out of this year's surplus
    surplus = cash - need

    saving = np.where(surplus > 0, ec.saving_rate * surplus, 0.0)
    repay = np.minimum(np.minimum(hh.debt, ec.debt_repay_share * hh.debt), saving)
    hh.debt -= repay
    invest = ec.investment_share * (saving - repay)
    hh.assets += invest
    hh.savings += saving - repay - invest

    # below the floor (70% of need) the household draws savings, sells assets at a discount,
    # and borrows the rest; it consumes the floor
    floor = 0.7 * need
    shortfall = np.maximum(floor - cash, 0.0)
    from_savings = np.minimum(hh.savings, shortfall)
    hh.savings -= from_savings
    shortfall -= from_savings
    keep = 1.0 - ec.distress_sale_discount
    sold = np.minimum(hh.assets, shortfall / max(keep, 1e-9))
    hh.assets -= sold
    shortfall = np.maximum(shortfall - sold * keep, 0.0)
    hh.debt += shortfall
    hh.sp_consumption[:] = np.where(surplus > 0, cash - saving, np.maximum(cash, floor))

    hh.assets *= 1.0 - ec.asset_depreciation
    np.maximum(hh.assets, 0.0, out=hh.assets)

    cost = ec.house_renovation_cost * price_level
    renovate = ~hh.house_safe & (hh.savings >= cost)
    hh.savings[renovate] -= cost
    hh.house_safe[renovate] = True
