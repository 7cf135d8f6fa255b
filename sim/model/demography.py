"""Demography: ageing and schooling progression. No births, deaths or household splits.

Over a ten-year horizon the population is closed (people are conserved, an invariant the tests
check); ageing alone moves people into and out of the labour force. See docs/ODD.md §7.1.
"""

from __future__ import annotations

from collections import namedtuple

from sim.model.codes import Stage
from sim.model.kernels import columns, jit, parallel, row
from sim.model.population import (
    COMPULSORY_AGES,
    HIGH_AGES,
    PRESCHOOL_AGES,
    SCHOOL_START_AGE,
    UNIVERSITY_AGES,
    UNIVERSITY_EDU_YEARS,
)
from sim.model.rng import uniform

# streams "demography.<field>": one uniform per person for enrolment and progression, one for
# dropout; each is computed only for the persons at that decision
DemographyStreams = namedtuple("DemographyStreams", "progression dropout")
NONE, PRESCHOOL, COMPULSORY = int(Stage.NONE), int(Stage.PRESCHOOL), int(Stage.COMPULSORY)
HIGH, UNIVERSITY = int(Stage.HIGH), int(Stage.UNIVERSITY)


# the columns the kernel reads and writes, by their table names (persons; households and effects)
DemographyPersons = namedtuple(
    "DemographyPersons", "hh age stage edu_years dropped_out skill base_skill"
)
DemographyHouseholds = namedtuple("DemographyHouseholds", "prev_income_pc school_barrier")
DemographyParams = namedtuple(
    "DemographyParams",
    "line_prev enrol p_high p_uni poverty_barrier dropout_poor years_primary_skill "
    "university_skill",
)
# the school system's ages (as at synthesis, sim.model.population): pre-school 3-5, compulsory
# school from 6, high school from 15, university from 18, leaving at 22; a dropout of compulsory
# school is of school age until 16. Institutions, not behaviour: named constants.
PRESCHOOL_FROM, PRESCHOOL_TO = PRESCHOOL_AGES
SCHOOL_FROM, HIGH_FROM, UNIVERSITY_FROM = COMPULSORY_AGES[0], HIGH_AGES[0], UNIVERSITY_AGES[0]
SCHOOL_LEAVING_AGE = UNIVERSITY_AGES[1] + 1  # 22
COMPULSORY_AGE_END = 16  # compulsory-school age ends where the legal working age begins
MAX_EDU_YEARS = 20  # years of schooling stop counting here (a doctorate)


def params(model) -> DemographyParams:
    """This year's parameters: the scenario's enrolment rates as transition chances."""
    sch = model.scenario.population.schooling
    return DemographyParams(
        line_prev=model.line(model.year - 1),
        enrol=sch.compulsory_enrolment,
        p_high=min(1.0, sch.high_school_enrolment / max(sch.compulsory_enrolment, 1e-9)),
        p_uni=min(1.0, sch.university_enrolment / max(sch.high_school_enrolment, 1e-9)),
        poverty_barrier=sch.poverty_barrier,
        dropout_poor=sch.dropout_poor,
        years_primary_skill=sch.years_primary_skill,
        university_skill=sch.university_skill,
    )


def step(model, keys) -> None:
    """Phase 1: everyone ages a year; pupils move on, drop out, or leave school with a skill."""
    parallel(
        _step,
        model.persons.n,
        columns(DemographyPersons, model.persons),
        columns(DemographyHouseholds, model.hh, model.effects),
        keys.record(DemographyStreams),
        params(model),
    )


@jit
def _step(lo, hi, persons, households, keys, par):
    """One flat loop over the persons (§7.1); the transitions are rare, so their branches are
    predictable."""
    hh_of, age, stage, edu_years = persons.hh, persons.age, persons.stage, persons.edu_years
    dropped_out, skill, base_skill = persons.dropped_out, persons.skill, persons.base_skill
    prev_income_pc, school_barrier = households.prev_income_pc, households.school_barrier
    line_prev, enrol, p_high, p_uni = par.line_prev, par.enrol, par.p_high, par.p_uni
    poverty_barrier, dropout_poor = par.poverty_barrier, par.dropout_poor
    k_u, k_drop = keys.progression, keys.dropout
    for i in range(row(lo), row(hi)):
        h = row(hh_of[i])
        # a household poor last year holds its children back (the poverty barrier), unless aid
        # removed part of it
        poor = prev_income_pc[h] < line_prev
        removed = school_barrier[h]
        barrier = 1.0 - poverty_barrier * (1.0 - removed) * poor
        old = stage[i]
        edu = edu_years[i] + ((old >= COMPULSORY) & (edu_years[i] < MAX_EDU_YEARS))
        edu_years[i] = edu
        a = age[i] + 1
        age[i] = a
        new = old
        # the transitions exclude each other, so they share one uniform
        if (old == NONE) & (a >= PRESCHOOL_FROM) & (a <= PRESCHOOL_TO) & (edu == 0):
            new = PRESCHOOL
        elif (old <= PRESCHOOL) & (a == SCHOOL_FROM) & ~dropped_out[i]:
            new = COMPULSORY if uniform(k_u, i) < enrol else NONE
        elif (old == COMPULSORY) & (a >= HIGH_FROM):
            new = HIGH if uniform(k_u, i) < p_high * barrier else NONE
        elif (old == HIGH) & (a >= UNIVERSITY_FROM):
            new = UNIVERSITY if uniform(k_u, i) < p_uni * barrier else NONE
        elif (old == UNIVERSITY) & (a >= SCHOOL_LEAVING_AGE):
            new = NONE
        # dropout (控辍保学): pupils of poor households
        drop = False
        if (new == COMPULSORY) & poor:
            drop = uniform(k_drop, i) < dropout_poor * (1.0 - removed)
            new = NONE if drop else new
        stage[i] = new
        # a dropout who reaches 16 is no longer of compulsory-school age
        dropped_out[i] = (dropped_out[i] | drop) & (a < COMPULSORY_AGE_END)
        # leavers join the labour force with the skill their schooling bought
        if (old >= COMPULSORY) & (new == NONE):
            s = base_skill[i] * (1.0 + par.years_primary_skill * max(edu - SCHOOL_START_AGE, 0))
            skill[i] = s + par.university_skill if edu >= UNIVERSITY_EDU_YEARS else s
