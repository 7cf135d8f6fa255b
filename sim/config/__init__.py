"""Configuration: scenario, experiment and targets files become validated objects; every
parameter has a default value, unit, description and source; inputs and outputs are handled
safely.

- ``schema``: the scenario's fields, types and bounds (pydantic, strict);
- ``checks``: cross-field checks (counts that cannot be synthesised, strategy shares);
- ``loading``: read, merge defaults, apply ``--set`` overrides, validate, explain;
- ``parameters``: the defaults with unit, description and source (``defaults.toml``);
- ``files``: inputs are regular bounded files; outputs never clobber what povsim did not write.

May import: nothing else of ``sim`` (configuration is the bottom layer).
"""

from sim.config.checks import MAX_HOUSEHOLDS, MAX_PEOPLE, population_problems, strategy_problems
from sim.config.errors import ConfigError
from sim.config.loading import (
    BUILTIN_STRATEGIES,
    apply_overrides,
    build_scenario,
    builtin_strategy_tables,
    deep_merge,
    explain,
    load_scenario,
    parse_override,
    parse_toml,
    read_toml,
)
from sim.config.schema import *  # noqa: F403
from sim.config.schema import CATEGORIES, INSTRUMENT_NAMES, Scenario, StrategySpec

__all__ = [
    "BUILTIN_STRATEGIES",
    "CATEGORIES",
    "INSTRUMENT_NAMES",
    "MAX_HOUSEHOLDS",
    "MAX_PEOPLE",
    "ConfigError",
    "Scenario",
    "StrategySpec",
    "apply_overrides",
    "build_scenario",
    "builtin_strategy_tables",
    "deep_merge",
    "explain",
    "load_scenario",
    "parse_override",
    "parse_toml",
    "population_problems",
    "read_toml",
    "strategy_problems",
]
