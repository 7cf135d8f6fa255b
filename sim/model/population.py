"""Synthetic villages, households and persons that reproduce a scenario's counts.

Registered households, their people and their primary-cause categories are reproduced *exactly*
(speech 1's county: 10,750 households, 34,677 people, 3,219 industry, 3,090 medical households with
10,676 people, ...). Everything else matches the scenario's marginals in expectation.
Household composition is drawn person by person from age bands, then made consistent with the
household's category: dibao households mostly have no labour, education households have a student,
medical households have a chronically ill or disabled member.
"""

from __future__ import annotations

import numpy as np

from sim.config import CATEGORIES, Scenario
from sim.model.codes import CATEGORY_NAMES, INSTRUMENTS, Category, Cause, Health, Stage, Status
from sim.model.households import HouseholdTable, PersonTable, VillageTable


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    short = total - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def household_sizes(
    households: int, people: int, max_size: int, rng: np.random.Generator
) -> np.ndarray:
    """Sizes >= 1 and <= max_size that sum exactly to ``people``."""
    if households == 0:
        if people:
            raise ValueError(f"cannot put {people} people in 0 households")
        return np.zeros(0, dtype=np.int64)
    if people < households or people > households * max_size:
        raise ValueError(f"cannot put {people} people in {households} households")
    sizes = 1 + rng.multinomial(people - households, np.full(households, 1.0 / households))
    for _ in range(100):
        over = np.maximum(sizes - max_size, 0)
        excess = int(over.sum())
        if excess == 0:
            break
        sizes -= over
        room = max_size - sizes
        sizes += rng.multinomial(excess, room / room.sum())
    return sizes.astype(np.int64)


def build_villages(sc: Scenario, rng: np.random.Generator) -> VillageTable:
    v = sc.villages
    n, n_sites = v.count, v.resettlement_sites
    t = VillageTable(n + n_sites)
    poor = np.zeros(n, dtype=bool)
    poor[rng.choice(n, size=v.poor, replace=False)] = True
    rem = np.where(
        poor,
        rng.beta(*v.remoteness_poor, size=n),
        rng.beta(*v.remoteness_other, size=n),
    )
    u = rng.random(n)
    lo_r = np.where(poor, v.disaster_risk_poor[0], v.disaster_risk_other[0])
    hi_r = np.where(poor, v.disaster_risk_poor[1], v.disaster_risk_other[1])
    risk = lo_r + (hi_r - lo_r) * (0.5 * u + 0.5 * rem)
    u = rng.random(n)
    lo_i = np.where(poor, v.infrastructure_poor[0], v.infrastructure_other[0])
    hi_i = np.where(poor, v.infrastructure_poor[1], v.infrastructure_other[1])
    infra = hi_i - (hi_i - lo_i) * (0.5 * u + 0.5 * rem)
    prod = rng.uniform(v.land_productivity[0], v.land_productivity[1], size=n)
    t.remoteness[:n], t.disaster_risk[:n], t.infrastructure[:n] = rem, risk, infra
    t.land_productivity[:n], t.poor[:n] = prod, poor
    # resettlement sites: by a town, safe, serviced, little land
    t.remoteness[n:] = 0.05
    t.disaster_risk[n:] = 0.005
    t.infrastructure[n:] = 0.95
    t.land_productivity[n:] = v.land_productivity[0]
    t.site[n:] = True
    return t


def _choose(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    return pool[rng.integers(0, len(pool), size=size)]


def synthesize(sc: Scenario, rng: np.random.Generator):
    """Villages, households and persons for a scenario. Returns (villages, hh, persons)."""
    p = sc.population
    r = p.registered
    econ = sc.economy
    villages = build_villages(sc, rng)
    n_v = sc.villages.count

    # ---- households per group, with exact registered counts --------------------------------
    cats = [getattr(r.categories, c) for c in CATEGORIES]
    given = sum(c.people for c in cats)
    derive = np.array([c.people == 0 and c.households > 0 for c in cats])
    weights = np.array(
        [c.households * c.size_weight if d else 0.0 for c, d in zip(cats, derive, strict=True)]
    )
    derived_people = _largest_remainder(r.people - given, weights)
    cat_people = [int(derived_people[i]) if derive[i] else c.people for i, c in enumerate(cats)]
    groups = [(i, c.households, cat_people[i]) for i, c in enumerate(cats)]
    groups.append((int(Category.NONE), p.households - r.households, p.people - r.people))

    sizes, category = [], []
    for code, n_h, n_p in groups:
        sizes.append(household_sizes(n_h, n_p, p.max_household_size, rng))
        category.append(np.full(n_h, code, dtype=np.int8))
    size = np.concatenate(sizes)
    category = np.concatenate(category)
    H = len(size)
    registered = category >= 0

    # ---- villages ----------------------------------------------------------------------------
    poor_v = np.flatnonzero(villages.poor[:n_v])
    other_v = np.flatnonzero(~villages.poor[:n_v])
    all_v = np.arange(n_v)
    village = np.empty(H, dtype=np.int32)
    in_poor = rng.random(H) < sc.villages.registered_in_poor_villages
    reg_idx = np.flatnonzero(registered)
    village[reg_idx] = np.where(
        in_poor[reg_idx],
        _choose(rng, poor_v if len(poor_v) else all_v, len(reg_idx)),
        _choose(rng, other_v if len(other_v) else all_v, len(reg_idx)),
    )
    non_idx = np.flatnonzero(~registered)
    village[non_idx] = _choose(rng, all_v, len(non_idx))
    # relocation households live in the most remote, disaster-prone villages
    reloc = np.flatnonzero(category == Category.RELOCATION)
    if len(reloc):
        score = villages.remoteness[:n_v] + 5 * villages.disaster_risk[:n_v]
        worst = np.argsort(-score)[: max(1, n_v // 5)]
        village[reloc] = _choose(rng, worst, len(reloc))

    # ---- persons -----------------------------------------------------------------------------
    P = int(size.sum())
    hh_of = np.repeat(np.arange(H, dtype=np.int32), size)
    start = np.concatenate([[0], np.cumsum(size)])
    rank = np.arange(P) - start[hh_of]  # 0 = head
    pcat = category[hh_of]
    preg = registered[hh_of]

    edges = np.array(p.age.band_edges)
    shares = {
        "reg": np.array(p.age.shares_registered),
        "other": np.array(p.age.shares_other),
        "dibao": np.array(p.age.shares_dibao),
    }
    adult = edges[:-1] >= 23
    kind = np.where(pcat == Category.DIBAO, 2, np.where(preg, 0, 1))
    band = np.empty(P, dtype=np.int64)
    u = rng.random(P)
    for k, key in enumerate(("reg", "other", "dibao")):
        s = shares[key]
        head_s = np.where(adult, s, 0.0)
        head_s = head_s / head_s.sum() if head_s.sum() > 0 else s
        for is_head, dist in ((True, head_s), (False, s)):
            m = (kind == k) & ((rank == 0) == is_head)
            band[m] = np.searchsorted(np.cumsum(dist), u[m], side="right").clip(0, len(s) - 1)
    age = edges[band] + np.floor(rng.random(P) * (edges[band + 1] - edges[band]))
    age = age.astype(np.int64)

    lab = p.labour
    # education households: the second member (or the head) is a student of 15-21
    edu_h = np.flatnonzero(category == Category.EDUCATION)
    stu = start[edu_h] + np.minimum(1, size[edu_h] - 1)
    age[stu] = rng.integers(15, 22, size=len(stu))

    # households without labour capacity
    no_lab_p = np.where(
        category == Category.DIBAO,
        lab.no_labour_share_dibao,
        np.where(
            category == Category.MEDICAL, lab.no_labour_share_medical, lab.no_labour_share_other
        ),
    )
    no_labour = (rng.random(H) < no_lab_p) & (category != Category.EDUCATION)
    working = (age >= lab.working_age_min) & (age <= lab.working_age_max)
    convert = no_labour[hh_of] & working
    to_elderly = convert & (rng.random(P) < 0.7)
    age = np.where(to_elderly, rng.integers(65, 86, size=P), age)
    to_disabled = convert & ~to_elderly

    # ---- health ------------------------------------------------------------------------------
    h = p.health
    health = np.zeros(P, dtype=np.int8)
    age_f = np.clip(age / 50.0, 0.3, 2.0)
    chronic_p = np.where(preg, h.chronic_registered, h.chronic_other) * age_f
    health[(age >= 15) & (rng.random(P) < chronic_p)] = Health.CHRONIC
    dis_p = np.where(preg, h.disability_registered, h.disability_other)
    health[rng.random(P) < dis_p] = Health.DISABLED
    health[to_disabled] = Health.DISABLED
    # medical households and households with illness as a secondary cause have a sick member
    ill_secondary = (
        registered & (category != Category.MEDICAL) & (rng.random(H) < h.illness_secondary_cause)
    )
    needs_sick = (category == Category.MEDICAL) | ill_secondary
    has_sick = np.bincount(hh_of, weights=health > 0, minlength=H) > 0
    fix = np.flatnonzero(needs_sick & ~has_sick)
    who = start[fix] + np.floor(rng.random(len(fix)) * size[fix]).astype(np.int64)
    health[who] = Health.CHRONIC

    # ---- schooling ---------------------------------------------------------------------------
    sch = p.schooling
    stage = np.zeros(P, dtype=np.int8)
    us = rng.random(P)
    stage[(age >= 3) & (age <= 5)] = Stage.PRESCHOOL
    stage[(age >= 6) & (age <= 14) & (us < sch.compulsory_enrolment)] = Stage.COMPULSORY
    stage[(age >= 15) & (age <= 17) & (us < sch.high_school_enrolment)] = Stage.HIGH
    stage[(age >= 18) & (age <= 21) & (us < sch.university_enrolment)] = Stage.UNIVERSITY
    stage[health == Health.DISABLED] = np.where(
        stage[health == Health.DISABLED] == Stage.COMPULSORY, Stage.COMPULSORY, Stage.NONE
    )
    # after the disability rule: the education household's student stays in school
    stage[stu] = np.where(age[stu] <= 17, Stage.HIGH, Stage.UNIVERSITY)
    edu = np.zeros(P, dtype=np.int64)
    child = age < 22
    edu[child] = np.clip(age[child] - 6, 0, 16)
    school_mean = np.where(preg, 6.0, 8.0) - np.clip((age - 40) / 10.0, 0, 4)
    adult_edu = np.clip(np.round(rng.normal(school_mean, 2.5)), 0, 16)
    edu[~child] = adult_edu[~child]
    # out-of-school youths stopped after compulsory school (at most 9 years)
    edu[child & (stage == Stage.NONE) & (age >= 15)] = np.minimum(
        edu[child & (stage == Stage.NONE) & (age >= 15)], 9
    )

    sk = sc.economy.skill
    mean_skill = np.where(preg, sk.mean_registered, sk.mean_other)
    base_skill = mean_skill * rng.lognormal(-0.5 * sk.sigma**2, sk.sigma, size=P)
    skill = base_skill * (1.0 + sch.years_primary_skill * np.maximum(edu - 6, 0))
    skill = skill + np.where(edu >= 15, sch.university_skill, 0.0)

    persons = PersonTable(
        P,
        hh=hh_of,
        age=age,
        female=rng.random(P) < 0.49,
        health=health,
        stage=stage,
        edu_years=edu,
        base_skill=base_skill,
        skill=skill,
        work_propensity=rng.standard_normal(P) + np.where(preg, 0.0, p.work_propensity_other),
    )

    # ---- household economy -------------------------------------------------------------------
    a = econ.assets
    prod_mean = np.where(registered, p.productivity_registered, 1.0)
    sig = p.productivity_sigma
    productivity = prod_mean * rng.lognormal(-0.5 * sig**2, sig, size=H)
    land = econ.land_per_person * size * rng.lognormal(-0.08, 0.4, size=H)
    a_mean = np.where(registered, a.initial_registered, a.initial_other)
    assets = a_mean * rng.lognormal(-0.5 * a.sigma**2, a.sigma, size=H)
    expected_income = size * sc.poverty_line(0) * np.where(registered, 0.9, 2.5)
    savings = a.savings_months / 12.0 * expected_income * rng.lognormal(-0.32, 0.8, size=H)
    unsafe = rng.random(H) < np.where(
        registered, econ.unsafe_house_registered, econ.unsafe_house_other
    )
    debt = np.where(needs_sick, econ.initial_debt_sick * rng.lognormal(-0.5, 1.0, size=H), 0.0)

    ss = sc.social_security
    sick_or_disabled = np.bincount(hh_of, weights=health > 0, minlength=H) > 0
    u_dibao = rng.random(H)
    dibao = np.where(
        registered,
        no_labour & (u_dibao < ss.dibao_coverage),
        (no_labour | sick_or_disabled) & (u_dibao < ss.dibao_coverage_other),
    )

    # ---- causes (bit flags) ------------------------------------------------------------------
    primary = np.zeros(H, dtype=np.int64)
    pick = rng.random(H)
    ind_cause = np.where(
        pick < 0.4, Cause.LACK_CAPITAL, np.where(pick < 0.75, Cause.LACK_SKILL, Cause.LACK_LAND)
    )
    primary = np.select(
        [
            category == Category.INDUSTRY,
            category == Category.RELOCATION,
            category == Category.MEDICAL,
            category == Category.EDUCATION,
            category == Category.DIBAO,
        ],
        [
            ind_cause,
            Cause.REMOTE,
            Cause.ILLNESS,
            Cause.SCHOOLING,
            np.where(no_labour, Cause.LACK_LABOUR, Cause.DISABILITY),
        ],
        0,
    )
    causes = primary.copy()
    causes |= np.where(ill_secondary, int(Cause.ILLNESS), 0)
    working_now = (
        (age >= lab.working_age_min) & (age <= lab.working_age_max) & (stage == Stage.NONE)
    )
    labour_free = np.bincount(hh_of, weights=working_now & (health == 0), minlength=H) == 0
    causes |= np.where(registered & labour_free, int(Cause.LACK_LABOUR), 0)
    capacity = registered & ~labour_free & (rng.random(H) < h.capacity_secondary_cause)
    causes |= np.where(
        capacity, np.where(rng.random(H) < 0.5, int(Cause.LACK_CAPITAL), int(Cause.LACK_SKILL)), 0
    )
    causes |= np.where(
        registered & (villages.disaster_risk[village] > 0.08), int(Cause.DISASTER), 0
    )
    causes |= np.where(registered & (villages.remoteness[village] > 0.7), int(Cause.REMOTE), 0)
    causes |= np.where(
        registered & (np.bincount(hh_of, weights=health == Health.DISABLED, minlength=H) > 0),
        int(Cause.DISABILITY),
        0,
    )

    hh = HouseholdTable(
        H,
        village=village,
        home_village=village,
        size=size,
        land=land,
        assets=assets,
        savings=savings,
        debt=debt,
        productivity=productivity,
        house_safe=~unsafe,
        dibao=dibao,
        frail=registered,
        registered=registered,
        registered_year=np.where(registered, 0, -1),
        status=np.where(registered, Status.POOR, Status.NEVER),
        causes=causes,
        primary_cause=primary,
        category=category,
        enterprise=np.full(H, -1),
        link_year=np.full(H, -1),
        relocated_year=np.full(H, -1),
        exit_year=np.full(H, -1),
        first_exit_year=np.full(H, -1),
        return_year=np.full(H, -1),
        first_return_year=np.full(H, -1),
        enterprise_lost_year=np.full(H, -1),
        job_access=np.ones(H),
    )
    for inst in INSTRUMENTS:
        getattr(hh, f"{inst}_first")[:] = -1
        getattr(hh, f"{inst}_last")[:] = -1
    return villages, hh, persons


def link_initial(sc: Scenario, hh: HouseholdTable, ent, rng: np.random.Generator) -> None:
    """Enterprises start with part of their capacity linked to non-registered households."""
    share = sc.enterprise_defaults.initial_link_share
    free = np.flatnonzero(~hh.registered & (hh.enterprise < 0))
    rng.shuffle(free)
    taken = 0
    for e in range(ent.n):
        k = int(round(share * ent.capacity[e]))
        chosen = free[taken : taken + k]
        hh.enterprise[chosen] = e
        hh.link_year[chosen] = -10  # linked long ago: past any lag
        taken += len(chosen)


def category_counts(hh: HouseholdTable) -> dict[str, int]:
    return {CATEGORY_NAMES[c]: int((hh.category == c).sum()) for c in CATEGORY_NAMES if c >= 0}
