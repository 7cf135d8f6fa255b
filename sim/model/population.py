"""Synthetic villages, households and persons that reproduce a scenario's counts.

Registered households, their people and their primary-cause categories are reproduced *exactly*
(speech 1's county: 10,750 households, 34,677 people, 3,219 industry, 3,090 medical households with
10,676 people, ...). Everything else matches the scenario's marginals in expectation.
Household composition is drawn person by person from age bands, then made consistent with the
household's category: dibao households mostly have no labour, education households have a student,
medical households have a chronically ill or disabled member.

:func:`synthesize` runs the steps in order, each a function of its own that can be called and
tested alone: :func:`build_villages`, :func:`household_groups` and :func:`draw_sizes`,
:func:`place_households`, :func:`draw_ages` and :func:`labour_capacity`, :func:`draw_health`,
:func:`draw_schooling` and :func:`draw_skill`, :func:`draw_economy`, :func:`draw_causes`. They
share one generator and draw from it in this order (docs/ODD.md §5): a step that drew more or
less would change every later step's draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import CATEGORIES, Scenario
from sim.model.codes import CATEGORY_NAMES, INSTRUMENTS, Category, Cause, Health, Stage, Status
from sim.model.households import HouseholdTable, PersonTable, VillageTable

# A resettlement site is by a town, safe and serviced, with the least land: fixed values, not
# parameters, because the villages section of the scenario is outside the population's schema
SITE_REMOTENESS, SITE_DISASTER_RISK, SITE_INFRASTRUCTURE = 0.05, 0.005, 0.95
# School stages by age: China's school system (pre-school 3-5, compulsory 6-14, high school 15-17,
# university 18-21); institutions, not behaviour, and the same ages as sim.model.demography
PRESCHOOL_AGES, COMPULSORY_AGES, HIGH_AGES, UNIVERSITY_AGES = (3, 5), (6, 14), (15, 17), (18, 21)
SCHOOL_START_AGE = 6  # a child's years of schooling are its age minus this
CHILD_AGE_MAX = 21  # persons up to this age get the years of their age, adults a draw
COMPULSORY_YEARS = 9  # nine-year compulsory education (Compulsory Education Law, art. 2)
MAX_EDU_YEARS = 16  # a four-year degree: the most schooling synthesis gives
UNIVERSITY_EDU_YEARS = 15  # years of schooling from which a person has the university skill
STUDENT_AGES = (HIGH_AGES[0], UNIVERSITY_AGES[1])  # the education household's student
ELDERLY_AGES = (65, 85)
# chronic illness is counted among persons of 15 and over, as the NHSS prevalences it is drawn
# from are; the illness phase uses the same age for onset (sim.model.shocks)
CHRONIC_AGE_MIN = 15
# a household head (its first person) is drawn from the age bands that start at this age or later:
# past school and university age (the 18-22 band), a consequence of the school ages, not data
HEAD_AGE_MIN = 23  # NBS's elderly band; the no-labour conversion redraws ages in it


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
    """The villages (poor ones at random; remote ones riskier and less serviced), then the
    resettlement sites."""
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
    t.remoteness[n:] = SITE_REMOTENESS
    t.disaster_risk[n:] = SITE_DISASTER_RISK
    t.infrastructure[n:] = SITE_INFRASTRUCTURE
    t.land_productivity[n:] = v.land_productivity[0]
    t.site[n:] = True
    return t


def _choose(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    return pool[rng.integers(0, len(pool), size=size)]


# ---- households ------------------------------------------------------------------------------
def household_groups(sc: Scenario) -> list[tuple[int, int, int]]:
    """(category code, households, people) of the five registered categories, then of the
    non-registered (code -1). A category whose people are not given gets its share of the
    registered people left over, by largest remainder on ``households × size_weight``."""
    p, r = sc.population, sc.population.registered
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
    return groups


def draw_sizes(
    sc: Scenario, groups: list[tuple[int, int, int]], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Every household's size and category, group after group (exact counts per group)."""
    sizes, category = [], []
    for code, n_h, n_p in groups:
        sizes.append(household_sizes(n_h, n_p, sc.population.max_household_size, rng))
        category.append(np.full(n_h, code, dtype=np.int8))
    return np.concatenate(sizes), np.concatenate(category)


def place_households(
    sc: Scenario, villages: VillageTable, category: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each household's village: registered ones mostly in poor villages, the others anywhere,
    relocation households among the most remote and disaster-prone villages."""
    n_v = sc.villages.count
    H = len(category)
    registered = category >= 0
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
    reloc = np.flatnonzero(category == Category.RELOCATION)
    if len(reloc):
        pl = sc.population
        score = (
            villages.remoteness[:n_v] + pl.relocation_disaster_weight * villages.disaster_risk[:n_v]
        )
        worst = np.argsort(-score)[: max(1, int(n_v * pl.relocation_village_share))]
        village[reloc] = _choose(rng, worst, len(reloc))
    return village


# ---- persons ---------------------------------------------------------------------------------
@dataclass
class Members:
    """Who lives where, and the persons' ages: household ``h``'s persons are the rows
    ``start[h]:start[h + 1]``, ``rank`` 0 its head. ``student``: the rows of the education
    households' students."""

    hh_of: np.ndarray
    start: np.ndarray
    rank: np.ndarray
    registered: np.ndarray  # per person: the household is registered
    age: np.ndarray
    student: np.ndarray


def draw_ages(
    sc: Scenario, size: np.ndarray, category: np.ndarray, rng: np.random.Generator
) -> Members:
    """Ages from the age bands of the household's group (heads from the adult bands only); the
    education households' student is 15-21."""
    p = sc.population
    H, P = len(size), int(size.sum())
    hh_of = np.repeat(np.arange(H, dtype=np.int32), size)
    start = np.concatenate([[0], np.cumsum(size)])
    rank = np.arange(P) - start[hh_of]  # 0 = head
    pcat = category[hh_of]
    preg = (category >= 0)[hh_of]
    edges = np.array(p.age.band_edges)
    shares = (p.age.shares_registered, p.age.shares_other, p.age.shares_dibao)
    adult = edges[:-1] >= HEAD_AGE_MIN
    kind = np.where(pcat == Category.DIBAO, 2, np.where(preg, 0, 1))
    band = np.empty(P, dtype=np.int64)
    u = rng.random(P)
    for k, s in enumerate(shares):
        s = np.array(s)
        head_s = np.where(adult, s, 0.0)
        head_s = head_s / head_s.sum() if head_s.sum() > 0 else s
        for is_head, dist in ((True, head_s), (False, s)):
            m = (kind == k) & ((rank == 0) == is_head)
            band[m] = np.searchsorted(np.cumsum(dist), u[m], side="right").clip(0, len(s) - 1)
    age = edges[band] + np.floor(rng.random(P) * (edges[band + 1] - edges[band]))
    age = age.astype(np.int64)
    # education households: the second member (or the head) is a student of 15-21
    edu_h = np.flatnonzero(category == Category.EDUCATION)
    student = start[edu_h] + np.minimum(1, size[edu_h] - 1)
    age[student] = rng.integers(STUDENT_AGES[0], STUDENT_AGES[1] + 1, size=len(student))
    return Members(hh_of, start, rank, preg, age, student)


def labour_capacity(
    sc: Scenario, members: Members, category: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Households without labour capacity; their working-age members become elderly (their age
    redrawn, in ``members.age``) or disabled. Returns (no_labour per household, to_disabled per
    person)."""
    lab = sc.population.labour
    H, P = len(category), len(members.age)
    no_lab_p = np.where(
        category == Category.DIBAO,
        lab.no_labour_share_dibao,
        np.where(
            category == Category.MEDICAL, lab.no_labour_share_medical, lab.no_labour_share_other
        ),
    )
    no_labour = (rng.random(H) < no_lab_p) & (category != Category.EDUCATION)
    age = members.age
    working = (age >= lab.working_age_min) & (age <= lab.working_age_max)
    convert = no_labour[members.hh_of] & working
    to_elderly = convert & (rng.random(P) < lab.no_labour_elderly_share)
    members.age = np.where(
        to_elderly, rng.integers(ELDERLY_AGES[0], ELDERLY_AGES[1] + 1, size=P), age
    )
    return no_labour, convert & ~to_elderly


def draw_health(
    sc: Scenario,
    members: Members,
    category: np.ndarray,
    to_disabled: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Chronic illness and disability; medical households and households with illness as a
    secondary cause get a sick member. Returns (health per person, ill_secondary per household)."""
    h = sc.population.health
    age, preg, hh_of, start = members.age, members.registered, members.hh_of, members.start
    H, P = len(category), len(age)
    size = np.diff(start)
    health = np.zeros(P, dtype=np.int8)
    lo, hi = h.chronic_age_factor
    age_f = np.clip(age / h.chronic_age_reference, lo, hi)
    chronic_p = np.where(preg, h.chronic_registered, h.chronic_other) * age_f
    health[(age >= CHRONIC_AGE_MIN) & (rng.random(P) < chronic_p)] = Health.CHRONIC
    dis_p = np.where(preg, h.disability_registered, h.disability_other)
    health[rng.random(P) < dis_p] = Health.DISABLED
    health[to_disabled] = Health.DISABLED
    registered = category >= 0
    ill_secondary = (
        registered & (category != Category.MEDICAL) & (rng.random(H) < h.illness_secondary_cause)
    )
    needs_sick = (category == Category.MEDICAL) | ill_secondary
    has_sick = np.bincount(hh_of, weights=health > 0, minlength=H) > 0
    fix = np.flatnonzero(needs_sick & ~has_sick)
    who = start[fix] + np.floor(rng.random(len(fix)) * size[fix]).astype(np.int64)
    health[who] = Health.CHRONIC
    return health, ill_secondary


def draw_schooling(
    sc: Scenario, members: Members, health: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """School stages by age and enrolment, and years of schooling (children: their age's years;
    adults: a draw, fewer for the registered and the old). Returns (stage, edu_years)."""
    sch = sc.population.schooling
    age, preg, stu = members.age, members.registered, members.student
    P = len(age)
    stage = np.zeros(P, dtype=np.int8)
    us = rng.random(P)
    for (lo, hi), st, share in (
        (PRESCHOOL_AGES, Stage.PRESCHOOL, 1.0),  # us < 1 always: every child of 3-5
        (COMPULSORY_AGES, Stage.COMPULSORY, sch.compulsory_enrolment),
        (HIGH_AGES, Stage.HIGH, sch.high_school_enrolment),
        (UNIVERSITY_AGES, Stage.UNIVERSITY, sch.university_enrolment),
    ):
        stage[(age >= lo) & (age <= hi) & (us < share)] = st
    disabled = health == Health.DISABLED
    stage[disabled] = np.where(stage[disabled] == Stage.COMPULSORY, Stage.COMPULSORY, Stage.NONE)
    # after the disability rule: the education household's student stays in school
    stage[stu] = np.where(age[stu] <= HIGH_AGES[1], Stage.HIGH, Stage.UNIVERSITY)
    edu = np.zeros(P, dtype=np.int64)
    child = age <= CHILD_AGE_MAX
    edu[child] = np.clip(age[child] - SCHOOL_START_AGE, 0, MAX_EDU_YEARS)
    decline = np.clip(
        sch.adult_years_decline * (age - sch.adult_years_decline_from) / 10.0,
        0,
        sch.adult_years_decline_max,
    )
    school_mean = np.where(preg, *sch.adult_years) - decline
    adult_edu = np.clip(np.round(rng.normal(school_mean, sch.adult_years_sd)), 0, MAX_EDU_YEARS)
    edu[~child] = adult_edu[~child]
    # out-of-school youths stopped after compulsory school
    dropped = child & (stage == Stage.NONE) & (age >= HIGH_AGES[0])
    edu[dropped] = np.minimum(edu[dropped], COMPULSORY_YEARS)
    return stage, edu


def draw_skill(
    sc: Scenario, members: Members, edu: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Innate skill (lower for the registered) and the skill schooling adds to it. Returns
    (base_skill, skill)."""
    sk, sch = sc.economy.skill, sc.population.schooling
    mean_skill = np.where(members.registered, sk.mean_registered, sk.mean_other)
    base_skill = mean_skill * rng.lognormal(-0.5 * sk.sigma**2, sk.sigma, size=len(edu))
    skill = base_skill * (1.0 + sch.years_primary_skill * np.maximum(edu - SCHOOL_START_AGE, 0))
    return base_skill, skill + np.where(edu >= UNIVERSITY_EDU_YEARS, sch.university_skill, 0.0)


def draw_persons(
    sc: Scenario, size: np.ndarray, category: np.ndarray, rng: np.random.Generator
) -> tuple[PersonTable, Members, np.ndarray, np.ndarray]:
    """The persons: ages, labour capacity, health, schooling, skill, sex and work propensity.
    Returns (persons, members, no_labour and ill_secondary per household)."""
    p = sc.population
    members = draw_ages(sc, size, category, rng)
    no_labour, to_disabled = labour_capacity(sc, members, category, rng)
    health, ill_secondary = draw_health(sc, members, category, to_disabled, rng)
    stage, edu = draw_schooling(sc, members, health, rng)
    base_skill, skill = draw_skill(sc, members, edu, rng)
    P = len(members.age)
    persons = PersonTable(
        P,
        hh=members.hh_of,
        age=members.age,
        female=rng.random(P) < p.female_share,
        health=health,
        stage=stage,
        edu_years=edu,
        base_skill=base_skill,
        skill=skill,
        work_propensity=rng.standard_normal(P)
        + np.where(members.registered, 0.0, p.work_propensity_other),
    )
    return persons, members, no_labour, ill_secondary


# ---- households' economy and causes ------------------------------------------------------------
def draw_economy(
    sc: Scenario,
    size: np.ndarray,
    registered: np.ndarray,
    needs_sick: np.ndarray,
    no_labour: np.ndarray,
    sick_or_disabled: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Productivity, land, assets, savings, house, debt (sick households) and dibao."""
    p, econ = sc.population, sc.economy
    a, w = econ.assets, p.wealth
    H = len(size)
    prod_mean = np.where(registered, p.productivity_registered, 1.0)
    sig = p.productivity_sigma
    productivity = prod_mean * rng.lognormal(-0.5 * sig**2, sig, size=H)
    land = econ.land_per_person * size * rng.lognormal(w.land_log_mean, w.land_sigma, size=H)
    a_mean = np.where(registered, a.initial_registered, a.initial_other)
    assets = a_mean * rng.lognormal(-0.5 * a.sigma**2, a.sigma, size=H)
    income_lines = np.where(registered, *w.expected_income)
    expected_income = size * sc.poverty_line(0) * income_lines
    savings_draw = rng.lognormal(w.savings_log_mean, w.savings_sigma, size=H)
    savings = a.savings_months / 12.0 * expected_income * savings_draw
    unsafe = rng.random(H) < np.where(
        registered, econ.unsafe_house_registered, econ.unsafe_house_other
    )
    debt_draw = rng.lognormal(w.debt_log_mean, w.debt_sigma, size=H)
    debt = np.where(needs_sick, econ.initial_debt_sick * debt_draw, 0.0)
    ss = sc.social_security
    u_dibao = rng.random(H)
    dibao = np.where(
        registered,
        no_labour & (u_dibao < ss.dibao_coverage),
        (no_labour | sick_or_disabled) & (u_dibao < ss.dibao_coverage_other),
    )
    return dict(
        productivity=productivity,
        land=land,
        assets=assets,
        savings=savings,
        house_safe=~unsafe,
        dibao=dibao,
        debt=debt,
    )


def draw_causes(
    sc: Scenario,
    category: np.ndarray,
    no_labour: np.ndarray,
    ill_secondary: np.ndarray,
    persons: PersonTable,
    villages: VillageTable,
    village: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The primary cause (from the category) and the secondary causes (bit flags) of the
    registered households. Returns (primary_cause, causes)."""
    c, lab = sc.population.causes, sc.population.labour
    H = len(category)
    registered = category >= 0
    hh_of, age, health, stage = persons.hh, persons.age, persons.health, persons.stage
    pick = rng.random(H)
    capital_or_skill = c.industry_lack_capital + c.industry_lack_skill
    ind_cause = np.where(
        pick < c.industry_lack_capital,
        Cause.LACK_CAPITAL,
        np.where(pick < capital_or_skill, Cause.LACK_SKILL, Cause.LACK_LAND),
    )
    primary = np.select(
        [category == k for k in (Category.INDUSTRY, Category.RELOCATION, Category.MEDICAL)]
        + [category == Category.EDUCATION, category == Category.DIBAO],
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
    h = sc.population.health
    capacity = registered & ~labour_free & (rng.random(H) < h.capacity_secondary_cause)
    capital = rng.random(H) < c.capacity_lack_capital
    causes |= np.where(
        capacity, np.where(capital, int(Cause.LACK_CAPITAL), int(Cause.LACK_SKILL)), 0
    )
    risky = villages.disaster_risk[village] > c.disaster_risk_threshold
    causes |= np.where(registered & risky, int(Cause.DISASTER), 0)
    remote = villages.remoteness[village] > c.remoteness_threshold
    causes |= np.where(registered & remote, int(Cause.REMOTE), 0)
    disabled = np.bincount(hh_of, weights=health == Health.DISABLED, minlength=H) > 0
    causes |= np.where(registered & disabled, int(Cause.DISABILITY), 0)
    return primary, causes


def synthesize(sc: Scenario, rng: np.random.Generator):
    """Villages, households and persons for a scenario. Returns (villages, hh, persons)."""
    villages = build_villages(sc, rng)
    size, category = draw_sizes(sc, household_groups(sc), rng)
    H = len(size)
    registered = category >= 0
    village = place_households(sc, villages, category, rng)
    persons, members, no_labour, ill_secondary = draw_persons(sc, size, category, rng)
    needs_sick = (category == Category.MEDICAL) | ill_secondary
    sick_or_disabled = np.bincount(members.hh_of, weights=persons.health > 0, minlength=H) > 0
    economy = draw_economy(sc, size, registered, needs_sick, no_labour, sick_or_disabled, rng)
    primary, causes = draw_causes(
        sc, category, no_labour, ill_secondary, persons, villages, village, rng
    )
    never = np.full(H, -1)
    hh = HouseholdTable(
        H,
        village=village,
        home_village=village,
        size=size,
        **economy,
        frail=registered,
        registered=registered,
        registered_year=np.where(registered, 0, -1),
        status=np.where(registered, Status.POOR, Status.NEVER),
        causes=causes,
        primary_cause=primary,
        category=category,
        enterprise=never,
        job_access=np.ones(H),
        **{f: never for f in _NEVER_FIELDS},
    )
    for inst in INSTRUMENTS:
        getattr(hh, f"{inst}_first")[:] = -1
        getattr(hh, f"{inst}_last")[:] = -1
    return villages, hh, persons


# fields that start at -1 ("never"): the years of events that have not happened
_NEVER_FIELDS = (
    "link_year",
    "relocated_year",
    "exit_year",
    "first_exit_year",
    "return_year",
    "first_return_year",
    "enterprise_lost_year",
)


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
