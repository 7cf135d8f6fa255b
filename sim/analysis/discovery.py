"""Scenario discovery: under which uncertain conditions does a plan target fail? (PRIM)

PRIM (ema_workbench.analysis.prim) peels the space of the batch's uncertain parameters down to
boxes where runs that miss the target are concentrated. A box is only reported when it says
something: enough misses and hits to learn from, a miss rate well above the base rate, a fair
share of the misses, and a miss count unlikely under the base rate. Otherwise the answer is "no
box" — better than a box fitted to noise (the seeds' own shocks, or parameters not varied).
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MIN_MISSES = 10  # fewer misses (or hits) than this: too little to find a region
MIN_HITS = 10
MIN_COVERAGE = 0.2  # a box must hold at least this share of all misses
MIN_DENSITY = 0.5  # a box must miss in most of its runs, and
LIFT = 2.0  # at least twice as often as the base rate ...
GAP_CLOSED = 0.5  # ... or half-way from the base rate to 100%, whichever is lower
MAX_P_VALUE = 0.01  # Fisher exact test of box against the rest, Bonferroni over the trajectory
MIN_BOX_RUNS = 5
MAX_BOXES = 3
MAX_QP = 0.05  # a restriction whose quasi-p value (Bryant & Lempert 2010) is above: dropped
PEEL_ALPHA = 0.1  # 10% peels: 5% peels get stuck on single noisy runs in batches of a few hundred
OBJECTIVE = "LENIENT1"  # ema_workbench's default: gain in density per run peeled
PASTE_ALPHA = 0.05


@dataclass
class Limit:
    """A restricted parameter of a box: numeric [low, high] or a set of categories."""

    name: str
    low: float | None = None  # None: not restricted from below
    high: float | None = None  # None: not restricted from above
    full_low: float | None = None
    full_high: float | None = None
    categories: tuple | None = None  # for categorical parameters


@dataclass
class Box:
    limits: list[Limit]
    runs: int  # runs in the box
    misses: int  # missing runs in the box
    coverage: float  # misses in the box / all misses
    density: float  # misses in the box / runs in the box
    trajectory_id: int  # position on the peeling trajectory
    p_value: float
    sentence: str = ""
    # other parameters whose ranges pick out exactly the same runs: with few samples,
    # parameters that happen to move together cannot be told apart
    alternatives: list[Limit] = field(default_factory=list)


@dataclass
class Discovery:
    """The outcome of scenario discovery for one set of runs (one strategy)."""

    label: str
    n: int
    misses: int
    boxes: list[Box] = field(default_factory=list)
    reason: str = ""  # why no (further) box is reported
    samples: int = 0  # distinct points in the space of the parameters (uncertainty samples)
    trajectories: list[pd.DataFrame] = field(default_factory=list)  # one per PRIM box attempt
    chosen: list[int | None] = field(default_factory=list)  # chosen trajectory id per attempt
    min_density: float = math.nan

    @property
    def base_rate(self) -> float:
        return self.misses / self.n if self.n else math.nan


def parameter_label(path: str) -> str:
    """``shocks.illness.incidence`` → ``illness incidence``: short words for sentences."""
    parts = path.split(".")
    words = parts[1:] if len(parts) >= 3 else parts
    return " ".join(words).replace("_", " ")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.3g}"


def describe_limit(lim: Limit) -> str:
    name = parameter_label(lim.name)
    if lim.categories is not None:
        return f"{name} in {{{', '.join(str(c) for c in lim.categories)}}}"
    if lim.low is not None and lim.high is not None:
        return f"{name} between {_fmt(lim.low)} and {_fmt(lim.high)}"
    if lim.low is not None:
        return f"{name} at least {_fmt(lim.low)}"
    return f"{name} at most {_fmt(lim.high)}"


def describe_box(box: Box, total_misses: int) -> str:
    """One plain-language sentence per box."""
    conds = [describe_limit(lim) for lim in box.limits]
    if len(conds) > 1:
        cond = ", ".join(conds[:-1]) + " and " + conds[-1]
    else:
        cond = conds[0] if conds else "any parameter values"
    text = (
        f"missed in {box.density:.0%} of runs ({box.misses} of {box.runs}) with {cond}; "
        f"these runs are {box.coverage:.0%} of all misses ({box.misses} of {total_misses})"
    )
    if box.alternatives:
        alt = " or ".join(describe_limit(lim) for lim in box.alternatives)
        text += (
            f". The same runs also have {alt}: in this batch these parameters cannot be told "
            "apart (more uncertainty samples would separate them)"
        )
    return text


@contextlib.contextmanager
def quiet():
    """Silence ema_workbench's logging and the warnings it and pandas emit while PRIM runs."""
    loggers = [logging.getLogger(n) for n in ("EMA", "ema_workbench")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels, strict=True):
                lg.setLevel(lv)


def _prim_module():
    with quiet():
        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.ERROR)
    return prim


def _prepare_x(x: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float64, everything else as categories; constant columns dropped."""
    out = {}
    for c in x.columns:
        col = x[c]
        if col.nunique(dropna=False) <= 1:
            continue
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[c] = col.astype("float64").to_numpy()
        else:
            out[c] = col.astype(str).astype("category").to_numpy()
    return pd.DataFrame(out)


def _limits(box_lim: pd.DataFrame, box_init: pd.DataFrame, x: pd.DataFrame) -> list[Limit]:
    limits = []
    for c in box_lim.columns:
        lo, hi = box_lim[c].iloc[0], box_lim[c].iloc[1]
        flo, fhi = box_init[c].iloc[0], box_init[c].iloc[1]
        if isinstance(lo, set | frozenset):
            if set(lo) != set(flo):
                limits.append(Limit(c, categories=tuple(sorted(lo, key=str))))
            continue
        rlo, rhi = lo > flo, hi < fhi
        if rlo or rhi:
            limits.append(
                Limit(
                    c,
                    low=float(lo) if rlo else None,
                    high=float(hi) if rhi else None,
                    full_low=float(flo),
                    full_high=float(fhi),
                )
            )
    return limits


def _prune(box_lim: pd.DataFrame, qp: dict, box_init: pd.DataFrame) -> pd.DataFrame:
    """The box without the restrictions whose quasi-p value is above MAX_QP."""
    out = box_lim.copy()
    for dim, (qp_low, qp_high) in qp.items():
        if isinstance(out[dim].iloc[0], set | frozenset):
            if qp_low > MAX_QP:
                out[dim] = box_init[dim]
            continue
        if qp_low > MAX_QP:
            out.at[out.index[0], dim] = box_init[dim].iloc[0]
        if qp_high > MAX_QP:
            out.at[out.index[1], dim] = box_init[dim].iloc[1]
    return out


def inside_of(box) -> np.ndarray:
    """Row indices of the runs in a PRIM box's current selection."""
    return np.asarray(box.yi)


def _alternatives(
    x: pd.DataFrame, inside: np.ndarray, limits: list[Limit], pool: np.ndarray
) -> list[Limit]:
    """Unrestricted numeric parameters whose range over the box's runs selects exactly the same
    runs from ``pool``: equally good explanations in this batch."""
    used = {lim.name for lim in limits}
    members = set(inside.tolist())
    out = []
    for c in x.columns:
        if c in used or not pd.api.types.is_float_dtype(x[c]):
            continue
        v = x[c].to_numpy(dtype=float)
        lo, hi = v[inside].min(), v[inside].max()
        flo, fhi = v.min(), v.max()
        same = {int(i) for i in pool if lo <= v[i] <= hi}
        if same == members and (lo > flo or hi < fhi):
            out.append(
                Limit(
                    c,
                    low=float(lo) if lo > flo else None,
                    high=float(hi) if hi < fhi else None,
                    full_low=float(flo),
                    full_high=float(fhi),
                )
            )
    return out


def _restricted(box_lim: pd.DataFrame, box_init: pd.DataFrame) -> bool:
    return any(
        (box_lim[c].iloc[0] != box_init[c].iloc[0]) or (box_lim[c].iloc[1] != box_init[c].iloc[1])
        for c in box_lim.columns
    )


def _in_box(x: pd.DataFrame, box_lim: pd.DataFrame) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for c in box_lim.columns:
        lo, hi = box_lim[c].iloc[0], box_lim[c].iloc[1]
        if isinstance(lo, set | frozenset):
            inside &= x[c].astype(str).isin([str(v) for v in lo]).to_numpy()
        else:
            v = x[c].to_numpy(dtype=float)
            inside &= (v >= lo) & (v <= hi)
    return inside


def min_density(base: float) -> float:
    """The miss rate a box needs: most of its runs, and twice the base rate or half-way from it
    to 100% (whichever is lower; twice 60% is out of reach)."""
    return max(MIN_DENSITY, min(LIFT * base, base + GAP_CLOSED * (1.0 - base)))


def _p_value(k_in: int, n_in: int, k: int, n: int) -> float:
    """One-sided hypergeometric (Fisher exact) test: the chance that n_in runs drawn at random
    from n, of which k miss, hold at least k_in misses."""
    from scipy.stats import hypergeom

    if n_in == 0:
        return 1.0
    return float(hypergeom.sf(k_in - 1, n, k, n_in))


def discover(
    x: pd.DataFrame,
    missed: np.ndarray | pd.Series,
    label: str = "",
    *,
    min_misses: int = MIN_MISSES,
    min_hits: int = MIN_HITS,
    max_boxes: int = MAX_BOXES,
    peel_alpha: float = PEEL_ALPHA,
) -> Discovery:
    """Find up to ``max_boxes`` regions of ``x`` where ``missed`` is concentrated.

    Each PRIM box attempt's peeling trajectory is kept; from it we pick the box with the largest
    coverage among those whose miss rate closes at least half the gap from the base rate to 1,
    hold at least MIN_COVERAGE of the misses and MIN_BOX_RUNS runs, and pass a one-sided Fisher
    exact test at MAX_P_VALUE divided by the number of boxes on the trajectory (PRIM tried them
    all). The next attempt runs on the runs outside the boxes found.
    """
    y = np.asarray(missed, dtype=bool)
    n, k = int(y.size), int(y.sum())
    d = Discovery(label=label, n=n, misses=k)
    reason = _too_little(n, k, min_misses, min_hits)
    if reason:
        d.reason = reason
        return d
    xp = _prepare_x(x.reset_index(drop=True))
    d.samples = len(xp.drop_duplicates())
    if xp.shape[1] == 0:
        d.reason = "the batch varies no uncertain parameter: there is nothing to discover over"
        return d
    base = k / n
    d.min_density = min_density(base)
    prim = _prim_module()
    with quiet():
        p = prim.Prim(
            xp,
            y.astype(int),
            threshold=d.min_density,
            obj_function=prim.PRIMObjectiveFunctions[OBJECTIVE],
            peel_alpha=peel_alpha,
            paste_alpha=PASTE_ALPHA,
            mass_min=max(0.05, MIN_BOX_RUNS / n),
        )
        for _ in range(max_boxes):
            if k - sum(b.misses for b in d.boxes) < MIN_BOX_RUNS:
                break  # too few misses left outside the boxes found
            box = p.find_box()
            if box is None:
                break
            found = _box_of_attempt(d, p, box, xp, y)
            if found is None:
                break
            d.boxes.append(found)
    if not d.boxes:
        d.reason = (
            "no region of the uncertain parameters concentrates the misses: no box reaches a "
            f"miss rate of {d.min_density:.0%} (at least 50%, and twice the base rate of "
            f"{base:.0%} or half-way from it to 100%) with at least {MIN_COVERAGE:.0%} of the "
            f"misses and a Fisher exact p < {MAX_P_VALUE} (Bonferroni-corrected); the misses "
            "come from the seeds' shocks or from conditions the batch did not vary"
        )
    return d


def _too_little(n: int, k: int, min_misses: int, min_hits: int) -> str | None:
    """Why there is nothing to discover in ``k`` misses of ``n`` runs, or None."""
    if n == 0:
        return "no runs"
    if k == 0:
        return "the target is met in every run: nothing to explain"
    if k == n:
        return "the target is missed in every run: no range of the uncertain parameters avoids it"
    if k < min_misses or n - k < min_hits:
        return (
            f"too few {'misses' if k < min_misses else 'hits'} ({min(k, n - k)}) for scenario "
            f"discovery: it needs at least {min_misses} misses and {min_hits} hits"
        )
    return None


def _qualifies(d: Discovery, k_in: int, n_in: int, alpha: float) -> bool:
    """A box of ``k_in`` misses in ``n_in`` runs is large, dense, covering and significant."""
    k, n = d.misses, d.n
    return (
        n_in >= MIN_BOX_RUNS
        and k_in / n_in >= d.min_density
        and k_in / k >= MIN_COVERAGE
        and _p_value(k_in, n_in, k, n) < alpha
    )


def _box_of_attempt(d: Discovery, p, box, xp: pd.DataFrame, y: np.ndarray) -> Box | None:
    """The box chosen on one PRIM attempt's peeling trajectory (None: no candidate qualifies);
    the attempt's trajectory and choice are recorded in ``d``."""
    k, n = d.misses, d.n
    traj = box.peeling_trajectory.reset_index(drop=True)
    d.trajectories.append(traj)
    # PRIM tried every box on the trajectory: a Bonferroni correction over them
    alpha = MAX_P_VALUE / max(1, len(traj) - 1)
    chosen = _best_candidate(d, p, box, traj, xp, y, alpha)
    if chosen is None:
        d.chosen.append(None)
        return None
    i, pruned, inside = chosen
    box.select(i)
    if not pruned.equals(box.box_lims[i]):  # the pruned box becomes the current one,
        box.update(pruned, inside)  # so the next attempt removes its runs
        i = len(box.peeling_trajectory) - 1
    traj = box.peeling_trajectory.reset_index(drop=True)
    d.trajectories[-1] = traj
    d.chosen.append(i)
    pv = _p_value(int(traj.at[i, "k"]), int(traj.at[i, "n"]), k, n)
    found = Box(
        limits=_limits(box.box_lims[i], p.box_init, xp),
        runs=int(traj.at[i, "n"]),
        misses=int(traj.at[i, "k"]),
        coverage=float(traj.at[i, "coverage"]),
        density=float(traj.at[i, "density"]),
        trajectory_id=i,
        p_value=pv,
    )
    found.alternatives = _alternatives(xp, inside_of(box), found.limits, p.yi_remaining)
    found.sentence = describe_box(found, k)
    return found


def _best_candidate(d: Discovery, p, box, traj, xp, y, alpha: float):
    """(index, pruned limits, runs inside) of the best qualifying box on the trajectory."""
    ok = traj[traj["res_dim"] > 0]
    keep = [_qualifies(d, int(a), int(b), alpha) for a, b in zip(ok["k"], ok["n"], strict=True)]
    ok = ok.loc[np.array(keep, dtype=bool)]
    # candidates by the balance of coverage and density (their harmonic mean, F1); each
    # loses the restrictions PRIM's quasi-p test finds insignificant (peeling slivers)
    # and must still qualify without them, or it was made of slivers
    f1 = 2 * ok["coverage"] * ok["density"] / (ok["coverage"] + ok["density"])
    for cand in f1.sort_values(ascending=False, kind="stable").index:
        pruned = _prune(box.box_lims[cand], box.qp[cand], p.box_init)
        inside = p.yi_remaining[_in_box(xp.loc[p.yi_remaining], pruned)]
        if _restricted(pruned, p.box_init) and _qualifies(
            d, int(y[inside].sum()), int(inside.size), alpha
        ):
            return (int(cand), pruned, inside)
    return None


def format_discovery(d: Discovery) -> str:
    """The boxes with their ranges, coverage, density and sentence; or why there is none."""
    head = f"{d.label}: " if d.label else ""
    samples = f"; {d.samples} distinct uncertainty samples" if d.samples else ""
    lines = [
        f"{head}missed in {d.misses} of {d.n} runs ({d.base_rate:.0%}){samples}"
        if d.n
        else f"{head}no runs"
    ]
    for j, b in enumerate(d.boxes, 1):
        lines.append(
            f"  box {j}: {b.runs} runs, {b.misses} missed; coverage {b.coverage:.0%}, density "
            f"{b.density:.0%} (base rate {d.base_rate:.0%}), Fisher exact p = {b.p_value:.2g}"
        )
        width = max(len(lim.name) for lim in b.limits) if b.limits else 0
        for lim in b.limits:
            if lim.categories is not None:
                rng = "{" + ", ".join(str(c) for c in lim.categories) + "}"
                full = ""
            else:
                lo = _fmt(lim.low) if lim.low is not None else _fmt(lim.full_low)
                hi = _fmt(lim.high) if lim.high is not None else _fmt(lim.full_high)
                rng = f"{lo} .. {hi}"
                full = f"   (sampled {_fmt(lim.full_low)} .. {_fmt(lim.full_high)})"
            lines.append(f"    {lim.name:<{width}}  {rng}{full}")
        lines.append(f"    -> {b.sentence}")
    if d.reason and not d.boxes:
        lines.append(f"  no box: {d.reason}")
    return "\n".join(lines)


def plot_tradeoffs(discoveries: list[Discovery], path, title: str = "") -> bool:
    """Coverage against density along each peeling trajectory (one panel per strategy), the
    chosen boxes marked and the density threshold drawn. False if there is nothing to draw."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = [d for d in discoveries if d.trajectories]
    if not drawn:
        return False
    cols = min(2, len(drawn))
    rows = math.ceil(len(drawn) / cols)
    fig = Figure(figsize=(5.2 * cols, 4.4 * rows))
    FigureCanvasAgg(fig)
    for idx, d in enumerate(drawn):
        ax = fig.add_subplot(rows, cols, idx + 1)
        vmax = max(int(t["res_dim"].max()) for t in d.trajectories) or 1
        sc = None
        markers = ["o", "s", "^"]
        for j, t in enumerate(d.trajectories):
            sc = ax.scatter(
                t["coverage"],
                t["density"],
                c=t["res_dim"],
                cmap=colormaps["viridis"].resampled(vmax + 1),
                vmin=-0.5,
                vmax=vmax + 0.5,
                s=18,
                marker=markers[j % len(markers)],
                label=f"PRIM box attempt {j + 1}",
            )
            ch = d.chosen[j] if j < len(d.chosen) else None
            if ch is not None:
                ax.scatter(
                    [t.at[ch, "coverage"]],
                    [t.at[ch, "density"]],
                    s=160,
                    facecolors="none",
                    edgecolors="red",
                    linewidths=1.5,
                )
                ax.annotate(
                    f"box {sum(1 for c in d.chosen[: j + 1] if c is not None)}",
                    (t.at[ch, "coverage"], t.at[ch, "density"]),
                    textcoords="offset points",
                    xytext=(6, 6),
                    fontsize=8,
                    color="red",
                )
        ax.axhline(d.min_density, color="#555", ls="--", lw=1)
        ax.axhline(d.base_rate, color="#999", ls=":", lw=1)
        ax.axvline(MIN_COVERAGE, color="#bbb", ls=":", lw=1)
        ax.text(1.0, d.min_density, " required density", va="bottom", ha="right", fontsize=7)
        ax.text(1.0, d.base_rate, " base rate", va="bottom", ha="right", fontsize=7)
        ax.set_xlim(0, 1.05)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("coverage (share of all misses in the box)")
        ax.set_ylabel("density (share of the box's runs that miss)")
        ax.set_title(f"{d.label}: {d.misses} of {d.n} runs miss", fontsize=9)
        if sc is not None:
            cb = fig.colorbar(sc, ax=ax, ticks=range(vmax + 1))
            cb.set_label("restricted parameters", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    from sim.config.files import write_with

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_with(path, lambda p: fig.savefig(p, dpi=120, format="png"))
    return True
