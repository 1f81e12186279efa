"""Data quality of a window: missing, infinite, out-of-range, unseen and mistyped values.

These are signals of their own, reported next to drift rather than folded into it: a
feed that starts sending nulls is broken, not drifting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from charter.domain.errors import BadInput
from charter.monitoring.categorical import CategoricalSummary
from charter.monitoring.numeric import NumericSummary
from charter.monitoring.profiles import ReferenceProfile, WindowProfile


@dataclass(frozen=True, kw_only=True)
class QualityConfig:
    """When a share becomes an issue. ``*_increase`` is measured over the reference share."""

    missing_increase: float = 0.05
    out_of_range: float = 0.01
    unseen: float = 0.01
    non_finite_increase: float = 0.0
    type_errors: float = 0.0
    min_rows: int = 1


@dataclass(frozen=True)
class ColumnQuality:
    """Shares of one column in a window (None when the window has no rows)."""

    column: str
    kind: Literal["numeric", "categorical"]
    rows: int
    missing_share: float | None
    reference_missing_share: float | None
    type_error_share: float | None
    pos_inf_share: float | None = None
    neg_inf_share: float | None = None
    out_of_range_share: float | None = None
    unseen_share: float | None = None
    unseen_examples: tuple[str, ...] = ()
    issues: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["unseen_examples"] = list(self.unseen_examples)
        data["issues"] = list(self.issues)
        return data


@dataclass(frozen=True)
class QualityReport:
    """Quality of every profiled column of one window."""

    rows: int
    columns: tuple[ColumnQuality, ...]

    @property
    def issues(self) -> dict[str, tuple[str, ...]]:
        """Columns with at least one issue, and the issues."""
        return {c.column: c.issues for c in self.columns if c.issues}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"rows": self.rows, "columns": [c.to_dict() for c in self.columns]}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _over(value: float | None, limit: float) -> bool:
    return value is not None and value > limit


def check_quality(
    reference: ReferenceProfile, window: WindowProfile, config: QualityConfig | None = None
) -> QualityReport:
    """Quality shares of every column in the window, with the issues they raise.

    The label column is left out: missing labels are expected until labels arrive.
    """
    config = config or QualityConfig()
    if window.reference != reference.digest:
        raise BadInput("the window profile was built on another reference profile")
    results: list[ColumnQuality] = []
    for name, column in reference.columns.items():
        if name == reference.label:
            continue
        ref, win = column.reference, window.columns[name]
        rows = win.rows
        missing = _share(win.missing, rows)
        ref_missing = _share(ref.missing, ref.rows)
        type_errors = _share(win.type_errors, rows)
        issues: list[str] = []
        enough = rows >= config.min_rows
        if (
            enough
            and missing is not None
            and missing - (ref_missing or 0.0) > config.missing_increase
        ):
            issues.append("missing")
        if enough and _over(type_errors, config.type_errors):
            issues.append("type_errors")
        if isinstance(win, NumericSummary) and isinstance(ref, NumericSummary):
            pos_inf, neg_inf = _share(win.pos_inf, rows), _share(win.neg_inf, rows)
            ref_non_finite = _share(ref.pos_inf + ref.neg_inf, ref.rows) or 0.0
            outside = _share(int(win.counts[0] + win.counts[-1]), win.n)
            if enough and (pos_inf or 0.0) + (neg_inf or 0.0) - ref_non_finite > (
                config.non_finite_increase
            ):
                issues.append("non_finite")
            if enough and _over(outside, config.out_of_range):
                issues.append("out_of_range")
            results.append(
                ColumnQuality(
                    name,
                    "numeric",
                    rows,
                    missing,
                    ref_missing,
                    type_errors,
                    pos_inf_share=pos_inf,
                    neg_inf_share=neg_inf,
                    out_of_range_share=outside,
                    issues=tuple(issues),
                )
            )
        elif isinstance(win, CategoricalSummary):
            unseen = _share(win.unseen, win.n)
            if enough and _over(unseen, config.unseen):
                issues.append("unseen")
            results.append(
                ColumnQuality(
                    name,
                    "categorical",
                    rows,
                    missing,
                    ref_missing,
                    type_errors,
                    unseen_share=unseen,
                    unseen_examples=win.unseen_examples,
                    issues=tuple(issues),
                )
            )
    return QualityReport(window.rows, tuple(results))
