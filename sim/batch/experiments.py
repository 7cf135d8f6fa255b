"""Experiment files: levers × uncertainty samples × replication seeds → run specs (docs/batch.md).

An experiment file names a scenario and crosses the planner's **levers** (full factorial) with
samples of the **uncertainties** (Latin hypercube, Sobol' or full factorial) and with replication
seeds. The seeds are the same for every lever combination and every uncertainty sample, so
strategies are compared on the same households and the same shocks (paired comparisons).

Everything is checked before anything runs: every lever value and the extreme values of every
uncertainty are applied to the scenario through :func:`sim.config.build_scenario`, and so is
every design point (lever combination × uncertainty sample), so a batch never discovers a bad
parameter half-way through. Problems come back as one :class:`ConfigError` line each, naming
the file and the field, in the style of scenario files.

Here: reading and checking the file (``load_experiment``); the distributions are in
``sim.batch.distributions``, the run specs and samples in ``sim.batch.design``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from sim.batch.design import (
    STRATEGY,
    Design,
    ExperimentFile,
    _plain,
    replication_seeds,
    sample_uncertainties,
)
from sim.batch.distributions import Distribution, Values, _is_dist, _parse_distribution
from sim.config import (
    ConfigError,
    Scenario,
    apply_overrides,
    build_scenario,
    deep_merge,
    read_toml,
)
from sim.config.files import read_input_text
from sim.config.parameters import default_values
from sim.policies import builtin_specs

MAX_DESIGN_PROBLEMS = 5


# ---------------------------------------------------------------------------------------------
# Loading and validation


def is_experiment_file(path: str | Path) -> bool:
    """An experiment file is a TOML file with a top-level ``[experiment]`` table."""
    data = read_toml(path, "file")
    return isinstance(data.get("experiment"), dict)


def _flatten(tree: dict, leaf, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``, so quoted and bare dotted TOML keys both work."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not leaf(value):
            out.update(_flatten(value, leaf, path + "."))
        else:
            out[path] = value
    return out


def _schema_problems(exc: ValidationError, source: str) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join(str(x) for x in loc) or "(top level)"
        etype = err["type"]
        if etype == "extra_forbidden":
            model = _model_at(ExperimentFile, loc[:-1])
            allowed = ", ".join(model.model_fields) if model else ""
            lines.append(f"{source}: {path}: unknown field; allowed here: {allowed}")
        elif etype == "missing":
            lines.append(f"{source}: {path}: required field is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            given = err.get("input")
            shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
            lines.append(f"{source}: {path}: {msg}{shown}")
    return lines


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        inner = _unwrap(info.annotation)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return None
        model = inner
    return model


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` to the underlying type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def scenario_field_type(path: str) -> Any:
    """The schema type at a dotted scenario path (``None`` if unknown); used to round samples of
    integer fields such as ``shocks.enterprise.reentry_years``."""
    tp: Any = Scenario
    for part in path.split("."):
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(part)
            if info is None:
                return None
            tp = info.annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


_SET_PREFIX = re.compile(r"^--set [^:]+: ")


class _Checker:
    """Applies overrides over a reference point and drops config's ``--set`` wording."""

    def __init__(self, data: dict, source: str, reference: dict[str, Any]):
        self.data, self.source, self.reference = data, source, reference
        self._strip = re.compile(
            r"^(--set [^:]+|" + re.escape(source) + r"( \(with --set .*?\))?): "
        )

    def check(self, overrides: dict[str, Any]) -> tuple[Scenario | None, list[str]]:
        try:
            return build_scenario(self.data, self.source, {**self.reference, **overrides}), []
        except ConfigError as exc:
            return None, [self._strip.sub("", p) for p in exc.problems]


def count_runs(
    spec: ExperimentFile, levers: dict[str, list[Any]], uncertainties_raw: dict[str, Any]
) -> tuple[int, str]:
    """The number of runs of a design, by arithmetic (nothing sampled or built), and how it
    comes about: lever combinations x uncertainty samples x seeds."""
    combos = math.prod(len(v) for v in levers.values())
    sampling = spec.sampling
    if not uncertainties_raw:
        samples = 1
    elif sampling.method == "factorial":
        samples = math.prod(
            len(d["values"])
            if isinstance(d, dict) and "dist" not in d and isinstance(d.get("values"), list)
            else sampling.samples
            for d in uncertainties_raw.values()
        )
    else:
        samples = sampling.samples
    seeds = sampling.n_replications
    total = combos * samples * seeds
    return total, f"{combos:,} lever combinations x {samples:,} samples x {seeds:,} seeds"


def load_experiment(
    path: str | Path, constants: dict[str, Any] | None = None, max_runs: int | None = None
) -> Design:
    """Read and validate an experiment file; raise :class:`ConfigError` listing every problem.

    ``constants`` (e.g. ``povsim validate --set``) are added to the file's ``[constants]``.
    A design of more than ``max_runs`` runs (default :data:`sim.batch.limits.MAX_RUNS`) is refused
    before anything is sampled: its size is counted first.
    """
    from sim.batch.limits import MAX_RUNS, check_runs

    path = Path(path)
    exp = str(path)
    data = read_toml(path, "experiment file")
    text = read_input_text(path, "experiment file")
    spec = _read_spec(data, exp)
    scenario_path, scenario_data, source = _scenario_of(spec, path, exp)
    levers = {
        p: (v if isinstance(v, list) else [v])
        for p, v in _flatten(spec.levers, leaf=lambda v: False).items()
    }
    uncertainties_raw = _flatten(spec.uncertainties, leaf=_is_dist)
    const = _flatten(spec.constants, leaf=lambda v: False)
    const.update(constants or {})

    # 0. the size of the design, by arithmetic, before anything is checked or sampled ----------
    total, breakdown = count_runs(spec, levers, uncertainties_raw)
    too_many = check_runs(total, breakdown, exp, MAX_RUNS if max_runs is None else max_runs)
    if too_many:
        raise ConfigError(too_many)

    # 1. every path must exist in the scenario (checked without validating values) -------------
    problems = _path_problems(scenario_data, exp, const, levers, uncertainties_raw)
    if problems:
        raise ConfigError(problems)

    # 2. the reference point: constants, the horizon and every lever at its first value --------
    base, checker = _reference_point(spec, const, levers, scenario_data, source, exp)

    # 3. every lever value, and the extreme values of every uncertainty ------------------------
    dists, integer_paths = _check_levers_and_uncertainties(checker, exp, levers, uncertainties_raw)

    # 4. the design, and every design point, so that no combination fails mid-batch ------------
    sampling = spec.sampling  # no uncertainties: one (empty) sample, whatever `samples` says
    samples = sample_uncertainties(
        dists, sampling.method, sampling.samples, sampling.seed, frozenset(integer_paths)
    )
    combos = [
        dict(zip(levers, combo, strict=True)) for combo in itertools.product(*levers.values())
    ]
    seeds = (
        list(sampling.seeds)
        if sampling.seeds is not None
        else replication_seeds(sampling.seed, sampling.n_replications)
    )
    _check_design_points(checker, exp, base, combos, samples)
    return Design(
        path=path,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        spec=spec,
        scenario_path=scenario_path,
        scenario_sha256=hashlib.sha256(scenario_path.read_bytes()).hexdigest(),
        scenario_data=scenario_data,
        base_overrides=base,
        levers=levers,
        uncertainties=dists,
        lever_combos=combos,
        samples=samples,
        seeds=seeds,
    )


def _read_spec(data: dict, exp: str) -> ExperimentFile:
    """The file's tables, validated by their schema (distributions checked on their own too)."""
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, exp)
        raw = data.get("uncertainties")
        if isinstance(raw, dict):  # distributions can be checked without the rest
            for p, d in _flatten(raw, leaf=_is_dist).items():
                problems.extend(_parse_distribution(d, f"{exp}: uncertainties.{p}")[1])
        raise ConfigError(problems) from None


def _scenario_of(spec: ExperimentFile, path: Path, exp: str) -> tuple[Path, dict, str]:
    """The scenario file (relative to the experiment file), its data with the experiment's
    ``[strategies]`` merged in, and how to name it in messages."""
    scenario_path = (path.parent / spec.experiment.scenario).resolve()
    if not scenario_path.is_file():
        raise ConfigError(
            [
                f"{exp}: experiment.scenario: {spec.experiment.scenario!r} not found "
                f"(looked for {scenario_path}; the path is relative to the experiment file)"
            ]
        )
    scenario_data = read_toml(scenario_path, "scenario file")
    if spec.strategies:
        merged = dict(scenario_data.get("strategies", {}))
        merged.update(spec.strategies)
        scenario_data = {**scenario_data, "strategies": merged}
    shown = spec.experiment.scenario
    source = shown if not spec.strategies else f"{shown} + [strategies] of {exp}"
    return scenario_path, scenario_data, source


def _reference_point(spec, const, levers, scenario_data, source, exp) -> tuple[dict, _Checker]:
    """The base overrides (horizon and constants) and a checker built at the reference point,
    every lever at its first value; ConfigError if that point is not a valid scenario."""
    base: dict[str, Any] = {}
    if spec.experiment.years is not None:
        base["meta.years"] = spec.experiment.years
    base.update(const)
    reference = {**base, **{p: v[0] for p, v in levers.items() if v and p != STRATEGY}}
    checker = _Checker(scenario_data, source, reference)
    _, errs = checker.check({})
    if errs:
        where = f"{exp}: scenario {spec.experiment.scenario}"
        if len(reference) > len(base):
            where += " with every lever at its first value"
        raise ConfigError([f"{where}: {e}" for e in errs])
    return base, checker


def _check_levers_and_uncertainties(checker, exp, levers, uncertainties_raw):
    """Every lever value and the extreme values of every uncertainty, applied to the scenario;
    the distributions and the integer-valued paths, or ConfigError."""
    problems: list[str] = []
    for p, values in levers.items():
        where = f"{exp}: levers.{p}"
        if not values:
            problems.append(f"{where}: needs at least one value")
            continue
        keys = [json.dumps(v, sort_keys=True, default=str) for v in values]
        if len(set(keys)) < len(keys):
            problems.append(f"{where}: a value is listed twice")
        if p != STRATEGY:  # strategy names were checked with the paths
            problems.extend(_check_values(checker, where, p, values))

    dists: dict[str, Distribution] = {}
    integer_paths = set()
    for p, raw in uncertainties_raw.items():
        where = f"{exp}: uncertainties.{p}"
        dist, dist_problems = _parse_distribution(raw, where)
        if dist is None:
            problems.extend(dist_problems)
            continue
        dists[p] = dist
        integer = scenario_field_type(p) is int and not isinstance(dist, Values)
        if integer:
            integer_paths.add(p)
        label = "value" if isinstance(dist, Values) else "extreme value"
        extremes = [_plain(v, integer) for v in dist.bounds()]
        problems.extend(_check_values(checker, where, p, extremes, label))
    if problems:
        raise ConfigError(problems)
    return dists, integer_paths


def _check_design_points(checker, exp, base, combos, samples) -> None:
    """Every lever combination x uncertainty sample is a valid scenario, or ConfigError."""
    bad: list[str] = []
    seen: set[str] = set()  # combinations that differ only by strategy make the same scenario
    for combo in combos:
        lever_over = {k: v for k, v in combo.items() if k != STRATEGY}
        key = json.dumps(lever_over, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        for sample in samples:
            _, errs = checker.check({**base, **lever_over, **sample})
            if errs:
                point = ", ".join(f"{k} = {v!r}" for k, v in {**combo, **sample}.items())
                bad.append(f"{exp}: design point ({point}): {'; '.join(errs)}")
    if bad:
        more = len(bad) - MAX_DESIGN_PROBLEMS
        tail = [f"{exp}: ... and {more} more design points"] if more > 0 else []
        raise ConfigError(bad[:MAX_DESIGN_PROBLEMS] + tail)


def _path_problems(
    scenario_data: dict, exp: str, const: dict, levers: dict, uncertainties: dict
) -> list[str]:
    """Unknown paths, reported per section before any value is looked at."""
    defaults = default_values()
    tree = deep_merge(defaults, scenario_data)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for section, paths in (
        ("constants", const),
        ("levers", levers),
        ("uncertainties", uncertainties),
    ):
        for p in paths:
            where = f"{exp}: {section}.{p}"
            if p in seen:
                problems.append(f"{where}: also set under [{seen[p]}]; keep one")
                continue
            seen[p] = section
            if p == STRATEGY:
                if section != "levers":
                    problems.append(f"{where}: the strategy is a lever; put it under [levers]")
                    continue
                known = sorted(set(builtin_specs()) | set(scenario_data.get("strategies", {})))
                problems.extend(
                    f"{where}: unknown strategy {v!r}; allowed: {', '.join(known)}"
                    for v in paths[p]
                    if not isinstance(v, str) or v not in known
                )
                continue
            found: list[str] = []
            apply_overrides(tree, {p: None}, defaults, found)
            problems.extend(f"{where}: {_SET_PREFIX.sub('', f)}" for f in found)
    return problems


def _check_values(
    checker: _Checker, where: str, p: str, values: list[Any], label: str = "value"
) -> list[str]:
    """Apply each value alone; an unknown path is reported once, not once per value."""
    problems: list[str] = []
    for v in values:
        _, errs = checker.check({p: v})
        if not errs:
            continue
        if any("unknown field" in e for e in errs):
            return [f"{where}: {e}" for e in errs]
        problems.extend(f"{where}: {label} {v!r}: {e}" for e in errs)
    return problems
