"""`povsim` command line. Bad input: one message per problem, exit code 2, nothing written.

One module per command group: ``run`` (run, validate, strategies, params), ``batch``,
``sensitivity``, ``targets`` (targets, discover), ``analysis`` (compare, plot, report),
``roster`` (roster audit, roster example);
``common`` holds the exit codes and the bad-input message.

May import: every other package of ``sim``; nothing imports the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys

from sim.cli.common import EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="povsim",
        description=(
            "Agent-based simulation of rural households leaving and returning to poverty under "
            "poverty-alleviation strategies (transfusion vs blood-making)."
        ),
        epilog="example:\n  povsim run scenarios/county.toml --strategy status_quo --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"povsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from sim.cli.analysis import register as register_analysis
    from sim.cli.batch import register as register_batch
    from sim.cli.roster import register as register_roster
    from sim.cli.run import register as register_run
    from sim.cli.sensitivity import register as register_sensitivity
    from sim.cli.targets import register as register_targets

    for register in (
        register_run,
        register_batch,
        register_sensitivity,
        register_targets,
        register_analysis,
        register_roster,
    ):
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `povsim run ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
