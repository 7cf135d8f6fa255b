"""From run values to a verdict: the probability a target is met (Wilson interval), realistic /
stretch / over-ambitious, the level met with the chosen confidence and the margin to it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.targets.spec import UPPER_OPS, Target

VERDICTS = ("realistic", "stretch", "over-ambitious")
OVER_AMBITIOUS_BELOW = 0.5  # probability under which a target is over-ambitious
DEFAULT_CONFIDENCE = 0.8
Z95 = 1.959963984540054  # two-sided 95% normal quantile, for the Wilson score interval


# ---------------------------------------------------------------------------------------------
# Statistics: Wilson interval, verdict, achievable level


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at k = 0 or k = n,
    which is exactly where over-ambitious targets land.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # exact at the ends (rounding would put k = n a hair below 1)
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def runs_needed(n: int, confidence: float) -> int:
    """The fewest of n runs that make a share of at least ``confidence`` (at least 1).

    Counting runs (not comparing floats) keeps the verdict and the achievable level in step:
    a target is realistic exactly when the achievable level meets it.
    """
    return max(1, math.ceil(round(confidence * n, 9)))


def verdict(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> str:
    """realistic if k/n >= confidence; over-ambitious if k/n < 0.5; stretch in between."""
    if n <= 0:
        return "n/a"
    if k >= runs_needed(n, confidence):
        return "realistic"
    if 2 * k < n:  # k/n < 0.5, in integers
        return "over-ambitious"
    return "stretch"


def achievable_level(values: np.ndarray | pd.Series, op: str, confidence: float) -> float:
    """The tightest value of the metric met in at least ``confidence`` of the runs.

    ``<=``/``<``: the confidence-quantile of the run values (inverted CDF: the smallest value v
    with at least that share of runs <= v). ``>=``/``>``: the (1 - confidence)-quantile taken
    from above (the largest v with at least that share of runs >= v). An undefined run value
    counts against the target (it sorts as +inf for a cap, -inf for a floor).
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return math.nan
    k = runs_needed(n, confidence)
    if op in UPPER_OPS:
        s = np.sort(np.where(np.isnan(v), np.inf, v))
        return float(s[k - 1])
    s = np.sort(np.where(np.isnan(v), -np.inf, v))[::-1]
    return float(s[k - 1])


def margin(target: Target, achievable: float) -> float:
    """How much room the target leaves, in the metric's units: >= 0 means achievable at the
    confidence, < 0 means the target asks that much more than is achievable."""
    if math.isnan(achievable):
        return math.nan
    return target.value - achievable if target.upper else achievable - target.value


def assess(
    target: Target, values: np.ndarray | pd.Series, confidence: float = DEFAULT_CONFIDENCE
) -> dict:
    """Probability, interval, verdict, achievable level and margin for one set of runs."""
    v = np.asarray(values, dtype=float)
    n = int(v.size)
    k = int(target.met(v).sum())
    lo, hi = wilson_interval(k, n)
    level = achievable_level(v, target.op, confidence)
    return {
        "runs": n,
        "met": k,
        "undefined": int(np.isnan(v).sum()),
        "probability": k / n if n else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "verdict": verdict(k, n, confidence),
        "achievable": level,
        "margin": margin(target, level),
    }
