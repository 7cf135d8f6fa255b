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
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from sim.batch import limits
from sim.batch.experiments import Design, RunSpec
from sim.batch.results import (
    FORMAT,
    RUNS,
    STATUS_COLUMNS,
    ResultStore,
    merge_status,
    plan_frame,
    write_parquet_atomic,
)
from sim.config import ConfigError, build_scenario, files
from sim.model import PovertyModel, kernels

FLUSH_SECONDS = 60.0  # a chunk is also written when this long has passed since the last one
WINDOW_PER_WORKER = 4  # runs queued per worker: keeps workers busy without a big backlog
DASK_CONNECT_TIMEOUT = "10s"
# Dask's own timeout does not cover everything (a plain HTTP server on the port hangs it, random
# bytes make it allocate without bound): the connection runs in a thread given this long.
DASK_CONNECT_SECONDS = 10.0
WATCH_SECONDS = 0.5  # how often a worker checks that the batch's main process is alive
EXIT_SIGTERM = 143  # 128 + SIGTERM: stopped by `kill`, completed chunks kept (Ctrl-C: 130)
# Dask's nannies set MALLOC_TRIM_THRESHOLD_ in their workers. Setting it at all switches off
# glibc's dynamic mmap threshold, so every temporary county array (> 128 KiB) is a fresh mmap
# and a run takes twice as long (0.6 → 1.4 s, mostly page faults). Our LocalCluster drops it;
# for a remote cluster, see docs/batch.md.
NO_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


# ---------------------------------------------------------------------------------------------
# One run


@dataclass(frozen=True)
class RunContext:
    """What every run of a batch shares; sent to each worker once."""

    scenario_data: dict
    scenario_source: str
    households: bool
    # threads for each run's compiled kernels (0: every core); the backend sets it so that
    # workers x threads does not exceed the cores
    kernel_threads: int = 0


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "ok" | "failed"
    error: str
    wall_seconds: float
    timeseries: pd.DataFrame | None = None
    households: pd.DataFrame | None = None


def execute_run(ctx: RunContext, spec: RunSpec) -> RunOutcome:
    """Build, run and collect one run; an exception becomes a ``failed`` outcome with its text."""
    t0 = time.perf_counter()
    model = None
    threads = kernels.threads()
    try:
        scenario = build_scenario(ctx.scenario_data, ctx.scenario_source, spec.overrides)
        kernels.use_threads(ctx.kernel_threads)
        model = PovertyModel(scenario, strategy=spec.strategy, seed=spec.seed, agents=False)
        model.run()
        ts = model.timeseries()
        ts.insert(0, "run_id", spec.run_id)
        hh = None
        if ctx.households:
            hh = model.households(first={"run_id": spec.run_id})
        return RunOutcome(spec.run_id, "ok", "", time.perf_counter() - t0, ts, hh)
    except Exception as exc:  # recorded, not raised: one bad run must not stop the batch
        return RunOutcome(spec.run_id, "failed", _error_text(exc), time.perf_counter() - t0)
    finally:
        kernels.use_threads(threads)
        if model is not None:
            model.release()  # or every run stays alive in the worker (Mesa 3.3's Agent._ids)


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        text += f" (at {Path(f.filename).name}:{f.lineno} in {f.name})"
    return text


# worker-process side of the local backend
_WORKER_CTX: RunContext | None = None


def _init_worker(ctx: RunContext, parent: int = 0, parent_start: str | None = None) -> None:
    """Workers ignore Ctrl-C and SIGTERM: the parent handles them, cancels the queue, keeps the
    results and then ends the workers. A watchdog thread ends the worker (``os._exit``) within
    :data:`WATCH_SECONDS` of the parent's death, so a batch killed with SIGKILL leaves no
    worker, forkserver or resource tracker behind (those two end once the workers are gone)."""
    global _WORKER_CTX
    _WORKER_CTX = ctx
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if parent:
        threading.Thread(
            target=_watch_parent, args=(parent, parent_start), daemon=True, name="povsim-watch"
        ).start()


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` (/proc/PID/stat field 22), or None if it is gone or a zombie;
    comparing it tells a live parent from a new process that reused its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode()


def _parent_alive(pid: int, start: str | None) -> bool:
    if start is not None:
        return process_start(pid) == start
    try:  # no /proc (macOS): the pid still exists
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_parent(pid: int, start: str | None) -> None:
    while _parent_alive(pid, start):
        time.sleep(WATCH_SECONDS)
    os._exit(70)


def _run_in_worker(spec: RunSpec) -> RunOutcome:
    assert _WORKER_CTX is not None
    return execute_run(_WORKER_CTX, spec)


def _worker_version() -> str:
    import sim

    return sim.__version__


# ---------------------------------------------------------------------------------------------
# Backends: each turns run specs into outcomes, in completion order


class InProcess:
    name = "in-process"
    workers = 1

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    def results(self, specs: Iterable[RunSpec]) -> Iterator[RunOutcome]:
        for spec in specs:
            yield execute_run(self.ctx, spec)

    def close(self, now: bool = False) -> None:
        pass


class LocalProcesses:
    """A process pool. ``forkserver`` (with the model preloaded) where available: workers start
    fast and never inherit the parent's threads; ``spawn`` elsewhere."""

    name = "processes"

    def __init__(self, ctx: RunContext, workers: int):
        self.ctx = ctx
        self.workers = workers
        if "forkserver" in multiprocessing.get_all_start_methods():
            mp = multiprocessing.get_context("forkserver")
            mp.set_forkserver_preload(["sim.batch.runner"])
        else:
            mp = multiprocessing.get_context("spawn")
        me = os.getpid()
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp,
            initializer=_init_worker,
            initargs=(ctx, me, process_start(me)),
        )

    def results(self, specs: Iterable[RunSpec]) -> Iterator[RunOutcome]:
        todo = iter(specs)
        pending: set = set()
        try:
            while True:
                while len(pending) < WINDOW_PER_WORKER * self.workers:
                    spec = next(todo, None)
                    if spec is None:
                        break
                    pending.add(self.pool.submit(_run_in_worker, spec))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()  # BrokenProcessPool if a worker died: the batch aborts
        finally:
            for f in pending:
                f.cancel()

    def close(self, now: bool = False) -> None:
        """Shut the pool down; ``now`` (after Ctrl-C or SIGTERM) ends the running runs too,
        whose results would be thrown away anyway (workers ignore SIGTERM: SIGKILL them)."""
        if not now:
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            try:
                proc.kill()
            except (OSError, ValueError):
                pass
        for proc in procs:
            proc.join(5)
        self.pool.shutdown(wait=True)  # the pool's own thread then frees its queues


class DaskBackend:
    """A dask.distributed cluster: ``local`` starts a LocalCluster on loopback, anything else
    is a scheduler address (``tcp://host:port``). The scenario data is scattered once."""

    name = "dask"

    def __init__(self, ctx: RunContext, address: str, workers: int, processes: bool = True) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        if address == "local":
            import dask

            with _sigint_ignored(), dask.config.set({NO_MALLOC_TRIM: None}):
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=processes,
                    protocol="tcp://",  # also with threads: results cross a real loopback socket
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster)
        else:
            self.client = _connect(address)
        try:
            self.client.wait_for_workers(1, timeout=DASK_CONNECT_TIMEOUT)
            versions = set(self.client.run(_worker_version).values())
        except Exception as exc:
            self.close()
            raise ConfigError(
                [
                    f"--scheduler {address}: no usable Dask workers (povsim must be installed on "
                    f"every worker): {exc}"
                ]
            ) from None
        import sim

        if versions - {sim.__version__}:
            print(
                f"warning: Dask workers run povsim {', '.join(sorted(versions))}, "
                f"this process {sim.__version__}",
                file=sys.stderr,
            )
        self.workers = sum(self.client.nthreads().values())
        self.ctx = self.client.scatter(ctx, broadcast=True, hash=False)

    def results(self, specs: Iterable[RunSpec]) -> Iterator[RunOutcome]:
        from distributed import wait as dask_wait

        todo = iter(specs)
        pending: dict = {}
        try:
            with _CtrlCFlag() as ctrl_c:
                while True:
                    while len(pending) < WINDOW_PER_WORKER * max(self.workers, 1):
                        spec = next(todo, None)
                        if spec is None:
                            break
                        fut = self.client.submit(execute_run, self.ctx, spec, pure=False)
                        pending[fut] = spec
                    if not pending:
                        return
                    try:
                        done = dask_wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        done = None
                    ctrl_c.raise_if_hit()
                    yield from self._collect(done.done if done else (), pending)
        finally:
            if pending:
                self.client.cancel(list(pending))

    @staticmethod
    def _collect(done, pending: dict) -> Iterator[RunOutcome]:
        for f in done:
            spec = pending.pop(f)
            try:
                outcome = f.result()
            except Exception as exc:  # e.g. KilledWorker: the run is recorded as failed
                outcome = RunOutcome(spec.run_id, "failed", _error_text(exc), float("nan"))
            yield outcome

    def close(self, now: bool = False) -> None:
        ctx = getattr(self, "ctx", None)
        if ctx is not None:
            ctx.release()  # before the workers go, or the scheduler reports lost scattered data
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _connect(address: str):
    """A Client for the scheduler at ``address``, or :class:`ConfigError` within
    :data:`DASK_CONNECT_SECONDS`, whatever answers there (nothing, an HTTP server, random
    bytes: Dask may hang or raise anything, MemoryError included)."""
    box: dict = {}

    def connect() -> None:
        try:
            from distributed import Client

            box["client"] = Client(address, timeout=DASK_CONNECT_TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - reported as bad input below
            box["error"] = exc

    t = threading.Thread(target=connect, daemon=True, name="povsim-dask-connect")
    t.start()
    t.join(DASK_CONNECT_SECONDS)
    if t.is_alive():
        raise ConfigError(
            [
                f"--scheduler {address}: cannot reach a Dask scheduler there (no answer in "
                f"{DASK_CONNECT_SECONDS:g} s; is it a Dask scheduler's address?)"
            ]
        )
    if "error" in box:
        exc = box["error"]
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ConfigError(
            [
                f"--scheduler {address}: cannot reach a Dask scheduler there "
                f"({type(exc).__name__}{': ' + text if text else ''})"
            ]
        )
    return box["client"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (completed runs kept) but exiting with 143."""


@contextmanager
def _sigterm_interrupts():
    """In the main thread, SIGTERM raises :class:`Terminated` like Ctrl-C raises
    KeyboardInterrupt, so `kill PID` stops a batch cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _CtrlCFlag:
    """Ctrl-C (and SIGTERM) set a flag instead of raising inside Dask's blocking calls
    (interrupting those logs spurious event-loop errors); the batch loop checks the flag and
    stops cleanly."""

    hit = False
    terminated = False

    def __enter__(self) -> _CtrlCFlag:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = (
                signal.signal(signal.SIGINT, self._handler),
                signal.signal(signal.SIGTERM, self._handler),
            )
        return self

    def _handler(self, signum, frame) -> None:
        self.hit = True
        self.terminated = self.terminated or signum == signal.SIGTERM

    def raise_if_hit(self) -> None:
        if self.terminated:
            raise Terminated
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])


@contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def make_backend(
    ctx: RunContext,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_processes: bool = True,
    threads: int | None = None,
):
    """The backend for ``--workers`` / ``--scheduler`` / ``--threads`` (see ``povsim batch
    --help``). Without ``threads``, a run's kernels get the cores divided among the local
    workers (all of them in-process), and one thread on Dask, where every worker thread runs a
    model."""
    n = workers or os.cpu_count() or 1
    if scheduler:
        ctx = replace(ctx, kernel_threads=threads or 1)
        return DaskBackend(ctx, scheduler, n, processes=dask_processes)
    if n == 1:
        return InProcess(replace(ctx, kernel_threads=threads or 0))
    share = max(1, kernels.CORES // n)
    return LocalProcesses(replace(ctx, kernel_threads=threads or share), n)


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


__all__ = [
    "BatchSummary",
    "RunContext",
    "RunOutcome",
    "execute_run",
    "format_summary",
    "make_backend",
    "run_batch",
]
