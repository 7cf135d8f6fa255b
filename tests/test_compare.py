"""`povsim compare`: levels and paired differences, checked against numbers computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import (
    CompareError,
    compare,
    cost_column,
    diff_column,
    favourable_column,
    level_column,
    ratio_of_means,
)
from sim.batch.results import Results, load_results
from sim.batch.runner import run_batch
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
TINY = ROOT / "scenarios" / "tiny.toml"


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory) -> Path:
    """experiments/small_test.toml run in-process: 2 strategies x 2 samples x 2 seeds, 4 years,
    phase-out after year 3."""
    from sim.batch.experiments import load_experiment

    out = tmp_path_factory.mktemp("compare") / "small"
    summary = run_batch(load_experiment(SMALL), out, workers=1, quiet=True)
    assert summary.exit_code == 0
    return out


@pytest.fixture(scope="session")
def small(small_batch) -> Results:
    return load_results(small_batch)


# ---- levels and differences against the timeseries ---------------------------------------------


def test_levels_match_the_timeseries(small):
    c = compare(small)
    assert c.years == [4] and c.horizon == 4  # 5 is past this batch's horizon: only the last year
    ts = small.joined()
    last = ts[ts["year"] == 4]
    for strategy, row in c.table.set_index("strategy").iterrows():
        rate = last.loc[last["strategy"] == strategy, "poverty_rate"].to_numpy()
        assert row[level_column("poverty_rate@4", "mean")] == pytest.approx(rate.mean())
        assert row[level_column("poverty_rate@4", "p5")] == pytest.approx(np.percentile(rate, 5))
        assert row[level_column("poverty_rate@4", "p95")] == pytest.approx(np.percentile(rate, 95))
        exits = last.loc[last["strategy"] == strategy, "exited_cumulative"]
        assert row[level_column("exits_total", "mean")] == pytest.approx(exits.mean())
        # the phase-out year is 3: returns of year 4 only
        after = ts[(ts["strategy"] == strategy) & (ts["year"] > 3)].groupby("run_id")["returns"]
        assert row[level_column("returns_after_phase_out", "mean")] == pytest.approx(
            after.sum().mean()
        )
        share = last.loc[last["strategy"] == strategy, "sustained_exit_share"]
        assert row[level_column("sustained_exit_share@4", "mean")] == pytest.approx(share.mean())
        assert row["runs"] == 4


def test_differences_pair_runs_with_the_same_sample_and_seed(small):
    c = compare(small)
    ts = small.joined()
    last = ts[ts["year"] == 4].set_index(["sample", "replication"])
    ref = last[last["strategy"] == "status_quo"]["poverty_rate"]
    bm = last[last["strategy"] == "blood_making"]["poverty_rate"]
    diffs = (bm - ref.reindex(bm.index)).to_numpy()
    row = c.table.set_index("strategy").loc["blood_making"]
    assert row["pairs"] == 4
    assert row[diff_column("poverty_rate@4", "status_quo", "mean")] == pytest.approx(diffs.mean())
    assert row[diff_column("poverty_rate@4", "status_quo", "p5")] == pytest.approx(
        np.percentile(diffs, 5)
    )
    assert row[favourable_column("poverty_rate@4", "status_quo")] == pytest.approx(
        (diffs < 0).mean()
    )
    # cost per additional sustained exit: ratio of the mean paired differences
    sp = last["cumulative_spending"]
    se = last["sustained_exits"]
    d_sp = sp[last["strategy"] == "blood_making"] - sp[last["strategy"] == "status_quo"]
    d_se = se[last["strategy"] == "blood_making"] - se[last["strategy"] == "status_quo"]
    ratio = row[cost_column("status_quo", "ratio")]
    assert ratio == pytest.approx(d_sp.mean() / d_se.mean())
    assert row[cost_column("status_quo", "p5")] <= ratio <= row[cost_column("status_quo", "p95")]
    # the reference row has levels but no differences
    ref_row = c.table.set_index("strategy").loc["status_quo"]
    assert ref_row["pairs"] == 0
    assert np.isnan(ref_row[diff_column("poverty_rate@4", "status_quo", "mean")])


def test_another_reference_flips_the_sign(small):
    a = compare(small).table.set_index("strategy")
    b = compare(small, reference="blood_making").table.set_index("strategy")
    assert b.loc["status_quo", diff_column("poverty_rate@4", "blood_making", "mean")] == (
        pytest.approx(-a.loc["blood_making", diff_column("poverty_rate@4", "status_quo", "mean")])
    )


# ---- pairing matters: a synthetic batch --------------------------------------------------------


def synthetic(rates_a, rates_b, years: int = 2, **extra_b) -> Results:
    """Two strategies over the same samples (1 replication): poverty_rate from the arrays, other
    compare columns constant unless given (per sample) in ``extra_b`` for strategy B."""
    n = len(rates_a)
    runs, rows = [], []
    for s_idx, (strategy, rates) in enumerate((("status_quo", rates_a), ("b", rates_b))):
        for i in range(n):
            run_id = f"{s_idx * n + i:05d}-x"
            runs.append(
                {"run_id": run_id, "sample": i, "replication": 0, "seed": 7, "strategy": strategy}
            )
            for year in range(years + 1):
                row = {
                    "run_id": run_id,
                    "year": year,
                    "poverty_rate": rates[i],
                    "exited_cumulative": 10 * year,
                    "returns": 1,
                    "sustained_exits": 5,
                    "sustained_exit_share": 0.5,
                    "cumulative_spending": 0.0,
                    "transfer_share": 0.2,
                    "gini": 0.4,
                }
                if strategy == "b":
                    row.update({k: v[i] for k, v in extra_b.items()})
                rows.append(row)
    runs = pd.DataFrame(runs).assign(status="ok")
    return Results(
        path=Path("synthetic"),
        manifest={"levers": ["strategy"], "uncertainties": []},
        runs=runs,
        timeseries=pd.DataFrame(rows),
    )


def test_pairing_gives_a_tighter_interval_than_unpaired_differences():
    rng = np.random.default_rng(3)
    base = np.linspace(0.10, 0.50, 20)  # the samples differ far more than the strategies do
    better = base - 0.01 + rng.normal(0, 0.001, 20)
    c = compare(synthetic(base, better), years=[2])
    row = c.table.set_index("strategy").loc["b"]
    lo = row[diff_column("poverty_rate@2", "status_quo", "p5")]
    hi = row[diff_column("poverty_rate@2", "status_quo", "p95")]
    assert hi < 0 and lo > -0.02  # paired: B is better in every sample
    assert row[favourable_column("poverty_rate@2", "status_quo")] == 1.0
    unpaired = np.subtract.outer(better, base).ravel()
    assert np.percentile(unpaired, 5) < 0 < np.percentile(unpaired, 95)  # would include 0

    # shuffling which sample each B run belongs to destroys the pairing and changes the answer
    shuffled = compare(synthetic(base, better[rng.permutation(20)]), years=[2])
    srow = shuffled.table.set_index("strategy").loc["b"]
    assert srow[diff_column("poverty_rate@2", "status_quo", "p95")] > 0
    assert srow[favourable_column("poverty_rate@2", "status_quo")] < 1.0
    # the mean difference does not depend on the pairing; the interval does
    assert srow[diff_column("poverty_rate@2", "status_quo", "mean")] == pytest.approx(
        row[diff_column("poverty_rate@2", "status_quo", "mean")]
    )


def test_cost_per_additional_exit_is_a_ratio_of_means_over_pairs():
    n = 6
    spend = np.array([100.0, 200, 300, 400, 500, 600])
    exits = np.array([1.0, 1, 2, 2, 10, 20])  # per-pair ratios average to something else
    r = synthetic(
        np.full(n, 0.3),
        np.full(n, 0.2),
        cumulative_spending=spend,
        sustained_exits=5 + exits,
    )
    row = compare(r, years=[2]).table.set_index("strategy").loc["b"]
    ratio = row[cost_column("status_quo", "ratio")]
    assert ratio == pytest.approx(spend.mean() / exits.mean())
    assert ratio != pytest.approx(np.mean(spend / exits))
    assert row[cost_column("status_quo", "p5")] < ratio < row[cost_column("status_quo", "p95")]


def test_ratio_without_additional_exits_is_undefined():
    point, lo, hi = ratio_of_means([10.0, 10.0, 10.0], [0.0, -1.0, 0.0])
    assert np.isnan(point) and hi == np.inf
    assert ratio_of_means([1.0, 2.0], [1.0, 1.0], n_boot=50, seed=1) == ratio_of_means(
        [1.0, 2.0], [1.0, 1.0], n_boot=50, seed=1
    )


def test_bad_reference_and_years_raise():
    r = synthetic(np.full(4, 0.3), np.full(4, 0.2))
    with pytest.raises(CompareError, match="not a strategy of this batch"):
        compare(r, reference="nonsense")
    with pytest.raises(CompareError, match="outside the batch's horizon"):
        compare(r, years=[3])


# ---- the command -------------------------------------------------------------------------------


def test_cli_prints_and_writes_csv_with_units(small_batch, tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["compare", str(small_batch), "--years", "2,4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "5th, 95th percentile" in text and "blood_making" in text and "poverty_rate@2" in text
    df = pd.read_csv(out)
    assert list(df["strategy"]) == ["status_quo", "blood_making"]  # strategy first, plan order
    assert df.columns[0] == "strategy"
    for col in (
        "poverty_rate@4 (share of persons) mean",
        "poverty_rate@2 (share of persons) p95",
        "total_spending (yuan) mean",
        "gini@4 (0-1) p5",
        "poverty_rate@4 - status_quo (share of persons) mean",
        "poverty_rate@4 - status_quo < 0 (share of pairs)",
        "sustained_exits - status_quo > 0 (share of pairs)",
        "cost per additional sustained exit vs status_quo (yuan/household) ratio",
    ):
        assert col in df.columns, col
    # default output: RESULTS/compare.csv
    assert main(["compare", str(small_batch)]) == 0
    assert (small_batch / "compare.csv").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reference", "precision"], "not a strategy of this batch"),
        (["--years", "12"], "outside the batch's horizon"),
        (["--years", "five"], "comma-separated model years"),
    ],
)
def test_cli_bad_input_exits_2_with_one_message(small_batch, tmp_path, capsys, args, message):
    out = tmp_path / "never.csv"
    assert main(["compare", str(small_batch), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_cli_not_a_results_folder(tmp_path, capsys):
    (tmp_path / "x.json").write_text(json.dumps({}))
    assert main(["compare", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a povsim batch folder" in err[0]
