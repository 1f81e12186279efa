"""Where a piece of evidence came from, and whether a gate may count it.

Evidence is either *produced by Charter's runner* (``charter evaluate``: a known suite at
its current version, run on a data file identified by its SHA-256, with the input spec,
run options and library versions recorded) or *submitted from outside* (any other JSON
posted to ``/evidence``). A gate counts external evidence only for the suites the policy
lists under ``duties.external_evidence`` for the tier; a tier under
``duties.service_evidence_tiers`` counts only evidence recorded by a ``service`` identity
(CI) or reproduced (``charter evidence reproduce``) by someone other than its author.

A runner result travels from the machine that has the data, so its shape is a claim;
what makes top-tier evidence trustworthy is the identity that recorded it or an
independent reproduction, which this module checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RUNNER = "charter-runner"
EXTERNAL = "external"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def provenance_of(
    result: Mapping[str, Any],
    *,
    runner_suites: Mapping[str, str],
    recorded_by: str,
    recorded_by_role: str,
) -> dict[str, Any]:
    """The provenance record of a suite result. ``runner_suites``: name -> version of the
    suites Charter's runner has (built-in and plugins)."""
    suite = result.get("suite") or {}
    dataset = result.get("dataset") or {}
    name, version = str(suite.get("name")), str(suite.get("version"))
    sha = dataset.get("sha256") if isinstance(dataset, Mapping) else None
    runner_shaped = (
        runner_suites.get(name) == version
        and isinstance(sha, str)
        and bool(_SHA256.match(sha))
        and all(isinstance(result.get(key), Mapping) for key in ("spec", "options", "environment"))
    )
    return {
        "source": RUNNER if runner_shaped else EXTERNAL,
        "suite": name,
        "suite_version": version,
        "dataset_sha256": sha,
        "options": result.get("options") if runner_shaped else None,
        "spec": result.get("spec") if runner_shaped else None,
        "environment": result.get("environment") if runner_shaped else None,
        "recorded_by": recorded_by,
        "recorded_by_role": recorded_by_role,
    }


@dataclass(frozen=True)
class EvidenceRules:
    """What the policy accepts for one tier."""

    external_suites: frozenset[str] = frozenset()
    independent: bool = False


def refusal(
    provenance: Mapping[str, Any] | None,
    *,
    suite: str,
    author: str,
    reproduced_by: str | None,
    rules: EvidenceRules,
) -> str | None:
    """Why a gate does not count this evidence under ``rules`` (None: it counts)."""
    source = (provenance or {}).get("source", EXTERNAL)
    if source == EXTERNAL and suite not in rules.external_suites:
        return (
            f"submitted from outside Charter's runner; the policy accepts external evidence "
            f"for this tier only for: {', '.join(sorted(rules.external_suites)) or 'no suite'}"
        )
    if rules.independent:
        by_service = (provenance or {}).get("recorded_by_role") == "service"
        reproduced = reproduced_by is not None and reproduced_by != author
        if not by_service and not reproduced:
            return (
                "this tier needs evidence recorded by a service identity (CI) or reproduced "
                "by someone other than its author (charter evidence reproduce)"
            )
    return None


def metric_differences(
    stored: Mapping[str, Any], rerun: Mapping[str, Any], *, tolerance: float = 1e-9
) -> list[str]:
    """Overall metric values that differ between a stored result and its re-run."""
    first = (stored.get("metrics") or {}).get("overall") or {}
    second = (rerun.get("metrics") or {}).get("overall") or {}
    differences = []
    for name in sorted(set(first) | set(second)):
        a, b = _value(first.get(name)), _value(second.get(name))
        if a is None and b is None:
            continue
        if a is None or b is None or not math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance):
            differences.append(f"{name}: stored {a}, reproduced {b}")
    return differences


def _value(entry: Any) -> float | None:
    if isinstance(entry, Mapping):
        entry = entry.get("value")
    if isinstance(entry, bool) or not isinstance(entry, int | float):
        return None
    return float(entry)
