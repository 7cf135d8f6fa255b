"""The model: determinism, common random numbers across strategies, Mesa agents as live views of
the arrays, and the shape of the yearly table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TransferToAll, small_model, small_scenario

from sim.config import ConfigError, StrategySpec
from sim.model import PovertyModel
from sim.model.codes import Status
from sim.model.enterprises import Enterprise
from sim.model.households import Household
from sim.model.outputs import COLUMNS
from sim.policies import Ledger, Strategy, available

# ---- determinism -------------------------------------------------------------------------------


def test_same_seed_same_results(small_run):
    other = small_model(seed=1).run()
    pd.testing.assert_frame_equal(small_run.timeseries(), other.timeseries())
    pd.testing.assert_frame_equal(small_run.households(), other.households())
    np.testing.assert_array_equal(small_run.persons.age, other.persons.age)
    np.testing.assert_array_equal(small_run.persons.skill, other.persons.skill)


def test_different_seeds_differ(small_run):
    other = small_model(seed=2).run()
    a, b = small_run.timeseries(), other.timeseries()
    assert not a.equals(b)
    assert a["mean_income_pc"].iloc[0] != b["mean_income_pc"].iloc[0]
    assert not np.array_equal(small_run.hh.size, other.hh.size)


def test_agents_flag_does_not_change_results(small_run):
    with_agents = small_model(seed=1, agents=True).run()
    pd.testing.assert_frame_equal(small_run.timeseries(), with_agents.timeseries())
    pd.testing.assert_frame_equal(small_run.households(), with_agents.households())


def test_seed_none_is_drawn_and_recorded():
    sc = small_scenario()
    m = PovertyModel(sc, seed=None, agents=False)
    assert isinstance(m.seed, int) and m.seed >= 0
    again = PovertyModel(sc, seed=m.seed, agents=False)
    m.run(2)
    again.run(2)
    pd.testing.assert_frame_equal(m.timeseries(), again.timeseries())


def test_stepping_equals_running(small_run):
    m = small_model(seed=1)
    for _ in range(small_run.years):
        m.step()
    pd.testing.assert_frame_equal(m.timeseries(), small_run.timeseries())


# ---- common random numbers -----------------------------------------------------------------------


def _pair(seed=7):
    return small_model(seed=seed), small_model(seed=seed, strategy=TransferToAll(1000.0))


def test_common_random_numbers_across_strategies():
    years = 5
    base, treated = _pair()
    assert treated.strategy.name == "transfer_to_all"
    # the population at year 0
    for name in ("age", "hh", "health", "stage", "skill", "work_propensity"):
        np.testing.assert_array_equal(getattr(base.persons, name), getattr(treated.persons, name))
    for name in ("size", "village", "category", "assets", "land", "productivity", "enterprise"):
        np.testing.assert_array_equal(getattr(base.hh, name), getattr(treated.hh, name))
    np.testing.assert_array_equal(base.villages.disaster_risk, treated.villages.disaster_risk)
    np.testing.assert_array_equal(base.persons.acute, treated.persons.acute)
    for year in range(1, years + 1):
        base.step()
        treated.step()
        if year == 1:
            # illness draws depend only on the illness stream when health is not changed by policy
            np.testing.assert_array_equal(base.persons.acute, treated.persons.acute)
            np.testing.assert_array_equal(base.persons.health, treated.persons.health)
            np.testing.assert_array_equal(base.hh.medical_cost, treated.hh.medical_cost)
        # village disasters, prices and enterprise failures are shared every year
        np.testing.assert_array_equal(base.villages.hit, treated.villages.hit)
        assert base.crop_price == treated.crop_price
        np.testing.assert_array_equal(base.industry_price, treated.industry_price)
        np.testing.assert_array_equal(base.ent.alive, treated.ent.alive)
        np.testing.assert_array_equal(base.persons.age, treated.persons.age)
    # ... while the strategy did change outcomes, and its spending was booked
    ts_b, ts_t = base.timeseries(), treated.timeseries()
    assert np.allclose(ts_t["spending_cash_transfer"].iloc[1:], 1000.0 * base.hh.n)
    assert ts_t["spending_cash_transfer"].iloc[0] == 0.0
    np.testing.assert_array_equal(ts_t["spending"], ts_t["spending_cash_transfer"])
    assert ts_t["cumulative_spending"].iloc[-1] == pytest.approx(1000.0 * base.hh.n * years)
    assert (ts_b["spending"] == 0).all()
    assert (ts_t["mean_income_pc"].iloc[1:] > ts_b["mean_income_pc"].iloc[1:]).all()
    assert (treated.hh.inc_transfers_programme == 1000.0).all()


@pytest.mark.parametrize("name", sorted(available()))
def test_common_random_numbers_with_builtin_strategies(name):
    """Built-in strategies see the status quo's population and shocks (years 1-2: before any
    strategy-dependent registration can matter)."""
    base = small_model(seed=12)
    other = small_model(seed=12, strategy=name)
    np.testing.assert_array_equal(base.persons.age, other.persons.age)
    np.testing.assert_array_equal(base.hh.size, other.hh.size)
    np.testing.assert_array_equal(base.hh.village, other.hh.village)
    for _ in range(2):
        base.step()
        other.step()
        np.testing.assert_array_equal(base.persons.acute, other.persons.acute)
        np.testing.assert_array_equal(base.villages.hit[:20], other.villages.hit[:20])
        assert base.crop_price == other.crop_price


def test_illness_draws_common_across_strategies_every_year():
    base, treated = _pair()
    for _ in range(5):
        base.step()
        treated.step()
        np.testing.assert_array_equal(base.persons.acute, treated.persons.acute)
        np.testing.assert_array_equal(base.hh.medical_cost, treated.hh.medical_cost)


def test_household_fields_do_not_share_memory():
    m = small_model()
    for table in (m.hh, m.persons):
        names = list(table.FIELDS)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not np.shares_memory(getattr(table, a), getattr(table, b)), (a, b)


def test_frail_means_registered_at_year_zero(small_run):
    hh = small_run.hh
    assert (hh.registered_year > 0).any()  # the test needs later registrations
    np.testing.assert_array_equal(hh.frail, hh.registered_year == 0)


def test_strategy_cannot_spend_more_than_the_budget():
    budget = small_scenario().budget.yearly
    n = small_scenario().population.households
    per_household = 2 * budget / n
    m = small_model(seed=1, strategy=TransferToAll(per_household)).run(2)
    ts = m.timeseries()
    assert np.allclose(ts["spending"].iloc[1:], budget)
    assert np.allclose(m.hh.inc_transfers_programme, budget / n)


def test_ledger_rules():
    ledger = Ledger(100.0, carry_over=False)
    ledger.open_year(1)
    assert ledger.spend("cash_transfer", 30.0) == 30.0
    assert ledger.spend("dibao", 100.0) == 70.0
    assert ledger.spend("dibao", 5.0) == 0.0
    assert ledger.spend("training", -5.0) == 0.0
    assert ledger.year_spending() == {"cash_transfer": 30.0, "dibao": 70.0, "training": 0.0}
    with pytest.raises(KeyError):
        ledger.spend("bribes", 1.0)
    ledger.open_year(2)
    assert ledger.available == 100.0  # unspent money is returned, not carried
    carry = Ledger(100.0, carry_over=True)
    carry.open_year(1)
    carry.spend("dibao", 40.0)
    carry.open_year(2)
    assert carry.available == 160.0


def test_unknown_strategy_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown strategy"):
        small_model(strategy="nope")


def test_a_strategy_object_is_used_as_given():
    class Marker(Strategy):
        calls = 0

        def apply(self, model):
            Marker.calls += 1

    s = Marker("marker", StrategySpec(description="counts its calls"))
    m = small_model(strategy=s).run(3)
    assert m.strategy is s
    assert Marker.calls == 3  # once per step, never at year 0


def test_strategy_default_spec():
    s = Strategy("custom")
    assert s.description == ""
    m = small_model(strategy=s).run(2)
    assert (m.timeseries()["spending"] == 0).all()


# ---- Mesa agents ---------------------------------------------------------------------------------


@pytest.fixture
def agent_model():
    return small_model(seed=3, agents=True)


def test_agents_are_households_and_enterprises(agent_model):
    m = agent_model
    households = list(m.agents_by_type[Household])
    enterprises = list(m.agents_by_type[Enterprise])
    assert len(households) == m.hh.n
    assert len(enterprises) == m.ent.n == 2
    assert len(m.agents) == m.hh.n + m.ent.n
    assert sorted(h.row for h in households) == list(range(m.hh.n))
    assert {e.name for e in enterprises} == {"small pig company", "small vegetable cooperative"}


def test_no_household_agents_when_disabled():
    m = small_model(agents=False)
    assert Household not in m.agents_by_type
    assert len(m.agents) == m.ent.n


def test_household_agent_reads_the_arrays_live(agent_model):
    m = agent_model
    hh = list(m.agents_by_type[Household])[0]
    assert hh.income_pc == m.hh.income_pc[hh.row]
    assert hh.size == int(m.hh.size[hh.row])
    assert hh.status == int(m.hh.status[hh.row])
    assert hh.poor == bool(m.hh.income_pc[hh.row] < m.poverty_line)
    m.step()
    assert hh.income_pc == m.hh.income_pc[hh.row]
    assert hh.prev_income_pc == m.hh.prev_income_pc[hh.row]
    with pytest.raises(AttributeError):
        _ = hh.no_such_field


def test_household_agent_writes_the_arrays(agent_model):
    m = agent_model
    agents = list(m.agents_by_type[Household])
    hh = agents[0]
    other = agents[1]
    before_other = m.hh.savings[other.row]
    hh.savings = 5
    assert m.hh.savings[hh.row] == 5.0
    assert hh.savings == 5.0
    assert m.hh.savings[other.row] == before_other


def test_household_agent_skill_sets_working_age_members():
    m = small_model(seed=3, agents=True)
    lo, hi = m.working_age
    p = m.persons
    # a household with working-age and other members
    for hh in m.agents_by_type[Household]:
        ages = p.age[hh.members]
        if ((ages >= lo) & (ages <= hi)).any() and ((ages < lo) | (ages > hi)).any():
            break
    idx = hh.members
    np.testing.assert_array_equal(p.hh[idx], hh.row)
    assert len(idx) == hh.size
    work = idx[(p.age[idx] >= lo) & (p.age[idx] <= hi)]
    rest = idx[(p.age[idx] < lo) | (p.age[idx] > hi)]
    skill_before = p.skill.copy()
    hh.skill = 1.3
    assert (p.skill[work] == 1.3).all()
    np.testing.assert_array_equal(p.skill[rest], skill_before[rest])
    others = np.setdiff1d(np.arange(p.n), idx)
    np.testing.assert_array_equal(p.skill[others], skill_before[others])
    assert hh.skill == pytest.approx(1.3)


def test_agent_selection(agent_model):
    m = agent_model
    poor = m.agents.select(lambda a: isinstance(a, Household) and a.status == Status.POOR)
    assert len(poor) == int((m.hh.status == Status.POOR).sum()) == 500


# ---- the yearly table ----------------------------------------------------------------------------


def test_timeseries_columns_and_rows(small_run):
    ts = small_run.timeseries()
    years = small_run.scenario.meta.years
    assert list(ts.columns) == list(COLUMNS)
    assert ts["year"].tolist() == list(range(years + 1))
    assert ts["calendar_year"].tolist() == [2015 + y for y in range(years + 1)]
    assert (ts["households"] == 2000).all() and (ts["people"] == 6600).all()
    assert ts["poverty_line"].tolist()[:6] == [
        2855,
        2952,
        2952,
        2995,
        3218,
        pytest.approx(3218 * 1.03),
    ]
    assert not small_run.running


def test_every_column_is_documented():
    for name, outcome in COLUMNS.items():
        assert outcome.unit.strip() and outcome.definition.strip(), name


def test_datacollector_matches_timeseries(small_run):
    dc = small_run.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts = small_run.timeseries()
    pd.testing.assert_frame_equal(dc[list(COLUMNS)], ts, check_dtype=False)


def test_year_zero_has_no_transitions(small_run):
    row = small_run.timeseries().iloc[0]
    for col in ("exits", "returns", "new_poor", "newly_registered", "spending"):
        assert row[col] == 0, col
    assert row["registered_households"] == 500
    assert row["registered_people"] == 1600


def test_years_argument_sets_the_horizon():
    m = PovertyModel(small_scenario(), seed=1, years=2, agents=False).run()
    assert m.year == 2 and len(m.timeseries()) == 3
    assert not m.running


def test_households_frame(small_run):
    df = small_run.households()
    assert len(df) == 2000
    assert df["household"].tolist() == list(range(2000))
    assert (df["year"] == small_run.year).all()
    linked = df["enterprise"] >= 0
    assert set(df.loc[linked, "enterprise_name"]) <= {
        "small pig company",
        "small vegetable cooperative",
    }
    assert (df.loc[~linked, "enterprise_name"] == "").all()
    assert (df.loc[df["category"] == -1, "category_name"] == "none").all()
    assert (df["members_working_age"] + df["members_elderly"] <= df["size"]).all()


def test_year_zero_monitoring_uses_observed_income():
    m = small_model(seed=1)
    hh = m.hh
    line = m.line(0)
    ident = m.scenario.identification
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    spike = hh.sp_medical + hh.sp_schooling > ident.spending_spike * np.maximum(hh.net_income, 1.0)
    expected = ~active & ((hh.income_pc < ident.monitoring_line * line) | spike)
    np.testing.assert_array_equal(hh.at_risk, expected)


def test_release_lets_a_finished_model_be_collected():
    """Batch workers run many models in turn; Mesa 3.3 would keep every one alive (Agent._ids)."""
    import gc
    import weakref

    m = small_model(seed=3)
    m.run(1)
    ref = weakref.ref(m)
    m.release()
    del m
    gc.collect()
    assert ref() is None
