"""From outcome values to indices: Morris elementary effects (mu*, sigma) or Sobol' first-order
and total indices with bootstrap intervals, and how much of them seed noise could explain."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.sensitivity.design import AnalysisError, Plan

CONF_LEVEL = 0.95
RESAMPLES = 1000  # bootstrap resamples for every confidence interval
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
# A study's analysis: what analyse_study returns and the figures and the table show


@dataclass
class Analysis:
    indices: pd.DataFrame
    noise: pd.DataFrame
    samples: pd.DataFrame
    floors: pd.DataFrame  # per outcome and factor: the main index seed noise alone would give
    skipped: dict[str, str]  # outcome → why it was not analysed
    figures: list[Path] = field(default_factory=list)
