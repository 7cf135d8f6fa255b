"""Where runs execute: in this process, in local worker processes, or on a Dask cluster; each
backend submits runs and yields their outcomes as they finish."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import replace

from sim.batch.design import RunSpec
from sim.batch.execution import (
    NO_MALLOC_TRIM,
    RunContext,
    RunOutcome,
    _error_text,
    _init_worker,
    _run_in_worker,
    _worker_version,
    execute_run,
    process_start,
)
from sim.batch.signals import _CtrlCFlag, _sigint_ignored
from sim.config import ConfigError
from sim.model import kernels

WINDOW_PER_WORKER = 4  # runs queued per worker: keeps workers busy without a big backlog
DASK_CONNECT_TIMEOUT = "10s"
# Dask's own timeout does not cover everything (a plain HTTP server on the port hangs it, random
# bytes make it allocate without bound): the connection runs in a thread given this long.
DASK_CONNECT_SECONDS = 10.0


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


def instrument_modules() -> list[str]:
    """The modules of the registered instruments, for a worker to import before its first run."""
    from sim.policies import registry

    return sorted({inst.allocate.__module__ for inst in registry.instruments().values()})


class LocalProcesses:
    """A process pool. ``forkserver`` (with the model preloaded) where available: workers start
    fast and never inherit the parent's threads; ``spawn`` elsewhere."""

    name = "processes"

    def __init__(self, ctx: RunContext, workers: int):
        self.ctx = ctx
        self.workers = workers
        if "forkserver" in multiprocessing.get_all_start_methods():
            mp = multiprocessing.get_context("forkserver")
            # the model and every instrument module (the model reaches the policies only by
            # name, so importing it loads none): a worker forked from here starts with both
            mp.set_forkserver_preload(["sim.batch.runner", *instrument_modules()])
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
