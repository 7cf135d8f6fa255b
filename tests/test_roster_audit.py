"""The roster audit finds what was injected (recall) and nothing in a clean roster (precision);
a run from the clean example roster reproduces the synthesized county's year 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.config import load_scenario
from sim.model import PovertyModel
from sim.roster.audit import KINDS, audit
from sim.roster.example import KINDS as INJECTED_KINDS
from sim.roster.read import read_roster
from tests.conftest import SMALL_TOML, write_toml

RATE = 0.02  # 10 of the small county's 500 households per kind


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict:
    """The small county's example roster, clean and with injected errors, in three formats."""
    base = tmp_path_factory.mktemp("roster")
    scenario = write_toml(base / "small.toml", SMALL_TOML)
    out = {"scenario": scenario}
    for name, rate, fmt in (("clean", 0.0, "csv"), ("dirty", RATE, "csv"), ("xlsx", 0.0, "xlsx")):
        args = ["roster", "example", "--scenario", str(scenario), "--out", str(base / name)]
        assert main([*args, "--errors", str(rate), "--format", fmt]) == 0
        out[name] = base / name
    assert main(["roster", "example", "--scenario", str(scenario), "--format", "parquet",
                 "--out", str(base / "parquet")]) == 0  # fmt: skip
    out["parquet"] = base / "parquet"
    return out


def _audit(path: Path, scenario: Path) -> pd.DataFrame:
    return audit(read_roster(path), load_scenario(scenario))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_clean_roster_has_no_findings(example, lang):
    findings = _audit(example["clean"] / f"roster_{lang}.csv", example["scenario"])
    assert findings.empty, findings.head(10).to_string()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_audit_finds_every_injected_error_and_nothing_else(example, lang):
    findings = _audit(example["dirty"] / f"roster_{lang}.csv", example["scenario"])
    injected = pd.read_csv(example["dirty"] / "injected.csv")
    assert set(injected["kind"]) == set(INJECTED_KINDS)  # every kind the audit checks per row
    assert (injected["kind"].value_counts() == round(RATE * 500)).all()
    found = set(zip(findings["kind"], findings["household_id"], strict=True))
    missed = [(k, h) for k, h in zip(injected["kind"], injected["household_id"], strict=True)
              if (k, h) not in found]  # fmt: skip
    assert not missed, f"recall: {len(missed)} of {len(injected)} injected errors not found"
    rows = findings[findings["kind"] != "scenario_totals"]
    extra = rows[~rows["household_id"].isin(set(injected["household_id"]))]
    assert extra.empty, f"precision: findings outside injected households:\n{extra.head()}"
    # the duplicates add households and people: the county totals no longer match
    assert (findings["kind"] == "scenario_totals").sum() >= 2


def test_every_format_reads_the_same_roster(example):
    frames = [
        read_roster(example[name] / f"roster_zh.{ext}")
        for name, ext in (("clean", "csv"), ("xlsx", "xlsx"), ("parquet", "parquet"))
    ]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(
            frames[0].households.drop(columns="first_row"),
            other.households.drop(columns="first_row"),
            check_dtype=False,
        )
        assert (frames[0].persons["age"].to_numpy() == other.persons["age"].to_numpy()).all()


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_neither_households_nor_findings(example, tmp_path_factory, seed):
    """Persons of one household need not be adjacent: a shuffled roster is the same roster (of two
    copies, the later in the file is the one at fault, so for 重报 only the counts must agree)."""
    dirty = pd.read_csv(example["dirty"] / "roster_en.csv", dtype=str, keep_default_na=False)
    shuffled = dirty.sample(frac=1.0, random_state=np.random.RandomState(seed % 2**32))
    path = tmp_path_factory.mktemp("shuffled") / "roster.csv"
    shuffled.to_csv(path, index=False)
    a = _audit(example["dirty"] / "roster_en.csv", example["scenario"])
    b = _audit(path, example["scenario"])
    ordered = a["kind"].isin(["duplicate_household", "person_in_two_households"])
    key = ["kind", "household_id"]
    assert sorted(map(tuple, a.loc[~ordered, key].to_numpy())) == sorted(
        map(tuple, b.loc[~b["kind"].isin(a.loc[ordered, "kind"]), key].to_numpy())
    )
    assert (a["kind"].value_counts() == b["kind"].value_counts()).all()


def test_fail_on_sets_the_exit_code(example, capsys):
    dirty, clean = example["dirty"] / "roster_en.csv", example["clean"] / "roster_en.csv"
    assert main(["roster", "audit", str(dirty), "--fail-on", "category_cause"]) == 1
    assert main(["roster", "audit", str(dirty), "--fail-on", "error"]) == 1
    assert main(["roster", "audit", str(clean), "--fail-on", ",".join(KINDS)]) == 0
    assert main(["roster", "audit", str(dirty), "--fail-on", "typo"]) == 2
    assert "unknown kind" in capsys.readouterr().err


def test_a_run_from_the_clean_roster_reproduces_the_synthesized_year_zero(example):
    sc = load_scenario(example["scenario"])
    roster_sc = sc.model_copy(update={"roster": str(example["clean"] / "roster_zh.csv")})
    synth = [PovertyModel(sc, seed=s, agents=False).timeseries().iloc[0] for s in (1, 2, 3, 4)]
    from_roster = PovertyModel(roster_sc, seed=5, agents=False).timeseries().iloc[0]
    for c in ("households", "people", "registered_households", "registered_people"):
        assert from_roster[c] == synth[0][c], c
    for c in ("poverty_rate", "mean_income_pc", "mean_income_pc_registered0"):
        values = np.array([s[c] for s in synth])
        noise = max(values.std(ddof=1), 0.01 * abs(values.mean()))
        assert abs(from_roster[c] - values.mean()) < 4 * noise, (c, from_roster[c], values)


def test_the_model_starts_from_the_roster_households(example):
    """Registered households are the roster's as listed: under drop the audit's error households
    are left out, under keep every one is in; categories and sizes are the roster's."""
    sc = load_scenario(example["scenario"])
    path = example["dirty"] / "roster_en.csv"
    roster = read_roster(path)
    findings = audit(roster, sc, totals=False)
    errors = findings.loc[findings["severity"] == "error", "household_id"].nunique()
    for policy, expected in (("drop", len(roster.households) - errors), ("keep", None)):
        over = {"roster": str(path), "roster_on_error": policy}
        m = PovertyModel(sc.model_copy(update=over), seed=1, agents=False)
        expected = len(roster.households) if expected is None else expected
        assert m.timeseries().iloc[0]["registered_households"] == expected
        reg = np.flatnonzero(m.hh.registered)
        if policy == "keep":
            assert (m.hh.category[reg] == roster.households["category"].to_numpy()).all()
            assert (m.hh.size[reg] == roster.households["members"].to_numpy()).all()


def test_a_scenario_names_its_roster_relative_to_itself(example, tmp_path):
    roster = example["clean"] / "roster_en.csv"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "roster.csv").write_bytes(roster.read_bytes())
    text = SMALL_TOML
    path = write_toml(tmp_path / "with_roster.toml", 'roster = "sub/roster.csv"\n' + text)
    sc = load_scenario(path)
    assert sc.roster == str((tmp_path / "sub" / "roster.csv").resolve())
    missing = write_toml(tmp_path / "missing.toml", 'roster = "nowhere.csv"\n' + text)
    with pytest.raises(Exception, match="roster file not found"):
        load_scenario(missing)
