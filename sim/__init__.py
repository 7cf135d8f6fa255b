"""povsim: households leaving and returning to poverty under poverty-alleviation strategies.

The package map (docs/architecture.md)::

    sim.cli       the `povsim` command, one module per command group
    sim.analysis  outcomes, compare, targets, discovery, sensitivity, calibration, plots, report
    sim.batch     experiment designs, the runner (local processes or Dask), the results store
    sim.model     the yearly Mesa model: tables, mechanisms, random numbers, compiled kernels
    sim.policies  instruments (one module each) and strategies; they act on the model
    sim.config    scenario files, parameters with their sources, safe file handling

Dependencies point one way: cli → analysis → batch → model ← policies, with config below all
of them (tests/test_architecture.py reads the imports). ``import sim`` is cheap: the names below
are loaded on first use, so an analysis user never compiles the model's kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    "ConfigError": "sim.config",
    "Scenario": "sim.config",
    "load_scenario": "sim.config",
    "PovertyModel": "sim.model",
    "load_results": "sim.batch.results",
}

__all__ = [
    "ConfigError",
    "PovertyModel",
    "Scenario",
    "load_results",
    "load_scenario",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from sim.batch.results import load_results
    from sim.config import ConfigError, Scenario, load_scenario
    from sim.model import PovertyModel


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
