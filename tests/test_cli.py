"""`povsim run` writes its three files atomically and refuses to overwrite without --force; every
subcommand's help shows an example."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import COUNTY_TOML, ROOT, small_model

from sim.cli import main
from sim.model.outputs import COLUMNS

FILES = {"timeseries.csv", "households.parquet", "run.json"}


def _run(small_toml, out, *extra) -> int:
    return main(["run", str(small_toml), "--out", str(out), "--quiet", *extra])


def test_run_writes_three_files(small_toml, tmp_path, capsys):
    out = tmp_path / "results" / "small"
    rc = main(["run", str(small_toml), "--out", str(out), "--seed", "3"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert {p.name for p in out.iterdir()} == FILES
    # no temporary folders left next to the output
    assert [p.name for p in out.parent.iterdir()] == ["small"]
    assert "small: 2,000 households, 6,600 people" in captured.out
    assert f"wrote {out}/timeseries.csv" in captured.out

    ts = pd.read_csv(out / "timeseries.csv")
    assert list(ts.columns) == list(COLUMNS)
    assert ts["year"].tolist() == list(range(6))
    # the same as running the model directly with that seed
    expected = small_model(seed=3).run().timeseries()
    pd.testing.assert_frame_equal(ts, expected, check_dtype=False)

    hh = pd.read_parquet(out / "households.parquet")
    assert len(hh) == 2000 and int(hh["size"].sum()) == 6600
    assert (hh["year"] == 5).all()

    manifest = json.loads((out / "run.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["strategy"] == "status_quo"
    assert manifest["years"] == 5
    assert manifest["households"] == 2000 and manifest["people"] == 6600
    assert manifest["scenario"] == str(small_toml)
    assert manifest["scenario_sha256"] == hashlib.sha256(small_toml.read_bytes()).hexdigest()
    assert manifest["overrides"] == {}


def test_run_records_overrides_and_years(small_toml, tmp_path):
    out = tmp_path / "out"
    rc = _run(small_toml, out, "--set", "shocks.disaster.enabled=false", "--years", "2")
    assert rc == 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["overrides"]["shocks.disaster.enabled"] is False
    assert manifest["years"] == 2
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 3
    assert (ts["disaster_villages"] == 0).all()


@pytest.mark.parametrize("years", ["0", "-3"])
def test_run_rejects_bad_years(small_toml, tmp_path, capsys, years):
    out = tmp_path / "out"
    assert _run(small_toml, out, "--years", years) == 2
    err = capsys.readouterr().err
    assert "--years" in err and "Traceback" not in err
    assert not out.exists()


def test_run_refuses_non_empty_folder_without_force(small_toml, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(small_toml, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "notes.txt").write_text("mine")
    before["notes.txt"] = b"mine"
    capsys.readouterr()

    rc = _run(small_toml, out, "--seed", "9")
    err = capsys.readouterr().err
    assert rc == 2
    assert "not empty" in err and "--force" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.toml"]

    rc = _run(small_toml, out, "--seed", "9", "--force")  # notes.txt is not povsim's
    assert rc == 2 and "notes.txt" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (out / "notes.txt").unlink()
    rc = _run(small_toml, out, "--seed", "9", "--force")
    assert rc == 0
    assert {p.name for p in out.iterdir()} == FILES  # replaced, not merged
    assert json.loads((out / "run.json").read_text())["seed"] == 9


def test_run_into_empty_existing_folder(small_toml, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert _run(small_toml, out) == 0
    assert {p.name for p in out.iterdir()} == FILES


def test_run_out_is_a_file(small_toml, tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert _run(small_toml, out, "--force") == 2
    assert "not a folder" in capsys.readouterr().err
    assert out.read_text() == "x"


def test_run_default_out_folder(small_toml, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(small_toml), "--quiet", "--seed", "4"]) == 0
    assert main(["run", str(small_toml), "--quiet", "--seed", "4"]) == 0
    made = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert made == ["small_status_quo_seed4", "small_status_quo_seed4-2"]


def test_strategies_lists_status_quo(capsys):
    assert main(["strategies"]) == 0
    assert capsys.readouterr().out.startswith("status_quo")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: povsim" in capsys.readouterr().out


def test_negative_seed_is_bad_input(small_toml, tmp_path, capsys):
    out = tmp_path / "out"
    rc = _run(small_toml, out, "--seed", "-1")
    assert rc == 2
    assert "--seed" in capsys.readouterr().err
    assert not out.exists()


def _python_m_sim(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_sim_help():
    proc = _python_m_sim("--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("run", "validate", "strategies", "params"):
        assert command in proc.stdout
    assert "example:" in proc.stdout


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("run", "povsim run scenarios/county.toml"),
        ("validate", "povsim validate"),
        ("strategies", "povsim strategies"),
        ("params", "povsim params"),
    ],
)
def test_subcommand_help_mentions_an_example(capsys, command, example):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    assert example in out


def test_python_m_sim_validate_exit_code():
    proc = _python_m_sim("validate", str(COUNTY_TOML), "--set", "budget.yearly=-1")
    assert proc.returncode == 2
    assert "budget.yearly" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_run_county(tmp_path):
    out = tmp_path / "county"
    assert main(["run", str(COUNTY_TOML), "--out", str(out), "--quiet", "--seed", "1"]) == 0
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 11
    assert ts["registered_households"].iloc[0] == 10_750
    assert ts["registered_people"].iloc[0] == 34_677
    hh = pd.read_parquet(out / "households.parquet")
    assert len(hh) == 40_000 and int(hh["size"].sum()) == 133_000
