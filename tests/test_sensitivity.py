"""Sensitivity analysis (`povsim sensitivity`): the SALib plumbing on functions with known
indices, seed-noise separation, factor bounds, and Morris on the tiny county — a factor the model
ignores gets exactly nothing, and an interrupted and resumed study gives the same indices.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from SALib.analyze import morris as salib_morris

from sim.analysis.sensitivity import (
    INDEX_COLUMNS,
    Factor,
    analyse,
    elementary_effects,
    evaluate_function,
    factor_from_distribution,
    lever_factor,
    make_plan,
    prepare_study,
    run_study,
)
from sim.batch.distributions import LogNormal, Normal, Triangular, Uniform, Values
from sim.cli import main
from sim.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny.toml"
DUMMY = "industries.walnut.premium"  # the tiny county has no walnut enterprise: wired to nothing

TINY_STUDY = f"""
[experiment]
name = "tiny_sensitivity"
scenario = {json.dumps(str(TINY))}
years = 4

[levers]
strategy = ["transfusion", "blood_making"]
"programme.phase_out_year" = [3]

[uncertainties]
"shocks.illness.incidence" = {{ dist = "uniform", low = 0.05, high = 0.30 }}
"identification.exclusion_error" = {{ values = [0.05, 0.15, 0.25] }}
"{DUMMY}" = {{ dist = "uniform", low = 0.0, high = 1.0 }}

[sampling]
samples = 4
seed = 7
replications = 2

[outputs]
flush_every = 5
"""
OUTCOMES = ["poverty_rate@4", "diff:transfusion-blood_making:poverty_rate@4"]


def ishigami(values: dict, seed: int, a: float = 7.0, b: float = 0.1) -> float:
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def wide(indices: pd.DataFrame) -> pd.DataFrame:
    return indices.pivot(index="factor", columns="index", values="value")


# ---- the plumbing, without the model ---------------------------------------------------------


def test_sobol_recovers_the_ishigami_indices():
    factors = [Factor(f"x{i}", -np.pi, np.pi) for i in (1, 2, 3)]
    plan = make_plan(factors, "sobol", 1024, seed=11)
    assert plan.points == 1024 * (3 + 2)
    y = evaluate_function(plan, ishigami, seeds=[0])
    df, noise = analyse(plan, y, "ishigami", seed=3)
    assert list(df.columns) == INDEX_COLUMNS
    s = wide(df)
    # analytic values (a = 7, b = 0.1): S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)
    assert s.loc[["x1", "x2", "x3"], "S1"].tolist() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert s.loc[["x1", "x2", "x3"], "ST"].tolist() == pytest.approx(
        [0.558, 0.442, 0.244], abs=0.05
    )
    assert s.loc["x1", "ST"] > s.loc["x2", "ST"] > s.loc["x3", "ST"]
    assert s.loc["x2", "S1"] > s.loc["x1", "S1"] > s.loc["x3", "S1"]
    st = df[df["index"] == "ST"].set_index("factor")
    assert ((st["conf_low"] <= st["value"]) & (st["value"] <= st["conf_high"])).all()
    assert noise["replications"] == 1 and np.isnan(noise["noise_share"])  # no seeds, no noise


def test_morris_ranks_the_ishigami_factors_like_salib():
    factors = [Factor(f"x{i}", -np.pi, np.pi) for i in (1, 2, 3)]
    plan = make_plan(factors, "morris", 20, seed=11)
    assert plan.points == 20 * (3 + 1)
    y = evaluate_function(plan, ishigami, seeds=[0])[:, 0]
    df, _ = analyse(plan, y, "ishigami", seed=3)
    s = wide(df)
    assert s.loc["x1", "mu_star"] > s.loc["x2", "mu_star"] > s.loc["x3", "mu_star"] > 0
    # our elementary effects (used for the noise floors and the mu/sigma intervals) are SALib's
    ee = elementary_effects(plan, y)
    ref = salib_morris.analyze(plan.problem, plan.X, y, num_levels=plan.levels, seed=1)
    assert np.abs(ee).mean(axis=0) == pytest.approx(np.asarray(ref["mu_star"], dtype=float))
    assert ee.std(axis=0, ddof=1) == pytest.approx(np.asarray(ref["sigma"], dtype=float))


def test_seed_noise_is_measured_and_never_credited_to_a_factor():
    """y = x1 + noise that differs at every point and seed; x2 does nothing."""

    def noisy(values, seed):
        rng = np.random.default_rng([seed, int(values["x1"] * 1e9), int(values["x2"] * 1e9)])
        return values["x1"] + rng.normal(0.0, 0.5)

    factors = [Factor("x1", 0.0, 1.0), Factor("x2", 0.0, 1.0)]
    for method, n in (("sobol", 128), ("morris", 20)):
        plan = make_plan(factors, method, n, seed=3)
        Y = evaluate_function(plan, noisy, seeds=[1, 2, 3, 4])
        df, noise = analyse(plan, Y, "y", seed=3)
        if method == "sobol":  # noise var 0.25 against Var(x1) = 1/12
            assert noise["noise_share"] == pytest.approx(0.25 / (0.25 + 1 / 12), abs=0.07)
            assert noise["noise_share_of_mean"] < noise["noise_share"]
        main = "ST" if method == "sobol" else "mu_star"
        ci = df[df["index"] == main].set_index("factor")
        floor = dict(zip(["x1", "x2"], noise["factor_floors"], strict=True))
        assert ci.loc["x1", "conf_low"] > floor["x1"]  # a real effect clears its noise floor
        assert ci.loc["x2", "conf_low"] <= floor["x2"]  # noise stays within it

    # noise common to every point (the same seeds everywhere) cancels out of every contrast
    plan = make_plan(factors, "morris", 10, seed=3)
    Y = evaluate_function(plan, lambda v, s: v["x1"] + np.random.default_rng(s).normal(), [1, 2])
    _, noise = analyse(plan, Y, "y")
    assert noise["factor_floors"] == pytest.approx([0.0, 0.0], abs=1e-12)


def test_factor_bounds_come_from_the_distributions():
    f = factor_from_distribution(
        "shocks.illness.incidence", Uniform(dist="uniform", low=0.1, high=0.2)
    )
    assert (f.low, f.high, f.kind) == (0.1, 0.2, "continuous")
    t = Triangular(dist="triangular", low=0.5, mode=1.0, high=2.0)
    assert factor_from_distribution("a", t).high == 2.0
    n = factor_from_distribution("a", Normal(dist="normal", mean=0.12, sd=0.04))
    assert (n.low, n.high) == pytest.approx((0.0, 0.24))  # mean ± 3 sd
    n = factor_from_distribution("a", Normal(dist="normal", mean=0.12, sd=0.04, low=0.05))
    assert n.low == 0.05
    ln = factor_from_distribution("a", LogNormal(dist="lognormal", mean=0.12, sigma=0.3))
    mu = np.log(0.12) - 0.3**2 / 2
    assert (ln.low, ln.high) == pytest.approx((np.exp(mu - 0.9), np.exp(mu + 0.9)))
    # a numeric list: min..max, snapped to the nearest listed value
    v = factor_from_distribution("a", Values(values=[0.05, 0.15, 0.25]))
    assert (v.low, v.high, v.kind) == (0.05, 0.25, "values")
    assert [v.value(x) for x in (0.05, 0.09, 0.11, 0.19, 0.25)] == [0.05, 0.05, 0.15, 0.15, 0.25]
    c = factor_from_distribution("a", Values(values=["poorest_first", "random"]))
    assert (c.kind, c.value(0.2), c.value(0.8)) == ("choice", "poorest_first", "random")
    assert factor_from_distribution("a", Values(values=[3])) is None  # nothing to vary
    # integer fields are rounded; the experiment's distribution can be used instead of a range
    r = factor_from_distribution(
        "shocks.enterprise.reentry_years", Uniform(dist="uniform", low=1, high=4)
    )
    assert (r.kind, r.value(2.4), r.value(2.6)) == ("integer", 2, 3)
    u = (0.12 - n.low) / (n.high - n.low)  # the point's place in the range → its quantile
    assert n.value(0.12, "distribution") == pytest.approx(n.dist.ppf(np.array([u]))[0])
    assert lever_factor("budget.yearly", [5e7, 1e8]).high == 1e8
    assert lever_factor("programme.targeting", ["poorest_first", "random"]) is None


# ---- the model: Morris on the tiny county ---------------------------------------------------


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny_sensitivity.toml"
    path.write_text(TINY_STUDY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(experiment, tmp_path_factory) -> Path:
    """An uninterrupted study through the command line, in this process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    argv = ["sensitivity", str(experiment), "--method", "morris", "--workers", "1"]
    assert main([*argv, "--outcome", *OUTCOMES, "--out", str(out), "--quiet"]) == 0
    return out


def test_outputs_keep_the_report_contract(reference):
    sens = reference / "sensitivity"
    indices = pd.read_csv(sens / "indices.csv")
    assert list(indices.columns) == INDEX_COLUMNS
    expected = {
        "transfusion:poverty_rate@4",
        "blood_making:poverty_rate@4",
        "diff:transfusion-blood_making:poverty_rate@4",
    }
    assert set(indices["outcome"]) == expected
    assert set(indices["index"]) == {"mu_star", "mu", "sigma"} and set(indices["method"]) == {
        "morris"
    }
    noise = pd.read_csv(sens / "noise.csv")
    assert set(noise["outcome"]) == expected
    assert noise["noise_share"].between(0, 1).all() and (noise["replications"] == 2).all()
    assert len(list((sens / "figures").glob("morris_*.png"))) == 3
    design = json.loads((sens / "design.json").read_text())
    assert design["points"] == 4 * (3 + 1) and design["total_runs"] == 16 * 2 * 2
    # the difference is paired on sample and seed: its seed means are the strategies' difference
    s = pd.read_csv(sens / "samples.csv")
    diff = s["transfusion:poverty_rate@4"] - s["blood_making:poverty_rate@4"]
    assert s["diff:transfusion-blood_making:poverty_rate@4"].to_numpy() == pytest.approx(diff)


def test_a_factor_wired_to_nothing_gets_nothing(reference):
    indices = pd.read_csv(reference / "sensitivity" / "indices.csv")
    floors = pd.read_csv(reference / "sensitivity" / "noise_factors.csv")
    for outcome, df in indices.groupby("outcome"):
        mu_star = df[df["index"] == "mu_star"].set_index("factor")
        top = mu_star["value"].idxmax()
        assert mu_star.loc[top, "value"] > 0
        # common seeds: changing the dummy changes no number, so every effect is exactly 0
        assert mu_star.loc[DUMMY, ["value", "conf_low", "conf_high"]].tolist() == [0, 0, 0]
        floor = floors[(floors.outcome == outcome)].set_index("factor")["noise_floor"]
        assert floor[DUMMY] == 0
        if not outcome.startswith("diff:"):  # illness moves each strategy's poverty rate clearly
            assert top == "shocks.illness.incidence"
            assert mu_star.loc[top, "conf_low"] > floor[top]


def test_interrupted_and_resumed_study_gives_the_same_indices(reference, experiment, tmp_path):
    study = prepare_study(experiment, "morris", outcomes=OUTCOMES)
    out = tmp_path / "out"

    def stop(outcome, summary):
        if summary.ran == 23:
            raise KeyboardInterrupt

    first = run_study(study, out, workers=1, quiet=True, on_run=stop)
    assert first.summary.interrupted and first.analysis is None
    assert not (out / "sensitivity" / "indices.csv").exists()  # nothing analysed half-way
    # a crash after a chunk was written but before it committed: drop the last commit record
    parts = sorted((out / "runs").glob("part-*.parquet"))
    parts[-1].unlink()

    again = run_study(
        prepare_study(experiment, "morris", outcomes=OUTCOMES),
        out,
        resume=True,
        workers=1,
        quiet=True,
    )
    assert again.summary.skipped < 23 and again.summary.exit_code == 0
    for name in ("indices.csv", "noise.csv", "noise_factors.csv", "samples.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(out / "sensitivity" / name),
            pd.read_csv(reference / "sensitivity" / name),
            check_exact=True,
        )


def test_resume_refuses_a_different_study(reference, experiment, capsys):
    before = (reference / "sensitivity" / "indices.csv").read_bytes()
    argv = ["sensitivity", str(experiment), "--method", "morris", "--samples", "3"]
    assert main([*argv, "--out", str(reference), "--resume", "--quiet"]) == 2
    assert "different sensitivity study" in capsys.readouterr().err
    assert (reference / "sensitivity" / "indices.csv").read_bytes() == before


BAD = {
    "unknown metric": (["--outcome", "poverty_ratio@4"], "unknown metric 'poverty_ratio'"),
    "year beyond the horizon": (["--outcome", "poverty_rate@9"], "beyond the horizon (4)"),
    "diff of a strategy not run": (
        ["--outcome", "diff:precision-blood_making:poverty_rate@4"],
        "needs two of the experiment's strategies",
    ),
    "sobol without a power of two": (["--method", "sobol", "--samples", "6"], "power of two"),
    "unknown factor": (["--factors", "shocks.illness.incidense"], "not a factor"),
    "odd morris levels": (["--levels", "3"], "even number of levels"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exits_2_and_writes_nothing(case, experiment, tmp_path, capsys):
    extra, message = BAD[case]
    method = [] if "--method" in extra else ["--method", "morris"]
    out = tmp_path / "out"
    assert main(["sensitivity", str(experiment), *method, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_prepare_study_holds_other_levers_and_expands_outcomes(experiment):
    study = prepare_study(experiment, "sobol", samples=8, factors=["shocks.illness.incidence"])
    assert [f.name for f in study.plan.factors] == ["shocks.illness.incidence"]
    assert study.fixed == {"programme.phase_out_year": 3}
    assert any(DUMMY in note for note in study.notes)  # left at the scenario's value
    assert [o.name for o in study.outcomes] == [
        "transfusion:poverty_rate@4",
        "blood_making:poverty_rate@4",
        "diff:transfusion-blood_making:poverty_rate@4",
    ]
    runs = study.batch.runs()
    assert len(runs) == 8 * 3 * 2 * 2
    # every design point meets both strategies with the same seeds
    by_point = {}
    for r in runs:
        by_point.setdefault((r.sample, r.replication), set()).add((r.strategy, r.seed))
    assert all(len({seed for _, seed in v}) == 1 and len(v) == 2 for v in by_point.values())
    with pytest.raises(ConfigError, match="not a strategy of the experiment"):
        prepare_study(experiment, "morris", outcomes=["precision:poverty_rate@4"])


def test_include_levers_turns_numeric_levers_into_factors(tmp_path):
    text = TINY_STUDY.replace(
        '"programme.phase_out_year" = [3]',
        '"programme.phase_out_year" = [3]\n"budget.yearly" = [3_000_000, 4_000_000]',
    )
    path = tmp_path / "levers.toml"
    path.write_text(text, encoding="utf-8")
    held = prepare_study(path, "morris")
    assert "budget.yearly" not in [f.name for f in held.plan.factors]
    assert held.fixed["budget.yearly"] == 3_000_000 and any("budget" in n for n in held.notes)
    study = prepare_study(path, "morris", include_levers=True)
    budget = next(f for f in study.plan.factors if f.name == "budget.yearly")
    assert (budget.source, budget.low, budget.high) == ("lever", 3e6, 4e6)
    values = {r.uncertainties["budget.yearly"] for r in study.batch.runs()}
    assert min(values) >= 3e6 and max(values) <= 4e6 and len(values) > 2  # continuous
    assert all(r.overrides["budget.yearly"] in values for r in study.batch.runs())
    assert study.fixed == {"programme.phase_out_year": 3}
