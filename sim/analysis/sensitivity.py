"""Global sensitivity analysis of an experiment's factors: Morris screening and Sobol' indices
(SALib), run through the batch runner, with the model's own randomness kept apart (issue 9).

The experiment file's uncertainties (and, on request, its numeric levers) are the factors. SALib
draws the design matrix; each row becomes one uncertainty sample of a batch design, which the
batch runner runs under every strategy of the experiment and every replication seed (the same
seeds for every row and every strategy, so strategies can be paired and so that a factor that
changes nothing changes no number at all). The analysis works on the **seed mean** of each
row and reports separately how much of an outcome's variance is seed noise, so that noise is
never credited to a factor.

Outputs, under ``RESULTS/sensitivity/`` (the batch itself is ``RESULTS/``): ``indices.csv``
(outcome, factor, method, index, value, conf_low, conf_high), ``noise.csv``,
``noise_factors.csv``, ``factors.csv``, ``samples.csv``, ``design.json`` and
``figures/<method>_<outcome>.png``. ``povsim report`` reads ``indices.csv`` and the figures;
keep that contract. See docs/sensitivity.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.outcomes import paired_differences, parse_outcome, run_outcomes
from sim.batch.experiments import STRATEGY, Design, Values, load_experiment, scenario_field_type
from sim.batch.limits import MAX_RUNS
from sim.config import ConfigError, build_scenario
from sim.config.files import BadInput, read_json_object, write_bytes_atomic

METHODS = ("morris", "sobol")
INPUTS = ("range", "distribution")
DEFAULT_LEVELS = 4  # Morris grid levels (even, as SALib wants)
CONF_LEVEL = 0.95
RESAMPLES = 1000  # bootstrap resamples for every confidence interval
MORRIS_POOL = 100  # Campolongo: the r most spread trajectories of max(100, 2 r) candidates
# SALib's trajectory selection grows steeply with r (1.4 s at 30, 16 s at 50, hours at 100):
# above this many trajectories the design is SALib's plain random trajectories (a note says so)
MORRIS_OPTIMISE_MAX = 30
SENSITIVITY = "sensitivity"
FIGURES = "figures"
INDEX_COLUMNS = ["outcome", "factor", "method", "index", "value", "conf_low", "conf_high"]
NOISE_COLUMNS = [
    "outcome",
    "method",
    "points",
    "replications",
    "mean",
    "total_var",
    "within_var",
    "noise_share",
    "common_share",
    "mean_var",
    "noise_share_of_mean",
    "noise_floor",
    "noise_floor_index",
]
FLOOR_COLUMNS = ["outcome", "factor", "method", "index", "noise_floor"]
MAIN_INDEX = {"morris": "mu_star", "sobol": "ST"}
SEED_STREAMS = {"sample": 2, "bootstrap": 3}  # spawn keys 0 and 1 are the batch's own


class AnalysisError(ValueError):
    """An outcome that cannot be analysed (e.g. undefined at some design points)."""


# ---------------------------------------------------------------------------------------------
# Factors


@dataclass(frozen=True)
class Factor:
    """One input of the analysis: a dotted scenario path varied over ``[low, high]``.

    ``kind`` says how a point of the range becomes the value given to the model: ``continuous``
    as is; ``integer`` rounded (integer scenario fields); ``values`` the nearest listed value (a
    numeric ``values = [...]`` list: min..max as a continuous factor, snapped to the list);
    ``choice`` the listed value at the rounded index (a non-numeric list; range 0..k-1).
    """

    name: str
    low: float
    high: float
    kind: str = "continuous"
    values: tuple[Any, ...] = ()
    source: str = "uncertainty"  # uncertainty | lever
    dist: Any = None  # the experiment's distribution, for inputs = "distribution"

    def value(self, x: float, inputs: str = "range") -> Any:
        """The model value for the design-matrix entry ``x`` (in ``[low, high]``)."""
        if inputs == "distribution" and self.dist is not None:
            u = min(max((x - self.low) / (self.high - self.low), 0.0), 1.0)
            if isinstance(self.dist, Values):
                return _plain(self.dist.pick(np.array([u]))[0])
            x = float(self.dist.ppf(np.array([u]))[0])
        if self.kind == "choice":
            return self.values[int(np.clip(np.floor(x + 0.5), 0, len(self.values) - 1))]
        if self.kind == "values":
            listed = np.asarray(self.values, dtype=float)
            return _plain(self.values[int(np.argmin(np.abs(listed - x)))])
        if self.kind == "integer":
            return int(np.floor(x + 0.5))
        return float(x)

    def describe(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.values)} (index 0..{len(self.values) - 1}, rounded)"
        if self.kind == "values":
            return f"{self.low:g}..{self.high:g}, snapped to the nearest of {list(self.values)}"
        rounded = ", rounded to an integer" if self.kind == "integer" else ""
        return f"{self.low:g}..{self.high:g}{rounded}"


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def factor_from_distribution(path: str, dist: Any) -> Factor | None:
    """Bounds of an experiment distribution: uniform and triangular low/high; normal and
    lognormal their truncation bounds (default mean ± 3 sd, exp(mu ± 3 sigma)); a values list
    its min..max (``None`` for a single value: nothing to vary)."""
    if isinstance(dist, Values):
        values = tuple(dist.values)
        if len(values) < 2:
            return None
        if all(_is_number(v) for v in values):
            return Factor(path, float(min(values)), float(max(values)), "values", values, dist=dist)
        return Factor(path, 0.0, float(len(values) - 1), "choice", values, dist=dist)
    low, high = dist.bounds()
    kind = "integer" if scenario_field_type(path) is int else "continuous"
    return Factor(path, float(low), float(high), kind, dist=dist)


def lever_factor(path: str, values: list[Any]) -> Factor | None:
    """A numeric lever with several values: a continuous factor over min..max (integer fields
    rounded); anything else is not a factor."""
    if len(values) < 2 or not all(_is_number(v) for v in values):
        return None
    kind = "integer" if scenario_field_type(path) is int else "continuous"
    return Factor(path, float(min(values)), float(max(values)), kind, source="lever")


# ---------------------------------------------------------------------------------------------
# The SALib design


@dataclass
class Plan:
    """SALib's design matrix ``X`` (factor units, one row per design point) and its values."""

    method: str
    factors: list[Factor]
    n: int  # Morris trajectories, or Sobol' base samples
    seed: int
    levels: int
    inputs: str
    X: np.ndarray
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problem(self) -> dict:
        return problem_of(self.factors)

    @property
    def points(self) -> int:
        return len(self.X)

    @property
    def delta(self) -> float:
        """Morris step in unit-cube terms (elementary effects are divided by it)."""
        return self.levels / (2.0 * (self.levels - 1))


def problem_of(factors: Sequence[Factor]) -> dict:
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


def make_plan(
    factors: Sequence[Factor],
    method: str,
    n: int,
    seed: int,
    levels: int = DEFAULT_LEVELS,
    inputs: str = "range",
) -> Plan:
    """Draw the design with SALib: Morris trajectories (Campolongo's most spread ``n`` out of
    ``max(100, 2 n)`` candidates) or Sobol' points for first- and total-order indices."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    factors = list(factors)
    if not factors:
        raise ConfigError(["sensitivity: no factors to vary (the experiment has no uncertainties)"])
    problems = design_problems(method, n, levels, inputs)
    if problems:
        raise ConfigError(problems)
    problem = problem_of(factors)
    if method == "morris" and n <= MORRIS_OPTIMISE_MAX:
        X = morris_sample.sample(
            problem, max(MORRIS_POOL, 2 * n), num_levels=levels, optimal_trajectories=n, seed=seed
        )
    elif method == "morris":
        X = morris_sample.sample(problem, n, num_levels=levels, seed=seed)
    else:
        X = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    X = np.asarray(X, dtype=float)
    rows = [
        {f.name: f.value(float(x), inputs) for f, x in zip(factors, row, strict=True)} for row in X
    ]
    return Plan(method, factors, n, seed, levels, inputs, X, rows)


def design_problems(
    method: str, n: int, levels: int = DEFAULT_LEVELS, inputs: str = "range", what: str = ""
) -> list[str]:
    """Problems with the design options, found by arithmetic alone (nothing is sampled).
    ``what`` names where ``n`` came from (default ``--samples N``)."""
    if method not in METHODS:
        return [f"--method {method}: allowed: {', '.join(METHODS)}"]
    problems = []
    if inputs not in INPUTS:
        problems.append(f"--inputs {inputs}: allowed: {', '.join(INPUTS)}")
    what = what or f"--samples {n}"
    if isinstance(n, bool) or not isinstance(n, int):
        problems.append(f"{what}: must be a whole number")
    elif method == "morris":
        if n < 2:
            problems.append(f"{what}: Morris needs at least 2 trajectories")
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
            problems.append(
                f"--levels {levels}: Morris needs an even number of levels >= 2 (e.g. 4)"
            )
    elif n < 2 or n & (n - 1):
        lo = 1 << max(n.bit_length() - 1, 1)
        problems.append(
            f"{what}: Sobol' needs a power of two >= 2 base samples, e.g. {lo} or {lo * 2}"
        )
    return problems


def design_points(method: str, n: int, k: int) -> int:
    """Design points of ``n`` Morris trajectories (n (k + 1)) or Sobol' base samples without
    second order (Saltelli 2010: n (k + 2)), for ``k`` factors."""
    return n * (k + 1) if method == "morris" else n * (k + 2)


def size_problems(
    method: str, n: int, k: int, strategies: int, seeds: int, max_runs: int | None, what: str = ""
) -> list[str]:
    """The study's run count against ``max_runs``, by arithmetic, before anything is sampled."""
    if max_runs is None:
        return []
    runs = design_points(method, n, k) * strategies * seeds
    if runs <= max_runs:
        return []
    per = design_points(method, 1, k) * strategies * seeds
    most = max_runs // per
    if method == "sobol" and most >= 1:
        most = 1 << (most.bit_length() - 1)  # the largest power of two that fits
    formula = f"(k + {1 if method == 'morris' else 2})"
    what = what or f"--samples {n}"
    hint = f"use fewer samples (at most {most:,} here)" if most >= 2 else "vary fewer --factors"
    return [
        f"{what}: {method} with {k} factors is {n:,} x {formula} = "
        f"{design_points(method, n, k):,} design points x {strategies} "
        f"strateg{'ies' if strategies != 1 else 'y'} x {seeds} seed{'s' if seeds != 1 else ''} "
        f"= {runs:,} runs, more than --max-runs {max_runs:,}; {hint}, or raise --max-runs"
    ]


def derived_seed(master_seed: int, stream: str) -> int:
    """A non-zero 32-bit seed for SALib from the experiment's master seed (SALib ignores 0)."""
    key = (SEED_STREAMS[stream],)
    return int(np.random.SeedSequence(master_seed, spawn_key=key).generate_state(1)[0]) | 1


def evaluate_function(
    plan: Plan, fn: Callable[[dict[str, Any], int], float], seeds: Sequence[int]
) -> np.ndarray:
    """``Y[point, replication] = fn(values, seed)``: the model-free path, for checks."""
    return np.array([[fn(row, s) for s in seeds] for row in plan.rows], dtype=float)


# ---------------------------------------------------------------------------------------------
# Analysis


def elementary_effects(plan: Plan, y: np.ndarray) -> np.ndarray:
    """Morris elementary effects ``EE[trajectory, factor]`` = Δy / Δu, with u the factor's
    position in its range (SALib's unscaled convention: μ* is in outcome units per range)."""
    k = len(plan.factors)
    r = plan.points // (k + 1)
    width = np.array([f.high - f.low for f in plan.factors])
    X = plan.X.reshape(r, k + 1, k)
    yt = np.asarray(y, dtype=float).reshape(r, k + 1)
    du = np.diff(X, axis=1) / width  # [r, k steps, k factors]; one non-zero per step
    moved = np.argmax(np.abs(du), axis=2)
    step = np.take_along_axis(du, moved[..., None], axis=2)[..., 0]
    ee = np.full((r, k), np.nan)
    rows = np.repeat(np.arange(r)[:, None], k, axis=1)
    ee[rows, moved] = np.diff(yt, axis=1) / step
    return ee


def _sobol_blocks(plan: Plan, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SALib's Sobol' layout without second order: per base sample A, AB_1..AB_k, B."""
    k = len(plan.factors)
    blocks = np.asarray(y, dtype=float).reshape(-1, k + 2)
    return blocks[:, 0], blocks[:, 1 : k + 1], blocks[:, k + 1]


def factor_noise(Y: np.ndarray, plan: Plan) -> np.ndarray:
    """Per factor, the main index that seed noise alone would give it, estimated from how the
    factor's contrasts (Morris: elementary effects; Sobol': A − AB_j) vary across seeds. The
    seeds are common to every design point, so this is the noise that is really left in the
    contrasts: exactly 0 for a factor the model ignores."""
    Y = np.asarray(Y, dtype=float)
    reps = Y.shape[1]
    k = len(plan.factors)
    if reps < 2:
        return np.full(k, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if plan.method == "morris":
            ee = np.stack([elementary_effects(plan, Y[:, i]) for i in range(reps)])
            var = np.nanmean(np.nanvar(ee, axis=0, ddof=1), axis=0) / reps
            return np.sqrt(2.0 / np.pi) * np.sqrt(var)  # E|N(0, var)|
        contrasts = []
        for i in range(reps):
            a, ab, _ = _sobol_blocks(plan, Y[:, i])
            contrasts.append(a[:, None] - ab)
        var = np.nanmean(np.nanvar(np.stack(contrasts), axis=0, ddof=1), axis=0) / reps
        a, _, b = _sobol_blocks(plan, np.nanmean(Y, axis=1))
        total = np.var(np.r_[a, b])
        return 0.5 * var / total if total > 0 else np.full(k, np.nan)  # Jansen's ST estimator


def noise_summary(Y: np.ndarray, plan: Plan) -> dict[str, float]:
    """How much of the variance of an outcome is seed noise, and how much of that reaches the
    indices: a two-way analysis of variance of ``Y[point, replication]`` (points complete in
    every seed), Y = grand + point effect + seed effect + residual.

    ``within_var`` = seed + residual variance is the variance across seeds at one point, and
    ``noise_share`` = within / total (point + seed + residual) the share of the run-to-run
    variance that is seed noise. ``common_share`` is the part of the seed noise that is the same
    at every point (a seed's households and shocks shifting every outcome alike): the common
    seeds cancel it from every comparison. What is left, the residual, is the noise in the
    analysed seed means: ``noise_share_of_mean`` = (residual / replications) / ``mean_var``
    (the variance of the seed means across points). ``noise_floor`` is the largest per-factor
    floor (:func:`factor_noise`), in units of the method's main index (μ* or ST).
    """
    Y = np.asarray(Y, dtype=float)
    n_points, reps = Y.shape
    full = Y[np.isfinite(Y).all(axis=1)]
    n = len(full)
    grand = float(full.mean()) if n else math.nan
    nan = math.nan
    point = seed = resid = nan
    if n >= 2 and reps >= 2:
        rows = full.mean(axis=1, keepdims=True)
        cols = full.mean(axis=0, keepdims=True)
        ms_resid = float(((full - rows - cols + grand) ** 2).sum()) / ((n - 1) * (reps - 1))
        ms_points = reps * float(np.var(rows, ddof=1))
        ms_seeds = n * float(np.var(cols, ddof=1))
        resid = ms_resid
        seed = max((ms_seeds - ms_resid) / n, 0.0)
        point = max((ms_points - ms_resid) / reps, 0.0)
    elif n >= 2:
        point = float(np.var(full[:, 0], ddof=1))
    within = seed + resid
    total = point + within if np.isfinite(within) else point
    mean_var = point + resid / reps if np.isfinite(resid) else point
    floors = factor_noise(Y, plan)
    return {
        "points": int(n_points),
        "replications": int(reps),
        "mean": grand,
        "total_var": total,
        "within_var": within,
        "noise_share": _ratio(within, total),
        "common_share": _ratio(seed, within),
        "mean_var": mean_var,
        "noise_share_of_mean": _ratio(resid / reps, mean_var),
        "noise_floor": float(np.nanmax(floors)) if np.isfinite(floors).any() else nan,
        "noise_floor_index": MAIN_INDEX[plan.method],
        "factor_floors": floors,
    }


def _ratio(a: float, b: float) -> float:
    """a / b for variances: 0 when both are 0 (a constant outcome has no noise)."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return math.nan
    if b > 0:
        return a / b
    return 0.0 if a == 0 else math.nan


def analyse(
    plan: Plan,
    Y: np.ndarray,
    outcome: str,
    conf_level: float = CONF_LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 1,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Indices of one outcome from ``Y[point, replication]``: SALib on the seed means, plus the
    seed-noise summary (with per-factor floors under ``factor_floors``). Raises
    :class:`AnalysisError` if a design point has no value at all."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[0] != plan.points:
        raise AnalysisError(f"{outcome}: {Y.shape[0]} values for {plan.points} design points")
    with np.errstate(invalid="ignore"):
        y = np.nanmean(Y, axis=1)
    missing = np.flatnonzero(~np.isfinite(y))
    if missing.size:
        raise AnalysisError(
            f"{outcome}: no value at {missing.size} of {plan.points} design points (e.g. point "
            f"{int(missing[0])}): the runs failed there or the outcome is undefined (NaN)"
        )
    noise = {"outcome": outcome, "method": plan.method, **noise_summary(Y, plan)}
    if plan.method == "morris":
        rows = _morris(plan, y, conf_level, resamples, seed)
    else:
        rows = _sobol(plan, y, conf_level, resamples, seed)
    df = pd.DataFrame(rows, columns=["factor", "index", "value", "conf_low", "conf_high"])
    df.insert(0, "outcome", outcome)
    df.insert(2, "method", plan.method)
    return df[INDEX_COLUMNS], noise


def _morris(plan: Plan, y: np.ndarray, conf: float, resamples: int, seed: int) -> list[tuple]:
    """SALib's μ*, μ, σ and its bootstrap interval of μ*; intervals for μ and σ from a
    bootstrap over trajectories, reported the same way (value ± z·sd)."""
    from SALib.analyze import morris
    from scipy.stats import norm

    si = morris.analyze(
        plan.problem,
        plan.X,
        y,
        num_resamples=resamples,
        conf_level=conf,
        num_levels=plan.levels,
        seed=seed,
    )
    mu_star = np.asarray(si["mu_star"], dtype=float)
    mu_star_half = np.asarray(si["mu_star_conf"], dtype=float)
    mu = np.asarray(si["mu"], dtype=float)
    sigma = np.asarray(si["sigma"], dtype=float)
    ee = elementary_effects(plan, y)
    pick = np.random.default_rng(seed).integers(0, len(ee), size=(resamples, len(ee)))
    z = float(norm.ppf(0.5 + conf / 2))
    mu_half = z * ee[pick].mean(axis=1).std(axis=0, ddof=1)
    sigma_half = z * ee[pick].std(axis=1, ddof=1).std(axis=0, ddof=1)
    rows = []
    for j, f in enumerate(plan.factors):
        for index, v, h in (
            ("mu_star", mu_star[j], mu_star_half[j]),
            ("mu", mu[j], mu_half[j]),
            ("sigma", sigma[j], sigma_half[j]),
        ):
            rows.append((f.name, index, float(v), float(v - h), float(v + h)))
    return rows


def _sobol(plan: Plan, y: np.ndarray, conf: float, resamples: int, seed: int) -> list[tuple]:
    """First-order and total indices with SALib's bootstrap intervals (value ± z·sd)."""
    from SALib.analyze import sobol

    names = [f.name for f in plan.factors]
    if not np.var(y) > 0:  # SALib divides by the sd: a constant outcome has no indices
        return [(n, i, math.nan, math.nan, math.nan) for n in names for i in ("S1", "ST")]
    si = sobol.analyze(
        plan.problem,
        y,
        calc_second_order=False,
        num_resamples=resamples,
        conf_level=conf,
        seed=seed,
    )
    rows = []
    for j, name in enumerate(names):
        for index in ("S1", "ST"):
            v, c = float(si[index][j]), float(si[f"{index}_conf"][j])
            rows.append((name, index, v, v - c, v + c))
    return rows


# ---------------------------------------------------------------------------------------------
# Outcomes: METRIC@YEAR or derived, per strategy, or a paired difference between two strategies


@dataclass(frozen=True)
class OutcomeSpec:
    """``name`` as written in indices.csv: ``OUTCOME`` (one strategy), ``STRATEGY:OUTCOME``, or
    ``diff:A-B:OUTCOME`` (A minus B, paired on sample and replication)."""

    name: str
    base: str
    strategy: str
    minus: str | None = None


_DIFF = re.compile(r"^diff:(?P<pair>[^:]+):(?P<base>.+)$")


def resolve_outcomes(
    requested: Sequence[str], strategies: Sequence[str], horizon: int
) -> list[OutcomeSpec]:
    """Outcome names → specs; an unqualified outcome expands to one per strategy."""
    multi = len(strategies) > 1
    specs: list[OutcomeSpec] = []
    problems: list[str] = []
    for raw in requested:
        name = raw.strip()
        m = _DIFF.match(name)
        strategy, minus, base = None, None, name
        if m:
            base = m["base"]
            pairs = [
                (a, b) for a in strategies for b in strategies if a != b and f"{a}-{b}" == m["pair"]
            ]
            if not pairs:
                problems.append(
                    f"--outcome {name}: diff:A-B:OUTCOME needs two of the experiment's strategies "
                    f"({', '.join(strategies)}), e.g. diff:{strategies[0]}-"
                    f"{strategies[-1]}:poverty_rate@{horizon}"
                )
                continue
            strategy, minus = pairs[0]
        elif ":" in name:
            strategy, base = name.split(":", 1)
            if strategy not in strategies:
                problems.append(
                    f"--outcome {name}: {strategy!r} is not a strategy of the experiment "
                    f"({', '.join(strategies)})"
                )
                continue
        try:
            _, year = parse_outcome(base)
        except ValueError as exc:
            problems.append(f"--outcome {name}: {exc}")
            continue
        if year is not None and year > horizon:
            problems.append(f"--outcome {name}: year {year} is beyond the horizon ({horizon})")
            continue
        if minus is not None:
            specs.append(OutcomeSpec(name, base, strategy, minus))
        elif strategy is not None:
            specs.append(OutcomeSpec(name, base, strategy))
        elif multi:
            specs.extend(OutcomeSpec(f"{s}:{base}", base, s) for s in strategies)
        else:
            specs.append(OutcomeSpec(base, base, strategies[0]))
    if problems:
        raise ConfigError(problems)
    seen: dict[str, OutcomeSpec] = {}
    for s in specs:
        seen.setdefault(s.name, s)
    return list(seen.values())


def default_outcomes(strategies: Sequence[str], horizon: int) -> list[str]:
    """The poverty rate at the horizon, and its difference between the first two strategies."""
    out = [f"poverty_rate@{horizon}"]
    if len(strategies) > 1:
        out.append(f"diff:{strategies[0]}-{strategies[1]}:poverty_rate@{horizon}")
    return out


def outcome_matrices(
    results, specs: Sequence[OutcomeSpec], points: int, replications: int
) -> dict[str, np.ndarray]:
    """``Y[point, replication]`` per outcome from a batch's runs (NaN where a run failed)."""
    bases = sorted({s.base for s in specs})
    frame = run_outcomes(results, bases)
    out = {}
    for s in specs:
        if s.minus is None:
            part = frame[frame["strategy"] == s.strategy]
            column = s.base
        else:
            paired = paired_differences(frame, s.base, reference=s.minus, by=[])
            part = paired[paired["strategy"] == s.strategy]
            column = f"{s.base}_diff"
        wide = part.pivot_table(
            index="sample", columns="replication", values=column, aggfunc="first", dropna=False
        )
        wide = wide.reindex(index=range(points), columns=range(replications))
        out[s.name] = wide.to_numpy(dtype=float)
    return out


# ---------------------------------------------------------------------------------------------
# A study: the experiment, its factors and outcomes, the SALib plan and the batch that runs it


@dataclass
class Study:
    design: Design  # the experiment as loaded (its own LHS plan is not used)
    plan: Plan
    strategies: list[str]
    fixed: dict[str, Any]  # levers held at one value
    outcomes: list[OutcomeSpec]
    horizon: int
    batch: Design  # the adapter the batch runner runs: one sample per design-matrix row
    notes: list[str] = field(default_factory=list)

    @property
    def replications(self) -> int:
        return len(self.batch.seeds)

    def default_out(self) -> Path:
        return Path("results") / f"{self.design.name}-{self.plan.method}"

    def describe(self) -> dict:
        """The study's identity, written to design.json and checked on --resume."""
        p = self.plan
        return {
            "method": p.method,
            "samples": p.n,
            "levels": p.levels if p.method == "morris" else None,
            "inputs": p.inputs,
            "points": p.points,
            "salib_seed": p.seed,
            "master_seed": self.design.spec.sampling.seed,
            "experiment": str(self.design.path),
            "experiment_sha256": self.design.sha256,
            "factors": [
                {
                    "name": f.name,
                    "low": f.low,
                    "high": f.high,
                    "kind": f.kind,
                    "values": list(f.values),
                    "source": f.source,
                }
                for f in p.factors
            ],
            "strategies": self.strategies,
            "fixed_levers": self.fixed,
            "seeds": self.batch.seeds,
            "outcomes": [o.name for o in self.outcomes],
            "total_runs": self.batch.total,
        }


def prepare_study(
    experiment: str | Path | Design,
    method: str,
    samples: int | None = None,
    outcomes: Sequence[str] | None = None,
    include_levers: bool = False,
    factors: Sequence[str] | None = None,
    levels: int | None = DEFAULT_LEVELS,
    inputs: str = "range",
    max_runs: int | None = MAX_RUNS,
) -> Study:
    """Read the experiment, choose the factors, draw the SALib design and wrap it as a batch.

    ``samples`` defaults to the experiment's ``sampling.samples`` (Morris trajectories, or
    Sobol' base samples). ``factors`` picks a subset; an uncertainty left out keeps the
    scenario's value, a lever left out its first value. The options, the outcomes and the
    number of runs (at most ``max_runs``; None: no limit) are checked by arithmetic before
    anything is sampled: every problem is raised at once as :class:`ConfigError`.
    """
    design = experiment if isinstance(experiment, Design) else load_experiment(experiment)
    levels = DEFAULT_LEVELS if levels is None else levels
    notes: list[str] = []
    candidates: list[Factor] = []
    for path, dist in design.uncertainties.items():
        f = factor_from_distribution(path, dist)
        if f is None:
            notes.append(f"{path}: a single listed value, not varied")
        else:
            candidates.append(f)
    fixed: dict[str, Any] = {}
    for path, values in design.levers.items():
        if path == STRATEGY:
            continue
        f = lever_factor(path, values) if include_levers else None
        if f is not None:
            candidates.append(f)
            continue
        fixed[path] = values[0]
        if len(values) > 1:
            why = "" if include_levers else " (--include-levers varies numeric levers)"
            notes.append(f"lever {path}: held at its first value {values[0]!r}{why}")
    chosen = candidates
    problems: list[str] = []
    if factors:
        known = {f.name: f for f in candidates}
        unknown = [n for n in factors if n not in known]
        if unknown:
            allowed = ", ".join(known) or "none (the experiment has no uncertainties to vary)"
            raise ConfigError(
                [
                    f"--factors {n}: not a factor of {design.path}; allowed: {allowed}"
                    for n in unknown
                ]
            )
        chosen = [known[n] for n in dict.fromkeys(factors)]
        for f in candidates:
            if f.name in factors:
                continue
            if f.source == "lever":
                fixed[f.name] = design.levers[f.name][0]
                notes.append(f"lever {f.name}: held at its first value {fixed[f.name]!r}")
            else:
                notes.append(f"{f.name}: not varied (the scenario's own value)")

    if include_levers and not any(f.source == "lever" for f in candidates):
        notes.append("--include-levers: the experiment has no numeric lever with several values")
    if samples is not None:
        n, what = samples, f"--samples {samples}"
    else:
        n = design.spec.sampling.samples
        what = f"--samples (default: the experiment's sampling.samples = {n})"
    strategies = [str(s) for s in design.levers.get(STRATEGY, ["status_quo"])]
    if not chosen:
        problems.append(
            f"{design.path}: no factors to vary (the experiment has no uncertainties"
            f"{'' if include_levers else ' and --include-levers was not given'})"
        )
    problems += design_problems(method, n, levels, inputs, what)
    if not problems:
        problems += size_problems(
            method, n, len(chosen), len(strategies), len(design.seeds), max_runs, what
        )
    reference = build_scenario(
        design.scenario_data, str(design.scenario_path), design.base_overrides
    )
    horizon = int(reference.meta.years)
    try:
        specs = resolve_outcomes(
            outcomes or default_outcomes(strategies, horizon), strategies, horizon
        )
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    if method == "morris" and n > MORRIS_OPTIMISE_MAX:
        notes.append(
            f"{n} Morris trajectories: drawn at random (SALib's selection of the most spread "
            f"trajectories is used up to {MORRIS_OPTIMISE_MAX}; beyond that it takes hours)"
        )
    plan = make_plan(
        chosen, method, n, derived_seed(design.spec.sampling.seed, "sample"), levels, inputs
    )
    batch = batch_design(design, plan, strategies, fixed)
    _check_points(batch, plan)
    return Study(design, plan, strategies, fixed, specs, horizon, batch, notes)


def batch_design(
    design: Design, plan: Plan, strategies: Sequence[str], fixed: dict[str, Any]
) -> Design:
    """The thin adapter to the batch runner: the experiment's design with its LHS samples
    replaced by the SALib rows and its levers by the strategies (other levers held fixed).
    Same scenario data, constants, horizon and replication seeds."""
    levers: dict[str, list[Any]] = {}
    if STRATEGY in design.levers:
        levers[STRATEGY] = list(strategies)
    levers.update({p: [v] for p, v in fixed.items()})
    combos = [{**({STRATEGY: s} if STRATEGY in levers else {}), **fixed} for s in strategies]
    sampling = design.spec.sampling.model_copy(update={"method": plan.method, "samples": plan.n})
    spec = design.spec.model_copy(update={"sampling": sampling})
    return dataclasses.replace(
        design,
        spec=spec,
        levers=levers,
        uncertainties={f.name: f.dist for f in plan.factors},
        lever_combos=combos,
        samples=[dict(r) for r in plan.rows],
        _runs=None,
    )


def _check_points(batch: Design, plan: Plan, limit: int = 5) -> None:
    """Every distinct design point must build a valid scenario before anything runs."""
    source = str(batch.scenario_path)
    fixed = {k: v for k, v in batch.lever_combos[0].items() if k != STRATEGY}
    seen, problems = set(), []
    for i, row in enumerate(plan.rows):
        key = json.dumps(row, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        try:
            build_scenario(batch.scenario_data, source, {**batch.base_overrides, **fixed, **row})
        except ConfigError as exc:
            point = ", ".join(f"{k} = {v!r}" for k, v in row.items())
            problems.append(f"{batch.path}: design point {i} ({point}): {'; '.join(exc.problems)}")
    if problems:
        more = [f"... and {len(problems) - limit} more"] if len(problems) > limit else []
        raise ConfigError(problems[:limit] + more)


# ---------------------------------------------------------------------------------------------
# Running and writing


@dataclass
class Analysis:
    indices: pd.DataFrame
    noise: pd.DataFrame
    samples: pd.DataFrame
    floors: pd.DataFrame  # per outcome and factor: the main index seed noise alone would give
    skipped: dict[str, str]  # outcome → why it was not analysed
    figures: list[Path] = field(default_factory=list)


@dataclass
class StudyRun:
    out: Path
    summary: Any  # sim.batch.runner.BatchSummary
    analysis: Analysis | None
    seconds: float


def sensitivity_dir(out: str | Path) -> Path:
    return Path(out) / SENSITIVITY


STUDY_KEYS = ("method", "samples", "levels", "inputs", "salib_seed", "factors", "strategies")


def earlier_design(out: Path) -> dict | None:
    """``OUT/sensitivity/design.json`` of an earlier analysis in ``out``, or None."""
    path = sensitivity_dir(out) / "design.json"
    if not (path.exists() or path.is_symlink()):
        return None
    return read_json_object(path, "sensitivity design record")  # BadInput if unreadable


def check_resume_study(study: Study, out: Path) -> list[str]:
    """A resumed study must be the same study (the batch runner checks the run plan too)."""
    try:
        before = earlier_design(out)
    except BadInput as exc:
        return [f"{p}; use --force to start over, or another --out" for p in exc.problems]
    if before is None:
        return []
    now = json.loads(json.dumps(study.describe(), default=str))
    changed = [k for k in STUDY_KEYS if before.get(k) != now.get(k)]
    if changed:
        return [
            f"--out {out}: holds a different sensitivity study ({', '.join(changed)} differ); "
            "use --force to start over, or another --out"
        ]
    return []


def run_study(
    study: Study,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    flush_every: int | None = None,
    on_run: Callable | None = None,
    dask_processes: bool = True,
) -> StudyRun:
    """Run (or finish) the study's batch, then analyse it and write ``OUT/sensitivity/``.

    Nothing is analysed if the batch was interrupted or aborted: resume it first.
    """
    from sim.batch.runner import run_batch

    t0 = time.perf_counter()
    out = Path(out) if out is not None else study.default_out()
    if resume and not force:
        problems = check_resume_study(study, out)
        if problems:
            raise ConfigError(problems)
    summary = run_batch(
        study.batch,
        out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        force=force,
        quiet=quiet,
        flush_every=flush_every,
        on_run=on_run,
        dask_processes=dask_processes,
    )
    finished = not (summary.interrupted or summary.aborted)
    if finished or not force:  # an unfinished --force may have left the earlier study in out
        _write_design(study, out, summary)
    analysis = analyse_study(study, out) if finished else None
    return StudyRun(out, summary, analysis, time.perf_counter() - t0)


def _design_record(study: Study, out: Path, summary=None, analysed: Sequence[str] = ()) -> dict:
    """design.json: the study's identity and its outcomes: those analysed earlier in ``out``
    (by the same study) followed by ``analysed``; the requested ones if none was yet."""
    info = study.describe()
    info["notes"] = study.notes
    try:
        before = earlier_design(out) or {}
    except BadInput:
        before = {}
    now = json.loads(json.dumps(info, default=str))
    if before and all(before.get(k) == now.get(k) for k in STUDY_KEYS):
        earlier = [o for o in before.get("outcomes", []) if isinstance(o, str)]
        info["outcomes"] = list(dict.fromkeys([*earlier, *analysed]))
    elif analysed:
        info["outcomes"] = list(analysed)
    if summary is not None:
        info["batch"] = {"ok": summary.ok, "failed": summary.failed, "pending": summary.pending}
    elif "batch" in before:
        info["batch"] = before["batch"]
    return info


def _write_design(study: Study, out: Path, summary) -> None:
    folder = sensitivity_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    info = _design_record(study, out, summary)
    _write_if_changed(folder / "design.json", json.dumps(info, indent=1, default=str) + "\n")
    factors = pd.DataFrame(
        {
            "factor": [f.name for f in study.plan.factors],
            "source": [f.source for f in study.plan.factors],
            "low": [f.low for f in study.plan.factors],
            "high": [f.high for f in study.plan.factors],
            "kind": [f.kind for f in study.plan.factors],
            "range": [f.describe() for f in study.plan.factors],
        }
    )
    _write_if_changed(folder / "factors.csv", factors.to_csv(index=False))


def _write_if_changed(path: Path, text: str) -> None:
    """Atomically, and not at all when the file already says this (a resume keeps mtimes)."""
    data = text.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return
    except OSError:
        pass
    write_bytes_atomic(path, data)


def analyse_study(study: Study, out: str | Path, figures: bool = True) -> Analysis:
    """Indices, noise and figures of the study's outcomes from the batch in ``out``, written to
    ``out/sensitivity``.

    Outcomes **add up**: rows and figures of outcomes analysed earlier in ``out`` (by the same
    study) are kept; an outcome analysed again replaces its own rows and figure. Everything is
    computed (figures rendered) before the first file is replaced, and every file is written to
    a temporary sibling and renamed, so an interrupted analysis leaves the earlier files whole.
    The returned :class:`Analysis` holds this call's outcomes only.
    """
    from sim.batch.results import load_results

    out = Path(out)
    problems = check_resume_study(study, out)
    if problems:
        raise ConfigError(problems)
    results = load_results(out)
    plan = study.plan
    Ys = outcome_matrices(results, study.outcomes, plan.points, study.replications)
    seed = derived_seed(study.design.spec.sampling.seed, "bootstrap")
    frames, noise_rows, floor_rows, skipped = [], [], [], {}
    samples = pd.DataFrame(plan.rows)
    samples.insert(0, "point", range(plan.points))
    if plan.method == "morris":
        samples.insert(1, "trajectory", np.arange(plan.points) // (len(plan.factors) + 1))
    for spec in study.outcomes:
        Y = Ys[spec.name]
        try:
            df, noise = analyse(plan, Y, spec.name, seed=seed)
        except AnalysisError as exc:
            skipped[spec.name] = str(exc)
            continue
        floors = noise.pop("factor_floors")
        frames.append(df)
        noise_rows.append(noise)
        floor_rows.extend(
            (spec.name, f.name, plan.method, MAIN_INDEX[plan.method], float(v))
            for f, v in zip(plan.factors, floors, strict=True)
        )
        with np.errstate(invalid="ignore"):
            samples[spec.name] = np.nanmean(Y, axis=1)
    indices = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=INDEX_COLUMNS)
    )
    noise = pd.DataFrame(noise_rows, columns=NOISE_COLUMNS)
    floors = pd.DataFrame(floor_rows, columns=FLOOR_COLUMNS)
    analysis = Analysis(indices, noise, samples, floors, skipped)
    folder = sensitivity_dir(out)
    rendered = render_figures(analysis, plan) if figures else {}
    analysed = set(indices["outcome"])
    files = {
        "indices.csv": _merge_rows(indices, folder / "indices.csv", analysed),
        "noise.csv": _merge_rows(noise, folder / "noise.csv", analysed),
        "noise_factors.csv": _merge_rows(floors, folder / "noise_factors.csv", analysed),
        "samples.csv": _merge_samples(samples, folder / "samples.csv", plan),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in files.items():
        _write_csv(df, folder / name)
    if rendered:
        (folder / FIGURES).mkdir(exist_ok=True)
    for name, png in rendered.items():
        path = folder / FIGURES / name
        write_bytes_atomic(path, png)
        analysis.figures.append(path)
    info = _design_record(study, out, analysed=list(dict.fromkeys(indices["outcome"])))
    _write_if_changed(folder / "design.json", json.dumps(info, indent=1, default=str) + "\n")
    return analysis


def _read_earlier(path: Path) -> pd.DataFrame | None:
    """An earlier output table, or None (missing, or not a table povsim could have written)."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


def _merge_rows(new: pd.DataFrame, path: Path, analysed: set[str]) -> pd.DataFrame:
    """The earlier rows of outcomes not analysed now, then the new rows."""
    old = _read_earlier(path)
    if old is None or "outcome" not in old.columns or list(old.columns) != list(new.columns):
        return new
    kept = old[~old["outcome"].isin(analysed)]
    if kept.empty:
        return new
    if new.empty:
        return kept.reset_index(drop=True)
    return pd.concat([kept, new], ignore_index=True)


def _merge_samples(new: pd.DataFrame, path: Path, plan: Plan) -> pd.DataFrame:
    """The design points with the seed means of every outcome analysed so far."""
    old = _read_earlier(path)
    if old is None or "point" not in old.columns or len(old) != len(new):
        return new
    if not (old["point"].to_numpy() == new["point"].to_numpy()).all():
        return new
    design = {"point", "trajectory", *(f.name for f in plan.factors)}
    earlier = [c for c in old.columns if c not in design and c not in new.columns]
    if not earlier:
        return new
    return pd.concat([new, old[earlier].reset_index(drop=True)], axis=1)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    write_bytes_atomic(path, df.to_csv(index=False).encode())


# ---------------------------------------------------------------------------------------------
# Figures: Morris μ* against σ; Sobol' S1 and ST bars; one file per outcome


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def figure_name(method: str, outcome: str) -> str:
    return f"{method}_{slug(outcome)}.png"


def render_figures(analysis: Analysis, plan: Plan) -> dict[str, bytes]:
    """One PNG per analysed outcome, ``<method>_<outcome>.png`` → its bytes (nothing written)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    noise = analysis.noise.set_index("outcome")
    rendered = {}
    for outcome, df in analysis.indices.groupby("outcome", sort=False):
        fig = Figure(figsize=(9.0, max(4.0, 0.4 * len(plan.factors) + 2.4)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        n = noise.loc[outcome]
        floors = _floors(analysis, outcome)
        if plan.method == "morris":
            _morris_panel(ax, df, floors)
        else:
            _sobol_panel(ax, df, floors)
        ax.set_title(
            f"{outcome}\nseed noise: {_pct(n['noise_share'])} of run variance "
            f"({_pct(n['common_share'])} of it common to all points); "
            f"{_pct(n['noise_share_of_mean'])} of the {int(n['replications'])}-seed means' variance",
            fontsize=9,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        rendered[figure_name(plan.method, str(outcome))] = buf.getvalue()
    return rendered


def plot_study(analysis: Analysis, plan: Plan, folder: Path) -> list[Path]:
    """Write one PNG per analysed outcome to ``folder`` (atomically); other figures are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, png in render_figures(analysis, plan).items():
        write_bytes_atomic(folder / name, png)
        paths.append(folder / name)
    return paths


def _floors(analysis: Analysis, outcome: str) -> pd.Series:
    f = analysis.floors
    return f[f["outcome"] == outcome].set_index("factor")["noise_floor"]


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.0f}%"


def _morris_panel(ax, df: pd.DataFrame, floors: pd.Series) -> None:
    """μ* against σ, one colour per factor (a legend instead of labels that would overlap);
    the factor's seed-noise floor of μ* is a cross of its colour at the same height."""
    wide = df.pivot(index="factor", columns="index", values="value")
    ci = df[df["index"] == "mu_star"].set_index("factor")
    names = list(dict.fromkeys(df["factor"]))
    colours = _colours(len(names))
    for name, colour in zip(names, colours, strict=True):
        x, y = wide.loc[name, "mu_star"], wide.loc[name, "sigma"]
        err = [[max(x - ci.loc[name, "conf_low"], 0)], [max(ci.loc[name, "conf_high"] - x, 0)]]
        ax.errorbar(x, y, xerr=err, fmt="o", color=colour, capsize=3, label=name, clip_on=False)
        floor = floors.get(name, math.nan)
        if np.isfinite(floor):
            ax.plot(floor, y, "x", color=colour, ms=6, clip_on=False)
    right = float(np.nanmax([ci["conf_high"].max(), floors.max(), wide["mu_star"].max()]))
    right = right * 1.1 if right > 0 else 1.0
    top = float(wide["sigma"].max()) * 1.25 or 1.0
    ax.plot([0, right], [0, right], ":", color="gray", lw=0.8)
    ax.set_xlim(0, right)
    ax.set_ylim(0, top)
    ax.set_xlabel("μ* (mean |elementary effect|, outcome units over the factor's range)")
    ax.set_ylabel("σ (interactions, non-linearity)")
    ax.plot([], [], "x", color="gray", label="seed-noise floor of μ* (×, same colour)")
    ax.plot([], [], ":", color="gray", label="σ = μ*")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _sobol_panel(ax, df: pd.DataFrame, floors: pd.Series) -> None:
    names = list(dict.fromkeys(df["factor"]))
    pos = np.arange(len(names))
    for offset, index, color in ((-0.2, "S1", "tab:blue"), (0.2, "ST", "tab:orange")):
        d = df[df["index"] == index].set_index("factor").reindex(names)
        err = [
            (d["value"] - d["conf_low"]).clip(lower=0),
            (d["conf_high"] - d["value"]).clip(lower=0),
        ]
        ax.barh(
            pos + offset, d["value"], height=0.38, xerr=err, color=color, label=index, capsize=2
        )
    fl = floors.reindex(names)
    if fl.notna().any():
        ax.plot(fl, pos + 0.2, "|", color="tab:red", ms=12, mew=2, label="seed-noise floor of ST")
    ax.set_yticks(pos, names, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("share of the variance of the seed mean")
    ax.legend(fontsize=7, loc="lower right")


# ---------------------------------------------------------------------------------------------
# Console summary


def format_analysis(analysis: Analysis, method: str, top: int | None = None) -> str:
    """Per outcome: the seed-noise shares, then the factors by their main index, flagging those
    whose interval does not clear their own seed-noise floor."""
    main = MAIN_INDEX[method]
    lines = []
    noise = analysis.noise.set_index("outcome")
    for outcome, df in analysis.indices.groupby("outcome", sort=False):
        n = noise.loc[outcome]
        lines.append(
            f"{outcome}: mean {n['mean']:.4g}; seed noise {_pct(n['noise_share'])} of the "
            f"variance over runs ({_pct(n['common_share'])} of it common to all points, "
            f"cancelled by the common seeds); {_pct(n['noise_share_of_mean'])} of the variance "
            f"of the {int(n['replications'])}-seed means is noise"
        )
        wide = df.pivot(index="factor", columns="index", values="value")
        ci = df[df["index"] == main].set_index("factor")
        floors = _floors(analysis, outcome)
        order = wide[main].sort_values(ascending=False).index
        cols = ["mu_star", "mu", "sigma"] if method == "morris" else ["S1", "ST"]
        for rank, name in enumerate(order[:top] if top else order, 1):
            lo, hi = ci.loc[name, "conf_low"], ci.loc[name, "conf_high"]
            floor = floors.get(name, math.nan)
            flag = "  (within noise)" if np.isfinite(floor) and not lo > floor else ""
            vals = "  ".join(f"{c} {wide.loc[name, c]:>9.3g}" for c in cols)
            lines.append(
                f"  {rank:>2}. {name:<38} {vals}  CI [{lo:.3g}, {hi:.3g}]  noise {floor:.2g}{flag}"
            )
    for outcome, why in analysis.skipped.items():
        lines.append(f"{outcome}: not analysed: {why}")
    return "\n".join(lines)
