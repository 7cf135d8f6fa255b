"""``python -m sim.analysis.validation`` (``make validation``): write docs/validation.md."""

from __future__ import annotations

import argparse
import sys

from sim.analysis.files import write_generated
from sim.analysis.validation.runs import DEFAULT_OUT, DEFAULT_SCENARIO, DEFAULT_SEEDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.analysis.validation",
        description="Write the validation report (docs/validation.md): the model checked "
        "against stylized facts and official figures.",
    )
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario TOML file")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="markdown file to write")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="replication seeds"
    )
    parser.add_argument("--years", type=int, default=10, help="years to run (at least 5)")
    parser.add_argument(
        "--set", action="append", metavar="PATH=VALUE", help="override, as in povsim run"
    )
    args = parser.parse_args(argv)
    from sim.analysis.validation.rendering import build_report
    from sim.config.loading import parse_overrides

    if args.years < 5:
        print("error: --years must be at least 5 (the checks read 2015-2020)", file=sys.stderr)
        return 2

    def build() -> str:
        overrides = parse_overrides(args.set)
        return build_report(args.scenario, args.seeds, overrides=overrides, years=args.years)[0]

    return write_generated(args.out, build)


if __name__ == "__main__":
    raise SystemExit(main())
