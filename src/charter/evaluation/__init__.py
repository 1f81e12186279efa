"""Charter's evaluation library: load data, run suites, check contracts, render reports.

Pure functions and small classes, no storage: the service layer stores a result as
evidence (it is JSON-able, so ``content_digest(result)`` addresses it).

Typical use::

    from charter.evaluation import InputSpec, RunOptions, evaluate_file, parse_contract
    result = evaluate_file("holdout.csv", "classification",
                           InputSpec(target="risk", score="p", cohorts=["sex"]))
    outcome = evaluate_contract(parse_contract(["roc_auc >= 0.75"]), result)
"""

from __future__ import annotations

from charter.domain.contracts import evaluate_contract
from charter.evaluation.contracts import (
    Bound,
    Contract,
    metric_catalogue,
    parse_bound,
    parse_contract,
)
from charter.evaluation.loading import (
    DEFAULT_MAX_BYTES,
    Dataset,
    file_sha256,
    load_dataset,
    load_table,
)
from charter.evaluation.models import EstimatorModel, FunctionModel, Model, as_model, load_model
from charter.evaluation.report import render_html
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import (
    RESULT_SCHEMA,
    MetricInfo,
    StaticSuite,
    Suite,
    builtin_suites,
    evaluate_file,
    find_suite,
    library_versions,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RESULT_SCHEMA",
    "Bound",
    "Contract",
    "Dataset",
    "EstimatorModel",
    "FunctionModel",
    "InputSpec",
    "MetricInfo",
    "Model",
    "RunOptions",
    "StaticSuite",
    "Suite",
    "as_model",
    "builtin_suites",
    "evaluate_contract",
    "evaluate_file",
    "file_sha256",
    "find_suite",
    "library_versions",
    "load_dataset",
    "load_model",
    "load_table",
    "metric_catalogue",
    "parse_bound",
    "parse_contract",
    "render_html",
]
