"""The model: one Mesa step is one year of rural households' lives.

``model.py`` holds :class:`PovertyModel` (the yearly phase order, nothing else); the mechanisms
each have a module (``demography``, ``shocks``, ``identification``, ``economy``, ``metrics``), the
state lives in struct-of-arrays tables (``households``, ``population``, ``enterprises``), random
numbers are counter-based (``rng``) and the loops are compiled (``kernels``).

The contract with the strategies is the model's own (``effects``): the per-household
:class:`~sim.model.effects.Effects` record that instruments write and the yearly phases read, the
:class:`~sim.model.effects.Ledger` and :func:`~sim.model.effects.book` that record spending, and
the :class:`~sim.model.effects.StrategyLike` protocol (``budget``, ``params``,
``in_programme(year)``, ``year_budget(year)``, ``apply(model)``). Loans the programme made are settled by the household
side (``credit``), run by the asset phase.

The plugin point: ``PovertyModel(scenario, strategy=...)`` takes a strategy object, used as it
is, or a name, which ``sim.model.model.resolve_strategy`` looks up late — one
``importlib.import_module(STRATEGY_PROVIDER)`` (``"sim.policies"``) and its
``get_strategy(name, scenario)`` — so that names work without the model importing the policies.

May import: ``sim.config``. Never ``sim.policies`` (a strategy reaches the model as an object,
or by name through the plugin point above), ``sim.batch``, ``sim.analysis`` or ``sim.cli``.
Importing this package is cheap; :class:`PovertyModel` (and numba) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = ["PovertyModel"]

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.model import PovertyModel


def __getattr__(name: str):
    if name == "PovertyModel":
        value = importlib.import_module("sim.model.model").PovertyModel
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
