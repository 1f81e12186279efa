"""Shadow observations: what a shadow candidate scored beside the live release, compared.

The SDK sends one record per request it shadowed (``POST /systems/{name}/shadow``):
the inference id, the candidate's digest, the live and the shadow output (``prediction``
and/or ``score``), the shadow call's error or latency, and the event time. Records are
kept per rollout, one per inference id (a retried batch adds nothing), and compared per
hour window by :func:`charter.monitoring.shadow.compare`. None of it was ever served.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.systems import find_system
from charter.store.models import Release, Rollout
from charter.store.monitoring_models import ShadowObservation

_DIGEST = re.compile(r"^[0-9a-f]{7,64}$")
#: How far ahead of the server's clock an event time may be (producer clock skew).
MAX_SKEW = timedelta(minutes=5)
#: Most windows a comparison reports (newest first).
MAX_WINDOWS = 168


def _scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise BadInput("an integer prediction is within 64 bits", location=where)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput("a prediction is finite", location=where)
        return value
    if isinstance(value, str) and len(value) <= 200:
        return value
    raise BadInput(
        "a prediction is a number, a boolean or a string of 200 characters", location=where
    )


def _score(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput("a score is a finite number", location=where)
    return float(value)


def _output(value: Any, where: str) -> tuple[Any, float | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict) or set(value) - {"prediction", "score"}:
        raise BadInput("an output is an object of prediction and score", location=where)
    return (
        _scalar(value.get("prediction"), f"{where}.prediction"),
        _score(value.get("score"), f"{where}.score"),
    )


def _moment(value: Any, now: datetime, where: str) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str) or len(value) > 64:
        raise BadInput("a timestamp is an ISO 8601 string", location=where)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"invalid timestamp {value[:40]!r}", location=where) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now + MAX_SKEW:
        raise BadInput("the timestamp is in the future", location=where)
    return moment.astimezone(UTC)


def _rollouts(ctx: Context, system_id: int, environment: str) -> list[Rollout]:
    return list(
        ctx.session.scalars(
            select(Rollout)
            .join(Release, Rollout.release_id == Release.id)
            .where(
                Rollout.system_id == system_id,
                Rollout.environment == environment,
                Rollout.kind == "shadow",
            )
            .order_by(Rollout.id.desc())
        )
    )


def ingest_shadow(
    ctx: Context, system_name: str, environment: str, batch_id: str, records: Sequence[Any]
) -> dict[str, Any]:
    """Store a batch of shadow records; the whole batch is refused on any bad record.

    A record's ``release`` must be the candidate of a shadow rollout of this system in
    this environment (active or ended: records in flight when a shadow ends still count).
    """
    from charter.services.ingest.buckets import insert_ignore, record_batch, seen_batch
    from charter.services.ingest.normalise import check_batch

    ctx.require(Permission.OBSERVATION_WRITE)
    check_batch(batch_id, environment, len(records), "records")
    check_environment(ctx, environment)
    system = find_system(ctx, system_name)
    seen = seen_batch(ctx, system, environment, "shadow", batch_id)
    if seen is not None:
        return {**seen.summary, "duplicate": True}
    rollouts = _rollouts(ctx, system.id, environment)
    now = ctx.now()
    rows: list[dict[str, Any]] = []
    per_rollout: dict[int, int] = {}
    for i, record in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(record, dict):
            raise BadInput("every record is a JSON object", location=where)
        unknown = set(record) - {
            "inference_id",
            "release",
            "live",
            "shadow",
            "error",
            "latency_ms",
            "timestamp",
        }
        if unknown:
            raise BadInput(f"unknown fields {sorted(unknown)}", location=where)
        inference_id = record.get("inference_id")
        if not isinstance(inference_id, str) or not 0 < len(inference_id) <= 128:
            raise BadInput("inference_id is a string of 1-128 characters", location=where)
        digest = record.get("release")
        text = digest.removeprefix("sha256:").lower() if isinstance(digest, str) else ""
        if not _DIGEST.match(text):
            raise BadInput("release is the shadow release's digest", location=f"{where}.release")
        matched = [r for r in rollouts if r.release.digest.startswith(text)]
        if not matched:
            raise BadInput(
                f"{system.name}@{text[:12]} has no shadow rollout in {environment!r}",
                location=f"{where}.release",
            )
        live_prediction, live_score = _output(record.get("live"), f"{where}.live")
        shadow_prediction, shadow_score = _output(record.get("shadow"), f"{where}.shadow")
        error = record.get("error") or ""
        if not isinstance(error, str):
            raise BadInput("error is a string", location=f"{where}.error")
        latency = _score(record.get("latency_ms"), f"{where}.latency_ms")
        if latency is not None and latency < 0:
            raise BadInput("latency_ms is not negative", location=f"{where}.latency_ms")
        rollout = matched[0]
        per_rollout[rollout.id] = per_rollout.get(rollout.id, 0) + 1
        rows.append(
            {
                "rollout_id": rollout.id,
                "inference_id": inference_id,
                "at": _moment(record.get("timestamp"), now, f"{where}.timestamp"),
                "live_prediction": live_prediction,
                "live_score": live_score,
                "shadow_prediction": shadow_prediction,
                "shadow_score": shadow_score,
                "shadow_error": error[:500],
                "shadow_latency_ms": latency,
                "received_at": now,
            }
        )
    insert_ignore(ctx.session, ShadowObservation, rows, ["rollout_id", "inference_id"])
    summary = {
        "batch_id": batch_id,
        "system": system.name,
        "environment": environment,
        "accepted": len(rows),
        "rollouts": {str(k): v for k, v in sorted(per_rollout.items())},
        "duplicate": False,
    }
    return record_batch(ctx, system.id, "shadow", batch_id, environment, len(rows), summary)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _rows(ctx: Context, rollout: Rollout) -> list[ShadowObservation]:
    return list(
        ctx.session.scalars(
            select(ShadowObservation)
            .where(ShadowObservation.rollout_id == rollout.id)
            .order_by(ShadowObservation.at)
        )
    )


def compared_hours(ctx: Context, rollout: Rollout) -> dict[datetime, int]:
    """Requests compared (the shadow answered) per hour of event time."""
    counts: dict[datetime, int] = {}
    for at, error in ctx.session.execute(
        select(ShadowObservation.at, ShadowObservation.shadow_error).where(
            ShadowObservation.rollout_id == rollout.id
        )
    ):
        if not error:
            hour = _hour(at)
            counts[hour] = counts.get(hour, 0) + 1
    return counts


def comparison(ctx: Context, rollout: Rollout) -> dict[str, Any]:
    """Shadow against live per hour window and over the whole period (newest first)."""
    from charter.monitoring.shadow import compare

    rows = _rows(ctx, rollout)
    answered = [r for r in rows if not r.shadow_error]
    by_hour: dict[datetime, list[ShadowObservation]] = {}
    for row in answered:
        by_hour.setdefault(_hour(row.at), []).append(row)

    def judged(part: list[ShadowObservation]) -> dict[str, Any]:
        return compare(
            [r.live_prediction for r in part],
            [r.shadow_prediction for r in part],
            [r.live_score for r in part],
            [r.shadow_score for r in part],
        )

    latencies = [r.shadow_latency_ms for r in answered if r.shadow_latency_ms is not None]
    windows = [
        {"start": hour.isoformat(), "end": (hour + timedelta(hours=1)).isoformat(), **judged(part)}
        for hour, part in sorted(by_hour.items(), reverse=True)[:MAX_WINDOWS]
    ]
    return {
        "requests": len(rows),
        "shadow_errors": len(rows) - len(answered),
        "shadow_latency_ms_p50": sorted(latencies)[len(latencies) // 2] if latencies else None,
        "overall": judged(answered),
        "windows": windows,
    }
