"""The policy phase's compiled helpers give exactly what the numpy they replace gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def persons_of(seed: int, n_hh: int = 500):
    """``people`` with the person columns the instruments' own kernels read."""
    rng, start, hh_of, age = people(seed, n_hh)
    n = len(hh_of)
    cols = {
        "age": age,
        "stage": rng.integers(0, 4, n).astype(np.int8),
        "health": rng.integers(0, 3, n).astype(np.int8),
        "ent_job": rng.random(n) < 0.2,
    }
    households = np.sort(rng.choice(len(start) - 1, (len(start) - 1) // 3, replace=False))
    return rng, start, hh_of, cols, households


def first_per_household(rows, hh_of):
    """Of person rows (ascending), the first of each household."""
    _, first = np.unique(hh_of[rows], return_index=True)
    return rows[first]


@pytest.mark.parametrize("seed", range(3))
def test_person_to_household_helpers_match_numpy(seed):
    rng, start, hh_of, cols, households = persons_of(seed)
    n_hh = len(start) - 1
    codes = rng.integers(0, 5, len(hh_of)).astype(np.int8)
    table = rng.random(5)
    every = np.bincount(hh_of, weights=table[codes], minlength=n_hh)
    assert np.array_equal(k.sum_of_table_at(codes, table, households, start), every[households])
    groups = rng.integers(-1, 30, 2000).astype(np.int32)
    assert np.array_equal(
        k.count_in_group(groups, 30), np.bincount(groups[groups >= 0], minlength=30)
    )
    order = rng.permutation(400)
    flags = rng.random(400) < 0.3
    assert np.array_equal(k.select(order, flags), order[flags[order]])


@pytest.mark.parametrize("seed", range(3))
def test_training_candidates_match_numpy(seed):
    """training's passes over the persons of a few households: whether any member can be
    trained, and the youngest of them (of equals the first listed), as the numpy definition."""
    from sim.model.codes import Health, Stage
    from sim.policies import training

    rng, start, hh_of, cols, households = persons_of(seed)
    p = training.TrainingPersons(cols["age"], cols["stage"], cols["health"])
    lo, max_age = 16, 45
    age = cols["age"]
    cand = (age >= lo) & (age <= max_age) & (cols["stage"] == Stage.NONE)
    cand &= cols["health"] != Health.DISABLED
    has = np.bincount(hh_of, weights=cand, minlength=len(start) - 1) > 0
    assert np.array_equal(
        training._has_candidate(households, start, p, lo, max_age), has[households]
    )
    picked = np.zeros(len(start) - 1, dtype=bool)
    picked[households] = True
    ci = np.flatnonzero(cand & picked[hh_of])
    want = first_per_household(ci[np.lexsort((age[ci], hh_of[ci]))], hh_of)
    got = training._youngest_candidate(households, start, p, lo, max_age)
    assert np.array_equal(got, want)
    assert len(want) > 20  # the data has candidates to find


@pytest.mark.parametrize("seed", range(3))
def test_industry_job_helpers_match_numpy(seed):
    from sim.model.codes import Health, Stage
    from sim.policies import industry

    rng, start, hh_of, cols, households = persons_of(seed)
    n_hh = len(start) - 1
    enterprise = np.where(rng.random(n_hh) < 0.5, rng.integers(0, 7, n_hh), -1).astype(np.int32)
    ent_job = cols["ent_job"] & (enterprise[hh_of] >= 0)  # a job holder's household is linked
    want = np.bincount(enterprise[hh_of[ent_job]], minlength=7)
    assert np.array_equal(industry._jobs_held(ent_job, hh_of, enterprise, 7), want)
    p = industry.JobPersons(cols["age"], cols["stage"], cols["health"], cols["ent_job"])
    age = cols["age"]
    able = (age >= 16) & (age <= 60) & (cols["stage"] == Stage.NONE)
    able &= (cols["health"] != Health.DISABLED) & ~cols["ent_job"]
    picked = np.zeros(n_hh, dtype=bool)
    picked[households] = True
    want = first_per_household(np.flatnonzero(able & picked[hh_of]), hh_of)
    assert np.array_equal(industry._first_able(households, start, p, 16, 60), want)


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
            # the same queue from the positions in the programme's rows, or from indices
            assert np.array_equal(ctx.order_indices(model, idx, instrument), want)
            if not (mask & ~ctx.programme).any():
                pos = ctx.order_rows(model, mask[ctx.rows], instrument)
                assert np.array_equal(ctx.rows[pos], want)


@given(
    seed=st.integers(0, 2**32 - 1),
    share=st.floats(0.0, 1.0),
    match_causes=st.booleans(),
    instrument=st.sampled_from(["dibao", "medical_aid", "housing", "training", "monitoring"]),
)
@settings(max_examples=60, deadline=None)
def test_rows_give_what_full_masks_give(seed, share, match_causes, instrument):
    """Eligibility on the programme's rows (match_rows, order_rows) is the full-length
    definition (match, order) read at the rows, for any programme, record and targeting."""
    from types import SimpleNamespace

    from sim.policies import registry
    from sim.policies.base import Context

    rng = np.random.default_rng(seed)
    n = 400
    category = rng.integers(-1, 6, n).astype(np.int8)
    recorded = np.where(rng.random(n) < 0.2, rng.integers(-1, 6, n), category).astype(np.int8)
    hh = SimpleNamespace(
        prev_income_pc=np.round(rng.normal(3000, 1500, n), -2),
        category=category,
        recorded_category=recorded,
        recorded_causes=rng.integers(0, 2**10, n).astype(np.int16),
        n=n,
    )
    model = SimpleNamespace(hh=hh)
    targeting = ("poorest_first", "category_first", "random")[seed % 3]
    ctx = Context(
        params=None,
        programme=rng.random(n) < share,
        targeting=targeting,
        match_causes=match_causes,
        random_key=rng.random(n) if targeting == "random" else None,
        instruments=registry.instruments(),
    )
    full = ctx.match(model, instrument)
    assert np.array_equal(ctx.match_rows(model, instrument), full[ctx.rows])
    mask = ctx.programme & full & (rng.random(n) < 0.7)
    pos = ctx.order_rows(model, mask[ctx.rows], instrument)
    assert np.array_equal(ctx.rows[pos], ctx.order(model, mask, instrument))


@given(seed=st.integers(0, 2**32 - 1), year=st.integers(0, 15), support=st.integers(0, 15))
@settings(max_examples=40, deadline=None)
def test_programme_households_is_the_numpy_definition(seed, year, support):
    """Registered and not exited, or exited within the support years (one compiled pass)."""
    from types import SimpleNamespace

    from sim.model.codes import Status
    from sim.policies.base import programme_households

    rng = np.random.default_rng(seed)
    n = 300
    status = rng.integers(0, 4, n).astype(np.int8)
    exit_year = np.where(status == Status.EXITED, rng.integers(0, year + 1, n), -1).astype(np.int16)
    model = SimpleNamespace(hh=SimpleNamespace(status=status, exit_year=exit_year), year=year)
    active = (status == Status.POOR) | (status == Status.RETURNED)
    recent = (status == Status.EXITED) & (year - exit_year.astype(np.int64) <= support)
    assert np.array_equal(programme_households(model, support), active | recent)


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    budget=st.floats(-10.0, 1e6),
    per_listing=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_affordable_is_the_searchsorted_running_total(seed, n, budget, per_listing):
    """serve's count of households the budget pays for: the numpy running total it replaced
    (ties at the budget included, duplicate listings paid twice)."""
    rng = np.random.default_rng(seed)
    costs = np.round(rng.exponential(500.0, n), int(rng.integers(-2, 3)))  # many equal totals
    costs[rng.random(n) < 0.1] = 0.0
    listed = rng.integers(0, 3, 2 * n + 1).astype(np.int8)
    queue = rng.permutation(2 * n + 1)[:n]
    listings = listed[queue] if per_listing else np.ones(n, dtype=np.int8)
    cum = np.cumsum(costs * np.maximum(listings, 1))
    if n and rng.random() < 0.3:
        budget = float(cum[rng.integers(0, n)])  # exactly a running total
    want = int(np.searchsorted(cum, budget, side="right"))
    assert k.affordable(costs, queue, listed, per_listing, budget) == want


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400))
@settings(max_examples=40, deadline=None)
def test_row_masks_and_counts_match_numpy(seed, n):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**10, n).astype(np.int16)
    category = rng.integers(-1, 6, n).astype(np.int8)
    recorded = np.where(rng.random(n) < 0.3, rng.integers(-1, 6, n), category).astype(np.int8)
    rows = np.sort(rng.choice(n, n // 2, replace=False)) if n else np.zeros(0, dtype=np.int64)
    flags = int(rng.integers(1, 2**10))
    assert np.array_equal(k.any_flag(rows, bits, flags), (bits[rows] & flags) != 0)
    which = int(rng.integers(0, 6))
    moved = (category[rows] == which) & (recorded[rows] != which)
    assert np.array_equal(k.not_moved_out(rows, category, recorded, which), ~moved)
    groups = rng.integers(0, 9, n).astype(np.int32)
    on = rng.random(n) < 0.4
    want = np.bincount(groups[on], minlength=9)
    assert np.array_equal(k.count_in_group_where(groups, on, 9), want)
    order = rng.permutation(n)
    assert np.array_equal(k.select(order, on), order[on[order]])


@pytest.mark.parametrize("seed", range(4))
def test_instrument_passes_match_their_numpy_rules(seed):
    """medical_aid's costs, relocation's eligibility and monitoring's flags, each one compiled
    pass, give what the numpy statement of the rule gives."""

    from sim.model.codes import Category
    from sim.model.shocks import insured_share
    from sim.policies import medical_aid, monitoring, relocation

    rng = np.random.default_rng(seed)
    n = 600
    rows = np.sort(rng.choice(n, n // 3, replace=False))
    acute = np.where(rng.random(n) < 0.2, rng.exponential(8000.0, n), 0.0)
    chronic = np.where(rng.random(n) < 0.3, rng.exponential(2000.0, n), 0.0)
    insured = rng.random(n) < 0.8
    size = rng.integers(1, 8, n).astype(np.int16)
    enabled = bool(seed % 2)
    r, o, prem, ex, oex, cap = 0.5, 0.3, 220.0, 0.1, 0.2, 5000.0
    hh = medical_aid.MedicalHouseholds(acute, chronic, insured, size)
    cost, left = medical_aid._costs(rows, hh, enabled, r, o, prem, ex, oex, cap)
    a, c = acute[rows], chronic[rows]
    premium = np.where(~insured[rows] & enabled, prem * size[rows], 0.0)
    oop = np.maximum(a + c - enabled * insured_share(a, c, r, o) - (ex * a + oex * c), 0.0)
    top_up = np.maximum(oop - cap, 0.0)
    assert np.array_equal(cost, premium + (ex * a + oex * c) + top_up)
    assert np.array_equal(left, oop - top_up)
    assert (top_up > 0).any() and (premium > 0).any() == enabled  # both branches were taken

    village = rng.integers(0, 12, n).astype(np.int32)
    moved = np.where(rng.random(n) < 0.2, rng.integers(1, 5, n), -1).astype(np.int16)
    recorded = rng.integers(-1, 6, n).astype(np.int8)
    site, remote = rng.random(12) < 0.2, rng.random(12) < 0.4
    hh = relocation.RelocationHouseholds(moved, village, recorded, size)
    ok, cost = relocation._eligible(rows, hh, site, remote, 3000.0, 500.0)
    v = village[rows]
    own = remote[v] | (recorded[rows] == Category.RELOCATION)
    assert np.array_equal(ok, (moved[rows] < 0) & ~site[v] & own)
    assert np.array_equal(cost, 3000.0 * size[rows] + 500.0)

    at_risk = rng.random(n) < 0.25
    last = rng.integers(-1, 4, n).astype(np.int16)
    assert np.array_equal(
        monitoring._flagged(at_risk, last, 2), np.flatnonzero(at_risk & (last != 2))
    )
