"""dibao (低保兜底): top income up to the dibao standard for households that cannot work.

Eligibility: programme households without labour capacity (or every registered poor household,
``instruments.dibao.eligibility = "registered"``) not already on the standing dibao. Cost: the
top-up, assessed on last year's own income (net income without programme transfers or standing
dibao), plus administration. Effect: a transfer this year. Lag: none. Duration: while the
programme runs; with ``standing_after_phase_out`` the enrolled move onto the standing scheme
when the programme ends. Failure modes: exclusion errors in registration; none in delivery.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sim.config.schema import Strict
from sim.model.codes import Category, Cause
from sim.model.kernels import columns, jit, row
from sim.policies.base import Instrument, serve


class Params(Strict):
    eligibility: Literal["no_labour", "registered"]
    standing_after_phase_out: bool
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


def own_income(hh) -> np.ndarray:
    """Last year's net income without programme transfers or standing dibao (the means test)."""
    return hh.net_income - hh.inc_transfers_programme - hh.inc_dibao_standing


DibaoHouseholds = namedtuple(
    "DibaoHouseholds",
    "size net_income inc_transfers_programme inc_dibao_standing dibao labour_units",
)


@jit
def _gaps(rows, hh, standard, no_labour):
    """At each of ``rows``: the top-up to the standard (:func:`own_income` as the means test),
    and whether the household may get it (not on the standing dibao, below the standard, and
    without labour if ``no_labour``): one pass instead of a dozen full-length arrays."""
    gap = np.empty(len(rows))
    ok = np.empty(len(rows), dtype=np.bool_)
    for j in range(len(rows)):
        h = row(rows[j])
        own = hh.net_income[h] - hh.inc_transfers_programme[h] - hh.inc_dibao_standing[h]
        g = max(standard * hh.size[h] - own, 0.0)
        gap[j] = g
        ok[j] = ~hh.dibao[h] & (g > 0) & (~no_labour | (hh.labour_units[h] <= 0.0))
    return gap, ok


def allocate(model, ctx, budget: float) -> None:
    p = ctx.params.dibao
    standard = model.scenario.dibao_standard(model.year)
    gap, ok = _gaps(
        ctx.rows, columns(DibaoHouseholds, model.hh), standard, p.eligibility == "no_labour"
    )
    pos = ctx.order_rows(model, ok & ctx.match_rows(model, "dibao"), "dibao")
    queue, gap = ctx.rows[pos], gap[pos]
    chosen, _ = serve(model, "dibao", queue, gap * (1.0 + p.admin_cost), budget)
    model.effects.transfers[chosen] += gap[: len(chosen)]
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
