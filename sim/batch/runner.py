"""Running an experiment's run specs: in-process, on local worker processes, or on Dask.

Each run rebuilds its scenario from the experiment's scenario data (read once, shipped to the
workers, so a file edited mid-batch cannot change it) plus the run's overrides, builds a
``PovertyModel(agents=False)``, runs it and sends back its yearly timeseries (and, on request,
its final household frame). The parent streams finished runs into the results store in chunks;
nothing holds more than one chunk of results in memory. A run that raises is recorded as failed
and the batch goes on; Ctrl-C stops cleanly and keeps every committed chunk for ``--resume``.

Results do not depend on the backend or the number of workers: a run's output is a function of
(scenario data, overrides, strategy, seed) only, and :func:`sim.batch.results.load_results` sorts rows
by run_id.

Modules: ``execution`` (one run, and the worker processes), ``backends`` (in-process, local
processes, Dask), ``signals`` (Ctrl-C and SIGTERM), ``session`` (the folder, its lock, the
manifest and the run loop), ``runner`` (``run_batch``, resume checks and the summary).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from sim.batch import limits
from sim.batch.backends import make_backend
from sim.batch.design import Design
from sim.batch.execution import RunContext, RunOutcome
from sim.batch.results import (
    FORMAT,
    ResultStore,
)
from sim.batch.session import BatchSummary, _drive, _OutFolder
from sim.batch.signals import _sigterm_interrupts
from sim.config import ConfigError, files


def check_resume(out: Path, design: Design, plan_ids: list[str]) -> list[str]:
    """A batch may resume only with the experiment, scenario and run plan it started with."""
    manifest = ResultStore(out).read_manifest()
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(
            f"--out {out}: written by another povsim version ({manifest.get('format')})"
        )
    elif manifest["experiment"]["sha256"] != design.sha256:
        problems.append(
            f"--out {out}: the experiment file changed since this batch started "
            f"({design.path}); use --force to start over, or another --out"
        )
    elif manifest["scenario"]["sha256"] != design.scenario_sha256:
        problems.append(
            f"--out {out}: the scenario file changed since this batch started "
            f"({design.scenario_path}); use --force to start over, or another --out"
        )
    elif list(manifest.get("runs", {})) != plan_ids:
        problems.append(
            f"--out {out}: the run plan differs from the one on disk (a numpy/scipy upgrade "
            "can change the samples); use --force to start over"
        )
    return problems


def run_batch(
    design: Design,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    flush_every: int | None = None,
    on_run: Callable[[RunOutcome, BatchSummary], None] | None = None,
    dask_processes: bool = True,
    threads: int | None = None,
    max_hours: float = limits.MAX_HOURS,
) -> BatchSummary:
    """Run every run of ``design`` not yet on disk, streaming results into ``out``.

    Raises :class:`ConfigError` (nothing written) for an unusable output folder, a folder
    another batch is writing (its lock), work beyond the limits, or an unusable backend.
    ``on_run`` is called in this process after each finished run (progress hooks, tests).
    With ``force`` the new batch is built in a staging folder beside ``out`` and swapped in when
    the session ends; if it aborts, the staging folder is discarded and ``out`` is untouched.
    """
    out = Path(out) if out is not None else Path("results") / design.name
    if resume and force:
        raise ConfigError(
            ["--resume and --force: give one (resume keeps the runs on disk, force replaces them)"]
        )
    if out.is_dir() and files.lock_holder(out) is not None:
        raise ConfigError([files.busy_message(out)])
    problems = files.check_out_folder(out, files.BATCH_FOLDER, force, resume)
    if problems:
        raise ConfigError(problems)
    n = workers or limits.default_workers()
    local = scheduler is None or scheduler == "local"
    problems = limits.check_batch(
        design.total,
        limits.design_size(design),
        n,
        str(design.path),
        max_hours=max_hours,
        local=local,
        chunk=flush_every or design.spec.outputs.flush_every,
        households_kept=design.spec.outputs.households,
    )
    if problems:
        raise ConfigError(problems)

    with _sigterm_interrupts():
        folder = _OutFolder(out, force)  # made, or staged, and locked: may raise ConfigError
        try:
            resuming = resume and folder.staging is None and ResultStore(out).is_batch_folder()
            if resuming:
                problems = check_resume(out, design, [r.run_id for r in design.runs()])
                if problems:
                    raise ConfigError(problems)
            elif resume and not quiet:
                print(f"nothing to resume in {out}; starting the batch", file=sys.stderr)
            ctx = RunContext(
                design.scenario_data, str(design.scenario_path), design.spec.outputs.households
            )
            backend = make_backend(ctx, workers, scheduler, dask_processes, threads)
        except BaseException:
            folder.abandon()
            raise
        summary = None
        try:
            summary = _drive(
                design, ResultStore(folder.root), backend, resuming, quiet, flush_every, on_run
            )
        except BaseException:
            folder.abandon()
            raise
        finally:
            backend.close(now=summary is None or summary.interrupted)
        summary.out = out
        folder.finish(summary)
    return summary


def format_summary(s: BatchSummary, design: Design) -> str:
    rate = s.ran / s.seconds if s.seconds > 0 else 0.0
    parts = [f"{s.ok} ok", f"{s.failed} failed"]
    if s.pending:
        parts.append(f"{s.pending} not run")
    line = (
        f"{design.name}: {', '.join(parts)} of {s.total} runs"
        + (f" ({s.skipped} already on disk)" if s.skipped else "")
        + f"; {s.ran} ran in {s.seconds:.1f} s ({rate:.2f} runs/s, {s.backend}, "
        f"{s.workers} worker{'s' if s.workers != 1 else ''}) -> {s.out}"
    )
    return line


def resume_hint(design: Design, out: Path) -> str:
    return f"povsim batch {design.path} --out {out} --resume"
