"""industry (产业扶持 / 龙头企业带动): link labour-capable households to a leading enterprise.

Eligibility: programme households with at least ``min_labour`` labour units, not linked, while a
living enterprise has spare capacity. Cost: an input / asset grant at linking (it becomes
productive assets) and a yearly subsidy to the enterprise per linked programme household.
Effect: contract income at the enterprise's premium once the industry's lag has passed (pigs
within a year, tea and walnut after years), and an enterprise job for one working-age member
while jobs are free. Duration: as long as the enterprise lives — past the phase-out. Failure
modes: finite capacity (the rest wait), price swings in the industry, and enterprise failure,
which cuts every linked household at once (sim.model.shocks.enterprises).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category, Cause, Health, Stage
from sim.model.kernels import columns, jit
from sim.model.rng import uniforms, uniforms_at
from sim.policies.base import Instrument, book, serve
from sim.policies.kernels import count_in_group, rank_in_group, stable_order


class Params(Strict):
    grant: NonNegFloat
    enterprise_subsidy: NonNegFloat
    min_labour: NonNegFloat
    job_share: Prob


def allocate(model, ctx, budget: float) -> None:
    p = ctx.params.industry
    hh, e = model.hh, model.ent
    if e.n == 0:
        return
    rows = ctx.rows
    ent_rows = hh.enterprise[rows]
    # commitments first: the yearly subsidy for programme households already linked
    idx = rows[(ent_rows >= 0) & (hh.industry_first[rows] >= 0)]
    if len(idx) and p.enterprise_subsidy > 0:
        k = int(min(len(idx), budget // max(p.enterprise_subsidy, 1e-9)))
        paid = np.full(k, p.enterprise_subsidy)
        budget -= book(model, "industry", idx[:k], paid)

    # new links, while enterprises have room
    counts = count_in_group(hh.enterprise, e.n)
    spare = np.where(e.alive, np.maximum(e.capacity - counts, 0), 0)
    free = (ent_rows < 0) & (hh.labour_units[rows] >= p.min_labour)
    if spare.sum() == 0:
        model.changes.wait(rows[free])
        return
    queue = rows[ctx.order_rows(model, free & ctx.match_rows(model, "industry"), "industry")]
    slots = np.repeat(np.arange(e.n), spare)
    shuffle = uniforms(model.streams.key("industry.slots", model.year), len(slots))
    slots = slots[stable_order(np.arange(len(slots)), shuffle)]
    n_fit = min(len(queue), len(slots))
    model.changes.wait(queue[n_fit:])
    queue = queue[:n_fit]
    cost = np.full(len(queue), p.grant + p.enterprise_subsidy)
    chosen, _ = serve(model, "industry", queue, cost, budget)
    if len(chosen) == 0:
        return
    ent = slots[: len(chosen)]
    model.changes.link(chosen, ent)
    model.changes.grant_assets(chosen, p.grant)
    _assign_jobs(model, chosen, ent, p.job_share)


def _assign_jobs(model, households, ents, job_share) -> None:
    """One working-age member of each newly linked household takes a free enterprise job."""
    p, hh, e = model.persons, model.hh, model.ent
    lo, hi = model.working_age
    free = np.maximum(e.jobs - _jobs_held(p.ent_job, p.hh, hh.enterprise, e.n), 0)
    draw = uniforms_at(model.streams.key("industry.jobs", model.year), households)
    wants = draw < job_share
    households, ents = households[wants], ents[wants]
    if len(households) == 0:
        return
    # the first households of each enterprise, in queue order, while it has free jobs
    gets = rank_in_group(ents, e.n) < free[ents]
    # the first able member of each household that gets a job (only their persons are read)
    persons = columns(JobPersons, p)
    worker = _first_able(households[gets], model.person_start, persons, int(lo), int(hi))
    model.changes.hire(worker)


JobPersons = namedtuple("JobPersons", "age stage health ent_job")
NONE, DISABLED = int(Stage.NONE), int(Health.DISABLED)


@jit
def _jobs_held(ent_job, hh_of, enterprise, n_ent):
    """Enterprise jobs held per enterprise (a job holder's household is linked to it)."""
    used = np.zeros(n_ent, dtype=np.int64)
    for i in range(len(ent_job)):
        if ent_job[i] and enterprise[hh_of[i]] >= 0:
            used[enterprise[hh_of[i]]] += 1
    return used


@jit
def _first_able(households, start, p, lo, hi):
    """Each household's first member of working age, out of school, not disabled and without
    an enterprise job; households without one left out."""
    out = np.empty(len(households), dtype=np.int64)
    k = 0
    for h in households:
        for i in range(start[h], start[h + 1]):
            a = p.age[i]
            if (a >= lo) & (a <= hi) & (p.stage[i] == NONE) & (p.health[i] != DISABLED):
                if not p.ent_job[i]:
                    out[k] = i
                    k += 1
                    break
    return out[:k]


INSTRUMENT = Instrument(
    name="industry",
    params=Params,
    cause_match=int(Cause.LACK_CAPITAL | Cause.LACK_SKILL | Cause.LACK_LAND),
    category=Category.INDUSTRY,
    effects=("enterprise", "link_year", "assets", "ent_job", "work"),
    allocate=allocate,
    limit="enterprise capacity (free links) and programme households with labour",
)
