"""housing (危房改造): make an unsafe house safe — a 三保障 condition of the exit test.

Eligibility: programme households in an unsafe house. Cost: ``subsidy`` per household. Effect:
the house is safe from now on (a disaster can damage it again). Lag: none. Duration: permanent.
Failure modes: disasters; households outside the programme renovate only from savings.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Strict
from sim.policies.base import Instrument, serve


class Params(Strict):
    subsidy: NonNegFloat


def allocate(model, ctx, budget: float) -> None:
    h = ctx.params.housing
    hh = model.hh
    rows = ctx.rows
    elig = ~hh.house_safe[rows] & ctx.match_rows(model, "housing")
    queue = rows[ctx.order_rows(model, elig, "housing")]
    chosen, _ = serve(model, "housing", queue, np.full(len(queue), h.subsidy), budget)
    model.changes.make_safe(chosen)


INSTRUMENT = Instrument(
    name="housing",
    params=Params,
    cause_match=None,
    category=None,
    effects=("house_safe",),
    allocate=allocate,
    limit="programme households in an unsafe house",
)
