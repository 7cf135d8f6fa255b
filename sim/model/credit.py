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
    """Count down loan terms; at maturity repay or default. Returns the cash taken from surplus.
    Works on the rows of the households with a loan only (a few percent of the county)."""
    m = params.microcredit
    hh = model.hh
    used = np.zeros(hh.n)
    has = np.flatnonzero(hh.loan > 0)
    if len(has) == 0:
        return used
    hh.loan_years_left[has] -= 1
    due = has[hh.loan_years_left[has] <= 0]
    if len(due) == 0:
        return used
    owed = hh.loan[due].copy()
    from_surplus = np.minimum(np.maximum(surplus[due], 0.0), owed)
    owed -= from_surplus
    from_savings = np.minimum(hh.savings[due], owed)
    owed -= from_savings
    # a loan that cannot be repaid from income and savings is extended once (展期) for the rest
    extend = (owed > 1e-6) & (hh.loan_extensions[due] < m.extensions)
    if extend.any():
        e = due[extend]
        hh.savings[e] -= from_savings[extend]
        used[e] += from_surplus[extend]
        model.ledger.flow("repaid", float(np.sum((from_surplus + from_savings)[extend])))
        hh.loan[e] = owed[extend]
        hh.loan_years_left[e] = m.term
        hh.loan_extensions[e] += 1
        rest = ~extend
        due, owed = due[rest], owed[rest]
        from_surplus, from_savings = from_surplus[rest], from_savings[rest]
    keep = 1.0 - model.scenario.economy.distress_sale_discount
    sold = np.minimum(hh.assets[due], owed / max(keep, 1e-9))
    owed -= sold * keep
    owed = np.where(owed > 1e-6, owed, 0.0)
    hh.savings[due] -= from_savings
    hh.assets[due] -= sold
    used[due] += from_surplus
    default = owed > 0
    # what the loans due were, less what defaults: repaid (a default under 1e-6 counts as repaid)
    model.ledger.flow("repaid", float(np.sum(hh.loan[due]) - np.sum(owed[default])))
    hh.loan[due] = 0.0
    hh.loan_years_left[due] = 0
    hh.loan_extensions[due] = 0
    if default.any():
        _default(model, m, due[default], owed[default])
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
