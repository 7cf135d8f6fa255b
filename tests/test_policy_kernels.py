"""The policy phase's compiled helpers give exactly what the numpy they replace gives."""

from __future__ import annotations

import numpy as np
import pytest

from sim.policies import kernels as k


def people(seed: int, n_hh: int = 500):
    """Household sizes 0-6 (persons in consecutive rows) and a few person columns."""
    rng = np.random.default_rng(seed)
    size = rng.integers(0, 7, n_hh)
    start = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    hh_of = np.repeat(np.arange(n_hh), size).astype(np.int32)
    age = rng.integers(0, 90, len(hh_of)).astype(np.int16)
    return rng, start, hh_of, age


@pytest.mark.parametrize("seed", range(5))
def test_stable_order_is_lexsort_with_ties_by_index(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    keys = np.round(rng.normal(0, 1000, n), int(rng.integers(0, 3)))  # many ties
    keys[rng.random(n) < 0.05] = 0.0
    keys[rng.random(n) < 0.02] = -0.0
    idx = np.sort(rng.choice(10 * n + 1, n, replace=False))
    got = k.stable_order(idx, keys)
    assert np.array_equal(got, idx[np.lexsort((idx, keys))])
    keys[:3] = np.nan  # the fallback
    assert np.array_equal(k.stable_order(idx, keys), idx[np.lexsort((idx, keys))])


@pytest.mark.parametrize("seed", range(3))
def test_person_to_household_helpers_match_numpy(seed):
    rng, start, hh_of, age = people(seed)
    n_hh = len(start) - 1
    flags = rng.random(len(hh_of)) < 0.2
    assert np.array_equal(
        k.or_per_household(flags, hh_of, n_hh),
        np.bincount(hh_of, weights=flags, minlength=n_hh) > 0,
    )
    bits = rng.integers(0, 8, len(hh_of)).astype(np.uint8)
    want = np.zeros(n_hh, dtype=np.uint8)
    np.bitwise_or.at(want, hh_of, bits)
    assert np.array_equal(k.or_per_household(bits, hh_of, n_hh), want)

    codes = rng.integers(0, 5, len(hh_of)).astype(np.int8)
    table = rng.random(5)
    assert np.array_equal(
        k.sum_of_table(codes, table, hh_of, n_hh),
        np.bincount(hh_of, weights=table[codes], minlength=n_hh),
    )

    households = np.sort(rng.choice(n_hh, n_hh // 3, replace=False))
    picked = np.zeros(n_hh, dtype=bool)
    picked[households] = True
    ci = np.flatnonzero(flags & picked[hh_of])
    _, first = np.unique(hh_of[ci], return_index=True)
    assert np.array_equal(k.first_flagged(flags, households, start), ci[first])
    ci = ci[np.lexsort((age[ci], hh_of[ci]))]  # the youngest, of equals the first row
    _, first = np.unique(hh_of[ci], return_index=True)
    assert np.array_equal(k.first_youngest(flags, households, start, age), ci[first])


@pytest.mark.parametrize("seed", range(3))
def test_rank_in_group_is_the_stable_sort_rank(seed):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 40, 1000).astype(np.int32)
    order = np.argsort(groups, kind="stable")
    first = np.searchsorted(groups[order], groups[order], side="left")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - first
    assert np.array_equal(k.rank_in_group(groups, 40), rank)


@pytest.mark.parametrize("targeting", ["poorest_first", "category_first", "random"])
def test_queue_is_the_lexsort_queue(targeting):
    """Context.order (the year's key sorted once, then filtered) gives the queue of the lexsort
    definition, for masks inside the programme and beyond it."""
    from types import SimpleNamespace

    from sim.policies import registry
    from sim.policies.base import Context

    rng = np.random.default_rng(7)
    n = 3000
    income = np.round(rng.normal(3000, 1500, n), -2)  # ties
    category = rng.integers(0, 6, n).astype(np.int8)
    # the queue reads the register's record (docs/ODD.md §7.6), here a tenth of it moved
    recorded = np.where(rng.random(n) < 0.1, rng.integers(0, 6, n), category).astype(np.int8)
    hh = SimpleNamespace(prev_income_pc=income, category=category, recorded_category=recorded)
    model = SimpleNamespace(hh=hh)
    key = rng.random(n)
    ctx = Context(
        params=None,
        programme=rng.random(n) < 0.4,
        targeting=targeting,
        match_causes=False,
        random_key=key if targeting == "random" else None,
        instruments=registry.instruments(),
    )
    for instrument in ("dibao", "medical_aid", "housing", "training", "monitoring"):
        for mask in (ctx.programme & (rng.random(n) < 0.5), rng.random(n) < 0.3):
            idx = np.flatnonzero(mask)
            if targeting == "random":
                want = idx[np.argsort(key[idx], kind="stable")]
            else:
                category = ctx.instruments[instrument].category
                other = (
                    hh.recorded_category[idx] != category
                    if targeting == "category_first" and category is not None
                    else np.zeros(len(idx), dtype=bool)
                )
                want = idx[np.lexsort((idx, income[idx], other))]
            assert np.array_equal(ctx.order(model, mask, instrument), want)
