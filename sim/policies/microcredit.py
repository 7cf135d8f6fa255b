"""microcredit (扶贫小额信贷): up to 50,000 yuan for up to 3 years, interest paid by the programme.

Eligibility: programme households with at least ``min_labour`` labour units, no outstanding loan
and no past default; a household takes the offer with probability ``take_up``. Cost to the
programme: the interest on outstanding loans while it runs (the principal is the bank's), and
``risk_cover`` of defaulted principal. Effect: ``invest_share`` of the loan becomes productive
assets (the rest is consumed). Repayment: the principal is due at the end of the term (到期还本,
the common form), paid out of income above subsistence, then savings; what is still owed is
extended once (展期, ``extensions``) for another term; at the final maturity the household also
sells assets at the distress discount, and whatever is still missing is a default, of which the
programme's risk fund pays ``risk_cover`` out of the year's unspent budget while the programme
runs, and the rest becomes the household's debt; after the phase-out the whole default does
(the settlement is the household's: ``sim.model.credit.settle``, run by the asset phase). After
the phase-out the household pays the interest itself. The principal lent is on the ledger's
credit flows (``microcredit_lent``), not programme spending: it is the bank's money. Failure modes: partial take-up,
modest returns below the asset threshold, default after shocks.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from sim.config.schema import NonNegFloat, Prob, Strict
from sim.model.codes import Category, Cause
from sim.model.rng import uniforms_at
from sim.policies.base import Instrument, book, serve


class Params(Strict):
    amount: NonNegFloat
    max_amount: NonNegFloat
    term: Annotated[int, Field(ge=1, le=3)]
    interest_rate: Annotated[float, Field(ge=0.0, le=1.0)]
    take_up: Prob
    extensions: Annotated[int, Field(ge=0, le=5)]
    invest_share: Prob
    risk_cover: Prob
    min_labour: NonNegFloat

    @model_validator(mode="after")
    def _max(self) -> Params:
        if self.amount > self.max_amount:
            raise ValueError(
                f"amount ({self.amount:g}) exceeds max_amount ({self.max_amount:g}); poverty "
                "microcredit is at most 50,000 yuan"
            )
        return self


def allocate(model, ctx, budget: float) -> None:
    m = ctx.params.microcredit
    hh = model.hh
    # commitments first: interest on outstanding loans not yet paid this year
    out = np.flatnonzero((hh.loan > 0) & ~model.yr.loan_interest_paid)
    if len(out):
        interest = hh.loan[out] * m.interest_rate
        k = int(np.searchsorted(np.cumsum(interest), budget * (1.0 + 1e-12), side="right"))
        budget -= book(model, "microcredit", out[:k], interest[:k])
        model.changes.pay_interest(out[:k])
    rows = ctx.rows
    elig = (
        (hh.loan[rows] <= 0)
        & ~hh.loan_defaulted[rows]
        & (hh.labour_units[rows] >= m.min_labour)
        & ctx.match_rows(model, "microcredit")
    )
    # take-up: a draw of the household's row, the same in every pass and under every strategy
    at = np.flatnonzero(elig)
    draw = uniforms_at(model.streams.key("microcredit.take_up", model.year), rows[at])
    elig[at] = draw < m.take_up
    queue = rows[ctx.order_rows(model, elig, "microcredit")]
    first_year_interest = np.full(len(queue), m.amount * m.interest_rate)
    chosen, _ = serve(model, "microcredit", queue, first_year_interest, budget)
    if len(chosen) == 0:
        return
    model.changes.lend(chosen, m.amount, m.term)
    model.ledger.flow("lent", m.amount * len(chosen))
    model.changes.grant_assets(chosen, m.amount * m.invest_share)
    model.changes.pay_interest(chosen)


INSTRUMENT = Instrument(
    name="microcredit",
    params=Params,
    cause_match=int(Cause.LACK_CAPITAL),
    category=Category.INDUSTRY,
    effects=("loan", "loan_years_left", "assets"),
    allocate=allocate,
    limit="borrowers: programme households with labour, no loan and no past default, who take "
    "the offer (take_up)",
)
