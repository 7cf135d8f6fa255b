"""``python -m sim.analysis.calibration`` (``make calibration``): write docs/calibration.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.analysis.calibration.facts import DEFAULT_OUT, DEFAULT_SCENARIO, DEFAULT_SEEDS, STRATEGIES
from sim.analysis.calibration.rendering import build_report
from sim.config.files import write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.analysis.calibration",
        description="Write the calibration report (docs/calibration.md): simulated values of the "
        "seed county beside the facts the model can reproduce.",
    )
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario TOML file")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="markdown file to write")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="replication seeds"
    )
    parser.add_argument(
        "--set", action="append", metavar="PATH=VALUE", help="override, as in povsim run"
    )
    args = parser.parse_args(argv)
    from sim.config import ConfigError
    from sim.config.loading import parse_overrides

    try:
        overrides = parse_overrides(args.set)
        text, _, _ = build_report(args.scenario, args.seeds, STRATEGIES, overrides)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
