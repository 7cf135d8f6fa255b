"""Every yuan on a ledger: programme spending, public money outside the programme, microcredit
principal; comparisons at equal spending (``budget.unspent = "reallocate"``); the write-off rule
after the phase-out (docs/ODD.md, Budget and ledger, §7.12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import PovertyModel, credit
from sim.model.codes import INSTRUMENTS
from tests.conftest import small_scenario

PROGRAMME = ("transfusion", "blood_making", "precision")
# a two-year term (counted down from the year of the loan) and no extension: loans of year 1
# fall due in year 2, those of year 3 in year 4: defaults inside and after the programme
QUICK_CREDIT = {
    "instruments.microcredit.term": 2,
    "instruments.microcredit.extensions": 0,
    "instruments.microcredit.take_up": 1.0,
}


def run(strategy, seed=1, years=6, phase_out=3, unspent="return", budget=6e6, **over):
    sc = small_scenario(
        {
            "budget.yearly": budget,
            "budget.unspent": unspent,
            "programme.phase_out_year": phase_out,
            **QUICK_CREDIT,
            **over,
        },
        years=years,
    )
    return PovertyModel(sc, strategy=strategy, seed=seed, agents=False)


def check_books(m) -> None:
    """The ledger identities, every year and in total, and the households' receipts."""
    ts = m.timeseries()
    parts = ts[[f"spending_{i}" for i in INSTRUMENTS]].sum(axis=1)
    np.testing.assert_allclose(parts, ts["spending"], rtol=1e-9, atol=1e-3)
    public = ts["spending"] + ts["standing_dibao"] + ts["help_in_place_cost"]
    public = public + ts["pensions_farm_subsidy"]
    np.testing.assert_allclose(ts["public_cost"], public, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(ts["cumulative_public_cost"], public.cumsum(), rtol=1e-9)
    # every programme yuan is on some household's receipt, per instrument
    for i in INSTRUMENTS:
        received = float(getattr(m.hh, f"{i}_cost").sum())
        assert received == pytest.approx(ts[f"spending_{i}"].sum(), rel=1e-9, abs=1e-3), i
    # microcredit: principal lent is repaid, defaulted or still outstanding; a default is paid
    # by the risk fund or becomes debt
    out = ts["microcredit_outstanding"]
    flow = ts["microcredit_lent"] - ts["microcredit_repaid"] - ts["microcredit_defaulted"]
    np.testing.assert_allclose(out.diff().iloc[1:], flow.iloc[1:], rtol=1e-9, atol=1e-3)
    total = ts["microcredit_repaid"].sum() + ts["microcredit_defaulted"].sum() + out.iloc[-1]
    assert ts["microcredit_lent"].sum() == pytest.approx(total, rel=1e-9, abs=1e-3)
    split = ts["microcredit_risk_fund"] + ts["microcredit_to_debt"]
    np.testing.assert_allclose(ts["microcredit_defaulted"], split, rtol=1e-9, atol=1e-3)
    assert out.iloc[-1] == pytest.approx(float(m.hh.loan.sum()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy=st.sampled_from(PROGRAMME),
    unspent=st.sampled_from(["return", "carry_over", "reallocate"]),
    seed=st.integers(0, 1000),
)
def test_no_money_is_off_the_ledger(strategy, unspent, seed):
    m = run(strategy, seed=seed, unspent=unspent)
    doubles = 0
    for _ in range(m.years):
        m.step()
        # the programme enrols only households not on the standing dibao: never both
        doubles += int(np.sum(m.hh.dibao_programme & (m.hh.inc_dibao_standing > 0)))
    assert doubles == 0
    check_books(m)


def test_the_credit_flows_happen_and_balance():
    """Loans are made, repaid and defaulted inside and after the programme (the identities
    above are not vacuous), and the risk fund pays its share only in programme years."""
    m = run("blood_making").run()
    ts = m.timeseries().set_index("year")
    check_books(m)
    assert ts["microcredit_lent"].sum() > 0
    assert ts["microcredit_repaid"].sum() > 0
    inside, after = ts.loc[1:3], ts.loc[4:]
    assert inside["microcredit_defaulted"].sum() > 0 and after["microcredit_defaulted"].sum() > 0
    cover = m.scenario.instruments.microcredit.risk_cover
    # blood_making leaves money unspent in this scenario, so the fund pays its full share
    assert inside["microcredit_risk_fund"].sum() == pytest.approx(
        cover * inside["microcredit_defaulted"].sum()
    )
    assert (inside["spending_microcredit"] >= inside["microcredit_risk_fund"]).all()
    assert after["microcredit_risk_fund"].sum() == 0.0


def test_a_default_after_the_phase_out_becomes_debt_in_full(monkeypatch):
    """After the phase-out no fund pays: the households' debt grows by the whole default (the
    settlement measured on the households themselves, not on the ledger)."""
    grew, defaulted = [], []
    settle = credit.settle

    def measured(model, surplus, params):
        before = model.hh.debt.sum()
        was = model.ledger.year_credit()["defaulted"]
        used = settle(model, surplus, params)
        if not model.strategy.in_programme(model.year):
            grew.append(model.hh.debt.sum() - before)
            defaulted.append(model.ledger.year_credit()["defaulted"] - was)
        return used

    monkeypatch.setattr(credit, "settle", measured)
    m = run("blood_making").run()
    assert sum(defaulted) > 1e5  # defaults after the phase-out happen
    assert sum(grew) == pytest.approx(sum(defaulted), rel=1e-9)
    ts = m.timeseries().set_index("year").loc[4:]
    assert ts["microcredit_to_debt"].sum() == pytest.approx(sum(defaulted), rel=1e-9)


def _spent(unspent, seed=1):
    out = {}
    for s in PROGRAMME:
        m = run(s, seed=seed, years=3, phase_out=3, unspent=unspent, budget=1e6).run()
        out[s] = float(m.timeseries()["spending"].sum())
    return out


def test_equal_spending_when_unspent_money_is_reallocated():
    spent = _spent("reallocate")
    budget = 1e6 * 3  # half a county's money per household: blood_making's shares overflow
    for s, v in spent.items():
        assert v == pytest.approx(budget, rel=0.01), (s, spent)
    # the experiment has power: without reallocation blood_making leaves money unspent
    back = _spent("return")
    assert back["blood_making"] < 0.95 * budget, back


def test_unabsorbed_money_is_what_the_shares_left():
    """Under fixed shares every instrument is offered share x budget; what they could not use
    is what the year returns, less what the risk fund took of it; a reallocation passes it on
    and the instruments' shortfalls are still reported."""
    m = run("blood_making", years=3, phase_out=3, budget=1e6).run()
    ts = m.timeseries().set_index("year").loc[1:3]
    left = ts[[f"unabsorbed_{i}" for i in INSTRUMENTS]].sum(axis=1)
    np.testing.assert_allclose(left - ts["microcredit_risk_fund"], ts["unspent"], atol=1e-3)
    assert ts["unspent"].sum() > 0.05 * 1e6 * 3
    r = run("blood_making", years=3, phase_out=3, budget=1e6, unspent="reallocate").run()
    tr = r.timeseries().set_index("year").loc[1:3]
    assert tr["unspent"].sum() < 0.01 * 1e6 * 3
    assert tr[[f"unabsorbed_{i}" for i in INSTRUMENTS]].sum(axis=1).sum() > 0.05 * 1e6 * 3


def test_a_later_pass_pays_commitments_once():
    """Interest on a loan is paid once a year, however many passes the strategy makes."""
    over = {"instruments.microcredit.risk_cover": 0.0}  # the receipt is then interest only
    m = run("blood_making", years=2, phase_out=2, budget=1e6, unspent="reallocate", **over)
    m.step()
    m.step()
    rate = m.scenario.instruments.microcredit.interest_rate
    cost = m.hh.microcredit_cost
    # a borrower of year 1 (due in year 2) paid one year's interest a year at most: two
    assert cost.max() <= 2 * m.scenario.instruments.microcredit.amount * rate * (1 + 1e-9)
    assert cost.max() > 0


def test_a_later_pass_serves_only_the_unserved():
    """A village's roads are built at most once a year, however many passes the strategy
    makes (a later pass offers money to infrastructure, which took its whole share; cheap
    villages, so that the share builds some)."""
    cheap = {"instruments.infrastructure.cost_per_village": 4e4}
    m = run("blood_making", years=3, phase_out=3, budget=1e6, unspent="reallocate", **cheap)
    gain = m.scenario.instruments.infrastructure.infrastructure_gain
    rose = 0
    for _ in range(3):
        before = m.villages.infrastructure.copy()
        m.step()
        up = m.villages.infrastructure - before
        assert up.max() <= gain + 1e-9
        rose += int(np.count_nonzero(up > 0))
    assert rose > 0
    assert m.timeseries()["spending_infrastructure"].sum() > 0.2 * 1e6 * 3  # more than its share
