"""Mechanism switches do what they say: illness, the asset threshold, insurance, enterprise failure,
disasters."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FRICTIONLESS_REGISTER, small_model

from sim.model.economy import asset_return


def test_illness_off_means_no_illness_returns_or_costs():
    m = small_model({"shocks.illness.enabled": False}, seed=4).run()
    ts = m.timeseries()
    assert (ts["returns_illness"] == 0).all()
    assert ts["returns"].sum() > 0  # returns still happen, for other reasons
    assert (m.hh.medical_cost == 0).all() and (m.hh.sp_medical == 0).all()
    assert not m.persons.acute.any()
    assert (ts["catastrophic_health_share"] == 0).all()


def test_illness_on_causes_illness_returns():
    # the register re-registers every fall the year it happens, so returns are the income falls
    on = small_model(FRICTIONLESS_REGISTER, seed=4).run().timeseries()
    off_set = {"shocks.illness.enabled": False, **FRICTIONLESS_REGISTER}
    off = small_model(off_set, seed=4).run().timeseries()
    # illness is the one decisive loss of at least a third of returns (seed 4: 82 of 128), and
    # switching it off removes at least 80% as many returns as it decided (seed 4: 74)
    assert on["returns_illness"].sum() >= on["returns"].sum() / 3
    assert on["returns"].sum() - off["returns"].sum() >= 0.8 * on["returns_illness"].sum()


def test_asset_threshold_switch_changes_asset_trajectories_the_expected_way():
    on = small_model({"economy.assets.trap": True}, seed=5)
    off = small_model({"economy.assets.trap": False}, seed=5)
    a = on.scenario.economy.assets
    assets0 = on.hh.assets.copy()
    low = assets0 < a.threshold - 2 * a.width  # earn return_low-ish, below return_flat
    high = assets0 > a.threshold + 2 * a.width  # earn return_high-ish, above return_flat
    on, off = on.run(), off.run()
    ts_on, ts_off = on.timeseries(), off.timeseries()
    # year 0 assets are drawn before any return is earned
    assert ts_on["mean_assets"].iloc[0] == ts_off["mean_assets"].iloc[0]
    # the trap: households above the threshold pull ahead (seed 5: +6.6% of assets after five
    # years), those below fall behind the flat-return world (seed 5: -1.0%)
    assert on.hh.assets[high].mean() >= 1.03 * off.hh.assets[high].mean()
    assert on.hh.assets[low].mean() <= 0.995 * off.hh.assets[low].mean()


def test_asset_return_shape():
    m = small_model()
    a = m.scenario.economy.assets
    x = np.array([0.0, a.threshold - 5 * a.width, a.threshold, a.threshold + 5 * a.width, 1e9])
    r = asset_return(x, a)
    assert r[0] == pytest.approx(a.return_low, abs=0.005)
    assert r[2] == pytest.approx((a.return_low + a.return_high) / 2)
    assert r[-1] == pytest.approx(a.return_high)
    assert (np.diff(r) >= 0).all()
    flat = asset_return(x, a.model_copy(update={"trap": False}))
    assert (flat == a.return_flat).all()


def test_no_insurance_raises_out_of_pocket_medical_cost():
    with_ins = small_model(seed=6)
    without = small_model({"shocks.insurance.enabled": False}, seed=6)
    with_ins.step()
    without.step()
    # same illness, same cost: only who pays differs
    np.testing.assert_array_equal(with_ins.persons.acute, without.persons.acute)
    np.testing.assert_allclose(with_ins.hh.medical_cost, without.hh.medical_cost)
    assert without.hh.sp_medical.sum() > with_ins.hh.sp_medical.sum()
    np.testing.assert_allclose(without.hh.sp_medical, without.hh.medical_cost)
    assert not without.hh.insured.any()
    assert without.rows[-1]["medical_oop_share"] == pytest.approx(1.0)


def test_enterprise_failure_cuts_every_link():
    m = small_model({"shocks.enterprise.failure_multiplier": 100.0}, seed=8)
    hh = m.hh
    risk = m.ent.failure_risk * m.scenario.shocks.enterprise.failure_multiplier
    assert (risk >= 1).all()
    linked = np.flatnonzero(hh.enterprise >= 0)
    assert len(linked) == 50 + 30  # half of each enterprise's capacity at year 0
    assert not hh.registered[linked].any()  # initial links go to non-registered households
    business0 = hh.inc_business[linked].copy()
    contract0 = m.yr.contract_income_prev[linked].copy()
    assert (contract0 > 0).all()
    m.step()
    assert (hh.enterprise[linked] == -1).all()
    assert (hh.enterprise_lost_year[linked] == 1).all()
    np.testing.assert_allclose(hh.loss_enterprise[linked], contract0)
    assert (hh.inc_business[linked] < business0).all()
    assert hh.inc_business[linked].mean() < business0.mean() - 0.5 * contract0.mean()
    assert not m.ent.alive.any()
    assert m.rows[-1]["enterprises_alive"] == 0
    # households that were never linked are untouched
    unlinked = np.setdiff1d(np.arange(hh.n), linked)
    assert (hh.loss_enterprise[unlinked] == 0).all()
    assert (hh.enterprise_lost_year[unlinked] != 1).all()
    assert (m.ent.failures == 1).all() and (m.ent.failed_year == 1).all()


def test_failed_enterprises_come_back_after_reentry_years():
    m = small_model(
        {"shocks.enterprise.failure_multiplier": 100.0, "shocks.enterprise.reentry_years": 2},
        seed=8,
    )
    m.step()
    assert not m.ent.alive.any()
    m.step()
    assert not m.ent.alive.any()
    # year 3: back, and (risk >= 1) failed again at once
    m.step()
    assert (m.ent.failures == 2).all() and (m.ent.failed_year == 3).all()


def test_enterprise_never_fails_with_zero_multiplier():
    m = small_model({"shocks.enterprise.failure_multiplier": 0.0}, seed=8).run()
    assert (m.timeseries()["enterprises_alive"] == 2).all()
    assert (m.hh.loss_enterprise == 0).all()
    assert (m.timeseries()["returns_enterprise"] == 0).all()


def test_disasters_off():
    m = small_model({"shocks.disaster.enabled": False}, seed=9).run()
    ts = m.timeseries()
    assert (ts["disaster_villages"] == 0).all()
    assert (ts["returns_disaster"] == 0).all()
    assert (m.hh.loss_disaster == 0).all()


def test_disasters_on_hit_villages():
    ts = small_model({"shocks.disaster.risk_multiplier": 1000.0}, seed=9).run().timeseries()
    assert ts["disaster_villages"].iloc[0] == 0  # year 0 is before any shock
    # every village (and both resettlement sites) is hit every year
    assert (ts["disaster_villages"].iloc[1:] == 22).all()


def test_market_prices_fixed_without_volatility():
    no_vol = {"shocks.market.volatility": 0.0}
    no_vol.update({f"industries.{name}.volatility": 0.0 for name in ("pigs", "vegetables")})
    m = small_model(no_vol, seed=3).run()
    assert m.crop_price == 1.0
    used = m.ent.industry
    assert (m.industry_price[used] == 1.0).all()
    assert (m.hh.loss_market == 0).all()
    assert (m.timeseries()["returns_market"] == 0).all()
