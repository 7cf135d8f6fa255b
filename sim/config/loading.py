"""Loading a scenario: read TOML, merge the defaults, apply dotted overrides, validate, and
explain every problem. Overrides are applied *before* validation so that a bad ``--set`` gets the
same clear message as a bad file; every problem names the file (or the override), the field and
what is allowed.
"""

from __future__ import annotations

import copy
import functools
import importlib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from sim.config.checks import population_problems, strategy_problems  # noqa: F401
from sim.config.errors import ConfigError  # noqa: F401
from sim.config.files import BadInput, read_input_text
from sim.config.parameters import default_values
from sim.config.schema import INSTRUMENT_NAMES, Instruments, Scenario, StrategySpec, _FieldProblems

# ---------------------------------------------------------------------------------------------
# Loading


def read_toml(path: str | Path, what: str = "file") -> dict:
    """A TOML input file as a table: a regular, bounded, UTF-8 file (sim.config.files), never empty."""
    p = Path(path)
    try:
        text = read_input_text(p, what)
    except BadInput as exc:
        raise ConfigError(exc.problems) from None
    data = parse_toml(text, str(p))
    if not data:  # an empty file is a mistake, not "all defaults"
        raise ConfigError([f"{p}: the {what} is empty (it sets no table or key)"])
    return data


def parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: malformed TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(
            [f"{source}: malformed TOML: arrays or tables nested too deeply"]
        ) from None


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` wins; tables merge key by key; lists and scalars replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from the CLI; the value is read as TOML (numbers, booleans, lists, strings)."""
    if "=" not in text:
        raise ConfigError(
            [f"--set {text}: expected PATH=VALUE, e.g. shocks.illness.incidence=0.05"]
        )
    path, raw = text.split("=", 1)
    path, raw = path.strip(), raw.strip()
    if not path:
        raise ConfigError([f"--set {text}: the path before '=' is empty"])
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    except RecursionError:
        raise ConfigError([f"--set {path}: the value is nested too deeply"]) from None
    return path, value


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Every ``--set PATH=VALUE`` of a command line as {path: value} (``parse_override``)."""
    overrides = {}
    for item in items or []:
        path, value = parse_override(item)
        overrides[path] = value
    return overrides


def _creatable(parts: list[str], i: int) -> bool:
    """Optional strategy fields are absent from the tree until set: allow creating them."""
    if parts[0] != "strategies" or i < 2:
        return False
    if i == 2:
        return parts[2] in StrategySpec.model_fields
    if parts[2] == "shares" and i == 3:
        return parts[3] in INSTRUMENT_NAMES
    if parts[2] == "params":
        return i == 4 or (i == 3 and parts[3] in Instruments.model_fields)
    return False


def apply_overrides(
    tree: dict,
    overrides: dict[str, Any],
    defaults: dict,
    problems: list[str] | None = None,
    in_place: bool = False,
) -> dict:
    """Set dotted paths (on a copy of ``tree``, or on ``tree`` itself with ``in_place``). A path
    that leads nowhere is reported as an unknown field.

    With ``problems`` given, unknown paths are appended to it instead of raised, so that the
    caller can report them together with the validation problems.
    """
    collect = problems is not None
    problems = problems if problems is not None else []
    out = tree if in_place else copy.deepcopy(tree)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = out
        problem = None
        for i, part in enumerate(parts):
            here = ".".join(parts[: i + 1])
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    problem = (
                        f"--set {path}: {here!r} must be an index 0..{len(node) - 1} into a "
                        f"list of {len(node)}"
                    )
                    break
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
                continue
            if not isinstance(node, dict):
                problem = f"--set {path}: {'.'.join(parts[:i])!r} is a value, not a table"
                break
            if part not in node and _creatable(parts, i):
                node[part] = value if last else {}
            if part not in node:
                allowed = ", ".join(sorted(node)) or "(none)"
                problem = f"--set {path}: unknown field {here!r}; allowed here: {allowed}"
                break
            if last:
                node[part] = value
            else:
                node = node[part]
        if problem:
            problems.append(problem)
    if problems and not collect:
        raise ConfigError(problems)
    return out


def _loc_to_path(loc: tuple) -> str:
    return ".".join(str(x) for x in loc if x not in ("function-after", "function-before"))


def _lookup(tree: Any, loc: tuple) -> Any:
    node = tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def explain(exc: ValidationError, source: str, tree: dict) -> list[str]:
    """Turn pydantic's errors into one line per problem: file: field: what is allowed."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _FieldProblems):
            for field, msg in inner.problems:
                lines.append(f"{source}: {field}: {msg}")
            continue
        path = _loc_to_path(loc) or "(top level)"
        etype = err["type"]
        if etype == "extra_forbidden":
            parent = _lookup(default_values(), loc[:-1])
            allowed = sorted(parent) if isinstance(parent, dict) else []
            if not loc[:-1]:
                allowed = sorted(set(allowed) | set(Scenario.model_fields))
            hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{source}: {path}: unknown field{hint}")
            continue
        if etype == "missing":
            lines.append(f"{source}: {path}: required field is missing")
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        given = err.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
        lines.append(f"{source}: {path}: {msg}{shown}")
    return lines


BUILTIN_STRATEGIES = Path(__file__).resolve().parents[1] / "policies" / "strategies.toml"


def builtin_strategy_tables() -> dict:
    """The built-in strategies as plain tables (sim/policies/strategies.toml)."""
    with BUILTIN_STRATEGIES.open("rb") as fh:
        return tomllib.load(fh)


# Each instrument's own parameter model (bounds, choices, cross-field rules) lives with its
# mechanism in sim.policies (sim/policies/registry.py). Config reaches it through this one
# documented plugin point, loaded on first use, as the model reaches strategies by name: so
# `povsim validate` and every load report a bad instrument parameter, whatever was imported first.
INSTRUMENT_PROVIDER = "sim.policies.registry"


def instrument_problems(instruments: dict, where: str) -> list[str]:
    """Problems with the instruments' parameters under their own models (``WHERE: instruments.
    NAME.FIELD: ...``), empty when they are fine."""
    registry = importlib.import_module(INSTRUMENT_PROVIDER)
    try:
        registry.validate_params(instruments, f"{where}: instruments")
    except ConfigError as exc:
        return exc.problems
    return []


@functools.cache
def _scenario_base() -> dict:
    """The defaults every scenario starts from, read once per process: the parameters' values,
    and the built-in strategies (a file's [strategies.NAME] table adds a strategy or changes
    fields of a built-in one, e.g. its phase_out_year)."""
    base = default_values()
    base["strategies"] = builtin_strategy_tables()
    base.setdefault("enterprises", [])
    return base


def build_scenario(
    data: dict, source: str = "<scenario>", overrides: dict[str, Any] | None = None
) -> Scenario:
    """Defaults + file data + overrides → validated :class:`Scenario` (or :class:`ConfigError`)."""
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a TOML table at the top level"])
    defaults = _scenario_base()  # shared: never modified (deep_merge copies it)
    merged = deep_merge(defaults, data)
    problems: list[str] = []
    if overrides:
        merged = apply_overrides(merged, overrides, defaults, problems, in_place=True)
    where = source if not overrides else f"{source} (with --set {', '.join(overrides)})"
    try:
        sc = Scenario.model_validate(merged)
    except ValidationError as exc:
        problems.extend(explain(exc, where, merged))
    # built-in strategies are checked against the scenario when chosen (get_strategy)
    own = set(data["strategies"]) if isinstance(data.get("strategies"), dict) else set()
    cross = population_problems(merged) + strategy_problems(merged, own)
    # the default schedule (support in years 1-5) simply ends with a shorter horizon; a year
    # that the file or an override sets explicitly must lie inside it
    explicit = set(data.get("programme", {}) if isinstance(data.get("programme"), dict) else {})
    explicit |= {k.split(".", 1)[1] for k in (overrides or {}) if k.startswith("programme.")}
    meta, programme = (merged.get(k) for k in ("meta", "programme"))
    years = meta.get("years") if isinstance(meta, dict) else None
    for key in ("start_year", "phase_out_year"):
        val = programme.get(key) if isinstance(programme, dict) else None
        if key in explicit and isinstance(val, int) and isinstance(years, int) and val > years:
            cross.append((f"programme.{key}", f"{val} is outside the horizon 0..{years}"))
    problems.extend(f"{where}: {field}: {msg}" for field, msg in cross)
    if not problems:  # the schema passed: now each instrument's own bounds and choices
        problems.extend(instrument_problems(merged["instruments"], where))
    if not problems and sc.roster is not None:
        sc.roster, roster_problem = resolve_roster(sc.roster, source)
        problems += [f"{where}: roster: {roster_problem}"] if roster_problem else []
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    sc._source = source
    sc._overrides = dict(overrides or {})
    sc._tree = merged
    return sc


def resolve_roster(roster: str, source: str) -> tuple[str, str | None]:
    """A roster path relative to the scenario file (or to the current folder when the scenario is
    not a file), made absolute; and why it cannot be a roster, or None."""
    base = Path(source).parent if Path(source).is_file() else Path.cwd()
    path = (base / roster).resolve()
    return str(path), None if path.is_file() else f"{path}: roster file not found"


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read a scenario TOML file, merge the defaults, apply dotted overrides and validate."""
    data = read_toml(path, "scenario file")
    return build_scenario(data, str(path), overrides)
