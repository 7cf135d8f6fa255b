"""``python -m sim.analysis.validation`` (``make validation``): write docs/validation.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.analysis.validation.runs import DEFAULT_OUT, DEFAULT_SCENARIO, DEFAULT_SEEDS
from sim.config.files import write_text_atomic


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
    from sim.config import ConfigError
    from sim.config.loading import parse_overrides

    if args.years < 5:
        print("error: --years must be at least 5 (the checks read 2015-2020)", file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(args.set)
        text, _, _ = build_report(args.scenario, args.seeds, overrides=overrides, years=args.years)
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
