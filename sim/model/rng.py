"""Random numbers: every draw is a pure function of (seed, stream name, year, row).

Why counter-based. Common random numbers (docs/ODD.md, Stochasticity) need the same draw for the same person
or household under every strategy. Drawing whole arrays from a generator per (mechanism, year)
gives that, but it makes every year pay for ~9 full arrays of draws per person whether or not
anybody needs them (a normal for every person's hospital cost, although ~13% are admitted). Here a
draw is computed where it is needed, inside the compiled kernels, and is the same number whenever
and wherever it is computed.

Streams are named, not numbered. A stream is one kind of draw of one mechanism, named
``"<mechanism>.<draw>"`` in lower case (``"illness.acute"``, ``"illness.cost"``,
``"labour.local"``, ``"population.enterprises"``; docs/ODD.md lists them all). Its key for a year
is derived from the seed, the name and the year alone:

* ``name_words(name)``: the 128-bit BLAKE2b digest of the UTF-8 name (personalised
  ``povsim-stream``) as four 32-bit words, a stable hash that no Python session or platform changes;
* ``Streams.key(name, year)``: the first 64-bit word of
  ``numpy.random.SeedSequence(seed, spawn_key=(KEY, *name_words(name), year))``.

So adding, removing, renaming or reordering a stream changes no other stream, and nothing depends
on which streams were drawn before or at all. Two names collide with probability ~2**-128. A new
draw gets a new name; a name, once results were published with it, is never reused for another
draw. From the key:

* the draw for row ``i`` (a person or household index) is the ``(i + 1)``-th output
  of the SplitMix64 generator started at the stream key: ``mix64(key + (i + 1) * GAMMA)``.
  SplitMix64 (Steele, Lea & Flood 2014, the seeding generator of xoshiro) passes BigCrush; every
  stream is a window of its single 2**64 cycle that starts at a pseudo-random point, so two
  windows of ~10**7 draws overlap with probability ~10**-12.
* ``uniform``: the top 53 bits, ``(x >> 11) * 2**-53``, in [0, 1). ``normal``: the inverse normal
  CDF (Wichura's AS241, relative error ~1e-16) of the open uniform ``((x >> 11) + 0.5) * 2**-53``.

A yearly phase receives ``Streams.keys(mechanism, year)``, a :class:`PhaseStreams` that gives the
keys of that mechanism's streams by their short names (``keys.key("acute")`` is
``"illness.acute"``'s key), or a whole record of them for a kernel (:meth:`PhaseStreams.record`
fills a namedtuple whose field names are the short names; numba reads it as a tuple of uint64).

Population synthesis (setup) still draws whole arrays from ``Streams.get(name, year)``, a
``numpy.random.Generator`` seeded the same way (with ``GENERATOR`` in place of ``KEY``, so that a
generator and a key stream never share a seed). The policy instruments draw from key streams at
the rows they need (:func:`uniforms_at`, :func:`normals_at`: ``"training.gain"``,
``"microcredit.take_up"``, ``"industry.slots"``, ``"industry.jobs"``), so a household's or a
person's draw is the same under every strategy and in every pass of the budget.

The compiled functions here are called from kernels in other modules. Numba's cache only notices
edits to a kernel's own file, so ``sim.model.kernels`` clears the cache when this file changes.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache

import numpy as np

from sim.model.kernels import jit

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment: 2**64 / golden ratio, odd
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_TO_UNIT = 2.0**-53
KEY, GENERATOR = 0, 1  # the first spawn-key word: a counter-based stream or a numpy generator
NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


@lru_cache(maxsize=1024)
def name_words(name: str) -> tuple[int, int, int, int]:
    """A stream name as four 32-bit words: its BLAKE2b-128 digest (stable across runs)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"a stream name is '<mechanism>.<draw>' in lower case, got {name!r}")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16, person=b"povsim-stream")
    d = digest.digest()
    return tuple(int.from_bytes(d[i : i + 4], "little") for i in range(0, 16, 4))


# numpy's SeedSequence (numpy/random/bit_generator.pyx, after M. O'Neill's seed_seq_fe):
# deriving one key a year per stream through it costs ~20 µs of Python each, ~0.6 ms a county
# year; the same hash compiled gives the same words (tests/test_rng.py checks it against numpy).
_POOL = 4
_U = np.uint64  # numba mixes uint64 with int64 into float64: every constant is a uint64
_INIT_A, _MULT_A = _U(0x43B0D7E5), _U(0x931E8875)
_INIT_B, _MULT_B = _U(0x8B51F9DD), _U(0x58F38DED)
_MIX_L, _MIX_R = _U(0xCA01F9DD), _U(0x4973F715)
_M32, _SHIFT, _ZERO = _U(0xFFFFFFFF), _U(16), _U(0)
_WORD_BITS = (_U(0), _U(32))


def _int_words(n: int) -> list[int]:
    """A non-negative int as SeedSequence reads it: 32-bit words, least significant first."""
    if n < 0:
        raise ValueError(f"must be >= 0, got {n}")
    words = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


@jit
def _hashmix(value, hash_const):
    value = (value ^ hash_const) & _M32
    hash_const = (hash_const * _MULT_A) & _M32
    value = (value * hash_const) & _M32
    return value ^ (value >> _SHIFT), hash_const


@jit
def _mix(x, y):
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> _SHIFT)


@jit
def seed_sequence_word(entropy):
    """``SeedSequence`` with this entropy (the seed's words padded to the pool, then the spawn
    key's words; uint64 array of 32-bit values): the first uint64 of ``generate_state``."""
    n = len(entropy)
    mixer = np.zeros(_POOL, dtype=np.uint64)
    hc = _INIT_A
    for i in range(_POOL):
        v = entropy[i] if i < n else _ZERO
        mixer[i], hc = _hashmix(v, hc)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                h, hc = _hashmix(mixer[i_src], hc)
                mixer[i_dst] = _mix(mixer[i_dst], h)
    for i_src in range(_POOL, n):
        for i_dst in range(_POOL):
            h, hc = _hashmix(entropy[i_src], hc)
            mixer[i_dst] = _mix(mixer[i_dst], h)
    out = _ZERO
    hc = _INIT_B
    for i in range(2):
        v = (mixer[i] ^ hc) & _M32
        hc = (hc * _MULT_B) & _M32
        v = (v * hc) & _M32
        v ^= v >> _SHIFT
        out |= v << _WORD_BITS[i]
    return out


class Streams:
    """The run's random streams, keyed by name and year."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[tuple[str, int], np.uint64] = {}
        words = _int_words(self.seed)  # as SeedSequence pads the seed when a spawn key follows
        self._seed_words = words + [0] * (_POOL - len(words))

    def _sequence(self, kind: int, name: str, year: int) -> np.random.SeedSequence:
        if int(year) < 0:
            raise ValueError(f"year must be >= 0, got {year}")
        return np.random.SeedSequence(self.seed, spawn_key=(kind, *name_words(name), int(year)))

    def key(self, name: str, year: int) -> np.uint64:
        """The key (uint64) of stream ``name`` in ``year``, for ``uniform``/``normal``: the first
        word of ``SeedSequence(seed, spawn_key=(KEY, *name_words(name), year))``, computed by
        :func:`seed_sequence_word` (the same number, ~10 times faster)."""
        k = (name, int(year))
        out = self._keys.get(k)
        if out is None:
            if k[1] < 0:
                raise ValueError(f"year must be >= 0, got {year}")
            entropy = np.array(
                [*self._seed_words, KEY, *name_words(name), *_int_words(k[1])], dtype=np.uint64
            )
            out = self._keys[k] = np.uint64(seed_sequence_word(entropy))
        return out

    def get(self, name: str, year: int = 0) -> np.random.Generator:
        """A generator for whole-array draws (population synthesis, policy instruments)."""
        return np.random.Generator(np.random.PCG64(self._sequence(GENERATOR, name, year)))

    def keys(self, mechanism: str, year: int) -> PhaseStreams:
        """The streams of ``mechanism`` in ``year``, by their short names."""
        return PhaseStreams(self, mechanism, int(year))


class PhaseStreams:
    """The streams ``"<mechanism>.<draw>"`` of one mechanism and year."""

    def __init__(self, streams: Streams, mechanism: str, year: int):
        self.streams, self.mechanism, self.year = streams, mechanism, year

    def name(self, draw: str) -> str:
        return f"{self.mechanism}.{draw}"

    def key(self, draw: str) -> np.uint64:
        return self.streams.key(self.name(draw), self.year)

    def array(self, draws: tuple[str, ...]) -> np.ndarray:
        """The keys of ``draws``, in that order, as a uint64 array."""
        return np.array([self.key(d) for d in draws], dtype=np.uint64)

    def record(self, cls):
        """An instance of the namedtuple ``cls`` holding the key of each of its fields' streams."""
        return cls(*(self.key(f) for f in cls._fields))


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
def bits(key, row):
    """64 random bits: output ``row + 1`` of SplitMix64 started at ``key``."""
    return mix64(key + (np.uint64(row) + _ONE) * GAMMA)


@jit
def uniform(key, row):
    """U[0, 1) for ``row`` of the stream ``key``."""
    return np.float64(bits(key, row) >> _S11) * _TO_UNIT


@jit
def open_uniform(key, row):
    """U(0, 1), never 0 or 1, for ``row`` of the stream ``key``: the uniform behind
    ``normal``."""
    return (np.float64(bits(key, row) >> _S11) + 0.5) * _TO_UNIT


@jit
def normal(key, row):
    """N(0, 1) for ``row`` of the stream ``key``: the inverse CDF of ``open_uniform``."""
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


def uniforms(key, n):
    """Rows 0..n-1 of the stream ``key`` as an array (for Python-side callers)."""
    return uniforms_at(key, np.arange(n))


def normals(key, n):
    """Rows 0..n-1 of the stream ``key`` as standard normals."""
    return normals_at(key, np.arange(n))


@jit
def uniforms_at(key, rows):
    """The stream ``key``'s uniforms at ``rows`` (any order): the draws of those rows alone."""
    out = np.empty(len(rows))
    for j in range(len(rows)):
        out[j] = uniform(key, rows[j])
    return out


@jit
def normals_at(key, rows):
    """The stream ``key``'s standard normals at ``rows``."""
    out = np.empty(len(rows))
    for j in range(len(rows)):
        out[j] = normal(key, rows[j])
    return out
