"""relocation (易地扶贫搬迁): move households from remote or disaster-prone villages to a site.

Eligibility: programme households in villages with remoteness >= ``min_remoteness`` or disaster
risk >= ``min_disaster_risk`` (or in the relocation category), not relocated before. Cost: a
large cost per person paid by the programme, plus the household's own capped contribution from
its savings, plus follow-up employment support. Effect: the household moves to a resettlement
site near a town — a safe house, low disaster risk and remoteness — farms only ``land_kept`` of
its land (the rest is let out), and its workers' chance of local work is scaled by
``job_access_with_support`` or ``job_access_without_support``. Lag: none. Duration: permanent.
Failure modes: without employment support the move cuts farm income and adds little work
(搬得出、稳得住、能致富 — the speeches' warning).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category, Cause
from sim.model.kernels import columns, jit, row
from sim.policies.base import Instrument, serve


class Params(Strict):
    cost_per_person: NonNegFloat
    household_contribution: NonNegFloat
    household_contribution_cap: NonNegFloat
    land_kept: Prob
    employment_support: bool
    employment_support_cost: NonNegFloat
    job_access_with_support: NonNegFloat
    job_access_without_support: NonNegFloat
    min_remoteness: Prob
    min_disaster_risk: Prob


RelocationHouseholds = namedtuple(
    "RelocationHouseholds", "relocated_year village recorded_category size"
)
RELOCATION = int(Category.RELOCATION)


@jit
def _eligible(rows, hh, site, remote, cost_per_person, support):
    """At each of ``rows``: whether the household may move (not relocated, not on a site, in a
    remote or disaster-prone village or in the relocation category) and what its move costs,
    in one pass."""
    ok = np.empty(len(rows), dtype=np.bool_)
    cost = np.empty(len(rows))
    for j in range(len(rows)):
        h = row(rows[j])
        v = hh.village[h]
        own = remote[v] | (hh.recorded_category[h] == RELOCATION)
        ok[j] = (hh.relocated_year[h] < 0) & (not site[v]) & own
        cost[j] = cost_per_person * hh.size[h] + support
    return ok, cost


def allocate(model, ctx, budget: float) -> None:
    p = ctx.params.relocation
    hh, v = model.hh, model.villages
    sites = np.flatnonzero(v.site)
    if len(sites) == 0:
        return
    remote = (v.remoteness >= p.min_remoteness) | (v.disaster_risk >= p.min_disaster_risk)
    rows = ctx.rows
    support = p.employment_support_cost if p.employment_support else 0.0
    ok, cost = _eligible(
        rows,
        columns(RelocationHouseholds, hh),
        v.site,
        remote,
        float(p.cost_per_person),
        float(support),
    )
    pos = ctx.order_rows(model, ok & ctx.match_rows(model, "relocation"), "relocation")
    queue, cost = rows[pos], cost[pos]
    chosen, _ = serve(model, "relocation", queue, cost, budget)
    if len(chosen) == 0:
        return
    contribution = np.minimum(
        np.minimum(p.household_contribution * hh.size[chosen], p.household_contribution_cap),
        hh.savings[chosen],
    )
    access = p.job_access_with_support if p.employment_support else p.job_access_without_support
    site = sites[np.arange(len(chosen)) % len(sites)]
    model.changes.relocate(chosen, site, contribution, p.land_kept, access)


INSTRUMENT = Instrument(
    name="relocation",
    params=Params,
    cause_match=int(Cause.REMOTE | Cause.DISASTER | Cause.LACK_WATER),
    category=Category.RELOCATION,
    effects=(
        "village",
        "house_safe",
        "relocated_year",
        "land",
        "land_let",
        "job_access",
        "savings",
    ),
    allocate=allocate,
    limit="programme households in remote or disaster-prone villages (resettlement places)",
)
