"""public_jobs (公益岗位): village posts paid to weak-labour members of programme households."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_data

import sim.policies.public_jobs as public_jobs
from sim.config import ConfigError, build_scenario
from sim.model import PovertyModel
from sim.policies.public_jobs import village_posts


def scenario(params: dict | None = None, years: int = 6, phase_out: int = 3):
    d = small_data()
    d["meta"]["years"] = years
    spec = {"allocation": "shares", "shares": {"public_jobs": 1.0}, "phase_out_year": phase_out}
    if params:
        spec["params"] = {"public_jobs": params}
    d["strategies"] = {"posts": spec}
    return build_scenario(d, "small.toml")


def model(sc, strategy="posts", seed=4):
    return PovertyModel(sc, strategy=strategy, seed=seed, agents=False)


@pytest.fixture
def seen(monkeypatch):
    """The eligible households and the village posts as the policy phase saw them, by year."""
    out: dict[str, dict[int, np.ndarray]] = {"eligible": {}, "posts": {}}
    weak, posts = public_jobs.weak_labour_households, public_jobs.village_posts

    def record_weak(m, max_age, among=None):
        out["eligible"][m.year] = mask = weak(m, max_age, among)
        return mask

    def record_posts(m, share):
        out["posts"][m.year] = n = posts(m, share)
        return n

    monkeypatch.setattr(public_jobs, "weak_labour_households", record_weak)
    monkeypatch.setattr(public_jobs, "village_posts", record_posts)
    return out


def test_posts_pay_wages_to_weak_labour_households_within_village_caps(seen):
    sc = scenario()
    m, base = model(sc), model(sc, "status_quo")
    m.step()
    base.step()
    p = m.strategy.params.public_jobs
    held = m.hh.public_jobs_last == 1
    assert held.sum() > 0
    pay = p.monthly_pay * p.months
    # the wage reaches the household's wage income, nothing else moves in year 1
    np.testing.assert_allclose(m.hh.inc_wage - base.hh.inc_wage, np.where(held, pay, 0.0))
    assert seen["eligible"][1][held].all()
    assert not held[~seen["eligible"][1]].any()
    assert m.hh.registered[held].all()
    per_village = np.bincount(m.hh.village[held], minlength=m.villages.n)
    assert (per_village <= seen["posts"][1]).all()
    assert (per_village == seen["posts"][1]).any()  # some village's posts are all taken
    assert (village_posts(m, p.post_share) >= 1).sum() > 0
    # on the ledger and in the receipts
    spent = m.ledger.year_spending(1)["public_jobs"]
    assert spent == pytest.approx(held.sum() * pay * (1 + p.admin_cost))
    assert m.hh.public_jobs_cost[held] == pytest.approx(pay * (1 + p.admin_cost))
    assert m.rows[-1]["spending_public_jobs"] == pytest.approx(spent)


def test_holders_are_renewed_and_posts_end_at_the_phase_out(seen, monkeypatch):
    import sim.policies.strategy as strategy

    programme = {}
    households = strategy.programme_households

    def record(m, after_exit):
        programme[m.year] = mask = households(m, after_exit)
        return mask

    monkeypatch.setattr(strategy, "programme_households", record)
    sc = scenario(phase_out=2)
    m = model(sc)
    m.step()
    first = m.hh.public_jobs_last == 1
    m.step()
    second = m.hh.public_jobs_last == 2
    assert m.ledger.year_spending(2)["public_jobs"] < m.strategy.budget  # money was not short
    # last year's holders still eligible keep their post (posts never shrink: registration
    # only grows), ahead of anyone poorer who queues in their village
    renewable = first & seen["eligible"][2] & programme[2]
    assert renewable.sum() > 0
    assert second[renewable].all()
    waiting = seen["eligible"][2] & programme[2] & ~second
    richest_holder = np.full(m.villages.n, -np.inf)
    np.maximum.at(richest_holder, m.hh.village[renewable], m.hh.prev_income_pc[renewable])
    poorer = waiting & (m.hh.prev_income_pc < richest_holder[m.hh.village])
    assert poorer.any()  # renewal, not the poorest-first queue, kept a holder in its village
    m.step()
    assert not (m.hh.public_jobs_last == 3).any()
    assert m.ledger.year_spending(3).get("public_jobs", 0.0) == 0.0


def test_a_tight_budget_leaves_households_waiting():
    d = small_data()
    d["strategies"] = {"posts": {"shares": {"public_jobs": 1.0}, "budget": 7000.0}}
    m = model(build_scenario(d, "small.toml"))
    m.step()
    assert (m.hh.public_jobs_last == 1).sum() == 1  # 6,000 yuan a post plus 2%
    assert m.hh.waiting.any()


def test_bad_post_parameters_are_reported_when_the_strategy_is_bound():
    sc = scenario({"months": 13})
    with pytest.raises(ConfigError, match=r"params.public_jobs|public_jobs.months"):
        model(sc)
