"""The register (建档立卡) beside the incomes: verified exits, the plan's pressure, re-registration.

The income layer is every household's true income against the line each year; the register is a
status that changes only by registration (``identification.identify``), by a verified exit and by
re-registration (here). An exit follows a procedure: officials measure income (看+算, with error),
propose households stably above the exit line, verify 三保障 within a capacity, and, when the
year's exit plan is not met, may count households that are not out (paper exits). A return has to
be found: an exited household that falls below the line is found by the yearly dynamic
adjustment, and from 2020 the monitoring mechanism; found, a true exit is helped back to the line
in place during the campaign (帮扶, as the register was managed from 2016) and a paper exit is
re-registered (docs/ODD.md §7.15).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from sim.model.codes import Status, Trigger
from sim.model.identification import assign_category, registration_errors
from sim.model.kernels import columns, jit, parallel, row
from sim.model.rng import normal, normals_at, uniform

NEVER, POOR, EXITED, RETURNED = (int(s) for s in Status)
BEFORE = -2  # registered_year of households registered before the base year (not in the cohort)
T_NONE = int(Trigger.NONE)
MAX_YEARS_ABOVE = 100  # the counter saturates (int16)
COUNTY_WRONGFUL, COUNTY_MISSED = 0.02, 0.02  # the 2017 county exit rules: 错退率, 漏评率 below 2%
INCIDENCE = {False: 0.02, True: 0.03}  # 综合贫困发生率 below 2%, 3% in the west

ObserveHouseholds = namedtuple(
    "ObserveHouseholds",
    "status income_pc measured_pc years_above at_risk monitoring_last fall_trigger return_year "
    "first_return_year returns return_trigger paper_exit guaranteed size net_income income "
    "inc_transfers",
)
ObserveParams = namedtuple(
    "ObserveParams",
    "year line exit_line sd adjustment monitoring served monitoring_on detect_on assist_on "
    "assist_max edge_on",
)


def exit_line(model) -> float:
    return model.line(model.year) * (1.0 + model.scenario.identification.exit_margin)


def open_exited_before(model, keys) -> None:
    """The households that left the register in the years before the base year (2014-2015),
    counted out by the rules of the time: no stable years, no verification of 三保障. They are the
    ``register.exited_before`` x (year-0 register) never-registered households whose income, as
    officials measured it then (stream ``register.before``: the measurement error), was lowest
    at or above the line; some are below it (paper exits of the old rules), and the yearly
    adjustment finds them as returns from the first programme year."""
    hh, reg = model.hh, model.scenario.register
    k = int(round(reg.exited_before * model.initial_registered))
    if k <= 0:
        return
    line = model.line(0)
    never = np.flatnonzero(hh.status == NEVER)
    sd = float(reg.measure_error)
    measured = hh.income_pc[never] * np.exp(
        sd * normals_at(keys.key("before"), never) - 0.5 * sd * sd
    )
    out = measured >= line
    idx = smallest(never[out], measured[out], k)
    hh.registered[idx] = True
    hh.registered_year[idx] = BEFORE
    hh.status[idx] = EXITED
    hh.exit_year[idx] = 0  # support after exit (摘帽不摘政策) counts from the base year
    hh.paper_exit[idx] = hh.income_pc[idx] < line  # the old rules did not check 三保障
    assign_category(model, idx)
    registration_errors(model, idx)  # their record, with the errors of registration


def observe(model, keys, events: dict | None = None) -> None:
    """Income as officials measure it this year (stream ``register.measure``) with the count of
    consecutive years at or above the exit line; with ``events``, the search for exited
    households below the line (stream ``register.detect``), found ones re-registered."""
    reg = model.scenario.register
    n = model.hh.n
    calendar = model.scenario.meta.base_year + model.year
    monitoring_on = calendar >= reg.monitoring_from
    detect_on = events is not None
    # the campaign's practice (and the transition's monitoring): not without a programme
    assist_on = (0 < reg.assist_from <= calendar) and model.strategy.in_programme(model.year)
    # the register closed, the monitoring mechanism finds and helps the newly poor (边缘户)
    closed = 0 < model.scenario.identification.closed_from <= calendar
    par = ObserveParams(
        year=model.year,
        line=model.line(model.year),
        exit_line=exit_line(model),
        sd=float(reg.measure_error),
        adjustment=float(reg.detect_adjustment),
        monitoring=float(reg.detect_monitoring),
        served=float(reg.detect_served),
        monitoring_on=monitoring_on,
        detect_on=detect_on,
        assist_on=assist_on,
        assist_max=float(reg.assist_max * model.scenario.dibao_standard(model.year)),
        edge_on=bool(detect_on and closed and monitoring_on and assist_on),
    )
    if events is None:
        events = {"returns": np.zeros(n, dtype=bool), "triggers": np.zeros(n, dtype=np.int8)}
    events["helped"] = np.zeros(n, dtype=bool)
    events["edge_helped"] = np.zeros(n, dtype=bool)
    paid = np.zeros(n)
    parallel(
        _observe,
        n,
        columns(ObserveHouseholds, model.hh),
        events["returns"],
        events["triggers"],
        events["helped"],
        events["edge_helped"],
        paid,
        keys.key("measure"),
        keys.key("detect"),
        par,
    )
    model.yr.help_cost = float(paid.sum())


@jit
def _observe(lo, hi, hh, returns_now, triggers, helped, edge, paid, k_measure, k_detect, par):
    """Households ``lo:hi``: the measure of the active register (the others' is their true
    income: officials measure whom they may let out), then the search for the fallen exited:
    found, a true exit meeting 三保障 is helped back to the line in place (帮扶, from
    ``assist_from``) when its gap is within ``assist_max`` a person; a paper exit, a 三保障 failure
    or a gap beyond the cap is re-registered."""
    status, income_pc, measured, above = hh.status, hh.income_pc, hh.measured_pc, hh.years_above
    fall_trigger = hh.fall_trigger
    sd, line, year = par.sd, par.line, par.year
    shift = -0.5 * sd * sd  # mean-preserving lognormal error
    for h in range(row(lo), row(hi)):
        st = status[h]
        m = income_pc[h]
        if (sd > 0.0) & ((st == POOR) | (st == RETURNED)):
            m *= math.exp(sd * normal(k_measure, h) + shift)
        measured[h] = m
        above[h] = min(above[h] + 1, MAX_YEARS_ABOVE) if m >= par.exit_line else 0
        if (st == EXITED) & (income_pc[h] >= line) & hh.guaranteed[h]:
            hh.paper_exit[h] = False  # out in fact now: a later fall is a fall, not the old error
        if par.edge_on & (st == NEVER) & (income_pc[h] < line):
            _edge(hh, h, line, par, k_detect, edge, paid)
            continue
        if (not par.detect_on) or (st != EXITED) or (income_pc[h] >= line):
            continue
        p = par.adjustment
        if par.monitoring_on and hh.at_risk[h]:
            p = max(p, par.monitoring)
        if hh.monitoring_last[h] == year:  # the monitoring instrument visited it this year
            p = max(p, par.served)
        if uniform(k_detect, h) >= p:
            continue
        gap = line - income_pc[h]
        if par.assist_on & (not hh.paper_exit[h]) & hh.guaranteed[h] & (gap <= par.assist_max):
            _help(hh, h, gap * hh.size[h], line)
            helped[h] = True
            paid[h] = gap * hh.size[h]
            continue
        trig = fall_trigger[h] if fall_trigger[h] > 0 else T_NONE
        fall_trigger[h] = 0
        triggers[h] = trig
        returns_now[h] = True
        status[h] = RETURNED
        hh.return_year[h] = year
        if hh.first_return_year[h] < 0:
            hh.first_return_year[h] = year
        hh.returns[h] += 1
        hh.return_trigger[h] = trig


@jit
def _edge(hh, h, line, par, k_detect, edge, paid):
    """A never-registered household below the line once the register is closed: the monitoring
    mechanism finds it if it watches it (at risk, or served this year) and helps it back to the
    line within the cap, as it helps a fallen exit; it stays off the register."""
    p = par.monitoring if hh.at_risk[h] else 0.0
    if hh.monitoring_last[h] == par.year:
        p = max(p, par.served)
    gap = line - hh.income_pc[h]
    if (uniform(k_detect, h) < p) & (gap <= par.assist_max):
        _help(hh, h, gap * hh.size[h], line)
        edge[h] = True
        paid[h] = gap * hh.size[h]


@jit
def _help(hh, h, amount, line):
    """Assistance that closes household ``h``'s gap to the line this year (a transfer, outside
    the programme's budget: temporary assistance and 兜底, civil-affairs money); the fall it
    answers is dealt with, so no trigger is carried to a later return."""
    hh.net_income[h] += amount
    hh.income[h] += amount
    hh.inc_transfers[h] += amount
    hh.income_pc[h] = line
    hh.fall_trigger[h] = 0


def update(model, keys, events: dict) -> None:
    """Phase 7b: re-registration of the exited found below the line, then verified exits and the
    plan's paper exits (a household cannot return and exit in the same year)."""
    hh = model.hh
    active = (hh.status == POOR) | (hh.status == RETURNED)  # before this year's returns
    observe(model, keys, events)
    verified = _verified(model, keys, active)
    paper_plan = _plan_pressure(model, active, verified)
    exits = np.concatenate([verified, paper_plan])
    y = model.year
    hh.status[exits] = EXITED
    hh.exit_year[exits] = y
    first = exits[hh.first_exit_year[exits] < 0]
    hh.first_exit_year[first] = y
    line = model.line(y)
    paper = (hh.income_pc[exits] < line) | ~hh.guaranteed[exits]
    hh.paper_exit[exits] = paper
    # an exit below the line never rose: if it is found again, no loss of a year made it poor
    below = exits[hh.income_pc[exits] < line]
    hh.fall_trigger[below] = T_NONE
    events["exits"][exits] = True
    events["paper"] = np.zeros(hh.n, dtype=bool)
    events["paper"][exits[paper]] = True


def planned_exits(scenario, year: int) -> int:
    """The plan's exits for model year ``year`` at the plan's speed (0 outside the plan)."""
    return scenario.register.plan.exits_in(year)


def _verified(model, keys, active: np.ndarray) -> np.ndarray:
    """Households verified out: proposed (measured income at or above the exit line for
    ``stable_years``), the highest measured incomes first up to the capacity, and passing 三保障
    (or passed by error, stream ``register.guarantee``). Sorted indices."""
    hh, reg = model.hh, model.scenario.register
    proposed = np.flatnonzero(active & (hh.years_above >= reg.stable_years))
    cap = int(math.ceil(reg.verify_capacity * int(active.sum())))
    if len(proposed) > cap:
        proposed = smallest(proposed, -hh.measured_pc[proposed], cap)
    passed = _passes(proposed, hh.guaranteed, keys.key("guarantee"), reg.guarantee_error)
    return proposed[passed]


@jit
def _passes(idx, guaranteed, key, error):
    out = np.empty(len(idx), dtype=np.bool_)
    for j in range(len(idx)):
        h = idx[j]
        out[j] = guaranteed[h] or (uniform(key, h) < error)
    return out


def _plan_pressure(model, active: np.ndarray, verified: np.ndarray) -> np.ndarray:
    """When verified exits fall short of the year's plan, round(pressure x shortfall) more
    households of the active register, those whose measured income is closest to the exit line
    (paper exits unless they happen to be out)."""
    reg = model.scenario.register
    shortfall = max(planned_exits(model.scenario, model.year) - len(verified), 0)
    extra = int(round(reg.plan_pressure * shortfall))
    if extra <= 0:
        return verified[:0]
    rest = active.copy()
    rest[verified] = False
    idx = np.flatnonzero(rest)
    distance = np.abs(model.hh.measured_pc[idx] - exit_line(model))
    return smallest(idx, distance, extra)


def smallest(idx: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows of ``idx`` (ascending) with the smallest ``key``, ties to the lower index,
    in index order: what a stable argsort's first ``k`` are, found by a partition (linear)."""
    if k >= len(idx):
        return idx
    if k <= 0:
        return idx[:0]
    cut = np.partition(key, k - 1)[k - 1]  # the k-th smallest key
    below = key < cut
    ties = np.flatnonzero(key == cut)[: k - int(below.sum())]
    chosen = below.copy()
    chosen[ties] = True
    return idx[chosen]


# ---- the register's yearly columns (metrics) -------------------------------------------------
(
    INCOME_POOR,
    INCOME_EXITS,
    INCOME_ENTRIES,
    MISSED,
    LOST,
    EXITED_PEOPLE,
    WRONG_PEOPLE,
    NEVER_PEOPLE,
    OMITTED_PEOPLE,
    ACTIVE_PEOPLE,
    PEOPLE,
    N_REGISTER,
) = range(12)


def columns_of_year(model, events: dict | None, t: np.ndarray) -> dict:
    """The register's and the income layer's columns of the year's row, from their sums ``t``
    (indexed by the constants above; summed in the metrics' poverty pass over the households,
    ``sim.model.metrics._poverty_totals``)."""
    y = model.year
    reg = model.scenario.register
    n_exits = int(events["exits"].sum()) if events else 0
    income_poor = t[INCOME_POOR]
    wrongful = t[WRONG_PEOPLE] / t[EXITED_PEOPLE] if t[EXITED_PEOPLE] > 0 else 0.0
    omission = t[OMITTED_PEOPLE] / t[NEVER_PEOPLE] if t[NEVER_PEOPLE] > 0 else 0.0
    incidence = t[ACTIVE_PEOPLE] / t[PEOPLE]
    passed = (incidence < INCIDENCE[reg.west]) & (wrongful < COUNTY_WRONGFUL)
    calendar = model.scenario.meta.base_year + y
    monitoring_on = calendar >= reg.monitoring_from
    return {
        "income_poor_households": int(income_poor),
        "income_exits": int(t[INCOME_EXITS]),
        "income_entries": int(t[INCOME_ENTRIES]),
        "register_exits": n_exits,
        "register_returns": int(events["returns"].sum()) if events else 0,
        "helped_in_place": int(events["helped"].sum()) if events else 0,
        "edge_helped": int(events["edge_helped"].sum()) if events else 0,
        "paper_exits": int(events["paper"].sum()) if events else 0,
        "plan_exits": planned_exits(model.scenario, y),
        "missed_poor": int(t[MISSED]),
        "exited_not_found": int(t[LOST]),
        "missed_rate": float(t[MISSED] / income_poor) if income_poor > 0 else 0.0,
        "wrongful_exit_rate": float(wrongful),
        "omission_rate": float(omission),
        "comprehensive_incidence": float(incidence),
        "county_exit_test": int(passed & (omission < COUNTY_MISSED) & (y > 0)),
        "monitored_households": int(model.hh.at_risk.sum()) if monitoring_on else 0,
    }


def chronic_transient(model) -> dict:
    """Jalan & Ravallion's (1998) decomposition of income poverty (squared poverty gap, NBS
    measure) over years 0..year: chronic is the squared gap of each household's mean income over
    the years, transient the total squared gap less the chronic part; person-weighted."""
    hh = model.hh
    years = model.year + 1
    w = hh.size.astype(np.float64)
    mean_ratio = hh.line_ratio_sum / years
    chronic = float(np.sum(w * (1.0 - np.clip(mean_ratio, 0.0, 1.0)) ** 2) / w.sum())
    total = float(np.sum(w * hh.sq_gap_sum / years) / w.sum())
    return {
        "years": years,
        "total_squared_gap": total,
        "chronic_squared_gap": chronic,
        "transient_squared_gap": total - chronic,
        "transient_share": (total - chronic) / total if total > 0 else 0.0,
    }
