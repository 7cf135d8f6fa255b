"""The model's households and persons from a roster: the registered households as the roster lists
them, the rest of the county synthesized from the scenario's aggregates as without a roster.

The model reaches this module through one plugin point (``sim.model.model.ROSTER_PROVIDER``)
when the scenario names a roster, as it reaches strategies: the model never imports it. What the
roster gives is used as given; what it leaves empty, and what it never holds (productivity,
assets, savings, skill), is drawn by the population steps of sim.model.population, with the same
parameters as a synthesized county (docs/roster.md lists which field comes from where).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from sim.config import ConfigError, Scenario
from sim.config.files import BadInput
from sim.model.codes import INSTRUMENTS, Cause, Health, Status
from sim.model.households import HouseholdTable, PersonTable
from sim.model.population import (
    Members,
    build_villages,
    draw_economy,
    draw_persons,
    draw_schooling,
    draw_skill,
    household_sizes,
    place_households,
)
from sim.roster.audit import audit, error_households
from sim.roster.read import MISSING, Roster, member_rows, read_roster

NEVER_FIELDS = ("link_year", "relocated_year", "return_year", "first_return_year")
NEVER_FIELDS += ("enterprise_lost_year", "exit_year", "first_exit_year")


@functools.lru_cache(maxsize=2)
def _read_cached(path: str, mtime_ns: int, size: int) -> Roster:
    return read_roster(path)


def load(path: str | Path) -> Roster:
    """The roster at ``path``, read once per process while the file is unchanged (a batch builds
    many models from one roster)."""
    try:
        st = os.stat(path)
    except OSError:
        raise BadInput([f"{path}: roster file not found"]) from None
    return _read_cached(str(path), st.st_mtime_ns, st.st_size)


def registered_part(sc: Scenario) -> tuple[Roster, np.ndarray, list[str]]:
    """The roster, the households the model takes from it under the scenario's error policy, and
    the problems that stop a run (BadInput for an unreadable roster)."""
    roster = load(sc.roster)
    findings = audit(roster, sc, totals=False)
    errors = error_households(findings, roster)
    keep = np.ones(len(roster.households), dtype=bool)
    problems = []
    policy = sc.roster_on_error
    if policy == "fail" and len(errors):
        kinds = findings.loc[findings["severity"] == "error", "kind"].value_counts()
        problems.append(
            f"{sc.roster}: {len(errors):,} households with audit errors "
            f"({', '.join(f'{k} {n:,}' for k, n in kinds.items())}); with roster_on_error = "
            "'fail' the run stops: see `povsim roster audit`, or use drop or keep"
        )
    elif policy == "drop":
        keep[errors] = False
    hh = roster.households[keep]
    pop = sc.population
    n_villages = hh["village"].nunique()
    if n_villages > sc.villages.count:
        problems.append(
            f"{sc.roster}: {n_villages:,} villages, more than the scenario's villages.count "
            f"{sc.villages.count:,}"
        )
    rest_h, rest_p = pop.households - len(hh), pop.people - int(hh["members"].sum())
    if rest_h < 0 or rest_p < rest_h or rest_p > rest_h * pop.max_household_size:
        problems.append(
            f"{sc.roster}: {len(hh):,} households with {int(hh['members'].sum()):,} people do "
            f"not fit in the scenario's county of {pop.households:,} households and "
            f"{pop.people:,} people (population.households, population.people)"
        )
    return roster, np.flatnonzero(keep), problems


def population(sc: Scenario, rng: np.random.Generator):
    """Villages, households and persons: the roster's registered households first, then the
    synthesized rest. Returns (villages, hh, persons) as sim.model.population.synthesize."""
    try:
        roster, keep, problems = registered_part(sc)
    except BadInput as exc:
        raise ConfigError(exc.problems) from None
    if problems:
        raise ConfigError(problems)
    villages = build_villages(sc, rng)
    reg = _registered(sc, roster, keep, villages, rng)
    pop = sc.population
    rest_h, rest_p = pop.households - reg["size"].size, pop.people - int(reg["size"].sum())
    size_rest = household_sizes(rest_h, rest_p, pop.max_household_size, rng)
    cat_rest = np.full(rest_h, -1, dtype=np.int8)
    village_rest = place_households(sc, villages, cat_rest, rng)
    persons_rest, members_rest, no_labour_rest, _ = draw_persons(sc, size_rest, cat_rest, rng)
    H_r = reg["size"].size
    size = np.concatenate([reg["size"], size_rest])
    H = len(size)
    registered = np.arange(H) < H_r
    persons = _join_persons(reg["persons"], persons_rest, H_r)
    sick = np.bincount(persons.hh, weights=persons.health > 0, minlength=H) > 0
    needs_sick = np.concatenate([reg["needs_sick"], np.zeros(rest_h, dtype=bool)])
    no_labour = np.concatenate([reg["no_labour"], no_labour_rest])
    economy = draw_economy(sc, size, registered, needs_sick, no_labour, sick, rng)
    for name in ("land", "house_safe", "dibao"):
        given = reg[name]
        economy[name][:H_r] = np.where(np.isnan(given), economy[name][:H_r], given)
    status = np.concatenate([reg["status"], np.full(rest_h, int(Status.NEVER))])
    exited = (status == Status.EXITED) | (status == Status.RETURNED)
    returned = status == Status.RETURNED
    hh = HouseholdTable(
        H,
        village=np.concatenate([reg["village"], village_rest]),
        home_village=np.concatenate([reg["village"], village_rest]),
        size=size,
        **economy,
        frail=registered,
        registered=registered,
        registered_year=np.where(registered, 0, -1),
        status=status,
        causes=np.concatenate([reg["causes"], np.zeros(rest_h, dtype=np.int64)]),
        primary_cause=np.concatenate([reg["primary"], np.zeros(rest_h, dtype=np.int64)]),
        category=np.concatenate([reg["category"], cat_rest]),
        enterprise=np.full(H, -1),
        job_access=np.ones(H),
        returns=returned.astype(np.int16),
        **{f: np.full(H, -1) for f in NEVER_FIELDS},
    )
    for f in ("exit_year", "first_exit_year"):  # exited before the roster's year: year 0
        getattr(hh, f)[exited] = 0
    for f in ("return_year", "first_return_year"):
        getattr(hh, f)[returned] = 0
    for inst in INSTRUMENTS:
        getattr(hh, f"{inst}_first")[:] = -1
        getattr(hh, f"{inst}_last")[:] = -1
    return villages, hh, persons


def village_index(sc: Scenario, names: np.ndarray, villages) -> np.ndarray:
    """Each roster village's model village: those with the most registered households get the
    scenario's poor villages (贫困村), in order, then the others."""
    n_v = sc.villages.count
    poor = np.flatnonzero(villages.poor[:n_v])
    targets = np.concatenate([poor, np.flatnonzero(~villages.poor[:n_v])])
    codes, uniques = _factorize(names)
    counts = np.bincount(codes, minlength=len(uniques))
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(uniques))
    return targets[rank][codes].astype(np.int32)


def _factorize(values: np.ndarray):
    import pandas as pd

    return pd.factorize(values, sort=False)


def _registered(sc: Scenario, roster: Roster, keep: np.ndarray, villages, rng) -> dict:
    """The kept households' arrays, and their persons (PersonTable)."""
    hh = roster.households.iloc[keep]
    start = roster.rows_of
    p = roster.persons.iloc[member_rows(start, keep)]
    size = hh["members"].to_numpy().astype(np.int64)
    hh_of = np.repeat(np.arange(len(hh), dtype=np.int32), size)
    persons, able = _persons(sc, p, hh_of, size, rng)
    category = hh["category"].to_numpy().astype(np.int8)
    primary = hh["primary_cause"].to_numpy().astype(np.int64)
    ill = (primary | hh["other_causes"].to_numpy().astype(np.int64)) & int(Cause.ILLNESS)
    status = hh["status"].to_numpy()

    def given(name: str) -> np.ndarray:
        v = hh[name].to_numpy(dtype=np.float64)
        return np.where(v == MISSING, np.nan, v)

    return {
        "size": size,
        "village": village_index(sc, hh["village"].to_numpy(), villages),
        "category": category,
        "primary": primary,
        "causes": primary | hh["other_causes"].to_numpy().astype(np.int64),
        "status": np.where(status == MISSING, int(Status.POOR), status).astype(np.int8),
        "needs_sick": (category == 2) | (ill != 0),
        "no_labour": np.bincount(hh_of, weights=able, minlength=len(hh)) == 0,
        "land": given("land"),
        "house_safe": given("house_safe"),
        "dibao": given("dibao"),
        "persons": persons,
    }


def _persons(sc: Scenario, p, hh_of: np.ndarray, size: np.ndarray, rng):
    """The roster's persons: age, sex, health and schooling as listed; what is left empty, years
    of schooling and skill as synthesis draws them for registered persons."""
    from sim.roster.example import able_members

    start = np.concatenate([[0], np.cumsum(size)])
    P = len(hh_of)
    age = p["age"].to_numpy().astype(np.int64)
    health = p["health"].to_numpy()
    health = np.where(health == MISSING, int(Health.HEALTHY), health)
    health = np.where(p["disabled"].to_numpy() == 1, int(Health.DISABLED), health).astype(np.int8)
    members = Members(
        hh_of, start, np.arange(P) - start[hh_of], np.ones(P, dtype=bool), age, np.zeros(0, int)
    )
    stage, edu = draw_schooling(sc, members, health, rng)
    listed_stage = p["stage"].to_numpy()
    stage = np.where(listed_stage == MISSING, stage, listed_stage).astype(np.int8)
    listed_edu = p["edu_years"].to_numpy(dtype=np.float64)
    edu = np.where(np.isnan(listed_edu), edu, listed_edu).astype(np.int64)
    base_skill, skill = draw_skill(sc, members, edu, rng)
    sex = p["sex"].to_numpy()
    female = np.where(sex == MISSING, rng.random(P) < sc.population.female_share, sex == 1)
    persons = PersonTable(
        P,
        hh=hh_of,
        age=age,
        female=female,
        health=health,
        stage=stage,
        edu_years=edu,
        base_skill=base_skill,
        skill=skill,
        work_propensity=rng.standard_normal(P),
    )
    return persons, able_members(sc, age, health, stage)


def _join_persons(first: PersonTable, second: PersonTable, offset: int) -> PersonTable:
    columns = {
        name: np.concatenate([getattr(first, name), getattr(second, name)])
        for name in PersonTable.FIELDS
    }
    columns["hh"] = np.concatenate([first.hh, second.hh + offset])
    return PersonTable(first.n + second.n, **columns)
