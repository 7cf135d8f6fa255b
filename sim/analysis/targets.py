"""Plan targets (过头指标): the targets file, its validation, verdicts and plan consistency.

A targets file is TOML with one ``[[target]]`` table per target: a metric at a year, a comparison
and a value (docs/targets.md). Against a batch's results each target gets, per
strategy, the probability that it is met across uncertainty samples and seeds (with a Wilson
interval), a verdict, the level that *is* met with a chosen confidence, and the margin between the
two. "不要提过头指标,要留有余地": a target should be met with room to spare, not on a good day.

Bad files are reported the way scenario files are (one line per problem naming file and field;
``ConfigError``). Relations between targets and with the scenario (contradictions, more exits than
registered households, implausible household sizes — speech 1's data problems) are warnings.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ConfigError, read_toml
from sim.config.files import write_text_atomic, write_with
from sim.model.outputs import COLUMNS, DERIVED, OUTCOMES, Outcome

# ---------------------------------------------------------------------------------------------
# Vocabulary

OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
UPPER_OPS = ("<=", "<")  # the target caps the metric: smaller is better
VERDICTS = ("realistic", "stretch", "over-ambitious")
OVER_AMBITIOUS_BELOW = 0.5  # probability under which a target is over-ambitious
DEFAULT_CONFIDENCE = 0.8
Z95 = 1.959963984540054  # two-sided 95% normal quantile, for the Wilson score interval
MAX_YEAR = 100  # the longest horizon a scenario allows (meta.years <= 100)
TARGET_KEYS = ("name", "metric", "year", "op", "value", "strategy", "note")
TOP_KEYS = ("target", "description")
PLAUSIBLE_SIZE = (1.5, 6.0)  # people per household outside this range is suspicious (speech 1)

# Not outcomes: a target on them would test the calendar.
NOT_TARGETS = ("year", "calendar_year")

# Metrics that never decrease from one year to the next (for the cross-year contradiction check).
CUMULATIVE = {name for name, o in OUTCOMES.items() if o.cumulative}
# Household counts of exits, compared with the registered households of the scenario.
EXIT_METRICS = {
    "exits",
    "exited_cumulative",
    "ever_exited",
    "exited_now",
    "sustained_exits",
    "exits_total",
}
AFTER_PHASE_OUT = {"max_return_rate_after_phase_out", "returns_after_phase_out"}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_NAME = 80  # a target's name is printed in tables and figure labels
MAX_VALUE = 1e15  # larger than any count, share or yuan amount of a county plan


def _allowed_metrics_text() -> str:
    return (
        "a timeseries column (docs/outputs.md, e.g. poverty_rate), a ratio of two columns "
        "(e.g. returns/exits), or one of " + ", ".join(DERIVED)
    )


def _suggest(word: str) -> str:
    pool = [c for c in COLUMNS if c not in NOT_TARGETS] + list(DERIVED)
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def metric_info(metric: str) -> Outcome:
    """The registry's ``metric`` (a column or a derived metric), or an ``A/B`` ratio of two
    columns; ValueError if unknown."""
    name = metric.strip()
    if "@" in name:
        raise ValueError(
            f"{metric!r}: give the year in the `year` field, not in the metric "
            f"(metric = {name.split('@')[0]!r}, year = {name.split('@', 1)[1]})"
        )
    if "/" in name:
        parts = [p.strip() for p in name.split("/")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{metric!r}: a ratio is COLUMN/COLUMN, e.g. returns/exits")
        infos = []
        for p in parts:
            if p not in COLUMNS or p in NOT_TARGETS:
                raise ValueError(
                    f"{metric!r}: {p!r} is not a timeseries column{_suggest(p)}; a ratio is "
                    "COLUMN/COLUMN of timeseries columns (docs/outputs.md)"
                )
            infos.append(COLUMNS[p].low)
        low = 0.0 if infos[0] >= 0 and infos[1] >= 0 else -math.inf
        ua, ub = COLUMNS[parts[0]].unit, COLUMNS[parts[1]].unit
        unit = "ratio" if ua == ub else f"{ua} per {ub[:-1] if ub.endswith('s') else ub}"
        return Outcome(
            f"{parts[0]}/{parts[1]}",
            unit,
            f"{parts[0]} / {parts[1]} at the target year (0 when both are 0; infinite when only "
            "the divisor is 0)",
            kind="ratio",
            low=low,
            high=math.inf,
        )
    if name in OUTCOMES and name not in NOT_TARGETS:
        return OUTCOMES[name]
    if name in NOT_TARGETS:
        raise ValueError(
            f"{metric!r} is the time axis, not an outcome; allowed: " + _allowed_metrics_text()
        )
    if not _NAME.match(name):
        raise ValueError(f"{metric!r} is not a metric name; allowed: {_allowed_metrics_text()}")
    raise ValueError(
        f"unknown metric {metric!r}{_suggest(name)}; allowed: {_allowed_metrics_text()}"
    )


# ---------------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """One plan target: ``metric`` at ``year`` ``op`` ``value``, for some or all strategies."""

    name: str
    metric: str
    year: int
    op: str
    value: float
    strategies: tuple[str, ...] | None = None  # None: every strategy of the batch
    note: str = ""

    @property
    def info(self) -> Outcome:
        return metric_info(self.metric)

    @property
    def label(self) -> str:
        return f"{self.metric}@{self.year} {self.op} {format_value(self.value, self.info.unit)}"

    @property
    def upper(self) -> bool:
        """True for ``<=``/``<``: the target caps the metric."""
        return self.op in UPPER_OPS

    def applies_to(self, strategy: str) -> bool:
        return self.strategies is None or strategy in self.strategies

    def met(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Which values meet the target; an undefined (NaN) value never does."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return OPS[self.op](v, self.value) & ~np.isnan(v)

    def interval(self) -> tuple[float, bool, float, bool]:
        """The values meeting the target as (low, low_closed, high, high_closed)."""
        v = self.value
        return {
            "<=": (-math.inf, False, v, True),
            "<": (-math.inf, False, v, False),
            ">=": (v, True, math.inf, False),
            ">": (v, False, math.inf, False),
        }[self.op]


@dataclass
class TargetsFile:
    path: str
    targets: list[Target]
    description: str = ""

    def by_name(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise ConfigError(
            [
                f"--target {name}: no target of that name in {self.path}; targets: "
                + ", ".join(t.name for t in self.targets)
            ]
        )


@dataclass(frozen=True)
class Context:
    """What a targets file is checked against: the horizon and the strategies."""

    horizon: int = MAX_YEAR
    horizon_source: str = "the longest horizon a scenario allows"
    known_strategies: frozenset[str] | None = None  # None: the built-in strategies


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _value_problem(metric: Outcome, op: str, value: float) -> str | None:
    """A value no run could ever meet, or one outside what the metric can take."""
    lo, hi = metric.low, metric.high
    what = "a share (0..1)" if (lo, hi) == (0.0, 1.0) else f"{metric.unit} (>= {lo:g})"
    if value < lo or value > hi:
        bound = f"{lo:g}..{hi:g}" if hi < math.inf else f">= {lo:g}"
        return (
            f"{value:g} is impossible for {metric.name}, which is {what}; allowed values: {bound}"
        )
    if (op == "<" and value <= lo) or (op == ">" and value >= hi):
        return (
            f"{metric.name} {op} {value:g} can never hold: {metric.name} is {what}; "
            f"use {'<=' if op == '<' else '>='} {value:g} if that is meant"
        )
    return None


def known_strategy_names(extra: Iterable[str] = ()) -> frozenset[str]:
    from sim.policies import available

    return frozenset(available(None)) | frozenset(extra)


def parse_targets(data: dict, source: str, context: Context | None = None) -> TargetsFile:
    """Validate a targets tree; raise ConfigError listing every problem (file: field: what)."""
    ctx = context or Context()
    known = ctx.known_strategies if ctx.known_strategies is not None else known_strategy_names()
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a TOML table at the top level"])
    for key in data:
        if key not in TOP_KEYS:
            hint = "; write one [[target]] table per target" if key == "targets" else ""
            problems.append(
                f"{source}: {key}: unknown field; allowed at the top level: "
                f"{', '.join(TOP_KEYS)}{hint}"
            )
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{source}: description: must be text (got {description!r})")
        description = ""
    raw = data.get("target")
    if raw is None:
        problems.append(f"{source}: target: no targets; add one [[target]] table per target")
        raise ConfigError(problems)
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(problems + [f"{source}: target: must be [[target]] tables"])
    if not raw:
        raise ConfigError(
            problems
            + [f"{source}: target: the list is empty; a targets file holds at least one [[target]]"]
        )

    targets: list[Target] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(raw):
        if not isinstance(t, dict):
            problems.append(f"{source}: target[{i}]: must be a table with {', '.join(TARGET_KEYS)}")
            continue
        name = t.get("name")
        clean = isinstance(name, str) and 0 < len(name) <= MAX_NAME and not _CONTROL.search(name)
        where = f"{source}: target[{i}]" + (f" ({name})" if clean else "")
        bad = len(problems)
        for key in t:
            if key not in TARGET_KEYS:
                close = difflib.get_close_matches(key, TARGET_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(
                    f"{where}.{key}: unknown field{hint}; allowed: {', '.join(TARGET_KEYS)}"
                )
        for key in ("name", "metric", "year", "op", "value"):
            if key not in t:
                problems.append(f"{where}.{key}: required field is missing")
        if "name" in t:
            if not isinstance(name, str) or not name.strip():
                problems.append(f"{where}.name: must be non-empty text (got {name!r})")
            elif len(name) > MAX_NAME or _CONTROL.search(name):
                problems.append(
                    f"{where}.name: {name[:40]!r}: must be at most {MAX_NAME} characters, "
                    "without control characters (tabs, newlines, escapes)"
                )
            elif name in seen:
                problems.append(
                    f"{where}.name: {name!r} is also the name of target[{seen[name]}]; names "
                    "must be unique (discover --target picks a target by name)"
                )
            else:
                seen[name] = i
        info = None
        if "metric" in t:
            m = t["metric"]
            if not isinstance(m, str):
                problems.append(f"{where}.metric: must be text (got {m!r})")
            else:
                try:
                    info = metric_info(m)
                except ValueError as exc:
                    problems.append(f"{where}.metric: {exc}")
        year = t.get("year")
        if "year" in t:
            if not isinstance(year, int) or isinstance(year, bool):
                problems.append(f"{where}.year: must be a whole number of years (got {year!r})")
                year = None
            elif not 0 <= year <= ctx.horizon:
                problems.append(
                    f"{where}.year: {year} is outside the horizon 0..{ctx.horizon} "
                    f"({ctx.horizon_source})"
                )
        op = t.get("op")
        op_ok = isinstance(op, str) and op in OPS
        if "op" in t and not op_ok:
            problems.append(f"{where}.op: unknown comparison {op!r}; allowed: {', '.join(OPS)}")
        value = t.get("value")
        if "value" in t:
            if not _number(value) or not math.isfinite(value):
                problems.append(f"{where}.value: must be a finite number (got {value!r})")
                value = None
            elif abs(value) > MAX_VALUE:
                problems.append(
                    f"{where}.value: {value:g} is beyond any plan target; allowed: at most "
                    f"{MAX_VALUE:g} in absolute value"
                )
                value = None
            elif info is not None and op_ok:
                msg = _value_problem(info, op, float(value))
                if msg:
                    problems.append(f"{where}.value: {msg}")
        strategies = None
        if "strategy" in t:
            s = t["strategy"]
            names = [s] if isinstance(s, str) else s
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(x, str) for x in names)
            ):
                problems.append(f"{where}.strategy: a strategy name or a list of names (got {s!r})")
            else:
                for x in names:
                    if x not in known:
                        close = difflib.get_close_matches(x, sorted(known), n=1)
                        hint = f" (did you mean {close[0]!r}?)" if close else ""
                        problems.append(
                            f"{where}.strategy: unknown strategy {x!r}{hint}; allowed: "
                            + ", ".join(sorted(known))
                        )
                strategies = tuple(dict.fromkeys(names))
        note = t.get("note", "")
        if not isinstance(note, str):
            problems.append(f"{where}.note: must be text (got {note!r})")
            note = ""
        elif _CONTROL.search(note.replace("\n", " ")):
            problems.append(f"{where}.note: control characters (escapes, tabs) are not allowed")
        if len(problems) == bad:
            targets.append(
                Target(
                    name=name.strip(),
                    metric=info.name,
                    year=int(year),
                    op=op,
                    value=float(value),
                    strategies=strategies,
                    note=note,
                )
            )
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return TargetsFile(source, targets, description)


def is_targets_file(path: str | Path) -> bool:
    """A targets file is a TOML file with a top-level ``[[target]]`` array (or ``target`` key)."""
    data = read_toml(path, "file")
    return "target" in data or ("targets" in data and "experiment" not in data)


def load_targets(path: str | Path, context: Context | None = None) -> TargetsFile:
    """Read and validate a targets file (ConfigError with every problem)."""
    return parse_targets(read_toml(path, "targets file"), str(path), context)


def context_for_experiments(designs: Sequence) -> Context:
    """Horizon and strategies of experiment files validated alongside a targets file."""
    if not designs:
        return Context()
    from sim.config.parameters import default_values

    horizons, strategies, names = [], set(), []
    for d in designs:
        years = d.spec.experiment.years
        if years is None:
            meta = d.scenario_data.get("meta", {})
            years = meta.get("years") if isinstance(meta, dict) else None
        if not isinstance(years, int):
            years = default_values()["meta"]["years"]
        horizons.append(int(years))
        names.append(d.name)
        strategies |= {str(s) for s in d.levers.get("strategy", ["status_quo"])}
        strategies |= set(d.spec.strategies)
        own = d.scenario_data.get("strategies", {})
        strategies |= set(own) if isinstance(own, dict) else set()
    h = min(horizons)
    return Context(
        horizon=h,
        horizon_source=f"the horizon of experiment {', '.join(names)}",
        known_strategies=known_strategy_names(strategies),
    )


def context_for_results(results) -> Context:
    """Horizon and strategies of a batch's results."""
    ts = results.timeseries
    horizon = int(ts["year"].max()) if len(ts) else 0
    batch = set(results.runs["strategy"].astype(str).unique()) if len(results.runs) else set()
    own = set()
    text = (results.manifest.get("experiment") or {}).get("text") or ""
    if text:
        try:
            import tomllib

            own = set((tomllib.loads(text).get("strategies") or {}).keys())
        except Exception:  # the manifest's copy of the experiment is informative only
            own = set()
    return Context(
        horizon=horizon,
        horizon_source=f"the results in {results.path} end at year {horizon}",
        known_strategies=known_strategy_names(batch | own | scenario_strategies(results)),
    )


def scenario_strategies(results) -> set[str]:
    sc = load_batch_scenario(results)[0]
    return set(sc.strategies) if sc is not None else set()


def load_batch_scenario(results):
    """The batch's scenario (from the manifest's path), or (None, reason) if it cannot be read."""
    path = ((getattr(results, "manifest", None) or {}).get("scenario") or {}).get("path")
    if not path:
        return None, "the manifest names no scenario file"
    try:
        from sim.config import load_scenario

        return load_scenario(path), ""
    except ConfigError as exc:
        return None, f"{path}: {exc.problems[0]}"
    except OSError as exc:  # pragma: no cover - e.g. permissions
        return None, f"{path}: {exc}"


# ---------------------------------------------------------------------------------------------
# Plan consistency


@dataclass(frozen=True)
class Issue:
    """One inconsistency in the plan: which check, which target(s), what is wrong."""

    check: str
    message: str
    target: str = ""
    severity: str = "warning"


def _overlap(a: Target, b: Target) -> bool:
    if a.strategies is None or b.strategies is None:
        return True
    return bool(set(a.strategies) & set(b.strategies))


def _empty(low: float, low_closed: bool, high: float, high_closed: bool) -> bool:
    return low > high or (low == high and not (low_closed and high_closed))


def _intersect(a: tuple, b: tuple) -> tuple[float, bool, float, bool]:
    """Intersection of two intervals given as (low, low_closed, high, high_closed)."""
    (la, lac, ha, hac), (lb, lbc, hb, hbc) = a, b
    lo, loc = (la, lac) if la > lb else (lb, lbc) if lb > la else (la, lac and lbc)
    hi, hic = (ha, hac) if ha < hb else (hb, hbc) if hb < ha else (ha, hac and hbc)
    return lo, loc, hi, hic


def _always_holds(t: Target) -> bool:
    lo, hi, v = t.info.low, t.info.high, t.value
    return (
        (t.op == "<=" and v >= hi)
        or (t.op == "<" and v > hi)
        or (t.op == ">=" and v <= lo)
        or (t.op == ">" and v < lo)
    )


def check_plan(
    targets: Sequence[Target],
    scenario=None,
    batch_strategies: Iterable[str] | None = None,
    phase_out_years: dict[str, set[int]] | None = None,
) -> list[Issue]:
    """Targets against each other and against the scenario; each problem once, as a warning.

    ``phase_out_years`` maps strategy → the phase-out years its runs use (for the after-phase-out
    metrics); ``batch_strategies`` the strategies that ran.
    """
    issues: list[Issue] = []
    ts = list(targets)
    # targets that cannot both hold (same metric, same year, overlapping strategies)
    for i, a in enumerate(ts):
        for b in ts[i + 1 :]:
            if a.metric != b.metric or not _overlap(a, b):
                continue
            if a.year == b.year:
                if _empty(*_intersect(a.interval(), b.interval())):
                    issues.append(
                        Issue(
                            "contradiction",
                            f"{a.name} ({a.label}) and {b.name} ({b.label}) cannot both hold",
                            f"{a.name}, {b.name}",
                        )
                    )
            elif a.metric in CUMULATIVE:
                early, late = (a, b) if a.year < b.year else (b, a)
                el, elc, _, _ = early.interval()
                _, _, lh, lhc = late.interval()
                if _empty(el, elc, lh, lhc):
                    issues.append(
                        Issue(
                            "contradiction",
                            f"{early.name} ({early.label}) and {late.name} ({late.label}) cannot "
                            f"both hold: {a.metric} never decreases from one year to the next",
                            f"{early.name}, {late.name}",
                        )
                    )
    for t in ts:
        info = t.info
        if _always_holds(t):
            bounds = f"{info.low:g}..{info.high:g}" if info.high < math.inf else f">= {info.low:g}"
            issues.append(
                Issue(
                    "always holds",
                    f"{t.name} ({t.label}) holds whatever happens: {t.metric} is {info.unit} "
                    f"({bounds}); it tests nothing",
                    t.name,
                )
            )
        if batch_strategies is not None and t.strategies is not None:
            missing = [s for s in t.strategies if s not in set(batch_strategies)]
            if missing:
                issues.append(
                    Issue(
                        "strategy not in batch",
                        f"{t.name}: strategy {', '.join(missing)} did not run in this batch; "
                        "the target is evaluated for the others only",
                        t.name,
                    )
                )
        if t.metric in AFTER_PHASE_OUT and phase_out_years:
            for s, years in sorted(phase_out_years.items()):
                if t.applies_to(s) and any(t.year <= y for y in years):
                    issues.append(
                        Issue(
                            "before phase-out",
                            f"{t.name}: year {t.year} is not after the phase-out year "
                            f"{max(years)} of {s}; {t.metric} is undefined there and counts "
                            "as missed",
                            t.name,
                        )
                    )
    if scenario is not None:
        issues.extend(_scenario_target_issues(ts, scenario))
        issues.extend(check_scenario(scenario))
    return issues


def _scenario_target_issues(targets: Sequence[Target], scenario) -> list[Issue]:
    pop = scenario.population
    registered = pop.registered.households
    out: list[Issue] = []
    for t in targets:
        if t.upper:
            continue
        info = t.info
        if t.metric in EXIT_METRICS and t.value > registered:
            out.append(
                Issue(
                    "exits above registered",
                    f"{t.name} ({t.label}) asks for more exits than the {registered:,} "
                    "households registered at the start; only households registered later "
                    "(newly poor) or exiting twice could make up the difference",
                    t.name,
                )
            )
        elif info.kind == "column" and info.unit == "households" and t.value > pop.households:
            out.append(
                Issue(
                    "above population",
                    f"{t.name} ({t.label}) can never hold: the scenario has {pop.households:,} "
                    "households",
                    t.name,
                )
            )
        elif info.kind == "column" and info.unit == "persons" and t.value > pop.people:
            out.append(
                Issue(
                    "above population",
                    f"{t.name} ({t.label}) can never hold: the scenario has {pop.people:,} people",
                    t.name,
                )
            )
    return out


def check_scenario(scenario) -> list[Issue]:
    """The scenario's own numbers, the way speech 1 worries about them: people per household.

    Category households adding up to the registered total is enforced by scenario validation;
    here a size outside 1.5-6 people per household points to a miscount (a village reported
    twice, households moved between categories without their people).
    """
    lo, hi = PLAUSIBLE_SIZE
    pop = scenario.population
    reg = pop.registered
    out: list[Issue] = []

    def size(where: str, people: int, households: int) -> None:
        if households <= 0 or people <= 0:
            return
        s = people / households
        if not lo <= s <= hi:
            out.append(
                Issue(
                    "household size",
                    f"scenario {where}: {people:,} people in {households:,} households is "
                    f"{s:.2f} people per household, outside the plausible {lo:g}-{hi:g}",
                )
            )

    size("population", pop.people, pop.households)
    size("population.registered", reg.people, reg.households)
    size(
        "non-registered households",
        pop.people - reg.people,
        pop.households - reg.households,
    )
    for cat in ("industry", "relocation", "medical", "education", "dibao"):
        c = getattr(reg.categories, cat)
        size(f"population.registered.categories.{cat}", c.people, c.households)
    total = sum(getattr(reg.categories, c).households for c in type(reg.categories).model_fields)
    if total != reg.households:  # pragma: no cover - scenario validation refuses this
        out.append(
            Issue(
                "categories",
                f"scenario: category households sum to {total:,} but registered households are "
                f"{reg.households:,}",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Metric values per run


def _wide(ts: pd.DataFrame, column: str) -> pd.DataFrame:
    return ts.pivot(index="run_id", columns="year", values=column).sort_index(axis=1)


def return_rate_wide(ts: pd.DataFrame) -> pd.DataFrame:
    """return_rate (sim.analysis.outcomes.return_rate) per run (rows) and year (columns)."""
    from sim.analysis.outcomes import return_rate

    rate = ts[["run_id", "year"]].assign(rate=return_rate(ts))
    return rate.pivot(index="run_id", columns="year", values="rate").sort_index(axis=1)


def metric_values(
    ts: pd.DataFrame, target: Target, phase_out: pd.Series | None = None
) -> pd.Series:
    """The target's metric for every run in ``ts`` (index run_id); NaN where undefined.

    ``phase_out``: each run's phase-out year (index run_id), for the after-phase-out metrics.
    """
    info = target.info
    y = target.year
    years = sorted(ts["year"].unique())
    if y not in years:
        return pd.Series(np.nan, index=pd.Index(sorted(ts["run_id"].unique()), name="run_id"))
    if info.kind == "column":
        return _wide(ts, info.name)[y].astype(float)
    if info.kind == "ratio":
        a, b = info.name.split("/")
        num, den = _wide(ts, a)[y].astype(float), _wide(ts, b)[y].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = num / den
        r[(den == 0) & (num == 0)] = 0.0
        return r
    m = info.name
    if m == "return_rate":
        return return_rate_wide(ts)[y]
    if m in ("total_spending",):
        return _wide(ts, "cumulative_spending")[y].astype(float)
    if m == "exits_total":
        return _wide(ts, "exited_cumulative")[y].astype(float)
    if m == "cost_per_sustained_exit":
        spend = _wide(ts, "cumulative_spending")[y].astype(float)
        sus = _wide(ts, "sustained_exits")[y].astype(float)
        return spend / sus.where(sus > 0)
    if m == "mean_poverty_rate":
        pr = _wide(ts, "poverty_rate")
        cols = [c for c in pr.columns if 1 <= c <= y]
        return pr[cols].mean(axis=1) if cols else pd.Series(np.nan, index=pr.index)
    if m in AFTER_PHASE_OUT:
        wide = return_rate_wide(ts) if m.startswith("max_") else _wide(ts, "returns").astype(float)
        cut = (
            phase_out.reindex(wide.index).astype(float)
            if phase_out is not None
            else pd.Series(5.0, index=wide.index)
        )
        cols = np.asarray(wide.columns, dtype=float)
        window = (cols[None, :] > cut.to_numpy()[:, None]) & (cols[None, :] <= y)
        vals = wide.to_numpy(dtype=float)
        masked = np.where(window, vals, np.nan)
        any_year = window.any(axis=1)
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            out = np.nanmax(masked, axis=1) if m.startswith("max_") else np.nansum(masked, axis=1)
        out = np.where(any_year, out, np.nan)
        return pd.Series(out, index=wide.index)
    raise ValueError(f"no evaluation for metric {m!r}")  # pragma: no cover


class _quiet_nan_warnings:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


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


# ---------------------------------------------------------------------------------------------
# Evaluation against a batch


REPORT_COLUMNS = [
    "target",
    "strategy",
    "metric",
    "year",
    "op",
    "value",
    "unit",
    "runs",
    "met",
    "undefined",
    "probability",
    "ci_low",
    "ci_high",
    "verdict",
    "confidence",
    "achievable",
    "margin",
    "note",
]


@dataclass
class Evaluation:
    """The verdict table (one row per strategy × target) and the plan's inconsistencies."""

    frame: pd.DataFrame
    issues: list[Issue]
    confidence: float
    targets: TargetsFile
    n_ok: int = 0
    n_total: int = 0
    horizon: int = 0
    values: dict[str, pd.Series] = field(default_factory=dict)  # target name → value per run


def ok_runs(results) -> pd.DataFrame:
    runs = results.runs
    if "status" in runs.columns:
        runs = runs[runs["status"] == "ok"]
    return runs


def run_phase_out(results, runs: pd.DataFrame) -> pd.Series:
    from sim.analysis.outcomes import phase_out_year

    if runs.empty:
        return pd.Series(dtype=float)
    return phase_out_year(results, runs).set_axis(runs["run_id"].to_numpy())


def target_values(results, target: Target, runs: pd.DataFrame | None = None) -> pd.Series:
    """The target's metric for each finished run (index run_id)."""
    runs = ok_runs(results) if runs is None else runs
    ts = results.timeseries
    ts = ts[ts["run_id"].isin(runs["run_id"])]
    phase = run_phase_out(results, runs) if target.metric in AFTER_PHASE_OUT else None
    return metric_values(ts, target, phase).reindex(runs["run_id"].to_numpy())


def evaluate(results, targets: TargetsFile, confidence: float = DEFAULT_CONFIDENCE) -> Evaluation:
    """Every strategy × target: probability met, Wilson interval, verdict, achievable level."""
    runs = ok_runs(results)
    strategies = list(dict.fromkeys(runs["strategy"].astype(str)))
    rows = []
    values: dict[str, pd.Series] = {}
    for t in targets.targets:
        vals = target_values(results, t, runs)
        values[t.name] = vals
        for s in strategies:
            if not t.applies_to(s):
                continue
            ids = runs.loc[runs["strategy"].astype(str) == s, "run_id"].to_numpy()
            row = {
                "target": t.name,
                "strategy": s,
                "metric": t.metric,
                "year": t.year,
                "op": t.op,
                "value": t.value,
                "unit": t.info.unit,
                **assess(t, vals.reindex(ids).to_numpy(), confidence),
                "confidence": confidence,
                "note": t.note,
            }
            rows.append(row)
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    scenario, why = load_batch_scenario(results)
    phase = run_phase_out(results, runs)
    by_strategy = {
        s: set(phase[runs.loc[runs["strategy"] == s, "run_id"]].astype(int))
        for s in strategies
        if len(phase)
    }
    issues = check_plan(targets.targets, scenario, strategies, by_strategy)
    if scenario is None:
        issues.append(Issue("scenario", f"scenario not checked: {why}"))
    horizon = int(results.timeseries["year"].max()) if len(results.timeseries) else 0
    return Evaluation(
        frame=frame,
        issues=issues,
        confidence=confidence,
        targets=targets,
        n_ok=len(runs),
        n_total=len(results.runs),
        horizon=horizon,
        values=values,
    )


def fails(evaluation: Evaluation, fail_on: str | None) -> pd.DataFrame:
    """Rows that trip ``--fail-on``: over-ambitious ones; with ``stretch``, any not realistic."""
    f = evaluation.frame
    if fail_on is None:
        return f.iloc[:0]
    bad = {"over-ambitious"} if fail_on == "over-ambitious" else {"over-ambitious", "stretch"}
    return f[f["verdict"].isin(bad)]


# ---------------------------------------------------------------------------------------------
# Formatting


def format_value(v: float, unit: str) -> str:
    """A value in its unit: shares as percentages, counts and money with thousands separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "undefined"
    if math.isinf(v):
        return "never" if v > 0 else "-never"
    if unit.startswith("share") or unit == "0-1":
        return f"{v:.2%}"
    if unit in ("households", "persons", "enterprises", "villages"):
        return f"{v:,.0f}"
    if unit.startswith("yuan"):
        return f"{v:,.0f}"
    return f"{v:.4g}"


def format_margin(v: float, unit: str) -> str:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return format_value(v, unit)
    s = format_value(abs(v), unit)
    if unit.startswith("share") or unit == "0-1":
        s = f"{abs(v) * 100:.2f} pt"
    return ("+" if v >= 0 else "-") + s


def thresholds_text(confidence: float) -> str:
    c = f"{confidence:.0%}" if round(confidence * 100) == confidence * 100 else f"{confidence:g}"
    return f"realistic: P(met) >= {c}; stretch: 50% <= P(met) < {c}; over-ambitious: P(met) < 50%"


def format_evaluation(ev: Evaluation, results_path: str = "") -> str:
    """The printed report: header with thresholds, one block per target, then the warnings."""
    c = ev.confidence
    cpct = f"{c:.0%}"
    f = ev.frame
    strategies = list(dict.fromkeys(f["strategy"])) if len(f) else []
    lines = [
        f"targets {ev.targets.path} on {results_path}: {ev.n_ok} of {ev.n_total} runs ok, "
        f"years 0..{ev.horizon}, {len(strategies)} strategies",
        f"verdicts   {thresholds_text(c)}",
        f"achievable the level met in >= {cpct} of runs (caps <=, <: the {cpct} quantile of the "
        f"run values; floors >=, >: the {1 - c:.0%} quantile), inverted CDF",
        "margin     target minus achievable for caps, achievable minus target for floors: "
        f"negative = the target asks more than is met at {cpct}",
        "P(met)     share of runs (uncertainty samples x seeds) meeting the target; "
        "[95% Wilson interval]",
        "",
    ]
    header = ("strategy", "P(met)", "95% CI", "verdict", f"achievable@{cpct}", "margin")
    widths = [max(12, *(len(s) for s in strategies)) if strategies else 12, 7, 14, 15, 16, 14]
    for t in ev.targets.targets:
        sub = f[f["target"] == t.name]
        lines.append(f"{t.name}: {t.label}")
        if t.note:
            lines.append(f"  {t.note}")
        if sub.empty:
            lines.append("  (no runs of the strategies it applies to)")
            lines.append("")
            continue
        lines.append(
            "  "
            + "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            )
        )
        for r in sub.itertuples(index=False):
            cells = (
                r.strategy,
                f"{r.probability:.0%}",
                f"[{r.ci_low:.0%}, {r.ci_high:.0%}]",
                r.verdict,
                format_value(r.achievable, r.unit),
                format_margin(r.margin, r.unit),
            )
            lines.append(
                "  "
                + "  ".join(
                    str(x).ljust(w) if i == 0 else str(x).rjust(w)
                    for i, (x, w) in enumerate(zip(cells, widths, strict=True))
                )
            )
        lines.append("")
    counts = f["verdict"].value_counts() if len(f) else pd.Series(dtype=int)
    lines.append(
        "summary: "
        + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
        + f" (strategy x target pairs, confidence {cpct})"
    )
    if ev.issues:
        lines.append("")
        lines.append(f"plan consistency: {len(ev.issues)} warning(s)")
        for i in ev.issues:
            lines.append(f"  warning [{i.check}]: {i.message}")
    else:
        lines.append("plan consistency: no problems found")
    return "\n".join(lines)


def issues_frame(issues: Sequence[Issue]) -> pd.DataFrame:
    return pd.DataFrame(
        [(i.severity, i.check, i.target, i.message) for i in issues],
        columns=["severity", "check", "target", "message"],
    )


# ---------------------------------------------------------------------------------------------
# Files


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, whole or not at all (sim.config.files)."""
    write_text_atomic(path, frame.to_csv(index=False))


_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666"]


def plot_targets(ev: Evaluation, path: Path) -> None:
    """Probability per strategy × target with Wilson intervals; the verdict bands drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    f = ev.frame
    targets = [t for t in ev.targets.targets if (f["target"] == t.name).any()]
    strategies = list(dict.fromkeys(f["strategy"]))
    n_s = max(1, len(strategies))
    fig = Figure(figsize=(10, 1.6 + 0.17 * max(1, len(targets)) * (n_s + 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    c = ev.confidence
    for lo, hi, colour, text in (
        (0, 0.5, "#f4cccc", "over-ambitious"),
        (0.5, c, "#fff2cc", "stretch"),
        (c, 1, "#d9ead3", "realistic"),
    ):
        ax.axvspan(lo, hi, color=colour, alpha=0.6, lw=0)
        ax.text((lo + hi) / 2, -0.55, text, ha="center", va="bottom", fontsize=8, color="#444")
    ax.axvline(0.5, color="#999", lw=1, ls="--")
    ax.axvline(c, color="#555", lw=1, ls="--")
    for j, s in enumerate(strategies):
        sub = f[f["strategy"] == s].set_index("target")
        rows = [(i, sub.loc[t.name]) for i, t in enumerate(targets) if t.name in sub.index]
        if not rows:
            continue
        ax.errorbar(
            [r["probability"] for _, r in rows],
            [i + (j - (n_s - 1) / 2) * 0.8 / n_s for i, _ in rows],
            xerr=[
                [max(0.0, r["probability"] - r["ci_low"]) for _, r in rows],
                [max(0.0, r["ci_high"] - r["probability"]) for _, r in rows],
            ],
            fmt="o",
            color=_COLOURS[j % len(_COLOURS)],
            ms=5,
            capsize=2,
            label=s,
            clip_on=False,
        )
    ax.set_yticks(range(len(targets)))
    ax.set_yticklabels([f"{t.name}\n{t.label}" for t in targets], fontsize=7)
    for i in range(1, len(targets)):
        ax.axhline(i - 0.5, color="white", lw=1.5)
    ax.set_ylim(len(targets) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "probability that the target is met across uncertainty samples x seeds "
        "(dot; bar: 95% Wilson interval)",
        fontsize=8,
    )
    ax.set_title(
        f"Plan targets: realistic if P >= {c:.0%}, over-ambitious if P < 50%",
        fontsize=10,
        pad=16,
    )
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.035),
        ncol=n_s,
        fontsize=8,
        frameon=False,
        handletextpad=0.2,
    )
    import warnings

    with warnings.catch_warnings():  # a name in a script the font lacks: boxes, not noise
        warnings.filterwarnings("ignore", "Glyph .* missing", UserWarning)
        warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_with(path, lambda p: fig.savefig(p, dpi=120, format="png"))


def slug(name: str) -> str:
    """A file-name-safe form of a target name."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")
    return s or "target"
