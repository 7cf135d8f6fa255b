"""`povsim roster audit` and `povsim roster example`: check a county's register, or write an
example one (docs/roster.md). Bad input: one line per problem, exit 2, nothing written."""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import time
from pathlib import Path

from sim.cli.common import fail
from sim.config.files import FolderKind, check_out_folder

SEED_COUNTY = Path(__file__).resolve().parents[2] / "scenarios" / "county.toml"
AUDIT_FOLDER = FolderKind.of_command(
    "povsim roster audit", "audit.json", ("audit.json", "audit.csv", "audit.html")
)
EXAMPLE_FOLDER = FolderKind.of_command(
    "povsim roster example",
    "example.json",
    ("example.json", "injected.csv")
    + tuple(f"roster_{lang}.{ext}" for lang in ("zh", "en") for ext in ("csv", "xlsx", "parquet")),
)
AUDIT_EXAMPLE = """examples:
  povsim roster example --out results/example_roster --errors 0.01
  povsim roster audit results/example_roster/roster_zh.csv --scenario scenarios/county.toml \\
      --out results/example_audit --fail-on duplicate_household,category_cause
"""


def _scenario(path: str | None, problems: list[str]):
    """The scenario (the seed county by default), or None with its problems added."""
    from sim.config import ConfigError, load_scenario

    try:
        return load_scenario(path or SEED_COUNTY)
    except ConfigError as exc:
        problems += exc.problems
        return None


def cmd_audit(args) -> int:
    from sim.config.files import BadInput
    from sim.roster.audit import KINDS, audit, summary
    from sim.roster.read import read_roster

    fail_on = [k.strip() for k in (args.fail_on or "").split(",") if k.strip()]
    unknown = [k for k in fail_on if k not in KINDS and k not in ("error", "warning")]
    if unknown:
        allowed = ", ".join(["error", "warning", *KINDS])
        return fail([f"--fail-on {','.join(unknown)}: unknown kind; allowed: {allowed}"])
    problems = check_out_folder(args.out, AUDIT_FOLDER, args.force) if args.out else []
    sc = _scenario(args.scenario, problems)
    if problems:
        return fail(problems)
    try:
        roster = read_roster(args.roster)
    except BadInput as exc:
        return fail(exc.problems)
    findings = audit(roster, sc, totals=args.scenario is not None)
    table = summary(findings)
    print(f"{args.roster}: {len(roster.households):,} households, {len(roster.persons):,} persons")
    print(table[table["findings"] > 0].drop(columns="meaning").to_string(index=False) or "")
    if not len(findings):
        print("no findings")
    if args.out:
        _write_audit(args, roster, findings, table)
    hit = findings["kind"].isin(fail_on) | findings["severity"].isin(fail_on)
    return 1 if hit.any() else 0


def _write_audit(args, roster, findings, table) -> None:
    from sim.config.files import discard, staging_folder, swap_into_place, write_with
    from sim.roster.audit import by_village

    out = Path(args.out)
    staging = staging_folder(out)
    try:
        write_with(staging / "audit.csv", lambda p: findings.to_csv(p, index=False))
        page = _page(args.roster, roster, table, by_village(findings), findings)
        (staging / "audit.html").write_text(page, encoding="utf-8")
        record = {
            "command": "povsim roster audit",
            "roster": str(args.roster),
            "roster_sha256": _sha256(args.roster),
            "scenario": args.scenario,
            "households": len(roster.households),
            "persons": len(roster.persons),
            "findings": {k: int(n) for k, n in zip(table["kind"], table["findings"], strict=True)},
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (staging / "audit.json").write_text(json.dumps(record, indent=2) + "\n")
        swap_into_place(staging, out)
    finally:
        discard(staging)
    print(f"wrote {out}/audit.csv, audit.html, audit.json")


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _page(source, roster, table, villages, findings, sample: int = 50) -> str:
    """The audit as one HTML page: counts by kind, by village, and the first findings of each
    kind (all of them are in audit.csv)."""
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>roster audit</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>",
        f"<h1>Roster audit</h1><p>{esc(str(source))}: {len(roster.households):,} households, "
        f"{len(roster.persons):,} persons; {len(findings):,} findings.</p>",
        "<h2>By kind</h2>",
        table.to_html(index=False),
        "<h2>By village</h2>",
        villages.to_html(index=False) if len(villages) else "<p>none</p>",
    ]
    for kind, group in findings.groupby("kind", sort=False):
        parts.append(f"<h2>{esc(str(kind))}</h2><p>{len(group):,} findings")
        parts.append(
            f"{'; the first ' + str(sample) + ' below' if len(group) > sample else ''}</p>"
        )
        parts.append(group.head(sample).to_html(index=False))
    return "\n".join(parts) + "\n"


def cmd_example(args) -> int:
    from sim.config.files import discard, staging_folder, swap_into_place, write_with
    from sim.roster.example import chinese_values, english_values, example_roster

    problems = check_out_folder(args.out, EXAMPLE_FOLDER, args.force)
    if not 0.0 <= args.errors <= 0.05:
        problems.append(f"--errors {args.errors}: must be a share 0..0.05 of households per kind")
    if args.seed < 0:
        problems.append(f"--seed {args.seed}: must be a non-negative integer")
    sc = _scenario(args.scenario, problems)
    if problems:
        return fail(problems)
    frame, injected = example_roster(sc, args.seed, args.errors)
    out = Path(args.out)
    staging = staging_folder(out)
    try:
        for lang, convert in (("zh", chinese_values), ("en", english_values)):
            table = convert(frame)
            write_with(staging / f"roster_{lang}.{args.format}", _writer(table, args.format))
        write_with(staging / "injected.csv", lambda p: injected.to_csv(p, index=False))
        record = {
            "command": "povsim roster example",
            "scenario": args.scenario,
            "seed": args.seed,
            "errors": args.errors,
            "households": int(frame["household_id"].nunique()),
            "persons": len(frame),
            "injected": injected["kind"].value_counts().to_dict(),
        }
        (staging / "example.json").write_text(json.dumps(record, indent=2) + "\n")
        swap_into_place(staging, out)
    finally:
        discard(staging)
    print(
        f"wrote {out}/roster_zh.{args.format}, roster_en.{args.format} "
        f"({record['households']:,} households, {len(frame):,} persons), injected.csv "
        f"({len(injected):,} errors)"
    )
    return 0


def _writer(table, fmt: str):
    if fmt == "csv":
        return lambda p: table.to_csv(p, index=False, encoding="utf-8-sig")
    if fmt == "xlsx":
        return lambda p: table.to_excel(p, index=False, engine="openpyxl")
    text = {c: str for c in table.columns if table[c].dtype == object}  # one type a column
    return lambda p: table.astype(text).to_parquet(p, index=False)


def register(sub) -> None:
    """Add `povsim roster audit` and `povsim roster example` to the parser."""
    roster = sub.add_parser(
        "roster",
        help="audit a county's registered-household roster, or write an example one",
        description="A county's own register (建档立卡 roster): see docs/roster.md.",
        epilog=AUDIT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rsub = roster.add_subparsers(dest="roster_command", metavar="COMMAND")
    au = rsub.add_parser(
        "audit",
        help="find duplicates, 乱归类, income that does not add up, ... in a roster",
        description=(
            "Audit ROSTER (CSV, .xlsx or Parquet): print the findings by kind; with --out write "
            "audit.csv (every finding, with its rows), audit.html and audit.json. Exit 1 when a "
            "kind named by --fail-on was found, 0 otherwise, 2 on bad input."
        ),
        epilog=AUDIT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    au.add_argument("roster", help="the roster file")
    au.add_argument("--scenario", help="scenario file: its line, ages and county totals")
    au.add_argument("--out", help="output folder for audit.csv, audit.html, audit.json")
    au.add_argument("--force", action="store_true", help="replace an earlier audit --out")
    au.add_argument(
        "--fail-on", metavar="KIND,...", help="exit 1 if any of these kinds (or error, warning)"
    )
    au.set_defaults(func=cmd_audit)
    ex = rsub.add_parser(
        "example",
        help="write a synthetic county roster with known injected errors",
        description=(
            "Write the synthetic county's registered households as a roster, with Chinese and "
            "with English headers, errors of each audited kind injected in --errors of the "
            "households each, and injected.csv listing them."
        ),
        epilog=AUDIT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument("--out", required=True, help="output folder (new or empty, unless --force)")
    ex.add_argument("--errors", type=float, default=0.0, help="share per kind, 0..0.05 (0)")
    ex.add_argument("--scenario", help="scenario file of the county (default: the seed county)")
    ex.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ex.add_argument("--format", choices=["csv", "xlsx", "parquet"], default="csv")
    ex.add_argument("--force", action="store_true", help="replace an earlier example --out")
    ex.set_defaults(func=cmd_example)
    roster.set_defaults(func=lambda args: (roster.print_help(), 2)[1])
