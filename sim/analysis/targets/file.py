"""Reading a targets file: every problem named by file and field (``ConfigError``), checked
against the horizon and strategies of an experiment or a batch's results."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from sim.analysis.targets.spec import OPS, Context, Plan, Target, TargetsFile, metric_info
from sim.config import ConfigError, read_toml
from sim.model.outputs import Outcome

TARGET_KEYS = ("name", "metric", "year", "op", "value", "strategy", "note")
TOP_KEYS = ("target", "description", "plan")
PLAN_KEYS = ("exits", "declare_year")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_NAME = 80  # a target's name is printed in tables and figure labels
MAX_VALUE = 1e15  # larger than any count, share or yuan amount of a county plan


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
    plan = None
    if isinstance(data, dict) and "plan" in data:
        plan = _check_plan(data["plan"], source, problems)
    description, raw = _top_level(data, source, problems)
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(raw):
        target = _parse_target(t, i, source, ctx, known, seen, problems)
        if target is not None:
            targets.append(target)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return TargetsFile(source, targets, description, plan)


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_plan(raw, source: str, problems: list[str]) -> Plan | None:
    """The ``[plan]`` table: exits per model year from year 1 and the declare year (摘帽)."""
    where = f"{source}: plan"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table [plan] with {', '.join(PLAN_KEYS)}")
        return None
    bad = len(problems)
    for key in raw:
        if key not in PLAN_KEYS:
            close = difflib.get_close_matches(key, PLAN_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}.{key}: unknown field{hint}; allowed: {', '.join(PLAN_KEYS)}")
    for key in PLAN_KEYS:
        if key not in raw:
            problems.append(f"{where}.{key}: required field is missing")
    exits = raw.get("exits")
    if "exits" in raw and not (
        isinstance(exits, list) and exits and all(_whole(x) and 0 <= x <= MAX_VALUE for x in exits)
    ):
        problems.append(
            f"{where}.exits: households to exit in each model year from year 1, a non-empty "
            f"list of whole numbers >= 0 (got {exits!r})"
        )
    year = raw.get("declare_year")
    if "declare_year" in raw and not (_whole(year) and (year == 0 or 1949 <= year <= 2100)):
        problems.append(
            f"{where}.declare_year: the calendar year the county is to be declared out (摘帽), "
            f"a whole number in 1949..2100, or 0 for none (got {year!r})"
        )
    if len(problems) > bad:
        return None
    return Plan(tuple(int(x) for x in exits), int(year))


def _top_level(data, source: str, problems: list[str]) -> tuple[str, list]:
    """The description and the list of [[target]] tables; ConfigError if there are none."""
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
    return description, raw


def _parse_target(t, i: int, source: str, ctx: Context, known, seen, problems) -> Target | None:
    """One [[target]] table: its problems appended to ``problems``, or the Target if none."""
    if not isinstance(t, dict):
        problems.append(f"{source}: target[{i}]: must be a table with {', '.join(TARGET_KEYS)}")
        return None
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
        _check_name(name, i, where, seen, problems)
    info = _check_metric(t, where, problems)
    year = _check_year(t, where, ctx, problems)
    op = t.get("op")
    op_ok = isinstance(op, str) and op in OPS
    if "op" in t and not op_ok:
        problems.append(f"{where}.op: unknown comparison {op!r}; allowed: {', '.join(OPS)}")
    value = _check_value(t, where, info, op if op_ok else None, problems)
    strategies = _check_strategies(t, where, known, problems)
    note = _check_note(t, where, problems)
    if len(problems) > bad:
        return None
    return Target(
        name=name.strip(),
        metric=info.name,
        year=int(year),
        op=op,
        value=float(value),
        strategies=strategies,
        note=note,
    )


def _check_name(name, i: int, where: str, seen: dict[str, int], problems: list[str]) -> None:
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


def _check_metric(t: dict, where: str, problems: list[str]) -> Outcome | None:
    if "metric" not in t:
        return None
    m = t["metric"]
    if not isinstance(m, str):
        problems.append(f"{where}.metric: must be text (got {m!r})")
        return None
    try:
        return metric_info(m)
    except ValueError as exc:
        problems.append(f"{where}.metric: {exc}")
        return None


def _check_year(t: dict, where: str, ctx: Context, problems: list[str]):
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
    return year


def _check_value(t: dict, where: str, info, op: str | None, problems: list[str]):
    """The target's value; ``op`` is None when the comparison is unknown."""
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
        elif info is not None and op is not None:
            msg = _value_problem(info, op, float(value))
            if msg:
                problems.append(f"{where}.value: {msg}")
    return value


def _check_strategies(t: dict, where: str, known, problems: list[str]) -> tuple[str, ...] | None:
    if "strategy" not in t:
        return None
    s = t["strategy"]
    names = [s] if isinstance(s, str) else s
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        problems.append(f"{where}.strategy: a strategy name or a list of names (got {s!r})")
        return None
    for x in names:
        if x not in known:
            close = difflib.get_close_matches(x, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}.strategy: unknown strategy {x!r}{hint}; allowed: "
                + ", ".join(sorted(known))
            )
    return tuple(dict.fromkeys(names))


def _check_note(t: dict, where: str, problems: list[str]) -> str:
    note = t.get("note", "")
    if not isinstance(note, str):
        problems.append(f"{where}.note: must be text (got {note!r})")
        return ""
    if _CONTROL.search(note.replace("\n", " ")):
        problems.append(f"{where}.note: control characters (escapes, tabs) are not allowed")
    return note


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
