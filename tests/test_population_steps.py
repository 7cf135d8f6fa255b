"""The steps of population synthesis, each alone: villages, sizes, placement, ages, labour capacity,
health, schooling, skill, economy, causes; and that ``synthesize`` is those steps in order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_scenario

from sim.model import population as pop
from sim.model.codes import Category, Cause, Health, Stage


def rng(seed=1):
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def sc():
    return small_scenario()


@pytest.fixture(scope="module")
def drawn(sc):
    """Every step's output for the small scenario, drawn in synthesis order from one generator."""
    g = rng()
    villages = pop.build_villages(sc, g)
    size, category = pop.draw_sizes(sc, pop.household_groups(sc), g)
    village = pop.place_households(sc, villages, category, g)
    persons, members, no_labour, ill_secondary = pop.draw_persons(sc, size, category, g)
    return dict(
        villages=villages,
        size=size,
        category=category,
        village=village,
        persons=persons,
        members=members,
        no_labour=no_labour,
        ill_secondary=ill_secondary,
        rng=g,
    )


def test_synthesize_is_the_steps_in_order(sc, drawn):
    villages, hh, persons = pop.synthesize(sc, rng())
    np.testing.assert_array_equal(villages.remoteness, drawn["villages"].remoteness)
    np.testing.assert_array_equal(hh.size, drawn["size"])
    np.testing.assert_array_equal(hh.village, drawn["village"])
    for name in ("age", "health", "stage", "edu_years", "skill", "work_propensity"):
        np.testing.assert_array_equal(getattr(persons, name), getattr(drawn["persons"], name))


def test_household_groups_reproduce_the_totals(sc):
    groups = pop.household_groups(sc)
    p = sc.population
    assert [g[0] for g in groups] == [0, 1, 2, 3, 4, int(Category.NONE)]
    assert sum(g[1] for g in groups) == p.households
    assert sum(g[2] for g in groups) == p.people
    assert sum(g[2] for g in groups[:-1]) == p.registered.people


def test_draw_sizes_exact_per_group(sc):
    groups = pop.household_groups(sc)
    size, category = pop.draw_sizes(sc, groups, rng())
    assert size.min() >= 1 and size.max() <= sc.population.max_household_size
    for code, n_h, n_p in groups:
        assert (category == code).sum() == n_h
        assert size[category == code].sum() == n_p


def test_build_villages_sites_and_poor(sc):
    v = pop.build_villages(sc, rng())
    n = sc.villages.count
    assert v.poor[:n].sum() == sc.villages.poor
    assert v.site[n:].all() and (v.remoteness[n:] == pop.SITE_REMOTENESS).all()


@pytest.mark.parametrize("share", [0.2, 1.0])
def test_relocation_households_live_in_the_worst_villages(sc, drawn, share):
    s = small_scenario({"population.relocation_village_share": share})
    v, category = drawn["villages"], drawn["category"]
    village = pop.place_households(s, v, category, rng(3))
    n_v = s.villages.count
    w = s.population.relocation_disaster_weight
    worst = np.argsort(-(v.remoteness[:n_v] + w * v.disaster_risk[:n_v]))[: int(n_v * share)]
    assert np.isin(village[category == Category.RELOCATION], worst).all()
    registered = category >= 0
    in_poor = v.poor[village[registered & (category != Category.RELOCATION)]].mean()
    assert abs(in_poor - s.villages.registered_in_poor_villages) < 0.1


def test_draw_ages_heads_adults_and_students(sc, drawn):
    m = pop.draw_ages(sc, drawn["size"], drawn["category"], rng(2))
    head = m.rank == 0
    head[m.student] = False  # a one-person education household's head is its student
    heads = m.age[head]
    assert heads.min() >= pop.HEAD_AGE_MIN
    assert ((m.age[m.student] >= 15) & (m.age[m.student] <= 21)).all()
    assert m.age.min() >= 0 and m.age.max() < sc.population.age.band_edges[-1]


@pytest.mark.parametrize("elderly", [0.0, 1.0])
def test_labour_capacity_converts_working_age_members(drawn, elderly):
    s = small_scenario({"population.labour.no_labour_elderly_share": elderly})
    m = pop.draw_ages(s, drawn["size"], drawn["category"], rng(2))
    before = m.age.copy()
    no_labour, to_disabled = pop.labour_capacity(s, m, drawn["category"], rng(4))
    assert not no_labour[drawn["category"] == Category.EDUCATION].any()
    lab = s.population.labour
    converted = (
        no_labour[m.hh_of] & (before >= lab.working_age_min) & (before <= lab.working_age_max)
    )
    assert converted.any()
    if elderly == 1.0:
        assert not to_disabled.any() and (m.age[converted] >= 65).all()
    else:
        np.testing.assert_array_equal(to_disabled, converted)
        np.testing.assert_array_equal(m.age, before)


def test_draw_health_gives_medical_households_a_sick_member(sc, drawn):
    m, category = drawn["members"], drawn["category"]
    health, ill_secondary = pop.draw_health(sc, m, category, np.zeros(len(m.age), bool), rng(5))
    sick = np.bincount(m.hh_of, weights=health > 0, minlength=len(category)) > 0
    assert sick[(category == Category.MEDICAL) | ill_secondary].all()
    assert not ill_secondary[category < 0].any()
    # chronic illness only from CHRONIC_AGE_MIN, unless a medical household needed a sick member
    young = (health == Health.CHRONIC) & (m.age < pop.CHRONIC_AGE_MIN)
    assert young.sum() <= ((category == Category.MEDICAL) | ill_secondary).sum()


def test_draw_schooling_stages_follow_ages(sc, drawn):
    m, health = drawn["members"], drawn["persons"].health
    stage, edu = pop.draw_schooling(sc, m, health, rng(6))
    age = m.age
    able = health != Health.DISABLED  # disabled children are out of school except compulsory
    assert (stage[(age >= 3) & (age <= 5) & able] == Stage.PRESCHOOL).all()
    assert ((age[stage == Stage.COMPULSORY] >= 6) & (age[stage == Stage.COMPULSORY] <= 14)).all()
    assert np.isin(stage[m.student], [Stage.HIGH, Stage.UNIVERSITY]).all()
    assert edu.min() >= 0 and edu.max() <= pop.MAX_EDU_YEARS
    out_youth = (age >= 15) & (age <= 21) & (stage == Stage.NONE)
    assert (edu[out_youth] <= pop.COMPULSORY_YEARS).all()


def test_adult_schooling_means_are_parameters(drawn):
    m, health = drawn["members"], drawn["persons"].health
    means = []
    for years in (4.0, 10.0):
        s = small_scenario({"population.schooling.adult_years": [6.0, years]})
        _, edu = pop.draw_schooling(s, m, health, rng(6))
        means.append(edu[(m.age >= 22) & (m.age < 40) & ~m.registered].mean())
    assert means[1] - means[0] > 5.0


def test_draw_skill_adds_schooling(sc, drawn):
    m, edu = drawn["members"], drawn["persons"].edu_years.astype(np.int64)
    base, skill = pop.draw_skill(sc, m, edu, rng(7))
    assert (base > 0).all() and (skill >= base).all()
    assert (skill[edu >= 15] >= base[edu >= 15] + sc.population.schooling.university_skill).all()


def test_draw_economy_means_and_dibao(sc, drawn):
    size, category = drawn["size"], drawn["category"]
    registered = category >= 0
    needs_sick = category == Category.MEDICAL
    no_labour = drawn["no_labour"]
    eco = pop.draw_economy(
        sc, size, registered, needs_sick, no_labour, np.zeros(len(size), bool), rng(8)
    )
    land_pp = eco["land"].sum() / size.sum()
    assert abs(land_pp / sc.economy.land_per_person - 1) < 0.05
    assert (eco["debt"][~needs_sick] == 0).all() and (eco["debt"][needs_sick] > 0).all()
    assert not (eco["dibao"] & registered & ~no_labour).any()


def test_draw_causes_shares_and_thresholds(drawn):
    s = small_scenario({"population.causes.disaster_risk_threshold": 0.0})
    category = drawn["category"]
    args = (category, drawn["no_labour"], drawn["ill_secondary"], drawn["persons"])
    primary, causes = pop.draw_causes(s, *args, drawn["villages"], drawn["village"], rng(9))
    registered = category >= 0
    assert ((causes[registered] & Cause.DISASTER) > 0).all()
    assert (causes[~registered] == 0).all() and (causes & primary == primary).all()
    ind = primary[category == Category.INDUSTRY]
    c = s.population.causes
    assert abs((ind == Cause.LACK_CAPITAL).mean() - c.industry_lack_capital) < 0.1
    assert abs((ind == Cause.LACK_SKILL).mean() - c.industry_lack_skill) < 0.1
