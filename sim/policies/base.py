"""What every instrument shares: who the programme serves, the queue, and the books.

An instrument module exposes ``allocate(model, ctx, budget)``: it picks eligible households, puts
them in the strategy's targeting order, serves them while money lasts (the rest wait, and the
household frame shows it), applies the effect, and books the cost per household and per year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.codes import Category, Cause, Status

# Which causes make a household a match for an instrument under cause-matched strategies
# (组合拳). ``None``: a guarantee (三保障 / 兜底) that every programme household may get when it
# meets the instrument's own eligibility.
CAUSE_MATCH: dict[str, int | None] = {
    "dibao": int(Cause.LACK_LABOUR | Cause.DISABILITY),
    "cash_transfer": None,
    "industry": int(Cause.LACK_CAPITAL | Cause.LACK_SKILL | Cause.LACK_LAND),
    "relocation": int(Cause.REMOTE | Cause.DISASTER | Cause.LACK_WATER),
    "training": int(Cause.LACK_SKILL),
    "microcredit": int(Cause.LACK_CAPITAL),
    "medical_aid": None,
    "education_aid": None,
    "housing": None,
    "infrastructure": int(Cause.REMOTE | Cause.LACK_WATER | Cause.LACK_LAND | Cause.DISASTER),
    "monitoring": None,
}

# The category whose households come first under ``category_first`` targeting.
CATEGORY_OF = {
    "dibao": Category.DIBAO,
    "industry": Category.INDUSTRY,
    "training": Category.INDUSTRY,
    "microcredit": Category.INDUSTRY,
    "relocation": Category.RELOCATION,
    "medical_aid": Category.MEDICAL,
    "education_aid": Category.EDUCATION,
}


@dataclass
class Context:
    """One year's policy context for one strategy."""

    params: object  # sim.config.Instruments, merged with the strategy's own parameters
    programme: np.ndarray  # households the programme serves this year
    targeting: str
    match_causes: bool
    random_key: np.ndarray | None  # a uniform per household (allocation stream) if random order
    rng: np.random.Generator  # the policy stream for this year (fixed-shape draws only)
    in_programme: bool = True
    served: dict[str, int] = field(default_factory=dict)

    def match(self, model, instrument: str) -> np.ndarray:
        """Households whose causes match the instrument (all of them unless cause-matched)."""
        flags = CAUSE_MATCH.get(instrument)
        if not self.match_causes or flags is None:
            return np.ones(model.hh.n, dtype=bool)
        return (model.hh.causes & flags) != 0

    def order(self, model, mask: np.ndarray, instrument: str) -> np.ndarray:
        """Indices of ``mask`` in the strategy's targeting order (the queue)."""
        idx = np.flatnonzero(mask)
        if self.targeting == "random":
            return idx[np.argsort(self.random_key[idx], kind="stable")]
        income = model.hh.prev_income_pc[idx]
        if self.targeting == "category_first" and instrument in CATEGORY_OF:
            other = model.hh.category[idx] != CATEGORY_OF[instrument]
            return idx[np.lexsort((idx, income, other))]
        return idx[np.lexsort((idx, income))]


def programme_households(model, support_after_exit: int) -> np.ndarray:
    """Registered and not exited, or exited within ``support_after_exit`` years (摘帽不摘政策)."""
    hh = model.hh
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    recent = (hh.status == Status.EXITED) & (model.year - hh.exit_year <= support_after_exit)
    return active | recent


def book(model, instrument: str, idx: np.ndarray, costs: np.ndarray) -> float:
    """Book the cost in the ledger and on each household's record; returns the total."""
    total = float(np.sum(costs))
    if total <= 0 and len(idx) == 0:
        return 0.0
    granted = model.ledger.spend(instrument, total)
    if granted + 1e-6 < total:
        raise RuntimeError(f"{instrument}: booked {total:.2f} but only {granted:.2f} was available")
    hh = model.hh
    if len(idx):
        np.add.at(getattr(hh, f"{instrument}_cost"), idx, costs)
        first = getattr(hh, f"{instrument}_first")
        first[idx] = np.where(first[idx] < 0, model.year, first[idx])
        getattr(hh, f"{instrument}_last")[idx] = model.year
    return total


def serve(
    model, instrument: str, queue: np.ndarray, costs: np.ndarray, budget: float
) -> tuple[np.ndarray, np.ndarray]:
    """Serve the queue in order while the money lasts; the rest wait. Returns (served, costs)."""
    budget = min(budget, model.ledger.available)
    if len(queue) == 0 or budget <= 0:
        model.hh.waiting[queue] = True
        return queue[:0], costs[:0]
    cum = np.cumsum(costs)
    k = int(np.searchsorted(cum, budget * (1.0 + 1e-12), side="right"))
    chosen, paid = queue[:k], costs[:k]
    model.hh.waiting[queue[k:]] = True
    book(model, instrument, chosen, paid)
    return chosen, paid
