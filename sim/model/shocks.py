"""Shocks: illness (per person), disasters (per village), prices (per industry), enterprise failure.

Every draw is a function of (seed, stream name, year, row) (``sim.model.rng``): the same person,
household, village or enterprise sees the same number under every strategy (common random
numbers), and a number is only computed where the rule needs it.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from sim.model.codes import Health, Work
from sim.model.income import asset_yield, return_at
from sim.model.kernels import columns, jit, parallel, row
from sim.model.rng import normal, normals, uniform, uniforms

# streams "illness.<field>": per person, the hospital episode (acute), its cost, and chronic onset
# (for the healthy) or recovery (for the chronically ill, so one uniform serves both); per
# household, insurance enrolment
IllnessStreams = namedtuple("IllnessStreams", "acute cost chronic enrolment")
# streams "disaster.<field>": per village (hit), per household (house damaged)
DisasterStreams = namedtuple("DisasterStreams", "village house")
HEALTHY, CHRONIC = int(Health.HEALTHY), int(Health.CHRONIC)


# The relative admission risk of a person: 1 + AGE_GRADIENT_PER_YEAR x years above AGE_PIVOT
# (the scenario's age_gradient), times SICK_RISK for the chronically ill and the disabled. Named
# constants, not parameters: no source pins them, and the admission rates by group are met
# whatever their values, because the base rates are normalised to them at year 0.
AGE_PIVOT = 45.0  # years; below it the admission risk does not depend on age
SICK_RISK = 1.5  # relative admission risk of a chronically ill or disabled person
MAX_ADMISSION = 0.95  # a cap that keeps an admission a chance, whatever the multipliers
CHRONIC_AGE_MIN = 15  # chronic onset from this age, as at synthesis (sim.model.population)

# the columns the illness kernel reads and writes, by their table names
IllnessPersons = namedtuple("IllnessPersons", "hh age health acute")
IllnessHouseholds = namedtuple("IllnessHouseholds", "frail insured medical_cost sp_medical")
IllnessYear = namedtuple("IllnessYear", "med_acute med_chronic med_new")  # model.yr work arrays
IllnessParams = namedtuple(
    "IllnessParams",
    "illness_on insurance_on transitions enrolment reimbursement outpatient_reimbursement "
    "age_gradient chronic_onset chronic_recovery base0 base1 acute_mean acute_sigma chronic_cost",
)


def illness_params(model) -> IllnessParams:
    """This year's illness parameters: the scenario's, with the base rates normalised (at year 0)
    and the costs grown to this year."""
    ill = model.scenario.shocks.illness
    ins = model.scenario.shocks.insurance
    p, hh = model.persons, model.hh
    if model.illness_norm is None:
        # normalise so that the group means equal the stated admission rates at year 0
        model.illness_norm = np.array(
            _group_means(p.age, p.health, hh.frail, model.person_start, ill.age_gradient)
        )
    norm0, norm1 = model.illness_norm
    growth = (1.0 + ill.cost_growth) ** model.year
    return IllnessParams(
        illness_on=bool(ill.enabled),
        insurance_on=bool(ins.enabled),
        transitions=model.year > 0,
        enrolment=ins.enrolment,
        reimbursement=ins.reimbursement,
        outpatient_reimbursement=ins.outpatient_reimbursement,
        age_gradient=ill.age_gradient,
        chronic_onset=ill.chronic_onset,
        chronic_recovery=ill.chronic_recovery,
        base0=ill.incidence / norm0,
        base1=ill.incidence_registered / norm1,
        acute_mean=ill.acute_cost_mean * growth,
        acute_sigma=ill.acute_cost_sigma,
        chronic_cost=ill.chronic_cost * growth,
    )


def illness(model, keys) -> None:
    """Onset and recovery, hospital episodes, medical cost and what basic insurance pays."""
    params = illness_params(model)
    parallel(
        _illness,
        model.hh.n,
        model.person_start,
        columns(IllnessPersons, model.persons),
        columns(IllnessHouseholds, model.hh),
        columns(IllnessYear, model.yr),
        keys.record(IllnessStreams),
        params,
    )


@jit
def _group_means(age, health, frail, start, age_gradient):
    """Mean relative admission risk of the persons of non-frail and of frail households."""
    total = np.zeros(2)
    count = np.zeros(2)
    for h in range(len(start) - 1):
        g = 1 if frail[h] else 0
        for i in range(start[h], start[h + 1]):
            rel = 1.0 + age_gradient * max(age[i] - AGE_PIVOT, 0.0)
            if health[i] != HEALTHY:
                rel *= SICK_RISK
            total[g] += rel
            count[g] += 1.0
    return (
        total[0] / count[0] if count[0] > 0 else 1.0,
        total[1] / count[1] if count[1] > 0 else 1.0,
    )


@jit
def _illness(lo, hi, start, persons, households, yr, keys, par):
    """Health transitions and hospital episodes of the persons of households ``lo:hi``, then
    each household's cost and what insurance pays (§7.2).

    The persons are visited in one flat loop without a branch on who falls ill (the loop stays
    tight), adding into the sums of their household; the ~13% admitted to hospital are listed
    and their costs drawn after, in a second loop."""
    hh_of, age, health, acute = persons.hh, persons.age, persons.health, persons.acute
    frail = households.frail
    med_acute, med_chronic, med_new = yr.med_acute, yr.med_chronic, yr.med_new
    med_acute[lo:hi] = 0.0
    med_chronic[lo:hi] = 0.0
    med_new[lo:hi] = 0.0
    first, last = start[lo], start[hi]
    if par.illness_on:
        transitions = par.transitions
        age_gradient, chronic_cost = par.age_gradient, par.chronic_cost
        chronic_onset, chronic_recovery = par.chronic_onset, par.chronic_recovery
        base0, base1 = par.base0, par.base1
        admitted = np.empty(last - first, dtype=np.int64)
        n_admitted = 0
        k_chronic, k_acute = keys.chronic, keys.acute
        for i in range(row(first), row(last)):
            h = row(hh_of[i])
            a = np.float64(age[i])
            age_factor = 1.0 + age_gradient * max(a - AGE_PIVOT, 0.0)
            state = health[i]
            u = uniform(k_chronic, i)
            onset = (
                transitions
                & (state == HEALTHY)
                & (a >= CHRONIC_AGE_MIN)
                & (u < chronic_onset * age_factor)
            )
            recover = transitions & (state == CHRONIC) & (u < chronic_recovery)
            # HEALTHY = 0, CHRONIC = 1; onset and recovery exclude each other
            state = state + onset - recover
            health[i] = state
            rel = age_factor * (1.0 + (SICK_RISK - 1.0) * (state != HEALTHY))
            base = base1 if frail[h] else base0
            sick = uniform(k_acute, i) < min(base * rel, MAX_ADMISSION)
            acute[i] = sick
            admitted[n_admitted] = i
            n_admitted += sick
            chronic = state == CHRONIC
            med_chronic[h] += chronic_cost * chronic
            med_new[h] += chronic_cost * onset  # a new chronic case is news, like an episode
        acute_mean, acute_sigma = par.acute_mean, par.acute_sigma
        mu = -0.5 * acute_sigma * acute_sigma
        k_cost = keys.cost
        for j in range(n_admitted):
            i = admitted[j]
            z = normal(k_cost, i)
            med_acute[hh_of[i]] += acute_mean * math.exp(mu + acute_sigma * z)
    else:
        acute[first:last] = False
    _insurance(lo, hi, households, yr, keys, par)


@jit
def insured_share(acute, chronic, reimbursement, outpatient_reimbursement):
    """What basic rural insurance pays of a year's inpatient (acute) and chronic outpatient
    costs: the one statement of the rule (medical aid's top-up is computed above it)."""
    return reimbursement * acute + outpatient_reimbursement * chronic


@jit
def _insurance(lo, hi, households, yr, keys, par):
    """Each household's medical cost of the year, its insurance enrolment and what it pays."""
    insured, medical_cost, sp_medical = (
        households.insured,
        households.medical_cost,
        households.sp_medical,
    )
    med_acute, med_chronic, med_new = yr.med_acute, yr.med_chronic, yr.med_new
    k_enrol = keys.enrolment
    for h in range(row(lo), row(hi)):
        ins = par.insurance_on & (uniform(k_enrol, h) < par.enrolment)
        insured[h] = ins
        cost_acute = med_acute[h]
        cost_chronic = med_chronic[h]
        med_new[h] = cost_acute + med_new[h]
        cost = cost_acute + cost_chronic
        medical_cost[h] = cost
        paid = (
            insured_share(cost_acute, cost_chronic, par.reimbursement, par.outpatient_reimbursement)
            * ins
        )
        sp_medical[h] = cost - paid


DisasterVillages = namedtuple("DisasterVillages", "hit disaster_risk")
DisasterHouseholds = namedtuple("DisasterHouseholds", "village assets loss_disaster house_safe")
DisasterParams = namedtuple("DisasterParams", "on risk_multiplier asset_loss house_damage")


def disasters(model, keys) -> None:
    """Village disasters destroy farm output (booked in the income phase), assets and houses."""
    d = model.scenario.shocks.disaster
    par = DisasterParams(
        on=bool(d.enabled and model.year > 0),
        risk_multiplier=d.risk_multiplier,
        asset_loss=d.asset_loss,
        house_damage=d.house_damage,
    )
    _disasters(
        columns(DisasterVillages, model.villages),
        columns(DisasterHouseholds, model.hh),
        keys.record(DisasterStreams),
        par,
    )
    _asset_income_lost(model)


def _asset_income_lost(model) -> None:
    """What the destroyed assets would have earned this year (the income loss of a disaster
    beside the farm output; the assets are a stock, not a year's income): the income phase's
    asset yield (``sim.model.income.asset_yield``) of the assets before the loss less that of
    the assets after, at last year's labour."""
    hh, yr = model.hh, model.yr
    yr.disaster_assets_lost[:] = hh.loss_disaster  # the kernel booked only the assets so far
    yr.disaster_asset_income[:] = 0.0
    hit = np.flatnonzero(hh.loss_disaster > 0.0)
    if len(hit) == 0:
        return
    a = model.scenario.economy.assets
    rule = (
        bool(a.trap),
        float(a.threshold),
        float(a.width),
        float(a.return_low),
        float(a.return_high),
        float(a.return_flat),
        float(a.labour_floor),
        float(a.capacity_per_labour),
    )
    out = yr.disaster_asset_income
    _lost_yield(hit, hh.assets, hh.loss_disaster, hh.productivity, hh.labour_units, rule, out)


@jit
def _lost_yield(hit, assets, lost, productivity, labour_units, rule, out):
    trap, threshold, width, low, high, flat, labour_floor, capacity = rule
    for h in hit:
        after = assets[h]
        before = after + lost[h]
        earned = 0.0
        for a, sign in ((before, 1.0), (after, -1.0)):
            ret = return_at(a, trap, threshold, width, low, high, flat)
            earned += sign * asset_yield(
                a, ret, productivity[h], labour_units[h], labour_floor, capacity
            )
        out[h] = earned


@jit
def _disasters(villages, hh, keys, par):
    hit, risk = villages.hit, villages.disaster_risk
    assets, loss_disaster, house_safe = hh.assets, hh.loss_disaster, hh.house_safe
    for v in range(len(hit)):
        hit[v] = par.on and uniform(keys.village, v) < risk[v] * par.risk_multiplier
    for h in range(len(hh.village)):
        if hit[hh.village[h]]:
            lost = assets[h] * par.asset_loss
            assets[h] -= lost
            loss_disaster[h] = lost
            if uniform(keys.house, h) < par.house_damage:
                house_safe[h] = False
        else:
            loss_disaster[h] = 0.0


def markets(model, keys) -> None:
    """Log prices follow an AR(1) around 1 for crops and each industry."""
    m = model.scenario.shocks.market
    if model.year == 0:
        return  # prices start at 1
    eps = normals(keys.key("prices"), 1 + len(model.industry_names))  # "market.prices"
    vol = np.concatenate([[m.volatility], model.industry_volatility])
    model.log_prices = m.persistence * model.log_prices + vol * eps
    model.crop_price = float(np.exp(model.log_prices[0]))
    model.industry_price = np.exp(model.log_prices[1:])


def enterprises(model, keys) -> None:
    """Failures hit every linked household at once; a failed enterprise is replaced later."""
    sc = model.scenario
    e, hh = model.ent, model.hh
    year = model.year
    hh.loss_enterprise[:] = 0.0
    if e.n == 0 or year == 0:
        return
    u = uniforms(keys.key("failure"), e.n)  # "enterprise.failure"
    back = ~e.alive & (year - e.failed_year >= sc.shocks.enterprise.reentry_years)
    e.alive[back] = True  # a new enterprise takes the place; it starts with no links
    fail = e.alive & (u < np.minimum(e.failure_risk * sc.shocks.enterprise.failure_multiplier, 1.0))
    if not fail.any():
        return
    e.alive[fail] = False
    e.failed_year[fail] = year
    e.failures[fail] += 1
    linked = hh.enterprise >= 0
    hit = np.zeros(hh.n, dtype=bool)
    hit[linked] = fail[hh.enterprise[linked]]
    # what the household earned from the enterprise last year is what it loses
    hh.loss_enterprise[hit] = model.yr.contract_income_prev[hit] + model.yr.ent_wage_prev[hit]
    hh.enterprise[hit] = -1
    hh.enterprise_lost_year[hit] = year
    p = model.persons
    lose_job = p.ent_job & hit[p.hh]
    p.ent_job[lose_job] = False
    p.work[lose_job] = Work.NONE
