"""Random numbers: every draw is a pure function of (seed, mechanism, year, slot, row).

Why counter-based. Common random numbers (docs/ODD.md, Stochasticity) need the same draw for the same person
or household under every strategy. Drawing whole arrays from a generator per (mechanism, year)
gives that, but it makes every year pay for ~9 full arrays of draws per person whether or not
anybody needs them (a normal for every person's hospital cost, although ~13% are admitted). Here a
draw is computed where it is needed, inside the compiled kernels, and is the same number whenever
and wherever it is computed:

* ``Streams.keys(mechanism, year, n)`` derives the key of the (mechanism, year) stream with
  ``numpy.random.SeedSequence(seed, spawn_key=(mechanism index, year))`` and from it ``n`` slot
  keys, one per named draw of the mechanism (e.g. illness: acute, cost, chronic onset or
  recovery, enrolment): the first ``n`` outputs of a SplitMix64 generator started at that key.
* the draw of slot ``s`` for row ``i`` (a person or household index) is the ``(i + 1)``-th output
  of the SplitMix64 generator started at the slot key: ``mix64(key_s + (i + 1) * GAMMA)``.
  SplitMix64 (Steele, Lea & Flood 2014, the seeding generator of xoshiro) passes BigCrush; every
  slot stream is a window of its single 2**64 cycle that starts at a pseudo-random point, so two
  windows of ~10**7 draws overlap with probability ~10**-12.
* ``uniform``: the top 53 bits, ``(x >> 11) * 2**-53``, in [0, 1). ``normal``: the inverse normal
  CDF (Wichura's AS241, relative error ~1e-16) of the open uniform ``((x >> 11) + 0.5) * 2**-53``.

Population synthesis (setup) and the policy instruments still draw whole arrays from
``Streams.get(mechanism, key)``, a ``numpy.random.Generator`` on the same SeedSequence; their draws
are one per household or person whatever the strategy, so they keep common random numbers too.

The compiled functions here are called from kernels in other modules. Numba's cache only notices
edits to a kernel's own file, so ``sim.model.kernels`` clears the cache when this file changes.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.kernels import jit

MECHANISMS = (
    "population",
    "demography",
    "illness",
    "disaster",
    "market",
    "enterprise",
    "labour",
    "targeting",
    "allocation",
    "policy",
    "assets",
)

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment: 2**64 / golden ratio, odd
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_TO_UNIT = 2.0**-53
SLOTS = 8  # slot keys handed to a mechanism each year; none uses more than four


class Streams:
    """The run's random streams, keyed by mechanism and year (and slot)."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def _sequence(self, mechanism: str, year: int) -> np.random.SeedSequence:
        key = (MECHANISMS.index(mechanism), int(year))
        return np.random.SeedSequence(self.seed, spawn_key=key)

    def get(self, mechanism: str, year: int = 0) -> np.random.Generator:
        """A generator for whole-array draws (population synthesis, policy instruments)."""
        return np.random.Generator(np.random.PCG64(self._sequence(mechanism, year)))

    def keys(self, mechanism: str, year: int, n: int = SLOTS) -> np.ndarray:
        """``n`` slot keys (uint64) of the (mechanism, year) stream, for ``uniform``/``normal``;
        a mechanism names its slots 0, 1, ... (e.g. ``sim.model.shocks.U_ACUTE``)."""
        key = self._sequence(mechanism, year).generate_state(1, np.uint64)[0]
        return slot_keys(key, n)


def fresh_seed() -> int:
    """A seed for runs that were given none, recorded so the run can be repeated."""
    return int(np.random.SeedSequence().entropy % (2**63))


# ---- the generator (compiled; callable from Python too) ------------------------------------------
@jit
def mix64(z):
    """SplitMix64's output function: a bijective 64-bit finaliser with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def slot_keys(key, n):
    """The first ``n`` outputs of SplitMix64 started at ``key``."""
    out = np.empty(n, dtype=np.uint64)
    for s in range(n):
        out[s] = mix64(np.uint64(key) + np.uint64(s + 1) * GAMMA)
    return out


@jit
def bits(key, row):
    """64 random bits: output ``row + 1`` of SplitMix64 started at ``key``."""
    return mix64(key + (np.uint64(row) + _ONE) * GAMMA)


@jit
def uniform(key, row):
    """U[0, 1) for ``row`` of the slot stream ``key``."""
    return np.float64(bits(key, row) >> _S11) * _TO_UNIT


@jit
def open_uniform(key, row):
    """U(0, 1), never 0 or 1, for ``row`` of the slot stream ``key``: the uniform behind
    ``normal``."""
    return (np.float64(bits(key, row) >> _S11) + 0.5) * _TO_UNIT


@jit
def normal(key, row):
    """N(0, 1) for ``row`` of the slot stream ``key``: the inverse CDF of ``open_uniform``."""
    return ndtri(open_uniform(key, row))


# AS241 coefficients, lowest power first: central region |p - 0.5| <= 0.425, then the tails
_A = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
_B = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852545925,
)
_C = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
_D = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)


@jit
def _poly(c, x):
    """c[0] + c[1] x + ... + c[7] x**7 (Horner)."""
    acc = c[7]
    for k in range(6, -1, -1):
        acc = acc * x + c[k]
    return acc


@jit
def ndtri(p):
    """Inverse standard normal CDF, Wichura (1988) AS241 PPND16, for 0 < p < 1."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(_A, r) / _poly(_B, r)
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        val = _poly(_C, r - 1.6) / _poly(_D, r - 1.6)
    else:
        val = _poly(_E, r - 5.0) / _poly(_F, r - 5.0)
    return -val if q < 0.0 else val


@jit
def ndtr(x):
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x * 0.7071067811865476)


@jit
def uniforms(key, n):
    """Rows 0..n-1 of the slot stream ``key`` as an array (for Python-side callers)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(key, i)
    return out


@jit
def normals(key, n):
    """Rows 0..n-1 of the slot stream ``key`` as standard normals."""
    out = np.empty(n)
    for i in range(n):
        out[i] = normal(key, i)
    return out
