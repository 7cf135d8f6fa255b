"""Compiled helpers of the policy phase: the queue's sort and filter, person → household sums,
counts and ranks.

The policy phase works on the programme households' rows (``Context.rows``: a fraction of the
county), with numpy or with one compiled pass per instrument; these loops are what numpy does
slowly there. The queue: ``np.lexsort`` is a comparison merge sort, several times slower than
the model's radix sort (``sim.model.kernels.argsort``) plus one pass that puts tied keys in
household order; the year's sorted queue is then filtered per instrument in one pass
(:func:`select`). Person → household sums: one pass over the persons of the given households
(consecutive rows, ``model.person_start``), not ``np.bincount`` over every person. Counts and
ranks within a group: one pass, not a copy or a stable argsort. Each helper gives exactly what
the numpy it replaces gives (tests/test_policy_kernels.py)."""

from __future__ import annotations

import numpy as np

from sim.model import kernels
from sim.model.kernels import jit, row


@jit
def _ties_by_index(order, keys):
    """Within each run of equal ``keys[order]`` (ascending), put ``order`` ascending."""
    n = len(order)
    a = 0
    while a < n:
        key = keys[order[a]]
        b = a + 1
        while b < n and keys[order[b]] == key:
            b += 1
        if b - a > 1:
            order[a:b] = np.sort(order[a:b])
        a = b
    return order


def stable_order(idx: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``idx`` (ascending) sorted by ``keys`` (one per entry), ties in ``idx`` order: what
    ``idx[np.lexsort((idx, keys))]`` gives."""
    keys = np.ascontiguousarray(keys, dtype=np.float64)
    if len(idx) < 2:
        return idx.copy()
    if np.isnan(keys).any():  # the radix sort takes no NaN
        return idx[np.lexsort((idx, keys))]
    return idx[_ties_by_index(kernels.argsort(keys), keys)]


@jit
def or_per_household(flags, hh_of, n_hh):
    """The bitwise OR of each household's persons' flags (booleans: whether any is set; bits: a
    few such questions at once)."""
    out = np.zeros(n_hh, dtype=flags.dtype)
    for i in range(len(flags)):
        out[hh_of[i]] |= flags[i]  # no branch: the flags are hard to predict
    return out


@jit
def first_youngest(cand, households, person_start, age):
    """Each household's youngest candidate (of equals, the first listed), households without a
    candidate left out; the persons of household ``h`` are rows
    ``person_start[h]:person_start[h + 1]``."""
    out = np.empty(len(households), dtype=np.int64)
    k = 0
    for h in households:
        best = -1
        for i in range(person_start[h], person_start[h + 1]):
            if cand[i] and (best < 0 or age[i] < age[best]):
                best = i
        if best >= 0:
            out[k] = best
            k += 1
    return out[:k]


@jit
def select(order, flags):
    """``order[flags[order]]``: the entries of ``order`` whose flag is set, in one pass."""
    out = np.empty(len(order), dtype=np.int64)
    k = 0
    for j in order:
        out[k] = j
        k += flags[j]  # no branch: whether a household is eligible is hard to predict
    return out[:k]


@jit
def sum_of_table_at(codes, table, households, person_start):
    """:func:`sum_of_table` for ``households`` only (one sum per entry, over the household's
    persons ``person_start[h]:person_start[h + 1]``, added in the same order)."""
    out = np.zeros(len(households))
    for j in range(len(households)):
        h = row(households[j])  # unsigned indices: no wrap-around test at every access
        for i in range(row(person_start[h]), row(person_start[h + np.uint64(1)])):
            out[j] += table[codes[i]]
    return out


@jit
def count_in_group(groups, n_groups):
    """``np.bincount(groups[groups >= 0], minlength=n_groups)`` in one pass, no copy."""
    out = np.zeros(n_groups, dtype=np.int64)
    for g in groups:
        if g >= 0:
            out[g] += 1
    return out


@jit
def count_in_group_where(groups, flags, n_groups):
    """``np.bincount(groups[flags], minlength=n_groups)`` in one pass, no copy."""
    out = np.zeros(n_groups, dtype=np.int64)
    for i in range(len(groups)):
        out[groups[i]] += flags[i]  # no branch: the flags are hard to predict
    return out


@jit
def rank_in_group(groups, n_groups):
    """For each entry, how many entries before it have the same group (its rank in the group,
    in the given order)."""
    seen = np.zeros(n_groups, dtype=np.int64)
    rank = np.empty(len(groups), dtype=np.int64)
    for j in range(len(groups)):
        g = groups[j]
        rank[j] = seen[g]
        seen[g] += 1
    return rank


@jit
def affordable(costs, queue, listed, per_listing, budget):
    """How many of the queue's first households ``budget`` pays for: the running total of their
    costs (times the household's listings if ``per_listing``) stays within it. What
    ``np.searchsorted(np.cumsum(...), budget, side="right")`` gives (the same additions, in
    order), without the running total of the whole queue: it stops at the first it cannot pay."""
    total = 0.0
    for j in range(len(costs)):
        c = costs[j]
        if per_listing:
            n = listed[queue[j]]
            if n > 1:  # a duplicate listing is paid too (base.PAID_PER_LISTING)
                c = c * n
        total += c
        if not total <= budget:  # NaN counts as beyond, as in the sorted running total
            return j
    return len(costs)


@jit
def any_flag(rows, bits, flags):
    """``(bits[rows] & flags) != 0`` in one pass."""
    out = np.empty(len(rows), dtype=np.bool_)
    for j in range(len(rows)):
        out[j] = (bits[rows[j]] & flags) != 0
    return out


@jit
def not_moved_out(rows, category, recorded, which):
    """``~((category[rows] == which) & (recorded[rows] != which))`` in one pass."""
    out = np.empty(len(rows), dtype=np.bool_)
    for j in range(len(rows)):
        h = rows[j]
        out[j] = (category[h] != which) | (recorded[h] == which)
    return out
