"""`povsim run`, `validate`, `strategies` and `params`: one scenario, its files and its parameters."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from sim.cli.common import fail as _fail
from sim.config.files import read_input_bytes
from sim.config.loading import parse_overrides

MAX_YEARS = 100  # meta.years allows 1..100

RUN_EXAMPLE = """example:
  povsim run scenarios/county.toml --strategy status_quo --seed 3 \\
      --set shocks.illness.incidence=0.15 --out results/county_sick
"""

TABLE_COLUMNS = {
    "year": ("year", "{:d}"),
    "calendar_year": ("cal", "{:d}"),
    "poverty_rate": ("poor %", "{:.1%}"),
    "poor_households": ("poor hh", "{:,d}"),
    "registered_households": ("registered", "{:,d}"),
    "exits": ("exits", "{:,d}"),
    "returns": ("returns", "{:,d}"),
    "returns_illness": ("ret. illness", "{:,d}"),
    "new_poor": ("new poor", "{:,d}"),
    "at_risk_households": ("at risk", "{:,d}"),
    "mean_income_pc": ("income/person", "{:,.0f}"),
    "spending": ("spending (M)", None),
}


def format_table(ts) -> str:
    cols = [c for c in TABLE_COLUMNS if c in ts.columns]
    out = ts[cols].copy()
    for c in cols:
        label, fmt = TABLE_COLUMNS[c]
        if c == "spending":
            out[c] = (out[c] / 1e6).map("{:,.1f}".format)
        else:
            out[c] = out[c].map(fmt.format)
        out = out.rename(columns={c: label})
    return out.to_string(index=False)


def _default_out(name: str, strategy: str, seed: int) -> Path:
    base = Path("results") / f"{name}_{strategy}_seed{seed}"
    out, k = base, 2
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def cmd_run(args) -> int:
    import sim
    from sim.config import ConfigError
    from sim.config.files import RUN_FOLDER, BadInput, check_out_folder, discard, staging_folder
    from sim.policies import get_strategy

    try:
        overrides = parse_overrides(args.set)
        if args.years is not None and not 1 <= args.years <= MAX_YEARS:
            return _fail([f"--years {args.years}: must be 1..{MAX_YEARS}, like meta.years"])
        scenario = sim.load_scenario(args.scenario, overrides)
        get_strategy(args.strategy, scenario)
        scenario_bytes = read_input_bytes(args.scenario, "scenario file")
        roster_problems = _with_roster(args, scenario)
    except (ConfigError, BadInput) as exc:
        return _fail(exc.problems)
    if roster_problems:
        return _fail(roster_problems)
    if args.seed < 0:
        return _fail([f"--seed {args.seed}: must be a non-negative integer"])
    out = Path(args.out) if args.out else _default_out(scenario.meta.name, args.strategy, args.seed)
    problems = check_out_folder(out, RUN_FOLDER, args.force)
    if not problems:
        from sim.batch.limits import check_run_memory

        problems = check_run_memory(scenario, where=str(args.scenario))
    if problems:
        return _fail(problems)
    try:  # the new folder is built beside --out and swapped in only when it is complete
        staging = staging_folder(out)
    except OSError as exc:
        return _fail([f"--out {out}: cannot create a folder here: {exc.strerror or exc}"])
    try:
        return _run_into(args, scenario, overrides, scenario_bytes, out, staging)
    except OSError as exc:
        return _fail([f"--out {out}: cannot write the results: {exc.strerror or exc}"])
    finally:
        discard(staging)


def _with_roster(args, scenario) -> list[str]:
    """Put --roster and --on-error into the scenario, then read and audit the roster (once: the
    model reuses it) and say what stops the run: problems of the file, of its fit in the
    county, or audit errors under --on-error fail."""
    if args.roster:
        scenario.roster = str(Path(args.roster).resolve())
    if args.on_error:
        if scenario.roster is None:
            return ["--on-error: needs a roster (--roster, or roster in the scenario file)"]
        scenario.roster_on_error = args.on_error
    if scenario.roster is None:
        return []
    from sim.roster.population import registered_part

    return registered_part(scenario)[2]


def _run_into(args, scenario, overrides, scenario_bytes, out: Path, staging: Path) -> int:
    import sim
    from sim.config.files import swap_into_place

    t0 = time.perf_counter()
    model = sim.PovertyModel(
        scenario, strategy=args.strategy, seed=args.seed, years=args.years, agents=False
    )
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    ts = model.timeseries()
    if not args.quiet:
        print(
            f"{scenario.meta.name}: {model.hh.n:,} households, {model.persons.n:,} people, "
            f"strategy {args.strategy}, seed {args.seed}, {model.years} years"
        )
        print(format_table(ts))

    ts.to_csv(staging / "timeseries.csv", index=False)
    model.households().to_parquet(staging / "households.parquet", index=False)
    manifest = {
        "command": "povsim run",
        "scenario": str(args.scenario),
        "scenario_sha256": hashlib.sha256(scenario_bytes).hexdigest(),
        "overrides": {k: v for k, v in overrides.items()},
        "strategy": args.strategy,
        "seed": args.seed,
        "years": model.years,
        "households": model.hh.n,
        "people": model.persons.n,
        "roster": scenario.roster,
        "roster_on_error": scenario.roster_on_error if scenario.roster else None,
        "version": sim.__version__,
        "setup_seconds": round(t1 - t0, 4),
        "run_seconds": round(t2 - t1, 4),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "summary": model.summary(),
    }
    (staging / "run.json").write_text(json.dumps(manifest, indent=2) + "\n")
    swap_into_place(staging, out)
    if not args.quiet:
        print(f"wrote {out}/timeseries.csv, households.parquet, run.json")
    return 0


def cmd_validate(args) -> int:
    from sim.batch.experiments import is_experiment_file, load_experiment
    from sim.config import ConfigError, load_scenario

    problems: list[str] = []
    try:
        overrides = parse_overrides(args.set)
    except ConfigError as exc:
        return _fail(exc.problems)
    from sim.analysis.targets.file import context_for_experiments, is_targets_file, load_targets

    designs, targets = [], []
    for f in args.files:
        try:
            if is_targets_file(f):  # a top-level [[target]] array: checked after the experiments
                targets.append(f)
            elif is_experiment_file(f):  # a top-level [experiment] table
                designs.append(load_experiment(f, overrides))
            else:
                load_scenario(f, overrides)
        except ConfigError as exc:
            problems.extend(exc.problems)
    for f in targets:  # against the horizon and strategies of the experiments given with them
        try:
            load_targets(f, context_for_experiments(designs))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        return _fail(problems)
    print("ok")
    return 0


def cmd_strategies(args) -> int:
    from sim.config import ConfigError, load_scenario
    from sim.policies import available

    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ConfigError as exc:
        return _fail(exc.problems)
    specs = available(scenario)
    width = max(len(n) for n in specs)
    for name, spec in specs.items():
        print(f"{name:<{width}}  {spec.description}")
    return 0


def cmd_params(args) -> int:
    from sim.config import ConfigError, build_scenario, load_scenario
    from sim.config.params_table import params_frame, to_markdown

    try:
        overrides = parse_overrides(args.set)
        if args.scenario:
            scenario = load_scenario(args.scenario, overrides)
        else:  # --set alone changes the defaults shown
            scenario = build_scenario({}, "defaults", overrides) if overrides else None
    except ConfigError as exc:
        return _fail(exc.problems)
    df = params_frame(scenario)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        print(to_markdown(df))
    return 0


def register(sub) -> None:
    """Add the run, validate, strategies and params commands to the ``povsim`` parser."""
    run = sub.add_parser(
        "run",
        help="run one scenario under one strategy and print the yearly table",
        description=(
            "Run SCENARIO for its horizon, print the yearly table and write timeseries.csv, "
            "households.parquet and run.json to --out (default: a new folder under results/)."
        ),
        epilog=RUN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", help="scenario TOML file, e.g. scenarios/county.toml")
    run.add_argument(
        "--strategy", default="status_quo", help="strategy name (see `povsim strategies`)"
    )
    run.add_argument("--seed", type=int, default=1, help="seed of every random stream (default 1)")
    run.add_argument(
        "--years", type=int, help="horizon in years (default: the scenario's meta.years)"
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a parameter by dotted path; repeatable, e.g. --set shocks.illness.incidence=0.05",
    )
    run.add_argument(
        "--roster", help="the county's register (docs/roster.md): its households start the model"
    )
    run.add_argument(
        "--on-error",
        choices=["drop", "keep", "fail"],
        help="households the roster audit marks as errors: drop them (default), keep them, or "
        "stop (exit 2)",
    )
    run.add_argument("--out", help="output folder (must not exist or be empty, unless --force)")
    run.add_argument("--force", action="store_true", help="overwrite an existing --out folder")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate",
        help="check scenario, experiment or targets files; print ok or every problem",
        description="Check files without running anything. Prints `ok`, or one line per problem.",
        epilog="example:\n  povsim validate scenarios/county.toml --set budget.yearly=5e7",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    val.add_argument(
        "files",
        nargs="+",
        help="scenario, experiment or targets TOML files (targets are checked against the "
        "horizon and strategies of experiment files given with them)",
    )
    val.add_argument("--set", action="append", metavar="PATH=VALUE", help="override, as in run")
    val.set_defaults(func=cmd_validate)

    st = sub.add_parser(
        "strategies",
        help="list the built-in strategies",
        description="List the built-in strategies with a one-line description each.",
        epilog="example:\n  povsim strategies",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    st.add_argument("--scenario", help="also list the strategies defined in this scenario file")
    st.set_defaults(func=cmd_strategies)

    pa = sub.add_parser(
        "params",
        help="print every parameter with its value, unit and source",
        description=(
            "Print the parameter table (path, value, unit, description, source): the defaults, or "
            "a scenario's effective values after its file and --set overrides."
        ),
        epilog="example:\n  povsim params --scenario scenarios/county.toml --format csv > params.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pa.add_argument("--scenario", help="scenario TOML file whose effective values to show")
    pa.add_argument("--format", choices=["md", "csv"], default="md")
    pa.add_argument("--set", action="append", metavar="PATH=VALUE", help="override, as in run")
    pa.set_defaults(func=cmd_params)
