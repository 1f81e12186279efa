"""Contracts: the thresholds a release is approved under, one typed model for every layer.

- :mod:`.offline`: offline bounds (``roc_auc >= 0.75``, ``recall[sex] >= 0.6``) and their parser
- :mod:`.live`: the live section and the monitoring plan the worker and the gate share
- :mod:`.metrics`: canonical metric names, aliases, the live metric catalogue
- :mod:`.contract`: the whole contract, tightening by approvals, the contract in force
- :mod:`.checks`: checking offline bounds against an evaluation result
- :mod:`.explanations`: bounds on the explainability suite's ranking (top-k drivers)
"""

from charter.domain.contracts.checks import evaluate_contract
from charter.domain.contracts.contract import (
    Contract,
    check_not_looser,
    parse_contract,
    strictest,
)
from charter.domain.contracts.explanations import Previous
from charter.domain.contracts.live import (
    LiveBound,
    LiveContract,
    MonitoringPlan,
    monitoring_plan,
    parse_live,
)
from charter.domain.contracts.metrics import (
    LIVE_METRICS,
    METRIC_ALIASES,
    MONITORS,
    Catalogue,
    MetricLevel,
)
from charter.domain.contracts.offline import Bound, parse_bound, parse_offline

__all__ = [
    "LIVE_METRICS",
    "METRIC_ALIASES",
    "MONITORS",
    "Bound",
    "Catalogue",
    "Contract",
    "LiveBound",
    "LiveContract",
    "MetricLevel",
    "MonitoringPlan",
    "Previous",
    "check_not_looser",
    "evaluate_contract",
    "monitoring_plan",
    "parse_bound",
    "parse_contract",
    "parse_live",
    "parse_offline",
    "strictest",
]
