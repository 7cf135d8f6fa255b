"""Labour under transfers: by default transfers do not cut work (Banerjee, Hanna, Kreindler &
Olken 2017 find no systematic work disincentive in seven randomised cash-transfer evaluations);
with the optional dependency response on, work falls while transfers last and recovers fully
when they stop (docs/ODD.md, instrument table: dependency)."""

from __future__ import annotations

import numpy as np
from conftest import small_data

from sim.config import build_scenario
from sim.model import PovertyModel

OFF_FARM = (2, 3, 4)  # local, enterprise and migrant work (sim.model.codes.Work)
CASH = {"cash": {"allocation": "shares", "shares": {"cash_transfer": 1.0}, "phase_out_year": 2}}


def scenario(overrides=None, years=6):
    d = small_data()
    d["meta"]["years"] = years
    d["strategies"] = CASH
    return build_scenario(d, "small.toml", overrides)


def test_transfers_do_not_cut_labour_by_default():
    """Recipients of cash transfers work off the farm exactly as often as the same persons
    without the programme: the draws are common, and only the optional response could move
    them."""
    sc = scenario(years=3)
    cash = PovertyModel(sc, "cash", seed=5, agents=False)
    none = PovertyModel(sc, "status_quo", seed=5, agents=False)
    for _ in range(3):
        cash.step()
        none.step()
        got = cash.hh.cash_transfer_first >= 0
        person = got[cash.persons.hh]
        assert person.sum() > 50  # the check is about recipients: there must be some
        a = np.isin(cash.persons.work[person], OFF_FARM).mean()
        b = np.isin(none.persons.work[person], OFF_FARM).mean()
        assert abs(a - b) < 0.005


def test_work_recovers_when_transfers_stop():
    """Dependency lowers work while transfers last; two years after the last transfer (the work
    factor reads the previous year's transfers) every person works exactly where they would have
    without the response: the draws are common, so any lasting scar is a bug."""
    dep = {"instruments.dependency.enabled": True, "instruments.dependency.elasticity": 1.0}
    off, on = scenario(), scenario(dep)
    a, b = (
        PovertyModel(off, "cash", seed=11, agents=False),
        PovertyModel(on, "cash", seed=11, agents=False),
    )
    off_farm = (2, 4)
    lowered = False
    for year in range(1, 7):
        a.step()
        b.step()
        work_a = np.isin(a.persons.work, off_farm)
        work_b = np.isin(b.persons.work, off_farm)
        if year <= 3:
            lowered |= work_b.sum() < work_a.sum()
        else:
            assert np.array_equal(a.persons.work, b.persons.work), year
    assert lowered  # the response acted while the transfers lasted
