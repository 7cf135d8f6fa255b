"""microcredit (扶贫小额信贷): up to 50,000 yuan for up to 3 years, interest paid by the programme.

Eligibility: programme households with at least ``min_labour`` labour units, no outstanding loan
and no past default; a household takes the offer with probability ``take_up``. Cost to the
programme: the interest on outstanding loans while it runs (the principal is the bank's), and
``risk_cover`` of defaulted principal. Effect: ``invest_share`` of the loan becomes productive
assets (the rest is consumed). Repayment: the principal is due at the end of the term (到期还本,
the common form), paid out of income above subsistence, then savings; what is still owed is
extended once (展期, ``extensions``) for another term; at the final maturity the household also
sells assets at the distress discount (sim.model.economy.assets calls ``settle``), and whatever is still
missing is a default, of which the programme's risk fund pays ``risk_cover`` out of the year's unspent budget
while the programme runs, and the rest becomes the household's debt. After the phase-out the
household pays the interest itself. Failure modes: partial take-up,
modest returns below the asset threshold, default after shocks.
"""

from __future__ import annotations

import numpy as np

from sim.policies.base import book, serve


def allocate(model, ctx, budget: float) -> None:
    m = ctx.params.microcredit
    hh = model.hh
    take = ctx.rng.random(hh.n) < m.take_up  # one draw per household, always
    # commitments first: interest on outstanding loans
    out = np.flatnonzero(hh.loan > 0)
    if len(out):
        interest = hh.loan[out] * m.interest_rate
        k = int(np.searchsorted(np.cumsum(interest), budget * (1.0 + 1e-12), side="right"))
        budget -= book(model, "microcredit", out[:k], interest[:k])
        model.yr.loan_interest_paid = np.zeros(hh.n, dtype=bool)
        model.yr.loan_interest_paid[out[:k]] = True
    elig = (
        ctx.programme
        & (hh.loan <= 0)
        & ~hh.loan_defaulted
        & (hh.labour_units >= m.min_labour)
        & take
        & ctx.match(model, "microcredit")
    )
    queue = ctx.order(model, elig, "microcredit")
    first_year_interest = np.full(len(queue), m.amount * m.interest_rate)
    chosen, _ = serve(model, "microcredit", queue, first_year_interest, budget)
    if len(chosen) == 0:
        return
    hh.loan[chosen] = m.amount
    hh.loan_years_left[chosen] = m.term
    hh.assets[chosen] += m.amount * m.invest_share
    if not hasattr(model.yr, "loan_interest_paid"):
        model.yr.loan_interest_paid = np.zeros(hh.n, dtype=bool)
    model.yr.loan_interest_paid[chosen] = True


def unpaid_interest(model, rate: float) -> np.ndarray:
    """Interest the household pays itself (the programme did not pay it this year)."""
    hh = model.hh
    paid = getattr(model.yr, "loan_interest_paid", None)
    if paid is None:
        paid = np.zeros(hh.n, dtype=bool)
    return np.where((hh.loan > 0) & ~paid, hh.loan * rate, 0.0)


def settle(model, surplus: np.ndarray, params) -> np.ndarray:
    """Count down loan terms; at maturity repay or default. Returns the cash taken from surplus."""
    m = params.microcredit
    hh = model.hh
    used = np.zeros(hh.n)
    has = hh.loan > 0
    if not has.any():
        return used
    hh.loan_years_left[has] -= 1
    due = has & (hh.loan_years_left <= 0)
    if not due.any():
        return used
    owed = np.where(due, hh.loan, 0.0)
    from_surplus = np.minimum(np.maximum(surplus, 0.0), owed)
    owed -= from_surplus
    from_savings = np.minimum(hh.savings, owed)
    owed -= from_savings
    # a loan that cannot be repaid from income and savings is extended once (展期) for the rest
    extend = due & (owed > 1e-6) & (hh.loan_extensions < m.extensions)
    if extend.any():
        hh.savings -= np.where(extend, from_savings, 0.0)
        used += np.where(extend, from_surplus, 0.0)
        hh.loan[extend] = owed[extend]
        hh.loan_years_left[extend] = m.term
        hh.loan_extensions[extend] += 1
        due &= ~extend
        owed = np.where(due, owed, 0.0)
        from_surplus = np.where(due, from_surplus, 0.0)
        from_savings = np.where(due, from_savings, 0.0)
    keep = 1.0 - model.scenario.economy.distress_sale_discount
    sold = np.minimum(hh.assets, owed / max(keep, 1e-9))
    owed -= sold * keep
    owed = np.where(owed > 1e-6, owed, 0.0)
    hh.savings -= from_savings
    hh.assets -= sold
    used += from_surplus
    default = due & (owed > 0)
    hh.loan[due] = 0.0
    hh.loan_years_left[due] = 0
    hh.loan_extensions[due] = 0
    if default.any():
        covered = m.risk_cover * owed[default]
        idx = np.flatnonzero(default)
        if model.strategy.in_programme(model.year) and covered.sum() > 0:
            scale = min(1.0, model.ledger.available / covered.sum())
            book(model, "microcredit", idx, covered * scale)
            covered = covered * scale
        hh.debt[default] += owed[default] - covered
        hh.loan_defaulted[default] = True
    return used
