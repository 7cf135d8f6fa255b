"""Compiled kernels: the numba settings every yearly phase uses, and keeping numba's cache honest.

Each yearly phase keeps its mechanism in its own module (``sim.model.demography``, ``sim.model.shocks``, ...)
as loops compiled with :data:`jit`. The persons of a household are consecutive rows
(``persons.hh`` is sorted; see ``PovertyModel.person_start``), so the persons of a block of
households are a block of rows too: a phase that sums over persons runs one flat loop over them
and adds each person's part into its household's sums (measured 8-40% faster than a loop over
the households with a loop over their persons inside, whose short, variable inner loops the
processor predicts badly). Each loop reads and writes at most a few dozen arrays: the memory
system follows only so many streams at once, and a loop over more arrays runs slower per array.
Where an outcome is random, the rules are written with ``&`` and arithmetic on flags rather than
``if``: a mispredicted branch costs more than computing both sides. A phase draws only the
random numbers it uses (``sim.model.rng``).

Threads. The heaviest kernels take a row range ``lo, hi`` and :func:`parallel` runs them on
contiguous chunks of the households (or persons), one chunk per thread; the kernels release the
GIL (``nogil``), so the chunks run at once on a plain thread pool. A household's results depend
only on its own rows, and its sums run over its persons in order on one thread, so the results
are bit-identical whatever the number of threads; sums over all households (``sim.model.metrics``) stay
serial for the same reason, while the sort behind the median and Gini runs beside them
(:func:`start`). Numba's own ``parallel=True`` would do the same but doubles the
compile time of every kernel it touches (the Ankang run's cold start went from 17 to 26 s) and
brings OpenMP's fork and thread-safety rules with it. A single run uses every core; batch workers
get their share of the cores (:func:`use_threads`, set by ``sim.batch.runner`` for each run, per
calling thread), so that two workers on two cores do not run four threads.

``cache=True`` compiles the kernels once per machine (10-20 s in all: ``make install`` does it with
:func:`compile_all`, or else the first run) and loads them from ``sim/model/__pycache__`` (and ``sim/policies/__pycache__``) afterwards.
Numba's cache only checks the kernel's own source file, not the files of the functions it calls;
:func:`check_cache` therefore drops the cached kernels when ``sim/model/rng.py`` or this file (whose
functions other kernels call) has changed since they were built.
``error_model="numpy"``: a division by zero gives inf or nan like numpy instead of raising, which
keeps the loops free of checks; every division in the kernels is guarded where it matters, as in
the numpy code they replace. No fastmath: results are bit-identical from run to run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}
jit = numba.njit(**OPTIONS)

_HERE = Path(__file__).resolve().parent
_SHARED = ("rng.py", "kernels.py")  # files whose compiled functions other kernels call


def check_cache(folder: Path = _HERE / "__pycache__") -> None:
    """Delete cached kernels built against an older version of the shared compiled functions."""
    digest = hashlib.sha256(b"".join((_HERE / f).read_bytes() for f in _SHARED)).hexdigest()
    stamp = folder / "povsim-kernels.sha256"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for pattern in ("*.nbi", "*.nbc"):
            for f in folder.glob(pattern):
                f.unlink(missing_ok=True)
        folder.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then caches elsewhere, or not at all
        pass


check_cache()


CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
MIN_CHUNK = 4096  # rows per thread below which handing out a chunk costs more than it saves
_setting = threading.local()  # per calling thread, like numba.set_num_threads
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_pid = -1
_pool_lock = threading.Lock()


def use_threads(n: int) -> None:
    """Run the kernels that this thread calls on ``n`` threads (0 or less: one per core)."""
    _setting.threads = CORES if n <= 0 else int(n)


def threads() -> int:
    return getattr(_setting, "threads", CORES)


def _executor(workers: int) -> ThreadPoolExecutor:
    """The process's thread pool, with at least ``workers`` threads; made again after a fork (a
    child inherits no threads)."""
    global _pool, _pool_size, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool_size < workers:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)  # its threads finish what they hold and exit
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="povsim-kernel")
            _pool_size, _pool_pid = workers, os.getpid()
        return _pool


def parallel(kernel, n: int, *args) -> None:
    """``kernel(lo, hi, *args)`` over the rows ``[0, n)``, in contiguous chunks: one in this
    thread, the others on the pool; returns when all are done (and re-raises their errors)."""
    k = max(1, min(threads(), n // MIN_CHUNK))
    if k == 1:
        kernel(0, n, *args)
        return
    bounds = [n * j // k for j in range(k + 1)]
    pool = _executor(k - 1)
    futures = [pool.submit(kernel, bounds[j], bounds[j + 1], *args) for j in range(1, k)]
    try:
        kernel(bounds[0], bounds[1], *args)
    finally:
        for f in futures:
            f.result()


def start(kernel, n: int, *args) -> Future:
    """``kernel(*args)`` on the pool while this thread does other work (``n``: the rows it
    reads, to decide whether that is worth a hand-over); ``.result()`` waits for it."""
    if threads() > 1 and n >= MIN_CHUNK:
        return _executor(1).submit(kernel, *args)
    done: Future = Future()
    done.set_result(kernel(*args))
    return done


def columns(record, *tables):
    """The namedtuple ``record`` filled with the arrays of the same names, each from the first of
    ``tables`` that has it: a kernel's inputs by name (``persons.age``), no list of positional
    arrays to keep in order by hand. numba reads it as a tuple of arrays."""
    values = []
    for name in record._fields:
        for table in tables:
            if hasattr(table, name):
                values.append(getattr(table, name))
                break
        else:
            raise AttributeError(f"no table has the column {name!r} of {record.__name__}")
    return record(*values)


@jit
def row(index):
    """An index known to be >= 0 (a household or person number read from an array). As an
    unsigned number it spares numba the wrap-around of negative indices at every access."""
    return np.uint64(index)


# ---- sorting ---------------------------------------------------------------------------------
_SIGN = np.uint64(1) << np.uint64(63)


@jit
def argsort(x):
    """Indices that sort the float64 array ``x`` ascending (ties in any order; no NaN).

    An LSD radix sort on the top 32 bits of each value's order-preserving bit pattern, 8 bits a
    pass (256 buckets keep each pass's writes local), then an insertion sort over the few short
    runs of values that share those bits: O(n), several times faster than a comparison sort.
    """
    n = len(x)
    bits = x.view(np.uint64)
    keys = np.empty(n, dtype=np.uint32)
    counts = np.zeros((4, 257), dtype=np.int64)
    for i in range(n):
        b = bits[i]
        b = ~b if b & _SIGN else b | _SIGN  # negative values reversed, below the positive ones
        k = np.uint32(b >> np.uint64(32))
        keys[i] = k
        for p in range(4):
            counts[p, ((k >> np.uint32(8 * p)) & np.uint32(0xFF)) + 1] += 1
    for p in range(4):
        for d in range(256):
            counts[p, d + 1] += counts[p, d]
    order = np.arange(n)
    out = np.empty(n, dtype=np.int64)
    out_keys = np.empty(n, dtype=np.uint32)
    for p in range(4):
        shift = np.uint32(8 * p)
        for j in range(n):
            k = keys[j]
            d = (k >> shift) & np.uint32(0xFF)
            at = counts[p, d]
            out[at] = order[j]
            out_keys[at] = k
            counts[p, d] = at + 1
        order, out = out, order
        keys, out_keys = out_keys, keys
    for j in range(1, n):
        i = order[j]
        v = x[i]
        k = j - 1
        while k >= 0 and x[order[k]] > v:
            order[k + 1] = order[k]
            k -= 1
        order[k + 1] = i
    return order


def compile_all() -> None:
    """Compile (or load) every kernel: build a small county and run it two years under a strategy
    that spends, so that the first real run does not pay for the compilation."""
    from sim.config import build_scenario
    from sim.model import PovertyModel

    categories = {"industry": 30, "relocation": 5, "medical": 25, "education": 5, "dibao": 35}
    data = {
        "meta": {"name": "compile", "years": 2},
        "population": {
            "households": 400,
            "people": 1300,
            "registered": {
                "households": sum(categories.values()),
                "people": 330,
                "categories": {k: {"households": v} for k, v in categories.items()},
            },
        },
        "villages": {"count": 6, "poor": 3},
        "enterprises": [{"name": "pigs", "industry": "pigs", "capacity": 40, "jobs": 5}],
    }
    PovertyModel(build_scenario(data, "compile"), strategy="precision", seed=1).run()
