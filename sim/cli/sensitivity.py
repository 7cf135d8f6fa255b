"""`povsim sensitivity`: Morris or Sobol' indices of an experiment's factors (docs/sensitivity.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.batch import limits
from sim.cli.common import fail as _fail

EXAMPLE = """examples:
  povsim sensitivity experiments/sensitivity_county.toml --method morris
  povsim sensitivity experiments/sensitivity_county.toml --method morris \\
      --outcome poverty_rate@10 diff:transfusion-blood_making:poverty_rate@10
  povsim sensitivity experiments/sensitivity_county.toml --method sobol --samples 32 \\
      --factors shocks.illness.incidence shocks.enterprise.failure_multiplier \\
               instruments.training.effect_mean identification.exclusion_error
  povsim sensitivity experiments/sensitivity_county.toml --method morris --resume

outcomes: METRIC@YEAR (a timeseries column, docs/outputs.md) or a derived outcome such as
cost_per_sustained_exit; with several strategies an outcome is analysed per strategy
(STRATEGY:OUTCOME), and diff:A-B:OUTCOME is A minus B paired on sample and seed.

exit codes: 0 ok; 1 some runs failed or an outcome could not be analysed; 2 bad input (nothing
written); 130 interrupted (finished runs kept; resume with --resume).
"""


def cmd_sensitivity(args) -> int:
    from sim.analysis.sensitivity import format_analysis, prepare_study, run_study
    from sim.batch.experiments import load_experiment
    from sim.config.files import BATCH_FOLDER, BadInput, check_out_folder

    problems = _option_problems(args)
    if problems:
        return _fail(problems)
    try:
        design = load_experiment(args.experiment)
        out = Path(args.out) if args.out is not None else _default_out(design.name, args.method)
        problems = check_out_folder(out, BATCH_FOLDER, args.force, args.resume)
        try:
            study = prepare_study(
                design,
                args.method,
                samples=args.samples,
                outcomes=args.outcome,
                include_levers=args.include_levers,
                factors=args.factors,
                levels=args.levels,
                inputs=args.inputs,
                max_runs=args.max_runs,
            )
        except BadInput as exc:
            return _fail(problems + exc.problems)
        if problems:
            return _fail(problems)
        if not args.quiet:
            p = study.plan
            print(
                f"{study.design.name}: {p.method}, {len(p.factors)} factors, {p.points} design "
                f"points x {len(study.strategies)} strateg{'ies' if len(study.strategies) > 1 else 'y'}"
                f" x {study.replications} seeds = {study.batch.total} runs",
                file=sys.stderr,
            )
            for note in study.notes:
                print(f"note: {note}", file=sys.stderr)
        done = run_study(
            study,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            quiet=args.quiet,
        )
    except BadInput as exc:
        return _fail(exc.problems)
    except OSError as exc:  # the disk filled up, a folder vanished: one line, not a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: cannot write the results{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    s = done.summary
    resume = _resume_command(args, done.out)
    if s.interrupted or s.aborted:
        what = "interrupted" if s.interrupted else f"aborted: {s.aborted}"
        print(
            f"{what}: {s.ok + s.failed} of {s.total} runs are kept in {done.out}; finish and "
            f"analyse with:\n  {resume}",
            file=sys.stderr,
        )
        return s.exit_code
    a = done.analysis
    if not args.quiet:
        print(format_analysis(a, study.plan.method))
        print(
            f"{s.total} runs ({s.skipped} already on disk, {s.failed} failed) and analysis in "
            f"{done.seconds:.1f} s -> {done.out / 'sensitivity'}"
        )
    elif a.skipped:
        for outcome, why in a.skipped.items():
            print(f"{outcome}: not analysed: {why}", file=sys.stderr)
    if s.failed:
        print(
            f"{s.failed} run(s) failed; first error: {s.first_error}",
            file=sys.stderr,
        )
    return 1 if s.failed or a.skipped else 0


def _default_out(name: str, method: str) -> Path:
    return Path("results") / f"{name}-{method}"


def _option_problems(args) -> list[str]:
    """Options that are wrong whatever the experiment says (checked before reading it)."""
    problems = []
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers {args.workers}: must be at least 1")
    if args.max_runs < 1:
        problems.append(f"--max-runs {args.max_runs}: must be at least 1")
    if args.resume and args.force:
        problems.append(
            "--resume and --force: give one (resume keeps the runs on disk, force replaces them)"
        )
    if args.levels is not None and args.method != "morris":
        problems.append(f"--levels {args.levels}: only for --method morris (Sobol' has no grid)")
    if args.scheduler is not None and not args.scheduler.strip():
        problems.append("--scheduler: empty; give an address such as tcp://host:8786, or local")
    for option, values in (("--outcome", args.outcome), ("--factors", args.factors)):
        if any(not v.strip() for v in values or []):
            problems.append(f"{option}: an empty name; see povsim sensitivity --help")
    return problems


def _resume_command(args, out) -> str:
    """The command that finishes this very study: every option that shapes it, repeated."""
    import shlex

    parts = ["povsim", "sensitivity", str(args.experiment), "--method", args.method]
    if args.samples is not None:
        parts += ["--samples", str(args.samples)]
    if args.max_runs != limits.MAX_RUNS:
        parts += ["--max-runs", str(args.max_runs)]
    if args.outcome:
        parts += ["--outcome", *args.outcome]
    if args.factors:
        parts += ["--factors", *args.factors]
    if args.include_levers:
        parts.append("--include-levers")
    if args.levels is not None:
        parts += ["--levels", str(args.levels)]
    if args.inputs != "range":
        parts += ["--inputs", args.inputs]
    parts += ["--out", str(out), "--resume"]
    return shlex.join(parts)


def register(subparsers) -> None:
    """Add the ``sensitivity`` subcommand to ``povsim``'s parser."""
    p = subparsers.add_parser(
        "sensitivity",
        help="Morris or Sobol' sensitivity indices of an experiment's uncertainties",
        description=(
            "Vary the uncertainties of EXPERIMENT (and its numeric levers with --include-levers) "
            "over their ranges with SALib's Morris or Sobol' design, run every design point "
            "under every strategy and replication seed with the batch runner, and write "
            "indices with bootstrap intervals, the seed-noise shares and figures to "
            "OUT/sensitivity/ (the batch itself goes to OUT, default results/<name>-<method>)."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "experiment", help="experiment TOML file, e.g. experiments/sensitivity_county.toml"
    )
    p.add_argument("--method", choices=["morris", "sobol"], required=True)
    _add_design_options(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_sensitivity)


def _add_design_options(p: argparse.ArgumentParser) -> None:
    """What the study varies and analyses: samples, outcomes, factors, levers, levels, inputs."""
    p.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="Morris trajectories, or Sobol' base samples (a power of two); default: the "
        "experiment's sampling.samples. Runs: Morris N(k+1), Sobol' N(k+2) points, times "
        "strategies and seeds",
    )
    p.add_argument(
        "--outcome",
        nargs="+",
        action="extend",
        metavar="OUTCOME",
        help="METRIC@YEAR, a derived outcome, STRATEGY:OUTCOME or diff:A-B:OUTCOME (default: "
        "poverty_rate at the horizon, and its difference between the first two strategies)",
    )
    p.add_argument(
        "--factors",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="vary only these factors (others keep the scenario's value; levers their first)",
    )
    p.add_argument(
        "--include-levers",
        action="store_true",
        help="also vary numeric levers with several values, continuously over min..max",
    )
    p.add_argument(
        "--levels", type=int, help="Morris grid levels (even, at least 2; default 4); Morris only"
    )
    p.add_argument(
        "--inputs",
        choices=["range", "distribution"],
        default="range",
        help="range: each factor uniform over its bounds (default); distribution: through "
        "the experiment's own distribution (inverse CDF)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """How and where the study runs: workers, scheduler, run limit, output folder, resume."""
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: one per core; 1 runs in this process); with "
        "--scheduler local, the number of Dask workers",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask: a scheduler address such as tcp://host:8786, or `local`",
    )
    p.add_argument(
        "--max-runs",
        type=int,
        default=limits.MAX_RUNS,
        metavar="N",
        help=f"refuse a study of more runs than this (default {limits.MAX_RUNS:,}); the count "
        "is checked before anything is sampled or run",
    )
    p.add_argument("--out", help="output folder (default: results/<experiment name>-<method>)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish the runs missing from --out, then analyse (a finished study is only "
        "analysed: --outcome adds outcomes, the earlier ones are kept)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier study of povsim's in --out and start over",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
