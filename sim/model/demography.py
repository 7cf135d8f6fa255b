"""Demography: ageing and schooling progression. No births, deaths or household splits.

Over a ten-year horizon the population is closed (people are conserved, an invariant the tests
check); ageing alone moves people into and out of the labour force. See docs/ODD.md §7.1.
"""

from __future__ import annotations

from collections import namedtuple

from sim.model.codes import Stage
from sim.model.kernels import jit, parallel, row
from sim.model.rng import uniform

# streams "demography.<field>": one uniform per person for enrolment and progression, one for
# dropout; each is computed only for the persons at that decision
DemographyStreams = namedtuple("DemographyStreams", "progression dropout")
NONE, PRESCHOOL, COMPULSORY = int(Stage.NONE), int(Stage.PRESCHOOL), int(Stage.COMPULSORY)
HIGH, UNIVERSITY = int(Stage.HIGH), int(Stage.UNIVERSITY)


def step(model, keys) -> None:
    """Phase 1: everyone ages a year; pupils move on, drop out, or leave school with a skill."""
    sch = model.scenario.population.schooling
    p, hh = model.persons, model.hh
    parallel(
        _step,
        p.n,
        p.hh,
        p.age,
        p.stage,
        p.edu_years,
        p.dropped_out,
        p.skill,
        p.base_skill,
        hh.prev_income_pc,
        model.effects.school_barrier,
        model.line(model.year - 1),
        keys.record(DemographyStreams),
        sch.compulsory_enrolment,
        min(1.0, sch.high_school_enrolment / max(sch.compulsory_enrolment, 1e-9)),
        min(1.0, sch.university_enrolment / max(sch.high_school_enrolment, 1e-9)),
        sch.poverty_barrier,
        sch.dropout_poor,
        sch.years_primary_skill,
        sch.university_skill,
    )


@jit
def _step(
    lo,
    hi,
    hh_of,
    age,
    stage,
    edu_years,
    dropped_out,
    skill,
    base_skill,
    prev_income_pc,
    school_barrier,
    line_prev,
    keys,
    enrol,
    p_high,
    p_uni,
    poverty_barrier,
    dropout_poor,
    years_primary_skill,
    university_skill,
):
    """One flat loop over the persons (§7.1); the transitions are rare, so their branches are
    predictable."""
    k_u, k_drop = keys.progression, keys.dropout
    for i in range(row(lo), row(hi)):
        h = row(hh_of[i])
        # a household poor last year holds its children back (the poverty barrier), unless aid
        # removed part of it
        poor = prev_income_pc[h] < line_prev
        removed = school_barrier[h]
        barrier = 1.0 - poverty_barrier * (1.0 - removed) * poor
        old = stage[i]
        edu = edu_years[i] + ((old >= COMPULSORY) & (edu_years[i] < 20))
        edu_years[i] = edu
        a = age[i] + 1
        age[i] = a
        new = old
        # the transitions exclude each other, so they share one uniform
        if (old == NONE) & (a >= 3) & (a <= 5) & (edu == 0):
            new = PRESCHOOL
        elif (old <= PRESCHOOL) & (a == 6) & ~dropped_out[i]:
            new = COMPULSORY if uniform(k_u, i) < enrol else NONE
        elif (old == COMPULSORY) & (a >= 15):
            new = HIGH if uniform(k_u, i) < p_high * barrier else NONE
        elif (old == HIGH) & (a >= 18):
            new = UNIVERSITY if uniform(k_u, i) < p_uni * barrier else NONE
        elif (old == UNIVERSITY) & (a >= 22):
            new = NONE
        # dropout (控辍保学): pupils of poor households
        drop = False
        if (new == COMPULSORY) & poor:
            drop = uniform(k_drop, i) < dropout_poor * (1.0 - removed)
            new = NONE if drop else new
        stage[i] = new
        # a dropout who reaches 16 is no longer of compulsory-school age
        dropped_out[i] = (dropped_out[i] | drop) & (a < 16)
        # leavers join the labour force with the skill their schooling bought
        if (old >= COMPULSORY) & (new == NONE):
            s = base_skill[i] * (1.0 + years_primary_skill * max(edu - 6, 0))
            skill[i] = s + university_skill if edu >= 15 else s
