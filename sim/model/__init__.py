"""The model: one Mesa step is one year of rural households' lives.

``model.py`` holds :class:`PovertyModel` (the yearly phase order, nothing else); the mechanisms
each have a module (``demography``, ``shocks``, ``identification``, ``economy``, ``metrics``), the
state lives in struct-of-arrays tables (``households``, ``population``, ``enterprises``), random
numbers are counter-based (``rng``) and the loops are compiled (``kernels``).

May import: ``sim.config``. Never ``sim.policies`` (a strategy reaches the model as an object
with ``apply(model)``), ``sim.batch``, ``sim.analysis`` or ``sim.cli``. Importing this package is
cheap; :class:`PovertyModel` (and numba) load on first use.
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
