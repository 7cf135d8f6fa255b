"""Invariants that hold in every year of every run, checked over random valid parameter draws."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.codes import Status
from sim.model.households import HOUSEHOLD_FIELDS
from sim.model.outputs import TRIGGERS
from sim.model.register import BEFORE
from sim.policies import available

MONEY = ("assets", "savings", "debt", "medical_cost", "sp_medical", "sp_schooling")
COUNTS = ("size", "returns", "labour_units")
LOSSES = ("loss_illness", "loss_disaster", "loss_enterprise", "loss_market")
# floating-point slack for money that is reduced by subtraction (debt: see test_debt_never_negative)
EPS = 1e-6

overrides_strategy = st.fixed_dictionaries(
    {
        "shocks.illness.incidence": st.floats(0.0, 0.6),
        "shocks.disaster.risk_multiplier": st.floats(0.0, 20.0),
        "shocks.enterprise.failure_multiplier": st.floats(0.0, 30.0),
        "identification.exclusion_error": st.floats(0.0, 1.0),
        "economy.assets.trap": st.booleans(),
    }
)


def check_year(model, prev_active: np.ndarray, prev_row: dict | None) -> None:
    """Invariants of the state at the end of one year."""
    sc = model.scenario
    hh, p = model.hh, model.persons
    year = model.year
    row = model.rows[-1]
    # people are conserved: households, persons table and scenario agree
    assert int(hh.size.sum()) == p.n == sc.population.people
    np.testing.assert_array_equal(np.bincount(p.hh, minlength=hh.n), hh.size)
    assert hh.n == sc.population.households
    assert row["people"] == sc.population.people and row["households"] == hh.n
    # no NaN in the numeric household state
    for name, (dtype, _) in HOUSEHOLD_FIELDS.items():
        if dtype == "float64":
            assert np.isfinite(getattr(hh, name)).all(), (year, name)
    assert np.isfinite(p.skill).all()
    # no negative money or counts
    for name in MONEY:
        assert (getattr(hh, name) >= -EPS).all(), (year, name, getattr(hh, name).min())
    for name in ("assets", "savings", "medical_cost"):
        assert (getattr(hh, name) >= 0).all(), (year, name)
    for name in COUNTS + LOSSES:
        assert (getattr(hh, name) >= 0).all(), (year, name)
    assert (hh.size >= 1).all()
    assert (p.age >= 0).all()
    # the register
    reg = hh.registered
    assert (hh.category[reg] >= 0).all(), "registered household without a category"
    assert (hh.category[~reg] == -1).all()
    assert (hh.status[~reg] == Status.NEVER).all()
    assert (hh.status[reg] != Status.NEVER).all()
    assert ((hh.registered_year != -1) == reg).all()  # -2: registered before the base year
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    # enterprises and links
    assert (hh.enterprise < model.ent.n).all()
    counts = np.bincount(hh.enterprise[hh.enterprise >= 0], minlength=model.ent.n)
    assert (counts <= model.ent.capacity).all()
    if prev_row is None:
        return
    # flows between years
    assert row["exits"] <= prev_row["registered_households"] + row["newly_registered"]
    assert row["returns"] <= prev_row["exited_now"]
    assert row["registered_households"] == (
        prev_row["registered_households"]
        + row["newly_registered"]
        - row["exits"]
        + row["returns"]
        - row["register_removed"]  # the re-check's removals are not exits
    )
    assert row["exited_now"] == prev_row["exited_now"] + row["exits"] - row["returns"]
    assert row["exited_cumulative"] == prev_row["exited_cumulative"] + row["exits"]
    assert row["returns_cumulative"] == prev_row["returns_cumulative"] + row["returns"]
    assert sum(row[f"returns_{t}"] for t in TRIGGERS) == row["returns"]
    assert row["registered_households"] == int(active.sum())
    # who exits this year was on the register last year, or was registered this year
    exited = hh.exit_year == year
    assert (prev_active | (hh.registered_year == year))[exited].all()
    # who returns this year had exited before
    returned = hh.return_year == year
    before = hh.registered_year == BEFORE  # exited before the base year (exited_before)
    assert ((hh.first_exit_year >= 0) | before)[returned].all()
    assert (hh.first_exit_year[returned] < year).all()


def check_timeseries(ts, registered0: int) -> None:
    numeric = ts.select_dtypes("number")
    assert numeric.shape[1] == ts.shape[1]
    # durability_k is documented as NaN while no household exited at least k years ago
    defined = numeric.drop(columns=[c for c in numeric.columns if c.startswith("durability_")])
    assert not defined.isna().any().any(), defined.columns[defined.isna().any()].tolist()
    assert np.isfinite(defined.to_numpy()).all()
    durability = numeric.filter(like="durability_")
    assert ((durability >= 0) & (durability <= 1) | durability.isna()).all().all()
    # everything but incomes is a count, a share or money spent
    nonneg = [c for c in ts.columns if "income" not in c and not c.startswith("durability_")]
    assert (ts[nonneg] >= 0).all().all()
    # (poverty_gap and poverty_severity: see test_fgt_measures_are_shares_of_the_line)
    for col in ("poverty_rate", "gini", "above_asset_threshold", "transfer_share"):
        assert ts[col].between(0, 1).all(), col
    for col in ("medical_oop_share", "medical_oop_share_registered", "catastrophic_health_share"):
        assert ts[col].between(0, 1).all(), col
    assert (ts["poor_people"] <= ts["people"]).all()
    assert (ts["registered_households"] <= ts["households"]).all()
    assert (
        ts["exits"].iloc[1:].to_numpy() <= ts["registered_households"].iloc[:-1].to_numpy()
    ).all()
    assert ts["registered_households"].iloc[0] == registered0
    assert (ts["ever_exited"].diff().iloc[1:] >= 0).all()
    assert (ts["ever_exited"] <= ts["exited_cumulative"]).all()


def run_checked(overrides: dict, seed: int, years: int = 5, strategy: str = "status_quo"):
    model = small_model(overrides, seed=seed, strategy=strategy)
    active = (model.hh.status == Status.POOR) | (model.hh.status == Status.RETURNED)
    check_year(model, active, None)
    for _ in range(years):
        prev_row = model.rows[-1]
        model.step()
        check_year(model, active, prev_row)
        active = (model.hh.status == Status.POOR) | (model.hh.status == Status.RETURNED)
    check_timeseries(model.timeseries(), 500)
    df = model.households()
    numeric = df.select_dtypes("number")
    assert not numeric.isna().any().any()
    return model


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    overrides=overrides_strategy,
    seed=st.integers(0, 2**31 - 1),
    strategy=st.sampled_from(sorted(available())),
)
def test_invariants_over_random_parameters(overrides, seed, strategy):
    run_checked(overrides, seed, strategy=strategy)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"shocks.illness.incidence": 0.0, "shocks.disaster.risk_multiplier": 0.0},
        {"shocks.disaster.risk_multiplier": 1000.0, "shocks.enterprise.failure_multiplier": 100.0},
        {"identification.exclusion_error": 1.0, "identification.inclusion_error": 0.0},
        {"identification.exclusion_error": 0.0, "identification.new_registration_cap": 1.0},
        {"economy.assets.trap": False, "shocks.illness.enabled": False},
    ],
    ids=[
        "defaults",
        "no-shocks",
        "extreme-shocks",
        "nobody-registered",
        "everyone-registered",
        "flat",
    ],
)
def test_invariants_at_the_edges(overrides):
    run_checked(overrides, seed=11, years=5)


def test_exclusion_error_one_registers_only_by_inclusion():
    m = small_model(
        {"identification.exclusion_error": 1.0, "identification.inclusion_error": 0.0}, seed=2
    ).run()
    ts = m.timeseries()
    assert (ts["newly_registered"] == 0).all()
    assert int(m.hh.registered.sum()) == 500


def test_registration_cap_holds():
    m = small_model({"identification.new_registration_cap": 0.01}, seed=2).run()
    assert (m.timeseries()["newly_registered"] <= 5).all()  # 1% of 500


def test_debt_never_negative():
    m = small_model(seed=0)
    for _ in range(5):
        m.step()
        assert (m.hh.debt >= 0).all(), m.hh.debt.min()
        assert (m.hh.sp_debt_service >= 0).all()


def test_fgt_measures_are_shares_of_the_line(small_run):
    ts = small_run.timeseries()
    assert ts["poverty_gap"].between(0, 1).all()
    assert ts["poverty_severity"].between(0, 1).all()
    assert (ts["poverty_severity"] <= ts["poverty_gap"]).all()
    assert (ts["poverty_gap"] <= ts["poverty_rate"]).all()


@pytest.mark.slow
def test_county_run_invariants():
    """The full county over its ten years (about a second)."""
    from sim.model import PovertyModel

    model = PovertyModel(seed=5, agents=False)
    active = (model.hh.status == Status.POOR) | (model.hh.status == Status.RETURNED)
    check_year(model, active, None)
    for _ in range(model.years):
        prev_row = model.rows[-1]
        model.step()
        check_year(model, active, prev_row)
        active = (model.hh.status == Status.POOR) | (model.hh.status == Status.RETURNED)
    ts = model.timeseries()
    check_timeseries(ts, 10_750)
    assert len(ts) == 11
    # the programme-free county still sees exits and returns
    assert ts["exits"].sum() > 0 and ts["returns"].sum() > 0
