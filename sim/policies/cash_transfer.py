"""cash_transfer: unconditional transfers to programme households — pure transfusion (输血).

Eligibility: programme households. Cost: the instrument's budget is shared equally per person
(or per household) among the eligible, up to ``max_per_person``, plus administration. Effect: a
transfer this year only (what is saved and invested out of it persists through the asset
phase). Lag: none. Duration: while the programme runs. Failure modes: income falls back when it
stops; with ``instruments.dependency.enabled`` recipients work less.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sim.config.schema import NonNegFloat, Strict
from sim.policies.base import Instrument, serve


class Params(Strict):
    max_per_person: NonNegFloat
    per: Literal["person", "household"]
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


def allocate(model, ctx, budget: float) -> None:
    p = ctx.params.cash_transfer
    hh = model.hh
    rows = ctx.rows
    pos = ctx.order_rows(model, ctx.match_rows(model, "cash_transfer"), "cash_transfer")
    if len(pos) == 0:
        return
    queue = rows[pos]
    mean_size = float(hh.size.mean())
    units = (  # sizes read in household order, then put in the queue's (see medical_aid)
        hh.size[rows][pos].astype(np.float64)
        if p.per == "person"
        else np.full(len(queue), mean_size)
    )
    per_unit = min(p.max_per_person, budget / ((1.0 + p.admin_cost) * units.sum()))
    amount = per_unit * units
    chosen, _ = serve(model, "cash_transfer", queue, amount * (1.0 + p.admin_cost), budget)
    model.effects.transfers[chosen] += amount[: len(chosen)]


INSTRUMENT = Instrument(
    name="cash_transfer",
    params=Params,
    cause_match=None,
    category=None,
    effects=("transfers",),
    allocate=allocate,
    limit="the cap per person (max_per_person) times the programme households' people",
)
