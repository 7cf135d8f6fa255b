"""The three scenario files (the seed county, southern Xinjiang, Ankang): they validate, cite their
sources, keep the speeches' counts, and run for ten years under every built-in strategy; every
default parameter is documented; `povsim params` shows the effective configuration."""

from __future__ import annotations

import ast
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from sim.cli import main
from sim.config import CATEGORIES, Scenario, load_scenario
from sim.config.loading import parse_overrides
from sim.config.parameters import META_KEYS, default_values, iter_params, raw_defaults
from sim.model import PovertyModel

SCENARIOS = ROOT / "scenarios"
COUNTY = SCENARIOS / "county.toml"
XINJIANG = SCENARIOS / "southern_xinjiang.toml"
ANKANG = SCENARIOS / "ankang.toml"
FILES = (COUNTY, XINJIANG, ANKANG)
STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")
ANKANG_FAST = 1 / 20  # Ankang is scaled down in the fast runs; one slow run is full size


def scaled(path, factor: float) -> Scenario:
    """The scenario with its counts scaled consistently (categories still sum)."""
    from sim.analysis.calibration.runs import scaled_overrides

    return load_scenario(path, scaled_overrides(load_scenario(path), factor))


def _categories(sc: Scenario) -> dict[str, tuple[int, int]]:
    c = sc.population.registered.categories
    return {k: (getattr(c, k).households, getattr(c, k).people) for k in CATEGORIES}


# ---- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_validates(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "ok"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_opens_with_a_sourced_comment_block(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    head = []
    for line in lines:
        if not line.startswith("#"):
            break
        head.append(line)
    text = "\n".join(head)
    assert len(head) >= 10, "the file must open with a comment block"
    assert re.search(r"where the numbers come from", text, re.I)
    assert "speech" in text
    # everything that is not from a source says so, with a reason
    assert "assumption" in text
    for m in re.finditer(r"assumption\b(.{0,60})", text):
        assert re.match(r"[^\n]*\S", m.group(1)), f"assumption without a reason: {m.group(0)!r}"
    # every industry that the file defines or uses is explained in the comment block
    sc = load_scenario(path)
    for name in {e.industry for e in sc.enterprises}:
        if name not in raw_defaults()["industries"]:
            assert name in text, f"industry {name!r} defined in the file but not explained"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_categories_sum_to_the_register(path):
    sc = load_scenario(path)
    r = sc.population.registered
    assert sum(h for h, _ in _categories(sc).values()) == r.households
    # the seed county's medical people (10,676) must not leak into another scenario
    if path != COUNTY:
        assert sc.population.registered.categories.medical.people != 10676


def test_ankang_keeps_the_speech_counts():
    sc = load_scenario(ANKANG)
    r = sc.population.registered
    assert r.people == 798_000  # 贫困人口79.8万
    assert sc.villages.poor == 1209  # 1209个贫困村
    assert sc.villages.count == 2 * 1209  # 占全市总村数的一半
    assert 0.30 <= r.people / sc.population.people <= 0.45  # 30% of the whole city, rural only
    assert 3.0 <= r.people / r.households <= 3.4
    assert 200_000 <= sc.population.households <= 1_000_000
    # six industries, 3 to 5 leading enterprises each (每个产业重点扶持3到5户龙头企业)
    per = pd.Series([e.industry for e in sc.enterprises]).value_counts()
    assert set(per.index) == {"pigs", "tea", "konjac", "walnut", "fishery", "forest"}
    assert per.between(3, 5).all(), per.to_dict()
    assert 18 <= len(sc.enterprises) <= 30
    # room for the industry category after the initial links
    free = (1 - sc.enterprise_defaults.initial_link_share) * sum(e.capacity for e in sc.enterprises)
    assert free >= r.categories.industry.households
    # relocation and disasters: above the defaults (避灾扶贫搬迁)
    d = default_values()
    assert sc.villages.disaster_risk_poor[1] > d["villages"]["disaster_risk_poor"][1]
    assert r.categories.relocation.households / r.households >= 0.2
    # ageing, hollowed villages: older than the defaults; more migration
    edges = sc.population.age.band_edges
    old = edges.index(65)
    assert (
        sc.population.age.shares_registered[old] > d["population"]["age"]["shares_registered"][old]
    )
    assert sc.economy.migrant_base_prob > d["economy"]["migrant_base_prob"]


def test_southern_xinjiang_is_a_small_young_low_migration_area():
    sc = load_scenario(XINJIANG)
    p, r = sc.population, sc.population.registered
    assert 60_000 <= p.households <= 100_000
    assert p.people / p.households >= 4.0  # large families
    assert r.people / r.households == pytest.approx(3_089_000 / 779_000, abs=0.01)
    assert r.people / p.people == pytest.approx(0.291, abs=0.002)  # incidence 29.1% (2014)
    assert r.categories.relocation.households / r.households == pytest.approx(0.052, abs=0.002)
    d = default_values()
    assert sc.economy.migrant_base_prob < d["economy"]["migrant_base_prob"]
    young = sum(sc.population.age.shares_registered[:2])  # under 15
    assert young > sum(d["population"]["age"]["shares_registered"][:2])
    industries = {e.industry for e in sc.enterprises}
    assert {"fruit", "walnut", "livestock"} <= industries
    assert "pigs" not in industries


# ---- scaling helper ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("factor", [1 / 20, 1 / 137, 1.0])
def test_scaled_overrides_keep_the_scenario_consistent(path, factor):
    full = load_scenario(path)
    sc = scaled(path, factor)  # validates: categories sum, sizes fit
    r = sc.population.registered
    assert sum(h for h, _ in _categories(sc).values()) == r.households
    assert r.households == max(1, round(full.population.registered.households * factor))
    assert sc.population.households == pytest.approx(
        full.population.households * factor, rel=0.01, abs=2
    )
    size_ratio = sc.population.people / sc.population.households
    full_ratio = full.population.people / full.population.households
    assert size_ratio == pytest.approx(full_ratio, rel=0.05)
    assert len(sc.enterprises) == len(full.enterprises)
    assert sc.villages.poor <= sc.villages.count
    if factor == 1.0:
        assert _categories(sc) == _categories(full)
        assert sc.population.people == full.population.people


# ---- runs --------------------------------------------------------------------------------------

_RUN_SCENARIOS = {
    "county": lambda: load_scenario(COUNTY),
    "southern_xinjiang": lambda: load_scenario(XINJIANG),
    "ankang_1_20": lambda: scaled(ANKANG, ANKANG_FAST),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", list(_RUN_SCENARIOS))
def test_runs_ten_years_under_every_strategy(name, strategy):
    sc = _RUN_SCENARIOS[name]()
    model = PovertyModel(sc, strategy=strategy, seed=1, agents=False)
    # the year-0 register's categories (a re-registered household gets its category anew)
    reg0 = model.hh.registered_year == 0  # not the exits of 2014-2015 (register.exited_before)
    counts = np.bincount(model.hh.category[reg0], minlength=len(CATEGORIES))
    assert counts.tolist() == [h for h, _ in _categories(sc).values()]
    model.run()
    ts = model.timeseries()
    assert ts["year"].tolist() == list(range(11))
    core = [
        "poverty_rate",
        "poverty_gap",
        "mean_income_pc",
        "median_income_pc",
        "mean_income_pc_registered0",
        "gini",
        "mean_assets",
        "medical_oop_share_registered",
        "catastrophic_health_share",
        "spending",
    ]
    assert np.isfinite(ts[core].to_numpy(dtype=float)).all()
    assert (ts["people"] == sc.population.people).all()  # people are conserved
    assert (ts["households"] == sc.population.households).all()
    assert ts.loc[0, "registered_households"] == sc.population.registered.households
    counts_cols = ["poor_households", "exits", "returns", "new_poor", "registered_households"]
    assert (ts[counts_cols + ["spending"]] >= 0).all().all()
    hh = model.hh
    assert (hh.category[hh.registered] >= 0).all()  # every registered household has a category
    budget = model.strategy.budget
    assert (ts["spending"] <= budget * (1 + 1e-9) + 1.0).all()
    if strategy == "status_quo":
        assert ts["cumulative_spending"].iloc[-1] == 0
    else:
        assert ts["spending"].iloc[1] > 0


@pytest.mark.slow
def test_ankang_full_size_runs(tmp_path, capsys):
    """The large scenario at full size, through the CLI (about 12 s and 1.2 GB)."""
    out = tmp_path / "ankang"
    rc = main(["run", str(ANKANG), "--strategy", "status_quo", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["households"] == 625_000
    assert manifest["people"] == 2_000_000
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 11
    assert ts.loc[0, "registered_households"] == 249_375
    assert (ts["people"] == 2_000_000).all()
    assert np.isfinite(ts["mean_income_pc"]).all()


# ---- parameters --------------------------------------------------------------------------------


def test_every_default_has_unit_description_and_a_reasoned_source():
    """Walk the whole defaults tree: every leaf has non-empty unit, description and source, and
    a source that is an assumption says why."""
    problems = []

    def visit(node, path):
        for key, child in node.items():
            here = f"{path}.{key}" if path else key
            if not isinstance(child, dict):
                problems.append((here, "bare value outside a leaf"))
            elif "value" in child:
                for field in sorted(META_KEYS - {"value"}):
                    text = child.get(field)
                    if not isinstance(text, str) or not text.strip():
                        problems.append((here, f"empty {field}"))
                source = str(child.get("source", "")).strip()
                if re.match(r"(?i)assumption", source) and not re.match(
                    r"(?i)assumption\s*[:(]\s*\S.{9,}", source
                ):
                    problems.append((here, f"assumption without a reason: {source!r}"))
                if re.fullmatch(r"(?i)[\s\W]*assumptions?[\s\W]*", source):
                    problems.append((here, f"bare assumption: {source!r}"))
            else:
                visit(child, here)

    visit(raw_defaults(), "")
    assert not problems, problems
    assert len(iter_params()) > 150


def _csv(capsys, *args) -> pd.DataFrame:
    rc = main(["params", "--format", "csv", *args])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return pd.read_csv(io.StringIO(captured.out), dtype=str, keep_default_na=False)


def _parse(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _effective(sc: Scenario, path: str):
    node = sc
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


@pytest.mark.parametrize("path", [XINJIANG, ANKANG], ids=lambda p: p.stem)
def test_params_table_is_the_effective_configuration(path, capsys):
    sets = ["shocks.illness.incidence=0.2", "economy.assets.trap=false", "budget.yearly=5e7"]
    args = ["--scenario", str(path)]
    for s in sets:
        args += ["--set", s]
    df = _csv(capsys, *args)
    assert list(df.columns) == [
        "path",
        "value",
        "default",
        "changed",
        "unit",
        "description",
        "source",
    ]
    assert df["path"].tolist() == [p.path for p in iter_params()]
    sc = load_scenario(path, parse_overrides(sets))
    defaults = {p.path: p.value for p in iter_params()}
    wrong = []
    for row in df.itertuples(index=False):
        shown, effective = _parse(row.value), _effective(sc, row.path)
        if shown != effective:
            wrong.append((row.path, row.value, effective))
        expect_changed = effective != defaults[row.path]
        if row.changed != str(expect_changed):
            wrong.append((row.path, "changed", row.changed))
        if _parse(row.default) != defaults[row.path]:
            wrong.append((row.path, "default", row.default))
    assert not wrong, wrong[:10]
    t = df.set_index("path")
    assert float(t.loc["shocks.illness.incidence", "value"]) == pytest.approx(0.2)
    assert t.loc["shocks.illness.incidence", "changed"] == "True"
    assert t.loc["economy.assets.trap", "value"] == "False"
    assert float(t.loc["budget.yearly", "value"]) == 5e7
    assert t.loc["meta.name", "value"] == path.stem
    assert t.loc["population.registered.people", "changed"] == "True"


@pytest.mark.parametrize("path", [XINJIANG, ANKANG], ids=lambda p: p.stem)
def test_params_markdown_for_new_scenarios(path, capsys):
    assert main(["params", "--scenario", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| path | value | default | changed |")
    assert len(lines) == 2 + len(iter_params())
