"""What every povsim subcommand shares: how bad input is reported (one line a problem, exit 2)."""

from __future__ import annotations

import sys

EXIT_BAD_INPUT = 2


def fail(problems: list[str]) -> int:
    """Print each problem on stderr and return the bad-input exit code; nothing is written."""
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT
