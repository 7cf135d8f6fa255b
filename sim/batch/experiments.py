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
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from sim.config import (
    ConfigError,
    Scenario,
    Strict,
    apply_overrides,
    build_scenario,
    deep_merge,
    read_toml,
)
from sim.config.files import check_name, read_input_text
from sim.config.parameters import default_values
from sim.policies import builtin_specs

STRATEGY = "strategy"  # the lever that picks the strategy: a special path, not a scenario field
DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")
TRUNCATE_SDS = 3.0  # default truncation of normal and lognormal draws, in (log-)sds
MAX_DESIGN_PROBLEMS = 5

# ---------------------------------------------------------------------------------------------
# Schema


class ExperimentMeta(Strict):
    name: Annotated[str, AfterValidator(check_name)]
    scenario: str
    years: Annotated[int, Field(ge=1, le=100)] | None = None
    description: str = ""


class Sampling(Strict):
    method: Literal["lhs", "sobol", "factorial"] = "lhs"
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seeds: Annotated[list[Annotated[int, Field(ge=0, lt=2**63)]], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _check(self) -> Sampling:
        if self.seeds is not None:
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds must be distinct")
            if self.replications is not None and self.replications != len(self.seeds):
                raise ValueError(
                    f"replications = {self.replications} but {len(self.seeds)} seeds are listed; "
                    "give one of the two, or make them agree"
                )
        if self.method == "sobol" and self.samples & (self.samples - 1):
            lo = 1 << (self.samples.bit_length() - 1)
            raise ValueError(
                f"sobol needs a power of two samples to keep its balance, got {self.samples}; "
                f"use {lo} or {lo * 2}"
            )
        return self

    @property
    def n_replications(self) -> int:
        if self.seeds is not None:
            return len(self.seeds)
        return 1 if self.replications is None else self.replications


class Outputs(Strict):
    households: bool = False
    flush_every: Annotated[int, Field(ge=1, le=100_000)] = 25


class ExperimentFile(Strict):
    experiment: ExperimentMeta
    levers: dict[str, Any] = Field(default_factory=dict)
    uncertainties: dict[str, Any] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    sampling: Sampling
    outputs: Outputs = Field(default_factory=Outputs)
    strategies: dict[str, dict[str, Any]] = Field(default_factory=dict)


# Distributions --------------------------------------------------------------------------------


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low = {self.low:g}, high = {self.high:g}")
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class Triangular(Strict):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low = {self.low:g}, high = {self.high:g}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode {self.mode:g} lies outside [low, high] = [{self.low:g}, {self.high:g}]"
            )
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def ppf(self, u: np.ndarray) -> np.ndarray:
        from scipy import stats  # lazily: batch workers never sample, and it costs 0.3 s

        width = self.high - self.low
        return stats.triang(c=(self.mode - self.low) / width, loc=self.low, scale=width).ppf(u)


class _Truncated(Strict):
    """Draws are truncated (not clipped) to [low, high], so no sample lands outside the range
    that was validated up front, and no probability mass piles up on the bounds."""

    low: float | None = None
    high: float | None = None

    def _frozen(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _default_bounds(self) -> tuple[float, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        lo, hi = self._default_bounds()
        return (lo if self.low is None else self.low, hi if self.high is None else self.high)

    def _check_bounds(self) -> None:
        lo, hi = self.bounds()
        if not lo < hi:
            raise ValueError(f"needs low < high, got low = {lo:g}, high = {hi:g}")
        d = self._frozen()
        if d.cdf(hi) - d.cdf(lo) < 1e-9:
            raise ValueError(f"[low, high] = [{lo:g}, {hi:g}] holds no probability mass")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        d = self._frozen()
        lo, hi = self.bounds()
        a, b = d.cdf(lo), d.cdf(hi)
        return np.clip(d.ppf(a + u * (b - a)), lo, hi)


class Normal(_Truncated):
    dist: Literal["normal"]
    mean: float
    sd: float

    @model_validator(mode="after")
    def _check(self) -> Normal:
        if not self.sd > 0:
            raise ValueError(f"needs sd > 0, got sd = {self.sd:g}")
        self._check_bounds()
        return self

    def _frozen(self):
        from scipy import stats

        return stats.norm(loc=self.mean, scale=self.sd)

    def _default_bounds(self) -> tuple[float, float]:
        return self.mean - TRUNCATE_SDS * self.sd, self.mean + TRUNCATE_SDS * self.sd


class LogNormal(_Truncated):
    """``mean`` is the mean of the value itself (not of its log); ``sigma`` is the log-sd."""

    dist: Literal["lognormal"]
    mean: float
    sigma: float

    @model_validator(mode="after")
    def _check(self) -> LogNormal:
        if not self.mean > 0:
            raise ValueError(f"needs mean > 0, got mean = {self.mean:g}")
        if not self.sigma > 0:
            raise ValueError(f"needs sigma > 0, got sigma = {self.sigma:g}")
        if self.low is not None and self.low < 0:
            raise ValueError(f"needs low >= 0 (a lognormal value is positive), got {self.low:g}")
        self._check_bounds()
        return self

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2.0

    def _frozen(self):
        from scipy import stats

        return stats.lognorm(s=self.sigma, scale=math.exp(self.mu))

    def _default_bounds(self) -> tuple[float, float]:
        return (
            math.exp(self.mu - TRUNCATE_SDS * self.sigma),
            math.exp(self.mu + TRUNCATE_SDS * self.sigma),
        )


class Values(Strict):
    """A discrete uncertainty: each listed value equally likely."""

    values: Annotated[list[Any], Field(min_length=1)]

    def bounds(self) -> list[Any]:
        return list(self.values)

    def pick(self, u: np.ndarray) -> list[Any]:
        k = len(self.values)
        idx = np.minimum((np.asarray(u) * k).astype(np.int64), k - 1)
        return [self.values[i] for i in idx]


DIST_MODELS: dict[str, type[BaseModel]] = {
    "uniform": Uniform,
    "triangular": Triangular,
    "normal": Normal,
    "lognormal": LogNormal,
}
Distribution = Uniform | Triangular | Normal | LogNormal | Values


# ---------------------------------------------------------------------------------------------
# The design


@dataclass(frozen=True)
class RunSpec:
    """One run: a lever combination, an uncertainty sample and a replication seed."""

    index: int
    run_id: str
    lever_index: int
    sample: int
    replication: int
    seed: int
    strategy: str
    levers: dict[str, Any]  # path → value, including ``strategy``
    uncertainties: dict[str, Any]  # path → sampled value
    overrides: dict[str, Any]  # everything applied to the scenario: constants, levers, samples


@dataclass
class Design:
    """A validated experiment: its file, its scenario (read once) and its run plan."""

    path: Path
    text: str
    sha256: str
    spec: ExperimentFile
    scenario_path: Path
    scenario_sha256: str
    scenario_data: dict
    base_overrides: dict[str, Any]
    levers: dict[str, list[Any]]
    uncertainties: dict[str, Distribution]
    lever_combos: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    seeds: list[int]
    _runs: list[RunSpec] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.experiment.name

    @property
    def total(self) -> int:
        return len(self.lever_combos) * len(self.samples) * len(self.seeds)

    def runs(self) -> list[RunSpec]:
        """Every run, in a fixed order: lever combination, then sample, then replication."""
        if self._runs is None:
            self._runs = list(_make_runs(self))
        return self._runs


def run_hash(strategy: str, seed: int, overrides: dict[str, Any]) -> str:
    """Short, stable hash of what a run computes (so an id never names two different runs)."""
    text = json.dumps(
        {"strategy": strategy, "seed": seed, "overrides": overrides},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _make_runs(design: Design):
    width = max(5, len(str(design.total - 1)))
    index = 0
    for li, combo in enumerate(design.lever_combos):
        strategy = str(combo.get(STRATEGY, "status_quo"))
        lever_over = {k: v for k, v in combo.items() if k != STRATEGY}
        for si, sample in enumerate(design.samples):
            overrides = {**design.base_overrides, **lever_over, **sample}
            for ri, seed in enumerate(design.seeds):
                run_id = f"{index:0{width}d}-{run_hash(strategy, seed, overrides)}"
                yield RunSpec(
                    index=index,
                    run_id=run_id,
                    lever_index=li,
                    sample=si,
                    replication=ri,
                    seed=seed,
                    strategy=strategy,
                    levers=dict(combo),
                    uncertainties=dict(sample),
                    overrides=overrides,
                )
                index += 1


def replication_seeds(master_seed: int, n: int) -> list[int]:
    """``n`` run seeds from the master seed (SeedSequence); the first k never change with n."""
    words = np.random.SeedSequence(master_seed, spawn_key=(1,)).generate_state(n, np.uint64)
    return [int(w >> np.uint64(1)) for w in words]  # 63 bits: fits int64 columns


def sample_uncertainties(
    uncertainties: dict[str, Distribution],
    method: str,
    n: int,
    master_seed: int,
    integer_paths: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Uncertainty samples: unit-cube points (LHS / Sobol' / factorial) through inverse CDFs."""
    names = list(uncertainties)
    if not names:
        return [{}]
    dists = [uncertainties[k] for k in names]
    if method == "factorial":
        mid = (np.arange(n) + 0.5) / n  # continuous distributions: n levels at mid-quantiles
        axes = [d.values if isinstance(d, Values) else list(d.ppf(mid)) for d in dists]
        columns = [list(col) for col in zip(*itertools.product(*axes), strict=True)]
    else:
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence(master_seed, spawn_key=(0,)))
        if method == "lhs":
            engine = qmc.LatinHypercube(d=len(names), scramble=True, rng=rng)
        else:
            engine = qmc.Sobol(d=len(names), scramble=True, rng=rng)
        unit = engine.random(n)
        columns = [
            d.pick(unit[:, j]) if isinstance(d, Values) else list(d.ppf(unit[:, j]))
            for j, d in enumerate(dists)
        ]
    out = []
    for row in zip(*columns, strict=True):
        sample = {}
        for name, value in zip(names, row, strict=True):
            sample[name] = _plain(value, name in integer_paths)
        out.append(sample)
    return out


def _plain(value: Any, integer: bool = False) -> Any:
    """numpy scalars → Python values (JSON-able, hash-stable); integer fields rounded."""
    if isinstance(value, np.generic):
        value = value.item()
    if integer and isinstance(value, float):
        return int(round(value))
    return value


# ---------------------------------------------------------------------------------------------
# Loading and validation


def is_experiment_file(path: str | Path) -> bool:
    """An experiment file is a TOML file with a top-level ``[experiment]`` table."""
    data = read_toml(path, "file")
    return isinstance(data.get("experiment"), dict)


def _is_dist(table: dict) -> bool:
    return "dist" in table or "values" in table


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
    try:
        spec = ExperimentFile.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, exp)
        raw = data.get("uncertainties")
        if isinstance(raw, dict):  # distributions can be checked without the rest
            for p, d in _flatten(raw, leaf=_is_dist).items():
                problems.extend(_parse_distribution(d, f"{exp}: uncertainties.{p}")[1])
        raise ConfigError(problems) from None

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
    base: dict[str, Any] = {}
    if spec.experiment.years is not None:
        base["meta.years"] = spec.experiment.years
    base.update(const)
    reference = {**base, **{p: v[0] for p, v in levers.items() if v and p != STRATEGY}}
    checker = _Checker(scenario_data, source, reference)
    scenario, errs = checker.check({})
    if errs:
        where = f"{exp}: scenario {shown}"
        if len(reference) > len(base):
            where += " with every lever at its first value"
        raise ConfigError([f"{where}: {e}" for e in errs])

    # 3. every lever value, and the extreme values of every uncertainty ------------------------
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
    bad: list[str] = []
    for combo in combos:
        lever_over = {k: v for k, v in combo.items() if k != STRATEGY}
        for sample in samples:
            _, errs = checker.check({**base, **lever_over, **sample})
            if errs:
                point = ", ".join(f"{k} = {v!r}" for k, v in {**combo, **sample}.items())
                bad.append(f"{exp}: design point ({point}): {'; '.join(errs)}")
    if bad:
        more = len(bad) - MAX_DESIGN_PROBLEMS
        tail = [f"{exp}: ... and {more} more design points"] if more > 0 else []
        raise ConfigError(bad[:MAX_DESIGN_PROBLEMS] + tail)

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


def _parse_distribution(raw: Any, where: str) -> tuple[Distribution | None, list[str]]:
    allowed = f"{', '.join(DISTRIBUTIONS)} (or values = [...])"
    if not isinstance(raw, dict):
        return None, [
            f'{where}: expected a table such as {{ dist = "uniform", low = 0.1, high = 0.2 }} '
            f"or {{ values = [...] }}, got {raw!r}"
        ]
    if "values" in raw and "dist" not in raw:
        model: type[BaseModel] = Values
    elif isinstance(raw.get("dist"), str) and raw["dist"] in DIST_MODELS:
        model = DIST_MODELS[raw["dist"]]
    elif "dist" in raw:
        return None, [f"{where}: unknown dist {raw['dist']!r}; allowed: {allowed}"]
    else:
        return None, [f"{where}: give dist = one of {allowed}"]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key for dist {raw.get('dist', 'values')!r}; allowed: " + ", ".join(
                    model.model_fields
                )
            elif err["type"] == "missing":
                msg = "required key is missing"
            out.append(f"{where}: {loc + ': ' if loc else ''}{msg}")
        return None, out
