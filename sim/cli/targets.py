"""`povsim targets` and `povsim discover`: are a plan's targets over-ambitious, and why?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import fail as _fail

EXIT_FAIL_ON = 1
FORCE_HELP = (
    "overwrite existing output files (povsim's own files in a batch folder are regenerated "
    "without it)"
)

TARGETS_EXAMPLE = """examples:
  povsim targets results/transfusion_vs_blood_making --targets experiments/county_plan_targets.toml
  povsim targets results/tvb --targets plan.toml --confidence 0.9 --fail-on over-ambitious

exit codes: 0 done; 1 --fail-on tripped (a target got that verdict, or a worse one);
2 bad input (targets file, results folder, options). See docs/targets.md.
"""

DISCOVER_EXAMPLE = """examples:
  povsim discover results/tvb --targets experiments/county_plan_targets.toml \\
      --target poverty_rate_below_27pct_y10 --strategy precision

exit codes: 0 done (with or without a box); 2 bad input. See docs/targets.md.
"""


def _load(results_dir: str, targets_path: str):
    """Results and targets validated against them; BadInput (ConfigError, ResultsError) on any
    problem."""
    from sim.analysis.targets.evaluation import ok_runs
    from sim.analysis.targets.file import context_for_results, load_targets
    from sim.batch.results import load_results
    from sim.config import ConfigError

    results = load_results(results_dir)
    missing = [c for c in ("run_id", "strategy") if c not in results.runs.columns]
    if missing:
        raise ConfigError(
            [f"{results_dir}: the run table lacks the column(s) {', '.join(missing)}"]
        )
    if ok_runs(results).empty:
        raise ConfigError([f"{results_dir}: no finished (ok) runs to evaluate"])
    targets = load_targets(targets_path, context_for_results(results))
    return results, targets


def cmd_targets(args) -> int:
    from sim.analysis.files import write_csv
    from sim.analysis.targets.consistency import issues_frame
    from sim.analysis.targets.evaluation import evaluate, fails
    from sim.analysis.targets.output import format_evaluation, plot_targets
    from sim.cli.analysis import check_derived
    from sim.config.files import BadInput, check_new_file

    if not 0.5 <= args.confidence <= 1.0:
        return _fail([f"--confidence {args.confidence}: must lie in [0.5, 1]"])
    out = Path(args.out) if args.out else None
    if out is not None:  # the user's files: an existing one only with --force
        problems = check_new_file(out, args.force, "--out")
        if not problems:
            issues_out = out.with_name(f"{out.stem}_consistency.csv")
            problems = [
                p.replace(f"--out {issues_out}:", f"--out {out}: its companion {issues_out.name}:")
                for p in check_new_file(issues_out, args.force, "--out")
            ]
        if problems:
            return _fail(problems)
    try:
        results, targets = _load(args.results, args.targets)
    except BadInput as exc:
        return _fail(exc.problems)
    figure = results.path / "figures" / "targets.png"
    derived = [figure]
    if out is None:
        out = results.path / "targets.csv"
        derived += [out, out.with_name(f"{out.stem}_consistency.csv")]
    issues_out = out.with_name(f"{out.stem}_consistency.csv")
    problems = check_derived(results.path, derived, args.force)
    if problems:
        return _fail(problems)
    try:
        ev = evaluate(results, targets, args.confidence)
    except KeyError as exc:
        return _fail([f"{args.results}: the results lack the column {exc} the targets need"])
    write_csv(ev.frame, out)
    write_csv(issues_frame(ev.issues), issues_out)
    plot_targets(ev, figure)
    print(format_evaluation(ev, str(results.path)))
    print(f"\nwrote {out}, {issues_out.name}, {figure}")
    tripped = fails(ev, args.fail_on)
    if len(tripped):
        by_target = tripped.groupby("target", sort=False)["strategy"].agg(", ".join)
        pairs = "; ".join(f"{t} ({s})" for t, s in by_target.items())
        what = "over-ambitious" if args.fail_on == "over-ambitious" else "stretch or worse"
        print(
            f"fail-on {args.fail_on}: {len(tripped)} strategy x target pairs {what}: {pairs}",
            file=sys.stderr,
        )
        return EXIT_FAIL_ON
    return 0


def cmd_discover(args) -> int:
    from sim.analysis.discovery import discover, format_discovery, plot_tradeoffs
    from sim.analysis.files import slug
    from sim.analysis.targets.evaluation import ok_runs, target_values
    from sim.cli.analysis import check_derived
    from sim.config.files import BadInput

    try:
        results, targets = _load(args.results, args.targets)
        target = targets.by_name(args.target)
    except BadInput as exc:
        return _fail(exc.problems)
    figure = results.path / "figures" / f"discover_{slug(target.name, 'target')}.png"
    problems = check_derived(results.path, [figure], args.force)
    if problems:
        return _fail(problems)
    runs = ok_runs(results)
    batch = list(dict.fromkeys(runs["strategy"].astype(str)))
    if args.strategy:
        if args.strategy not in batch:
            return _fail(
                [f"--strategy {args.strategy}: not in this batch; strategies: {', '.join(batch)}"]
            )
        strategies = [args.strategy]
    else:
        strategies = [s for s in batch if target.applies_to(s)]
        if not strategies:
            return _fail(
                [
                    f"--target {target.name}: applies to {', '.join(target.strategies or ())}, "
                    f"none of which ran in this batch ({', '.join(batch)})"
                ]
            )
    try:
        values = target_values(results, target, runs)
    except KeyError as exc:
        return _fail([f"{args.results}: the results lack the column {exc} the target needs"])
    missed = ~target.met(values.to_numpy())
    # x: the uncertain parameters, plus any lever other than the strategy that the batch varied
    xcols = [c for c in results.uncertainties if c in runs.columns]
    xcols += [
        c
        for c in results.levers
        if c != "strategy" and c in runs.columns and c not in xcols and runs[c].nunique() > 1
    ]
    print(f"target {target.name}: {target.label}" + (f" ({target.note})" if target.note else ""))
    print(
        f"scenario discovery (PRIM) over {', '.join(xcols) or 'no varied parameter'}; "
        "outcome of interest: target missed"
    )
    found = []
    for s in strategies:
        sel = (runs["strategy"].astype(str) == s).to_numpy()
        d = discover(runs.loc[sel, xcols], missed[sel], label=s)
        found.append(d)
        print()
        print(format_discovery(d))
    print()
    if plot_tradeoffs(found, figure, f"{target.name}: {target.label}"):
        print(f"wrote {figure} (peeling trade-off: coverage vs density)")
    else:
        print("no figure: PRIM was not run (see above)")
    return 0


def register(subparsers) -> None:
    """Add the ``targets`` and ``discover`` subcommands to ``povsim``'s parser."""
    p = subparsers.add_parser(
        "targets",
        help="probability that each plan target is met, verdicts, achievable levels",
        description=(
            "For every strategy x target of the targets FILE: the probability that the target is "
            "met across the batch's uncertainty samples and seeds (95% Wilson interval), a "
            "verdict (realistic / stretch / over-ambitious), the level that is met with the "
            "chosen confidence and the margin to it; plus the plan's consistency checks. Writes "
            "RESULTS/targets.csv (or --out), <out>_consistency.csv and "
            "RESULTS/figures/targets.png."
        ),
        epilog=TARGETS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", metavar="RESULTS", help="batch results folder (povsim batch --out)")
    p.add_argument("--targets", required=True, metavar="FILE", help="targets TOML file")
    p.add_argument(
        "--confidence",
        type=float,
        default=0.8,
        help="probability a target needs to be realistic, and of the achievable level "
        "(default 0.8; 0.5..1)",
    )
    p.add_argument(
        "--fail-on",
        choices=["over-ambitious", "stretch"],
        help="exit 1 if any target is over-ambitious (or, with `stretch`, not realistic)",
    )
    p.add_argument("--out", metavar="FILE.csv", help="verdict table (default RESULTS/targets.csv)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.set_defaults(func=cmd_targets)

    d = subparsers.add_parser(
        "discover",
        help="scenario discovery (PRIM): the uncertain conditions under which a target fails",
        description=(
            "Run PRIM over the batch's uncertain parameters with 'target missed' as the outcome "
            "of interest, per strategy; print each box found (ranges, coverage, density) in "
            "plain words, or why there is none; write RESULTS/figures/discover_<target>.png."
        ),
        epilog=DISCOVER_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("results", metavar="RESULTS", help="batch results folder")
    d.add_argument("--target", required=True, metavar="NAME", help="name of the target")
    d.add_argument("--targets", required=True, metavar="FILE", help="targets TOML file")
    d.add_argument(
        "--strategy",
        help="only this strategy (default: every strategy of the batch the target applies to)",
    )
    d.add_argument("--force", action="store_true", help=FORCE_HELP)
    d.set_defaults(func=cmd_discover)
