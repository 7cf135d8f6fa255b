"""Help in place (帮扶, register.assist_from): a true exit found below the line is helped back to
the line and stays exited; a paper exit found is re-registered (docs/ODD.md §7.15). This is what
separates the register's returns, which fell year by year from 2016 to 2019, from the income
churn, which did not."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, assert_config_error, small_model, write_toml

from sim.model import PovertyModel
from sim.model.codes import Status

HINDCAST = ROOT / "scenarios" / "county_hindcast.toml"
# a county where falls are common and every fall is found: the rule, not detection, decides
FOUND = {"register.detect_adjustment": 1.0, "register.exited_before": 0.5}


def first_year(assist_from: int, seed: int = 4):
    m = small_model(
        {**FOUND, "register.assist_from": assist_from}, seed=seed, strategy="transfusion"
    )
    paper = m.hh.paper_exit.copy()
    m.step()
    return m, paper


@pytest.mark.parametrize("seed", [1, 4])
def test_the_found_are_split_between_correction_and_help_by_the_rule(seed):
    """Same draws, rule on and off: what the adjustment finds is the same households; with the
    rule, the paper exits among them come back on the register and the true exits are lifted to
    the line, paid outside the programme budget."""
    off, paper = first_year(0, seed)
    on, _ = first_year(2016, seed)
    found_off = off.hh.return_year == 1
    back, helped_rows = on.hh.return_year == 1, on.timeseries()
    helped = found_off & ~back
    # re-registered: the corrections, the exits that fail 三保障 (money cannot fix it) and the
    # gaps beyond the cap (income after rigid spending far below zero)
    line = on.line(1)
    beyond = line - off.hh.income_pc > on.scenario.dibao_standard(1)
    assert np.array_equal(back, found_off & (paper | ~off.hh.guaranteed | beyond))
    assert helped.sum() == helped_rows["helped_in_place"].iloc[1] > 0
    assert np.allclose(on.hh.income_pc[helped], line)
    assert (off.hh.income_pc[helped] < line).all()
    gap = ((line - off.hh.income_pc) * off.hh.size)[helped].sum()
    assert helped_rows["help_in_place_cost"].iloc[1] == pytest.approx(gap, rel=1e-9)
    assert (on.hh.status[helped] == off.hh.status[helped] - 1).all()  # exited, not returned
    # helped back to the line, they are not wrongful exits any more
    assert (
        helped_rows["wrongful_exit_rate"].iloc[1] < off.timeseries()["wrongful_exit_rate"].iloc[1]
    )


def test_a_gap_beyond_the_cap_is_re_registered():
    off, _ = first_year(0)
    on = small_model({**FOUND, "register.assist_max": 0.0}, seed=4, strategy="transfusion")
    on.step()
    # no gap is within 0: every household found comes back on the register, as without the rule
    assert np.array_equal(on.hh.return_year == 1, off.hh.return_year == 1)
    assert on.timeseries()["helped_in_place"].iloc[1] == 0


def returns_2016_2019(assist_from: int, seeds=(1, 2, 3, 4, 5)) -> np.ndarray:
    out = []
    for s in seeds:
        over = {"register.assist_from": assist_from}
        m = PovertyModel(HINDCAST, "precision", seed=s, overrides=over, agents=False)
        out.append(m.run(4).timeseries()["register_returns"].to_numpy()[1:5])
    return np.mean(out, axis=0)


@pytest.mark.slow
def test_returns_fall_year_by_year_in_the_hindcast_only_with_help_in_place():
    """The record: 684,000 → 208,000 → 58,000 → a few thousand returns, 2016-2019. Scaled to
    the county (about 1/1,600 of the national register) that is about 130 → 40 → 11 → 1
    households. With the rule the mean over seeds falls every year and 2019 is a few percent of
    2016; without it the fallen exits are re-registered and returns grow with their stock."""
    on, off = returns_2016_2019(2016), returns_2016_2019(0)
    assert (np.diff(on) < 0).all(), on
    assert on[3] < 0.1 * on[0], on
    assert 5 <= on[0] <= 400 and on[3] <= 10, on
    assert off[3] > off[1] and off[3] > 10 * on[3], off


def test_no_help_in_place_without_a_campaign():
    """The practice belongs to the campaign and the transition: none under status_quo, none after
    a cliff; the falls found there are re-registered."""
    quo = small_model(FOUND, seed=4, strategy="status_quo").run().timeseries()
    assert quo["helped_in_place"].sum() == 0 and quo["register_returns"].sum() > 0
    over = {**FOUND, "programme.phase_out_year": 3, "programme.after_phase_out": "cliff"}
    cliff = small_model(over, seed=4, strategy="transfusion").run().timeseries()
    assert cliff["helped_in_place"].iloc[1:4].sum() > 0
    assert cliff["helped_in_place"].iloc[4:].sum() == 0
    assert cliff["register_returns"].iloc[4:].sum() > 0


def test_edge_households_are_helped_once_the_register_is_closed():
    """From identification.closed_from (with the monitoring mechanism, in funded years) a
    never-registered household below the line that the mechanism watches is found and helped
    back to the line, and stays off the register; with the register never closed nobody is."""
    over = {"meta.years": 7, "programme.phase_out_year": 7}
    shut = small_model({**over, "identification.closed_from": 2020}, seed=4, strategy="precision")
    shut.run(4)
    before = shut.hh.status.copy()
    shut.step()  # 2020: the register is closed and the monitoring mechanism starts
    ts = shut.timeseries().set_index("calendar_year")
    assert (ts.loc[:2019, "edge_helped"] == 0).all()
    assert ts.loc[2020, "edge_helped"] > 0 and ts.loc[2020, "newly_registered"] == 0
    never = before == Status.NEVER
    assert (shut.hh.status[never] == Status.NEVER).all()  # helped, not registered
    opened = small_model({**over, "identification.closed_from": 0}, seed=4, strategy="precision")
    ts_open = opened.run(5).timeseries()
    assert ts_open["edge_helped"].sum() == 0 and ts_open["newly_registered"].iloc[5] > 0
    # the help is income: fewer never-registered households below the line than without it
    line = shut.line(5)
    assert (shut.hh.income_pc[never] < line).sum() < (opened.hh.income_pc[never] < line).sum()


@pytest.mark.parametrize(
    ("table", "text", "field", "fragment"),
    [
        ("register", "assist_from = 1500", "register.assist_from", "calendar year"),
        ("register", "assist_max = -1.0", "register.assist_max", "greater than or equal to 0"),
        ("identification", "closed_from = 20.5", "identification.closed_from", "integer"),
    ],
)
def test_bad_help_and_closing_values_are_config_errors(
    tmp_path, capsys, table, text, field, fragment
):
    path = write_toml(tmp_path / "bad.toml", f"[{table}]\n{text}\n")
    assert_config_error(path, field, fragment, capsys)
