"""Default parameters with unit, description and source (OpenFisca style).

The defaults live in ``defaults.toml`` as data so that researchers can audit them without reading
code; every leaf is ``{value, unit, description, source}``.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

META_KEYS = frozenset({"value", "unit", "description", "source"})

# ``[instruments.*]`` tables that are behavioural options, not instruments (they spend nothing)
BEHAVIOUR_SECTIONS = frozenset({"dependency"})


@dataclass(frozen=True)
class Param:
    path: str
    value: Any
    unit: str
    description: str
    source: str


def is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and set(node) <= META_KEYS


@cache
def _raw_defaults() -> dict:
    text = resources.files(__package__).joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def raw_defaults() -> dict:
    """The parsed defaults file, metadata included (a fresh copy)."""
    return copy.deepcopy(_raw_defaults())


def default_values() -> dict:
    """The defaults tree with each leaf replaced by its value."""

    def strip(node: Any) -> Any:
        if is_leaf(node):
            return copy.deepcopy(node["value"])
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        return copy.deepcopy(node)

    return strip(_raw_defaults())


def iter_params(node: dict | None = None, prefix: str = "") -> list[Param]:
    """Every default parameter, in file order."""
    node = _raw_defaults() if node is None else node
    out: list[Param] = []
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if is_leaf(child):
            out.append(
                Param(
                    path,
                    child["value"],
                    child.get("unit", ""),
                    child.get("description", ""),
                    child.get("source", ""),
                )
            )
        elif isinstance(child, dict):
            out.extend(iter_params(child, path))
    return out


def param_index() -> dict[str, Param]:
    return {p.path: p for p in iter_params()}


def instrument_names() -> tuple[str, ...]:
    """The programme instruments: the ``[instruments.NAME]`` tables of the defaults, in file
    order, less the behavioural options. Every layer takes the list from here (the model's
    spending columns and household receipts, the scenario schema, the policies' registry)."""
    tables = _raw_defaults().get("instruments", {})
    return tuple(k for k in tables if k not in BEHAVIOUR_SECTIONS)
