"""training (技能培训, menu-style): raise one working-age member's skill.

Eligibility: programme households with an able working-age member out of school and no older
than ``max_age``; once per household. Cost: ``cost_per_person`` per trainee. Effect: the
trainee's skill rises by a random share (mean ``effect_mean``, sd ``effect_sd``, negative draws
count as zero), which raises the chance of migrant and local work and their pay from next
income phase on. Duration: permanent. Failure modes: small and uncertain effects; households
without labour gain nothing (they are not eligible).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Annotated

import numpy as np
from pydantic import Field

from sim.config.schema import NonNegFloat, Strict
from sim.model.codes import Category, Cause, Health, Stage
from sim.model.kernels import columns, jit, row
from sim.model.rng import normals_at
from sim.policies.base import Instrument, serve


class Params(Strict):
    cost_per_person: NonNegFloat
    effect_mean: Annotated[float, Field(ge=-1.0, le=5.0)]
    effect_sd: NonNegFloat
    max_age: Annotated[int, Field(ge=16, le=80)]


TrainingPersons = namedtuple("TrainingPersons", "age stage health")
NONE, DISABLED = int(Stage.NONE), int(Health.DISABLED)


@jit
def _candidate(p, i, lo, max_age):
    """Whether person ``i`` can be trained: working age up to ``max_age``, out of school, able."""
    a = p.age[i]
    return (a >= lo) & (a <= max_age) & (p.stage[i] == NONE) & (p.health[i] != DISABLED)


@jit
def _has_candidate(rows, start, p, lo, max_age):
    """Per household of ``rows``: whether any member is a :func:`_candidate` (only the
    programme households' persons are read)."""
    out = np.zeros(len(rows), dtype=np.bool_)
    for j in range(len(rows)):
        h = row(rows[j])  # unsigned indices: no wrap-around test at every access
        for i in range(row(start[h]), row(start[h + np.uint64(1)])):
            if _candidate(p, i, lo, max_age):
                out[j] = True
                break
    return out


@jit
def _youngest_candidate(households, start, p, lo, max_age):
    """Each household's youngest :func:`_candidate` (of equals, the first listed), households
    without one left out."""
    out = np.empty(len(households), dtype=np.int64)
    k = 0
    for h in households:
        best = -1
        for i in range(start[h], start[h + 1]):
            if _candidate(p, i, lo, max_age) and (best < 0 or p.age[i] < p.age[best]):
                best = i
        if best >= 0:
            out[k] = best
            k += 1
    return out[:k]


def allocate(model, ctx, budget: float) -> None:
    t = ctx.params.training
    hh, rows = model.hh, ctx.rows
    lo, _ = model.working_age
    persons, start = columns(TrainingPersons, model.persons), model.person_start
    has_cand = _has_candidate(rows, start, persons, int(lo), int(t.max_age))
    elig = has_cand & (hh.training_first[rows] < 0) & ctx.match_rows(model, "training")
    queue = rows[ctx.order_rows(model, elig, "training")]
    chosen, _ = serve(model, "training", queue, np.full(len(queue), t.cost_per_person), budget)
    # the youngest candidate of each household is trained (of equals, the first listed)
    trainee = np.sort(_youngest_candidate(chosen, start, persons, int(lo), int(t.max_age)))
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
