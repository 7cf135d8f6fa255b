"""Labour, the six income components, rigid spending, and the asset dynamics (the poverty trap).

Income is computed as speech 1's 六算 asks: (1) farm and livestock, (2) wage / migrant work and
diversified business, (3) property and transfers, minus (4)-(6) rigid spending: illness, schooling
(university above all) and debt service. Per-capita income after rigid spending is what the
poverty line is compared with.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model import credit
from sim.model.codes import Health, Stage, Work
from sim.model.kernels import jit, parallel, row
from sim.model.rng import ndtr, ndtri, open_uniform, uniform

# streams "labour.<draw>", per person: the migration propensity's yearly part, the local job draw
# (only for who could take it), its renewal (for everybody: never depends on the strategy)
LABOUR_STREAMS = ("migration", "local", "renewal")
Z_YEAR, U_LOC, U_RENEW = range(3)  # their keys' positions in the array the kernel gets
HEALTHY, CHRONIC, DISABLED = int(Health.HEALTHY), int(Health.CHRONIC), int(Health.DISABLED)
NONE, COMPULSORY = int(Stage.NONE), int(Stage.COMPULSORY)
HIGH, UNIVERSITY = int(Stage.HIGH), int(Stage.UNIVERSITY)
W_NONE, W_FARM, W_LOCAL = int(Work.NONE), int(Work.FARM), int(Work.LOCAL)
W_ENTERPRISE, W_MIGRANT = int(Work.ENTERPRISE), int(Work.MIGRANT)


def asset_return(assets: np.ndarray, a) -> np.ndarray:
    """Yearly return on productive assets: an S-shape around the threshold, or flat."""
    if not a.trap:
        return np.full_like(assets, a.return_flat)
    x = np.clip((assets - a.threshold) / a.width, -50.0, 50.0)
    return a.return_low + (a.return_high - a.return_low) / (1.0 + np.exp(-x))


def _local_keys(model) -> np.ndarray:
    """The key of every year's ``labour.local`` stream: a person keeps the draw of the year
    its local draw was last renewed (``persons.local_year``)."""
    keys = model.__dict__.get("_local_key_cache")
    if keys is None or len(keys) <= model.year:
        horizon = max(model.years, model.year) + 1
        keys = np.array(
            [model.streams.key("labour.local", y) for y in range(horizon)], dtype=np.uint64
        )
        model._local_key_cache = keys
    return keys


def _scratch(model, name: str, n: int) -> np.ndarray:
    """A per-household work array kept between years (the kernels overwrite it)."""
    cache = model.__dict__.setdefault("_scratch", {})
    arr = cache.get(name)
    if arr is None or len(arr) != n:
        arr = cache[name] = np.zeros(n)
    return arr


def _migration_memo(model) -> tuple[np.ndarray, ...]:
    """Per person: the inputs of the migration threshold last computed, and the threshold."""
    n = model.persons.n
    memo = getattr(model, "_migration_memo", None)
    if memo is None or len(memo[0]) != n:
        nan = np.full(n, np.nan)  # nothing computed yet: nan equals nothing
        memo = (nan, np.zeros(n, dtype=bool), nan.copy(), np.zeros(n))
        model._migration_memo = memo
    return memo


@jit
def _migration_threshold(skill, chronic, wf, wp, base_prob, elasticity, sqrt_rho, sqrt_1_rho):
    """The uniform behind the yearly draw above which the person migrates.

    ODD §7.9: migrant if Φ(-x) < p_mig, x = sqrt(ρ)·wp + sqrt(1-ρ)·z, z = Φ⁻¹(u). Solved for u:
    Φ(-x) < p  <=>  x > -Φ⁻¹(p)  <=>  u > Φ((-Φ⁻¹(p) - sqrt(ρ)·wp) / sqrt(1-ρ)).
    """
    p = base_prob * max(skill, 1e-6) ** elasticity
    if chronic:
        p = 0.3 * p
    p = min(p * wf, 0.95)
    if p <= 0.0:
        return 2.0  # never
    cut = -ndtri(p) - sqrt_rho * wp
    if sqrt_1_rho > 0.0:
        return ndtr(cut / sqrt_1_rho)
    return -1.0 if cut < 0.0 else 2.0  # fully persistent: the propensity alone decides


def labour_and_income(model, keys) -> None:
    """Phase 5: who works where, the six income components, rigid spending, the standing dibao
    top-up and per-capita income (docs/ODD.md §7.9-7.11).

    Three passes, each over few arrays (a loop over many arrays at once runs several times
    slower per array): persons (work and earnings, summed per household), then households twice
    (farm, assets, contracts, rent; then transfers, rigid spending and income).
    """
    sc = model.scenario
    ec = sc.economy
    lab = sc.population.labour
    s = sc.schooling
    p, hh, v, e, yr, fx = (
        model.persons,
        model.hh,
        model.villages,
        model.ent,
        model.yr,
        model.effects,
    )
    n = hh.n
    year = model.year
    wage_index = (1.0 + ec.wage_growth) ** year
    price_level = model.line(year) / model.line(0)
    awl = sc.shocks.illness.acute_work_loss
    farm_labour = _scratch(model, "farm_labour", n)
    earn_local = _scratch(model, "earn_local", n)
    lost_work = _scratch(model, "lost_work", n)
    pensioners = _scratch(model, "pensioners", n)
    school = _scratch(model, "school", n)
    local_hh = _scratch(model, "local_hh", n)
    _local_chance(hh.village, v.remoteness, v.infrastructure, ec.local_job_prob, local_hh)
    parallel(
        _labour,
        n,
        model.person_start,
        p.hh,
        p.age,
        p.stage,
        p.health,
        p.acute,
        p.skill,
        p.work_propensity,
        p.ent_job,
        p.work,
        p.local_year,
        _local_keys(model),
        year,
        ec.local_persistence,
        *_migration_memo(model),
        hh.enterprise,
        hh.job_access,
        fx.work_factor,
        bool((fx.work_factor != 1.0).any()),  # the dependency response is on
        local_hh,
        hh.labour_units,
        farm_labour,
        hh.inc_migrant,
        earn_local,
        yr.ent_wage_prev,
        lost_work,
        pensioners,
        school,
        keys.array(LABOUR_STREAMS),
        np.array(
            [
                lab.working_age_min,
                lab.working_age_max,
                lab.elderly_farm_age_max,
                ec.migrant_age_max,
                ec.pension_age,
            ],
            dtype=np.int64,
        ),
        np.array(
            [
                math.sqrt(ec.labour_persistence),
                math.sqrt(1.0 - ec.labour_persistence),
                lab.chronic_labour_weight,
                1.0 - awl,
                awl / max(1.0 - awl, 1e-9),
                lab.elderly_labour_weight,
                ec.migrant_base_prob,
                ec.skill.migrant_elasticity,
                ec.migrant_monthly_wage * ec.migrant_months * ec.migrant_remit_share * wage_index,
                ec.local_daily_wage * ec.local_max_days * wage_index,
                sc.enterprise_defaults.job_wage * wage_index,
                s.compulsory_cost,
                s.high_school_cost,
                s.university_cost,
            ]
        ),
    )
    parallel(
        _farm_assets_contracts,
        n,
        hh.village,
        hh.land,
        hh.productivity,
        hh.assets,
        asset_return(hh.assets, ec.assets),
        hh.savings,
        hh.enterprise,
        hh.link_year,
        hh.labour_units,
        farm_labour,
        v.land_productivity,
        v.infrastructure,
        v.remoteness,
        v.hit,
        e.alive,
        e.lag,
        e.industry,
        e.income_per_household,
        e.premium,
        model.industry_price,
        hh.inc_farm,
        hh.cost_production,
        hh.loss_disaster,
        hh.inc_livestock,
        hh.inc_business,
        hh.loss_market,
        yr.contract_income_prev,
        hh.inc_property,
        year,
        np.array(
            [
                model.crop_price,
                wage_index,
                price_level,
                ec.labour_per_mu,
                ec.farm_gross_per_mu,
                ec.farm_cost_per_mu,
                sc.shocks.disaster.farm_loss,
                ec.assets.livestock_share,
                ec.land_rent_per_mu,
                ec.savings_interest,
            ]
        ),
    )
    earn_local += fx.wages  # programme-paid wages (public-welfare posts) are wage income
    paid = getattr(yr, "loan_interest_paid", None)
    if paid is None:
        paid = np.zeros(n, dtype=bool)
    parallel(
        _transfers_spending_income,
        n,
        hh.size,
        hh.land,
        hh.dibao,
        pensioners,
        fx.transfers,
        school,
        fx.schooling_aid,
        hh.debt,
        hh.loan,
        paid,
        hh.medical_cost,
        hh.sp_medical,
        yr.med_new,
        lost_work,
        earn_local,
        yr.ent_wage_prev,
        hh.inc_farm,
        hh.cost_production,
        hh.inc_livestock,
        hh.inc_migrant,
        hh.inc_business,
        hh.inc_property,
        hh.inc_wage,
        hh.inc_transfers_programme,
        hh.inc_transfers,
        hh.inc_dibao_standing,
        hh.sp_schooling,
        hh.sp_debt_service,
        hh.loss_illness,
        hh.net_income,
        hh.income,
        hh.income_pc,
        np.array(
            [
                ec.pension_monthly * 12.0,
                ec.ag_subsidy_per_mu,
                price_level,
                ec.debt_interest,
                model.strategy.params.microcredit.interest_rate,
                sc.dibao_standard(year),
            ]
        ),
    )


@jit
def _local_chance(village, remoteness, infrastructure, local_job_prob, out):
    """The household's chance of local wage work before its members' skill and job access."""
    for h in range(len(village)):
        vil = village[h]
        out[h] = local_job_prob * (1.0 - 0.6 * remoteness[vil]) * (0.5 + 0.5 * infrastructure[vil])


@jit
def _labour(
    lo,
    hi,
    start,
    hh_of,
    age,
    stage,
    health,
    acute,
    skill,
    work_propensity,
    ent_job,
    work,
    local_year,
    local_keys,
    year,
    local_persistence,
    memo_skill,
    memo_chronic,
    memo_wf,
    memo_q,
    enterprise,
    job_access,
    work_factor,
    dependency,
    local_hh,
    labour_units,
    farm_labour,
    earn_migrant,
    earn_local,
    earn_enterprise,
    lost_work,
    pensioners,
    school,
    keys,
    ages,
    par,
):
    """Labour allocation and earnings (§7.9, §7.10) of the persons of households ``lo:hi``,
    person by person, added into the sums of their household (one flat loop over the persons
    runs faster than a loop over households with one over their persons inside).

    Who works where is random, so the rules are written with & and arithmetic on flags, not
    branches: a mispredicted branch costs more than computing both sides.
    """
    wa_min, wa_max, elderly_max, migrant_age_max, pension_age = ages
    (
        sqrt_rho,
        sqrt_1_rho,
        chronic_weight,
        acute_keep,
        lost_per_earned,
        elderly_weight,
        migrant_base_prob,
        migrant_elasticity,
        migrant_pay,
        local_pay,
        enterprise_pay,
        compulsory_cost,
        high_school_cost,
        university_cost,
    ) = par
    stage_cost = np.zeros(5)  # yearly cost of a pupil by schooling stage (none, pre-school: 0)
    stage_cost[COMPULSORY] = compulsory_cost
    stage_cost[HIGH] = high_school_cost
    stage_cost[UNIVERSITY] = university_cost
    for out in (labour_units, farm_labour, earn_migrant, earn_local, earn_enterprise, lost_work):
        out[lo:hi] = 0.0
    pensioners[lo:hi] = 0.0
    school[lo:hi] = 0.0
    k_year, k_renew = keys[Z_YEAR], keys[U_RENEW]
    for i in range(row(start[lo]), row(start[hi])):
        h = row(hh_of[i])
        a = age[i]
        st = stage[i]
        state = health[i]
        sick = acute[i]
        sk = skill[i]
        wf = work_factor[h]
        pensioners[h] += a >= pension_age
        school[h] += stage_cost[st]
        keep = acute_keep if sick else 1.0
        out_of_school = st == NONE
        able = out_of_school & (a >= wa_min) & (a <= wa_max) & (state != DISABLED)
        elderly = out_of_school & (a > wa_max) & (a <= elderly_max) & (state == HEALTHY)
        chronic = state == CHRONIC
        weight = (chronic_weight if chronic else 1.0) * keep * able
        enterprise_job = able & ent_job[i] & (enterprise[h] >= 0)
        seeks = able & ~enterprise_job
        # migration: the threshold changes only with skill, health or the dependency response
        # (work_propensity is constant), so it is kept from year to year until one of them does
        may_migrate = seeks & (a <= migrant_age_max)
        changed = (memo_skill[i] != sk) | (memo_chronic[i] != chronic)
        if dependency:
            changed |= memo_wf[i] != wf
        if may_migrate & changed:
            memo_skill[i] = sk
            memo_chronic[i] = chronic
            memo_wf[i] = wf
            memo_q[i] = _migration_threshold(
                sk,
                chronic,
                wf,
                work_propensity[i],
                migrant_base_prob,
                migrant_elasticity,
                sqrt_rho,
                sqrt_1_rho,
            )
        migrant = may_migrate & (open_uniform(k_year, i) > memo_q[i])
        # a local job is mostly kept: the draw behind it is renewed with chance 1 - persistence
        renew = (year > 0) & (uniform(k_renew, i) >= local_persistence)
        ly = year if renew else local_year[i]
        local_year[i] = ly
        p_loc = min(max(local_hh[h] * min(sk, 1.5) * job_access[h] * wf, 0.0), 0.95)
        local = seeks & ~migrant & (uniform(local_keys[ly], i) < p_loc)
        farm = seeks & ~migrant & ~local
        earned_migrant = weight * sk * migrant_pay * migrant
        earned_local = weight * sk * local_pay * local
        earned_enterprise = weight * enterprise_pay * enterprise_job
        earn_migrant[h] += earned_migrant
        earn_local[h] += earned_local
        earn_enterprise[h] += earned_enterprise
        lost_work[h] += (earned_migrant + earned_local + earned_enterprise) * lost_per_earned * sick
        # weight and elderly are never both non-zero, nor are the three farm terms
        labour_units[h] += weight + elderly_weight * elderly
        farm_labour[h] += weight * farm + 0.5 * weight * local + elderly_weight * keep * elderly
        work[i] = (
            W_MIGRANT * migrant
            + W_LOCAL * local
            + W_ENTERPRISE * enterprise_job
            + W_FARM * (farm | elderly)
        )


@jit
def _farm_assets_contracts(
    lo,
    hi,
    village,
    land,
    productivity,
    assets,
    asset_return,
    savings,
    enterprise,
    link_year,
    labour_units,
    farm_labour,
    land_productivity,
    infrastructure,
    remoteness,
    hit,
    alive,
    lag,
    industry,
    income_per_household,
    premium,
    industry_price,
    inc_farm,
    cost_production,
    loss_disaster,
    inc_livestock,
    inc_business,
    loss_market,
    contract_income,
    inc_property,
    year,
    par,
):
    """Farm income (一算), asset and contract income (一算, 二算) and rent (三算) (§7.10)."""
    (
        crop_price,
        wage_index,
        price_level,
        labour_per_mu,
        farm_gross_per_mu,
        farm_cost_per_mu,
        farm_loss,
        livestock_share,
        land_rent_per_mu,
        savings_interest,
    ) = par
    for h in range(row(lo), row(hi)):
        vil = village[h]
        ld = land[h]
        needed = ld * labour_per_mu
        farmed = min(1.0, farm_labour[h] / max(needed, 1e-12)) * (needed > 0)
        potential = (
            ld
            * farmed
            * farm_gross_per_mu
            * land_productivity[vil]
            * (0.7 + 0.3 * infrastructure[vil])
            * productivity[h]
            * price_level
        )
        cut = farm_loss * hit[vil]
        inc_farm[h] = potential * crop_price * (1.0 - cut)
        cost_production[h] = ld * farmed * farm_cost_per_mu * price_level
        loss_disaster[h] += potential * crop_price * cut
        market = potential * max(0.0, 1.0 - crop_price) * (1.0 - cut)
        # productive assets (the poverty trap) and contracts with a linked enterprise
        labour_factor = min(max(0.3 + 0.7 * min(labour_units[h], 1.0), 0.0), 1.0)
        asset_income = assets[h] * asset_return[h] * productivity[h] * labour_factor
        contract = 0.0
        ent = enterprise[h]
        if ent >= 0:
            if alive[ent] and year - link_year[h] >= lag[ent]:
                ind_price = industry_price[industry[ent]]
                base = income_per_household[ent] * (1.0 + premium[ent]) * wage_index
                contract = base * ind_price * labour_factor
                market += base * max(0.0, 1.0 - ind_price) * labour_factor
        inc_livestock[h] = asset_income * livestock_share
        inc_business[h] = asset_income * (1.0 - livestock_share) + contract
        loss_market[h] = market
        contract_income[h] = contract
        # unfarmed land is let out
        rent = ld * (1.0 - farmed) * land_rent_per_mu * (1.0 - 0.5 * remoteness[vil]) * price_level
        inc_property[h] = rent + savings[h] * savings_interest


@jit
def _transfers_spending_income(
    lo,
    hi,
    size,
    land,
    dibao,
    pensioners,
    transfers,
    school,
    schooling_aid,
    debt,
    loan,
    loan_interest_paid,
    medical_cost,
    sp_medical,
    med_new,
    lost_work,
    earn_local,
    earn_enterprise,
    inc_farm,
    cost_production,
    inc_livestock,
    inc_migrant,
    inc_business,
    inc_property,
    inc_wage,
    inc_transfers_programme,
    inc_transfers,
    inc_dibao_standing,
    sp_schooling,
    sp_debt_service,
    loss_illness,
    net_income,
    income,
    income_pc,
    par,
):
    """Transfers (三算), rigid spending (五算, 六算), the standing dibao top-up and income
    per person (§7.10, §7.11)."""
    pension_year, ag_subsidy_per_mu, price_level, debt_interest, loan_rate, dibao_standard = par
    for h in range(row(lo), row(hi)):
        wage = earn_local[h] + earn_enterprise[h]
        inc_wage[h] = wage
        inc_transfers_programme[h] = transfers[h]
        transfer = pensioners[h] * pension_year + land[h] * ag_subsidy_per_mu + transfers[h]
        schooling = max(school[h] * price_level - schooling_aid[h], 0.0)
        sp_schooling[h] = schooling
        unpaid = (loan[h] > 0) & ~loan_interest_paid[h]
        debt_service = debt[h] * debt_interest + loan[h] * loan_rate * unpaid
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
        topup = max(dibao_standard * size[h] - net, 0.0) * dibao[h]
        inc_dibao_standing[h] = topup
        inc_transfers[h] = transfer + topup
        net += topup
        net_income[h] = net
        inc = net - sp_medical[h] - schooling - debt_service
        income[h] = inc
        income_pc[h] = inc / size[h]


def assets(model, keys) -> None:
    """Save, invest, repay, or cover a shortfall from savings, distress sales and debt; depreciate.

    Below the asset threshold returns are low and a shock forces sales that push assets lower
    still; above it, investment out of surplus keeps assets rising: the poverty trap.
    """
    ec = model.scenario.economy
    hh = model.hh
    price_level = model.line(model.year) / model.line(0)
    need_pp = ec.subsistence_per_person * price_level
    # microcredit principal due this year is repaid first, out of the surplus (zeros: no loans)
    used = credit.settle(model, hh.income - need_pp * hh.size, model.strategy.params)
    parallel(
        _assets,
        hh.n,
        hh.size,
        hh.income,
        used,
        hh.debt,
        hh.assets,
        hh.savings,
        hh.house_safe,
        hh.sp_consumption,
        need_pp,
        ec.saving_rate,
        ec.debt_repay_share,
        ec.investment_share,
        1.0 - ec.distress_sale_discount,
        1.0 - ec.asset_depreciation,
        ec.house_renovation_cost * price_level,
    )


@jit
def _assets(
    lo,
    hi,
    size,
    income,
    used,
    debt,
    assets,
    savings,
    house_safe,
    sp_consumption,
    need_pp,
    saving_rate,
    debt_repay_share,
    investment_share,
    keep,
    kept_after_depreciation,
    renovation_cost,
):
    """Saving, repayment, investment, coping and depreciation, household by household (§7.12)."""
    for h in range(row(lo), row(hi)):
        need = need_pp * size[h]
        cash = income[h] - used[h]
        surplus = cash - need
        saving = saving_rate * surplus if surplus > 0 else 0.0
        repay = min(min(debt[h], debt_repay_share * debt[h]), saving)
        debt[h] -= repay
        invest = investment_share * (saving - repay)
        a = assets[h] + invest
        s = savings[h] + (saving - repay - invest)
        # below the floor (70% of need) the household draws savings, sells assets at a
        # discount, and borrows the rest; it consumes the floor
        floor = 0.7 * need
        shortfall = max(floor - cash, 0.0)
        from_savings = min(s, shortfall)
        s -= from_savings
        shortfall -= from_savings
        sold = min(a, shortfall / max(keep, 1e-9))
        a -= sold
        debt[h] += max(shortfall - sold * keep, 0.0)
        sp_consumption[h] = cash - saving if surplus > 0 else max(cash, floor)
        a = max(a * kept_after_depreciation, 0.0)
        if not house_safe[h] and s >= renovation_cost:
            s -= renovation_cost
            house_safe[h] = True
        assets[h] = a
        savings[h] = s
