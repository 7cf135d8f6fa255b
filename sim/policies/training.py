"""training (技能培训, menu-style): raise one working-age member's skill.

Eligibility: programme households with an able working-age member out of school and no older
than ``max_age``; once per household. Cost: ``cost_per_person`` per trainee. Effect: the
trainee's skill rises by a random share (mean ``effect_mean``, sd ``effect_sd``, negative draws
count as zero), which raises the chance of migrant and local work and their pay from next
income phase on. Duration: permanent. Failure modes: small and uncertain effects; households
without labour gain nothing (they are not eligible).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from sim.config.schema import NonNegFloat, Strict
from sim.model.codes import Category, Cause, Health, Stage
from sim.model.rng import normals_at
from sim.policies.base import Instrument, serve
from sim.policies.kernels import first_youngest, or_per_household


class Params(Strict):
    cost_per_person: NonNegFloat
    effect_mean: Annotated[float, Field(ge=-1.0, le=5.0)]
    effect_sd: NonNegFloat
    max_age: Annotated[int, Field(ge=16, le=80)]


def allocate(model, ctx, budget: float) -> None:
    t = ctx.params.training
    hh, p = model.hh, model.persons
    lo, _ = model.working_age
    cand = (
        (p.age >= lo)
        & (p.age <= t.max_age)
        & (p.stage == Stage.NONE)
        & (p.health != Health.DISABLED)
    )
    has_cand = or_per_household(cand, p.hh, hh.n)
    elig = ctx.programme & has_cand & (hh.training_first < 0) & ctx.match(model, "training")
    queue = ctx.order(model, elig, "training")
    chosen, _ = serve(model, "training", queue, np.full(len(queue), t.cost_per_person), budget)
    # the youngest candidate of each household is trained (of equals, the first listed)
    trainee = np.sort(first_youngest(cand, chosen, model.person_start, p.age))
    # each trainee's gain: a draw of the person's row (the same under every strategy)
    z = normals_at(model.streams.key("training.gain", model.year), trainee)
    gain = t.effect_mean + t.effect_sd * z
    model.changes.train(trainee, gain)


INSTRUMENT = Instrument(
    name="training",
    params=Params,
    cause_match=int(Cause.LACK_SKILL),
    category=Category.INDUSTRY,
    effects=("skill", "base_skill"),
    allocate=allocate,
    limit="programme households with an untrained working-age member",
)
