"""The evaluation suite interface, the result envelope and the built-in suites.

A suite is an object with a ``name``, a ``version`` and ``run(data, spec, options)``
returning a JSON-able result. Subclasses implement :meth:`Suite.compute`; :meth:`Suite.run`
validates the call and wraps the computed body in the envelope every result shares (suite,
dataset digest, row counts, spec, options, library versions), so plugin suites get the same
provenance for free.
"""

from __future__ import annotations

import abc
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation.loading import DEFAULT_MAX_BYTES, Dataset, load_dataset
from charter.evaluation.models import Model, as_model
from charter.evaluation.spec import InputSpec, RunOptions

#: Identifies the layout of a result dict; bump on incompatible changes.
RESULT_SCHEMA = "charter.evaluation.result/1"

#: Libraries whose versions are recorded with every result (they determine the numbers).
RECORDED_LIBRARIES = ("charter", "numpy", "pandas", "scipy", "scikit-learn", "pyarrow")

MetricLevel = Literal["group", "dimension", "dataset"]


@dataclass(frozen=True)
class MetricInfo:
    """What a contract may say about a metric.

    ``level`` is ``group`` (overall and per cohort group, e.g. recall), ``dimension`` (one
    value per cohort dimension, e.g. demographic_parity_ratio) or ``dataset`` (overall only,
    e.g. duplicate_row_share). ``higher_is_better`` guides reports; None when neither.
    """

    level: MetricLevel
    higher_is_better: bool | None
    description: str


def library_versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries that produce the numbers."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class Suite(abc.ABC):
    """Base class of evaluation suites (built-in and plugins).

    Subclasses set ``name``, ``version``, ``summary`` and ``metrics`` (the names a
    contract may bound) and implement :meth:`compute`.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str] = ""
    metrics: ClassVar[Mapping[str, MetricInfo]] = {}
    needs_model: ClassVar[bool] = False

    @abc.abstractmethod
    def compute(
        self,
        data: pd.DataFrame,
        spec: InputSpec,
        options: RunOptions,
        *,
        model: Model | None,
    ) -> dict[str, Any]:
        """Return the suite-specific body: ``task``, ``metrics``, ``details``, ``warnings``."""

    def configured(self, settings: Mapping[str, Any], *, data_dir: Path | None = None) -> Suite:
        """This suite with suite-specific settings (``charter evaluate --options FILE``).

        ``data_dir`` is the data file's folder, for suites that look for files beside it.
        Suites without settings accept only an empty mapping.
        """
        if settings:
            raise BadInput(
                f"the {self.name} suite takes no suite settings; got "
                f"{', '.join(map(repr, sorted(settings)))}",
                location="options",
            )
        return self

    def run(
        self,
        data: pd.DataFrame,
        spec: InputSpec,
        options: RunOptions | None = None,
        *,
        model: Any = None,
        dataset: Dataset | None = None,
    ) -> dict[str, Any]:
        """Run the suite on ``data`` and return the full, JSON-able result.

        ``model`` (an estimator, a function or a :class:`Model`) is required by suites
        that query one. ``dataset`` supplies the file facts (SHA-256, format, size) when
        ``data`` came from :func:`~charter.evaluation.loading.load_dataset`.
        """
        if not isinstance(data, pd.DataFrame):
            raise BadInput(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if len(data) == 0:
            raise BadInput("the data has no rows")
        options = options or RunOptions()
        wrapped = as_model(model) if model is not None else None
        if self.needs_model and wrapped is None:
            raise BadInput(
                f"the {self.name} suite needs a model: pass 'package.module:function' "
                "or a trusted .pkl/.joblib file",
                location="model",
            )
        body = self.compute(data, spec, options, model=wrapped)
        info = (
            dataset.info()
            if dataset is not None
            else {
                "name": None,
                "format": None,
                "bytes": None,
                "sha256": None,
                "rows": len(data),
                "columns": len(data.columns),
            }
        )
        return {
            "schema": RESULT_SCHEMA,
            "suite": {"name": self.name, "version": self.version},
            "dataset": info,
            "rows": {"total": len(data), "evaluated": body.pop("rows_evaluated", len(data))},
            "spec": spec.to_dict(),
            "options": options.to_dict(),
            "environment": library_versions(),
            "task": body.pop("task", None),
            "metrics": body.pop("metrics", {"overall": {}, "cohorts": []}),
            "details": body.pop("details", {}),
            "warnings": body.pop("warnings", []),
        }


class StaticSuite(Suite):
    """A suite that reports fixed overall metric values: the in-memory stand-in for tests.

    Useful to exercise contracts, storage and reports without data or models.
    """

    name = "static"
    version = "1"
    summary = "Reports the metric values it was constructed with."

    def __init__(self, values: Mapping[str, float | None]) -> None:
        self._values = dict(values)

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Return the fixed values as overall metrics without intervals."""
        from charter.evaluation._numeric import metric_entry

        return {
            "task": "static",
            "metrics": {
                "overall": {
                    k: metric_entry(v, reason="not given") for k, v in self._values.items()
                },
                "cohorts": [],
            },
        }


def builtin_suites() -> list[Suite]:
    """The suites Charter ships, in the order they are documented."""
    from charter.evaluation.classification import ClassificationSuite
    from charter.evaluation.data_quality import DataQualitySuite
    from charter.evaluation.explainability import ExplainabilitySuite
    from charter.evaluation.fairness import FairnessSuite
    from charter.evaluation.guardrails import GuardrailsSuite
    from charter.evaluation.llm import LLMSuite
    from charter.evaluation.regression import RegressionSuite
    from charter.evaluation.robustness import RobustnessSuite

    suites: list[Suite] = [
        ClassificationSuite(),
        RegressionSuite(),
        FairnessSuite(),
        RobustnessSuite(),
        DataQualitySuite(),
        LLMSuite(),
        GuardrailsSuite(),
        ExplainabilitySuite(),
    ]
    return suites


def find_suite(name: str, suites: Sequence[Suite] | None = None) -> Suite:
    """Return the suite called ``name`` among ``suites`` (default: the built-ins)."""
    available = list(suites) if suites is not None else builtin_suites()
    for suite in available:
        if suite.name == name:
            return suite
    names = ", ".join(sorted(s.name for s in available))
    raise BadInput(f"unknown suite {name!r}; available suites: {names}", location="suite")


def evaluate_file(
    path: str | Path,
    suite: str | Suite,
    spec: InputSpec,
    options: RunOptions | None = None,
    *,
    model: Any = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    suites: Sequence[Suite] | None = None,
) -> dict[str, Any]:
    """Load a data file and run a suite on it: the whole offline evaluation in one call."""
    chosen = suite if isinstance(suite, Suite) else find_suite(suite, suites)
    dataset = load_dataset(path, max_bytes=max_bytes)
    return chosen.run(dataset.frame, spec, options, model=model, dataset=dataset)
