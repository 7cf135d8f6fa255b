"""medical_aid (健康扶贫 / 医疗救助): layered cover above basic rural insurance for the registered.

Eligibility: programme households (a 三保障 guarantee). Cost: the premium for the uninsured
(which enrols them in basic insurance), extra reimbursement of inpatient and chronic
outpatient cost, and whatever is needed to cap the household's out-of-pocket cost at
``oop_cap``. Effect: this year's out-of-pocket medical cost falls; illness pushes fewer
households back. Lag: none. Duration: while the programme runs. Failure modes: the budget runs
out before the sickest households are covered (queue order); costs grow faster than budgets.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category
from sim.model.shocks import insured_share
from sim.policies.base import Instrument, serve


class Params(Strict):
    extra_reimbursement: Prob
    outpatient_extra: Prob
    oop_cap: NonNegFloat
    premium: NonNegFloat


def allocate(model, ctx, budget: float) -> None:
    m = ctx.params.medical_aid
    hh = model.hh
    ins = model.scenario.shocks.insurance
    rows = ctx.rows
    pos = ctx.order_rows(model, ctx.match_rows(model, "medical_aid"), "medical_aid")
    if len(pos) == 0:
        return
    queue = rows[pos]
    # read in household order, then put in the queue's: reading a column in the queue's
    # (random) order misses the cache at nearly every household
    acute, chronic = model.yr.med_acute[rows][pos], model.yr.med_chronic[rows][pos]
    uninsured = ~hh.insured[rows][pos]
    premium = np.where(uninsured & ins.enabled, m.premium * hh.size[rows][pos], 0.0)
    basic = ins.enabled * insured_share(
        acute, chronic, ins.reimbursement, ins.outpatient_reimbursement
    )
    extra = m.extra_reimbursement * acute + m.outpatient_extra * chronic
    oop = np.maximum(acute + chronic - basic - extra, 0.0)
    cap = np.maximum(oop - m.oop_cap, 0.0)
    cost = premium + extra + cap
    chosen, _ = serve(model, "medical_aid", queue, cost, budget)
    k = len(chosen)
    if k == 0:
        return
    if ins.enabled:
        model.changes.insure(chosen)
    model.changes.set_medical_cost(chosen, oop[:k] - cap[:k])


INSTRUMENT = Instrument(
    name="medical_aid",
    params=Params,
    cause_match=None,
    category=Category.MEDICAL,
    effects=("insured", "sp_medical"),
    allocate=allocate,
    limit="programme households' medical costs (the extras and the cap)",
)
