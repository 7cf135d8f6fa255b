"""Demography: ageing and schooling progression. No births, deaths or household splits.

Over a ten-year horizon the population is closed (people are conserved, an invariant the tests
check); ageing alone moves people into and out of the labour force. See docs/ODD.md.
"""

from __future__ import annotations

import numpy as np

from sim.codes import Stage


def step(model, rng: np.random.Generator) -> None:
    sc = model.scenario
    sch = sc.population.schooling
    p = model.persons
    hh = model.hh
    u = rng.random(p.n)
    u_drop = rng.random(p.n)

    in_school = p.stage >= Stage.COMPULSORY
    p.edu_years[in_school] = np.minimum(p.edu_years[in_school] + 1, 20)
    p.age += 1
    age = p.age
    stage = p.stage
    old = stage.copy()

    poor_hh = hh.prev_income_pc < model.line(model.year - 1)
    barrier = np.where(
        poor_hh[p.hh], 1.0 - sch.poverty_barrier * (1.0 - model.effects.school_barrier[p.hh]), 1.0
    )

    p_high = min(1.0, sch.high_school_enrolment / max(sch.compulsory_enrolment, 1e-9)) * barrier
    p_uni = min(1.0, sch.university_enrolment / max(sch.high_school_enrolment, 1e-9)) * barrier

    stage[(old == Stage.NONE) & (age >= 3) & (age <= 5) & (p.edu_years == 0)] = Stage.PRESCHOOL
    starts = (old <= Stage.PRESCHOOL) & (age == 6) & ~p.dropped_out
    stage[starts] = np.where(u[starts] < sch.compulsory_enrolment, Stage.COMPULSORY, Stage.NONE)
    done_comp = (old == Stage.COMPULSORY) & (age >= 15)
    stage[done_comp] = np.where(u[done_comp] < p_high[done_comp], Stage.HIGH, Stage.NONE)
    done_high = (old == Stage.HIGH) & (age >= 18)
    stage[done_high] = np.where(u[done_high] < p_uni[done_high], Stage.UNIVERSITY, Stage.NONE)
    done_uni = (old == Stage.UNIVERSITY) & (age >= 22)
    stage[done_uni] = Stage.NONE

    drop = (
        (stage == Stage.COMPULSORY)
        & poor_hh[p.hh]
        & (u_drop < sch.dropout_poor * (1.0 - model.effects.school_barrier[p.hh]))
    )
    stage[drop] = Stage.NONE
    p.dropped_out |= drop
    # a dropout who reaches 16 is no longer of compulsory-school age
    p.dropped_out &= age < 16

    # graduates join the labour force with the skill their schooling bought
    left = (old >= Stage.COMPULSORY) & (stage == Stage.NONE)
    if left.any():
        e = p.edu_years[left].astype(np.float64)
        p.skill[left] = p.base_skill[left] * (1.0 + sch.years_primary_skill * np.maximum(e - 6, 0))
        p.skill[left] += np.where(e >= 15, sch.university_skill, 0.0)
