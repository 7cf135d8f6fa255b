"""public_jobs (公益岗位): village posts — cleaner, road keeper, forest ranger — for weak labour.

Eligibility: programme households with a member who can work but cannot migrate: of working age
up to ``max_age``, out of school, without an enterprise job, not a migrant last year, and older
than ``economy.migrant_age_max``, chronically ill or disabled, or caring for a disabled member of
the household. One post per household. Posts: ``post_share`` per registered household of the
village, at least one in a village with registered households; last year's holders are renewed
first (one-year appointments, 一年一聘), then the rest in the strategy's targeting order. Cost:
``monthly_pay`` for ``months`` a year, plus administration (accident insurance, supervision).
Effect: this year's wage income (``effects.wages``; inc_wage in the household frame). The posts
are part-time and do not take the holder away from the farm. Lag: none. Duration: while the
programme runs. Failure modes: the income stops at the phase-out (a return risk for households
that had no other earner); posts per village are few where the weak-labour poor are many.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Annotated

import numpy as np
from pydantic import Field

from sim.config.schema import NonNegFloat, Strict
from sim.model.codes import Cause, Health, Stage, Work
from sim.model.kernels import columns, jit, row
from sim.policies.base import Instrument, serve
from sim.policies.kernels import count_in_group_where, rank_in_group


class Params(Strict):
    monthly_pay: NonNegFloat
    months: Annotated[int, Field(ge=1, le=12)]
    post_share: Annotated[float, Field(ge=0.0, le=1.0)]
    max_age: Annotated[int, Field(ge=16, le=80)]
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


def weak_labour_households(model, max_age: int, among: np.ndarray | None = None) -> np.ndarray:
    """Households with a member who can hold a village post and cannot migrate (person arrays,
    last year's work): a member who can hold one and is weak (older than
    ``economy.migrant_age_max``, chronically ill or disabled), or one who can hold one and cares
    for a disabled member. ``among``: the households to look at (a mask or ascending indices;
    all if None), the others are False."""
    p = model.persons
    lo, _ = model.working_age
    if among is None:
        rows = np.arange(model.hh.n)
    else:
        rows = np.flatnonzero(among) if among.dtype == np.bool_ else among
    return _weak_labour(
        rows,
        model.person_start,
        columns(PostPersons, p),
        int(lo),
        int(max_age),
        int(model.scenario.economy.migrant_age_max),
    )


PostPersons = namedtuple("PostPersons", "age stage health ent_job work")
NONE, MIGRANT = int(Stage.NONE), int(Work.MIGRANT)
HEALTHY, DISABLED = int(Health.HEALTHY), int(Health.DISABLED)


@jit
def _weak_labour(rows, start, persons, lo, max_age, old):
    """One pass over the persons of each household of ``rows`` (consecutive rows)."""
    age, stage, health = persons.age, persons.stage, persons.health
    ent_job, work = persons.ent_job, persons.work
    out = np.zeros(len(start) - 1, dtype=np.bool_)
    for j in range(len(rows)):
        h = row(rows[j])  # unsigned indices: no wrap-around test at every access
        weak_can = can = disabled = False
        for i in range(row(start[h]), row(start[h + np.uint64(1)])):
            a = age[i]
            c = (a >= lo) & (a <= max_age) & (stage[i] == NONE) & ~ent_job[i]
            c &= work[i] != MIGRANT
            weak_can |= c & ((a > old) | (health[i] != HEALTHY))
            can |= c
            disabled |= health[i] == DISABLED
        out[h] = weak_can | (can & disabled)
    return out


def village_posts(model, post_share: float) -> np.ndarray:
    """Posts per village: ``post_share`` per registered household, at least one where any live."""
    hh = model.hh
    registered = count_in_group_where(hh.village, hh.registered, model.villages.n)
    return np.where(registered > 0, np.maximum(np.ceil(post_share * registered), 1), 0)


def allocate(model, ctx, budget: float) -> None:
    j = ctx.params.public_jobs
    hh = model.hh
    rows = ctx.rows
    elig = weak_labour_households(model, j.max_age, rows[ctx.match_rows(model, "public_jobs")])
    pos = ctx.order_rows(model, elig[rows], "public_jobs")
    # columns read in household order, then put in the queue's (see medical_aid)
    renewed = (hh.public_jobs_last[rows] == model.year - 1)[pos]
    pos = np.concatenate([pos[renewed], pos[~renewed]])
    queue = rows[pos]
    # rank of each household among the queued households of its village, in queue order
    vil = hh.village[rows][pos]
    fits = rank_in_group(vil, model.villages.n) < village_posts(model, j.post_share)[vil]
    model.changes.wait(queue[~fits])
    queue = queue[fits]
    pay = float(j.monthly_pay * j.months)
    chosen, _ = serve(
        model, "public_jobs", queue, np.full(len(queue), pay * (1.0 + j.admin_cost)), budget
    )
    model.effects.wages[chosen] += pay


INSTRUMENT = Instrument(
    name="public_jobs",
    params=Params,
    cause_match=int(Cause.LACK_LABOUR | Cause.DISABILITY | Cause.ILLNESS),
    category=None,
    effects=("wages",),
    allocate=allocate,
    limit="village posts (post_share) and weak-labour members who can hold one",
)
