"""Policy phase: strategies allocate the year's budget to instruments and households.

A strategy writes this year's effects into ``model.effects`` (transfers, wages, schooling aid,
...; the record is the model's: ``sim.model.effects``) or directly into household state (assets,
links, houses, skills), and books what it spends in ``model.ledger`` and on each household's
record. One module per instrument in this package, found by ``registry``; the built-in
strategies are data (``strategies.toml``). The model resolves a strategy name through
:func:`get_strategy` (its plugin point, ``sim.model.model.STRATEGY_PROVIDER``).

May import: ``sim.model`` and ``sim.config``. Never ``sim.batch``, ``sim.analysis`` or ``sim.cli``.
"""

from __future__ import annotations

from sim.model.codes import INSTRUMENTS  # re-exported: sim.policies.INSTRUMENTS
from sim.model.effects import Effects, Ledger  # re-exported: the model owns the contract


def builtin_specs() -> dict:
    """The built-in strategies' specifications, from strategies.toml."""
    from sim.config import StrategySpec, builtin_strategy_tables

    return {k: StrategySpec.model_validate(v) for k, v in builtin_strategy_tables().items()}


def available(scenario=None) -> dict:
    """The built-in strategies, or a scenario's (built-ins merged with its own tables)."""
    return dict(scenario.strategies) if scenario is not None else builtin_specs()


def get_strategy(name, scenario=None):
    """A strategy by name (built-in or defined in the scenario), bound to the scenario."""
    from sim.config import ConfigError
    from sim.policies.strategy import Strategy

    if isinstance(name, Strategy):
        return name.bind(scenario) if scenario is not None else name
    specs = available(scenario)
    if name not in specs:
        raise ConfigError(
            [f"strategy: unknown strategy {name!r}; allowed: {', '.join(sorted(specs))}"]
        )
    spec = specs[name]
    if scenario is not None and spec.shares.get("industry", 0) > 0 and not scenario.enterprises:
        raise ConfigError(
            [
                f"strategy: {name!r} funds industry but the scenario has no enterprises; "
                "add [[enterprises]] tables"
            ]
        )
    return Strategy(name, spec, scenario)


from sim.policies.strategy import Strategy  # noqa: E402  (needs the names above)

__all__ = ["INSTRUMENTS", "Effects", "Ledger", "Strategy", "available", "get_strategy"]
