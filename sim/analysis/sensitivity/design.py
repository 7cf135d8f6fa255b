"""The study design: which experiment inputs are factors (uncertainties and numeric levers), their
ranges, the Morris trajectories or Sobol' (Saltelli) points SALib draws over them, and the run
count they imply (checked by arithmetic before anything is sampled)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.batch.experiments import Values, scenario_field_type
from sim.config import ConfigError

METHODS = ("morris", "sobol")
INPUTS = ("range", "distribution")
DEFAULT_LEVELS = 4  # Morris grid levels (even, as SALib wants)
MORRIS_POOL = 100  # Campolongo: the r most spread trajectories of max(100, 2 r) candidates
# SALib's trajectory selection grows steeply with r (1.4 s at 30, 16 s at 50, hours at 100):
# above this many trajectories the design is SALib's plain random trajectories (a note says so)
MORRIS_OPTIMISE_MAX = 30
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
