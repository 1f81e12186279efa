"""Evidence: evaluation results attached to a release, content-hashed and audited.

Suites run where the data is (the CLI's process); the service receives the result, checks
it against the release's own contract (the contract a client sends is never trusted), and
stores it with its digest. Identical results are stored once.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import func, select

from charter.domain.canonical import canonical_json, content_digest
from charter.domain.contracts import Previous, evaluate_contract
from charter.domain.errors import BadInput, Forbidden, NotFound
from charter.domain.provenance import metric_differences, provenance_of
from charter.domain.roles import Permission
from charter.services import audit
from charter.services.context import Context
from charter.services.explanations import previous_if_needed
from charter.services.releases import find_release
from charter.services.systems import find_system
from charter.store.models import Evidence, Release

#: The result format this version of Charter stores.
RESULT_SCHEMA = "charter.evaluation.result/1"
#: Largest result accepted, in bytes of canonical JSON.
MAX_RESULT_BYTES = 3 * 1024 * 1024


def check_contract(
    release: Release, result: dict[str, Any], previous: Previous | None = None
) -> dict[str, Any]:
    """Check a suite result against the release's own contract (the pass/fail of every bound).

    The contract in force may be stricter (an approval can tighten it); the gate re-checks
    stored results against that one. ``previous``: the previous release's explanations,
    for ``top_k_stable`` bounds.
    """
    from charter.services import contracts

    raw = json.loads(release.manifest).get("contract") or None
    return evaluate_contract(
        contracts.validate(raw, location="release.contract"), result, previous=previous
    )


def _validate(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise BadInput("an evaluation result must be a JSON object")
    if result.get("schema") != RESULT_SCHEMA:
        raise BadInput(
            f"unsupported result schema {result.get('schema')!r}; expected {RESULT_SCHEMA}"
        )
    suite = result.get("suite")
    if not isinstance(suite, dict) or not suite.get("name") or not suite.get("version"):
        raise BadInput("the result does not name its suite and version", location="suite")
    if not isinstance(result.get("metrics"), dict):
        raise BadInput("the result has no metrics", location="metrics")
    dataset = result.get("dataset")
    if not isinstance(dataset, dict):
        raise BadInput("the result does not describe its data set", location="dataset")
    return result


def record_evidence(ctx: Context, ref: str, result: Any) -> tuple[Evidence, bool]:
    """Store a suite result as evidence on a release; returns it and whether it is new."""
    ctx.require(Permission.EVIDENCE_WRITE)
    result = _validate(result)
    if result["suite"]["name"] == "fallback-drill":
        # A fallback is tested by running it: only `charter drill` produces this evidence.
        raise Forbidden("fallback-drill evidence is produced by `charter drill`, not posted")
    text = canonical_json(result)  # also refuses NaN and infinities, naming where
    if len(text.encode("utf-8")) > MAX_RESULT_BYTES:
        raise BadInput(f"the result is larger than {MAX_RESULT_BYTES} bytes")
    release = find_release(ctx, ref)
    digest = content_digest(result)
    existing = ctx.session.scalar(
        select(Evidence).where(Evidence.release_id == release.id, Evidence.digest == digest)
    )
    if existing is not None:
        return existing, False
    outcome = check_contract(release, result, previous_if_needed(ctx, release, result))
    origin = provenance_of(
        result,
        runner_suites=runner_suites(),
        recorded_by=ctx.actor.name,
        recorded_by_role=ctx.actor.role.value,
    )
    item = Evidence(
        provenance=origin,
        release_id=release.id,
        suite=str(result["suite"]["name"]),
        suite_version=str(result["suite"]["version"]),
        digest=digest,
        dataset_sha256=result["dataset"].get("sha256"),
        passed=bool(outcome["passed"]),
        bounds=[
            {k: b.get(k) for k in ("bound", "metric", "status", "reason", "location")}
            for b in outcome["bounds"]
        ],
        result=text,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(item)
    ctx.session.flush()
    audit.record(
        ctx,
        "evidence.recorded",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "evidence_id": item.id,
            "digest": digest,
            "suite": item.suite,
            "suite_version": item.suite_version,
            "dataset_sha256": item.dataset_sha256,
            "passed": item.passed,
            "bounds": [{"bound": b["bound"], "status": b["status"]} for b in item.bounds],
            "provenance": {k: origin[k] for k in ("source", "recorded_by", "recorded_by_role")},
        },
    )
    return item, True


@functools.lru_cache(maxsize=1)
def runner_suites() -> dict[str, str]:
    """Name -> version of every suite Charter's runner has (built-in and plugins)."""
    try:
        from charter.plugins.manager import evaluation_suites

        return {suite.name: str(suite.version) for suite in evaluation_suites()}
    except ImportError:  # the evaluation extra is not installed: nothing is runner-made
        return {}


def reproduce_evidence(ctx: Context, evidence_id: int, result: Any) -> dict[str, Any]:
    """Compare a re-run of a piece of evidence's suite with the stored result.

    The re-run must be on the same data (same SHA-256) with the same suite and version;
    it confirms the evidence when every overall metric agrees. A confirmation by someone
    other than the evidence's author marks it reproduced, which a tier under
    ``duties.service_evidence_tiers`` requires of evidence not recorded by a service.
    """
    ctx.require(Permission.EVIDENCE_WRITE)
    item = ctx.session.get(Evidence, evidence_id)
    if item is None:
        raise NotFound(f"no evidence {evidence_id}")
    result = _validate(result)
    stored = json.loads(item.result)
    rerun_sha = result["dataset"].get("sha256")
    if item.dataset_sha256 is None:
        raise BadInput(f"evidence {evidence_id} names no data set digest: it cannot be reproduced")
    if rerun_sha != item.dataset_sha256:
        raise BadInput(
            f"the data is not the evidence's: SHA-256 {str(rerun_sha)[:12]}... instead of "
            f"{item.dataset_sha256[:12]}...",
            location="data",
        )
    if (result["suite"]["name"], str(result["suite"]["version"])) != (
        item.suite,
        item.suite_version,
    ):
        raise BadInput(
            f"the re-run used suite {result['suite']['name']} {result['suite']['version']}, "
            f"not {item.suite} {item.suite_version}"
        )
    differences = metric_differences(stored, result)
    confirmed = not differences
    independent = ctx.actor.name != item.created_by
    if confirmed and independent:
        item.reproduced_by, item.reproduced_at = ctx.actor.name, ctx.now()
    release = item.release
    audit.record(
        ctx,
        "evidence.reproduced" if confirmed else "evidence.refuted",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "evidence_id": item.id,
            "confirmed": confirmed,
            "independent": independent,
            "differences": differences[:20],
            "rerun_digest": content_digest(result),
        },
    )
    return {
        "evidence_id": item.id,
        "confirmed": confirmed,
        "independent": independent,
        "differences": differences,
        "reproduced_by": item.reproduced_by,
        "reproduced_at": item.reproduced_at,
    }


def get_evidence(ctx: Context, evidence_id: int) -> Evidence:
    """One piece of evidence."""
    ctx.require(Permission.RELEASE_READ)
    item = ctx.session.get(Evidence, evidence_id)
    if item is None:
        raise NotFound(f"no evidence {evidence_id}")
    return item


def list_evidence(
    ctx: Context,
    *,
    system_name: str | None = None,
    ref: str | None = None,
    suite: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Evidence], int]:
    """Evidence, newest first, for a release or a system."""
    ctx.require(Permission.RELEASE_READ)
    query = select(Evidence)
    if ref is not None:
        query = query.where(Evidence.release_id == find_release(ctx, ref).id)
    elif system_name is not None:
        system = find_system(ctx, system_name)
        query = query.join(Release, Release.id == Evidence.release_id).where(
            Release.system_id == system.id
        )
    if suite is not None:
        query = query.where(Evidence.suite == suite)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(query.order_by(Evidence.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), total
