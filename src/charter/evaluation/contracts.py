"""Contracts as evaluation reads them: the domain's parser with the suites' metric catalogue.

The contract model, parser and checks live in :mod:`charter.domain.contracts`; this module
adds what only evaluation knows: which suite measures which metric at which level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from charter.domain.contracts import Bound, Catalogue, Contract
from charter.domain.contracts import parse_bound as _parse_bound
from charter.domain.contracts import parse_contract as _parse_contract
from charter.evaluation.suites import Suite, builtin_suites

__all__ = ["Bound", "Contract", "catalogue_of", "metric_catalogue", "parse_bound", "parse_contract"]


def metric_catalogue(suites: Sequence[Suite] | None = None) -> dict[str, list[tuple[str, Any]]]:
    """Every metric a contract may name: metric -> [(suite name, MetricInfo), ...]."""
    catalogue: dict[str, list[tuple[str, Any]]] = {}
    for suite in suites if suites is not None else builtin_suites():
        for metric, info in suite.metrics.items():
            catalogue.setdefault(metric, []).append((suite.name, info))
    return catalogue


def catalogue_of(suites: Sequence[Suite] | None = None) -> Catalogue:
    """The catalogue in the domain's form: metric -> [(suite name, level), ...]."""
    return {
        metric: [(suite, info.level) for suite, info in providers]
        for metric, providers in metric_catalogue(suites).items()
    }


def parse_bound(
    raw: Any, *, location: str = "contract[0]", suites: Sequence[Suite] | None = None
) -> Bound:
    """Parse one bound, checking its metric against the suites' catalogue."""
    return _parse_bound(raw, location=location, catalogue=catalogue_of(suites))


def parse_contract(
    raw: Any, *, suites: Sequence[Suite] | None = None, location: str = "contract"
) -> Contract:
    """Parse a contract, checking offline metric names against the suites' catalogue."""
    return _parse_contract(raw, location=location, catalogue=catalogue_of(suites))
