"""dibao (低保兜底): top income up to the dibao standard for households that cannot work.

Eligibility: programme households without labour capacity (or every registered poor household,
``instruments.dibao.eligibility = "registered"``) not already on the standing dibao. Cost: the
top-up, assessed on last year's own income (net income without programme transfers or standing
dibao), plus administration. Effect: a transfer this year. Lag: none. Duration: while the
programme runs; with ``standing_after_phase_out`` the enrolled move onto the standing scheme
when the programme ends. Failure modes: exclusion errors in registration; none in delivery.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sim.config.schema import Strict
from sim.model.codes import Category, Cause
from sim.policies.base import Instrument, serve


class Params(Strict):
    eligibility: Literal["no_labour", "registered"]
    standing_after_phase_out: bool
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


def own_income(hh) -> np.ndarray:
    """Last year's net income without programme transfers or standing dibao (the means test)."""
    return hh.net_income - hh.inc_transfers_programme - hh.inc_dibao_standing


def allocate(model, ctx, budget: float) -> None:
    p = ctx.params.dibao
    hh = model.hh
    standard = model.scenario.dibao_standard(model.year) * hh.size
    gap = np.maximum(standard - own_income(hh), 0.0)
    elig = ctx.programme & ~hh.dibao & (gap > 0) & ctx.match(model, "dibao")
    if p.eligibility == "no_labour":
        elig &= hh.labour_units <= 0.0
    queue = ctx.order(model, elig, "dibao")
    chosen, _ = serve(model, "dibao", queue, gap[queue] * (1.0 + p.admin_cost), budget)
    model.effects.transfers[chosen] += gap[chosen]
    model.changes.enrol_programme_dibao(chosen)


def end_programme(model, params) -> None:
    """At phase-out, households the programme enrolled join the standing scheme (if so set)."""
    if params.dibao.standing_after_phase_out:
        model.changes.join_standing_dibao(model.hh.dibao_first >= 0)


INSTRUMENT = Instrument(
    name="dibao",
    params=Params,
    cause_match=int(Cause.LACK_LABOUR | Cause.DISABILITY),
    category=Category.DIBAO,
    effects=("transfers", "dibao_programme"),
    allocate=allocate,
    limit="households that cannot work (or all registered) below the dibao standard and not "
    "on the standing dibao",
)
