"""`povsim compare | plot | report`: read a batch's results folder (docs/analysis.md).

Bad input (not a results folder, an unknown strategy, lever or outcome, a year outside the
horizon) prints one message and exits with code 2, writing nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import fail as _fail

COMPARE_EXAMPLE = """examples:
  povsim compare results/transfusion_vs_blood_making
  povsim compare results/transfusion_vs_blood_making --reference transfusion --years 3,5,10

Levels are means with the 5th-95th percentiles of the run values (seeds x uncertainty samples);
differences are paired by (sample, replication). See docs/analysis.md.
"""

PLOT_EXAMPLE = """examples:
  povsim plot results/transfusion_vs_blood_making
  povsim plot results/transfusion_vs_blood_making --format png,svg
  povsim plot results/budget_sweep --heatmap budget.yearly,programme.phase_out_year --outcome poverty_rate@10
"""

FORCE_HELP = (
    "overwrite an existing output file (povsim's own files in a batch folder are regenerated "
    "without it)"
)

REPORT_EXAMPLE = """example:
  povsim batch experiments/transfusion_vs_blood_making.toml
  povsim report results/transfusion_vs_blood_making
"""


def _load(path: str):
    """The batch in ``path``, or the error message to print."""
    from sim.batch.results import NoResults, load_results
    from sim.config.files import BadInput

    try:
        results = load_results(path)
    except NoResults as exc:
        return None, f"{exc}; give the folder written by `povsim batch`"
    except BadInput as exc:
        return None, exc.problems[0]
    except OSError as exc:
        return None, f"{path}: cannot read the results ({exc.strerror or exc})"
    missing = [c for c in ("run_id", "strategy") if c not in results.runs.columns]
    if missing:
        return None, f"{path}: the run table lacks the column(s) {', '.join(missing)}"
    ok = (
        results.runs["status"] == "ok"
        if "status" in results.runs
        else results.runs["run_id"].notna()
    )
    if not ok.any() or results.timeseries.empty:
        return None, f"{path}: the batch has no finished runs yet"
    return results, None


def strategies_of(results) -> list[str]:
    """The strategies with finished runs, in batch order."""
    runs = results.runs
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    return list(dict.fromkeys(ok["strategy"].astype(str)))


def check_reference(results, reference: str | None) -> list[str]:
    """An unknown --reference is bad input (a figure silently skipped is not an answer)."""
    strategies = strategies_of(results)
    if reference is None or reference in strategies:
        return []
    return [
        f"--reference {reference}: not a strategy of this batch; "
        f"its strategies: {', '.join(strategies) or '(none finished)'}"
    ]


def check_derived(results_path: Path, paths: list[Path], force: bool) -> list[str]:
    """Problems with writing povsim's own derived files inside a results folder (compare.csv,
    figures/, report.*, targets.csv): checked before anything is computed.

    In a folder povsim recognises as its batch (manifest.json with the povsim format) they are
    regenerated without --force; elsewhere an existing file is replaced only with --force.
    """
    from sim.config.files import BATCH_FOLDER, check_new_file

    owned = BATCH_FOLDER.owns(Path(results_path))
    problems: list[str] = []
    for p in map(Path, paths):
        found = check_new_file(p, True, "output")  # a folder in the way, a folder not writable
        if found:
            problems += found
        elif p.exists() and not owned and not force:
            problems.append(
                f"output {p}: file exists and {results_path} is not recognised as a povsim batch "
                "folder (no manifest.json with the povsim format); use --force to overwrite it"
            )
    problems = list(dict.fromkeys(problems))
    if len(problems) > 1:  # one message: the first problem, and how many more there are
        return [f"{problems[0]} (and {len(problems) - 1} more output file(s) like it)"]
    return problems


def _missing_column(path, exc: KeyError) -> list[str]:
    return [
        f"{path}: the results lack the column {exc} (not written by this version of povsim batch?)"
    ]


def cmd_compare(args) -> int:
    from sim.analysis.compare import (
        CompareError,
        compare,
        format_comparison,
        parse_years,
    )
    from sim.analysis.files import write_csv
    from sim.config.files import check_new_file

    if args.out:
        problems = check_new_file(args.out, args.force, "--out")
        if problems:
            return _fail(problems)
    try:
        years = parse_years(args.years) if args.years else None
    except CompareError as exc:
        return _fail([str(exc)])
    results, problem = _load(args.results)
    if problem:
        return _fail([problem])
    out = Path(args.out) if args.out else results.path / "compare.csv"
    if not args.out:
        problems = check_derived(results.path, [out], args.force)
        if problems:
            return _fail(problems)
    try:
        comparison = compare(results, reference=args.reference, years=years)
    except CompareError as exc:
        return _fail([str(exc)])
    except KeyError as exc:
        return _fail(_missing_column(args.results, exc))
    print(format_comparison(comparison))
    write_csv(comparison.table, out)
    print(f"\nwrote {out}")
    return 0


def _parse_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def cmd_plot(args) -> int:
    from sim.analysis.plots.heatmap import check_heatmap
    from sim.analysis.plots.make import FIGURES, heatmap_slug, make_figures
    from sim.analysis.plots.style import FORMATS

    formats = _parse_list(args.format)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        return _fail([f"--format {args.format}: choose from {', '.join(FORMATS)}"])
    heatmap = _parse_list(args.heatmap) if args.heatmap else None
    outcome = args.outcome
    if outcome and not heatmap:
        return _fail(["--outcome goes with --heatmap LEVER1,LEVER2"])
    results, problem = _load(args.results)
    if problem:
        return _fail([problem])
    problems = check_reference(results, args.reference)
    if problems:
        return _fail(problems)
    if heatmap:
        outcome = outcome or f"poverty_rate@{int(results.timeseries['year'].max())}"
        try:
            check_heatmap(results, heatmap, outcome)
        except ValueError as exc:
            return _fail([str(exc)])
    out = results.path / "figures"
    slugs = [spec.slug for spec in FIGURES]
    if heatmap:
        slugs.append(heatmap_slug(heatmap, outcome))
    paths = [out / f"{slug}.{fmt}" for slug in slugs for fmt in formats]
    if heatmap:
        paths.append(out / f"{slugs[-1]}.json")
    problems = check_derived(results.path, paths, args.force)
    if problems:
        return _fail(problems)
    try:
        written = make_figures(
            results,
            out,
            formats=formats,
            reference=args.reference,
            heatmap=heatmap,
            outcome=outcome,
            notify=lambda line: print(line, file=sys.stderr),
        )
    except KeyError as exc:
        return _fail(_missing_column(args.results, exc))
    for paths in written.values():
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_report(args) -> int:
    from sim.analysis.compare import CompareError
    from sim.analysis.plots.make import FIGURES
    from sim.analysis.report.build import write_report

    results, problem = _load(args.results)
    if problem:
        return _fail([problem])
    problems = check_reference(results, args.reference)
    root = results.path
    paths = [root / "report.html", root / "report.md", root / "compare.csv"]
    paths += [root / "figures" / f"{spec.slug}.png" for spec in FIGURES]
    problems = problems or check_derived(root, paths, args.force)
    if problems:
        return _fail(problems)
    try:
        html, md = write_report(
            results, reference=args.reference, notify=lambda line: print(line, file=sys.stderr)
        )
    except CompareError as exc:
        return _fail([str(exc)])
    except KeyError as exc:
        return _fail(_missing_column(args.results, exc))
    print(f"wrote {md}")
    print(f"wrote {html}")
    return 0


def register(subparsers) -> None:
    """Add the ``compare``, ``plot`` and ``report`` subcommands to ``povsim``'s parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    c = subparsers.add_parser(
        "compare",
        help="table of outcomes per lever combination, with paired differences to a reference",
        description=(
            "Print, and write as CSV (default RESULTS/compare.csv), one row per lever combination: "
            "poverty rate at the chosen years, exits, returns after the phase-out, sustained exits "
            "and their share, spending, cost per sustained exit, the transfer share of the poor's "
            "income and the Gini, each as mean with a 90%% interval (5th-95th percentiles of the "
            "run values), and paired differences against the reference strategy."
        ),
        epilog=COMPARE_EXAMPLE,
        formatter_class=fmt,
    )
    c.add_argument("results", help="results folder written by `povsim batch`")
    c.add_argument(
        "--reference", default="status_quo", help="strategy to compare against (default status_quo)"
    )
    c.add_argument(
        "--years",
        help="model years of the poverty rate, transfer share and Gini, e.g. 5,10 "
        "(default: 5 and the last year)",
    )
    c.add_argument("--out", help="CSV file to write (default RESULTS/compare.csv)")
    c.add_argument("--force", action="store_true", help=FORCE_HELP)
    c.set_defaults(func=cmd_compare)

    p = subparsers.add_parser(
        "plot",
        help="write the batch's figures to RESULTS/figures/",
        description=(
            "Write one figure per question to RESULTS/figures/: poverty rate by year, exits and "
            "returns, cost-effectiveness, income composition, durability of exits, returns by "
            "trigger, and (with --heatmap) an outcome over two numeric levers. Figures the batch "
            "has no data for are skipped with a notice."
        ),
        epilog=PLOT_EXAMPLE,
        formatter_class=fmt,
    )
    p.add_argument("results", help="results folder written by `povsim batch`")
    p.add_argument("--format", default="png", help="comma-separated: png, svg (default png)")
    p.add_argument(
        "--heatmap", metavar="LEVER1,LEVER2", help="also draw OUTCOME over two numeric levers"
    )
    p.add_argument(
        "--outcome",
        metavar="NAME",
        help="outcome of the heatmap, e.g. poverty_rate@10 or total_spending "
        "(default: poverty rate at the last year)",
    )
    p.add_argument(
        "--reference",
        default="status_quo",
        help="reference strategy of the cost-effectiveness figure (default status_quo)",
    )
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.set_defaults(func=cmd_plot)

    r = subparsers.add_parser(
        "report",
        help="write RESULTS/report.html and report.md (figures and compare table included)",
        description=(
            "Write a self-contained RESULTS/report.html and RESULTS/report.md: the question, the "
            "scenario and experiment, the compare table, every figure with a reading of it, "
            "sensitivity results if present, provenance and the assumptions that matter most. "
            "Makes the figures and compare.csv first if they are missing or older than the batch."
        ),
        epilog=REPORT_EXAMPLE,
        formatter_class=fmt,
    )
    r.add_argument("results", help="results folder written by `povsim batch`")
    r.add_argument(
        "--reference",
        help="strategy to compare against (default status_quo, or the batch's first strategy)",
    )
    r.add_argument("--force", action="store_true", help=FORCE_HELP)
    r.set_defaults(func=cmd_report)
