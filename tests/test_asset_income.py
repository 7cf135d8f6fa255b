"""asset_income (资产收益): a share bought once, a dividend as property income for the asset's life."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_instrument_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.policies.asset_income as asset_income
from sim.cli import main
from sim.config import ConfigError
from sim.model import PovertyModel
from sim.model.codes import Status

# no rent and no interest: property income is then the dividend alone, to the yuan
NO_OTHER_PROPERTY = {"economy.land_rent_per_mu": 0.0, "economy.savings_interest": 0.0}


def scenario(params=None, years=6, phase_out=2, budget=None, overrides=None):
    return one_instrument_scenario(
        "asset_income", "assets", params, years, phase_out, budget, overrides, cliff=True
    )


def model(sc, strategy="assets", seed=4):
    return PovertyModel(sc, strategy=strategy, seed=seed, agents=False)


@pytest.fixture
def seen(monkeypatch):
    """The queue and the labour units as the policy phase saw them, by year."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    queue = asset_income.queue

    def record(m, ctx, weak_labour):
        order = queue(m, ctx, weak_labour)
        out[m.year] = (order, m.hh.labour_units.copy())
        return order

    monkeypatch.setattr(asset_income, "queue", record)
    return out


def test_the_dividend_is_property_income_and_outlasts_the_phase_out_and_the_exit():
    sc = scenario({"failure_risk": 0.0, "lag": 1}, overrides=NO_OTHER_PROPERTY)
    m = model(sc)
    p = m.strategy.params.asset_income
    paid = p.dividend * p.household_share
    for year in range(1, 7):
        m.step()
        holders = m.hh.asset_income_first >= 0
        paying = holders & (m.hh.asset_income_first + p.lag <= year)
        assert (m.hh.inc_property[paying] == paid).all()
        assert (m.hh.inc_property[~paying] == 0.0).all()
        if year >= 2:
            assert paying.sum() > 0
    # after the cliff (years 3-6): nothing spent, the same holders paid every year
    assert all(m.ledger.year_spending(y).get("asset_income", 0.0) == 0.0 for y in range(3, 7))
    holders = m.hh.asset_income_first >= 0
    assert (m.hh.inc_property[holders] == paid).all()
    assert (m.hh.inc_transfers_programme[holders] == 0.0).all()  # not a programme transfer
    exited = holders & (m.hh.status == Status.EXITED)
    assert exited.sum() > 0  # an exited household keeps its share
    assert (m.rows[-1]["returns_support_ended"]) == 0


def test_the_capital_is_paid_once_per_household():
    p_cost = 22_500.0
    sc = scenario({"failure_risk": 0.0}, years=4, phase_out=3, budget=40 * p_cost)
    m = model(sc)
    served = []
    for year in range(1, 4):
        m.step()
        served.append(np.flatnonzero(m.hh.asset_income_last == year))
        spent = m.ledger.year_spending(year)["asset_income"]
        assert len(served[-1]) == 40  # the budget buys 40 shares a year, to the yuan
        assert spent == pytest.approx(40 * p_cost)
        assert m.rows[-1]["spending_asset_income"] == pytest.approx(spent)
    assert len(np.unique(np.concatenate(served))) == 120  # never the same household twice
    holders = m.hh.asset_income_first >= 0
    assert (m.hh.asset_income_cost[holders] == p_cost).all()
    assert (m.hh.asset_income_first == m.hh.asset_income_last).all()


def test_weak_and_no_labour_households_are_served_first(seen):
    sc = scenario({"weak_labour": 0.5}, budget=60 * 22_500.0)
    m = model(sc)
    m.step()
    order, labour = seen[1]
    weak = labour[order] < 0.5
    first_strong = int(np.argmin(weak)) if not weak.all() else len(weak)
    assert 0 < first_strong < len(order) and not weak[first_strong:].any()  # a weak prefix
    chosen = m.hh.asset_income_last == 1
    assert chosen.sum() == 60 and chosen[order[:60]].all()
    assert (labour[chosen] < 0.5).all()
    # the weak-first rule, not the poorest-first queue, chose them: a richer weak household was
    # served while a poorer household with labour waited
    income = m.hh.prev_income_pc
    waiting_strong = order[first_strong:]
    assert income[chosen].max() > income[waiting_strong].min()
    assert m.hh.waiting[waiting_strong].all()


def test_assets_fail_for_good_at_their_yearly_risk():
    sc = scenario({"failure_risk": 0.3, "lag": 0}, years=8, phase_out=1)
    m = model(sc)
    m.run()
    holders = m.hh.asset_income_first == 1
    n = holders.sum()
    assert n > 500
    years_paid = m.hh.dividend_until[holders] - m.hh.dividend_from[holders] + 1
    # P(at least k paying years) = 0.7^k, within sampling error
    for k in (1, 2, 4):
        assert np.mean(years_paid >= k) == pytest.approx(0.7**k, abs=4 * np.sqrt(0.25 / n))
    still = holders & (m.hh.dividend_until >= m.year)
    assert (m.hh.inc_property[still] >= m.hh.dividend[still]).all()


@settings(max_examples=200, deadline=None)
@given(
    u=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=20),
    life=st.integers(1, 50),
    risk=st.floats(0.0, 0.99),
)
def test_paying_years_are_within_the_life_and_rise_with_the_draw(u, life, risk):
    u = np.sort(np.asarray(u))
    years = asset_income.paying_years(u, life, risk)
    assert ((years >= 0) & (years <= life)).all()
    assert (np.diff(years) >= 0).all()
    if risk == 0.0:
        assert (years == life).all()


def test_the_share_lifts_registered_households_after_the_money_stops():
    """At the same schedule, registered households that hold a share are less often poor five
    years after the phase-out than without it (status_quo, common random numbers)."""
    sc = scenario(years=7, phase_out=2)
    m, base = model(sc), model(sc, "status_quo")
    m.run()
    base.run()
    holders = m.hh.asset_income_first >= 0
    paying = m.hh.dividend_until[holders] >= m.year
    per_person = (m.hh.dividend[holders] * paying / m.hh.size[holders]).mean()
    gain = (m.hh.income_pc - base.hh.income_pc)[holders].mean()
    # most of the dividend stays income (the standing dibao's top-up shrinks for those on it)
    assert 0.6 * per_person < gain <= per_person * 1.05
    line = m.line(m.year)
    poor = (m.hh.income_pc < line)[holders].mean()
    poor_base = (base.hh.income_pc < line)[holders].mean()
    assert poor < poor_base - 0.02


@pytest.mark.parametrize(
    ("key", "value"),
    [("household_share", 1.5), ("life", 0), ("failure_risk", 1.0), ("cost_per_household", 0.0)],
)
def test_bad_parameters_are_reported_when_the_strategy_is_bound(key, value):
    sc = scenario({key: value})
    with pytest.raises(ConfigError, match=rf"asset_income.{key}|params.asset_income"):
        model(sc)


def test_a_bad_parameter_on_the_command_line_is_exit_2_without_a_traceback(small_toml, capsys):
    argv = ["run", str(small_toml), "--quiet", "--set", "instruments.asset_income.life=0"]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert "asset_income" in err and "life" in err and "Traceback" not in err
