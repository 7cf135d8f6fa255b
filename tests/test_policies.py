"""Instruments move the state they claim to move, only for the eligible, within the budget."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import COUNTY_TOML, SMALL_TOML, small_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.config import ConfigError, build_scenario, load_scenario
from sim.model import PovertyModel
from sim.model.codes import Stage, Status
from sim.policies import INSTRUMENTS

BUILTINS = ("status_quo", "transfusion", "blood_making", "precision")


def scenario_with(strategies: dict | None = None, overrides: dict | None = None, years=5, **data):
    d = small_data()
    d["meta"]["years"] = years
    if strategies:
        d["strategies"] = strategies
    for key, value in data.items():
        d[key] = value
    return build_scenario(d, "small.toml", overrides)


def only(instrument: str, **params) -> dict:
    """A strategy that spends the whole budget on one instrument."""
    spec = {"allocation": "shares", "shares": {instrument: 1.0}}
    if params:
        spec["params"] = {instrument: params}
    return spec


def run(sc, strategy, seed=1, years=None):
    return PovertyModel(sc, strategy=strategy, seed=seed, agents=False).run(years)


# ---- each instrument ------------------------------------------------------------------------


def test_medical_aid_lowers_illness_returns_and_out_of_pocket_cost():
    sc = scenario_with({"med": only("medical_aid")}, {"shocks.illness.incidence_registered": 0.3})
    base, aid = run(sc, "status_quo"), run(sc, "med")
    b, a = base.timeseries(), aid.timeseries()
    assert a["spending_medical_aid"].iloc[1:].sum() > 0
    assert a["returns_illness"].sum() < b["returns_illness"].sum()
    assert a["medical_oop_share_registered"].iloc[1] < b["medical_oop_share_registered"].iloc[1]
    # never-registered households never get medical aid
    hh = aid.hh
    assert (hh.medical_aid_first[~hh.registered] < 0).all()


def test_relocation_without_employment_support_does_not_raise_income():
    strategies = {
        "move_only": only("relocation", employment_support=False),
        "move_with_jobs": only("relocation", employment_support=True),
    }
    sc = scenario_with(strategies, {"instruments.relocation.min_remoteness": 0.3})
    base = run(sc, "status_quo", years=3)
    bare = run(sc, "move_only", years=3)
    jobs = run(sc, "move_with_jobs", years=3)
    moved = bare.hh.relocated_year >= 0
    assert moved.sum() >= 5
    assert (bare.villages.site[bare.hh.village[moved]]).all()
    assert bare.hh.house_safe[moved].all()
    gain_bare = bare.hh.net_income[moved].mean() - base.hh.net_income[moved].mean()
    assert gain_bare <= 0.0
    moved_j = jobs.hh.relocated_year >= 0
    gain_jobs = jobs.hh.net_income[moved_j].mean() - base.hh.net_income[moved_j].mean()
    assert gain_jobs > gain_bare


def test_industry_income_stops_when_the_linked_enterprise_fails():
    sc = scenario_with({"ind": only("industry")}, {"shocks.enterprise.failure_multiplier": 0.0})
    m = PovertyModel(sc, strategy="ind", seed=2, agents=False)
    base = PovertyModel(sc, strategy="status_quo", seed=2, agents=False)
    m.step()  # year 1: links
    base.step()
    linked = np.flatnonzero((m.hh.industry_first == 1) & (m.hh.enterprise >= 0))
    assert len(linked) > 0
    assert m.hh.assets[linked].mean() > base.hh.assets[linked].mean() + 1000
    m.step()
    m.step()  # by year 3 every industry's lag in this scenario (pigs 1, vegetables 1) has passed
    paid = m.yr.contract_income_prev[linked]
    assert (paid > 0).mean() > 0.9
    m.ent.failure_risk[:] = 1.0
    m.scenario.shocks.enterprise.failure_multiplier = 1.0
    m.step()  # year 4: every enterprise fails in the shock phase
    assert not m.ent.alive.any()
    assert (m.hh.enterprise[linked] == -1).all()
    assert (m.hh.enterprise_lost_year[linked] == 4).all()
    assert (m.hh.loss_enterprise[linked] > 0).mean() > 0.9
    assert (m.yr.contract_income_prev == 0).all()
    assert not m.persons.ent_job.any()


def test_industry_respects_enterprise_capacity():
    sc = scenario_with({"ind": only("industry")})
    m = run(sc, "ind", years=2)
    counts = np.bincount(m.hh.enterprise[m.hh.enterprise >= 0], minlength=m.ent.n)
    assert (counts <= m.ent.capacity).all()
    assert m.hh.waiting_years.sum() > 0  # more eligible households than places


def test_training_needs_labour_and_raises_skill():
    sc = scenario_with({"train": only("training")})
    base = PovertyModel(sc, strategy="status_quo", seed=3, agents=False)
    m = PovertyModel(sc, strategy="train", seed=3, agents=False)
    before = m.persons.skill.copy()
    base.step()
    m.step()
    trained = m.hh.training_first == 1
    assert trained.sum() > 0
    # households with no labour capacity are never trained
    no_labour_people = np.bincount(
        m.persons.hh,
        weights=(m.persons.stage == Stage.NONE)
        & (m.persons.age >= 16)
        & (m.persons.age <= 50)
        & (m.persons.health != 2),
        minlength=m.hh.n,
    )
    assert (no_labour_people[trained] > 0).all()
    changed = m.persons.skill != base.persons.skill
    assert changed.any()
    assert (m.persons.skill[changed] >= before[changed]).all()
    assert set(m.persons.hh[changed]) <= set(np.flatnonzero(trained))


def test_dibao_goes_to_households_without_labour_and_tops_them_up():
    sc = scenario_with({"db": only("dibao")})
    m = PovertyModel(sc, strategy="db", seed=4, agents=False)
    labour_when_chosen = m.hh.labour_units.copy()  # eligibility uses last year's labour
    m.step()
    got = m.hh.dibao_programme
    assert got.sum() > 0
    assert (labour_when_chosen[got] == 0).all()
    assert (m.hh.inc_transfers_programme[got] > 0).all()
    assert (m.hh.inc_transfers_programme[~got] == 0).all()


def test_dibao_enrolments_outlast_the_phase_out_only_if_so_set():
    keep = scenario_with({"db": only("dibao")}, {"programme.phase_out_year": 2})
    drop = scenario_with(
        {"db": only("dibao", standing_after_phase_out=False)}, {"programme.phase_out_year": 2}
    )
    a, b = run(keep, "db", years=4), run(drop, "db", years=4)
    enrolled = a.hh.dibao_first >= 0
    assert enrolled.sum() > 0
    assert a.hh.dibao[enrolled].all()
    assert not b.hh.dibao[b.hh.dibao_first >= 0].all()
    assert a.timeseries()["spending"].iloc[3:].sum() == 0  # nothing booked after the phase-out


def test_cash_transfers_reach_only_programme_households_and_stop_after_phase_out():
    sc = scenario_with({"cash": only("cash_transfer")}, {"programme.phase_out_year": 2})
    m = PovertyModel(sc, strategy="cash", seed=5, agents=False)
    m.step()
    got = m.hh.inc_transfers_programme > 0
    assert got.sum() > 0
    assert (m.hh.registered[got]).all()
    cap = sc.instruments.cash_transfer.max_per_person
    assert (m.hh.inc_transfers_programme[got] / m.hh.size[got] <= cap + 1e-9).all()
    m.run()
    assert (m.hh.inc_transfers_programme == 0).all()
    ts = m.timeseries()
    assert ts["returns_support_ended"].iloc[3:].sum() > 0


def test_microcredit_goes_to_labour_capable_households_and_becomes_assets():
    sc = scenario_with({"mc": only("microcredit", take_up=1.0)}, years=8)
    base = PovertyModel(sc, strategy="status_quo", seed=6, agents=False)
    m = PovertyModel(sc, strategy="mc", seed=6, agents=False)
    labour_when_chosen = m.hh.labour_units.copy()
    base.step()
    m.step()
    borrowers = m.hh.loan > 0
    assert borrowers.sum() > 0
    assert (labour_when_chosen[borrowers] >= 0.5).all()
    assert m.hh.assets[borrowers].mean() > base.hh.assets[borrowers].mean()
    year1 = borrowers.copy()
    for _ in range(2):
        m.step()  # loans of year 1 fall due in year 3: repaid, extended once (展期) or defaulted
    settled = (m.hh.loan == 0) | (m.hh.loan_extensions == 1)
    assert settled[year1].all()
    assert (m.hh.loan[year1] <= sc.instruments.microcredit.amount).all()
    for _ in range(3):
        m.step()  # extended loans fall due in year 6: repaid or defaulted
    assert (m.hh.loan_extensions <= sc.instruments.microcredit.extensions).all()
    assert m.hh.loan_defaulted[year1].any()  # final maturities are repaid or defaulted
    assert (m.hh.debt[m.hh.loan_defaulted] > 0).all()  # the uncovered part of a default is debt


def test_education_aid_lowers_schooling_cost_of_recipients():
    sc = scenario_with({"edu": only("education_aid")})
    base = PovertyModel(sc, strategy="status_quo", seed=7, agents=False)
    m = PovertyModel(sc, strategy="edu", seed=7, agents=False)
    base.step()
    m.step()
    got = m.hh.education_aid_first == 1
    assert got.sum() > 0
    assert (m.hh.sp_schooling[got] < base.hh.sp_schooling[got]).all()
    students = np.bincount(
        m.persons.hh, weights=m.persons.stage >= Stage.COMPULSORY, minlength=m.hh.n
    )
    assert (students[got] > 0).all()


def test_housing_makes_unsafe_houses_safe():
    sc = scenario_with({"house": only("housing")})
    m = PovertyModel(sc, strategy="house", seed=8, agents=False)
    unsafe_before = ~m.hh.house_safe.copy()
    m.step()
    got = m.hh.housing_first == 1
    assert got.sum() > 0
    assert unsafe_before[got].mean() > 0.9  # the rest were damaged by this year's disasters
    assert m.hh.house_safe[got].all()


def test_infrastructure_improves_whole_villages():
    sc = scenario_with({"infra": only("infrastructure")})
    m = PovertyModel(sc, strategy="infra", seed=9, agents=False)
    before = m.villages.infrastructure.copy()
    rem_before = m.villages.remoteness.copy()
    m.step()
    better = m.villages.infrastructure > before
    assert better.any()
    assert (m.villages.remoteness[better] < rem_before[better]).all()
    assert m.villages.poor[better].all()
    spent = m.timeseries()["spending_infrastructure"].iloc[1]
    assert spent == pytest.approx(better.sum() * sc.instruments.infrastructure.cost_per_village)


def test_monitoring_helps_only_households_off_the_active_register():
    sc = scenario_with({"mon": only("monitoring")})
    m = PovertyModel(sc, strategy="mon", seed=10, agents=False)
    seen = {}
    apply = m.strategy.apply

    def apply_and_record(model):  # the register as the policy phase sees it
        seen["active"] = (model.hh.status == Status.POOR) | (model.hh.status == Status.RETURNED)
        apply(model)

    m.strategy.apply = apply_and_record
    m.step()
    got = m.hh.monitoring_first == 1
    assert got.sum() > 0
    assert not (got & seen["active"]).any()  # never a household on the active register
    assert m.hh.at_risk[got].all()


def test_dependency_lowers_off_farm_work_only_when_switched_on():
    strategies = {"cash": only("cash_transfer")}
    off = scenario_with(strategies)
    on = scenario_with(
        strategies,
        {"instruments.dependency.enabled": True, "instruments.dependency.elasticity": 0.9},
    )
    a, b = run(off, "cash", seed=11, years=3), run(on, "cash", seed=11, years=3)
    recipients = a.hh.cash_transfer_first >= 0
    work_a = np.isin(a.persons.work, (2, 4)) & recipients[a.persons.hh]
    work_b = np.isin(b.persons.work, (2, 4)) & recipients[b.persons.hh]
    assert work_b.sum() < work_a.sum()


# ---- strategies ---------------------------------------------------------------------------------


def test_common_random_numbers_across_the_four_strategies():
    sc = scenario_with(years=4)
    models = [PovertyModel(sc, strategy=s, seed=12, agents=False) for s in BUILTINS]
    ref = models[0]
    for m in models[1:]:
        assert np.array_equal(m.persons.age, ref.persons.age)
        assert np.array_equal(m.hh.size, ref.hh.size)
        assert np.array_equal(m.hh.home_village, ref.hh.home_village)
    for _ in range(4):
        for m in models:
            m.step()
        for m in models[1:]:
            assert np.array_equal(m.persons.acute, ref.persons.acute)
            assert np.array_equal(m.persons.health, ref.persons.health)
            assert np.array_equal(m.villages.hit, ref.villages.hit)
            assert np.array_equal(m.ent.failed_year, ref.ent.failed_year)


def test_household_frame_records_instruments_and_costs():
    sc = scenario_with()
    m = run(sc, "precision", seed=13)
    df = m.households()
    ts = m.timeseries()
    for inst in INSTRUMENTS:
        for col in (f"{inst}_first", f"{inst}_last", f"{inst}_cost"):
            assert col in df.columns
        assert df[f"{inst}_cost"].sum() == pytest.approx(
            ts[f"spending_{inst}"].sum(), rel=1e-9, abs=1e-6
        )
    assert "enterprise_name" in df.columns
    # a year of waiting is counted at most once a year
    assert df["waiting_years"].between(0, m.year).all()
    assert (df["waiting_years"] > 0).any()  # the budget does not reach everyone


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(min_value=0.0, max_value=3e7),
    strategy=st.sampled_from(BUILTINS[1:]),
    carry=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_spending_never_exceeds_the_money_available(budget, strategy, carry, seed):
    unspent = "carry_over" if carry else "return"
    sc = scenario_with(overrides={"budget.yearly": budget, "budget.unspent": unspent}, years=6)
    m = PovertyModel(sc, strategy=strategy, seed=seed, agents=False)
    carried = 0.0
    for _ in range(6):
        m.step()
        spent = m.timeseries()["spending"].iloc[-1]
        limit = budget + (carried if carry else 0.0)
        assert spent <= limit * (1 + 1e-9) + 1e-6
        carried = limit - spent
        assert m.ledger.available >= -1e-6
    assert (
        not m.timeseries()
        .drop(columns=[f"durability_{k}" for k in range(1, 10)])
        .isna()
        .any()
        .any()
    )


@pytest.mark.slow
def test_transfusion_acts_sooner_and_blood_making_lasts_in_the_county(county_scenario):
    # the support ending at the phase-out is the cliff's (the county's default is the transition)
    cliff = load_scenario(COUNTY_TOML, {"programme.after_phase_out": "cliff"})
    runs = {
        s: PovertyModel(cliff, strategy=s, seed=1, agents=False).run().timeseries()
        for s in ("transfusion", "blood_making")
    }
    t, b = runs["transfusion"], runs["blood_making"]
    assert t["poverty_rate"].iloc[1] < b["poverty_rate"].iloc[1]
    assert b["poverty_rate"].iloc[10] < t["poverty_rate"].iloc[10]
    assert b["mean_assets"].iloc[10] > t["mean_assets"].iloc[10]
    assert t["returns_support_ended"].iloc[5:7].sum() > b["returns_support_ended"].iloc[5:7].sum()
    assert t["spending"].iloc[1:6].sum() <= 5 * county_scenario.budget.yearly + 1e-6


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategies", "fragment"),
    [
        ({"x": {"shares": {"teleport": 1.0}}}, "unknown instrument 'teleport'"),
        ({"x": {"shares": {"cash_transfer": 1.5}}}, "less than or equal to 1"),
        ({"x": {"shares": {"cash_transfer": 0.5, "dibao": 0.2}}}, "must sum to 1"),
        ({"x": {"shares": {"cash_transfer": 1.0}, "phase_out_year": 12}}, "outside the horizon"),
        (
            {"x": {"shares": {"cash_transfer": 1.0}, "params": {"cash_transfer": {"nope": 1}}}},
            "unknown field",
        ),
    ],
)
def test_bad_strategies_are_reported(strategies, fragment):
    with pytest.raises(ConfigError) as exc:
        scenario_with(strategies)
    assert fragment in str(exc.value)
    assert "strategies.x" in str(exc.value)


def test_industry_without_enterprises_is_reported(tmp_path, capsys):
    d = small_data()
    d["enterprises"] = []
    own = {"x": {"shares": {"industry": 1.0}}}
    with pytest.raises(ConfigError) as exc:
        build_scenario({**d, "strategies": own}, "small.toml")
    assert "strategies.x.shares.industry" in str(exc.value) and "no enterprises" in str(exc.value)
    # a built-in strategy that funds industry is refused when it is chosen
    sc = build_scenario(d, "small.toml")
    with pytest.raises(ConfigError, match="no enterprises"):
        PovertyModel(sc, strategy="blood_making", seed=1, agents=False)
    path = tmp_path / "noent.toml"
    path.write_text(SMALL_TOML.split("[[enterprises]]")[0], encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--strategy", "blood_making", "--out", str(out)]) == 2
    assert "no enterprises" in capsys.readouterr().err
    assert not out.exists()


def test_unknown_strategy_on_the_cli_exits_2(small_toml, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(small_toml), "--strategy", "magic", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown strategy 'magic'" in err and "blood_making" in err
    assert not out.exists()


def test_strategies_command_lists_the_builtins(capsys):
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    for s in BUILTINS:
        assert s in out
