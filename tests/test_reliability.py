"""The promises of docs/reliability.md for `povsim run` and for every input file: povsim never
deletes or overwrites what it did not write, reads only regular files, and answers bad input
with one message and exit 2, writing nothing. One test per reported failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import sim.model
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny.toml"


def povsim(capsys, *argv: str) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return code, cap.err


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_folder(capsys, out: Path, seed: int = 1, *extra: str) -> int:
    return povsim(
        capsys, "run", TINY, "--years", "1", "--quiet", "--seed", seed, "--out", out, *extra
    )[0]


# ---------------------------------------------------------------------------------------------
# --force replaces only povsim's own folders, and only once the new one is complete


def test_force_into_the_current_folder_is_refused_and_deletes_nothing(here, capsys):
    (here / "notes.txt").write_text("mine")
    (here / "sub").mkdir()
    (here / "sub" / "data.csv").write_text("1,2")
    before = tree(here)
    code, err = povsim(capsys, "run", TINY, "--force", "--out", ".", "--quiet")
    assert code == 2 and "current folder" in err
    assert tree(here) == before


def test_force_into_a_folder_povsim_did_not_write_is_refused(here, capsys):
    victim = here / "victim"
    victim.mkdir()
    (victim / "thesis.docx").write_bytes(b"years of work")
    code, err = povsim(capsys, "run", TINY, "--force", "--out", victim, "--quiet")
    assert code == 2 and "not written by povsim run" in err
    assert tree(victim) == {"thesis.docx": b"years of work"}


def test_force_refuses_a_povsim_folder_that_also_holds_the_users_files(here, capsys):
    assert run_folder(capsys, here / "r") == 0
    (here / "r" / "notes.txt").write_text("mine")
    before = tree(here)
    code, err = povsim(capsys, "run", TINY, "--force", "--out", here / "r", "--quiet")
    assert code == 2 and "notes.txt" in err
    assert tree(here) == before


def test_force_replaces_a_povsim_run_folder(here, capsys):
    assert run_folder(capsys, here / "r", 1) == 0
    assert run_folder(capsys, here / "r", 2) == 2  # occupied, no --force
    assert run_folder(capsys, here / "r", 2, "--force") == 0
    assert json.loads((here / "r" / "run.json").read_text())["seed"] == 2
    assert sorted(p.name for p in here.iterdir()) == ["r"]  # no staging or retired folders


def test_a_failed_force_leaves_the_old_results_intact(here, capsys, monkeypatch):
    assert run_folder(capsys, here / "r", 1) == 0
    before = tree(here)

    def disk_full(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sim.model.PovertyModel, "households", disk_full)
    code, err = povsim(capsys, "run", TINY, "--years", "1", "--force", "--out", here / "r")
    assert code == 2 and "No space left" in err
    assert tree(here) == before


@pytest.mark.parametrize("out", ["/proc/povsim-x", "file.txt/sub", "a" * 300])
def test_an_unwritable_out_is_refused_before_the_model_runs(here, capsys, monkeypatch, out):
    (here / "file.txt").write_text("x")

    def never(*a, **k):
        raise AssertionError("the model ran before --out was checked")

    monkeypatch.setattr(sim.model.PovertyModel, "run", never)
    before = tree(here)
    code, err = povsim(capsys, "run", TINY, "--out", out, "--quiet")
    assert code == 2 and "--out" in err
    assert tree(here) == before


# ---------------------------------------------------------------------------------------------
# Names from files never become paths


@pytest.mark.parametrize("name", ["../../x", "/tmp/povsim-abs", "a/b", ".hidden", "", "x" * 81])
def test_a_scenario_name_that_is_not_a_plain_folder_name_is_refused(here, capsys, name):
    text = TINY.read_text(encoding="utf-8")
    f = here / "s.toml"
    f.write_text(text.replace('name = "tiny"', f"name = {json.dumps(name)}"), encoding="utf-8")
    assert 'name = "tiny"' in text
    before = tree(here)
    code, err = povsim(capsys, "run", f, "--years", "1", "--quiet")
    assert code == 2 and "meta.name" in err
    assert tree(here) == before
    assert not Path("/tmp/povsim-abs").exists()


def test_a_strategy_name_that_is_not_a_plain_name_is_refused(here, capsys):
    f = here / "s.toml"
    f.write_text(TINY.read_text(encoding="utf-8") + '\n[strategies."../x"]\ndescription = "y"\n')
    code, err = povsim(capsys, "validate", f)
    assert code == 2 and "strategies" in err


# ---------------------------------------------------------------------------------------------
# Inputs: regular files only, bounded, never empty


def test_a_fifo_is_refused_without_blocking(here, capsys):
    os.mkfifo(here / "pipe.toml")
    code, err = povsim(capsys, "validate", here / "pipe.toml")
    assert code == 2 and "not a regular file" in err


@pytest.mark.parametrize("path", ["/dev/zero", "/proc/self/mem", "/dev/null"])
def test_devices_and_proc_files_are_refused(here, capsys, path):
    code, err = povsim(capsys, "validate", path)
    assert code == 2 and path in err


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_scenario_is_refused_not_run_as_the_defaults(here, capsys, text):
    (here / "e.toml").write_text(text)
    code, err = povsim(capsys, "run", here / "e.toml", "--quiet")
    assert code == 2 and "empty" in err
    assert sorted(p.name for p in here.iterdir()) == ["e.toml"]


def test_deeply_nested_toml_is_refused(here, capsys):
    (here / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    code, err = povsim(capsys, "validate", here / "deep.toml")
    assert code == 2 and "nested too deeply" in err
    code, err = povsim(capsys, "validate", TINY, "--set", "meta.name=" + "[" * 5000)
    assert code == 2


def test_a_file_name_longer_than_the_system_allows(here, capsys):
    code, err = povsim(capsys, "validate", here / ("s" * 300 + ".toml"))
    assert code == 2 and "s" * 50 in err


def test_a_huge_input_file_is_refused_unread(here, capsys):
    big = here / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(17 * 1024 * 1024)  # sparse: no time spent writing it
    code, err = povsim(capsys, "validate", big)
    assert code == 2 and "too large" in err


# ---------------------------------------------------------------------------------------------
# Bad input that used to be accepted


def test_run_years_beyond_the_horizon_limit(here, capsys):
    code, err = povsim(capsys, "run", TINY, "--years", "1000", "--quiet")
    assert code == 2 and "--years 1000" in err
    assert list(here.iterdir()) == []


def test_a_two_billion_household_scenario_is_refused_up_front(here, capsys):
    text = TINY.read_text(encoding="utf-8").replace("households = 1500", "households = 2000000000")
    assert "households = 2000000000" in text
    (here / "huge.toml").write_text(text, encoding="utf-8")
    code, err = povsim(capsys, "validate", here / "huge.toml")
    assert code == 2 and "2,000,000,000 households" in err


def test_params_set_without_a_scenario_is_applied_or_refused(here, capsys):
    code, err = povsim(capsys, "params", "--set", "x=1")
    assert code == 2 and "unknown field 'x'" in err
    code = main(["params", "--set", "shocks.illness.incidence=0.3", "--format", "csv"])
    row = next(
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("shocks.illness.incidence,")
    )
    assert code == 0 and row.split(",")[1] == "0.3"
