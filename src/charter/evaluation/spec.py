"""What the columns mean (:class:`InputSpec`) and how to run a suite (:class:`RunOptions`).

Both are frozen dataclasses with keyword-only fields, validated on construction, with a
``from_mapping`` constructor for YAML/CLI input that names unknown or mistyped keys.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.domain.errors import BadInput

Label = str | int | float | bool


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{name} must be a list of column names", location=name)
    return tuple(value)


def _from_mapping(cls: type[Any], raw: Any, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise BadInput(f"expected a mapping, got {type(raw).__name__}", location=where)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BadInput(
            f"unknown key(s) {', '.join(map(repr, unknown))}; known keys: "
            f"{', '.join(sorted(known))}",
            location=where,
        )
    try:
        return cls(**dict(raw))
    except TypeError as exc:
        raise BadInput(str(exc), location=where) from exc


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """Which columns of the data hold what.

    - ``target``: the true label (classification) or value (regression).
    - ``prediction``: the predicted label or value. For classification it may be omitted
      when scores are given: labels are then ``score >= threshold`` (binary) or the arg-max
      of the class probabilities (multiclass).
    - ``score``: binary only, the predicted probability of ``positive_label``.
    - ``class_scores``: multiclass (or binary) probabilities, one column per class label:
      ``{"setosa": "p_setosa", ...}``. Keys are labels written as text.
    - ``cohorts``: columns to slice by; numeric ones need ``bins``.
    - ``bins``: numeric cohort column -> increasing bin edges. Intervals are ``[a, b)``
      except the last, which is ``[a, b]``; values outside the edges are an error.
    - ``positive_label``: the positive class for binary metrics (default 1 / True when the
      labels are 0/1 or booleans). Matched against the data as a value or as text.
    - ``threshold``: decision threshold on ``score`` when no prediction column is given.
    - ``features``: model input columns (robustness, data quality); default every column
      that is not the target, prediction, a score or a cohort.
    """

    target: str | None = None
    prediction: str | None = None
    score: str | None = None
    class_scores: Mapping[str, str] | None = None
    cohorts: Sequence[str] = ()
    bins: Mapping[str, Sequence[float]] = field(default_factory=dict)
    positive_label: Label | None = None
    threshold: float = 0.5
    features: Sequence[str] | None = None

    def __post_init__(self) -> None:
        for name in ("target", "prediction", "score"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise BadInput(f"{name} must be a column name", location=name)
        object.__setattr__(self, "cohorts", _strings(self.cohorts, "cohorts"))
        if len(set(self.cohorts)) != len(self.cohorts):
            raise BadInput("a cohort column is listed twice", location="cohorts")
        if self.features is not None:
            object.__setattr__(self, "features", _strings(self.features, "features"))
        if self.class_scores is not None:
            if not isinstance(self.class_scores, Mapping) or not self.class_scores:
                raise BadInput(
                    "class_scores must map each class label to its probability column",
                    location="class_scores",
                )
            if self.score is not None:
                raise BadInput(
                    "give either score (binary) or class_scores, not both", location="score"
                )
            object.__setattr__(
                self, "class_scores", {str(k): str(v) for k, v in self.class_scores.items()}
            )
        if not isinstance(self.bins, Mapping):
            raise BadInput("bins must map a cohort column to its edges", location="bins")
        clean_bins: dict[str, tuple[float, ...]] = {}
        for column, edges in self.bins.items():
            clean_bins[str(column)] = _edges(column, edges)
            if column not in self.cohorts:
                raise BadInput(
                    f"bins given for {column!r}, which is not a cohort column",
                    location=f"bins.{column}",
                )
        object.__setattr__(self, "bins", clean_bins)
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise BadInput("threshold must be a number", location="threshold")
        if not 0.0 <= float(threshold) <= 1.0:
            raise BadInput(f"threshold must be in [0, 1], got {threshold}", location="threshold")

    @classmethod
    def from_mapping(cls, raw: Any) -> InputSpec:
        """Build a spec from a mapping (YAML/JSON/CLI), naming unknown keys."""
        spec: InputSpec = _from_mapping(cls, raw, "spec")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form recorded in a result."""
        return {
            "target": self.target,
            "prediction": self.prediction,
            "score": self.score,
            "class_scores": dict(self.class_scores) if self.class_scores else None,
            "cohorts": list(self.cohorts),
            "bins": {k: list(v) for k, v in self.bins.items()},
            "positive_label": self.positive_label,
            "threshold": float(self.threshold),
            "features": list(self.features) if self.features is not None else None,
        }

    def score_columns(self) -> list[str]:
        """Every column that holds a score or probability."""
        if self.score is not None:
            return [self.score]
        return list(self.class_scores.values()) if self.class_scores else []

    def role_columns(self) -> list[str]:
        """Target, prediction, score and cohort columns (everything that is not a feature)."""
        named = [self.target, self.prediction]
        return [c for c in named if c is not None] + self.score_columns() + list(self.cohorts)


def _edges(column: Any, edges: Any) -> tuple[float, ...]:
    where = f"bins.{column}"
    if isinstance(edges, str) or not isinstance(edges, Sequence):
        raise BadInput("bin edges must be a list of numbers", location=where)
    values: list[float] = []
    for edge in edges:
        if isinstance(edge, bool) or not isinstance(edge, int | float) or not math.isfinite(edge):
            raise BadInput(f"bin edge {edge!r} is not a finite number", location=where)
        values.append(float(edge))
    if len(values) < 2:
        raise BadInput("give at least two bin edges", location=where)
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise BadInput(f"bin edges must be strictly increasing: {values}", location=where)
    return tuple(values)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run a suite. Every field has a default; irrelevant ones are ignored.

    - ``n_bootstrap``: bootstrap resamples for confidence intervals (0 disables them).
    - ``confidence``: two-sided level of the percentile intervals.
    - ``seed``: seed of the bootstrap and perturbation RNG; results are reproducible.
    - ``calibration_bins``: equal-width bins on [0, 1] for ECE and the reliability table.
    - ``thresholds``: thresholds for the binary threshold table (default 0.05 ... 0.95).
    - ``min_group_size``: groups with fewer rows are reported but not scored.
    - ``intersections``: with two or more cohort columns, also slice by all of them jointly.
    - ``noise_scale``: robustness, Gaussian noise as a fraction of each numeric column's std.
    - ``swap_rate``: robustness, share of categorical cells replaced by another category.
    - ``n_repeats``: robustness, perturbation rounds averaged; explainability, shuffles
      per feature in permutation importance.
    - ``max_rows``: robustness, explainability and LLM, rows queried (a seeded sample when
      there are more).
    - ``leakage_threshold``: data quality, single-feature AUC/accuracy that flags leakage.
    """

    n_bootstrap: int = 200
    confidence: float = 0.95
    seed: int = 0
    calibration_bins: int = 10
    thresholds: Sequence[float] | None = None
    min_group_size: int = 30
    intersections: bool = True
    noise_scale: float = 0.05
    swap_rate: float = 0.05
    n_repeats: int = 3
    max_rows: int = 10_000
    leakage_threshold: float = 0.98

    def __post_init__(self) -> None:
        _check_int(self.n_bootstrap, "n_bootstrap", 0, 100_000)
        _check_int(self.seed, "seed", 0, 2**63 - 1)
        _check_int(self.calibration_bins, "calibration_bins", 1, 1000)
        _check_int(self.min_group_size, "min_group_size", 0, 10**12)
        _check_int(self.n_repeats, "n_repeats", 1, 1000)
        _check_int(self.max_rows, "max_rows", 1, 10**9)
        _check_float(self.confidence, "confidence", 0.0, 1.0, open_interval=True)
        _check_float(self.noise_scale, "noise_scale", 0.0, 10.0)
        _check_float(self.swap_rate, "swap_rate", 0.0, 1.0)
        _check_float(self.leakage_threshold, "leakage_threshold", 0.5, 1.0)
        if not isinstance(self.intersections, bool):
            raise BadInput("intersections must be true or false", location="intersections")
        if self.thresholds is not None:
            if isinstance(self.thresholds, str) or not isinstance(self.thresholds, Sequence):
                raise BadInput("thresholds must be a list of numbers", location="thresholds")
            for value in self.thresholds:
                _check_float(value, "thresholds", 0.0, 1.0)
            object.__setattr__(self, "thresholds", tuple(sorted(set(map(float, self.thresholds)))))

    @classmethod
    def from_mapping(cls, raw: Any) -> RunOptions:
        """Build options from a mapping (YAML/JSON/CLI), naming unknown keys."""
        options: RunOptions = _from_mapping(cls, raw, "options")
        return options

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form recorded in a result."""
        out = dataclasses.asdict(self)
        out["thresholds"] = list(self.thresholds) if self.thresholds is not None else None
        return out


def _check_int(value: Any, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(
            f"{name} must be an integer in [{low}, {high}], got {value!r}", location=name
        )


def _check_float(
    value: Any, name: str, low: float, high: float, *, open_interval: bool = False
) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if ok:
        ok = low < value < high if open_interval else low <= value <= high
    if not ok:
        brackets = ("(", ")") if open_interval else ("[", "]")
        raise BadInput(
            f"{name} must be a number in {brackets[0]}{low}, {high}{brackets[1]}, got {value!r}",
            location=name,
        )
