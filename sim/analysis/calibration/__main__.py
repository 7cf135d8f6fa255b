"""``python -m sim.analysis.calibration`` (``make calibration``): write docs/calibration.md."""

from __future__ import annotations

import argparse

from sim.analysis.calibration.facts import DEFAULT_OUT, DEFAULT_SCENARIO, DEFAULT_SEEDS, STRATEGIES
from sim.analysis.calibration.rendering import build_report
from sim.analysis.files import write_generated


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
    from sim.config.loading import parse_overrides

    def build() -> str:
        return build_report(args.scenario, args.seeds, STRATEGIES, parse_overrides(args.set))[0]

    return write_generated(args.out, build)


if __name__ == "__main__":
    raise SystemExit(main())
