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

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category, Cause, Health, Stage
from sim.model.rng import uniforms, uniforms_at
from sim.policies.base import Instrument, book, serve
from sim.policies.kernels import first_flagged, rank_in_group


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
    # commitments first: the yearly subsidy for programme households already linked
    linked = ctx.programme & (hh.enterprise >= 0) & (hh.industry_first >= 0)
    idx = np.flatnonzero(linked)
    if len(idx) and p.enterprise_subsidy > 0:
        k = int(min(len(idx), budget // max(p.enterprise_subsidy, 1e-9)))
        paid = np.full(k, p.enterprise_subsidy)
        budget -= book(model, "industry", idx[:k], paid)

    # new links, while enterprises have room
    counts = np.bincount(hh.enterprise[hh.enterprise >= 0], minlength=e.n)
    spare = np.where(e.alive, np.maximum(e.capacity - counts, 0), 0)
    if spare.sum() == 0:
        model.changes.wait(ctx.programme & (hh.enterprise < 0) & (hh.labour_units >= p.min_labour))
        return
    elig = (
        ctx.programme
        & (hh.enterprise < 0)
        & (hh.labour_units >= p.min_labour)
        & ctx.match(model, "industry")
    )
    queue = ctx.order(model, elig, "industry")
    slots = np.repeat(np.arange(e.n), spare)
    shuffle = uniforms(model.streams.key("industry.slots", model.year), len(slots))
    slots = slots[np.argsort(shuffle, kind="stable")]
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
    used = (
        np.bincount(hh.enterprise[p.hh[p.ent_job]], minlength=e.n)
        if p.ent_job.any()
        else np.zeros(e.n, dtype=np.int64)
    )
    free = np.maximum(e.jobs - used, 0)
    draw = uniforms_at(model.streams.key("industry.jobs", model.year), households)
    wants = draw < job_share
    households, ents = households[wants], ents[wants]
    if len(households) == 0:
        return
    # the first households of each enterprise, in queue order, while it has free jobs
    gets = rank_in_group(ents, e.n) < free[ents]
    able = (
        (p.age >= lo)
        & (p.age <= hi)
        & (p.stage == Stage.NONE)
        & (p.health != Health.DISABLED)
        & ~p.ent_job
    )
    # the first able member of each household that gets a job
    worker = first_flagged(able, households[gets], model.person_start)
    model.changes.hire(worker)


INSTRUMENT = Instrument(
    name="industry",
    params=Params,
    cause_match=int(Cause.LACK_CAPITAL | Cause.LACK_SKILL | Cause.LACK_LAND),
    category=Category.INDUSTRY,
    effects=("enterprise", "link_year", "assets", "ent_job", "work"),
    allocate=allocate,
    limit="enterprise capacity (free links) and programme households with labour",
)
