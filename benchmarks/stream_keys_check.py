"""The flagship comparison before and after a change to the random-stream keys.

    .venv/bin/python benchmarks/stream_keys_check.py OUT.json [--compare BEFORE.json]
        [--scenario scenarios/county.toml] [--seeds 10] [--years 10]

Runs the four strategies (status_quo, transfusion, blood_making, precision) on the scenario for
seeds 1..N and writes, per strategy, the poverty rate at year 5 and at the horizon for every seed,
plus the paired blood_making - transfusion difference at the horizon. With ``--compare`` it prints
a before/after table of the means and sds over seeds and whether each mean moved within seed noise,
``|mean_after - mean_before| < 2 sd / sqrt(N)`` (sd: the larger of the two). A change that only
re-keys the random streams gives other draws, not other rules: every mean should stay within it.

To measure the code of another commit, run this file with that commit's tree first on the path,
e.g. ``git archive COMMIT | tar -x -C /tmp/old`` and ``PYTHONPATH=/tmp/old .venv/bin/python
benchmarks/stream_keys_check.py before.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")


def measure(scenario: str, seeds: int, years: int) -> dict:
    import sim
    from sim.model import PovertyModel

    out: dict = {"sim": str(Path(sim.__file__).resolve().parent), "seeds": seeds, "years": years}
    for strategy in STRATEGIES:
        mid, end = [], []
        for seed in range(1, seeds + 1):
            m = PovertyModel(scenario, strategy=strategy, seed=seed, years=years, agents=False)
            ts = m.run().timeseries().set_index("year")["poverty_rate"]
            mid.append(float(ts.loc[min(5, years)]))
            end.append(float(ts.loc[years]))
            m.release()
        out[f"{strategy} year 5"] = mid
        out[f"{strategy} year {years}"] = end
    bm, tf = out[f"blood_making year {years}"], out[f"transfusion year {years}"]
    out[f"blood_making - transfusion year {years}"] = [b - t for b, t in zip(bm, tf, strict=True)]
    return out


def table(before: dict, after: dict) -> str:
    rows = [
        "| quantity | mean before | sd before | mean after | sd after | Δmean | 2·sd/√n | within |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, b in before.items():
        if not isinstance(b, list) or name not in after:
            continue
        a, n = np.array(after[name]), len(b)
        b = np.array(b)
        sd = max(b.std(ddof=1), a.std(ddof=1))
        delta, tol = a.mean() - b.mean(), 2 * sd / math.sqrt(n)
        rows.append(
            f"| {name} | {b.mean():.4f} | {b.std(ddof=1):.4f} | {a.mean():.4f} | "
            f"{a.std(ddof=1):.4f} | {delta:+.4f} | {tol:.4f} | {'yes' if abs(delta) < tol else 'NO'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--compare", help="a BEFORE.json written by this script")
    ap.add_argument("--scenario", default="scenarios/county.toml")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args(argv)
    result = measure(args.scenario, args.seeds, args.years)
    Path(args.out).write_text(json.dumps(result, indent=1))
    if args.compare:
        print(table(json.loads(Path(args.compare).read_text()), result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
