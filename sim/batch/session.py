"""One batch session: the output folder and its lock, signals (Ctrl-C, SIGTERM) turned into a clean
stop, and the loop that feeds runs to a backend and flushes their results."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from sim.batch.design import Design, RunSpec
from sim.batch.execution import RunOutcome
from sim.batch.results import (
    FORMAT,
    RUNS,
    STATUS_COLUMNS,
    ResultStore,
    merge_status,
    plan_frame,
    write_parquet_atomic,
)
from sim.batch.signals import EXIT_SIGTERM, Terminated
from sim.config import ConfigError, files

FLUSH_SECONDS = 60.0  # a chunk is also written when this long has passed since the last one


# ---------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchSummary:
    out: Path
    total: int
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # already on disk before this session (resume)
    interrupted: bool = False
    aborted: str = ""
    seconds: float = 0.0
    ran: int = 0  # runs finished in this session
    first_error: str = ""
    backend: str = ""
    workers: int = 0
    terminated: bool = False  # interrupted by SIGTERM rather than Ctrl-C
    discarded: bool = False  # a --force batch that aborted: its staging folder was thrown away
    warnings: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.total - self.ok - self.failed

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_SIGTERM if self.terminated else 130
        return 1 if self.failed or self.aborted else 0


def provenance() -> dict:
    """Versions that decide the numbers, recorded in the manifest."""
    import mesa
    import numpy
    import scipy

    import sim

    info = {
        "povsim": sim.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "mesa": mesa.__version__,
        "git": None,
    }
    try:
        git = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if git.returncode == 0:
            info["git"] = git.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _manifest(design: Design, previous: dict | None) -> dict:
    sampling = design.spec.sampling
    m = {
        "format": FORMAT,
        "experiment": {
            "name": design.name,
            "path": str(design.path),
            "sha256": design.sha256,
            "text": design.text,
        },
        "scenario": {"path": str(design.scenario_path), "sha256": design.scenario_sha256},
        "versions": provenance(),
        "master_seed": sampling.seed,
        "sampling": {"method": sampling.method, "samples": len(design.samples)},
        "seeds": design.seeds,
        "levers": list(design.levers),
        "uncertainties": list(design.uncertainties),
        "total_runs": design.total,
        "counts": {},
        "status": "running",
        "started": _now(),
        "updated": _now(),
        "finished": None,
        "sessions": [],
        "runs": {},
    }
    if previous:
        for key in ("started", "sessions"):
            m[key] = previous.get(key, m[key])
    return m


class _OutFolder:
    """The folder a session writes, locked against a second writer. A new or empty ``out`` is
    written in place. ``--force`` over an earlier batch writes a staging folder beside it
    (``files.staging_folder``), holding the locks of both, and :meth:`finish` swaps it in
    (``files.swap_into_place``); the lock file moves with the staging folder and stays held."""

    def __init__(self, out: Path, force: bool):
        self.out = out
        self.staging: Path | None = None
        self.created = False
        self.old_lock: files.FolderLock | None = None
        self.lock: files.FolderLock | None = None
        occupied = out.is_dir() and any(p.name != files.LOCK_NAME for p in out.iterdir())
        try:
            if force and occupied:
                self.old_lock = files.FolderLock.acquire(out)
                files.discard_leftovers(out)  # of an earlier --force that was killed
                try:
                    self.staging = files.staging_folder(out)
                except OSError as exc:
                    raise ConfigError(
                        [f"--out {out}: cannot create a folder beside it: {exc.strerror or exc}"]
                    ) from None
                self.lock = files.FolderLock.acquire(self.staging)
            else:
                self.created = files.make_out_folder(out)
                self.lock = files.FolderLock.acquire(out)
        except BaseException:
            self.abandon()
            raise

    @property
    def root(self) -> Path:
        return self.staging or self.out

    def finish(self, summary: BatchSummary) -> None:
        """End of the session: a staged batch replaces ``out`` unless it aborted; a batch that
        was interrupted or had failed runs is consistent and resumable, so it goes in too."""
        if self.staging is not None:
            if summary.aborted:
                summary.discarded = True
                self.abandon()
                return
            try:
                files.swap_into_place(self.staging, self.out)
            except OSError as exc:
                summary.aborted = f"cannot put the new batch in place ({exc.strerror or exc})"
                summary.discarded = True
                self.abandon()
                return
            self.lock.moved(self.out)
            self.staging = None
        self._release()

    def abandon(self) -> None:
        """Undo this session's folder: discard a staging folder, or remove ``out`` if this
        session created it; an earlier batch is left as it was."""
        if self.staging is not None:
            files.discard(self.staging)
            self.staging = None
        elif self.created:
            import shutil

            shutil.rmtree(self.out, ignore_errors=True)
            self.created = False
        self._release()

    def _release(self) -> None:
        for lock in (self.lock, self.old_lock):
            if lock is not None:
                lock.release(remove=lock.folder.exists())
        self.lock = self.old_lock = None


class _Session:
    """One invocation of a batch: prepares the folder, streams outcomes into parts, keeps the
    run table and the manifest up to date after every part."""

    def __init__(self, design: Design, store: ResultStore, backend, resuming: bool):
        self.design, self.store, self.backend = design, store, backend
        previous = store.read_manifest() if resuming else None
        dropped: list[str] = []
        if resuming:
            self.next_part, dropped = store.tidy(design.spec.outputs.households)
        else:
            self.next_part = 0
            store.create()
        self.runs = design.runs()
        plan = plan_frame(self.runs, list(design.levers), list(design.uncertainties))
        finished = store.finished_runs()
        self.table = merge_status(plan, finished).set_index("run_id", drop=False)
        status = self.table["status"]
        self.summary = BatchSummary(out=store.root, total=design.total)
        self.summary.backend, self.summary.workers = backend.name, backend.workers
        self.summary.warnings = [f"{store.root}: dropped {d}" for d in dropped]
        self.summary.ok = int((status == "ok").sum())
        self.summary.failed = int((status == "failed").sum())
        self.summary.skipped = self.summary.ok + self.summary.failed
        if self.summary.failed:
            self.summary.first_error = str(self.table.loc[status == "failed", "error"].iloc[0])
        self.manifest = _manifest(design, previous)
        self.session = {"started": _now(), "ended": None, "backend": backend.name}
        self.session.update({"workers": backend.workers, "runs": 0})
        self.manifest["sessions"].append(self.session)
        self.buffer: list[RunOutcome] = []
        self.last_flush = time.monotonic()

    def todo(self) -> list[RunSpec]:
        pending = set(self.table.index[self.table["status"] == "pending"])
        return [r for r in self.runs if r.run_id in pending]

    def save(self, status: str) -> None:
        m, s = self.manifest, self.summary
        m["status"], m["updated"] = status, _now()
        m["counts"] = {"ok": s.ok, "failed": s.failed, "pending": s.pending}
        t = self.table
        m["runs"] = {
            rid: {"seed": int(seed), "status": st, "part": None if part < 0 else int(part)}
            for rid, seed, st, part in zip(
                t["run_id"], t["seed"], t["status"], t["part"], strict=True
            )
        }
        self.session["runs"] = s.ran
        if status != "running":
            self.session["ended"] = m["updated"]
        if status == "complete":
            m["finished"] = m["updated"]
        write_parquet_atomic(t.reset_index(drop=True), self.store.root / RUNS)
        self.store.write_manifest(m)

    def add(self, outcome: RunOutcome, flush_every: int) -> None:
        self.buffer.append(outcome)
        s = self.summary
        s.ran += 1
        if outcome.status == "ok":
            s.ok += 1
        else:
            s.failed += 1
            s.first_error = s.first_error or f"{outcome.run_id}: {outcome.error}"
        if len(self.buffer) >= flush_every or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        k, buf = self.next_part, self.buffer
        ids = [o.run_id for o in buf]
        rows = self.table.loc[ids].reset_index(drop=True)
        rows["status"] = [o.status for o in buf]
        rows["error"] = [o.error for o in buf]
        rows["wall_seconds"] = [float(o.wall_seconds) for o in buf]
        rows["part"] = k
        ts = [o.timeseries for o in buf if o.timeseries is not None]
        hh = [o.households for o in buf if o.households is not None]
        self.store.write_part(
            k,
            rows,
            pd.concat(ts, ignore_index=True) if ts else None,
            pd.concat(hh, ignore_index=True) if hh else None,
        )
        for col in STATUS_COLUMNS:
            self.table.loc[ids, col] = rows[col].to_numpy()
        self.buffer = []
        self.next_part += 1
        self.last_flush = time.monotonic()
        self.save("running")


def _drive(design, store, backend, resuming, quiet, flush_every, on_run):
    from tqdm import tqdm

    t0 = time.perf_counter()
    try:
        session = _Session(design, store, backend, resuming)
        session.save("running")
    except OSError as exc:  # e.g. a read-only or full file system: nothing has run yet
        raise ConfigError(
            [f"--out {store.root}: cannot write the results: {exc.strerror or exc}"]
        ) from None
    summary = session.summary
    if not quiet:
        for line in summary.warnings:
            print(f"warning: {line}", file=sys.stderr)
    chunk = flush_every or design.spec.outputs.flush_every
    bar = tqdm(
        total=summary.total,
        initial=summary.skipped,
        unit="run",
        desc=design.name,
        disable=quiet,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    final = "complete"
    stream = backend.results(session.todo())
    try:
        for outcome in stream:
            session.add(outcome, chunk)
            if outcome.status != "ok":
                bar.set_postfix(failed=summary.failed, refresh=False)
            bar.update()
            if on_run is not None:
                on_run(outcome, summary)
    except KeyboardInterrupt as exc:
        summary.interrupted = True
        summary.terminated = isinstance(exc, Terminated)
        final = "interrupted"
    except BrokenProcessPool as exc:
        summary.aborted = f"a worker process died ({exc}); out of memory?"
        final = "aborted"
    except OSError as exc:
        summary.aborted = f"cannot write the results ({exc.strerror or exc}: {exc.filename})"
        final = "aborted"
    finally:
        stream.close()
        bar.close()
        try:
            session.flush()
            if summary.pending and final == "complete":
                final = "aborted"
            session.save(final)
        except OSError as exc:
            summary.aborted = summary.aborted or f"cannot write the results ({exc.strerror or exc})"
        summary.seconds = time.perf_counter() - t0
    return summary
