"""Targets act: the plan's speed as a lever, the layer a target reads, what a register target
cost in paper exits and later returns, the targets file's [plan] against the batch, and the
plan-pressure figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import small_model
from hypothesis import given, settings
from hypothesis import strategies as st
from test_targets import synthetic, targets_toml, write, write_batch

from sim.analysis.plots.make import PLAN_FIGURE, figures_for, make_figures
from sim.analysis.plots.plan import plan_pressure_bands, plan_pressure_data, read_plan_pressure
from sim.analysis.targets.spec import metric_info
from sim.batch.results import load_results
from sim.cli import main
from sim.config.register import RegisterPlan

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county.toml"
TINY = ROOT / "scenarios" / "tiny.toml"
PLAN = "[plan]\nexits = [2150, 2150, 2150, 2150, 2150]\ndeclare_year = 2020\n"
ALL_OUT = 'name = "all_out"\nmetric = "registered_households"\nyear = 2\nop = "<="\nvalue = 0'
POVERTY = 'name = "pr"\nmetric = "poverty_rate"\nyear = 2\nop = "<="\nvalue = 0.05'


# ---- the plan's speed -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 5000), min_size=1, max_size=8),
    st.floats(0.1, 3.0, allow_nan=False),
)
def test_speed_scales_every_year_of_the_plan(exits, speed):
    plan = RegisterPlan(exits=exits, declare_year=2020, speed=speed)
    got = plan.schedule()
    assert len(got) == len(exits)
    assert all(abs(g - speed * e) <= 0.5 for g, e in zip(got, exits, strict=True))
    assert plan.exits_in(0) == 0 and plan.exits_in(len(exits) + 1) == 0
    assert RegisterPlan(exits=exits, declare_year=2020, speed=1.0).schedule() == exits


def test_a_faster_plan_under_pressure_makes_more_paper_exits():
    """The lever reaches the model: the plan's column and the paper exits follow the speed."""
    plan = {"register.plan.exits": [150] * 4, "register.plan_pressure": 1.0}
    paper, planned = [], []
    for speed in (0.5, 1.0, 1.5):
        ts = small_model({**plan, "register.plan.speed": speed}, seed=3).run().timeseries()
        planned.append(int(ts["plan_exits"].sum()))
        paper.append(int(ts["paper_exits"].sum()))
    assert planned == [300, 600, 900]
    assert paper[0] < paper[1] < paper[2]
    assert paper[2] - paper[0] > 100  # not a rounding wobble: most of the extra 600 asked


# ---- layers and register costs ----------------------------------------------------------------


def test_every_outcome_and_ratio_has_a_layer():
    assert metric_info("paper_exits").layer == "register"
    assert metric_info("registered_households").layer == "register"
    assert metric_info("county_exit_test").layer == "register"
    assert metric_info("returns/exits").layer == "register"
    assert metric_info("poverty_rate").layer == "income"
    assert metric_info("income_wage_pc").layer == "income"
    assert metric_info("cumulative_spending").layer == "other"
    assert metric_info("poverty_rate/registered_households").layer == "other"


def register_batch(folder: Path, speeds: list[float] | None = None) -> Path:
    """Two strategies, 4 runs each over years 0..4. Run k of each strategy: registered households
    at year 2 = 0 for k < 2 (met) else 100; paper exits 10 (k + 1) a year; returns 5 (k + 1) a
    year; poverty rate 0.01 (k + 1)."""
    runs, ts = synthetic({"a": [0, 1, 2, 3], "b": [0, 1, 2, 3]}, years=4, metric="k")
    k = ts["k"]
    ts = ts.assign(
        registered_households=np.where(k < 2, 0.0, 100.0),
        paper_exits=np.where(ts["year"] >= 1, 10.0 * (k + 1), 0.0),
        register_returns=np.where(ts["year"] >= 1, 5.0 * (k + 1), 0.0),
        poverty_rate=0.01 * (k + 1),
    ).drop(columns="k")
    manifest = {"format": "povsim-batch/1", "levers": ["strategy"], "uncertainties": ["x1"]}
    if speeds is not None:
        runs["register.plan.speed"] = (speeds * len(runs))[: len(runs)]
        manifest["levers"].append("register.plan.speed")
        manifest["scenario"] = {"path": str(COUNTY)}
    return write_batch(folder, runs, ts, manifest)


def test_register_targets_report_paper_exits_and_later_returns(tmp_path, capsys):
    batch = register_batch(tmp_path / "batch")
    f = write(tmp_path / "t.toml", targets_toml(ALL_OUT, POVERTY))
    assert main(["targets", str(batch), "--targets", str(f)]) == 0
    out = capsys.readouterr().out
    assert "all_out: registered_households@2 <= 0  [register target]" in out
    assert "pr: poverty_rate@2 <= 5.00%  [income target]" in out
    assert "paper exits in years 1..2 / register returns in years 3..4" in out
    csv = pd.read_csv(batch / "targets.csv").set_index(["target", "strategy"])
    assert csv.loc[("all_out", "a"), "layer"] == "register"
    assert csv.loc[("pr", "a"), "layer"] == "income"
    row = csv.loc[("all_out", "a")]
    # met: k = 0, 1 -> paper 2 years x 10 (k + 1): 20, 40 -> 30; returns 2 years x 5 (k + 1): 15
    assert row["paper_exits_met"] == pytest.approx(30.0)
    assert row["paper_exits_missed"] == pytest.approx(70.0)  # k = 2, 3: 60, 80
    assert row["later_returns_met"] == pytest.approx(15.0)
    assert row["later_returns_missed"] == pytest.approx(35.0)
    assert csv.loc[("pr", "a"), ["paper_exits_met", "later_returns_missed"]].isna().all()
    assert "met: paper / returns (runs)" in out and "30 / 15 (2)" in out and "70 / 35 (2)" in out


def test_a_register_target_at_the_last_year_has_no_later_returns(tmp_path, capsys):
    batch = register_batch(tmp_path / "batch")
    f = write(tmp_path / "t.toml", targets_toml(ALL_OUT.replace("year = 2", "year = 4")))
    assert main(["targets", str(batch), "--targets", str(f)]) == 0
    assert "no years after it in this batch" in capsys.readouterr().out
    csv = pd.read_csv(batch / "targets.csv")
    assert csv["later_returns_met"].isna().all() and csv["paper_exits_missed"].notna().all()


# ---- the targets file's [plan] -----------------------------------------------------------------


def test_the_plan_is_checked_against_the_runs(tmp_path, capsys):
    f = write(tmp_path / "t.toml", PLAN + targets_toml(ALL_OUT))
    same = register_batch(tmp_path / "same", speeds=[1.0])
    assert main(["targets", str(same), "--targets", str(f)]) == 0
    out = capsys.readouterr().out
    assert "exits 2,150 x 5, declared out in 2020 (the targets file's [plan])" in out
    assert "the batch ran under it (all 8 runs)" in out
    mixed = register_batch(tmp_path / "mixed", speeds=[1.0, 1.5])
    assert main(["targets", str(mixed), "--targets", str(f)]) == 0
    out = capsys.readouterr().out
    assert "warning [plan]: 4 of 8 runs ran under the targets file's plan" in out
    assert "exits 3,225 x 5, declared out in 2020 (speed 1.5): 4 runs" in out
    cons = pd.read_csv(mixed / "targets_consistency.csv")
    assert "plan" in set(cons["check"])
    other = write(tmp_path / "o.toml", PLAN.replace("2020", "2019") + targets_toml(ALL_OUT))
    assert main(["targets", str(same), "--targets", str(other)]) == 0
    assert "the batch did not run under the targets file's plan" in capsys.readouterr().out


@pytest.mark.parametrize(
    "plan,message",
    [
        ("[plan]\nexits = [2150, -1]\ndeclare_year = 2020", "plan.exits: households to exit"),
        ("[plan]\nexits = []\ndeclare_year = 2020", "plan.exits: households to exit"),
        ("[plan]\nexits = [2150]\ndeclare_year = 20.5", "plan.declare_year: the calendar year"),
        ("[plan]\nexits = [2150]", "plan.declare_year: required field is missing"),
        (
            "[plan]\nexit = [2150]\ndeclare_year = 2020",
            "plan.exit: unknown field (did you mean 'exits'?)",
        ),
        ('plan = "fast"', "plan: must be a table [plan]"),
    ],
)
def test_a_malformed_plan_is_exit_2_naming_file_and_field(tmp_path, capsys, plan, message):
    batch = register_batch(tmp_path / "batch")
    f = write(tmp_path / "bad.toml", plan + "\n" + targets_toml(ALL_OUT))
    assert main(["targets", str(batch), "--targets", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}: {message}" in err
    assert not (batch / "targets.csv").exists()
    assert main(["validate", str(f)]) == 2
    assert f"{f}: {message}" in capsys.readouterr().err


def test_the_shipped_targets_carry_the_county_plan(capsys):
    shipped = ROOT / "experiments" / "county_plan_targets.toml"
    assert main(["validate", str(shipped), str(ROOT / "experiments" / "plan_pressure.toml")]) == 0
    from sim.analysis.targets.file import load_targets
    from sim.config import load_scenario

    plan = load_targets(shipped).plan
    county = load_scenario(COUNTY).register.plan
    assert (list(plan.exits), plan.declare_year) == (county.exits, county.declare_year)


# ---- the figure --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_batch(tmp_path_factory) -> Path:
    """The tiny county with a plan beyond what verification delivers, at three speeds under
    pressure 0 and 1: 12 runs of a few hundredths of a second."""
    from sim.batch.experiments import load_experiment
    from sim.batch.runner import run_batch

    folder = tmp_path_factory.mktemp("plan_pressure")
    exp = folder / "plan.toml"
    exp.write_text(
        f"""
[experiment]
name = "plan_small"
scenario = "{TINY.as_posix()}"
years = 6

[levers]
strategy = ["precision"]
"register.plan.speed" = [0.5, 1.0, 1.5]
"register.plan_pressure" = [0.0, 1.0]

[constants]
"register.plan.exits" = [100, 100, 100]
"register.plan.declare_year" = 2018

[sampling]
samples = 1
seed = 7
replications = 2

[outputs]
households = false
""",
        encoding="utf-8",
    )
    out = folder / "out"
    assert run_batch(load_experiment(exp), out, workers=1, quiet=True).exit_code == 0
    return out


def test_the_plan_pressure_figure_rises_with_speed_under_pressure(plan_batch):
    results = load_results(plan_batch)
    assert PLAN_FIGURE in figures_for(results)
    data = plan_pressure_data(results)
    assert (data["declared"] == 3).all()  # 2018 is model year 3 of the tiny county (2015)
    bands = plan_pressure_bands(results)
    full = bands[bands["line"] == "pressure 1"].sort_values("speed")
    none = bands[bands["line"] == "pressure 0"].sort_values("speed")
    paper, later = full["paper_now_mean"].to_numpy(), full["returns_later_mean"].to_numpy()
    assert np.all(np.diff(paper) > 0) and paper[-1] > 2 * paper[0]
    assert later[-1] > later[0]
    # without pressure the speed changes nothing: the plan is inert
    assert np.ptp(none["paper_now_mean"].to_numpy()) == 0
    assert paper[-1] > none["paper_now_mean"].max() + 50
    fig = PLAN_FIGURE.draw(results)
    assert len(fig.axes) == 2 and "plan speed" in fig._suptitle.get_text()
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("pressure")]
    assert {ln.get_label() for ln in lines} == {"pressure 0", "pressure 1"}
    reading = read_plan_pressure(results)
    assert any(r.startswith("pressure 1: at speed 1.5") for r in reading)
    written = make_figures(results, plan_batch / "figures", notify=lambda _: None)
    assert written["plan_pressure"][0].stat().st_size > 10_000


def test_no_plan_figure_without_the_speed_lever(tmp_path):
    results = load_results(register_batch(tmp_path / "batch"))
    assert PLAN_FIGURE not in figures_for(results)
