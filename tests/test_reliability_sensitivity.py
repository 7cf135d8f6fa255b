"""Issue 13 for `povsim sensitivity`: a resume with new outcomes adds them and keeps the earlier
ones, an interrupted analysis leaves the earlier files whole, the number of runs is checked by
arithmetic before anything is sampled (--max-runs), and every bad option or --out is one message
and exit 2 with nothing written."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.analysis.sensitivity.study as sens_study
from sim.analysis.sensitivity import Factor, make_plan, prepare_study
from sim.cli import main
from sim.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny.toml"

STUDY = f"""
[experiment]
name = "tiny_sens_rel"
scenario = {json.dumps(str(TINY))}
years = 4

[levers]
strategy = ["transfusion", "blood_making"]

[uncertainties]
"shocks.illness.incidence" = {{ dist = "uniform", low = 0.05, high = 0.30 }}
"identification.exclusion_error" = {{ values = [0.05, 0.15, 0.25] }}
"industries.walnut.premium" = {{ dist = "uniform", low = 0.0, high = 1.0 }}

[sampling]
samples = 2
seed = 7
replications = 2
"""
RUNS = 2 * (3 + 1) * 2 * 2  # Morris: r (k + 1) points x strategies x seeds
POVERTY = ["transfusion:poverty_rate@4", "blood_making:poverty_rate@4"]
GINI = ["transfusion:gini@4", "blood_making:gini@4"]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny_sens_rel.toml"
    path.write_text(STUDY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished(experiment, tmp_path_factory) -> Path:
    """A finished study with one outcome (poverty_rate@4, per strategy)."""
    out = tmp_path_factory.mktemp("finished") / "out"
    argv = ["sensitivity", str(experiment), "--method", "morris", "--workers", "1", "--quiet"]
    assert main([*argv, "--outcome", "poverty_rate@4", "--out", str(out)]) == 0
    return out


@pytest.fixture
def study(finished, tmp_path) -> Path:
    """A private copy of the finished study (mtimes kept)."""
    out = tmp_path / "study"
    shutil.copytree(finished, out)
    return out


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mtime."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sensitivity(experiment, out, *extra) -> int:
    argv = ["sensitivity", str(experiment), "--method", "morris", "--workers", "1", "--quiet"]
    return main([*argv, *extra, "--out", str(out)])


def rows(folder: Path, name: str, outcomes: list[str]) -> pd.DataFrame:
    df = pd.read_csv(folder / "sensitivity" / name)
    return df[df["outcome"].isin(outcomes)].reset_index(drop=True)


# ---- resume with new outcomes adds them ------------------------------------------------------


def test_resume_with_a_new_outcome_adds_it_and_keeps_the_earlier_ones(experiment, study):
    sens_dir = study / "sensitivity"
    figures = sens_dir / "figures"
    before = {n: rows(study, n, POVERTY) for n in ("indices.csv", "noise.csv", "noise_factors.csv")}
    old_samples = pd.read_csv(sens_dir / "samples.csv")
    old_figs = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in figures.glob("*.png")}
    assert sorted(old_figs) == [
        "morris_blood_making_poverty_rate_4.png",
        "morris_transfusion_poverty_rate_4.png",
    ]

    assert sensitivity(experiment, study, "--resume", "--outcome", "gini@4") == 0

    indices = pd.read_csv(sens_dir / "indices.csv")
    assert set(indices["outcome"]) == set(POVERTY + GINI)
    for name, earlier in before.items():  # the earlier outcome's rows, value for value
        pd.testing.assert_frame_equal(rows(study, name, POVERTY), earlier, check_exact=True)
        assert set(pd.read_csv(sens_dir / name)["outcome"]) == set(POVERTY + GINI)
    for name, (data, mtime) in old_figs.items():  # earlier figures untouched
        assert (figures / name).read_bytes() == data
        assert (figures / name).stat().st_mtime_ns == mtime
    assert (figures / "morris_transfusion_gini_4.png").stat().st_size > 0
    assert (figures / "morris_blood_making_gini_4.png").stat().st_size > 0
    samples = pd.read_csv(sens_dir / "samples.csv")
    for col in POVERTY:
        assert samples[col].tolist() == old_samples[col].tolist()
    assert set(GINI) <= set(samples.columns)
    design = json.loads((sens_dir / "design.json").read_text())
    assert design["outcomes"] == POVERTY + GINI
    assert not [p for p in sens_dir.rglob("*") if ".tmp-" in p.name]

    # analysing an outcome again replaces only its own rows; the others stay
    assert sensitivity(experiment, study, "--resume", "--outcome", "poverty_rate@4") == 0
    again = pd.read_csv(sens_dir / "indices.csv")
    assert len(again) == len(indices) and set(again["outcome"]) == set(POVERTY + GINI)
    pd.testing.assert_frame_equal(rows(study, "indices.csv", POVERTY), before["indices.csv"])
    assert len(list(figures.glob("*.png"))) == 4


def test_an_interrupted_analysis_leaves_the_earlier_files_whole(experiment, study, monkeypatch):
    files = study / "sensitivity"
    before = snapshot(files)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # interrupted while the figures are drawn: nothing has been replaced yet
    monkeypatch.setattr(sens_study, "render_figures", interrupted)
    assert sensitivity(experiment, study, "--resume", "--outcome", "gini@4") == 130
    assert snapshot(files) == before
    monkeypatch.undo()

    # interrupted between two files: each file is the earlier one or the new one, never a part,
    # and every one still holds the earlier outcome's rows
    real, calls = sens_study.write_bytes_atomic, []

    def stop_at_third(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(sens_study, "write_bytes_atomic", stop_at_third)
    assert sensitivity(experiment, study, "--resume", "--outcome", "gini@4") == 130
    for name in ("indices.csv", "noise.csv", "noise_factors.csv"):
        assert set(POVERTY) <= set(pd.read_csv(files / name)["outcome"])
    for name, (data, _) in before.items():
        if Path(name).suffix == ".png":
            assert (files / name).read_bytes() == data
    assert not [p for p in files.rglob("*") if ".tmp-" in p.name]


# ---- the number of runs, by arithmetic --------------------------------------------------------


def test_too_many_runs_is_refused_at_once(experiment, tmp_path, capsys):
    out = tmp_path / "out"
    sensitivity(experiment, out, "--samples", "0")  # warm the imports
    capsys.readouterr()
    t0 = time.perf_counter()
    assert sensitivity(experiment, out, "--samples", "100000000") == 2
    assert time.perf_counter() - t0 < 1.0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--samples 100000000" in err and "1,600,000,000 runs" in err
    assert "--max-runs 100,000" in err and "raise --max-runs" in err
    assert "at most 6,250" in err  # 6,250 x 4 points x 2 strategies x 2 seeds = 100,000
    assert not out.exists()


def test_max_runs_counts_morris_and_sobol_runs(experiment, tmp_path, capsys):
    out = tmp_path / "out"
    assert sensitivity(experiment, out, "--max-runs", str(RUNS - 1)) == 2
    err = capsys.readouterr().err
    assert f"= {RUNS} runs, more than --max-runs {RUNS - 1}" in err and not out.exists()
    assert prepare_study(experiment, "morris", max_runs=RUNS).batch.total == RUNS
    # Sobol' without second order: N (k + 2) points
    with pytest.raises(ConfigError, match=r"= 163,840 runs, more than --max-runs 100,000") as exc:
        prepare_study(experiment, "sobol", samples=8192)
    assert "at most 4,096" in str(exc.value)
    assert prepare_study(experiment, "sobol", samples=8).batch.total == 8 * 5 * 2 * 2
    assert sensitivity(experiment, out, "--max-runs", "0") == 2
    assert "--max-runs 0: must be at least 1" in capsys.readouterr().err


def test_many_morris_trajectories_are_drawn_in_bounded_time():
    """SALib's choice of the most spread trajectories takes hours at 100; above
    MORRIS_OPTIMISE_MAX the trajectories are drawn at random."""
    factors = [Factor(f"x{i}", 0.0, 1.0) for i in range(3)]
    t0 = time.perf_counter()
    plan = make_plan(factors, "morris", 500, seed=3)
    assert time.perf_counter() - t0 < 5.0
    assert plan.points == 500 * 4 and np.isfinite(plan.X).all()
    small = make_plan(factors, "morris", 4, seed=3)  # small designs keep Campolongo's selection
    assert small.points == 16


# ---- bad options and outputs: one message, exit 2, nothing written ----------------------------


BAD = {
    "zero samples": (["--samples", "0"], "--samples 0"),
    "negative samples": (["--samples", "-5"], "--samples -5"),
    "zero levels": (["--levels", "0"], "--levels 0"),
    "negative levels": (["--levels", "-2"], "--levels -2"),
    "odd levels": (["--levels", "5"], "--levels 5"),
    "levels with sobol": (["--method", "sobol", "--samples", "4", "--levels", "4"], "--levels 4"),
    "sobol zero samples": (["--method", "sobol", "--samples", "0"], "--samples 0"),
    "unknown outcome": (["--outcome", "nosuch@4"], "--outcome nosuch@4"),
    "year beyond horizon": (["--outcome", "poverty_rate@5"], "--outcome poverty_rate@5"),
    "negative year": (["--outcome", "poverty_rate@-1"], "--outcome poverty_rate@-1"),
    "empty outcome": (["--outcome", ""], "--outcome"),
    "empty factor": (["--factors", ""], "--factors"),
    "unknown factor": (["--factors", "nosuch.path"], "--factors nosuch.path"),
    "zero max-runs": (["--max-runs", "-1"], "--max-runs -1"),
    "zero workers": (["--workers", "0"], "--workers 0"),
    "resume and force": (["--resume", "--force"], "--resume and --force"),
    "empty scheduler": (["--scheduler", " "], "--scheduler"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_option_is_one_message_and_exit_2(case, experiment, tmp_path, capsys):
    extra, option = BAD[case]
    method = [] if "--method" in extra else ["--method", "morris"]
    out = tmp_path / "out"
    argv = ["sensitivity", str(experiment), *method, "--workers", "1", "--quiet", *extra]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [["--method", "nosuch"], ["--method", "morris", "--samples", "many"], ["--inputs", "x"]],
    ids=["unknown method", "samples not a number", "unknown inputs"],
)
def test_argparse_errors_name_the_option(argv, experiment, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sensitivity", str(experiment), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert argv[-2] in err and "Traceback" not in err


def _file(tmp_path: Path) -> Path:
    f = tmp_path / "notes.txt"
    f.write_text("mine\n")
    return f


OUTS = {
    "under /proc": (lambda tmp: Path("/proc/povsim-x"), "--out /proc/povsim-x"),
    "under a regular file": (lambda tmp: _file(tmp) / "x", "is a file, not a folder"),
    "a regular file": (lambda tmp: _file(tmp), "exists and is not a folder"),
    "the current folder": (lambda tmp: Path("."), "is the current folder"),
}


@pytest.mark.parametrize("case", OUTS, ids=list(OUTS))
def test_unwritable_out_is_refused_before_any_run(case, experiment, tmp_path, capsys, monkeypatch):
    make, message = OUTS[case]
    if case == "under /proc" and not Path("/proc/self").exists():
        pytest.skip("no /proc")
    monkeypatch.chdir(tmp_path)
    out = make(tmp_path)
    before = snapshot(tmp_path)
    ran = []
    monkeypatch.setattr("sim.batch.runner.run_batch", lambda *a, **k: ran.append(1))
    assert sensitivity(experiment, out) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not ran and snapshot(tmp_path) == before


def test_exit_2_leaves_an_existing_study_untouched(experiment, study, capsys):
    before = snapshot(study)
    for extra, message in (
        (["--resume", "--outcome", "nosuch@4"], "--outcome nosuch@4"),
        (["--resume", "--samples", "3"], "different sensitivity study"),
        (["--resume", "--levels", "3"], "--levels 3"),
        (["--resume", "--max-runs", "10"], "--max-runs 10"),
        (["--outcome", "gini@4"], "folder exists and is not empty"),
    ):
        assert sensitivity(experiment, study, *extra) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert snapshot(study) == before, extra


def test_a_damaged_design_record_is_exit_2(experiment, study, capsys):
    (study / "sensitivity" / "design.json").write_text("{not json")
    before = snapshot(study)
    assert sensitivity(experiment, study, "--resume", "--outcome", "gini@4") == 2
    err = capsys.readouterr().err
    assert "design.json" in err and "not valid JSON" in err and "Traceback" not in err
    assert snapshot(study) == before


def test_force_never_deletes_what_povsim_did_not_write(experiment, study, tmp_path, capsys):
    mine = study / "my_notes.txt"
    mine.write_text("keep me\n")
    before = snapshot(study)
    assert sensitivity(experiment, study, "--force") == 2
    assert "my_notes.txt" in capsys.readouterr().err
    assert snapshot(study) == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    assert sensitivity(experiment, foreign, "--force") == 2
    assert "not written by povsim batch" in capsys.readouterr().err
    assert (foreign / "thesis.tex").read_text() == "x"
