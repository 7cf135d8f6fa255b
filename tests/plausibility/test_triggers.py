"""Returns and new poverty are attributed counterfactually (docs/ODD.md §7.13): to the one loss of
the year without which the household would have stayed at or above the line; ``several`` when
more than one (or only all together) would have, ``none`` when not even all of them would.

The hand-built households are chosen so that the largest loss of the year is never the decisive
one: each test here fails if the attribution reverts to the largest loss."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from conftest import FRICTIONLESS_REGISTER, small_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.codes import Status, Trigger
from sim.model.identification import (
    StatusEvents,
    StatusHouseholds,
    StatusLosses,
    StatusParams,
    _update_status,
)
from sim.model.outputs import TRIGGERS

LINE = 3000.0
SIZE = 2


def households(rows: list[dict]):
    """Household and loss records for the status kernel: every column 0 (False, -1 for years)
    unless a row sets it; ``income_pc`` sets income, and net income adds the rigid spending
    (the out-of-pocket part of ``loss_illness``)."""
    n = len(rows)
    cols = {}
    for name in StatusHouseholds._fields + StatusLosses._fields:
        if name in ("status", "fall_trigger"):
            cols[name] = np.zeros(n, dtype=np.int8)
        elif name.endswith("year"):
            cols[name] = np.full(n, -1, dtype=np.int16)
        elif name in ("house_safe", "insured", "dibao", "guaranteed"):
            cols[name] = np.zeros(n, dtype=bool)
        elif name in ("size", "returns"):
            cols[name] = np.full(n, SIZE if name == "size" else 0, dtype=np.int16)
        else:
            cols[name] = np.zeros(n)
    for h, r in enumerate(rows):
        r = dict(r)
        ipc = r.pop("income_pc")
        cols["income_pc"][h] = ipc
        cols["income"][h] = ipc * SIZE
        cols["net_income"][h] = ipc * SIZE + r.get("loss_illness", 0.0) - r.get("lost_work", 0.0)
        cols["prev_income_pc"][h] = LINE + 500.0
        cols["status"][h] = r.pop("status", Status.EXITED)
        for k, v in r.items():
            cols[k][h] = v
    hh = StatusHouseholds(**{k: cols[k] for k in StatusHouseholds._fields})
    losses = StatusLosses(**{k: cols[k] for k in StatusLosses._fields})
    return hh, losses


Attributed = namedtuple("Attributed", "returns new_poor triggers")


def attribute(rows: list[dict], dibao_standard: float = 0.0):
    """The status kernel on hand-built households: an exited household that fell keeps its
    trigger for its re-registration (``fall_trigger``); a new poor one gets it at once."""
    hh, losses = households(rows)
    n = len(rows)
    events = StatusEvents(np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int8))
    par = StatusParams(LINE, LINE, False, dibao_standard)
    start = np.arange(n + 1, dtype=np.int64)  # one person each, in school
    _update_status(0, n, start, np.zeros(n, dtype=bool), hh, losses, events, par)
    fell = (hh.status == Status.EXITED) & (hh.fall_trigger > 0)
    triggers = np.where(fell, hh.fall_trigger, events.triggers).astype(np.int8)
    return hh, Attributed(fell, events.new_poor, triggers)


# out-of-pocket cost of illness (rigid spending) with no work lost, per household
def illness(cost: float) -> dict:
    return {"loss_illness": cost}


def test_only_illness_decisive_is_illness_though_a_disaster_destroyed_more():
    # 5,000 yuan of assets destroyed (the largest loss) cost only 200 of this year's income;
    # without the 1,000 of medical cost the household would be at 3,300 per person
    hh, ev = attribute(
        [
            {
                "income_pc": 2800.0,
                **illness(1000.0),
                "loss_disaster": 5000.0,
                "disaster_assets_lost": 5000.0,
                "disaster_asset_income": 200.0,
            }
        ]
    )
    assert ev.returns[0]
    assert ev.triggers[0] == Trigger.ILLNESS == hh.fall_trigger[0]


def test_two_sufficient_losses_are_several():
    # either the illness cost (3,300) or the transfers that ended (3,200) alone would have kept it out
    hh, ev = attribute(
        [{"income_pc": 2800.0, **illness(1000.0), "prev_transfers_programme": 800.0}]
    )
    assert ev.triggers[0] == Trigger.SEVERAL == hh.fall_trigger[0]


def test_losses_decisive_only_together_are_several():
    hh, ev = attribute([{"income_pc": 2900.0, **illness(120.0), "loss_market": 100.0}])
    assert ev.triggers[0] == Trigger.SEVERAL


def test_poor_even_without_any_loss_is_none():
    # all losses together would give 2,400 per person: below the line anyway (slow decline)
    hh, ev = attribute([{"income_pc": 2000.0, **illness(500.0), "loss_market": 300.0}])
    assert ev.returns[0] and ev.triggers[0] == Trigger.NONE == hh.fall_trigger[0]


def test_net_income_loss_made_good_by_the_standing_dibao_is_not_decisive():
    # the enterprise loss (3,000) is the largest, but the dibao top-up (to 3,100 per person)
    # would have shrunk by as much: only the medical cost, paid after the top-up, was decisive
    row = {
        "income_pc": 2800.0,
        **illness(600.0),
        "loss_enterprise": 3000.0,
        "dibao": True,
        "inc_dibao_standing": 3000.0,
    }
    hh, ev = attribute([row], dibao_standard=3100.0)
    assert ev.triggers[0] == Trigger.ILLNESS


def test_new_poor_are_attributed_by_the_same_rule():
    rows = [
        {"income_pc": 2800.0, "status": Status.NEVER, **illness(1000.0), "loss_market": 900.0},
        {"income_pc": 2000.0, "status": Status.NEVER, "loss_market": 900.0},
        {"income_pc": 3500.0, "status": Status.NEVER, "loss_market": 900.0},  # not poor
    ]
    hh, ev = attribute(rows)
    assert ev.new_poor.tolist() == [True, True, False] and not ev.returns.any()
    assert ev.triggers.tolist() == [Trigger.SEVERAL, Trigger.NONE, Trigger.UNSET]
    assert (hh.status == Status.NEVER).all()


def by_trigger(ts, kind):
    return ts[[f"{kind}_{t}" for t in TRIGGERS]].sum(axis=1)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(1, 10_000),
    strategy=st.sampled_from(["status_quo", "transfusion", "blood_making", "precision"]),
    illness_on=st.booleans(),
)
def test_trigger_columns_sum_to_returns_and_new_poor_every_year(seed, strategy, illness_on):
    # re-registration the year a household falls, so a return's trigger is this year's
    overrides = {"shocks.illness.enabled": illness_on, **FRICTIONLESS_REGISTER}
    m = small_model(overrides, seed=seed, strategy=strategy).run()
    ts = m.timeseries()
    assert (by_trigger(ts, "returns") == ts["returns"]).all()
    assert (by_trigger(ts, "new_poor") == ts["new_poor"]).all()
    # the last year's returns carry the rule's trigger (recomputed independently)
    now = m.hh.return_year == m.year
    assert (m.hh.return_trigger[now] == counterfactual_triggers(m)[now]).all()
    # the household frame keeps the last return's trigger, by the same codes
    returned = m.hh.returns > 0
    assert (m.hh.return_trigger[returned] != Trigger.UNSET).all()
    assert (m.hh.return_trigger[~returned] == Trigger.UNSET).all()


def counterfactual_triggers(m) -> np.ndarray:
    """This year's returns' triggers recomputed from the model's arrays with numpy, the rule
    written a second time (no dibao household among them is needed: it is reproduced too)."""
    hh = m.hh
    work = m.economy_scratch.work(hh.n)
    size = hh.size.astype(float)
    dibao_line = m.scenario.dibao_standard(m.year) * size
    rigid = hh.net_income - hh.income
    before = hh.net_income - hh.inc_dibao_standing

    def without(earned, spent):
        pre = before + earned
        topup = np.maximum(dibao_line - pre, 0.0) * hh.dibao
        return (pre + topup - rigid + spent) / size >= m.line(m.year)

    disaster = hh.loss_disaster - m.yr.disaster_assets_lost + m.yr.disaster_asset_income
    support = np.maximum(hh.prev_transfers_programme - hh.inc_transfers_programme, 0.0)
    spent_illness = np.maximum(hh.loss_illness - work.lost_work, 0.0)
    losses = [
        (work.lost_work, spent_illness, Trigger.ILLNESS),
        (np.maximum(disaster, 0.0), 0.0 * size, Trigger.DISASTER),
        (hh.loss_enterprise, 0.0 * size, Trigger.ENTERPRISE),
        (support, 0.0 * size, Trigger.SUPPORT_ENDED),
        (hh.loss_market, 0.0 * size, Trigger.MARKET),
    ]
    decisive = np.zeros(hh.n, dtype=int)
    trig = np.full(hh.n, int(Trigger.NONE))
    earned_all, spent_all = 0.0 * size, 0.0 * size
    for earned, spent, code in losses:
        some = earned + spent > 0
        earned_all = earned_all + earned * some
        spent_all = spent_all + spent * some
        hit = some & without(earned, spent)
        decisive += hit
        trig[hit] = code
    together = (earned_all + spent_all > 0) & without(earned_all, spent_all)
    trig[(decisive > 1) | ((decisive == 0) & together)] = Trigger.SEVERAL
    return trig


@pytest.mark.parametrize("strategy", ["transfusion", "precision"])
def test_model_triggers_match_the_rule_recomputed(strategy):
    m = small_model(FRICTIONLESS_REGISTER, seed=11, strategy=strategy)
    checked = set()
    for _ in range(m.years):
        m.step()
        now = m.hh.return_year == m.year
        want = counterfactual_triggers(m)
        assert (m.hh.return_trigger[now] == want[now]).all()
        checked |= set(want[now].tolist())
    # the run exercised the single-loss and the two compound codes
    assert {int(Trigger.ILLNESS), int(Trigger.NONE)} <= checked


def test_illness_off_removes_illness_triggers_and_returns():
    on = small_model(FRICTIONLESS_REGISTER, seed=4).run().timeseries()
    off_set = {"shocks.illness.enabled": False, **FRICTIONLESS_REGISTER}
    off = small_model(off_set, seed=4).run().timeseries()
    assert (off["returns_illness"] == 0).all() and (off["new_poor_illness"] == 0).all()
    assert on["returns_illness"].sum() >= 0.3 * on["returns"].sum()
    # the attribution predicts what switching illness off removes: at least 80% as many returns
    # (and new poor) as illness decided do not happen without it (seed 4: 90% and 112%; the
    # largest-loss rule blamed illness for so many more that it gave 73%)
    for kind in ("returns", "new_poor"):
        removed = on[kind].sum() - off[kind].sum()
        assert removed >= 0.8 * on[f"{kind}_illness"].sum()
