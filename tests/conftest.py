"""Shared fixtures: a small scenario (2,000 households) that runs in a few hundredths of a second.

The small scenario keeps the county's structure (registered categories, poor villages, leading
enterprises) at a twentieth of its size, so most tests never touch the 40,000-household county.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim.config import Scenario, StrategySpec, build_scenario, load_scenario
from sim.model import PovertyModel
from sim.policies import Strategy

ROOT = Path(__file__).resolve().parent.parent
COUNTY_TOML = ROOT / "scenarios" / "county.toml"

# Registered categories sum to 500 households; medical people are given, the rest derived.
SMALL_TOML = """\
[meta]
name = "small"
years = 5

[population]
households = 2000
people = 6600

[population.registered]
households = 500
people = 1600

[population.registered.categories.industry]
households = 150

[population.registered.categories.relocation]
households = 10

[population.registered.categories.medical]
households = 140
people = 480

[population.registered.categories.education]
households = 20

[population.registered.categories.dibao]
households = 180

[villages]
count = 20
poor = 10

[[enterprises]]
name = "small pig company"
industry = "pigs"
capacity = 100
jobs = 10

[[enterprises]]
name = "small vegetable cooperative"
industry = "vegetables"
capacity = 60
jobs = 5
"""

SMALL_HOUSEHOLDS = 2000
SMALL_PEOPLE = 6600
SMALL_REGISTERED = 500


def small_data() -> dict:
    """The small scenario as a plain dict (a fresh copy every call)."""
    return tomllib.loads(SMALL_TOML)


def small_scenario(overrides: dict | None = None, years: int | None = None) -> Scenario:
    data = small_data()
    if years is not None:
        data["meta"]["years"] = years
    return build_scenario(data, "small.toml", overrides)


# the register without friction (docs/ODD.md §7.15): incomes measured exactly, exit after one
# observation above the line, no capacity limit, no 三保障 error, no plan pressure, every fall found
# the same year; the register then follows the income layer
FRICTIONLESS_REGISTER = {
    "register.measure_error": 0.0,
    "register.stable_years": 1,
    "register.verify_capacity": 1.0,
    "register.guarantee_error": 0.0,
    "register.plan_pressure": 0.0,
    "register.detect_adjustment": 1.0,
    "register.detect_monitoring": 1.0,
    "register.detect_served": 1.0,
    # every fall found is re-registered: help in place keeps a fallen exit off the register
    "register.assist_from": 0,
}


def one_instrument_scenario(
    instrument: str,
    strategy: str,
    params: dict | None = None,
    years: int = 4,
    phase_out: int = 1,
    budget: float | None = None,
    overrides: dict | None = None,
    cliff: bool = False,
) -> Scenario:
    """The small county with one strategy, ``strategy``, that spends all its money on
    ``instrument`` (with ``params``) until ``phase_out``."""
    d = small_data()
    d["meta"]["years"] = years
    if cliff:
        d["programme"] = {**d.get("programme", {}), "after_phase_out": "cliff"}
    spec = {"allocation": "shares", "shares": {instrument: 1.0}, "phase_out_year": phase_out}
    if params:
        spec["params"] = {instrument: params}
    if budget is not None:
        spec["budget"] = budget
    d["strategies"] = {strategy: spec}
    return build_scenario(d, "small.toml", overrides)


def small_model(
    overrides: dict | None = None,
    seed: int = 1,
    strategy: str | Strategy = "status_quo",
    agents: bool = False,
) -> PovertyModel:
    return PovertyModel(small_scenario(overrides), strategy=strategy, seed=seed, agents=agents)


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_config_error(path: Path, field: str, fragment: str, capsys) -> None:
    """Loading ``path`` is a ConfigError whose message for ``field`` says ``fragment``, and
    `povsim validate` says so on stderr with exit code 2 and no traceback."""
    from sim.cli import main
    from sim.config import ConfigError

    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    lines = [p for p in info.value.problems if f": {field}:" in p]
    assert lines and fragment in lines[0], info.value.problems
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and field in err


class TransferToAll(Strategy):
    """Test strategy: an equal cash transfer to every household, booked in the ledger."""

    name = "transfer_to_all"
    description = "test only: 1,000 yuan to every household every year"

    def __init__(self, per_household: float = 1000.0):
        # the spec names the instrument so the programme counts as running (and funded)
        spec = StrategySpec(description=self.description, shares={"cash_transfer": 1.0})
        super().__init__(self.name, spec)
        self.per_household = per_household

    def apply(self, model) -> None:
        n = model.hh.n
        granted = model.ledger.spend("cash_transfer", self.per_household * n)
        model.effects.transfers[:] = granted / n


@pytest.fixture
def small_toml(tmp_path: Path) -> Path:
    """The small scenario written to a file."""
    return write_toml(tmp_path / "small.toml", SMALL_TOML)


@pytest.fixture(scope="session")
def small_run() -> PovertyModel:
    """One small run over the full horizon (seed 1). Read it, never mutate it."""
    return small_model(seed=1).run()


@pytest.fixture(scope="session")
def county_scenario() -> Scenario:
    return load_scenario(COUNTY_TOML)
