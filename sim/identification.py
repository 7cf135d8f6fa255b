"""Identification (精准识别), monitoring, the exit test, returns and new poverty.

Registration uses last year's observed income, as the 看+算 re-check does, with exclusion errors
(a poor household is missed) and inclusion errors (a non-poor household is registered). The exit
test is income above the line plus 两不愁三保障: compulsory schooling, basic medical cover (insured)
and a safe house.
"""

from __future__ import annotations

import numpy as np

from sim.codes import Category, Cause, Health, Stage, Status, Trigger


def assign_category(model, idx: np.ndarray) -> None:
    """Primary cause and measure for newly registered households, read off their state."""
    hh, p, v = model.hh, model.persons, model.villages
    n = hh.n
    sick = np.bincount(p.hh, weights=p.health != Health.HEALTHY, minlength=n) > 0
    disabled = np.bincount(p.hh, weights=p.health == Health.DISABLED, minlength=n) > 0
    student = np.bincount(p.hh, weights=p.stage >= Stage.HIGH, minlength=n) > 0
    net = np.maximum(hh.net_income, 1.0)
    no_labour = hh.labour_units <= 0.0
    medical = (hh.sp_medical > 0.3 * net) | sick
    school = student & (hh.sp_schooling > 0.2 * net)
    remote = (v.remoteness[hh.village] > 0.8) | (v.disaster_risk[hh.village] > 0.1)
    conds = [no_labour, medical, school, remote]
    cats = [Category.DIBAO, Category.MEDICAL, Category.EDUCATION, Category.RELOCATION]
    causes = [Cause.LACK_LABOUR, Cause.ILLNESS, Cause.SCHOOLING, Cause.REMOTE]
    cat = np.select(conds, cats, Category.INDUSTRY)[idx]
    prim = np.select(conds, causes, Cause.LACK_CAPITAL)[idx]
    flags = (
        np.where(sick, int(Cause.ILLNESS), 0)
        | np.where(disabled, int(Cause.DISABILITY), 0)
        | np.where(school, int(Cause.SCHOOLING), 0)
        | np.where(no_labour, int(Cause.LACK_LABOUR), 0)
        | np.where(remote, int(Cause.REMOTE), 0)
    )[idx]
    hh.category[idx] = cat
    hh.primary_cause[idx] = prim
    hh.causes[idx] = flags | prim


def identify(model, rng: np.random.Generator) -> None:
    """Phase 3: this year's registration and the at-risk flags, from last year's observations."""
    sc = model.scenario
    ident = sc.identification
    hh = model.hh
    year = model.year
    u_ex = rng.random(hh.n)
    u_in = rng.random(hh.n)
    line_prev = model.line(year - 1)
    was_poor = hh.prev_income_pc < line_prev
    model.yr.newly_registered = 0
    if year % ident.reidentify_years == 0:
        never = hh.status == Status.NEVER
        poor_found = np.flatnonzero(never & was_poor & (u_ex >= ident.exclusion_error))
        mistaken = np.flatnonzero(never & ~was_poor & (u_in < ident.inclusion_error))
        cap = int(round(ident.new_registration_cap * model.initial_registered))
        # scale control: wrongly included households take their places first (they are put
        # forward, not found by the income check), then the poorest of the poor found
        mistaken = mistaken[:cap]
        room = cap - len(mistaken)
        if len(poor_found) > room:
            order = np.argsort(hh.prev_income_pc[poor_found], kind="stable")
            poor_found = poor_found[order[:room]]
        idx = np.sort(np.concatenate([mistaken, poor_found]))
        if len(idx):
            hh.registered[idx] = True
            hh.registered_year[idx] = year
            hh.status[idx] = Status.POOR
            assign_category(model, idx)
        model.yr.newly_registered = len(idx)
    flag_monitoring(model, line_prev)


def flag_monitoring(model, line: float) -> None:
    """At risk (防返贫监测): not on the active register, and income under the monitoring line or a
    rigid-spending spike."""
    ident = model.scenario.identification
    hh = model.hh
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    spike = rigid_spike(model)
    hh.at_risk[:] = ~active & ((hh.prev_income_pc < ident.monitoring_line * line) | spike)


def rigid_spike(model) -> np.ndarray:
    """This year's medical cost (just observed) and disaster losses, plus schooling cost, above
    ``spending_spike`` of last year's net income."""
    hh = model.hh
    rigid = hh.sp_medical + hh.sp_schooling + hh.loss_disaster
    return rigid > model.scenario.identification.spending_spike * np.maximum(hh.net_income, 1.0)


def three_guarantees(model) -> np.ndarray:
    """三保障: compulsory schooling, basic medical cover and a safe house."""
    hh, p = model.hh, model.persons
    out_of_school = np.bincount(p.hh, weights=p.dropped_out, minlength=hh.n) > 0
    # without any insurance scheme (shocks.insurance.enabled = false) the medical condition
    # cannot be judged by enrolment and is taken as met
    covered = hh.insured | (not model.scenario.shocks.insurance.enabled)
    return hh.house_safe & covered & ~out_of_school


def update_status(model) -> dict[str, int | np.ndarray]:
    """Phase 7: exits, returns (with their main trigger) and new poverty this year."""
    sc = model.scenario
    hh = model.hh
    year = model.year
    line = model.line(year)
    poor = hh.income_pc < line
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    passes = (hh.income_pc >= line * (1.0 + sc.identification.exit_margin)) & three_guarantees(
        model
    )
    exits = active & passes
    returns = (hh.status == Status.EXITED) & poor
    new_poor = (hh.status == Status.NEVER) & poor & (hh.prev_income_pc >= model.line(year - 1))

    support_ended = np.maximum(hh.prev_transfers_programme - hh.inc_transfers_programme, 0.0)
    losses = np.stack(
        [hh.loss_illness, hh.loss_disaster, hh.loss_enterprise, support_ended, hh.loss_market]
    )
    codes = np.array(
        [
            Trigger.ILLNESS,
            Trigger.DISASTER,
            Trigger.ENTERPRISE,
            Trigger.SUPPORT_ENDED,
            Trigger.MARKET,
        ]
    )
    trig = np.where(losses.max(axis=0) > 0.0, codes[losses.argmax(axis=0)], Trigger.OTHER)

    hh.status[exits] = Status.EXITED
    hh.exit_year[exits] = year
    first = exits & (hh.first_exit_year < 0)
    hh.first_exit_year[first] = year
    hh.status[returns] = Status.RETURNED
    hh.return_year[returns] = year
    first_ret = returns & (hh.first_return_year < 0)
    hh.first_return_year[first_ret] = year
    hh.returns[returns] += 1
    hh.return_trigger[returns] = trig[returns]
    return {"exits": exits, "returns": returns, "new_poor": new_poor, "triggers": trig}
