"""education_aid (教育扶贫): stipends per pupil and university grants.

Eligibility: programme households with pupils or students. Cost: the stipend per pupil by stage
(never more than the schooling cost). Effect: this year's schooling cost falls, and the poverty
barrier to going on to high school or university and the dropout risk fall next year by
``removes_barrier`` (控辍保学); graduates join the labour force with the skill their schooling
bought (sim.model.demography), so the effect on earnings comes years later. Duration: while the
programme runs. Failure modes: the earnings effect lags beyond a short horizon.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category, Stage
from sim.policies.base import Instrument, serve
from sim.policies.kernels import sum_of_table_at


class Params(Strict):
    compulsory: NonNegFloat
    high_school: NonNegFloat
    university: NonNegFloat
    removes_barrier: Prob


def allocate(model, ctx, budget: float) -> None:
    a = ctx.params.education_aid
    p = model.persons
    s = model.scenario.schooling
    price = model.line(model.year) / model.line(0)
    stipend = np.zeros(max(Stage) + 1)  # per pupil, by stage
    stipend[Stage.COMPULSORY] = min(a.compulsory, s.compulsory_cost * price)
    stipend[Stage.HIGH] = min(a.high_school, s.high_school_cost * price)
    stipend[Stage.UNIVERSITY] = min(a.university, s.university_cost * price)
    # stipends of the programme households' pupils only (persons are consecutive rows)
    rows = ctx.rows
    per_hh = sum_of_table_at(p.stage, stipend, rows, model.person_start)
    pos = ctx.order_rows(
        model, (per_hh > 0) & ctx.match_rows(model, "education_aid"), "education_aid"
    )
    chosen, paid = serve(model, "education_aid", rows[pos], per_hh[pos], budget)
    model.effects.schooling_aid[chosen] += paid
    model.effects.school_barrier[chosen] = a.removes_barrier


INSTRUMENT = Instrument(
    name="education_aid",
    params=Params,
    cause_match=None,
    category=Category.EDUCATION,
    effects=("schooling_aid", "school_barrier"),
    allocate=allocate,
    limit="programme households with pupils or students; a stipend never exceeds the "
    "schooling cost",
)
