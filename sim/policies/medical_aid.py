"""medical_aid (健康扶贫 / 医疗救助): layered cover above basic rural insurance for the registered.

Eligibility: programme households (a 三保障 guarantee). Cost: the premium for the uninsured
(which enrols them in basic insurance), extra reimbursement of inpatient and chronic
outpatient cost, and whatever is needed to cap the household's out-of-pocket cost at
``oop_cap``. Effect: this year's out-of-pocket medical cost falls; illness pushes fewer
households back. Lag: none. Duration: while the programme runs. Failure modes: the budget runs
out before the sickest households are covered (queue order); costs grow faster than budgets.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category
from sim.model.kernels import columns, jit, row
from sim.model.shocks import insured_share
from sim.policies.base import Instrument, serve


class Params(Strict):
    extra_reimbursement: Prob
    outpatient_extra: Prob
    oop_cap: NonNegFloat
    premium: NonNegFloat


MedicalHouseholds = namedtuple("MedicalHouseholds", "med_acute med_chronic insured size")


@jit
def _positive(x):
    """``np.maximum(x, 0.0)`` for one value (NaN stays NaN)."""
    return x if (x >= 0.0) | (x != x) else 0.0


@jit
def _costs(rows, hh, enabled, reimbursement, outpatient, m_premium, m_extra, m_outpatient, cap):
    """At each of ``rows`` (household order, so that the columns are read in order): the cost to
    the programme (premium, extras, the cap's top-up) and the out-of-pocket cost left, in one
    pass; the numpy of :func:`allocate`'s rule, operation for operation."""
    cost = np.empty(len(rows))
    left = np.empty(len(rows))
    for j in range(len(rows)):
        h = row(rows[j])
        acute, chronic = hh.med_acute[h], hh.med_chronic[h]
        premium = m_premium * hh.size[h] if (not hh.insured[h]) & enabled else 0.0
        basic = enabled * insured_share(acute, chronic, reimbursement, outpatient)
        extra = m_extra * acute + m_outpatient * chronic
        oop = _positive(acute + chronic - basic - extra)
        top_up = _positive(oop - cap)
        cost[j] = premium + extra + top_up
        left[j] = oop - top_up
    return cost, left


def allocate(model, ctx, budget: float) -> None:
    m = ctx.params.medical_aid
    ins = model.scenario.shocks.insurance
    rows = ctx.rows
    pos = ctx.order_rows(model, ctx.match_rows(model, "medical_aid"), "medical_aid")
    if len(pos) == 0:
        return
    queue = rows[pos]
    # computed in household order, then put in the queue's: reading a column in the queue's
    # (random) order misses the cache at nearly every household
    cost, left = _costs(
        rows,
        columns(MedicalHouseholds, model.yr, model.hh),
        bool(ins.enabled),
        float(ins.reimbursement),
        float(ins.outpatient_reimbursement),
        float(m.premium),
        float(m.extra_reimbursement),
        float(m.outpatient_extra),
        float(m.oop_cap),
    )
    chosen, _ = serve(model, "medical_aid", queue, cost[pos], budget)
    k = len(chosen)
    if k == 0:
        return
    if ins.enabled:
        model.changes.insure(chosen)
    model.changes.set_medical_cost(chosen, left[pos[:k]])


INSTRUMENT = Instrument(
    name="medical_aid",
    params=Params,
    cause_match=None,
    category=Category.MEDICAL,
    effects=("insured", "sp_medical"),
    allocate=allocate,
    limit="programme households' medical costs (the extras and the cap)",
)
