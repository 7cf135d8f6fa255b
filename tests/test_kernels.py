"""The compiled kernels against the plain numpy statements of the same rules (docs/ODD.md):
sorting, the median and Gini, the migration rule behind the per-person threshold memo, scale
control's choice of the poorest, the bulk creation of the Household agents, and results that do
not depend on the number of threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import small_model
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from sim.model import kernels, metrics, rng
from sim.model.codes import Health, Work
from sim.model.economy import labour_and_income
from sim.model.households import Household
from sim.model.identification import _poorest


@pytest.mark.parametrize("n", [0, 1, 2, 17, 5000])
def test_argsort_sorts(n):
    r = np.random.default_rng(n)
    x = np.round(r.normal(2000, 3000, n), 1)  # negative values and many ties
    x[: n // 10] = 0.0
    order = kernels.argsort(x)
    assert sorted(order.tolist()) == list(range(n))
    assert (np.diff(x[order]) >= 0).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 70_000),
    seed=st.integers(0, 2**32 - 1),
    distinct=st.integers(1, 5000),
)
def test_argsort_is_the_stable_sort(n, seed, distinct):
    """Up to 70,000 values: the parallel passes (several blocks from 16,384 values on) must give
    exactly numpy's stable order, ties in index order, whatever the number of blocks."""
    r = np.random.default_rng(seed)
    x = r.integers(-distinct, distinct, n) * 0.37 + 1e-9 * r.integers(0, 3, n)
    x[x == 0] = 0.0  # -0.0 sorts below 0.0 here and equal to it in numpy
    assert np.array_equal(kernels.argsort(x), np.argsort(x, kind="stable"))


def test_argsort_handles_extremes():
    x = np.array([np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 5e307, -5e307])
    order = kernels.argsort(x)
    assert (np.diff(x[order]) >= 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_median_and_gini_match_the_numpy_definitions(seed):
    r = np.random.default_rng(seed)
    income = np.round(r.lognormal(8, 1, 3000) - 1500, 0)  # ties and negatives
    size = r.integers(1, 8, 3000).astype(np.int16)
    median, g = metrics._median_and_gini(income, size)
    assert median == metrics.weighted_quantile(income, size, 0.5)
    assert g == pytest.approx(metrics.gini(income, size), rel=1e-12)


def test_gini_of_equal_or_zero_incomes():
    size = np.full(10, 3, dtype=np.int16)
    assert metrics._median_and_gini(np.full(10, 100.0), size)[1] == pytest.approx(0.0, abs=1e-15)
    assert metrics._median_and_gini(np.full(10, -5.0), size) == (-5.0, 0.0)


def test_migration_follows_the_gaussian_copula_rule():
    """The kernel keeps a per-person threshold on the uniform behind z_year; the decision must be
    the documented one: migrant if Φ(-x) < p_mig, x = sqrt(ρ)·propensity + sqrt(1-ρ)·z_year."""
    m = small_model(seed=2)
    m.run(2)
    m.persons.skill[::7] *= 1.1  # some thresholds must be recomputed
    keys = m.streams.keys("labour", m.year)
    labour_and_income(m, keys)
    sc, p, hh = m.scenario, m.persons, m.hh
    ec, lab = sc.economy, sc.population.labour
    rho = ec.labour_persistence
    z = rng.normals(keys.key("migration"), p.n)
    x = np.sqrt(rho) * p.work_propensity + np.sqrt(1 - rho) * z
    p_mig = ec.migrant_base_prob * np.maximum(p.skill, 1e-6) ** ec.skill.migrant_elasticity
    p_mig = np.where(p.health == Health.CHRONIC, ec.chronic_migration_factor * p_mig, p_mig)
    p_mig = np.where(p.age <= ec.migrant_age_max, np.minimum(p_mig, ec.max_work_chance), 0.0)
    able = (
        (p.age >= lab.working_age_min)
        & (p.age <= lab.working_age_max)
        & (p.stage == 0)
        & (p.health != Health.DISABLED)
    )
    seeks = able & ~(p.ent_job & (hh.enterprise[p.hh] >= 0))
    expected = seeks & (ndtr(-x) < p_mig)
    assert expected.sum() > 100
    np.testing.assert_array_equal(p.work == Work.MIGRANT, expected)


def test_poorest_is_a_stable_selection():
    r = np.random.default_rng(4)
    income = np.round(r.normal(2000, 500, 400), -2)  # many ties
    found = np.sort(r.choice(400, 150, replace=False))
    for room in (0, 1, 37, 149, 150, 200):
        order = np.argsort(income[found], kind="stable")
        expected = np.sort(found[order[:room]])
        np.testing.assert_array_equal(np.sort(_poorest(found, income, room)), expected)


def test_bulk_created_agents_are_ordinary_agents():
    m = small_model(seed=3, agents=True)
    agents = list(m.agents_by_type[Household])
    ids = [a.unique_id for a in agents]
    assert len(set(ids)) == len(ids) == m.hh.n
    assert sorted(ids) == list(range(min(ids), min(ids) + m.hh.n))
    one = Household(m, 0)  # the one-at-a-time path: the same attributes
    assert set(vars(one)) == set(vars(agents[0]))
    assert one.unique_id > max(ids) and one in m.agents
    assert all(a.model is m and a.pos is None for a in agents[:50])
    assert [a.row for a in agents] == list(range(m.hh.n))
    agents[5].remove()
    assert agents[5] not in m.agents and len(m.agents_by_type[Household]) == m.hh.n


@pytest.mark.parametrize("strategy", ["status_quo", "precision"])
def test_results_do_not_depend_on_the_number_of_threads(strategy, monkeypatch):
    """Every household's sums run over its persons in order on whichever thread: one thread and
    several (small chunks, so that the small county is split too) must give the same bytes."""
    monkeypatch.setattr(kernels, "MIN_CHUNK", 16)
    out = []
    for threads in (1, 3):
        kernels.use_threads(threads)
        try:
            m = small_model(seed=5, strategy=strategy).run()
            out.append((m.timeseries(), m.households()))
        finally:
            kernels.use_threads(0)
    (ts1, hh1), (ts2, hh2) = out
    assert ts1.equals(ts2)
    assert hh1.equals(hh2)


def test_use_threads_is_per_calling_thread():
    """Dask's thread mode runs several models in one process: each thread keeps its setting."""
    kernels.use_threads(1)
    assert kernels.threads() == 1
    seen = []
    other = threading.Thread(target=lambda: seen.append(kernels.threads()))
    other.start()
    other.join()
    assert seen == [kernels.CORES]
    kernels.use_threads(0)
    assert kernels.threads() == kernels.CORES


def test_parallel_covers_every_row_once_and_reraises():
    """The chunks tile [0, n): each row is handled by exactly one call, whatever the threads."""
    seen = np.zeros(100_000, dtype=np.int64)

    def mark(lo, hi, out):
        out[lo:hi] += 1

    for t in (1, 2, 3, 7):
        kernels.use_threads(t)
        seen[:] = 0
        kernels.parallel(mark, len(seen), seen)
        assert (seen == 1).all()
    kernels.use_threads(3)

    def fail(lo, hi):
        if lo > 0:
            raise ValueError("chunk failed")

    try:
        with pytest.raises(ValueError, match="chunk failed"):
            kernels.parallel(fail, 100_000)
    finally:
        kernels.use_threads(0)


def test_columns_fill_a_record_by_name():
    from collections import namedtuple
    from types import SimpleNamespace

    from sim.model.kernels import columns

    Rec = namedtuple("Rec", "a b")
    first, second = SimpleNamespace(a=np.zeros(2)), SimpleNamespace(a=np.ones(2), b=np.ones(3))
    rec = columns(Rec, first, second)
    assert rec.a is first.a and rec.b is second.b  # the first table that has it; no copies
    with pytest.raises(AttributeError, match="'c'"):
        columns(namedtuple("Other", "a c"), first, second)


def test_kernel_records_name_real_columns():
    """Every column a kernel record names exists in the tables it is filled from."""
    from sim.model import assets, demography, identification, income, labour, shocks

    m = small_model()
    work = m.economy_scratch.work(m.hh.n)
    for record, tables in (
        (labour.LabourPersons, (m.persons,)),
        (labour.LabourHouseholds, (m.hh, m.effects, m.yr)),
        (labour.LocalChanceHouseholds, (m.hh, work)),
        (labour.LocalChanceVillages, (m.villages,)),
        (income.FarmHouseholds, (m.hh, work, m.yr)),
        (income.FarmVillages, (m.villages,)),
        (income.FarmEnterprises, (m.ent,)),
        (income.IncomeHouseholds, (m.hh, work, m.effects, m.yr)),
        (assets.AssetHouseholds, (m.hh, work)),
        (shocks.IllnessPersons, (m.persons,)),
        (shocks.IllnessHouseholds, (m.hh,)),
        (shocks.IllnessYear, (m.yr,)),
        (demography.DemographyPersons, (m.persons,)),
        (demography.DemographyHouseholds, (m.hh, m.effects)),
        (identification.StatusHouseholds, (m.hh,)),
        (identification.CategoryPersons, (m.persons,)),
        (identification.CategoryHouseholds, (m.hh,)),
        (identification.CategoryVillages, (m.villages,)),
        (identification.MonitoringHouseholds, (m.hh,)),
        (shocks.DisasterVillages, (m.villages,)),
        (shocks.DisasterHouseholds, (m.hh,)),
    ):
        for name in record._fields:
            assert any(hasattr(t, name) for t in tables), (record.__name__, name)


def test_the_year_record_has_no_side_channels():
    """``model.yr`` is a typed record: a phase cannot hang a new array on it unnoticed."""
    m = small_model()
    with pytest.raises(AttributeError):
        m.yr.something_new = np.zeros(m.hh.n)
    assert m.yr.loan_interest_paid.dtype == bool and len(m.yr.med_new) == m.hh.n
