"""The previous release's explanations, which ``top_k_stable`` contract bounds compare with.

The *previous release* is the newest release of the same system registered before this
one that has explainability evidence produced by Charter's runner (evidence submitted
from outside is not a baseline); its newest such evidence is the baseline. Releases in
between without explainability evidence are passed over, so a release that skipped the
suite does not reset the comparison.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from charter.domain.contracts import Previous
from charter.domain.contracts.explanations import SUITE
from charter.domain.provenance import RUNNER
from charter.services.context import Context
from charter.store.models import Evidence, Release


def previous_explanations(ctx: Context, release: Release) -> Previous:
    """The baseline ranking for ``release`` (see the module docstring), or why there is none."""
    # Ids and provenance first: the results (large JSON) are read only for a candidate.
    rows = ctx.session.execute(
        select(Evidence.id, Evidence.provenance, Release.digest)
        .join(Release, Release.id == Evidence.release_id)
        .where(
            Release.system_id == release.system_id,
            Release.id < release.id,
            Evidence.suite == SUITE,
        )
        .order_by(Release.id.desc(), Evidence.id.desc())
    ).all()
    for evidence_id, provenance, digest in rows:
        if (provenance or {}).get("source") != RUNNER:
            continue
        text = ctx.session.scalar(select(Evidence.result).where(Evidence.id == evidence_id))
        ranking = _ranking(text or "")
        if ranking is None:
            continue
        return Previous(
            ref=f"{release.system.name}@{digest[:12]}",
            evidence_id=evidence_id,
            ranking=ranking,
        )
    earlier_count = ctx.session.scalar(
        select(func.count())
        .select_from(Release)
        .where(Release.system_id == release.system_id, Release.id < release.id)
    )
    if not earlier_count:
        reason = f"no previous release of {release.system.name}: nothing to compare with"
    else:
        reason = (
            f"no earlier release of {release.system.name} has explainability evidence "
            "from Charter's runner"
        )
    return Previous(ref=None, evidence_id=None, ranking=None, reason=reason)


def previous_if_needed(ctx: Context, release: Release, result: dict[str, Any]) -> Previous | None:
    """The baseline when ``result`` is explainability evidence (the only suite that needs it)."""
    suite = result.get("suite") if isinstance(result, dict) else None
    if not isinstance(suite, dict) or suite.get("name") != SUITE:
        return None
    return previous_explanations(ctx, release)


def _ranking(text: str) -> tuple[dict[str, Any], ...] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    ranking = ((parsed.get("details") or {}).get("importance") or {}).get("ranking")
    if not isinstance(ranking, list):
        return None
    return tuple(r for r in ranking if isinstance(r, dict))
