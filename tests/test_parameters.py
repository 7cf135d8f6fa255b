"""Default parameters: every leaf documented (value, unit, description, source); the defaults alone
validate; `povsim params` lists every parameter and a scenario's effective values."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import COUNTY_TOML

from sim.cli import main
from sim.config import Scenario, build_scenario
from sim.config.parameters import (
    META_KEYS,
    default_values,
    is_leaf,
    iter_params,
    param_index,
    raw_defaults,
)


def _walk_values(node, prefix=""):
    """Every scalar or list in the value tree, with its dotted path."""
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, dict):
            yield from _walk_values(child, path)
        else:
            yield path, child


def test_every_leaf_has_unit_description_and_source():
    params = iter_params()
    assert len(params) > 150
    missing = [
        (p.path, field)
        for p in params
        for field in ("unit", "description", "source")
        if not isinstance(getattr(p, field), str) or not getattr(p, field).strip()
    ]
    assert not missing, missing


def test_every_table_is_a_leaf_or_holds_tables():
    """A table with a stray key next to `value` would not count as a leaf and would vanish from
    `iter_params` while still reaching the scenario as a dict."""
    bad = []

    def visit(node, path):
        for key, child in node.items():
            p = f"{path}.{key}" if path else key
            if not isinstance(child, dict):
                bad.append((p, "bare value outside a {value, unit, description, source} leaf"))
            elif "value" in child:
                if not is_leaf(child):
                    bad.append((p, f"extra keys {sorted(set(child) - META_KEYS)}"))
                if set(child) != META_KEYS:
                    bad.append((p, f"missing keys {sorted(META_KEYS - set(child))}"))
            else:
                visit(child, p)

    visit(raw_defaults(), "")
    assert not bad, bad


def test_iter_params_covers_every_default_value():
    paths = [p.path for p in iter_params()]
    assert len(paths) == len(set(paths))
    assert sorted(paths) == sorted(path for path, _ in _walk_values(default_values()))
    index = param_index()
    for path, value in _walk_values(default_values()):
        assert index[path].value == value


def test_defaults_alone_validate():
    sc = build_scenario({}, "<defaults>")
    assert isinstance(sc, Scenario)
    # a few values read back through the schema
    assert sc.population.registered.households == 10750
    assert sc.villages.poor == 98
    assert sc.shocks.illness.enabled is True


def test_defaults_validate_with_an_enterprise():
    """The defaults validate with an enterprise too."""
    data = {"enterprises": [{"name": "e", "industry": "pigs", "capacity": 10}]}
    sc = build_scenario(data, "<defaults>")
    assert sc.population.households == 40000
    assert sc.meta.years == 10


def test_every_schema_field_has_a_default():
    """Each required scenario table comes from defaults.toml, and every default table is a
    scenario field (optional ones, like the enterprise list, may be absent)."""
    tree = default_values()
    required = {name for name, f in Scenario.model_fields.items() if f.is_required()}
    assert required <= set(tree)
    assert set(tree) <= set(Scenario.model_fields)


def _params_csv(capsys, *args) -> pd.DataFrame:
    rc = main(["params", "--format", "csv", *args])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return pd.read_csv(io.StringIO(captured.out), dtype=str, keep_default_na=False)


def test_params_csv_lists_every_parameter(capsys):
    df = _params_csv(capsys)
    assert list(df.columns) == ["path", "value", "unit", "description", "source"]
    assert df["path"].tolist() == [p.path for p in iter_params()]
    assert (df["unit"] != "").all() and (df["source"] != "").all()
    row = df.set_index("path").loc["shocks.illness.incidence"]
    assert float(row["value"]) == pytest.approx(0.13)


def test_params_csv_shows_override_effective_value(capsys):
    df = _params_csv(
        capsys,
        "--scenario",
        str(COUNTY_TOML),
        "--set",
        "shocks.illness.incidence=0.2",
        "--set",
        "economy.assets.trap=false",
    )
    assert df["path"].tolist() == [p.path for p in iter_params()]
    t = df.set_index("path")
    assert float(t.loc["shocks.illness.incidence", "value"]) == pytest.approx(0.2)
    assert float(t.loc["shocks.illness.incidence", "default"]) == pytest.approx(0.13)
    assert t.loc["shocks.illness.incidence", "changed"] == "True"
    assert t.loc["economy.assets.trap", "value"] == "False"
    assert t.loc["economy.assets.trap", "changed"] == "True"
    # set by the county file itself
    assert t.loc["meta.name", "value"] == "county"
    assert t.loc["meta.name", "changed"] == "True"
    # untouched
    assert t.loc["shocks.illness.chronic_cost", "changed"] == "False"


def test_params_markdown(capsys):
    assert main(["params"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| path | value | unit | description | source |"
    assert len(lines) == 2 + len(iter_params())
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])


def test_every_output_column_is_documented():
    """docs/outputs.md lists every outcome (column or derived) and household field (the README links it)."""
    from pathlib import Path

    from sim.model.households import HOUSEHOLD_FIELDS
    from sim.model.outputs import OUTCOMES

    text = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()
    missing = [c for c in list(OUTCOMES) + list(HOUSEHOLD_FIELDS) if f"`{c}`" not in text]
    assert not missing, f"undocumented in docs/outputs.md: {missing}"


def test_outputs_md_tables_are_generated_from_the_registry():
    """docs/outputs.md's outcome tables are what ``make docs`` writes from sim.model.outputs."""
    from pathlib import Path

    from sim.analysis.docs_tables import outputs_md

    text = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()
    assert outputs_md(text) == text, "docs/outputs.md is out of date: run `make docs`"


def test_odd_lists_every_instrument_parameter_with_its_default():
    """docs/ODD.md's instrument table is generated from the defaults; it must not drift."""
    from pathlib import Path

    from sim.config.parameters import iter_params

    text = (Path(__file__).resolve().parent.parent / "docs" / "ODD.md").read_text()
    start = text.index("<!-- params:instruments:start -->")
    table = text[start : text.index("<!-- params:instruments:end -->")]
    for p in iter_params():
        if p.path.startswith(("instruments.", "programme.")):
            assert f"| `{p.path}` | `{p.value}` |" in table, p.path
