"""Categorical columns: kept categories, an ``other`` bucket and an ``unseen`` bucket.

The reference keeps its ``max_categories`` most frequent values by name; the rest fold
into ``other``. A window value that the reference never had goes to ``unseen``, a bucket
the reference has at zero, so new categories show up in the chi-square test, in
Jensen-Shannon and as a data-quality signal. Values are compared by their text form
(``str(value)``), so ``True`` and ``"True"`` are the same category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from charter.domain.errors import BadInput
from charter.monitoring.numeric import int_counts

Counts = npt.NDArray[np.int64]

#: How many reference names folded into ``other`` are remembered, so that a window value
#: from the reference's long tail is not mistaken for a new one.
MAX_OTHER_NAMES = 10_000
#: How many unseen names a window keeps as examples (the smallest by text, so that
#: merging keeps exactly the examples a single pass would).
MAX_UNSEEN_EXAMPLES = 20

_SCALARS = (str, bool, int, float, np.generic)


def category_counts(series: pd.Series) -> tuple[dict[str, int], int, int]:
    """Return ``(count per category text, missing count, type errors)``.

    Containers (lists, dicts...) are type errors: they have no stable category text.
    """
    missing = int(series.isna().sum())
    try:
        pairs = _arrow_text_counts(series)
        if pairs is None:
            pairs = list(series.value_counts(dropna=True, sort=False).items())
    except TypeError:
        # Unhashable values (lists, dicts) defeat value_counts: count them one by one.
        pairs = [(value, 1) for value in series if not _is_missing(value)]
    result: dict[str, int] = {}
    type_errors = 0
    for value, count in pairs:
        if isinstance(value, _SCALARS):
            key = _text(value)
            result[key] = result.get(key, 0) + int(count)
        else:
            type_errors += int(count)
    return result, missing, type_errors


def _arrow_text_counts(series: pd.Series) -> list[tuple[Any, int]] | None:
    """``(text, count)`` pairs of an Arrow-backed string column without missing values,
    or None for any other column.

    Dictionary-encoding each chunk and counting its codes with ``np.bincount`` is about a
    third faster than pandas' ``value_counts`` (Arrow's hash count). A text may appear in
    several chunks' dictionaries; the caller adds its counts up.
    """
    if not isinstance(series.dtype, pd.StringDtype) or series.dtype.storage != "pyarrow":
        return None
    chunked = pa.chunked_array(series.array.__arrow_array__())
    if chunked.null_count or not (
        pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type)
    ):
        return None
    pairs: list[tuple[Any, int]] = []
    for chunk in pc.dictionary_encode(chunked).chunks:
        counts = np.bincount(chunk.indices.to_numpy(), minlength=len(chunk.dictionary))
        texts = chunk.dictionary.to_pylist()
        # A chunk's dictionary may list texts of earlier chunks that it lacks: skip zeros.
        pairs.extend((t, c) for t, c in zip(texts, counts.tolist(), strict=True) if c)
    return pairs


def _is_missing(value: Any) -> bool:
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def category_text(value: Any) -> str:
    """The category text of one scalar value (``1``, ``1.0`` and ``"1"`` all give ``"1"``)."""
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        # 1.0 and 1 are one category whether a column arrives as int or float.
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


@dataclass(frozen=True, eq=False)
class CategoricalSummary:
    """Mergeable summary of one categorical column over some rows.

    ``counts`` follow the column's categories, then ``other``, then ``unseen``.
    """

    counts: Counts
    missing: int
    type_errors: int
    unseen_examples: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        """Values counted in some bucket."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """All rows seen."""
        return self.n + self.missing + self.type_errors

    @property
    def unseen(self) -> int:
        """Values the reference never had."""
        return int(self.counts[-1])

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        """Summary of both sets of rows; exact and order-independent."""
        if self.counts.shape != other.counts.shape:
            raise BadInput("categorical summaries over different categories cannot be merged")
        examples = sorted(set(self.unseen_examples) | set(other.unseen_examples))
        return CategoricalSummary(
            counts=self.counts + other.counts,
            missing=self.missing + other.missing,
            type_errors=self.type_errors + other.type_errors,
            unseen_examples=tuple(examples[:MAX_UNSEEN_EXAMPLES]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalSummary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "counts": self.counts.tolist(),
            "missing": self.missing,
            "type_errors": self.type_errors,
            "unseen_examples": list(self.unseen_examples),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalSummary:
        """Inverse of :meth:`to_dict`."""
        try:
            counts = int_counts(data["counts"])
            if (counts < 0).any():
                raise ValueError("negative count")
            return cls(
                counts=counts,
                missing=int(data["missing"]),
                type_errors=int(data["type_errors"]),
                unseen_examples=tuple(str(x) for x in data["unseen_examples"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed categorical summary: {exc}") from exc


@dataclass(frozen=True, eq=False)
class CategoricalColumn:
    """A categorical column of the reference: kept categories and the names in ``other``."""

    name: str
    categories: tuple[str, ...]
    other_names: tuple[str, ...]
    other_names_complete: bool
    reference: CategoricalSummary

    @classmethod
    def fit(cls, name: str, series: pd.Series, *, max_categories: int) -> CategoricalColumn:
        """Keep the most frequent categories (ties by name) and summarise the reference."""
        counts, missing, type_errors = category_counts(series)
        if not counts:
            raise BadInput(f"categorical column {name!r} has no value in the reference")
        ranked = sorted(counts, key=lambda key: (-counts[key], key))
        kept = tuple(ranked[:max_categories])
        folded = sorted(ranked[max_categories:])
        column = cls(
            name=name,
            categories=kept,
            other_names=tuple(folded[:MAX_OTHER_NAMES]),
            other_names_complete=len(folded) <= MAX_OTHER_NAMES,
            reference=CategoricalSummary(np.zeros(len(kept) + 2, np.int64), 0, 0),
        )
        summary = column._from_counts(counts, missing, type_errors)
        return cls(name, kept, column.other_names, column.other_names_complete, summary)

    @property
    def labels(self) -> list[str]:
        """Bucket names in count order."""
        return [*self.categories, "<other>", "<unseen>"]

    def summarise(self, series: pd.Series) -> CategoricalSummary:
        """Summarise some rows of this column on the reference's buckets."""
        counts, missing, type_errors = category_counts(series)
        return self._from_counts(counts, missing, type_errors)

    def _from_counts(
        self, counts: dict[str, int], missing: int, type_errors: int
    ) -> CategoricalSummary:
        index = {name: i for i, name in enumerate(self.categories)}
        others = set(self.other_names)
        other_slot, unseen_slot = len(self.categories), len(self.categories) + 1
        result = np.zeros(len(self.categories) + 2, dtype=np.int64)
        unseen_names: list[str] = []
        for key, count in counts.items():
            slot = index.get(key)
            if slot is None:
                # Without the full tail of reference names, an unknown value may be a rare
                # reference value: count it as ``other`` rather than raise a false alarm.
                known = key in others or not self.other_names_complete
                slot = other_slot if known else unseen_slot
                if slot == unseen_slot:
                    unseen_names.append(key)
            result[slot] += count
        return CategoricalSummary(
            counts=result,
            missing=missing,
            type_errors=type_errors,
            unseen_examples=tuple(sorted(unseen_names)[:MAX_UNSEEN_EXAMPLES]),
        )

    def empty(self) -> CategoricalSummary:
        """Summary of no rows."""
        return CategoricalSummary(np.zeros(len(self.categories) + 2, np.int64), 0, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": "categorical",
            "categories": list(self.categories),
            "other_names": list(self.other_names),
            "other_names_complete": self.other_names_complete,
            "reference": self.reference.to_dict(),
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> CategoricalColumn:
        """Inverse of :meth:`to_dict`."""
        try:
            column = cls(
                name=name,
                categories=tuple(str(c) for c in data["categories"]),
                other_names=tuple(str(c) for c in data["other_names"]),
                other_names_complete=bool(data["other_names_complete"]),
                reference=CategoricalSummary.from_dict(data["reference"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed categorical column {name!r}: {exc}") from exc
        if column.reference.counts.size != len(column.categories) + 2:
            raise BadInput(f"categorical column {name!r}: counts do not match the categories")
        if len(set(column.categories)) != len(column.categories):
            raise BadInput(f"categorical column {name!r}: duplicate categories")
        return column
