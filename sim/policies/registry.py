"""The instrument registry: every module of this package that declares ``INSTRUMENT``.

Adding an instrument is one module (``sim/policies/NAME.py``: its ``Params`` model, cause match,
category, effects and ``allocate``, declared as ``INSTRUMENT = Instrument(...)``), its parameters
in ``sim/config/parameters/defaults.toml`` under ``[instruments.NAME]`` (value, unit,
description, source for each) and its test. Nothing else: docs/extending.md walks through it.

Where each derived thing comes from, and why:

- *The instrument list* is the ``[instruments.*]`` tables of the defaults
  (``sim.config.parameters.instrument_names``), in file order. The model needs it when its
  tables are built (the household receipt fields ``NAME_first``, ``NAME_last``, ``NAME_cost``;
  the timeseries' ``spending_NAME`` columns; the ledger's known names) and may not import the
  policies; config is the bottom layer and may not import them either. The defaults are data
  every layer can read, and they must carry the instrument's sourced parameters anyway, so they
  name the instrument. :func:`check` holds the modules found here to that list.
- *The scenario's ``instruments`` section* is checked in two steps. Config derives a schema
  from the defaults (known keys, the kind of each value: a typo or a wrong kind is reported at
  load with the file and field). The instrument's own ``Params`` model (bounds, choices,
  cross-field rules) lives with its mechanism here and is applied by :func:`validate_params`
  on every load (``sim.config.loading.instrument_problems`` reaches it through one documented
  plugin point, loaded on first use) and when a strategy is bound to a scenario, with the same
  kind of message (``ConfigError``). A registration hook into config was the alternative; it
  makes what a scenario accepts depend on whether ``sim.policies`` was imported before it was
  loaded, which the plugin point avoids.
- *Ledger columns, receipt fields and the docs tables* (``make docs``: parameters from the
  defaults, columns from ``sim.model.outputs.COLUMNS``) follow the list.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from pydantic import BaseModel, ValidationError, create_model

from sim.config import ConfigError
from sim.config.parameters import BEHAVIOUR_SECTIONS, default_values, iter_params
from sim.model.codes import INSTRUMENTS as MODEL_INSTRUMENTS
from sim.policies.base import Instrument
from sim.policies.dependency import Params as DependencyParams

# parameter sections that are behavioural options (not instruments), with their models
OPTIONS: dict[str, type[BaseModel]] = {"dependency": DependencyParams}


@cache
def instruments() -> dict[str, Instrument]:
    """name → Instrument, in the order of ``sim.model.codes.INSTRUMENTS`` (the defaults)."""
    import sim.policies as package

    found: dict[str, Instrument] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        inst = getattr(module, "INSTRUMENT", None)
        if isinstance(inst, Instrument):
            if inst.name in found:
                raise RuntimeError(f"instrument {inst.name!r} declared twice")
            found[inst.name] = inst
    order = {name: i for i, name in enumerate(MODEL_INSTRUMENTS)}
    return dict(sorted(found.items(), key=lambda kv: order.get(kv[0], len(order))))


@cache
def params_model() -> type[BaseModel]:
    """The typed ``instruments`` section: each instrument's ``Params`` and the options'."""
    fields = {name: (inst.params, ...) for name, inst in instruments().items()}
    fields.update({name: (model, ...) for name, model in OPTIONS.items()})
    return create_model("InstrumentParams", **fields)


def validate_params(tree: dict, where: str = "instruments") -> BaseModel:
    """The instruments' parameters (a plain tree) as typed models, or a ConfigError naming each
    bad field as ``WHERE.NAME.FIELD``."""
    try:
        return params_model().model_validate(tree)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            given = err.get("input")
            shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
            lines.append(f"{where}.{path}: {msg}{shown}")
        raise ConfigError(lines) from None


def check() -> list[str]:
    """Problems with the registry: names that disagree between the modules, the defaults and the
    model; parameter models that disagree with their sourced defaults. Empty when consistent."""
    problems: list[str] = []
    found = instruments()
    if tuple(found) != tuple(MODEL_INSTRUMENTS):
        problems.append(
            f"instrument modules {sorted(found)} disagree with the defaults' [instruments.*] "
            f"tables {sorted(MODEL_INSTRUMENTS)}"
        )
    defaults = default_values()["instruments"]
    sourced = {p.path: p for p in iter_params()}
    models = {name: inst.params for name, inst in found.items()} | OPTIONS
    for name, model in models.items():
        keys = set(defaults.get(name, {}))
        fields = set(model.model_fields)
        if keys != fields:
            problems.append(
                f"{name}: Params fields {sorted(fields)} disagree with the defaults {sorted(keys)}"
            )
        for key in sorted(keys & fields):
            p = sourced[f"instruments.{name}.{key}"]
            if not (p.unit and p.description and p.source):
                problems.append(f"instruments.{name}.{key}: needs a unit, description and source")
    extra = set(defaults) - set(found) - set(OPTIONS) - BEHAVIOUR_SECTIONS
    if extra:
        problems.append(f"[instruments.*] tables without a module: {sorted(extra)}")
    try:
        validate_params(defaults)
    except ConfigError as exc:
        problems += [f"defaults: {p}" for p in exc.problems]
    return problems
