"""Shocks: illness (per person), disasters (per village), prices (per industry), enterprise failure.

Every draw is made for the whole table every year, whatever the strategy, so that the same seed
gives the same shocks under every strategy (common random numbers).
"""

from __future__ import annotations

import numpy as np

from sim.codes import Health, Work


def illness(model, rng: np.random.Generator) -> None:
    """Onset and recovery, hospital episodes, medical cost and what basic insurance pays."""
    sc = model.scenario
    ill = sc.shocks.illness
    ins = sc.shocks.insurance
    p, hh = model.persons, model.hh
    n = p.n
    u_acute = rng.random(n)
    z_cost = rng.standard_normal(n)
    u_onset = rng.random(n)
    u_recover = rng.random(n)
    u_enrol = rng.random(hh.n)

    hh.insured[:] = ins.enabled & (u_enrol < ins.enrolment)
    if not ill.enabled:
        p.acute[:] = False
        model.yr.med_acute = np.zeros(hh.n)
        model.yr.med_chronic = np.zeros(hh.n)
        model.yr.med_new = np.zeros(hh.n)
        hh.medical_cost[:] = 0.0
        hh.sp_medical[:] = 0.0
        return

    age = p.age.astype(np.float64)
    age_factor = 1.0 + ill.age_gradient * np.maximum(age - 45.0, 0.0)
    healthy_adult = (p.health == Health.HEALTHY) & (age >= 15)
    onset = np.zeros(n, dtype=bool)
    if model.year > 0:
        onset = healthy_adult & (u_onset < ill.chronic_onset * age_factor)
        recover = (p.health == Health.CHRONIC) & (u_recover < ill.chronic_recovery)
        p.health[onset] = Health.CHRONIC
        p.health[recover] = Health.HEALTHY

    frail = hh.frail[p.hh]
    base = np.where(frail, ill.incidence_registered, ill.incidence)
    sick_factor = np.where(p.health != Health.HEALTHY, 1.5, 1.0)
    # normalise so that the group means equal the stated admission rates at year 0
    rel = age_factor * sick_factor
    norm = model.illness_norm
    if norm is None:
        norm = np.array(
            [
                rel[~frail].mean() if (~frail).any() else 1.0,
                rel[frail].mean() if frail.any() else 1.0,
            ]
        )
        model.illness_norm = norm
    prob = np.minimum(base * rel / norm[frail.astype(np.int64)], 0.95)
    p.acute[:] = u_acute < prob

    growth = (1.0 + ill.cost_growth) ** model.year
    mu = -0.5 * ill.acute_cost_sigma**2
    acute_cost = np.where(
        p.acute, ill.acute_cost_mean * growth * np.exp(mu + ill.acute_cost_sigma * z_cost), 0.0
    )
    chronic_cost = np.where(p.health == Health.CHRONIC, ill.chronic_cost * growth, 0.0)
    med_acute = np.bincount(p.hh, weights=acute_cost, minlength=hh.n)
    med_chronic = np.bincount(p.hh, weights=chronic_cost, minlength=hh.n)
    insured = hh.insured
    paid = insured * (ins.reimbursement * med_acute + ins.outpatient_reimbursement * med_chronic)
    model.yr.med_acute = med_acute
    model.yr.med_chronic = med_chronic
    model.yr.med_new = med_acute + np.bincount(
        p.hh, weights=np.where(onset, chronic_cost, 0.0), minlength=hh.n
    )
    hh.medical_cost[:] = med_acute + med_chronic
    hh.sp_medical[:] = hh.medical_cost - paid


def disasters(model, rng: np.random.Generator) -> None:
    """Village disasters destroy farm output (booked in the income phase), assets and houses."""
    sc = model.scenario
    d = sc.shocks.disaster
    v, hh = model.villages, model.hh
    u_v = rng.random(v.n)
    u_house = rng.random(hh.n)
    v.hit[:] = d.enabled & (model.year > 0) & (u_v < v.disaster_risk * d.risk_multiplier)
    hit = v.hit[hh.village]
    lost = np.where(hit, hh.assets * d.asset_loss, 0.0)
    hh.assets -= lost
    hh.loss_disaster[:] = lost
    hh.house_safe &= ~(hit & (u_house < d.house_damage))


def markets(model, rng: np.random.Generator) -> None:
    """Log prices follow an AR(1) around 1 for crops and each industry."""
    sc = model.scenario
    m = sc.shocks.market
    eps = rng.standard_normal(1 + len(model.industry_names))
    if model.year == 0:
        return
    vol = np.concatenate([[m.volatility], model.industry_volatility])
    model.log_prices = m.persistence * model.log_prices + vol * eps
    model.crop_price = float(np.exp(model.log_prices[0]))
    model.industry_price = np.exp(model.log_prices[1:])


def enterprises(model, rng: np.random.Generator) -> None:
    """Failures hit every linked household at once; a failed enterprise is replaced later."""
    sc = model.scenario
    e, hh = model.ent, model.hh
    u = rng.random(e.n)
    year = model.year
    hh.loss_enterprise[:] = 0.0
    if e.n == 0 or year == 0:
        return
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
