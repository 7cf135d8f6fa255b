"""Reading a roster: bad input (one message per problem naming file, row and column; exit 2;
nothing written) and privacy (no name or ID number in memory or in any file written)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.roster.read import MAX_MESSAGES_PER_COLUMN, read_roster
from tests.conftest import SMALL_TOML, write_toml


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("roster_io")
    scenario = write_toml(base / "small.toml", SMALL_TOML)
    out = base / "example"
    args = ["roster", "example", "--scenario", str(scenario), "--out", str(out)]
    assert main([*args, "--errors", "0.02"]) == 0
    return {"scenario": scenario, "folder": out, "base": base}


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _audit(roster: Path, out: Path, capsys) -> tuple[int, str]:
    rc = main(["roster", "audit", str(roster), "--out", str(out)])
    captured = capsys.readouterr()
    return rc, captured.err + captured.out


def test_a_wrong_type_names_the_file_the_row_and_the_column(example, tmp_path, capsys):
    rows = _rows(example["folder"] / "roster_en.csv")
    header = rows[0]
    rows[40][header.index("age")] = "forty"  # spreadsheet row 41: the header is row 1
    rows[100][header.index("category")] = "banana"
    rows[7][header.index("inc_farm")] = "12.5.3"
    bad = _write(tmp_path / "bad.csv", rows)
    rc, text = _audit(bad, tmp_path / "out", capsys)
    assert rc == 2
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert f"error: {bad}: row 41, column age (年龄): 'forty' is not a whole number" in lines
    assert any("row 101, column category (帮扶类别): 'banana' is not one of" in x for x in lines)
    assert any("row 8, column inc_farm (种植业收入): '12.5.3' is not a number" in x for x in lines)
    assert len(lines) == 3
    assert not (tmp_path / "out").exists()


def test_a_missing_required_column_and_many_bad_rows(example, tmp_path, capsys):
    rows = _rows(example["folder"] / "roster_zh.csv")
    header = rows[0]
    drop = header.index("行政村")
    rows = [r[:drop] + r[drop + 1 :] for r in rows]
    bad = _write(tmp_path / "no_village.csv", rows)
    rc, text = _audit(bad, tmp_path / "out", capsys)
    assert rc == 2 and f"error: {bad}: required column village (行政村) is missing" in text
    rows = _rows(example["folder"] / "roster_zh.csv")
    for r in rows[1:]:
        r[rows[0].index("年龄")] = "x"
    bad = _write(tmp_path / "ages.csv", rows)
    rc, text = _audit(bad, tmp_path / "out", capsys)
    lines = [x for x in text.splitlines() if x.startswith("error:")]
    assert rc == 2 and len(lines) == MAX_MESSAGES_PER_COLUMN + 1
    assert f"{len(rows) - 1 - MAX_MESSAGES_PER_COLUMN:,} more rows" in lines[-1]
    assert not (tmp_path / "out").exists()


def test_unreadable_files(example, tmp_path, capsys):
    fake = tmp_path / "roster.xlsx"
    fake.write_text("not a workbook")
    rc, text = _audit(fake, tmp_path / "out", capsys)
    assert rc == 2 and f"{fake}: cannot read the workbook" in text
    rc, text = _audit(tmp_path / "missing.csv", tmp_path / "out", capsys)
    assert rc == 2 and "roster file not found" in text
    rows = _rows(example["folder"] / "roster_en.csv")
    rows[5] = rows[5] + ["extra"]
    ragged = _write(tmp_path / "ragged.csv", rows)
    rc, text = _audit(ragged, tmp_path / "out", capsys)
    assert rc == 2 and "row 6: expected" in text
    assert rows[5][1] not in text  # the malformed row's text (a name) is not echoed
    assert not (tmp_path / "out").exists()


def test_names_and_id_numbers_are_never_held(example):
    roster = read_roster(example["folder"] / "roster_zh.csv")
    frame = pd.read_csv(example["folder"] / "roster_en.csv", dtype=str)
    held = set()
    for table in (roster.households, roster.persons):
        for c in table.columns:
            held |= set(map(str, table[c].to_numpy()))
    assert not held & set(frame["name"]) and not held & set(frame["id_number"])
    assert roster.id_hash.dtype == np.uint64 and (roster.id_hash != 0).all()
    # the same file read twice in one process gives the same hashes (duplicates are found) ...
    again = read_roster(example["folder"] / "roster_zh.csv")
    assert (again.id_hash == roster.id_hash).all()
    # ... and they are not a plain hash of the number: the salt is the process's own
    plain = pd.util.hash_array(frame["id_number"].to_numpy(dtype=object))
    assert not np.isin(roster.id_hash, plain).any()


def test_no_output_holds_a_name_or_an_id_number(example, tmp_path, capsys):
    """Every file the audit and a run write, and everything they print, scanned for every name
    and ID number of the roster."""
    frame = pd.read_csv(example["folder"] / "roster_en.csv", dtype=str)
    secrets = set(frame["name"]) | set(frame["id_number"])
    roster = example["folder"] / "roster_zh.csv"
    rc, printed = _audit(roster, tmp_path / "audit", capsys)
    assert rc == 0
    args = ["run", str(example["scenario"]), "--roster", str(roster), "--years", "2"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    printed += capsys.readouterr().out
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"audit.csv", "audit.html", "audit.json", "run.json"}
    assert {"households.parquet", "timeseries.csv"} <= {p.name for p in files}
    texts = [printed] + [_text(p) for p in files]
    leaks = [s for s in secrets if any(s in t for t in texts)]
    assert not leaks, f"{len(leaks)} names or ID numbers written, e.g. {leaks[:3]}"
    # the scan can fail: the example folder itself holds them
    assert any(s in _text(example["folder"] / "roster_zh.csv") for s in secrets)


def _text(path: Path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv()
    return path.read_bytes().decode("utf-8", errors="replace")


def test_run_on_error_fail_stops_before_writing(example, tmp_path, capsys):
    roster = example["folder"] / "roster_en.csv"
    args = ["run", str(example["scenario"]), "--roster", str(roster), "--on-error", "fail"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert "households with audit errors" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert main(["run", str(example["scenario"]), "--on-error", "keep"]) == 2


def test_example_and_audit_folders_follow_the_output_rules(example, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    args = ["roster", "example", "--scenario", str(example["scenario"]), "--out", str(out)]
    assert main(args) == 2
    assert main([*args, "--force"]) == 2  # never replaces a folder povsim did not write
    assert (out / "notes.txt").read_text() == "the user's"
    fresh = tmp_path / "fresh"
    assert (
        main(["roster", "example", "--scenario", str(example["scenario"]), "--out", str(fresh)])
        == 0
    )
    assert (
        main(["roster", "example", "--scenario", str(example["scenario"]), "--out", str(fresh)])
        == 2
    )
    assert main(["roster", "example", "--out", str(fresh), "--force", "--errors", "0.5"]) == 2
    capsys.readouterr()
