"""asset_income (资产收益扶贫, e.g. 光伏扶贫): poverty funds invested in an asset whose returns
are paid to registered households for years.

Eligibility: programme households that hold no asset share yet; weak- and no-labour households
(fewer than ``weak_labour`` labour units) first, each group in the strategy's targeting order
(the 2016 photovoltaic opinions aimed the stations at registered households without labour).
Cost: ``cost_per_household``, the capital of one household's share of a village station, paid
once. Effect: from ``lag`` years after the purchase, ``household_share`` of the ``dividend``
reaches the household each year as property income (inc_property: the NBS counts a collective's
distributed returns and dividends as net property income); the rest of the revenue stays with
the village (small public works). Duration: the asset's ``life``, past the phase-out, whatever
the household's status: an exited household keeps its share (the asset stays). Failure modes: a
station or enterprise that stops paying (``failure_risk`` a year, for good), drawn once at the
purchase from the stream ``asset_income.failure``; a share bought late in the campaign pays
nothing before the phase-out if ``lag`` is long.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from sim.config.schema import NonNegFloat, PosFloat, Prob, Strict
from sim.model.codes import Category, Cause
from sim.model.rng import uniforms_at
from sim.policies.base import Instrument, serve


class Params(Strict):
    cost_per_household: PosFloat
    dividend: NonNegFloat
    household_share: Prob
    life: Annotated[int, Field(ge=1, le=50)]
    lag: Annotated[int, Field(ge=0, le=5)]
    failure_risk: Annotated[float, Field(ge=0.0, lt=1.0)]
    weak_labour: NonNegFloat


def paying_years(u: np.ndarray, life: int, failure_risk: float) -> np.ndarray:
    """Years an asset pays before it fails for good (a yearly ``failure_risk``: the geometric
    number of years before the first failure, from one uniform each), at most ``life``."""
    if failure_risk <= 0:
        return np.full(len(u), life, dtype=np.int64)
    with np.errstate(divide="ignore", over="ignore"):  # a tiny risk: more years than any life
        survived = np.floor(np.log1p(-u) / np.log1p(-failure_risk))
    return np.minimum(survived, life).astype(np.int64)


def queue(model, ctx, weak_labour: float) -> np.ndarray:
    """Eligible households in order: weak and no labour first, then the rest."""
    hh, rows = model.hh, ctx.rows
    elig = (hh.asset_income_first[rows] < 0) & ctx.match_rows(model, "asset_income")
    pos = ctx.order_rows(model, elig, "asset_income")
    weak = (hh.labour_units[rows] < weak_labour)[pos]  # read in household order (medical_aid)
    return rows[np.concatenate([pos[weak], pos[~weak]])]


def allocate(model, ctx, budget: float) -> None:
    a = ctx.params.asset_income
    order = queue(model, ctx, a.weak_labour)
    costs = np.full(len(order), float(a.cost_per_household))
    chosen, _ = serve(model, "asset_income", order, costs, budget)
    if len(chosen) == 0:
        return
    u = uniforms_at(model.streams.key("asset_income.failure", model.year), chosen)
    first = model.year + a.lag
    last = first + paying_years(u, a.life, a.failure_risk) - 1
    model.changes.own_asset_share(chosen, a.dividend * a.household_share, first, last)


INSTRUMENT = Instrument(
    name="asset_income",
    params=Params,
    # those who cannot earn from their own labour or have no capital of their own
    cause_match=int(Cause.LACK_LABOUR | Cause.DISABILITY | Cause.ILLNESS | Cause.LACK_CAPITAL),
    category=Category.DIBAO,  # the no-labour households (兜底) come first under category_first
    effects=("dividend", "dividend_from", "dividend_until"),
    allocate=allocate,
    limit="programme households without an asset share (one share each)",
)
