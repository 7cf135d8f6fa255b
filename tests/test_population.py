"""Synthetic population: the county's registered counts are reproduced exactly (speech 1), totals
match the scenario, and every household is consistent with its category."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.codes import Category, Health, Stage, Status
from sim.model.households import HOUSEHOLD_FIELDS
from sim.model.population import category_counts, household_sizes, synthesize
from sim.model.rng import Streams


def _synth(sc, seed=1):
    return synthesize(sc, Streams(seed).get("population.households"))


@pytest.fixture(scope="module")
def county(county_scenario):
    villages, hh, persons = _synth(county_scenario, seed=1)
    return county_scenario, villages, hh, persons


def test_county_registered_counts_match_speech_1(county):
    _, villages, hh, _ = county
    assert int(hh.registered.sum()) == 10_750
    assert int(hh.size[hh.registered].sum()) == 34_677
    assert category_counts(hh) == {
        "industry": 3_219,
        "relocation": 183,
        "medical": 3_090,
        "education": 300,
        "dibao": 3_958,
    }
    assert int(hh.size[hh.category == Category.MEDICAL].sum()) == 10_676
    n_v = 180
    assert int(villages.poor[:n_v].sum()) == 98
    # resettlement sites come after the villages and are neither poor nor inhabited at year 0
    assert villages.n == n_v + 2
    assert villages.site[n_v:].all() and not villages.poor[n_v:].any()
    assert not villages.site[:n_v].any()
    assert hh.village.max() < n_v


def test_county_totals(county):
    sc, _, hh, persons = county
    assert hh.n == sc.population.households == 40_000
    assert int(hh.size.sum()) == persons.n == sc.population.people == 133_000
    np.testing.assert_array_equal(np.bincount(persons.hh, minlength=hh.n), hh.size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_counts_exact_for_any_seed(seed):
    sc = small_scenario()
    villages, hh, persons = _synth(sc, seed)
    assert hh.n == 2000 and persons.n == int(hh.size.sum()) == 6600
    assert int(hh.registered.sum()) == 500
    assert int(hh.size[hh.registered].sum()) == 1600
    assert category_counts(hh) == {
        "industry": 150,
        "relocation": 10,
        "medical": 140,
        "education": 20,
        "dibao": 180,
    }
    assert int(hh.size[hh.category == Category.MEDICAL].sum()) == 480
    assert int(villages.poor.sum()) == 10


def test_derived_category_people_follow_size_weights(county):
    """Categories without a person count share the rest by size_weight: dibao households (0.8)
    are smaller than education households (1.25)."""
    _, _, hh, _ = county
    mean = {c: hh.size[hh.category == c].mean() for c in (0, 1, 3, 4)}
    assert mean[Category.DIBAO] < mean[Category.INDUSTRY] < mean[Category.EDUCATION]
    derived = hh.size[np.isin(hh.category, [0, 1, 3, 4])].sum()
    assert derived == 34_677 - 10_676


def test_categories_and_status(county):
    sc, _, hh, _ = county
    reg = hh.registered
    assert (hh.category[reg] >= 0).all()
    assert (hh.category[~reg] == -1).all()
    assert (hh.status[reg] == Status.POOR).all()
    assert (hh.status[~reg] == Status.NEVER).all()
    assert (hh.registered_year[reg] == 0).all() and (hh.registered_year[~reg] == -1).all()
    assert (hh.size >= 1).all()
    assert (hh.size <= sc.population.max_household_size).all()


def test_household_members_match_category(county):
    _, villages, hh, persons = county
    n = hh.n
    sick = np.bincount(persons.hh, weights=persons.health != Health.HEALTHY, minlength=n) > 0
    assert sick[hh.category == Category.MEDICAL].all()
    # relocation households live in the most remote and disaster-prone fifth of the villages
    score = villages.remoteness[:180] + 5 * villages.disaster_risk[:180]
    worst = set(np.argsort(-score)[:36].tolist())
    assert set(hh.village[hh.category == Category.RELOCATION].tolist()) <= worst
    # ages within the bands
    assert persons.age.min() >= 0 and persons.age.max() <= 85
    # money starts non-negative
    for name in ("assets", "savings", "debt", "land"):
        assert (getattr(hh, name) >= 0).all(), name


def test_every_education_household_has_a_student(county):
    _, _, hh, persons = county
    student = np.bincount(persons.hh, weights=persons.stage >= Stage.HIGH, minlength=hh.n) > 0
    assert student[hh.category == Category.EDUCATION].all()


def test_never_set_years_start_at_minus_one(county):
    """Every "year ..., -1 never" and "first/last year ... received" field starts at -1."""
    _, _, hh, _ = county
    names = [
        name
        for name, (_, doc) in HOUSEHOLD_FIELDS.items()
        if "-1 never" in doc and name not in ("registered_year", "link_year")
    ]
    assert "enterprise_lost_year" in names and "exit_year" in names
    for name in names:
        assert (getattr(hh, name) == -1).all(), name
    # initial links date from before year 0
    assert (hh.link_year[hh.enterprise >= 0] < 0).all()
    assert (hh.link_year[hh.enterprise < 0] == -1).all()


# ---- household_sizes ---------------------------------------------------------------------------


@st.composite
def size_problems(draw):
    households = draw(st.integers(1, 300))
    max_size = draw(st.integers(1, 12))
    people = draw(st.integers(households, households * max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    return households, people, max_size, seed


@settings(max_examples=200, deadline=None)
@given(size_problems())
def test_household_sizes_property(problem):
    households, people, max_size, seed = problem
    sizes = household_sizes(households, people, max_size, np.random.default_rng(seed))
    assert sizes.shape == (households,)
    assert np.issubdtype(sizes.dtype, np.integer)
    assert int(sizes.sum()) == people
    assert sizes.min() >= 1
    assert sizes.max() <= max_size


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50), st.integers(1, 9), st.integers(0, 1000))
def test_household_sizes_reject_impossible(households, max_size, seed):
    rng = np.random.default_rng(seed)
    with pytest.raises(ValueError):
        household_sizes(households, households - 1, max_size, rng)
    with pytest.raises(ValueError):
        household_sizes(households, households * max_size + 1, max_size, rng)


def test_household_sizes_tight():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(household_sizes(1000, 9000, 9, rng), np.full(1000, 9))
    np.testing.assert_array_equal(household_sizes(7, 7, 9, rng), np.ones(7))
    assert household_sizes(0, 0, 9, rng).shape == (0,)


def test_household_sizes_zero_households_with_people():
    with pytest.raises(ValueError):
        household_sizes(0, 5, 9, np.random.default_rng(0))
