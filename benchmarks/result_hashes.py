"""Fingerprints of the model's results: a hash of each built-in strategy's timeseries and final
household frame on the county (seed 1, ten years). A change that should not move any number
(a refactor, a speed-up) must leave them equal; compare the JSON of two commits.

    python benchmarks/result_hashes.py OUT.json [--drop SUBSTRING ...]

``--drop`` leaves out columns whose name contains the text (e.g. a new instrument's columns,
which a refactor adds but which are all zero under the other strategies).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")


def digest(frame, drop: list[str]) -> str:
    keep = [c for c in frame.columns if not any(d in c for d in drop)]
    return hashlib.sha256(frame[keep].to_csv(index=False).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="JSON file to write")
    ap.add_argument("--drop", action="append", default=[], metavar="SUBSTRING")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = {}
    for strategy in STRATEGIES:
        m = sim.PovertyModel(
            ROOT / "scenarios" / "county.toml", strategy=strategy, seed=args.seed, agents=False
        )
        m.run()
        ts = m.timeseries()
        out[strategy] = {
            "timeseries": digest(ts, args.drop),
            "households": digest(m.households(), args.drop),
            "poverty_rate_last_year": float(ts["poverty_rate"].iloc[-1]),
        }
    text = json.dumps(out, indent=1)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
