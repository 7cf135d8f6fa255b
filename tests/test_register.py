"""The register beside the incomes (docs/ODD.md §7.15): exits by verification, the plan's pressure,
returns as re-registrations; and the two layers agree when every friction is off."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FRICTIONLESS_REGISTER, SMALL_REGISTERED, small_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.codes import Status
from sim.model.register import BEFORE

# a plan far above what verification delivers: every year's shortfall is large
PLAN = {"register.plan.exits": [SMALL_REGISTERED // 2] * 5}
ACTIVE = (Status.POOR, Status.RETURNED)


def run(overrides: dict, seed: int = 3, strategy: str = "precision"):
    return small_model(overrides, seed=seed, strategy=strategy).run()


def test_no_paper_exits_without_pressure_or_measurement_error():
    exact = {"register.measure_error": 0.0, "register.guarantee_error": 0.0, **PLAN}
    ts = run({**exact, "register.plan_pressure": 0.0}).timeseries()
    assert ts["register_exits"].sum() > 0.2 * SMALL_REGISTERED  # verification does let out
    assert (ts["paper_exits"] == 0).all()
    # the same run with pressure counts households that are not out
    pushed = run({**exact, "register.plan_pressure": 1.0}).timeseries()
    assert pushed["paper_exits"].sum() > 0.1 * SMALL_REGISTERED


def test_paper_exits_rise_with_pressure_and_a_full_pressure_meets_the_plan():
    paper, exits = [], []
    for pressure in (0.0, 0.5, 1.0):
        ts = run({**PLAN, "register.plan_pressure": pressure}).timeseries()
        paper.append(int(ts["paper_exits"].sum()))
        exits.append(ts["register_exits"])
    assert paper[0] < paper[1] < paper[2]
    assert paper[2] > 2 * paper[0] + 50
    # at pressure 1 the year's plan is met whenever the active register can give that many
    ts = run({**PLAN, "register.plan_pressure": 1.0}).timeseries()
    before = ts["registered_households"].shift(1)
    plan = ts["plan_exits"]
    can = (before >= plan) & (ts["year"] >= 1)
    assert (ts.loc[can, "register_exits"] >= plan[can]).all() and can.any()


def test_detection_raises_returns_and_lowers_the_exited_left_off_the_register():
    low = {"register.detect_adjustment": 0.1, "register.detect_monitoring": 0.1}
    high = {"register.detect_adjustment": 0.9, "register.detect_monitoring": 0.9}
    a = run(low, strategy="transfusion").timeseries()
    b = run(high, strategy="transfusion").timeseries()
    assert b["register_returns"].sum() > 1.5 * a["register_returns"].sum()
    assert b["exited_not_found"].iloc[2:].mean() < 0.6 * a["exited_not_found"].iloc[2:].mean()
    assert (b["missed_poor"].iloc[2:] <= a["missed_poor"].iloc[2:] + 5).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(1, 10_000),
    pressure=st.sampled_from([0.0, 0.5, 1.0]),
    detect=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_the_register_is_one_status_per_household(seed, pressure, detect):
    over = {**PLAN, "register.plan_pressure": pressure, "register.detect_adjustment": detect}
    m = small_model(over, seed=seed, strategy="precision")
    for _ in range(m.years):
        before = m.hh.status.copy()
        m.step()
        hh, y = m.hh, m.year
        exited = hh.exit_year == y
        returned = hh.return_year == y
        # an exit leaves from the active register (registered this year included), a return
        # comes from the exited, never both
        assert (np.isin(before, ACTIVE) | (hh.registered_year == y))[exited].all()
        assert (before[returned] == Status.EXITED).all() and not (exited & returned).any()
        # nobody leaves the register: once registered, never 'never' again
        assert ((before == Status.NEVER) | (hh.status != Status.NEVER)).all()
        row = m.rows[-1]
        assert row["register_exits"] == exited.sum() == row["exits"]
        assert row["register_returns"] == returned.sum() == row["returns"]
    frame = m.households()
    assert frame["household"].is_unique and len(frame) == m.hh.n
    assert (frame["registered"] == (frame["status"] != Status.NEVER)).all()


@pytest.mark.parametrize("strategy", ["status_quo", "transfusion", "precision"])
def test_the_layers_agree_without_friction(strategy):
    m = small_model(FRICTIONLESS_REGISTER, seed=5, strategy=strategy)
    exits = returns = 0
    for _ in range(m.years):
        before = m.hh.status.copy()
        m.step()
        hh, line = m.hh, m.line(m.year)
        poor = hh.income_pc < line
        was_active = np.isin(before, ACTIVE) | (hh.registered_year == m.year)
        # register exits: exactly the active households the income layer finds out with 三保障
        assert np.array_equal(hh.exit_year == m.year, was_active & ~poor & hh.guaranteed)
        # register returns: exactly the exited households the income layer finds poor again
        assert np.array_equal(hh.return_year == m.year, (before == Status.EXITED) & poor)
        # no missed poor among the once-registered; none of them lost off the register
        off = ~np.isin(hh.status, ACTIVE)
        assert not (hh.registered & poor & off).any()
        row = m.rows[-1]
        assert row["exited_not_found"] == 0 and row["paper_exits"] == 0
        exits += row["register_exits"]
        returns += row["register_returns"]
    assert exits > 0.3 * SMALL_REGISTERED and returns > 0


def test_chronic_and_transient_poverty_follow_jalan_and_ravallion():
    m = small_model(seed=2, strategy="transfusion")
    ratios = [m.hh.net_income / m.hh.size / m.line(0)]
    for _ in range(m.years):
        m.step()
        ratios.append(m.hh.net_income / m.hh.size / m.line(m.year))
    r = np.array(ratios)  # years x households
    w = m.hh.size.astype(float)
    total = np.sum(w * np.mean((1 - np.clip(r, 0, 1)) ** 2, axis=0)) / w.sum()
    chronic = np.sum(w * (1 - np.clip(r.mean(axis=0), 0, 1)) ** 2) / w.sum()
    got = m.summary()["poverty_decomposition"]
    assert got["total_squared_gap"] == pytest.approx(total, rel=1e-9)
    assert got["chronic_squared_gap"] == pytest.approx(chronic, rel=1e-9)
    # churn (transfers that start and stop) leaves a transient part, and the parts add up
    assert 0.1 < got["transient_share"] < 0.9


@given(
    st.lists(st.integers(0, 6), min_size=0, max_size=40),
    st.integers(-1, 45),
)
@settings(max_examples=200, deadline=None)
def test_smallest_is_a_stable_sorts_first_k(keys, k):
    """The register's partition selection (capacity, plan pressure) chooses exactly the rows a
    stable sort would: the smallest keys, ties to the lower index."""
    from sim.model.register import smallest

    key = np.array(keys, dtype=float)
    idx = np.arange(len(key)) * 3 + 1
    want = np.sort(idx[np.argsort(key, kind="stable")[: max(k, 0)]])
    assert np.array_equal(smallest(idx, key, k), want)


def test_exits_before_the_base_year_are_the_near_poor_and_return_when_found():
    """register.exited_before: that share of the year-0 register, never-registered households
    measured just above the line, is exited at year 0 (not the year-0 cohort, supported after
    exit); in year 1 the paper exits among them are found as returns, the true exits that fell
    are helped in place; with 0 nobody returns in year 1 (nobody has exited yet)."""
    off = small_model({}, strategy="precision")
    on = small_model({"register.exited_before": 0.5}, strategy="precision")
    hh = on.hh
    before = np.flatnonzero(hh.registered_year == BEFORE)
    assert len(before) == round(0.5 * on.initial_registered)
    assert (hh.status[before] == Status.EXITED).all() and (hh.exit_year[before] == 0).all()
    assert (hh.registered_year == 0).sum() == (off.hh.registered_year == 0).sum()
    assert (hh.category[before] >= 0).all()
    # the near poor: more of them below the line than of the other never-registered, and their
    # incomes sit lower than the rest's
    line = on.line(0)
    rest = hh.status == Status.NEVER
    assert np.median(hh.income_pc[before]) < np.median(hh.income_pc[rest])
    assert (hh.income_pc[before] < 2.5 * line).mean() > 0.9
    off.run(1)
    assert off.timeseries()["register_returns"].iloc[1] == 0
    assert off.timeseries()["helped_in_place"].iloc[1] == 0
    # every fallen one found in year 1; a coarse measure makes more of the old exits paper ones
    found = {"register.exited_before": 0.5, "register.detect_adjustment": 1.0}
    on = small_model({**found, "register.measure_error": 0.6}, strategy="precision")
    hh = on.hh
    paper = hh.paper_exit.copy()  # below the line at year 0: the old rules' paper exits
    ts = on.run(1).timeseries()
    back = (hh.return_year == 1) & (hh.registered_year == BEFORE)
    assert ts["register_returns"].iloc[1] == back.sum() > 0
    # the ones that come back on the register are paper exits (corrected); true exits that fell
    # are helped in place from register.assist_from (2016, year 1)
    assert paper[back].all()
    assert ts["helped_in_place"].iloc[1] > 0


def test_the_register_closes_to_new_households_in_2020():
    """identification.closed_from (2020 in the hindcast): the newly poor are monitored, not
    registered; before it and with 0 (never closed, the default) the yearly registration goes
    on."""
    over = {"meta.years": 7}
    shut = run({**over, "identification.closed_from": 2020}, strategy="status_quo")
    shut = shut.timeseries().set_index("calendar_year")
    open_ = run({**over, "identification.closed_from": 0}, strategy="status_quo")
    open_ = open_.timeseries().set_index("calendar_year")
    assert (shut.loc[2020:, "newly_registered"] == 0).all()
    assert shut.loc[2016:2019, "newly_registered"].sum() > 0
    assert open_.loc[2020:, "newly_registered"].sum() > 0
    # the same draws up to the closing year
    assert (shut.loc[:2019, "newly_registered"] == open_.loc[:2019, "newly_registered"]).all()
