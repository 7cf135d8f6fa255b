"""Batch experiments: design, paired seeds, backends, resume, failures, bad input, Mesa batch_run.

Everything runs experiments/small_test.toml (the tiny county, 4 years, 8 runs of a few
hundredths of a second) or variants of it written to tmp_path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
import sim.batch.backends
import sim.batch.execution
from sim.batch.design import replication_seeds, sample_uncertainties
from sim.batch.distributions import LogNormal, Normal, Triangular, Uniform, Values
from sim.batch.experiments import load_experiment
from sim.batch.results import RUN_PARTS, TIMESERIES, load_results, part_files
from sim.batch.runner import run_batch
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
SHIPPED = ROOT / "experiments" / "transfusion_vs_blood_making.toml"
TINY = ROOT / "scenarios" / "tiny.toml"
VOLATILE = ["wall_seconds", "part"]  # differ between sessions by nature; everything else must not


def small_text() -> str:
    """small_test.toml with an absolute scenario path, so that it can live in tmp_path."""
    return SMALL.read_text().replace('"../scenarios/tiny.toml"', json.dumps(str(TINY)))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_same_results(a: sim.batch.results.Results, b: sim.batch.results.Results) -> None:
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(
        a.runs.drop(columns=VOLATILE), b.runs.drop(columns=VOLATILE), check_exact=True
    )


@pytest.fixture(scope="module")
def design():
    return load_experiment(SMALL)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, design):
    """The uninterrupted, in-process batch every other way of running must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "out"
    summary = run_batch(design, out, workers=1, quiet=True)
    assert summary.exit_code == 0 and summary.ok == design.total
    return load_results(out)


# ---- the design ------------------------------------------------------------------------------


def test_design_is_factorial_and_paired(design):
    runs = design.runs()
    assert design.total == len(runs) == 2 * 2 * 2
    assert len({r.run_id for r in runs}) == len(runs)
    assert all(re.fullmatch(r"\d{5}-[0-9a-f]{8}", r.run_id) for r in runs)
    # the same seeds under every lever combination and every uncertainty sample
    for li in range(len(design.lever_combos)):
        for si in range(len(design.samples)):
            group = [r for r in runs if r.lever_index == li and r.sample == si]
            assert [r.seed for r in group] == design.seeds
    # the same uncertainty sample under every lever combination
    by_sample = {}
    for r in runs:
        by_sample.setdefault(r.sample, []).append(r.uncertainties)
    assert all(all(u == us[0] for u in us) for us in by_sample.values())
    # levers and horizon reach the scenario as overrides; the strategy does not
    assert runs[0].overrides["meta.years"] == 4
    assert runs[0].overrides["programme.phase_out_year"] == 3
    assert "strategy" not in runs[0].overrides
    # the plan is stable: loading again gives the same ids, seeds and samples
    assert [r.run_id for r in load_experiment(SMALL).runs()] == [r.run_id for r in runs]


def test_replication_seeds_are_stable_prefixes():
    five = replication_seeds(20251129, 5)
    assert replication_seeds(20251129, 3) == five[:3]
    assert len(set(five)) == 5 and all(0 <= s < 2**63 for s in five)
    assert replication_seeds(1, 3) != replication_seeds(2, 3)


def test_samples_follow_their_distributions():
    u = {
        "a": Uniform(dist="uniform", low=0.1, high=0.2),
        "b": Triangular(dist="triangular", low=0.5, mode=1.0, high=2.0),
        "c": Normal(dist="normal", mean=0.12, sd=0.04),
        "d": LogNormal(dist="lognormal", mean=0.12, sigma=0.3),
        "e": Values(values=[0.05, 0.15, 0.25]),
    }
    n = 600
    s = pd.DataFrame(sample_uncertainties(u, "lhs", n, 7))
    # Latin hypercube: exactly one sample in each of n equal-probability strata
    assert sorted(np.floor((s["a"] - 0.1) / 0.1 * n).astype(int)) == list(range(n))
    assert s["b"].between(0.5, 2.0).all()
    assert s["c"].between(0.0, 0.24).all()  # truncated at mean ± 3 sd, never clipped
    assert s["d"].mean() == pytest.approx(0.12, rel=0.02)  # `mean` is the mean of the value
    assert s["e"].value_counts().tolist() == [200, 200, 200]
    again = pd.DataFrame(sample_uncertainties(u, "lhs", n, 7))
    pd.testing.assert_frame_equal(s, again)
    assert len(sample_uncertainties(u, "sobol", 8, 7)) == 8
    full = sample_uncertainties({"a": u["a"], "e": u["e"]}, "factorial", 2, 7)
    assert len(full) == 2 * 3
    assert sorted({round(x["a"], 6) for x in full}) == [0.125, 0.175]  # mid-quantile levels


def test_integer_fields_get_integer_samples(tmp_path):
    text = small_text().replace(
        "[sampling]",
        '"shocks.enterprise.reentry_years" = { dist = "uniform", low = 1, high = 4 }\n\n[sampling]',
    )
    d = load_experiment(write(tmp_path / "e.toml", text))
    assert all(isinstance(s["shocks.enterprise.reentry_years"], int) for s in d.samples)


def test_validate_accepts_experiment_files(capsys):
    assert main(["validate", str(SMALL), str(SHIPPED), str(TINY)]) == 0
    assert capsys.readouterr().out.strip() == "ok"


# ---- running ---------------------------------------------------------------------------------


def test_results_layout_and_loading(reference, design):
    res = reference
    assert res["runs"] is res.runs and set(res.keys()) == {
        "runs",
        "timeseries",
        "households",
        "manifest",
    }
    assert (res.runs["status"] == "ok").all()
    assert res.runs["run_id"].tolist() == [r.run_id for r in design.runs()]
    assert len(res.timeseries) == design.total * 5  # years 0..4
    assert res.timeseries[["run_id", "year"]].equals(
        res.timeseries[["run_id", "year"]].sort_values(["run_id", "year"], ignore_index=True)
    )
    joined = res.joined()
    for col in ["strategy", "seed", "programme.phase_out_year", "shocks.illness.incidence"]:
        assert col in joined.columns
    m = res.manifest
    assert m["status"] == "complete" and m["counts"] == {"ok": 8, "failed": 0, "pending": 0}
    assert m["master_seed"] == 20251129 and m["seeds"] == design.seeds
    assert {v["seed"] for v in m["runs"].values()} == set(design.seeds)
    assert m["experiment"]["text"] == SMALL.read_text()
    assert res.households is None
    # paired seeds: blood-making and the status quo start from the same year-0 county
    y0 = joined[joined.year == 0].set_index(["sample", "seed", "strategy"])["poverty_rate"]
    assert (y0.xs("status_quo", level="strategy") == y0.xs("blood_making", level="strategy")).all()


@pytest.mark.slow
def test_same_results_with_processes_and_dask(reference, design, tmp_path):
    # 2 local worker processes
    s2 = run_batch(design, tmp_path / "p2", workers=2, quiet=True)
    assert (s2.backend, s2.workers, s2.ok) == ("processes", 2, design.total)
    assert_same_results(reference, load_results(tmp_path / "p2"))
    # Dask LocalCluster on loopback (threads here for speed; `--scheduler local` uses processes)
    sd = run_batch(
        design, tmp_path / "dask", workers=2, scheduler="local", dask_processes=False, quiet=True
    )
    assert (sd.backend, sd.ok) == ("dask", design.total)
    assert_same_results(reference, load_results(tmp_path / "dask"))


def test_resume_after_interrupt_equals_uninterrupted(reference, design, tmp_path):
    out = tmp_path / "out"

    def stop_after_three(outcome, summary):
        if summary.ran == 3:
            raise KeyboardInterrupt

    s1 = run_batch(design, out, workers=1, quiet=True, flush_every=2, on_run=stop_after_three)
    assert s1.interrupted and s1.exit_code == 130 and s1.ok == 3
    partial = load_results(out)
    assert partial.manifest["status"] == "interrupted"
    assert (partial.runs["status"] == "pending").sum() == design.total - 3
    assert partial.timeseries["run_id"].nunique() == 3  # completed runs are kept, even unflushed

    s2 = run_batch(design, out, workers=1, quiet=True, resume=True)
    assert (s2.skipped, s2.ran, s2.exit_code) == (3, design.total - 3, 0)
    resumed = load_results(out)
    assert_same_results(reference, resumed)
    assert len(resumed.manifest["sessions"]) == 2


def test_resume_discards_an_uncommitted_chunk(reference, design, tmp_path):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    # a crash between writing a chunk's data and committing it leaves data without its runs part
    last, path = list(part_files(out / RUN_PARTS).items())[-1]
    lost = pd.read_parquet(path)["run_id"].tolist()
    path.unlink()
    (out / TIMESERIES / f".part-{last:05d}.parquet.tmp-123").write_bytes(b"half a file")
    assert set(load_results(out).runs.query("status == 'pending'")["run_id"]) == set(lost)

    s = run_batch(design, out, workers=1, quiet=True, resume=True)
    assert s.ran == len(lost)
    assert not any(".tmp-" in p.name for p in (out / TIMESERIES).iterdir())
    assert_same_results(reference, load_results(out))


def test_failing_run_is_recorded_and_the_batch_goes_on(design, tmp_path, monkeypatch, capsys):
    bad_seed = design.seeds[0]

    class Flaky(sim.PovertyModel):
        def run(self, years=None):
            if self.strategy.name == "blood_making" and self.seed == bad_seed:
                raise RuntimeError("injected failure")
            return super().run(years)

    monkeypatch.setattr(sim.batch.execution, "PovertyModel", Flaky)  # in-process: --workers 1
    out = tmp_path / "out"
    assert main(["batch", str(SMALL), "--workers", "1", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr()
    assert "2 failed" in err.out and "injected failure" in err.err
    res = load_results(out)
    failed = res.runs[res.runs["status"] == "failed"]
    assert len(failed) == 2  # one per uncertainty sample
    assert failed["error"].str.contains("RuntimeError: injected failure").all()
    assert set(failed["strategy"]) == {"blood_making"} and set(failed["seed"]) == {bad_seed}
    assert set(res.timeseries["run_id"]) == set(res.runs.query("status == 'ok'")["run_id"])
    assert res.manifest["counts"] == {"ok": 6, "failed": 2, "pending": 0}


def test_households_are_kept_on_request(tmp_path):
    text = small_text().replace("households = false", "households = true")
    text = text.replace('strategy = ["status_quo", "blood_making"]', 'strategy = ["precision"]')
    text = text.replace("replications = 2", "replications = 1")
    d = load_experiment(write(tmp_path / "hh.toml", text))
    run_batch(d, tmp_path / "out", workers=1, quiet=True)
    hh = load_results(tmp_path / "out").households
    assert len(hh) == 1500 * d.total
    assert hh.groupby("run_id")["household"].apply(lambda s: s.is_monotonic_increasing).all()


# ---- bad input: exit 2, nothing written ------------------------------------------------------

BAD = {
    "unknown lever path": (
        ('"programme.phase_out_year" = [3]', '"programme.phase_out_yr" = [3]'),
        "levers.programme.phase_out_yr: unknown field",
    ),
    "unknown strategy": (
        ('"blood_making"]', '"blood_making", "bloodletting"]'),
        "unknown strategy 'bloodletting'",
    ),
    "unknown uncertainty path": (
        ('"shocks.illness.incidence" =', '"shocks.illness.incidense" ='),
        "uncertainties.shocks.illness.incidense: unknown field",
    ),
    "low >= high": (("low = 0.10, high = 0.16", "low = 0.16, high = 0.10"), "needs low < high"),
    "sd <= 0": (
        (
            '{ dist = "uniform", low = 0.10, high = 0.16 }',
            '{ dist = "normal", mean = 0.1, sd = 0 }',
        ),
        "needs sd > 0",
    ),
    "mode outside": (
        (
            '{ dist = "uniform", low = 0.10, high = 0.16 }',
            '{ dist = "triangular", low = 0.1, mode = 0.3, high = 0.2 }',
        ),
        "mode 0.3 lies outside",
    ),
    "unknown dist": (('dist = "uniform"', 'dist = "cauchy"'), "unknown dist 'cauchy'"),
    "probability > 1 at an extreme": (("high = 0.16", "high = 1.2"), "extreme value 1.2"),
    "zero replications": (("replications = 2", "replications = 0"), "sampling.replications"),
    "missing scenario": ((str(TINY), "/nowhere/tiny.toml"), "experiment.scenario"),
    "bad combination": (
        ('"programme.phase_out_year" = [3]', '"programme.phase_out_year" = [3, 7]'),
        "7 is outside the horizon",
    ),
    "unknown table": (("[outputs]", "[output]"), "output: unknown field"),
    "sobol without a power of two": (
        ('method = "lhs"\nsamples = 2', 'method = "sobol"\nsamples = 3'),
        "power of two",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_experiment_exits_2_and_writes_nothing(case, tmp_path, capsys):
    (old, new), message = BAD[case]
    text = small_text()
    assert old in text, case
    f = write(tmp_path / "bad.toml", text.replace(old, new))
    out = tmp_path / "out"
    assert main(["batch", str(f), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(f) in err and "Traceback" not in err
    assert not out.exists()
    assert main(["validate", str(f)]) == 2


def test_existing_folder_needs_resume_or_force(design, tmp_path, capsys):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert main(["batch", str(SMALL), "--out", str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    # --resume of a complete batch runs nothing; --force starts over
    assert main(["batch", str(SMALL), "--out", str(out), "--resume", "--quiet"]) == 0
    assert main(["batch", str(SMALL), "--out", str(out), "--force", "--quiet"]) == 0
    # never delete or fill a folder that is not a batch
    other = tmp_path / "mine"
    other.mkdir()
    write(other / "notes.txt", "keep me")
    assert main(["batch", str(SMALL), "--out", str(other), "--force", "--quiet"]) == 2
    assert (other / "notes.txt").read_text() == "keep me" and len(list(other.iterdir())) == 1


def test_resume_refuses_a_changed_experiment(tmp_path, capsys):
    f = write(tmp_path / "e.toml", small_text())
    out = tmp_path / "out"
    assert main(["batch", str(f), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    write(f, small_text().replace("replications = 2", "replications = 3"))
    assert main(["batch", str(f), "--out", str(out), "--resume", "--quiet"]) == 2
    assert "experiment file changed" in capsys.readouterr().err


def test_unreachable_scheduler_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim.batch.backends, "DASK_CONNECT_TIMEOUT", "1s")
    out = tmp_path / "out"
    rc = main(["batch", str(SMALL), "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert "cannot reach a Dask scheduler" in capsys.readouterr().err


# ---- Mesa's own batch runner -----------------------------------------------------------------


def test_mesa_batch_run_runs_the_model():
    # Mesa 3.3's batch_run steps `while model.running and model.steps <= max_steps` and reports
    # datacollector entries 0 .. model.steps - 1. PovertyModel collects year 0 in __init__ and
    # stops (running = False) at its horizon, so entry s is year s and the last year computed is
    # never reported: max_steps=2 on a longer horizon runs 3 years and reports years 0..2.
    # Read the `year` column, not `Step` (docs/batch.md).
    rows = mesa.batch_run(
        sim.PovertyModel,
        parameters={
            "scenario": str(TINY),
            "strategy": ["status_quo", "precision"],
            "seed": [1, 2],
            "agents": False,
        },
        iterations=1,
        max_steps=2,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert len(df) == 4 * 3 and (df["Step"] == df["year"]).all()
    direct = sim.PovertyModel(str(TINY), strategy="precision", seed=2, agents=False).run(3)
    mine = df[(df.strategy == "precision") & (df.seed == 2)].set_index("year")["poverty_rate"]
    assert mine.tolist() == direct.timeseries()["poverty_rate"].iloc[:3].tolist()


def test_workers_share_the_cores_between_their_kernel_threads(monkeypatch):
    """Two workers on two cores run their kernels on one thread each, not two: four busy
    threads on two cores would slow every run."""
    monkeypatch.setattr(sim.model.kernels, "CORES", 4)
    ctx = sim.batch.execution.RunContext({}, "x.toml", households=False)
    for workers, threads in [(2, 2), (4, 1), (8, 1)]:
        backend = sim.batch.backends.make_backend(ctx, workers=workers)
        try:
            assert backend.ctx.kernel_threads == threads
        finally:
            backend.close()
    assert sim.batch.backends.make_backend(ctx, workers=1).ctx.kernel_threads == 0  # every core


@pytest.mark.parametrize("option", ["--workers", "--threads"])
def test_batch_refuses_fewer_than_one_worker_or_thread(tmp_path, capsys, option):
    out = tmp_path / "out"
    assert main(["batch", str(SMALL), option, "0", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{option} 0: must be at least 1" in err and "Traceback" not in err
    assert not out.exists()


def test_threads_do_not_change_a_batch(tmp_path):
    """One kernel thread or two per run: the same results."""
    design = load_experiment(SMALL)
    a = run_batch(design, tmp_path / "a", workers=1, threads=1, quiet=True)
    b = run_batch(design, tmp_path / "b", workers=1, threads=2, quiet=True)
    assert a.ok == b.ok == design.total
    ta, tb = load_results(a.out).timeseries, load_results(b.out).timeseries
    assert ta.drop(columns=[c for c in ta if "wall" in c]).equals(
        tb.drop(columns=[c for c in tb if "wall" in c])
    )
