"""Tables of the serving path: attestations, inference traces, incidents, interventions.

They share ``Base`` with :mod:`charter.store.models` (one metadata, one Alembic history).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charter.store.models import Base, Release, System


class Attestation(Base):
    """What one serving process says it loaded: the digest of its configuration.

    One row per (system, environment, process, digest); a periodic report of the same
    digest only moves ``last_seen_at``.
    """

    __tablename__ = "attestations"
    __table_args__ = (
        UniqueConstraint(
            "system_id", "environment", "process_id", "digest", name="uq_attestation_process"
        ),
        Index("ix_attestations_scope", "system_id", "environment", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    #: The release with that digest, when one exists.
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True)
    #: Whether a valid approval for the environment covered the digest when last reported.
    approved: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str] = mapped_column(String(200), default="")
    sdk_version: Mapped[str] = mapped_column(String(32), default="")
    #: The "unapproved configuration live" alert this digest raised, if any.
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    reported_by: Mapped[str] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")


class InferenceTrace(Base):
    """How one inference was served: release, routing state, attested digest, guard verdicts.

    Written by the SDK beside the observation record; the record itself is kept redacted
    (guard-redacted text, never raw inputs the guard redacted).
    """

    __tablename__ = "inference_traces"
    __table_args__ = (
        UniqueConstraint("system_id", "environment", "inference_id", name="uq_inference_trace"),
        Index("ix_inference_traces_inference", "inference_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    inference_id: Mapped[str] = mapped_column(String(128))
    #: The release digest the SDK routed to (None when it served a fallback or nothing).
    release_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    served: Mapped[str] = mapped_column(String(16))
    route_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    process_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attested_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    guard: Mapped[dict[str, Any]]
    record: Mapped[dict[str, Any]]
    flags: Mapped[list[Any]]
    at: Mapped[datetime]
    received_at: Mapped[datetime]


class Incident(Base):
    """A breach being handled: severity, timeline stamps, links to what caused it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_system_status", "system_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    #: open, acknowledged, mitigated or resolved.
    status: Mapped[str] = mapped_column(String(16))
    #: manual, alert or intervention.
    source: Mapped[str] = mapped_column(String(16))
    #: At most one incident per alert (the automatic opener relies on it).
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id"), nullable=True, unique=True
    )
    #: {alerts: [...], windows: [...], decisions: [...], interventions: [...]}
    links: Mapped[dict[str, Any]]
    #: Start of the first breaching window (MTTD's start), when known.
    breach_started_at: Mapped[datetime | None]
    detected_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    opened_by: Mapped[str] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")
    release: Mapped[Release | None] = relationship(lazy="joined")


class IncidentEvent(Base):
    """One entry of an incident's timeline: who did what, when, and why."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    #: detected, acknowledged, mitigated, resolved, note or linked.
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]]


class AlertAction(Base):
    """An alert acknowledged or resolved by a person."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Intervention(Base):
    """What the policy made the worker do about one alert; one row per alert, ever.

    The unique ``alert_id`` is the guard against two workers acting twice on PostgreSQL:
    the second insert fails and that worker leaves the alert alone.
    """

    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    #: alert_only, kill or rollback.
    action: Mapped[str] = mapped_column(String(16))
    #: claimed, done, refused (the action was not possible) or overridden.
    status: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule: Mapped[dict[str, Any]]
    release_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")
