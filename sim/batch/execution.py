"""One run, in whichever process runs it: build the scenario, run the model, return its tables or
its error; and the worker processes' set-up (kernel threads, watching the parent)."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.batch.design import RunSpec
from sim.config import build_scenario
from sim.model import PovertyModel, kernels

WATCH_SECONDS = 0.5  # how often a worker checks that the batch's main process is alive
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
