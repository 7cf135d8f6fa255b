"""infrastructure (基础设施): roads, water and power for poor villages.

Eligibility: villages (registered poor villages only, unless ``poor_villages_only`` is off) where
programme households live and the infrastructure index is below 0.95; the villages with the
most programme households go first. Cost: ``cost_per_village``, spread over the village's
households in the household frame. Effect: the village's infrastructure index rises (farm
productivity and local-job chances) and its remoteness falls (market access) for every
household in it, registered or not. Lag: none. Duration: permanent. Failure modes: it helps the
non-poor of the village as much as the poor; its money is not spent on households.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Cause
from sim.model.kernels import jit
from sim.policies.base import Instrument, book

# An index this high is a village whose roads, water and power are already in place: the
# instrument's gain would be cut off at 1 anyway. A definition of "done", not an estimate.
BUILT_UP = 0.95


class Params(Strict):
    cost_per_village: NonNegFloat
    infrastructure_gain: Prob
    remoteness_cut: Prob
    poor_villages_only: bool


@jit
def households_in(chosen, village):
    """The households living in the ``chosen`` villages (ascending) and their villages, in one
    pass over the county."""
    idx = np.empty(len(village), dtype=np.int64)
    k = 0
    for h in range(len(village)):
        if chosen[village[h]]:
            idx[k] = h
            k += 1
    idx = idx[:k]
    return idx, village[idx]


def allocate(model, ctx, budget: float) -> None:
    q = ctx.params.infrastructure
    hh, v = model.hh, model.villages
    served = ctx.rows[ctx.match_rows(model, "infrastructure")]
    served_village = hh.village[served]
    prog_count = np.bincount(served_village, minlength=v.n)
    elig_v = (prog_count > 0) & (v.infrastructure < BUILT_UP) & ~v.site
    if q.poor_villages_only:
        elig_v &= v.poor
    vid = np.flatnonzero(elig_v)
    vid = vid[np.lexsort((vid, -prog_count[vid]))]
    k = (
        int(min(len(vid), budget // max(q.cost_per_village, 1e-9)))
        if q.cost_per_village > 0
        else len(vid)
    )
    left_out = np.zeros(v.n, dtype=bool)
    left_out[vid[k:]] = True
    model.changes.wait(served[left_out[served_village]])
    vid = vid[:k]
    if len(vid) == 0:
        return
    model.changes.build(vid, q.infrastructure_gain, q.remoteness_cut)
    built = np.zeros(v.n, dtype=bool)
    built[vid] = True
    idx, village = households_in(built, hh.village)
    per_village = np.bincount(village, minlength=v.n)
    cost = q.cost_per_village / per_village[village]
    # every chosen village has programme households (prog_count > 0), so the whole cost is
    # spread over households and booked with them
    book(model, "infrastructure", idx, cost)


INSTRUMENT = Instrument(
    name="infrastructure",
    params=Params,
    cause_match=int(Cause.REMOTE | Cause.LACK_WATER | Cause.LACK_LAND | Cause.DISASTER),
    category=None,
    effects=("infrastructure", "remoteness"),
    allocate=allocate,
    limit="villages with programme households whose infrastructure is not yet built up",
)
