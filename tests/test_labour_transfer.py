"""labour_transfer (劳务输出): organised placement of idle registered workers in migrant work."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_instrument_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.policies.labour_transfer as labour_transfer
from sim.cli import main
from sim.config import ConfigError
from sim.model import PovertyModel
from sim.model.codes import Health, Stage, Work


def scenario(params: dict | None = None, years: int = 4, phase_out: int = 1, budget=None):
    return one_instrument_scenario("labour_transfer", "transfer", params, years, phase_out, budget)


def model(sc, strategy="transfer", seed=4):
    return PovertyModel(sc, strategy=strategy, seed=seed, agents=False)


def candidates_now(m) -> np.ndarray:
    """The rule, in numpy: who may be organised (``work`` is last year's)."""
    p = m.persons
    lo, _ = m.working_age
    top = m.scenario.economy.migrant_age_max
    able = (p.age >= lo) & (p.age <= top) & (p.stage == Stage.NONE) & (p.health == Health.HEALTHY)
    return able & ~p.ent_job & (p.work != Work.MIGRANT) & ~p.placed


@pytest.fixture
def seen(monkeypatch):
    """The workers the policy phase chose (per person), by year, each checked against the rule
    as it stood then: a candidate, and the youngest idle one of the household if it has one."""
    out: dict[int, np.ndarray] = {}
    workers = labour_transfer.workers

    def record(m, rows):
        got = workers(m, rows)
        cand = candidates_now(m)
        idle = cand & (m.persons.work != Work.LOCAL)
        chosen = got[got >= 0]
        assert cand[chosen].all()
        for h, w in zip(rows[got >= 0], chosen, strict=True):
            members = np.arange(m.person_start[h], m.person_start[h + 1])
            pool = members[idle[members]] if idle[members].any() else members[cand[members]]
            assert w == pool[np.argmin(m.persons.age[pool])]
        assert not cand[
            np.concatenate(
                [np.arange(m.person_start[h], m.person_start[h + 1]) for h in rows[got < 0]]
                or [np.zeros(0, int)]
            )
        ].any()
        mask = out.setdefault(m.year, np.zeros(m.persons.n, dtype=bool))
        mask[chosen] = True
        return got

    monkeypatch.setattr(labour_transfer, "workers", record)
    return out


def placed_in(m, year: int) -> np.ndarray:
    """Persons placed this year: placed now and in a household the instrument served."""
    served = m.hh.labour_transfer_last == year
    return m.persons.placed & served[m.persons.hh]


def test_placed_members_migrate_where_the_same_members_without_it_mostly_do_not():
    sc = scenario()
    m, base = model(sc), model(sc, "status_quo")
    m.step()
    base.step()
    placed = placed_in(m, 1)
    assert placed.sum() >= 50
    # placed: away this year, while without the programme few of the same members are
    assert (m.persons.work[placed] == Work.MIGRANT).all()
    assert (base.persons.work[placed] == Work.MIGRANT).mean() < 0.3
    # their households' migrant income rose; nobody else's work moved (common random numbers)
    hh = np.unique(m.persons.hh[placed])
    assert (m.hh.inc_migrant[hh] >= base.hh.inc_migrant[hh]).all()
    moved = np.unique(m.persons.hh[placed & (base.persons.work != Work.MIGRANT)])
    assert len(moved) >= 40
    assert (m.hh.inc_migrant[moved] > base.hh.inc_migrant[moved]).all()
    others = ~np.isin(m.persons.hh, hh)
    np.testing.assert_array_equal(m.persons.work[others], base.persons.work[others])
    # the money stopped after year 1 (phase_out 1): placements kept still take workers away
    for _ in range(2):
        m.step()
        base.step()
    away = (m.persons.work[placed] == Work.MIGRANT).mean()
    away_base = (base.persons.work[placed] == Work.MIGRANT).mean()
    assert away > away_base + 0.25
    assert m.ledger.year_spending(3).get("labour_transfer", 0.0) == 0.0


def test_retention_decides_who_stays_away_after_the_placement_year():
    def year_two(retention, strategy="transfer"):
        m = model(scenario({"retention": retention}), strategy)
        m.step()
        placed = placed_in(m, 1)
        m.step()  # no money in year 2 (phase_out 1): only the placement's rule acts
        return m, placed

    m, placed = year_two(1.0)
    p = m.persons
    still_able = (p.health == Health.HEALTHY) & (p.age <= 50) & ~p.ent_job & (p.stage == 0)
    assert (still_able & placed).sum() >= 50
    assert (p.work[placed & still_able] == Work.MIGRANT).all()
    assert p.placed[placed & still_able].all()
    # retention 0: every placement ends after its year, and the worker is back on the draws
    # that decide migration without the programme
    m, placed = year_two(0.0)
    base, _ = year_two(0.0, "status_quo")
    assert placed.sum() >= 50
    assert not m.persons.placed.any()
    np.testing.assert_array_equal(m.persons.work[placed], base.persons.work[placed])


def test_nobody_is_placed_who_cannot_work(seen):
    sc = scenario(phase_out=3)
    m = model(sc)
    lo, _ = m.working_age
    before = m.persons.work.copy()
    for year in (1, 2, 3):
        m.step()
        placed = m.persons.placed & (m.hh.labour_transfer_last == year)[m.persons.hh]
        new = placed & (before != Work.MIGRANT)  # placed this year (not away last year)
        assert new.sum() > 0
        assert seen[year][new].all()
        p = m.persons
        assert (p.health[new] == Health.HEALTHY).all()
        assert (p.stage[new] == Stage.NONE).all()
        assert ((p.age[new] >= lo) & (p.age[new] <= m.scenario.economy.migrant_age_max)).all()
        assert not p.ent_job[new].any()
        assert m.hh.registered[p.hh[new]].all()
        # one worker a household a year
        assert np.bincount(p.hh[new]).max() == 1
        before = m.persons.work.copy()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    match_rate=st.floats(0.0, 1.0),
    transport=st.floats(0.0, 3000.0),
    fee=st.floats(0.0, 1000.0),
    subsidy=st.floats(0.0, 1000.0),
)
def test_the_ledger_books_every_worker_organised_and_every_placement(
    match_rate, transport, fee, subsidy
):
    params = {
        "match_rate": match_rate,
        "transport_subsidy": transport,
        "agency_fee": fee,
        "job_seeking_subsidy": subsidy,
    }
    m = model(scenario(params, years=1))
    m.step()
    served = m.hh.labour_transfer_last == 1
    placed = placed_in(m, 1)
    assert served.sum() > 0
    expected = served.sum() * subsidy + placed.sum() * (transport + fee)
    spent = m.ledger.year_spending(1).get("labour_transfer", 0.0)
    assert spent == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert m.rows[-1]["spending_labour_transfer"] == pytest.approx(spent)
    assert m.hh.labour_transfer_cost.sum() == pytest.approx(spent)
    # a placement is made only in a served household, and only if matched: none at rate 0
    assert not (m.persons.placed & ~served[m.persons.hh]).any()
    if match_rate == 0.0:
        assert placed.sum() == 0
    if match_rate == 1.0:
        assert placed.sum() == served.sum()


def test_a_tight_budget_places_the_poorest_first_and_leaves_the_rest_waiting():
    m = model(scenario(budget=20_000.0, years=1))
    m.step()
    served = m.hh.labour_transfer_last == 1
    # 500 yuan a worker organised, 1,300 more a placement: 11 to 40 workers for 20,000 yuan
    assert 11 <= served.sum() <= 40
    assert m.hh.waiting.any()
    waiting_min = m.hh.prev_income_pc[m.hh.waiting].min()
    assert m.hh.prev_income_pc[served].max() <= waiting_min


@pytest.mark.parametrize(
    ("field", "value"), [("match_rate", 1.5), ("retention", -0.1), ("agency_fee", -5)]
)
def test_bad_parameters_are_reported(field, value):
    with pytest.raises(ConfigError, match=rf"labour_transfer\.{field}"):
        model(scenario({field: value}))


def test_bad_parameters_on_the_command_line_exit_2(capsys, small_toml, tmp_path):
    code = main(
        [
            "run",
            str(small_toml),
            "--set",
            "instruments.labour_transfer.match_rate=2",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "instruments.labour_transfer.match_rate" in err
    assert "Traceback" not in err
