"""Poverty microcredit after the loan is made: the yearly settlement the economy runs.

The ``microcredit`` instrument (sim.policies) makes loans; from then on the loan is the
household's: each year the asset phase counts its term down, and at maturity the principal is
repaid out of income above subsistence, then savings; what is still owed is extended once (展期)
for another term, and at the final maturity the household sells assets at the distress discount;
whatever is still missing is a default. While the programme runs its risk fund pays
``risk_cover`` of a default out of the year's unspent budget (booked to ``microcredit``); after
the phase-out there is no programme money and no fund, and the whole default becomes the
household's debt, as does whatever the fund could not pay (docs/ODD.md §7.12). Every yuan of
principal is on the ledger's credit flows: lent = repaid + defaulted + outstanding, defaulted =
risk_fund + to_debt. The terms are the strategy's ``params.microcredit``.
"""

from __future__ import annotations

import numpy as np

from sim.model.effects import book


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
        model.ledger.flow("repaid", float(np.sum((from_surplus + from_savings)[extend])))
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
    # what the loans due were, less what defaults: repaid (a default under 1e-6 counts as repaid)
    model.ledger.flow("repaid", float(np.sum(hh.loan[due]) - np.sum(owed[default])))
    hh.loan[due] = 0.0
    hh.loan_years_left[due] = 0
    hh.loan_extensions[due] = 0
    if default.any():
        _default(model, m, np.flatnonzero(default), owed[default])
    return used


def _default(model, m, idx: np.ndarray, owed: np.ndarray) -> None:
    """The risk fund pays its share while the programme runs and has money; the rest is debt."""
    covered = np.zeros(len(idx))
    if model.strategy.in_programme(model.year) and m.risk_cover > 0:
        claim = m.risk_cover * owed
        scale = min(1.0, model.ledger.available / claim.sum())
        if scale > 0:
            covered = claim * scale
            book(model, "microcredit", idx, covered)
    hh = model.hh
    hh.debt[idx] += owed - covered
    hh.loan_defaulted[idx] = True
    model.ledger.flow("defaulted", float(owed.sum()))
    model.ledger.flow("risk_fund", float(covered.sum()))
    model.ledger.flow("to_debt", float((owed - covered).sum()))
