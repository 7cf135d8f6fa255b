"""Where a year goes: wall time per yearly phase and per compiled kernel, at a chosen size.

    .venv/bin/python benchmarks/profile_kernels.py [--households 100000] [--threads 0] [--runs 3]

cProfile (``benchmarks/profile_county.py``) sees a compiled kernel as one opaque call and
sampling profilers see numba's frames without names, so this script times the calls themselves:
each phase function of ``PovertyModel.step`` and each compiled kernel (``@jit`` functions that
Python calls, and the chunked kernels handed to ``sim.model.kernels.parallel``, timed over all their
chunks), summed over ``--runs`` ten-year runs of the county scaled to ``--households`` after one
warm-up run, strategy ``status_quo``. Kernels are nested in phases, so the phase shares add up
to about 100% and the kernel shares are a breakdown of them. ``--threads 1`` shows the work;
the default (every core) shows what a run takes.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import time
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import scaled_county  # noqa: E402

import sim  # noqa: E402
from sim.model import (
    assets,  # noqa: E402
    demography,  # noqa: E402
    economy,  # noqa: E402
    identification,  # noqa: E402
    income,  # noqa: E402
    kernels,  # noqa: E402
    labour,  # noqa: E402
    metrics,  # noqa: E402
    model,  # noqa: E402
    shocks,  # noqa: E402
)

PHASES = {
    demography: ["step"],
    shocks: ["illness", "disasters", "markets", "enterprises"],
    identification: ["identify", "update_status"],
    economy: ["labour_and_income", "assets"],
    model: ["collect"],
}
KERNEL_MODULES = (demography, shocks, identification, labour, income, assets, metrics)
CALLED_FROM_KERNELS = {
    "_migration_threshold",
    "_start_sums",
    "_spiked",
}  # compiled helpers other kernels call


def instrument(acc: dict[str, float]) -> None:
    def timed(fn, label):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[label] += time.perf_counter() - t0

        return wrapper

    for mod, names in PHASES.items():
        for name in names:
            setattr(mod, name, timed(getattr(mod, name), f"phase {name}"))
    for mod in KERNEL_MODULES:
        for name, fn in list(vars(mod).items()):
            if (
                isinstance(fn, numba.core.registry.CPUDispatcher)
                and fn.__module__ == mod.__name__
                and name not in CALLED_FROM_KERNELS
            ):
                setattr(mod, name, timed(fn, f"kernel {name}"))
    chunked = kernels.parallel

    def parallel(kernel, n, *args):
        # the kernel's own timer runs once per chunk, on several threads at once: book the wall
        # time of the whole call instead
        label = f"kernel {kernel.__name__}"
        before = acc[label]
        t0 = time.perf_counter()
        try:
            chunked(kernel, n, *args)
        finally:
            acc[label] = before + time.perf_counter() - t0

    for mod in KERNEL_MODULES:
        if getattr(mod, "parallel", None) is chunked:
            mod.parallel = parallel


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=0, help="kernel threads (0: every core)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--top", type=int, default=20)
    a = p.parse_args(argv)

    kernels.use_threads(a.threads)
    scenario = scaled_county(a.households)
    acc: dict[str, float] = collections.defaultdict(float)
    instrument(acc)
    sim.PovertyModel(scenario, strategy="status_quo", seed=1, agents=False).run()  # warm-up
    acc.clear()
    total = 0.0
    years = 0
    for seed in range(2, 2 + a.runs):
        m = sim.PovertyModel(scenario, strategy="status_quo", seed=seed, agents=False)
        t0 = time.perf_counter()
        m.run()
        total += time.perf_counter() - t0
        years += m.year
    rows = {k: v for k, v in acc.items() if not (k.startswith("kernel") and v == 0.0)}
    print(
        f"{scenario.population.households:,} households, {scenario.population.people:,} persons, "
        f"{kernels.threads()} kernel thread(s): {total / years * 1e3:.2f} ms a year "
        f"({total / years / scenario.population.households * 1e6:.3f} µs a household-year)"
    )
    print(f"{'':48s} {'ms/year':>9s} {'share':>7s}")
    for label, seconds in sorted(rows.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{label:48s} {seconds / years * 1e3:9.2f} {seconds / total:7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
