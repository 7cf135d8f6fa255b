"""What every instrument shares: who the programme serves, the queue, and the books.

An instrument module declares ``INSTRUMENT = Instrument(...)`` (sim.policies.registry) with its
``allocate(model, ctx, budget)``: it picks eligible households, puts them in the strategy's
targeting order, serves them while money lasts (the rest wait, and the household frame shows
it), applies the effect, and books the cost per household and per year (``book``, from
sim.model.effects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.model.codes import Category, Status
from sim.model.effects import book as book_once
from sim.model.kernels import jit
from sim.policies.kernels import affordable, any_flag, not_moved_out, select, stable_order

# instruments that pay per listed household, so a duplicate listing (重报) is paid too: transfers
# and grants per household or person; the others act on a real thing once (a house, a bill, a
# course, a loan checked by ID number, a village, a post)
PAID_PER_LISTING = frozenset({"dibao", "cash_transfer", "industry"})


@dataclass(frozen=True)
class Instrument:
    """What an instrument module declares (``INSTRUMENT = Instrument(...)``, sim.policies.registry).

    ``name``: its key everywhere (``[instruments.NAME]`` in the defaults, ``spending_NAME``,
    ``NAME_first/_last/_cost`` in the household frame, strategies' shares); ``params``: the
    pydantic model of its parameters (defaults, units, descriptions and sources stay in
    ``defaults.toml``); ``cause_match``: the causes (``Cause`` flags) that make a household a
    match under cause-matched strategies (组合拳), ``None`` for a guarantee (三保障 / 兜底) every
    programme household may get when it meets the instrument's own eligibility; ``category``:
    the category whose households come first under ``category_first`` targeting, or ``None``;
    ``effects``: what it changes — fields of the effects record (``sim.model.effects.Effects``)
    or household / person / village arrays; ``allocate(model, ctx, budget)``: the year's
    allocation.
    """

    name: str
    params: type
    cause_match: int | None
    category: Category | None
    effects: tuple[str, ...]
    allocate: Callable[..., None]
    limit: str = "eligible households"


@dataclass
class Context:
    """One year's policy context for one strategy."""

    params: object  # the instruments' parameters, merged with the strategy's own (registry)
    programme: np.ndarray  # households the programme serves this year
    targeting: str
    match_causes: bool
    random_key: np.ndarray | None  # a uniform per household (allocation stream) if random order
    in_programme: bool = True
    served: dict[str, int] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)  # the registry
    _queue: np.ndarray | None = field(default=None, repr=False)  # programme, in the key's order
    # per programme (reset by dataclasses.replace): its rows, the key's order of them, matches
    _rows: np.ndarray | None = field(default=None, init=False, repr=False)
    _perm: np.ndarray | None = field(default=None, init=False, repr=False)
    _matches: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def rows(self) -> np.ndarray:
        """The programme households' indices, ascending: instruments compute eligibility on
        these (a fraction of the county) rather than on full-length masks."""
        if self._rows is None:
            self._rows = np.flatnonzero(self.programme)
        return self._rows

    def match_rows(self, model, instrument: str) -> np.ndarray:
        """:meth:`match` at :attr:`rows` (a mask over the rows), once a year per instrument: the
        record it reads does not change within the policy phase."""
        got = self._matches.get(instrument)
        if got is None:
            got = self._matches[instrument] = self.match_at(model, instrument, self.rows)
        return got

    def match_at(self, model, instrument: str, idx: np.ndarray) -> np.ndarray:
        """:meth:`match` at the households ``idx`` (a mask over them), without a full-length
        array."""
        inst = self.instruments[instrument]
        flags = inst.cause_match if self.match_causes else None
        if flags is not None:
            return any_flag(idx, model.hh.recorded_causes, int(flags))
        if self.match_causes and inst.category is not None:
            return moved_out(model, inst.category, idx)
        return np.ones(len(idx), dtype=bool)

    def order_rows(self, model, sub: np.ndarray, instrument: str) -> np.ndarray:
        """:meth:`order` for the programme households ``rows[sub]`` (``sub`` a mask over
        :attr:`rows`), as positions in :attr:`rows`: ``rows[pos]`` is the queue and a value
        computed per row follows it as ``value[pos]``, with no full-length array."""
        if self._perm is None:
            self._sort(model)
        return self._category_first(model, select(self._perm, sub), instrument, self.rows)

    def _category_first(self, model, out, instrument: str, rows=None) -> np.ndarray:
        """``out`` (the queue, or its positions in ``rows``) with the instrument's category
        first under ``category_first`` targeting."""
        if self.targeting == "random":
            return out
        category = self.instruments[instrument].category if instrument in self.instruments else None
        if self.targeting == "category_first" and category is not None:
            queue = out if rows is None else rows[out]
            other = model.hh.recorded_category[queue] != category
            return np.concatenate([out[~other], out[other]])
        return out

    def match(self, model, instrument: str) -> np.ndarray:
        """Households whose recorded causes match the instrument (all of them unless
        cause-matched; for a guarantee of a category, all but those moved out of it: ``moved_out``).
        Targeting reads the register's record, not the true causes (docs/ODD.md §7.6)."""
        inst = self.instruments[instrument]
        flags = inst.cause_match if self.match_causes else None
        if flags is None:
            if self.match_causes and inst.category is not None:
                return moved_out(model, inst.category)
            return np.ones(model.hh.n, dtype=bool)
        return (model.hh.recorded_causes & flags) != 0

    def order(self, model, mask: np.ndarray, instrument: str) -> np.ndarray:
        """Indices of ``mask`` in the strategy's targeting order (the queue).

        The key (last year's income per capita, or the random key) is sorted once a year, over
        the programme households, the first time it is needed; a queue of programme households
        is that order filtered by the mask. Ties go by household index."""
        if self._queue is None:
            self._sort(model)
        queue = select(self._queue, mask)
        if len(queue) < np.count_nonzero(mask):  # not only programme households: sort anew
            return self.order_indices(model, np.flatnonzero(mask), instrument)
        return self._category_first(model, queue, instrument)

    def order_indices(self, model, idx: np.ndarray, instrument: str) -> np.ndarray:
        """:meth:`order` for the households ``idx`` (ascending), sorted on their own: for a set
        mostly outside the programme, without a full-length mask."""
        return self._category_first(model, stable_order(idx, self._key(model)[idx]), instrument)

    def _sort(self, model) -> None:
        """The programme's rows in the key's order (ties by household index), once a year."""
        rows = self.rows
        self._perm = stable_order(np.arange(len(rows)), self._key(model)[rows])
        if self._queue is None:
            self._queue = rows[self._perm]

    def _key(self, model) -> np.ndarray:
        return self.random_key if self.targeting == "random" else model.hh.prev_income_pc


def moved_out(model, category: Category, rows: np.ndarray | None = None) -> np.ndarray:
    """Households a guarantee of ``category`` plans for under cause matching (一户一策): all but
    those whose record was moved out of the category (乱归类): their plan is the recorded
    category's, and the move struck this measure from it. ``rows``: only these households."""
    hh = model.hh
    if rows is None:
        return ~((hh.category == category) & (hh.recorded_category != category))
    return not_moved_out(rows, hh.category, hh.recorded_category, int(category))


def book(model, instrument: str, idx: np.ndarray, costs: np.ndarray) -> float:
    """Book the cost (sim.model.effects.book) and, for an instrument that pays per listing, the
    same again for each household listed twice; returns the total paid."""
    return book_once(model, instrument, idx, costs) + pay_duplicates(model, instrument, idx, costs)


def pay_duplicates(model, instrument: str, idx: np.ndarray, costs: np.ndarray) -> float:
    """What a duplicate listing is paid: spent from the ledger (within what it holds), booked on
    the household's ``duplicate_cost``; it reaches nobody."""
    if instrument not in PAID_PER_LISTING or len(idx) == 0:
        return 0.0
    idx = np.asarray(idx)
    twice = model.hh.listed[idx] > 1
    if not twice.any():
        return 0.0
    extra = np.asarray(costs, dtype=np.float64)[twice]
    total = float(extra.sum())
    granted = model.ledger.spend(instrument, total)
    if total > 0:
        np.add.at(model.hh.duplicate_cost, idx[twice], extra * (granted / total))
    return granted


def programme_households(model, support_after_exit: int) -> np.ndarray:
    """Registered and not exited, or exited within ``support_after_exit`` years (摘帽不摘政策)."""
    hh = model.hh
    return _programme(hh.status, hh.exit_year, int(model.year), int(support_after_exit))


POOR, EXITED, RETURNED = int(Status.POOR), int(Status.EXITED), int(Status.RETURNED)


@jit
def _programme(status, exit_year, year, support):
    """:func:`programme_households` in one pass over the county."""
    out = np.empty(len(status), dtype=np.bool_)
    for h in range(len(status)):
        s = status[h]
        recent = (s == EXITED) & (year - exit_year[h] <= support)
        out[h] = (s == POOR) | (s == RETURNED) | recent
    return out


def serve(
    model, instrument: str, queue: np.ndarray, costs: np.ndarray, budget: float
) -> tuple[np.ndarray, np.ndarray]:
    """Serve the queue in order while the money lasts; the rest wait. Returns (served, costs)."""
    budget = min(budget, model.ledger.available)
    if len(queue) == 0 or budget <= 0:
        model.changes.wait(queue)
        return queue[:0], costs[:0]
    per_listing = instrument in PAID_PER_LISTING  # a duplicate is paid too
    k = affordable(costs, queue, model.hh.listed, per_listing, budget * (1.0 + 1e-12))
    chosen, paid = queue[:k], costs[:k]
    model.changes.wait(queue[k:])
    book(model, instrument, chosen, paid)
    return chosen, paid
