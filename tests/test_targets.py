"""Plan targets: file validation, metric values, probabilities, Wilson intervals, verdicts,
achievable levels, plan consistency and the `povsim targets` command.

Most tests use synthetic results (a batch folder written by hand with known values); one
session-scoped fixture runs experiments/small_test.toml (8 tiny runs) for the end-to-end path.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import small_data, small_scenario
from scipy.stats import binomtest

from sim.analysis.targets.consistency import check_plan, check_scenario
from sim.analysis.targets.evaluation import evaluate, metric_values
from sim.analysis.targets.file import context_for_results, load_targets, parse_targets
from sim.analysis.targets.spec import Target
from sim.analysis.targets.verdicts import achievable_level, assess, verdict, wilson_interval
from sim.batch.results import load_results
from sim.cli import main
from sim.config import ConfigError, build_scenario

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
SHIPPED = ROOT / "experiments" / "county_plan_targets.toml"


# ---- synthetic batch folders ------------------------------------------------------------------


def write_batch(folder: Path, runs: pd.DataFrame, ts: pd.DataFrame, manifest: dict) -> Path:
    """A folder that sim.load_results reads: manifest, one committed runs part, one timeseries part."""
    (folder / "runs").mkdir(parents=True)
    (folder / "timeseries").mkdir()
    runs = runs.assign(status="ok", error="", wall_seconds=0.0, part=0)
    runs.to_parquet(folder / "runs" / "part-00000.parquet", index=False)
    ts.to_parquet(folder / "timeseries" / "part-00000.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def synthetic(values: dict[str, list[float]], years: int = 5, metric: str = "poverty_rate"):
    """Runs whose ``metric`` at every year equals the given value (one list per strategy)."""
    rows, ts = [], []
    for s, vals in values.items():
        for i, v in enumerate(vals):
            rid = f"{len(rows):05d}-{s[:8]}"
            rows.append(
                {"run_id": rid, "strategy": s, "sample": i, "replication": 0, "seed": 1, "x1": i}
            )
            for y in range(years + 1):
                ts.append({"run_id": rid, "year": y, metric: float(v)})
    return pd.DataFrame(rows), pd.DataFrame(ts)


def targets_toml(*tables: str) -> str:
    return "\n".join(f"[[target]]\n{t.strip()}\n" for t in tables)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def known_batch(tmp_path) -> Path:
    """Strategy a: poverty rates 1..10% (5 of 10 at most 5%); b: 8 of 10 at most 5%."""
    runs, ts = synthetic(
        {
            "a": [0.01 * k for k in range(1, 11)],
            "b": [0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.05, 0.05, 0.2, 0.3],
        }
    )
    manifest = {"format": "povsim-batch/1", "levers": ["strategy"], "uncertainties": ["x1"]}
    return write_batch(tmp_path / "batch", runs, ts, manifest)


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory) -> Path:
    """experiments/small_test.toml: tiny county, 4 years, status_quo and blood_making, 8 runs."""
    from sim.batch.experiments import load_experiment
    from sim.batch.runner import run_batch

    out = tmp_path_factory.mktemp("targets_small") / "out"
    summary = run_batch(load_experiment(SMALL), out, workers=1, quiet=True)
    assert summary.exit_code == 0
    return out


# ---- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (5, 10), (8, 10), (10, 10), (1, 32), (29, 32), (77, 200)])
def test_wilson_interval_matches_scipy(k, n):
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-9)
    assert hi == pytest.approx(ref.high, abs=1e-9)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_known_values():
    # 8 of 10: the textbook interval (0.490, 0.943); 0 of 10 still has width (0, 0.278)
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_verdict_boundaries():
    assert verdict(8, 10, 0.8) == "realistic"  # exactly at the confidence
    assert verdict(7, 10, 0.8) == "stretch"
    assert verdict(5, 10, 0.8) == "stretch"  # exactly 0.5 is not over-ambitious
    assert verdict(4, 10, 0.8) == "over-ambitious"
    assert verdict(16, 32, 0.8) == "stretch" and verdict(15, 32, 0.8) == "over-ambitious"
    assert verdict(10, 10, 1.0) == "realistic" and verdict(9, 10, 1.0) == "stretch"
    assert verdict(5, 10, 0.5) == "realistic"  # confidence 0.5: no stretch band
    assert verdict(0, 0) == "n/a"
    # decimal confidences that floats cannot hold exactly still land on the right side
    for c in (0.55, 0.6, 0.65, 0.7, 0.75, 0.85, 0.9, 0.95):
        for n in (10, 20, 100):
            k = math.ceil(Fraction(str(c)) * n)
            assert verdict(k, n, c) == "realistic", (c, n)
            assert verdict(k - 1, n, c) != "realistic", (c, n)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("confidence", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_achievable_level_is_the_right_quantile(seed, confidence):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    v = np.round(rng.normal(0.2, 0.05, n), 2)  # rounding makes ties
    # caps (<=, <): the confidence-quantile, inverted CDF; at least that share is at or below it
    cap = achievable_level(v, "<=", confidence)
    assert cap == np.quantile(v, confidence, method="inverted_cdf")
    assert (v <= cap).mean() >= confidence
    assert (v < cap).mean() < confidence or cap == v.min()  # the tightest such value
    assert achievable_level(v, "<", confidence) == cap
    # floors (>=, >): the (1 - confidence)-quantile from above; at least that share at or above
    floor = achievable_level(v, ">=", confidence)
    assert floor == -np.quantile(-v, confidence, method="inverted_cdf")
    assert (v >= floor).mean() >= confidence
    assert (v > floor).mean() < confidence or floor == v.max()
    assert floor <= np.quantile(v, 1 - confidence, method="higher")
    # the verdict and the margin agree: realistic exactly when the margin leaves room
    for value in np.unique(v):
        for op in ("<=", ">=", "<", ">"):
            t = Target("t", "poverty_rate", 1, op, float(value))
            r = assess(t, v, confidence)
            room = r["margin"] >= 0 if op in ("<=", ">=") else r["margin"] > 0
            assert (r["verdict"] == "realistic") == room, (op, value)


def test_undefined_runs_count_as_misses():
    t = Target("cost", "cost_per_sustained_exit", 5, "<=", 100.0)
    r = assess(t, np.array([50.0, np.nan, 80.0, np.nan]), 0.8)
    assert (r["met"], r["undefined"], r["runs"]) == (2, 2, 4)
    assert r["achievable"] == math.inf and r["verdict"] == "stretch"


# ---- probabilities on a batch with a known answer --------------------------------------------------


def test_probabilities_on_known_batch(known_batch, tmp_path):
    f = write(
        tmp_path / "t.toml",
        targets_toml(
            'name = "pr5"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.05',
            'name = "pr5_strict"\nmetric = "poverty_rate"\nyear = 5\nop = "<"\nvalue = 0.05',
            'name = "floor"\nmetric = "poverty_rate"\nyear = 3\nop = ">="\nvalue = 0.03\n'
            'strategy = "a"',
        ),
    )
    results = load_results(known_batch)
    ev = evaluate(results, load_targets(f, context_for_results(results)), 0.8)
    got = ev.frame.set_index(["target", "strategy"])
    a, b = got.loc[("pr5", "a")], got.loc[("pr5", "b")]
    assert (a["met"], a["runs"], a["probability"], a["verdict"]) == (5, 10, 0.5, "stretch")
    assert (b["met"], b["probability"], b["verdict"]) == (8, 0.8, "realistic")
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(wilson_interval(5, 10))
    assert a["achievable"] == pytest.approx(0.08) and a["margin"] == pytest.approx(-0.03)
    assert b["achievable"] == pytest.approx(0.05) and b["margin"] == pytest.approx(0.0)
    s = got.loc[("pr5_strict", "b")]  # < 0.05: the four runs at exactly 5% miss
    assert (s["met"], s["verdict"]) == (4, "over-ambitious")
    fl = got.loc[("floor", "a")]  # >= 3%: 8 of 10; the 80% floor is 3%
    assert (fl["met"], fl["verdict"], fl["achievable"]) == (8, "realistic", pytest.approx(0.03))
    assert ("floor", "b") not in got.index  # the strategy filter


# ---- metric values ---------------------------------------------------------------------------------


def _ts(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"run_id": ["r"] * n, "year": range(n), **cols})


def test_derived_metrics():
    ts = _ts(
        returns=[0, 0, 2, 1, 6, 3, 0],
        exits=[0, 10, 0, 0, 4, 0, 0],
        exited_now=[0, 10, 8, 20, 10, 0, 5],
        cumulative_spending=[0, 100, 200, 300, 300, 300, 300],
        sustained_exits=[0, 10, 8, 0, 2, 0, 0],
        poverty_rate=[0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.3],
    )
    po = pd.Series({"r": 2})

    def value(metric, year):
        return float(metric_values(ts, Target("t", metric, year, "<=", 1.0), po).iloc[0])

    # return rate: returns / exited_now of the year before; 0 when nobody was out
    assert value("return_rate", 2) == pytest.approx(2 / 10)
    assert value("return_rate", 4) == pytest.approx(6 / 20)
    assert value("return_rate", 6) == 0.0  # exited_now was 0 in year 5
    assert value("max_return_rate_after_phase_out", 3) == pytest.approx(1 / 8)
    assert value("max_return_rate_after_phase_out", 6) == pytest.approx(6 / 20)
    assert math.isnan(value("max_return_rate_after_phase_out", 2))  # no year after phase-out
    assert value("returns_after_phase_out", 5) == 1 + 6 + 3
    assert value("cost_per_sustained_exit", 2) == pytest.approx(200 / 8)
    assert math.isnan(value("cost_per_sustained_exit", 3))  # no sustained exits: undefined
    assert value("mean_poverty_rate", 4) == pytest.approx(0.25)
    assert value("total_spending", 3) == 300
    # ratios: same year; 0/0 is 0, x/0 is infinite
    assert value("returns/exits", 4) == pytest.approx(6 / 4)
    assert value("returns/exits", 1) == 0.0
    assert value("returns/exits", 2) == math.inf


def test_return_rate_stays_in_0_1_on_a_real_batch(small_batch):
    r = load_results(small_batch)
    from sim.analysis.outcomes import return_rate

    rate = return_rate(r.timeseries)
    assert rate.between(0, 1).all() and len(rate) == len(r.timeseries)


# ---- validation of targets files ------------------------------------------------------------------

GOOD = 'name = "ok"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.1'

BAD = {
    "unknown metric": (
        'name = "x"\nmetric = "poverty_rat"\nyear = 5\nop = "<="\nvalue = 0.1',
        "target[1] (x).metric: unknown metric 'poverty_rat' (did you mean 'poverty_rate'?)",
    ),
    "unknown ratio part": (
        'name = "x"\nmetric = "returns/exitz"\nyear = 5\nop = "<="\nvalue = 0.1',
        "target[1] (x).metric: 'returns/exitz': 'exitz' is not a timeseries column",
    ),
    "year in metric": (
        'name = "x"\nmetric = "poverty_rate@5"\nyear = 5\nop = "<="\nvalue = 0.1',
        "give the year in the `year` field",
    ),
    "year beyond 100": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 101\nop = "<="\nvalue = 0.1',
        "target[1] (x).year: 101 is outside the horizon 0..100",
    ),
    "negative year": (
        'name = "x"\nmetric = "poverty_rate"\nyear = -1\nop = "<="\nvalue = 0.1',
        "target[1] (x).year: -1 is outside the horizon",
    ),
    "rate above one": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 1.5',
        "target[1] (x).value: 1.5 is impossible for poverty_rate, which is a share (0..1)",
    ),
    "negative count": (
        'name = "x"\nmetric = "registered_households"\nyear = 5\nop = "<="\nvalue = -3',
        "target[1] (x).value: -3 is impossible for registered_households",
    ),
    "count below zero never": (
        'name = "x"\nmetric = "registered_households"\nyear = 5\nop = "<"\nvalue = 0',
        "registered_households < 0 can never hold",
    ),
    "unknown op": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "=="\nvalue = 0.1',
        "target[1] (x).op: unknown comparison '=='; allowed: <=, <, >=, >",
    ),
    "unknown strategy": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.1\n'
        'strategy = "blood_makin"',
        "target[1] (x).strategy: unknown strategy 'blood_makin' (did you mean 'blood_making'?)",
    ),
    "missing value": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="',
        "target[1] (x).value: required field is missing",
    ),
    "value as text": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = "1%"',
        "target[1] (x).value: must be a finite number (got '1%')",
    ),
    "unknown key": (
        'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.1\nstrategie = "a"',
        "target[1] (x).strategie: unknown field (did you mean 'strategy'?)",
    ),
    "duplicate name": (
        'name = "ok"\nmetric = "poverty_rate"\nyear = 3\nop = "<="\nvalue = 0.1',
        "target[1] (ok).name: 'ok' is also the name of target[0]",
    ),
    "time axis": (
        'name = "x"\nmetric = "calendar_year"\nyear = 5\nop = "<="\nvalue = 2020',
        "'calendar_year' is the time axis, not an outcome",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_targets_file_gets_its_message_and_exit_2(case, tmp_path, capsys):
    table, message = BAD[case]
    f = write(tmp_path / "plan.toml", targets_toml(GOOD, table))
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"error: {f}: " in err
    assert message in err, err
    assert "Traceback" not in err


def test_file_level_problems(tmp_path, capsys):
    f = write(tmp_path / "plan.toml", 'description = "x"\n[[targets]]\nname = "a"\n')
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "targets: unknown field" in err and "write one [[target]] table per target" in err
    bad = write(tmp_path / "broken.toml", "[[target]\nname = 1")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_targets(bad)
    with pytest.raises(ConfigError, match="no targets"):
        parse_targets({"description": "x"}, "p.toml")


def test_validate_accepts_the_shipped_targets(capsys):
    assert main(["validate", str(SHIPPED)]) == 0
    assert capsys.readouterr().out.strip() == "ok"


def test_validate_checks_targets_against_an_experiment(tmp_path, capsys):
    # small_test runs 4 years: a year-5 target is outside its horizon; its strategies are known
    f = write(
        tmp_path / "plan.toml",
        targets_toml(GOOD, GOOD.replace('"ok"', '"y4"').replace("5", "4")),
    )
    assert main(["validate", str(f), str(SMALL)]) == 2
    err = capsys.readouterr().err
    assert (
        "target[0] (ok).year: 5 is outside the horizon 0..4 (the horizon of experiment small_test)"
        in err
    )
    assert "target[1]" not in err


def test_every_problem_is_reported_at_once(tmp_path):
    f = write(tmp_path / "plan.toml", targets_toml(*(t for t, _ in BAD.values())))
    with pytest.raises(ConfigError) as exc:
        load_targets(f)
    assert len(exc.value.problems) >= len(BAD) - 1  # the duplicate-name case needs GOOD first


# ---- plan consistency --------------------------------------------------------------------------------


def T(name, metric, year, op, value, strategies=None):
    return Target(name, metric, year, op, float(value), strategies)


def test_contradictions():
    issues = check_plan(
        [
            T("low", "poverty_rate", 5, "<=", 0.01),
            T("high", "poverty_rate", 5, ">=", 0.05),
            T("edge", "poverty_rate", 5, ">", 0.01),  # contradicts `low` only at the edge
            T("other_year", "poverty_rate", 6, ">=", 0.05),
            T("other_strategy", "poverty_rate", 5, ">=", 0.5, ("transfusion",)),
            T("cum5", "exited_cumulative", 5, ">=", 500),
            T("cum8", "exited_cumulative", 8, "<=", 400),
        ]
    )
    pairs = {i.target for i in issues if i.check == "contradiction"}
    assert pairs == {"low, high", "low, edge", "low, other_strategy", "cum5, cum8"}
    assert all(i.severity == "warning" for i in issues)
    assert not check_plan(
        [T("a", "poverty_rate", 5, "<=", 0.05), T("b", "poverty_rate", 5, ">=", 0.05)]
    )


def test_scenario_checks():
    sc = small_scenario()  # 2,000 households, 500 registered
    issues = check_plan(
        [
            T("too_many_exits", "ever_exited", 5, ">=", 600),
            T("fine_exits", "sustained_exits", 5, ">=", 400),
            T("above_population", "poor_households", 5, ">", 2500),
            T("vacuous", "poverty_rate", 5, "<=", 1.0),
            T("late", "max_return_rate_after_phase_out", 3, "<=", 0.1),
            T("elsewhere", "poverty_rate", 5, "<=", 0.2, ("precision",)),
        ],
        scenario=sc,
        batch_strategies=["status_quo", "blood_making"],
        phase_out_years={"status_quo": {5}, "blood_making": {5}},
    )
    checks = {(i.check, i.target) for i in issues}
    assert ("exits above registered", "too_many_exits") in checks
    assert ("above population", "above_population") in checks
    assert ("always holds", "vacuous") in checks
    assert ("before phase-out", "late") in checks
    assert ("strategy not in batch", "elsewhere") in checks
    assert not any(t == "fine_exits" for _, t in checks)
    assert not check_scenario(sc)  # the small scenario's household sizes are plausible


def test_implausible_household_size_is_reported():
    data = small_data()
    data["population"]["registered"]["people"] = 600  # 1.2 people per registered household
    data["population"]["registered"]["categories"]["medical"]["people"] = 150
    data["population"]["people"] = 6000
    issues = check_scenario(build_scenario(data, "small.toml"))
    msgs = " ".join(i.message for i in issues)
    assert (
        "population.registered: 600 people in 500 households is 1.20 people per household" in msgs
    )
    assert "outside the plausible 1.5-6" in msgs


# ---- povsim targets ------------------------------------------------------------------------------------


def test_targets_command_writes_csv_figure_and_consistency(known_batch, tmp_path, capsys):
    f = write(
        tmp_path / "t.toml",
        targets_toml(
            'name = "pr5"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.05',
            'name = "clash"\nmetric = "poverty_rate"\nyear = 5\nop = ">="\nvalue = 0.5',
        ),
    )
    assert main(["targets", str(known_batch), "--targets", str(f)]) == 0
    out = capsys.readouterr().out
    assert (
        "realistic: P(met) >= 80%; stretch: 50% <= P(met) < 80%; over-ambitious: P(met) < 50%"
        in out
    )
    assert (
        "pr5 (poverty_rate@5 <= 5.00%) and clash (poverty_rate@5 >= 50.00%) cannot both hold" in out
    )
    csv = pd.read_csv(known_batch / "targets.csv")
    assert len(csv) == 4 and set(csv["verdict"]) <= {"realistic", "stretch", "over-ambitious"}
    row = csv[(csv.target == "pr5") & (csv.strategy == "a")].iloc[0]
    assert (row["probability"], row["verdict"]) == (0.5, "stretch")
    cons = pd.read_csv(known_batch / "targets_consistency.csv")
    assert "contradiction" in set(cons["check"])
    assert (known_batch / "figures" / "targets.png").stat().st_size > 10_000
    # --out and --confidence
    assert main(["targets", str(known_batch), "--targets", str(f), "--confidence", "0.5",
                 "--out", str(tmp_path / "v.csv")]) == 0  # fmt: skip
    v = pd.read_csv(tmp_path / "v.csv")
    assert v.loc[(v.target == "pr5") & (v.strategy == "a"), "verdict"].item() == "realistic"
    assert (tmp_path / "v_consistency.csv").exists()


@pytest.mark.parametrize(
    "fail_on,table,code",
    [
        (None, 'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.001', 0),
        (
            "over-ambitious",
            'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.001',
            1,
        ),
        (
            "over-ambitious",
            'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.07',
            0,
        ),
        ("stretch", 'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.07', 1),
        ("stretch", 'name = "x"\nmetric = "poverty_rate"\nyear = 5\nop = "<="\nvalue = 0.5', 0),
    ],
)
def test_fail_on_exit_codes(known_batch, tmp_path, capsys, fail_on, table, code):
    # value 0.07: a 70% (stretch), b 80% (realistic); 0.001: both 0% (over-ambitious)
    f = write(tmp_path / "t.toml", targets_toml(table))
    args = ["targets", str(known_batch), "--targets", str(f)]
    args += ["--fail-on", fail_on] if fail_on else []
    assert main(args) == code
    err = capsys.readouterr().err
    assert (f"fail-on {fail_on}" in err) == (code == 1)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--confidence", "0.3"], "--confidence 0.3: must lie in [0.5, 1]"),
        (["--confidence", "1.2"], "must lie in [0.5, 1]"),
    ],
)
def test_targets_bad_options(known_batch, args, message, capsys):
    assert main(["targets", str(known_batch), "--targets", str(SHIPPED), *args]) == 2
    assert message in capsys.readouterr().err


def test_targets_year_beyond_the_batch_horizon(known_batch, tmp_path, capsys):
    f = write(tmp_path / "t.toml", targets_toml(GOOD.replace("year = 5", "year = 10")))
    assert main(["targets", str(known_batch), "--targets", str(f)]) == 2
    err = capsys.readouterr().err
    assert "target[0] (ok).year: 10 is outside the horizon 0..5 (the results in" in err
    assert not (known_batch / "targets.csv").exists()  # nothing written on bad input


def test_targets_missing_results(tmp_path, capsys):
    assert main(["targets", str(tmp_path / "nope"), "--targets", str(SHIPPED)]) == 2
    assert "not a povsim batch folder" in capsys.readouterr().err


def test_targets_on_a_real_batch(small_batch, tmp_path, capsys):
    f = write(
        tmp_path / "plan.toml",
        targets_toml(
            'name = "all_out"\nmetric = "registered_households"\nyear = 4\nop = "<="\nvalue = 0',
            'name = "returns"\nmetric = "max_return_rate_after_phase_out"\nyear = 4\nop = "<="\n'
            "value = 1.0",
            'name = "exits"\nmetric = "ever_exited"\nyear = 4\nop = ">="\nvalue = 1_000_000',
        ),
    )
    code = main(["targets", str(small_batch), "--targets", str(f), "--fail-on", "over-ambitious"])
    assert code == 1
    out = capsys.readouterr().out
    assert "all_out: registered_households@4 <= 0" in out
    # read from the scenario in the manifest (tiny.toml) and the phase-out lever (year 3)
    assert "[exits above registered]" in out and "[always holds]" in out
    assert "scenario not checked" not in out
    csv = pd.read_csv(small_batch / "targets.csv")
    assert set(csv["strategy"]) == {"status_quo", "blood_making"}
    assert (csv.loc[csv.target == "all_out", "verdict"] == "over-ambitious").all()
    assert (csv.loc[csv.target == "returns", "probability"] == 1.0).all()
