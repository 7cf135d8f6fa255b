"""monitoring (防返贫监测): watch households at risk and help them before they fall.

Eligibility: households flagged at risk this year (not on the active register; income under
``identification.monitoring_line`` times the line, or a rigid-spending spike). Cost: a
monitoring cost per flagged household, and ``assistance`` for those in the most danger (income
under 1.1 times the line or a spike), poorest first. Effect: a one-off transfer this year.
Duration: while the programme runs. Failure modes: flags use last year's income, so a sudden
fall this year is seen late; households that hide income are not flagged.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Strict
from sim.model.identification import MonitoringHouseholds, _spiked
from sim.model.kernels import columns, jit
from sim.policies.base import Instrument, book, serve


class Params(Strict):
    assistance: NonNegFloat
    cost_per_flag: NonNegFloat


@jit
def _in_danger(idx, hh, low, spike):
    """At each of ``idx``: income under ``low`` last year, or rigid spending spiked this year
    (the identification phase's rule, read after this year's medical aid)."""
    out = np.empty(len(idx), dtype=np.bool_)
    for j in range(len(idx)):
        h = idx[j]
        out[j] = (hh.prev_income_pc[h] < low) | _spiked(hh, h, spike)
    return out


@jit
def _flagged(at_risk, last, year):
    """``np.flatnonzero(at_risk & (last != year))`` in one pass over the county."""
    out = np.empty(len(at_risk), dtype=np.int64)
    k = 0
    for h in range(len(at_risk)):
        out[k] = h
        k += at_risk[h] & (last[h] != year)  # no branch: a fifth of the county is flagged
    return out[:k]


def allocate(model, ctx, budget: float) -> None:
    m = ctx.params.monitoring
    hh = model.hh
    # flagged households are outside the programme, so a later pass of the strategy (budget
    # reallocation) leaves out the ones already served this year itself
    idx = _flagged(hh.at_risk, hh.monitoring_last, model.year)
    idx = idx[ctx.match_at(model, "monitoring", idx)]
    k = (
        int(min(len(idx), budget // max(m.cost_per_flag, 1e-9)))
        if m.cost_per_flag > 0
        else len(idx)
    )
    budget -= book(model, "monitoring", idx[:k], np.full(k, m.cost_per_flag))
    line = model.line(model.year - 1)
    spike = model.scenario.identification.spending_spike
    danger = idx[_in_danger(idx, columns(MonitoringHouseholds, hh), 1.1 * line, spike)]
    queue = ctx.order_indices(model, danger, "monitoring")
    chosen, _ = serve(model, "monitoring", queue, np.full(len(queue), m.assistance), budget)
    model.effects.transfers[chosen] += m.assistance


INSTRUMENT = Instrument(
    name="monitoring",
    params=Params,
    cause_match=None,
    category=None,
    effects=("transfers",),
    allocate=allocate,
    limit="households flagged at risk",
)
