"""`povsim batch`: run an experiment file (levers × uncertainty samples × seeds) in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli_common import fail as _fail

BATCH_EXAMPLE = """examples:
  povsim batch experiments/transfusion_vs_blood_making.toml
  povsim batch experiments/transfusion_vs_blood_making.toml --workers 2 --out results/tvb
  povsim batch experiments/transfusion_vs_blood_making.toml --out results/tvb --resume
  povsim batch experiments/transfusion_vs_blood_making.toml --scheduler tcp://10.0.0.5:8786

exit codes: 0 all runs ok; 1 some runs failed (recorded in runs.parquet) or the batch aborted;
2 bad input (nothing written); 130 interrupted (completed chunks kept; resume with --resume).
See docs/batch.md.
"""


def cmd_batch(args) -> int:
    from sim.config import ConfigError
    from sim.experiments import load_experiment
    from sim.runner import format_summary, resume_hint, run_batch

    if args.workers is not None and args.workers < 1:
        return _fail([f"--workers {args.workers}: must be at least 1"])
    if args.threads is not None and args.threads < 1:
        return _fail([f"--threads {args.threads}: must be at least 1"])
    try:
        design = load_experiment(args.experiment)
        summary = run_batch(
            design,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            quiet=args.quiet,
            threads=args.threads,
        )
    except ConfigError as exc:
        return _fail(exc.problems)
    out = Path(summary.out)
    if summary.interrupted:
        print(
            f"interrupted: {summary.ok + summary.failed} of {summary.total} runs are kept in "
            f"{out}; resume with:\n  {resume_hint(design, out)}",
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
        "--force", action="store_true", help="delete an earlier batch in --out and start over"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    p.set_defaults(func=cmd_batch)
