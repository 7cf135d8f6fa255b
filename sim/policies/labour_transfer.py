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

from collections import namedtuple

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Health, Stage, Work
from sim.model.kernels import columns, jit, row
from sim.model.rng import uniforms_at
from sim.policies.base import Instrument, serve


class Params(Strict):
    job_seeking_subsidy: NonNegFloat
    transport_subsidy: NonNegFloat
    agency_fee: NonNegFloat
    match_rate: Prob
    retention: Prob


WorkerPersons = namedtuple("WorkerPersons", "age stage health ent_job work placed")
NONE, LOCAL, MIGRANT = int(Stage.NONE), int(Work.LOCAL), int(Work.MIGRANT)
HEALTHY = int(Health.HEALTHY)


def workers(model, rows: np.ndarray) -> np.ndarray:
    """Per household of ``rows``: the member to organise, or -1. A candidate is able, healthy,
    of migrant age, out of school, without an enterprise job, not away last year and not placed
    (``work`` is last year's); the youngest candidate without wage work first, else the youngest
    local wage worker."""
    lo, _ = model.working_age
    return _workers(
        rows,
        model.person_start,
        columns(WorkerPersons, model.persons),
        int(lo),
        int(model.scenario.economy.migrant_age_max),
    )


@jit
def _workers(rows, start, persons, lo, top):
    """One pass over the persons of each household of ``rows`` (of equal ages, the first)."""
    age, stage, health = persons.age, persons.stage, persons.health
    ent_job, work, placed = persons.ent_job, persons.work, persons.placed
    out = np.full(len(rows), -1, dtype=np.int64)
    for j in range(len(rows)):
        h = row(rows[j])
        idle = local = -1
        for i in range(start[h], start[h + 1]):
            a = age[i]
            cand = (a >= lo) & (a <= top) & (stage[i] == NONE) & (health[i] == HEALTHY)
            cand &= (not ent_job[i]) & (work[i] != MIGRANT) & (not placed[i])
            if not cand:
                continue
            if work[i] != LOCAL:
                if idle < 0 or a < age[idle]:
                    idle = i
            elif local < 0 or a < age[local]:
                local = i
        out[j] = idle if idle >= 0 else local
    return out


def allocate(model, ctx, budget: float) -> None:
    t = ctx.params.labour_transfer
    rows = ctx.rows
    worker = workers(model, rows)
    pos = ctx.order_rows(
        model, (worker >= 0) & ctx.match_rows(model, "labour_transfer"), "labour_transfer"
    )
    if len(pos) == 0:
        return
    queue, worker = rows[pos], worker[pos]
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
