"""`povsim batch`: run an experiment file (levers × uncertainty samples × seeds) in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.batch import limits
from sim.cli.common import fail as _fail

BATCH_EXAMPLE = """examples:
  povsim batch experiments/transfusion_vs_blood_making.toml
  povsim batch experiments/transfusion_vs_blood_making.toml --workers 2 --out results/tvb
  povsim batch experiments/transfusion_vs_blood_making.toml --out results/tvb --resume
  povsim batch experiments/transfusion_vs_blood_making.toml --scheduler tcp://10.0.0.5:8786

exit codes: 0 all runs ok; 1 some runs failed (recorded in runs.parquet) or the batch aborted;
2 bad input, another batch writing --out, or work beyond --max-runs / --max-hours / memory
(nothing written); 130 interrupted by Ctrl-C, 143 by SIGTERM (completed chunks kept; resume
with --resume). See docs/batch.md.
"""


def cmd_batch(args) -> int:
    import math

    from sim.batch.experiments import load_experiment
    from sim.batch.runner import format_summary, resume_hint, run_batch
    from sim.batch.signals import EXIT_SIGTERM, Terminated
    from sim.config.files import BadInput

    if args.workers is not None and args.workers < 1:
        return _fail([f"--workers {args.workers}: must be at least 1"])
    if args.threads is not None and args.threads < 1:
        return _fail([f"--threads {args.threads}: must be at least 1"])
    if args.max_runs < 1:
        return _fail([f"--max-runs {args.max_runs}: must be at least 1"])
    if not (math.isfinite(args.max_hours) and args.max_hours > 0):
        return _fail([f"--max-hours {args.max_hours:g}: must be a positive number of hours"])
    try:
        design = load_experiment(args.experiment, max_runs=args.max_runs)
        summary = run_batch(
            design,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            quiet=args.quiet,
            threads=args.threads,
            max_hours=args.max_hours,
        )
    except BadInput as exc:
        return _fail(exc.problems)
    except Terminated:  # SIGTERM before the first run: nothing was kept
        print("terminated", file=sys.stderr)
        return EXIT_SIGTERM
    out = Path(summary.out)
    for line in summary.warnings if args.quiet else ():
        print(f"warning: {line}", file=sys.stderr)
    if summary.interrupted:
        print(
            f"{'terminated' if summary.terminated else 'interrupted'}: "
            f"{summary.ok + summary.failed} of {summary.total} runs are kept in "
            f"{out}; resume with:\n  {resume_hint(design, out)}",
            file=sys.stderr,
        )
    elif summary.aborted and summary.discarded:
        print(
            f"aborted: {summary.aborted}\nthe new batch was discarded; the earlier results in "
            f"{out} are unchanged",
            file=sys.stderr,
        )
    elif summary.aborted:
        print(
            f"aborted: {summary.aborted}\ncompleted runs are kept in {out}; resume with:\n"
            f"  {resume_hint(design, out)}",
            file=sys.stderr,
        )
    if not args.quiet or summary.failed:
        print(format_summary(summary, design))
    if summary.failed:
        print(
            f"{summary.failed} run(s) failed (status 'failed' in {out / 'runs.parquet'}); "
            f"first error: {summary.first_error}",
            file=sys.stderr,
        )
    return summary.exit_code


def register(subparsers) -> None:
    """Add the ``batch`` subcommand to ``povsim``'s parser."""
    p = subparsers.add_parser(
        "batch",
        help="run an experiment file: levers x uncertainty samples x seeds, in parallel",
        description=(
            "Run every run of EXPERIMENT (levers x uncertainty samples x replication seeds) and "
            "stream the results into --out (default results/<experiment name>/): manifest.json, "
            "runs.parquet, timeseries/ and, if kept, households/ Parquet parts. Read them with "
            "sim.load_results(DIR)."
        ),
        epilog=BATCH_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("experiment", help="experiment TOML file, e.g. experiments/small_test.toml")
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: one per core; 1 runs in this process); with "
        "--scheduler local, the number of Dask workers",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask: a scheduler address such as tcp://host:8786, or `local` for a "
        "LocalCluster of worker processes on this machine",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="threads for each run's compiled kernels (default: the cores divided among the "
        "workers; 1 on Dask); results do not depend on it",
    )
    p.add_argument("--out", help="output folder (default: results/<experiment name>)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="run only the runs missing from --out and keep the rest",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier batch in --out: the new one is built beside it and swapped in "
        "when it ends; the old one stays if the new one aborts",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    p.add_argument(
        "--max-runs",
        type=int,
        default=limits.MAX_RUNS,
        metavar="N",
        help=f"refuse a design of more than N runs before anything runs (default {limits.MAX_RUNS:,})",
    )
    p.add_argument(
        "--max-hours",
        type=float,
        default=limits.MAX_HOURS,
        metavar="H",
        help="refuse a batch estimated to take more than H hours on these workers "
        f"(default {limits.MAX_HOURS:g}); the estimate is printed",
    )
    p.set_defaults(func=cmd_batch)
