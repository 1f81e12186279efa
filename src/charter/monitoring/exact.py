"""Exact, order-independent sums of float64 values.

Window profiles are merged in whatever order batches, workers or Spark partitions deliver
them, and the merged profile is content-hashed. Ordinary floating-point addition is not
associative, so two merge orders would give two digests for the same data. Summing every
value *exactly* (as an integer multiple of 2**-1127) removes the order from the result:
``merge(a, b)`` is then bit-for-bit ``profile(concat(a, b))``.

The exact value is stored as a canonical *expansion*: the shortest list of doubles whose
exact sum is the value, built greedily from the most significant part down. It is JSON
friendly (finite floats only) and unique for a given value, so it hashes stably.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from charter.domain.errors import BadInput

#: Every finite double is an integer multiple of 2**-1074; the extra 2**-53 lets the
#: integer mantissa (53 bits) be shifted left only, never right.
_SCALE_BITS = 1127
_HALF_BITS = 26
_HALF_MASK = (1 << _HALF_BITS) - 1
#: Values are split and summed in blocks of this many. Exactness needs at most 2**26 per
#: block (each half-mantissa is below 2**27, so per-exponent float64 sums stay below
#: 2**53); 2**16 keeps a block's temporaries in cache, which at a million values is
#: several times faster than whole-array passes (page faults, memory traffic).
_CHUNK = 1 << 16
#: frexp exponents of finite doubles lie in [-1073, 1024].
_EXP_OFFSET = 1073
_EXP_RANGE = 1024 + _EXP_OFFSET + 1
#: Below this many values a plain Python loop beats the vectorised pass (whose bincounts
#: over every exponent cost the same for 7 values as for 7 million).
_SMALL = 256
_ONE = 1 << _SCALE_BITS


def _scaled_double(value: float) -> int:
    """``value * 2**1127`` exactly: a double is n / 2**k with k <= 1074."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_SCALE_BITS - (denominator.bit_length() - 1))


def _scaled_integer(values: npt.NDArray[np.float64]) -> int:
    """Return sum(values) * 2**1127 exactly, as a Python integer."""
    return _scaled_ranges(values, [(0, values.size)])[0]


def _scaled_small(values: npt.NDArray[np.float64]) -> int:
    # value = whole * 2**(exponent - 53) with an integer |whole| < 2**53, so the scaled
    # value is whole << (exponent + 1074) (frexp exponents are >= -1073).
    mantissa, exponent = np.frexp(values)
    ints: list[int] = (mantissa * float(1 << 53)).astype(np.int64).tolist()
    shifts: list[int] = (exponent.astype(np.int64) + 1074).tolist()
    return sum((w << s for w, s in zip(ints, shifts, strict=True)), 0)


def _bucketed(
    exponent: npt.NDArray[np.integer],
    high: npt.NDArray[np.int64],
    low: npt.NDArray[np.int64],
) -> int:
    """Exact scaled sum of ``(high * 2**26 + low) * 2**(exponent - 53)``, grouped by exponent.

    Exact in float64 while the halves summed per exponent stay below 2**53 in magnitude:
    callers pass at most ``_CHUNK`` values' worth (single values or run sums).
    """
    if exponent.size == 0:
        return 0
    index = exponent.astype(np.int64) + _EXP_OFFSET
    high_sums = np.bincount(index, weights=high.astype(np.float64), minlength=_EXP_RANGE)
    low_sums = np.bincount(index, weights=low.astype(np.float64), minlength=_EXP_RANGE)
    total = 0
    for slot in np.flatnonzero((high_sums != 0) | (low_sums != 0)):
        # value = whole * 2**(exponent - 53); scaled by 2**1127 -> shift exponent + 1074.
        shift = int(slot) - _EXP_OFFSET + 1074
        bucket = (int(high_sums[slot]) << _HALF_BITS) + int(low_sums[slot])
        total += bucket << shift
    return total


def _scaled_ranges(values: npt.NDArray[np.float64], ranges: Sequence[tuple[int, int]]) -> list[int]:
    """Return ``sum(values[a:b]) * 2**1127`` exactly for each ``(a, b)`` in ``ranges``.

    The frexp / integer split of ``values`` is done once for all ranges: a column's total
    and the sums of its tails (slices of the same sorted array) share it.
    """
    size = values.size
    spans = [(max(0, min(a, size)), max(0, min(b, size))) for a, b in ranges]
    if size <= _SMALL:
        return [_scaled_small(values[a:b]) if a < b else 0 for a, b in spans]
    totals = [0] * len(spans)
    for start in range(0, size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        # Temporaries are written in place where possible (fewer arrays to allocate).
        mantissa, exponent = np.frexp(chunk)
        # mantissa * 2**53 is an exact signed integer below 2**53 in magnitude.
        low = np.empty(chunk.size, dtype=np.int64)
        np.multiply(mantissa, float(1 << 53), out=low, casting="unsafe")
        # Arithmetic shift and mask split any signed integer as hi * 2**26 + lo, lo >= 0.
        high = np.right_shift(low, _HALF_BITS, out=mantissa.view(np.int64))
        np.bitwise_and(low, _HALF_MASK, out=low)
        exponents: npt.NDArray[np.integer] = exponent
        local = [
            (min(max(a - start, 0), chunk.size), min(max(b - start, 0), chunk.size))
            for a, b in spans
        ]
        changes = np.flatnonzero(exponents[1:] != exponents[:-1]) + 1
        if changes.size * 4 < chunk.size:
            # Sorted (or smooth) data comes in long runs of one exponent: add each run up
            # in int64 first (exact: |half| < 2**27, runs shorter than 2**36) so that the
            # per-exponent pass touches a handful of numbers instead of every value. Runs
            # are also cut at the range ends, so every range is a whole number of runs.
            ends = [edge for span in local for edge in span if 0 < edge < chunk.size]
            cuts = np.unique(np.concatenate([[0], changes, np.asarray(ends, np.int64)]))
            high = np.add.reduceat(high, cuts)
            low = np.add.reduceat(low, cuts)
            exponents = exponents[cuts].astype(np.int64)
            local = [
                (int(np.searchsorted(cuts, a)), int(np.searchsorted(cuts, b))) if a < b else (0, 0)
                for a, b in local
            ]
        for i, (a, b) in enumerate(local):
            if a < b:
                totals[i] += _bucketed(exponents[a:b], high[a:b], low[a:b])
    return totals


def _expansion(scaled: int) -> tuple[float, ...]:
    """Return the canonical double expansion of ``scaled * 2**-1127``."""
    parts: list[float] = []
    remainder = scaled
    while remainder != 0:
        try:
            # int / int is correctly rounded in CPython (as float(Fraction) is: it divides).
            head = remainder / _ONE
        except OverflowError as exc:
            raise BadInput("a sum of values overflows double precision") from exc
        if not np.isfinite(head):
            raise BadInput("a sum of values overflows double precision")
        parts.append(head)
        remainder -= _scaled_double(head)
    return tuple(parts)


#: The smallest scaled value whose nearest double is infinite (round half to even at
#: 2**1024 - 2**970): sums at or beyond it overflow double precision.
_OVERFLOW = ((1 << 1024) - (1 << 970)) << _SCALE_BITS


def _checked(scaled: int) -> int:
    if abs(scaled) >= _OVERFLOW:
        raise BadInput("a sum of values overflows double precision")
    return scaled


class ExactSum:
    """An exactly represented sum of doubles; adding two is exact and order-independent.

    ``parts`` is the canonical expansion (most significant first); ``value`` is the sum
    rounded once to the nearest double. Internally the sum is an integer multiple of
    2**-1127; the expansion is computed when first asked for, so that merging many sums
    (a window of hundreds of hourly buckets) costs integer additions, not an expansion
    per step.
    """

    __slots__ = ("_parts", "_scaled_value")

    def __init__(self, parts: tuple[float, ...] = ()) -> None:
        # Only canonical expansions (or nothing) are passed here; see from_list otherwise.
        self._parts: tuple[float, ...] | None = tuple(parts)
        self._scaled_value: int | None = None if parts else 0

    @classmethod
    def _of_scaled(cls, scaled: int) -> ExactSum:
        result = cls.__new__(cls)
        result._parts = () if scaled == 0 else None
        result._scaled_value = _checked(scaled)
        return result

    @classmethod
    def of(cls, values: npt.ArrayLike) -> ExactSum:
        """Sum finite ``values`` exactly."""
        array = np.asarray(values, dtype=np.float64).ravel()
        if array.size and not np.isfinite(array).all():
            raise BadInput("exact sums take finite values only")
        return cls._of_scaled(_scaled_integer(array))

    @classmethod
    def of_ranges(cls, values: npt.ArrayLike, ranges: Sequence[tuple[int, int]]) -> list[ExactSum]:
        """Exact sums of the slices ``values[a:b]`` for each ``(a, b)`` in ``ranges``.

        Same results as ``[ExactSum.of(values[a:b]) for a, b in ranges]`` but the values
        are split into exponent and mantissa once, however many ranges share them.
        Bounds are clipped like slice bounds (non-negative ones only); a range with
        ``a >= b`` sums nothing.
        """
        array = np.asarray(values, dtype=np.float64).ravel()
        if any(a < 0 or b < 0 for a, b in ranges):
            raise BadInput("range bounds must not be negative")
        if array.size and not np.isfinite(array).all():
            raise BadInput("exact sums take finite values only")
        return [cls._of_scaled(scaled) for scaled in _scaled_ranges(array, ranges)]

    @property
    def parts(self) -> tuple[float, ...]:
        """The canonical expansion: the shortest doubles whose exact sum is the value."""
        if self._parts is None:
            assert self._scaled_value is not None
            self._parts = _expansion(self._scaled_value)
        return self._parts

    def _scaled(self) -> int:
        if self._scaled_value is None:
            assert self._parts is not None
            self._scaled_value = sum((_scaled_double(part) for part in self._parts), 0)
        return self._scaled_value

    def __add__(self, other: ExactSum) -> ExactSum:
        if self._parts == ():
            return other
        if other._parts == ():
            return self
        return ExactSum._of_scaled(self._scaled() + other._scaled())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExactSum):
            return NotImplemented
        return self._scaled() == other._scaled()

    def __hash__(self) -> int:
        return hash(self._scaled())

    def __repr__(self) -> str:
        return f"ExactSum(parts={self.parts!r})"

    @property
    def value(self) -> float:
        """The exact sum rounded to the nearest double."""
        parts = self.parts
        return parts[0] if parts else 0.0

    def to_list(self) -> list[float]:
        """JSON form: the expansion as a list of finite floats."""
        return list(self.parts)

    @classmethod
    def from_list(cls, parts: list[float]) -> ExactSum:
        """Rebuild from :meth:`to_list`, re-canonicalising so any valid input hashes alike."""
        values = [float(p) for p in parts]
        if not all(np.isfinite(v) for v in values):
            raise BadInput("an exact sum holds finite numbers only")
        return cls._of_scaled(sum((_scaled_double(v) for v in values), 0))
