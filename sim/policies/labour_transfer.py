"""labour_transfer (劳务输出 / 转移就业 / 东西部劳务协作): organised placement in migrant work.

Eligibility: programme households with an idle member — healthy, of working age and no older
than ``economy.migrant_age_max``, out of school, without an enterprise job, not away last year
and not already placed. One worker a year per household: the youngest member without wage work,
else the youngest local wage worker (those have the most to gain and the longest working life
away). Cost: ``job_seeking_subsidy`` for every worker organised; ``transport_subsidy`` and the
agency's ``agency_fee`` for each one placed. Effect: with chance ``match_rate`` the worker is
matched to a job (a draw of the person's row) and is placed (``model.changes.place``): away this
year for sure, at the migrant pay of the worker's skill (inc_migrant), then kept each later year
with chance ``retention`` (sim.model.labour): some come back. Lag: none. Duration: while the
worker stays away, after the programme too. Failure modes: households without able, healthy
labour gain nothing; placements wear off (retention below 1); a worker who comes back may be
organised again only while the programme runs.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Health, Stage, Work
from sim.model.rng import uniforms_at
from sim.policies.base import Instrument, serve
from sim.policies.kernels import first_youngest, or_per_household


class Params(Strict):
    job_seeking_subsidy: NonNegFloat
    transport_subsidy: NonNegFloat
    agency_fee: NonNegFloat
    match_rate: Prob
    retention: Prob


def candidates(model) -> tuple[np.ndarray, np.ndarray]:
    """Per person: who may be placed (able, healthy, of migrant age, out of school, no enterprise
    job, not away last year, not placed), and of those, who has no wage work (``work`` is last
    year's)."""
    p = model.persons
    lo, _ = model.working_age
    top = int(model.scenario.economy.migrant_age_max)
    able = (p.age >= lo) & (p.age <= top) & (p.stage == Stage.NONE) & (p.health == Health.HEALTHY)
    cand = able & ~p.ent_job & (p.work != Work.MIGRANT) & ~p.placed
    return cand, cand & (p.work != Work.LOCAL)


def allocate(model, ctx, budget: float) -> None:
    t = ctx.params.labour_transfer
    hh, p = model.hh, model.persons
    cand, idle = candidates(model)
    elig = ctx.programme & or_per_household(cand, p.hh, hh.n) & ctx.match(model, "labour_transfer")
    queue = ctx.order(model, elig, "labour_transfer")
    if len(queue) == 0:
        return
    # the worker of each queued household, in queue order: the youngest idle member, else the
    # youngest local wage worker
    has_idle = or_per_household(idle, p.hh, hh.n)[queue]
    worker = np.empty(len(queue), dtype=np.int64)
    worker[has_idle] = first_youngest(idle, queue[has_idle], model.person_start, p.age)
    worker[~has_idle] = first_youngest(cand, queue[~has_idle], model.person_start, p.age)
    # matched or not: a draw of the worker's row, the same in every pass of the year
    matched = uniforms_at(model.streams.key("labour_transfer.match", model.year), worker)
    matched = matched < t.match_rate
    costs = t.job_seeking_subsidy + matched * (t.transport_subsidy + t.agency_fee)
    chosen, _ = serve(model, "labour_transfer", queue, costs, budget)
    k = len(chosen)
    model.changes.place(worker[:k][matched[:k]])


INSTRUMENT = Instrument(
    name="labour_transfer",
    params=Params,
    # employment support was for every registered household with labour, whatever its recorded
    # cause (就业扶贫是针对全部建档立卡贫困人口实施的精准帮扶措施, LGOP 2020); eligibility itself
    # asks for an idle, able member
    cause_match=None,
    category=None,
    effects=("placed",),
    allocate=allocate,
    limit="programme households with an idle, healthy member young enough to work away",
)
