"""Roster import and audit at the scale of a large prefecture's register (about a million persons,
as Ankang's): time and peak memory of `read_roster` + `audit`, CSV and Parquet, each in a fresh
process (the target: under 30 s and 2 GB on a 2-core machine).

    python benchmarks/roster_bench.py [--persons 1000000] [--out benchmarks/results/roster.json]

The roster is the seed county's example roster (1% of households per error kind) repeated with
new household keys, villages and ID numbers until it holds ``--persons`` persons.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from sim.config import load_scenario
from sim.roster.audit import audit
from sim.roster.read import read_roster
sc = load_scenario(sys.argv[2])
t1 = time.perf_counter()
roster = read_roster(sys.argv[1])
t2 = time.perf_counter()
findings = audit(roster, sc)
t3 = time.perf_counter()
print(json.dumps({
    "persons": len(roster.persons), "households": len(roster.households),
    "findings": len(findings), "import_s": round(t2 - t1, 2), "audit_s": round(t3 - t2, 2),
    "total_s": round(t3 - t1, 2), "startup_s": round(t1 - t0, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
"""


def tiled_roster(persons: int) -> pd.DataFrame:
    """The county example repeated: each copy a new set of villages, households and people."""
    from sim.config import load_scenario
    from sim.roster.example import english_values, example_roster

    sc = load_scenario(ROOT / "scenarios" / "county.toml")
    frame, _ = example_roster(sc, 1, 0.01)
    frame = english_values(frame)
    copies = -(-persons // len(frame))
    parts = []
    for k in range(copies):
        part = frame.copy()
        tag = f"{k:03d}"
        part["household_id"] = tag + part["household_id"]
        part["village"] = tag + part["village"]
        part["town"] = tag + part["town"]
        part["id_number"] = (
            part["id_number"].str.slice(0, 2) + f"{k:04d}" + part["id_number"].str.slice(6)
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True).iloc[:persons]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "roster.json"))
    args = ap.parse_args(argv)
    frame = tiled_roster(args.persons)
    scenario = ROOT / "scenarios" / "county.toml"  # its line and ages; its totals will differ
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"csv": Path(tmp) / "roster.csv", "parquet": Path(tmp) / "roster.parquet"}
        frame.to_csv(paths["csv"], index=False)
        frame.astype(str).to_parquet(paths["parquet"], index=False)
        for fmt, path in paths.items():
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(scenario)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            results[fmt] = json.loads(out.stdout) | {"file_mb": round(path.stat().st_size / 2**20)}
            print(fmt, results[fmt])
    ok = all(r["total_s"] < 30 and r["peak_rss_mb"] < 2048 for r in results.values())
    results["within_target"] = bool(ok)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'within' if ok else 'OUTSIDE'} the target (30 s, 2 GB); wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
