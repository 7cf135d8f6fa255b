"""Scenario files and overrides: every bad input is a ConfigError that names the file and the field;
the CLI turns it into exit code 2, one `error:` line per problem, no traceback and no output folder."""

from __future__ import annotations

import math

import pytest
from conftest import COUNTY_TOML, SMALL_TOML, small_data, write_toml

from sim.cli import main
from sim.config import ConfigError, build_scenario, load_scenario
from sim.policies import get_strategy

# (id, file text, field the message must name, fragments the message must contain)
# Files are tiny: everything they do not set comes from the (valid) defaults.
BAD_FILES = [
    ("unknown-top-level", "foo = 1\n", "foo", ["unknown field", "allowed here", "population"]),
    (
        "unknown-nested",
        "[population]\nbogus = 3\n",
        "population.bogus",
        ["unknown field", "households"],
    ),
    (
        "unknown-deep",
        "[shocks.illness]\nincidense = 0.1\n",
        "shocks.illness.incidense",
        ["unknown field", "incidence"],
    ),
    (
        "unknown-in-enterprise",
        '[[enterprises]]\nname = "x"\nindustry = "pigs"\ncapacity = 5\ncolour = "red"\n',
        "enterprises.0.colour",
        ["unknown field"],
    ),
    ("wrong-type-string", '[meta]\nyears = "ten"\n', "meta.years", ["integer", "'ten'"]),
    (
        "wrong-type-fraction",
        "[population]\nhouseholds = 2.5\n",
        "population.households",
        ["integer"],
    ),
    (
        "wrong-type-bool",
        '[shocks.illness]\nenabled = "maybe"\n',
        "shocks.illness.enabled",
        ["boolean"],
    ),
    ("wrong-type-table", "population = 5\n", "population", ["dictionary"]),
    ("wrong-type-name", "[meta]\nname = 5\n", "meta.name", ["string"]),
    (
        "age-shares-sum",
        "[population.age]\nshares_other = [0.5, 0.11, 0.04, 0.06, 0.30, 0.28, 0.14]\n",
        "population.age",
        ["shares_other", "sum to 1", "1.43"],
    ),
    (
        "age-shares-length",
        "[population.age]\nshares_dibao = [0.5, 0.5]\n",
        "population.age",
        ["shares_dibao", "7 shares"],
    ),
    ("negative-households", "[population]\nhouseholds = -5\n", "population.households", ["0"]),
    (
        "negative-category",
        "[population.registered.categories.education]\nhouseholds = -1\n",
        "population.registered.categories.education.households",
        ["greater than or equal to 0"],
    ),
    ("negative-budget", "[budget]\nyearly = -1\n", "budget.yearly", ["greater than or equal to 0"]),
    (
        "probability-above-1",
        "[shocks.illness]\nincidence = 1.5\n",
        "shocks.illness.incidence",
        ["less than or equal to 1", "1.5"],
    ),
    (
        "probability-below-0",
        "[identification]\nexclusion_error = -0.1\n",
        "identification.exclusion_error",
        ["greater than or equal to 0"],
    ),
    (
        "registered-more-than-households",
        "[population]\nhouseholds = 5000\npeople = 20000\n",
        "population.registered.households",
        ["10750", "cannot exceed", "5000"],
    ),
    # speech 1 first counted 117 relocation households; with it the categories no longer add up
    (
        "category-total-speech1",
        "[population.registered.categories.relocation]\nhouseholds = 117\n",
        "population.registered.categories",
        ["10684", "10750", "must be equal", "relocation 117"],
    ),
    (
        "category-people-too-few",
        "[population.registered.categories.medical]\nhouseholds = 3090\npeople = 100\n",
        "population.registered.categories.medical.people",
        ["100 people", "3090"],
    ),
    (
        "poor-villages-exceed-count",
        "[villages]\ncount = 50\npoor = 98\n",
        "villages",
        ["poor villages (98)", "50"],
    ),
    (
        "enterprise-unknown-industry",
        '[[enterprises]]\nname = "x"\nindustry = "rice"\ncapacity = 5\n',
        "enterprises",
        ["'rice'", "allowed", "pigs"],
    ),
    (
        "enterprise-village-outside",
        '[[enterprises]]\nname = "x"\nindustry = "pigs"\ncapacity = 5\nvillage = 500\n',
        "enterprises",
        ["village 500"],
    ),
    (
        "range-min-above-max",
        "[villages]\ndisaster_risk_poor = [0.3, 0.1]\n",
        "villages.disaster_risk_poor",
        ["min <= max"],
    ),
    ("literal-choice", '[budget]\nunspent = "keep"\n', "budget.unspent", ["'return'"]),
]


def _problem_lines(exc: ConfigError, field: str) -> list[str]:
    return [p for p in exc.problems if f": {field}:" in p]


@pytest.mark.parametrize(
    ("text", "field", "fragments"),
    [c[1:] for c in BAD_FILES],
    ids=[c[0] for c in BAD_FILES],
)
def test_bad_file_gives_config_error_naming_file_and_field(tmp_path, text, field, fragments):
    path = write_toml(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    lines = _problem_lines(info.value, field)
    assert lines, f"no problem names {field!r}: {info.value.problems}"
    line = lines[0]
    assert line.startswith(f"{path}: "), line
    for frag in fragments:
        assert frag in line, f"{frag!r} missing from {line!r}"
    # the exception's text is the problems, one per line
    assert str(info.value).splitlines() == info.value.problems


@pytest.mark.parametrize(
    ("text", "field"),
    [c[1:3] for c in BAD_FILES],
    ids=[c[0] for c in BAD_FILES],
)
def test_bad_file_via_cli_exits_2_without_traceback_or_output(tmp_path, capsys, text, field):
    path = write_toml(tmp_path / "bad.toml", text)
    out = tmp_path / "out"
    rc = main(["run", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    assert f"{path}: {field}:" in err
    assert all(line.startswith("error: ") for line in err.splitlines() if line)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_scenario(missing)
    assert info.value.problems == [f"{missing}: scenario file not found"]
    out = tmp_path / "out"
    assert main(["run", str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and str(missing) in err and "Traceback" not in err
    assert not out.exists()


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_scenario(tmp_path)


def test_malformed_toml(tmp_path, capsys):
    path = write_toml(tmp_path / "mal.toml", "[meta]\nname = 'x'\n[population\nhouseholds = 3\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: malformed TOML")
    assert "line 3" in line
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "malformed TOML" in err and "Traceback" not in err
    assert not out.exists()


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[meta]\nname = "Ürümqi"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_scenario(path)


def test_top_level_must_be_a_table():
    with pytest.raises(ConfigError, match="top level"):
        build_scenario(["not", "a", "table"], "list.toml")  # type: ignore[arg-type]


def test_unknown_strategy(small_toml, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(small_toml), "--strategy", "nope", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown strategy 'nope'" in err and "status_quo" in err
    assert "Traceback" not in err
    assert not out.exists()
    with pytest.raises(ConfigError, match="allowed: .*status_quo"):
        get_strategy("nope")


# ---- overrides ---------------------------------------------------------------------------------

BAD_SETS = [
    ("shocks.illness.nope=1", ["--set shocks.illness.nope", "unknown field", "incidence"]),
    ("shock.illness.incidence=0.1", ["--set shock.illness.incidence", "unknown field 'shock'"]),
    ("meta.years.x=1", ["--set meta.years.x", "'meta.years'"]),
    ("shocks.illness.incidence=abc", ["shocks.illness.incidence", "valid number", "'abc'"]),
    ("shocks.illness.incidence=2", ["shocks.illness.incidence", "less than or equal to 1"]),
    ("population.households=-1", ["population.households", "greater than 0"]),
    ("shocks.illness.incidence", ["expected PATH=VALUE"]),
    ("=3", ["path before '=' is empty"]),
]


@pytest.mark.parametrize(("item", "fragments"), BAD_SETS, ids=[s[0] for s in BAD_SETS])
@pytest.mark.parametrize("command", ["run", "validate", "params"])
def test_bad_set_override_via_cli(small_toml, tmp_path, capsys, command, item, fragments):
    out = tmp_path / "out"
    if command == "run":
        argv = ["run", str(small_toml), "--out", str(out), "--set", item]
    elif command == "validate":
        argv = ["validate", str(small_toml), "--set", item]
    else:
        argv = ["params", "--scenario", str(small_toml), "--set", item]
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in captured.err
    assert captured.out == ""
    for frag in fragments:
        assert frag in captured.err, f"{frag!r} missing from {captured.err!r}"
    assert not out.exists()


def test_bad_override_reads_like_bad_file(tmp_path):
    """A bad value gives the same message from a file and from an override, naming both."""
    path = write_toml(tmp_path / "f.toml", SMALL_TOML + "\n[shocks.illness]\nincidence = 2.0\n")
    with pytest.raises(ConfigError) as from_file:
        load_scenario(path)
    good = write_toml(tmp_path / "g.toml", SMALL_TOML)
    with pytest.raises(ConfigError) as from_set:
        load_scenario(good, overrides={"shocks.illness.incidence": 2.0})
    (a,) = from_file.value.problems
    (b,) = from_set.value.problems
    field_msg = "shocks.illness.incidence: Input should be less than or equal to 1 (got 2.0)"
    assert a == f"{path}: {field_msg}"
    assert b.endswith(field_msg)
    assert b.startswith(f"{good} (with --set shocks.illness.incidence)")


def test_unknown_override_path_via_api(small_toml):
    with pytest.raises(ConfigError) as info:
        load_scenario(small_toml, overrides={"shocks.illness.nope": 1, "budget.yearly": -5})
    text = str(info.value)
    assert "--set shocks.illness.nope: unknown field" in text
    # the unknown path and the bad value are reported together
    assert "budget.yearly" in text


def test_overrides_via_api_take_effect(small_toml):
    sc = load_scenario(
        small_toml,
        overrides={
            "shocks.illness.incidence": 0.1,
            "economy.assets.trap": False,
            "economy.poverty_line": [3000, 3100],
            "budget.unspent": "carry_over",
        },
    )
    assert sc.shocks.illness.incidence == 0.1
    assert sc.economy.assets.trap is False
    assert sc.poverty_line(0) == 3000 and sc.poverty_line(1) == 3100
    assert sc.poverty_line(2) == pytest.approx(3100 * (1 + sc.economy.line_growth))
    assert sc.budget.unspent == "carry_over"
    # untouched values keep the file's (and the defaults')
    assert sc.population.households == 2000
    assert sc.shocks.illness.incidence_registered == 0.208


def test_precedence_defaults_file_override(tmp_path):
    path = write_toml(tmp_path / "f.toml", SMALL_TOML + "\n[shocks.illness]\nincidence = 0.2\n")
    assert load_scenario(path).shocks.illness.incidence == 0.2
    assert load_scenario(path, {"shocks.illness.incidence": 0.1}).shocks.illness.incidence == 0.1
    assert load_scenario(path).shocks.illness.chronic_onset == 0.015  # default


def test_overrides_do_not_mutate_the_data():
    data = small_data()
    before = small_data()
    build_scenario(data, "small.toml", {"shocks.illness.incidence": 0.3, "villages.count": 30})
    assert data == before


def test_set_override_parses_toml_values(small_toml, capsys):
    rc = main(
        [
            "validate",
            str(small_toml),
            "--set",
            "economy.assets.trap=false",
            "--set",
            "economy.poverty_line=[3000, 3100]",
            "--set",
            "meta.name=renamed",
        ]
    )
    assert rc == 0
    assert capsys.readouterr().out == "ok\n"


# ---- validate ------------------------------------------------------------------------------------


def test_validate_county_prints_ok(capsys):
    assert main(["validate", str(COUNTY_TOML)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "ok\n"
    assert captured.err == ""


def test_validate_reports_every_problem(tmp_path, capsys):
    text = "foo = 1\n\n" + SMALL_TOML
    text = text.replace("years = 5", 'years = "ten"')
    text = text.replace("households = 2000\n", "households = -5\nbogus = 3\n")
    text += "\n[shocks.illness]\nincidence = 1.5\n\n[budget]\nyearly = -1\n"
    path = write_toml(tmp_path / "bad.toml", text)
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    for field in (
        "foo",
        "meta.years",
        "population.households",
        "population.bogus",
        "shocks.illness.incidence",
        "budget.yearly",
    ):
        assert sum(f"{path}: {field}:" in line for line in lines) == 1, field
    assert len(lines) == len(set(lines))  # each problem once
    assert all(line.startswith("error: ") for line in lines)


def test_validate_several_files(tmp_path, capsys):
    bad1 = write_toml(tmp_path / "bad1.toml", "[budget]\nyearly = -1\n")
    bad2 = write_toml(tmp_path / "bad2.toml", "foo = 2\n")
    assert main(["validate", str(COUNTY_TOML), str(bad1), str(bad2)]) == 2
    err = capsys.readouterr().err
    assert f"{bad1}: budget.yearly" in err
    assert f"{bad2}: foo" in err
    assert str(COUNTY_TOML) not in err


def test_validate_with_set(capsys):
    assert main(["validate", str(COUNTY_TOML), "--set", "budget.yearly=5e7"]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_cross_field_problems_listed_together():
    """Consistency problems are reported together when no single field is wrong."""
    data = {
        "population": {"households": 5000, "people": 20000},
        "enterprises": [{"name": "x", "industry": "rice", "capacity": 5}],
    }
    with pytest.raises(ConfigError) as info:
        build_scenario(data, "x.toml")
    text = str(info.value)
    assert "population.registered.households" in text
    assert "population.registered.people" in text
    assert "industry 'rice'" in text


# ---- gaps found in review (all fixed; kept as regression tests) ----------------------------------


def test_cross_field_problems_reported_alongside_field_problems(tmp_path):
    text = (
        "[shocks.illness]\nincidence = 1.5\n\n"
        "[population.registered.categories.relocation]\nhouseholds = 117\n"
    )
    path = write_toml(tmp_path / "two.toml", text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "shocks.illness.incidence" in text
    assert "population.registered.categories" in text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"meta": {"years": True}}, "meta.years"),
        ({"shocks": {"illness": {"incidence": True}}}, "shocks.illness.incidence"),
    ],
    ids=["years", "incidence"],
)
def test_boolean_is_not_a_number(data, field):
    with pytest.raises(ConfigError) as info:
        build_scenario(data, "b.toml")
    assert f"b.toml: {field}:" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [{"economy": {"migrant_monthly_wage": math.inf}}, {"budget": {"yearly": math.inf}}],
    ids=["wage", "budget"],
)
def test_infinite_values_rejected(data):
    with pytest.raises(ConfigError) as info:
        build_scenario(data, "inf.toml")
    assert "inf" in str(info.value)


def test_override_into_list_is_applied(small_toml):
    """A path through a list (enterprises.0.capacity) used to be skipped silently."""
    sc = load_scenario(small_toml, overrides={"enterprises.0.capacity": 5})
    assert sc.enterprises[0].capacity == 5
    assert sc.enterprises[1].capacity == 60


def test_override_ending_in_list_is_applied(small_toml):
    """A path ending in a list index (band_edges.0) used to raise TypeError."""
    sc = load_scenario(small_toml, overrides={"population.age.band_edges.0": 1})
    assert sc.population.age.band_edges[:2] == [1, 6]


@pytest.mark.parametrize(
    "path", ["enterprises.5.capacity", "enterprises.x.capacity", "population.age.band_edges.9"]
)
def test_override_bad_list_index(small_toml, capsys, path):
    with pytest.raises(ConfigError) as info:
        load_scenario(small_toml, overrides={path: 1})
    assert f"--set {path}" in str(info.value)
    assert main(["validate", str(small_toml), "--set", f"{path}=1"]) == 2
    err = capsys.readouterr().err
    assert path in err and "Traceback" not in err


# Scenarios whose totals add up but where one group of households (non-registered, or one
# category) cannot hold its people.
UNFILLABLE = [
    (
        "non-registered-too-many-people",
        {"population": {"people": 17000}},
        "population.people",
    ),
    (
        "category-too-many-people",
        {
            "population": {
                "registered": {
                    "people": 2000,
                    "categories": {"medical": {"households": 140, "people": 1300}},
                }
            }
        },
        "population.registered.categories.medical.people",
    ),
    (
        "people-in-empty-category",
        {
            "population": {
                "registered": {
                    "households": 480,
                    "categories": {
                        "education": {"households": 0, "people": 30},
                        "dibao": {"households": 180},
                    },
                }
            }
        },
        "population.registered.categories.education.people",
    ),
    (
        "people-without-non-registered-households",
        {"population": {"households": 500, "people": 2000}},
        "population.people",
    ),
]


def _deep_update(base: dict, over: dict) -> dict:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
    return base


@pytest.mark.parametrize(
    ("patch", "field"), [u[1:] for u in UNFILLABLE], ids=[u[0] for u in UNFILLABLE]
)
def test_unfillable_population_is_a_config_error(patch, field):
    """Each group of households (non-registered, each category) must hold its people; these
    used to validate and then crash synthesis (ValueError) or silently drop people."""
    data = _deep_update(small_data(), patch)
    with pytest.raises(ConfigError) as info:
        build_scenario(data, "unfillable.toml")
    assert f"unfillable.toml: {field}:" in str(info.value)


def test_small_scenario_text_is_valid():
    sc = build_scenario(small_data(), "small.toml")
    assert sc.population.registered.households == 500
    assert [e.name for e in sc.enterprises] == ["small pig company", "small vegetable cooperative"]
    assert SMALL_TOML.startswith("[meta]")
