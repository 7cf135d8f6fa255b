"""Errors of the register's record (docs/ODD.md §7.6): duplicate listings (重报) inflate the
office's counts and cost money that reaches nobody; a category moved for funding (乱归类) makes
cause-matched targeting serve the wrong instrument. At rate 0 nothing changes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_model

from sim.config import ConfigError
from sim.model.codes import INSTRUMENTS, Category, Cause, Status
from sim.policies import base, registry

DUP = {"identification.duplicate_rate": 0.3, "identification.duplicate_detection": 0.0}
MOVE = {"identification.reclassify_share": 1.0}  # every medical registration moved to industry
NEW = (
    "reported_registered_households",
    "reported_registered_people",
    "duplicate_listings",
    "spending_duplicates",
    "misclassified_households",
    "misclassified_served_true",
    "misclassified_served_recorded",
)


def _main_match(self, model, instrument):
    """The rule before the record existed: true causes, a guarantee for every household."""
    flags = self.instruments[instrument].cause_match if self.match_causes else None
    if flags is None:
        return np.ones(model.hh.n, dtype=bool)
    return (model.hh.causes & flags) != 0


@pytest.mark.parametrize("targeting", ["poorest_first", "category_first"])
def test_rate_zero_changes_nothing(monkeypatch, targeting):
    """With the defaults (no duplicates, nothing moved) the run is the one whose targeting reads
    the true causes and category and pays every household once (the rules before the record)."""
    over = {"programme.targeting": targeting}
    got = small_model(over, strategy="precision").run()
    hh = got.hh
    np.testing.assert_array_equal(hh.recorded_category, hh.category)
    np.testing.assert_array_equal(hh.recorded_causes, hh.causes)
    np.testing.assert_array_equal(hh.listed, hh.registered.astype(np.int8))
    ts = got.timeseries()
    assert (ts.reported_registered_households == ts.registered_households).all()
    assert (ts.reported_registered_people == ts.registered_people).all()
    assert (ts[["duplicate_listings", "spending_duplicates", "misclassified_households"]] == 0).all(
        axis=None
    )

    monkeypatch.setattr(base.Context, "match", _main_match)
    monkeypatch.setattr(base, "PAID_PER_LISTING", frozenset())
    ref = small_model(over, strategy="precision")
    ref.hh.recorded_category = ref.hh.category  # the record is the truth, whatever is written
    ref.hh.recorded_causes = ref.hh.causes
    ref.run()
    assert ts.drop(columns=list(NEW)).equals(ref.timeseries().drop(columns=list(NEW)))


def test_duplicates_inflate_counts_and_cost_but_not_the_register():
    """A duplicate listing is counted and paid by the instruments that pay per listing; the true
    register, and what each household receives, are those of the run without duplicates."""
    a = small_model(DUP, strategy="transfusion")
    b = small_model({}, strategy="transfusion")
    twice = a.hh.listed == 2
    n_reg = int(a.hh.registered.sum())
    assert 0.2 * n_reg < twice.sum() < 0.4 * n_reg  # 30% of the year-0 listings
    np.testing.assert_array_equal(a.hh.registered, b.hh.registered)
    a0, b0 = a.timeseries().iloc[0], b.timeseries().iloc[0]
    assert a0.registered_households == b0.registered_households == n_reg
    assert a0.reported_registered_households == n_reg + twice.sum()
    assert a0.reported_registered_people == b0.registered_people + a.hh.size[twice].sum()
    a.step()
    b.step()
    hh, row = a.hh, a.rows[-1]
    paid = {i: getattr(hh, f"{i}_cost") for i in INSTRUMENTS}
    per_listing = sum(paid[i] for i in base.PAID_PER_LISTING)
    dup = hh.listed == 2
    # a duplicate is paid what its household was paid, by the per-listing instruments only
    assert row["spending_duplicates"] > 0.1 * row["spending"]
    np.testing.assert_allclose(hh.duplicate_cost[dup], per_listing[dup])
    assert (hh.duplicate_cost[~dup] == 0).all()
    assert row["spending_duplicates"] == pytest.approx(hh.duplicate_cost.sum())
    # the ledger holds both; the budget does not bind, so the duplicates cost more and help
    # nobody: what reaches households is what it is without them
    reached_a = sum(p.sum() for p in paid.values())
    reached_b = sum(getattr(b.hh, f"{i}_cost").sum() for i in INSTRUMENTS)
    assert row["spending"] == pytest.approx(reached_a + hh.duplicate_cost.sum())
    assert row["spending"] == pytest.approx(b.rows[-1]["spending"] + row["spending_duplicates"])
    assert reached_a == pytest.approx(reached_b)
    # a household is helped once: every household gets what it gets without duplicates
    assert (a.effects.transfers[dup & (hh.cash_transfer_last == 1)] > 0).sum() > 10
    np.testing.assert_allclose(a.effects.transfers, b.effects.transfers)


def test_found_duplicates_leave_the_register_counts():
    """The yearly check removes the duplicates it finds; exits take theirs with them."""
    m = small_model({**DUP, "identification.duplicate_detection": 0.5}, strategy="precision").run()
    ts = m.timeseries()
    assert ts.duplicate_listings.iloc[0] > 100
    assert ts.duplicate_listings.iloc[-1] < 0.2 * ts.duplicate_listings.iloc[0]
    # an exit's household visit finds the duplicate (the next year's check removes it)
    before = (m.hh.status == Status.EXITED) & (m.hh.exit_year < m.year)
    assert before.sum() > 100
    assert (m.hh.listed[before] == 1).all()


def _run_collecting(overrides: dict, years: int = 5):
    """Precision on the small county; out-of-pocket medical cost and catastrophic years per
    household, summed over the years."""
    m = small_model(overrides, strategy="precision")
    oop = np.zeros(m.hh.n)
    catastrophic = np.zeros(m.hh.n)
    share = m.scenario.shocks.insurance.catastrophic_share
    for _ in range(years):
        m.step()
        oop += m.hh.sp_medical
        catastrophic += m.hh.sp_medical > share * np.maximum(m.hh.net_income, 1.0)
    return m, oop, catastrophic


def test_reclassified_medical_households_get_industry_instead_of_medical_aid():
    """Under precision (cause matching) a medical household recorded as industry is matched to
    industry support and its plan loses medical aid; the same households with a true record get
    medical aid and less industry support; their medical bills weigh more."""
    a, oop_a, cat_a = _run_collecting(MOVE)
    b, oop_b, cat_b = _run_collecting({})
    moved = (a.hh.category == Category.MEDICAL) & (a.hh.registered_year == 0)
    assert moved.sum() == 140
    assert (a.hh.recorded_category[moved] == Category.INDUSTRY).all()
    assert not (a.hh.recorded_causes[moved] & Cause.ILLNESS).any()
    assert (a.hh.causes[moved] & Cause.ILLNESS).all()  # the truth is kept
    np.testing.assert_array_equal(b.hh.recorded_category[moved], Category.MEDICAL)
    med_a, med_b = a.hh.medical_aid_cost[moved].sum(), b.hh.medical_aid_cost[moved].sum()
    ind_a, ind_b = a.hh.industry_cost[moved].sum(), b.hh.industry_cost[moved].sum()
    assert med_b > 0 and med_a < 0.2 * med_b
    assert ind_a > 1.5 * ind_b
    assert (a.hh.industry_first[moved] >= 0).sum() > (b.hh.industry_first[moved] >= 0).sum() + 10
    # illness: more out of pocket, more years of catastrophic health spending
    assert oop_a[moved].mean() > 1.1 * oop_b[moved].mean()
    assert cat_a[moved].sum() > cat_b[moved].sum()
    # the columns show it: misclassified households, served by the recorded category's instrument
    ts = a.timeseries()
    assert ts.misclassified_households.iloc[0] == 140
    assert ts.misclassified_served_recorded.iloc[1:].sum() > 0
    assert (
        ts.misclassified_served_true.iloc[1:].sum()
        < ts.misclassified_served_recorded.iloc[1:].sum()
    )
    assert (b.timeseries().misclassified_households == 0).all()


def test_category_first_serves_the_recorded_category_first():
    """With category-first targeting the medical-aid queue puts recorded medical households first,
    so moved households wait behind them."""
    over = {**MOVE, "programme.targeting": "category_first", "identification.reclassify_share": 0.5}
    m = small_model(over, strategy="precision")
    m.step()
    hh = m.hh
    ctx = base.Context(
        params=m.strategy.params,
        programme=base.programme_households(m, 3),
        targeting="category_first",
        match_causes=False,
        random_key=None,
        instruments=registry.instruments(),
    )
    queue = ctx.order(m, ctx.programme, "medical_aid")
    rec = hh.recorded_category[queue] == Category.MEDICAL
    moved = (hh.category[queue] == Category.MEDICAL) & ~rec
    assert moved.any() and rec.any()
    assert np.flatnonzero(rec).max() < np.flatnonzero(moved).min()


@pytest.mark.parametrize(
    "over, words",
    [
        ({"identification.duplicate_rate": 1.5}, ["duplicate_rate"]),
        ({"identification.duplicate_detection": -0.1}, ["duplicate_detection"]),
        ({"identification.reclassify_share": 2.0}, ["reclassify_share"]),
        ({"identification.reclassify_from": "hospital"}, ["reclassify_from", "medical"]),
        (
            {"identification.reclassify_share": 0.3, "identification.reclassify_to": "medical"},
            ["reclassify_from", "another category"],
        ),
    ],
)
def test_bad_values_are_config_errors(over, words):
    with pytest.raises(ConfigError) as err:
        small_model(over)
    text = str(err.value)
    assert all(w in text for w in words), text


def test_duplicates_crowd_out_households_when_the_budget_binds():
    """With a budget that binds, the money paid to duplicates is taken from households."""
    tight = {"budget.yearly": 2_000_000.0}
    a = small_model({**DUP, **tight}, strategy="transfusion")
    b = small_model(tight, strategy="transfusion")
    a.step()
    b.step()
    ra, rb = a.rows[-1], b.rows[-1]
    assert ra["spending"] == pytest.approx(rb["spending"], rel=1e-3)
    reached_a = sum(getattr(a.hh, f"{i}_cost").sum() for i in INSTRUMENTS)
    reached_b = sum(getattr(b.hh, f"{i}_cost").sum() for i in INSTRUMENTS)
    assert ra["spending_duplicates"] > 0.1 * ra["spending"]
    assert reached_a == pytest.approx(reached_b - ra["spending_duplicates"], rel=1e-3)
    assert ra["waiting_households"] > rb["waiting_households"]


def test_recheck_adds_the_missed_and_removes_the_misidentified():
    """The re-check (回头看) year registers up to recheck_cap of the year-0 register (the poorest
    missed first) and takes off the active households measured at or above twice the line; the
    removed are not exits; other years keep the yearly cap; recheck_year 0 leaves all as before."""
    base_year = small_model().scenario.meta.base_year
    on = {"identification.recheck_year": base_year + 1, "identification.recheck_cap": 0.3}
    ref = small_model()
    ref.step()
    m = small_model(on)
    hh = m.hh
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    line_prev = m.line(0)
    misidentified = np.flatnonzero(active & (hh.measured_pc >= 2.0 * line_prev))
    assert len(misidentified) > 0  # the small county has some to remove
    m.step()
    ts, ts_ref = m.timeseries(), ref.timeseries()
    assert ts.register_removed.iloc[1] == len(misidentified)
    assert not hh.registered[misidentified].any()
    assert (hh.status[misidentified] == Status.NEVER).all()
    assert (
        ts.register_exits.iloc[1]
        == ts_ref.register_exits.iloc[1]
        - np.isin(np.flatnonzero(ref.hh.exit_year == 1), misidentified).sum()
    )
    cap = int(round(0.3 * m.initial_registered))
    yearly = int(round(m.scenario.identification.new_registration_cap * m.initial_registered))
    assert ts_ref.newly_registered.iloc[1] <= yearly < ts.newly_registered.iloc[1] <= cap
    m.step()
    assert m.timeseries().newly_registered.iloc[2] <= yearly
    assert m.timeseries().register_removed.iloc[2] == 0
    assert (ts_ref.register_removed == 0).all()
