"""Tables of live monitoring: ingested observations, windows, alerts, notifications.

They share ``Base`` with :mod:`charter.store.models`, so one metadata (and one Alembic
history) covers every table. Profiles are stored as compact JSON *text*: they are produced
and read only by :mod:`charter.monitoring`, and text keeps them byte-identical on both
backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charter.store.models import Base, Release, System


class ObservationBatch(Base):
    """One accepted ingestion batch; the unique key makes a retried batch a no-op."""

    __tablename__ = "observation_batches"
    __table_args__ = (
        UniqueConstraint(
            "system_id", "environment", "kind", "batch_id", name="uq_observation_batch"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    #: ``records`` or ``labels``.
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str] = mapped_column(String(128))
    environment: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    #: What the batch did (accepted rows, buckets touched, matched labels...).
    summary: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(String(64))


class MonitorBucket(Base):
    """One hour of one release in one environment: mergeable profiles and signal counts."""

    __tablename__ = "monitor_buckets"
    __table_args__ = (
        UniqueConstraint("release_id", "environment", "bucket_start", name="uq_monitor_bucket"),
        Index("ix_monitor_buckets_env_start", "environment", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    environment: Mapped[str] = mapped_column(String(64))
    bucket_start: Mapped[datetime]
    reference_digest: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    #: ``WindowProfile.to_dict()`` of the records (never with labels), JSON text.
    profile: Mapped[str] = mapped_column(Text)
    #: Window profile of the labelled rows, built when labels arrive; JSON text.
    labels_profile: Mapped[str | None] = mapped_column(Text)
    labelled: Mapped[int] = mapped_column(Integer, default=0)
    #: Latency histogram, guard verdicts, fallback use (see charter.monitoring.signal_counts).
    signals: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    #: Latest timestamp a record of the bucket carried (null when none carried one).
    event_max: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Records without their own timestamp, bucketed by arrival time (never late).
    arrival_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Records that arrived after the window holding this bucket had been judged.
    late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ObservationSample(Base):
    """A bounded sample of recent raw records (features, prediction, score; never PII)."""

    __tablename__ = "observation_samples"
    __table_args__ = (Index("ix_observation_samples_scope", "system_id", "environment", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    inference_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime]
    record: Mapped[dict[str, Any]]


class InferenceIndex(Base):
    """Where a logged inference went, so that a late label updates the right bucket.

    Bounded by age: the worker deletes entries older than the label horizon.
    """

    __tablename__ = "inference_index"
    __table_args__ = (
        UniqueConstraint("system_id", "environment", "inference_id", name="uq_inference_index"),
        Index("ix_inference_index_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    inference_id: Mapped[str] = mapped_column(String(128))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    bucket_start: Mapped[datetime]
    #: The prediction, score and cohort values as logged (reference column names).
    values: Mapped[dict[str, Any]]
    labelled: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]


class MonitorState(Base):
    """Per (system, environment): the worker's claim row, progress and hysteresis states."""

    __tablename__ = "monitor_states"
    __table_args__ = (
        UniqueConstraint("system_id", "environment", name="uq_monitor_state_system_env"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    #: End of the newest window evaluated; windows before it are closed.
    last_window_end: Mapped[datetime | None]
    #: dedup_key -> AlertState.to_dict() plus the rule it belongs to.
    states: Mapped[dict[str, Any]]
    #: The newest window's results (what status and /metrics show).
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    evaluated_at: Mapped[datetime | None]
    evaluated_by: Mapped[str | None] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")


class MonitorWindow(Base):
    """The results of one closed window: drift, quality, performance, signals, breaches."""

    __tablename__ = "monitor_windows"
    __table_args__ = (
        UniqueConstraint("release_id", "environment", "window_start", name="uq_monitor_window"),
        Index("ix_monitor_windows_system", "system_id", "environment", "window_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    environment: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    rows: Mapped[int] = mapped_column(Integer)
    labelled: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]]
    evaluated_at: Mapped[datetime]


class Alert(Base):
    """A breach that passed hysteresis; open until enough clean windows close it."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_dedup", "dedup_key", "status"),
        Index("ix_alerts_system_status", "system_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64))
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    monitor: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    #: open or resolved.
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    #: Start of the first breaching window of the streak that opened the alert (for MTTD).
    breach_started_at: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    system: Mapped[System] = relationship(lazy="joined")
    release: Mapped[Release] = relationship(lazy="joined")


class NotificationChannel(Base):
    """Where alerts go: a notifier kind, its URL and secret, for one system or all (NULL)."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: Encrypted (``enc:v1:...``, see ``charter.services.secrets``): a URL can be a credential.
    url: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the URL in clear, shown and audited instead of it (None: before 0006).
    url_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: HMAC secret (webhook) or routing key (PagerDuty), encrypted like the URL.
    secret: Mapped[str | None] = mapped_column(Text)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"))
    min_severity: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Delivery(Base):
    """One notification of one alert event on one channel, with its attempts."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id"))
    #: opened or resolved.
    event: Mapped[str] = mapped_column(String(16))
    #: pending, sending, delivered or failed.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    alert: Mapped[Alert] = relationship(lazy="joined")
    channel: Mapped[NotificationChannel] = relationship(lazy="joined")


class ShadowObservation(Base):
    """One request scored by both the live release and a shadow candidate (never served).

    The SDK pairs the two outputs itself (it made both calls on the same input), so each
    row is one pair, keyed by the request's inference id; a retried batch adds nothing.
    """

    __tablename__ = "shadow_observations"
    __table_args__ = (
        UniqueConstraint("rollout_id", "inference_id", name="uq_shadow_observation"),
        Index("ix_shadow_observations_time", "rollout_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("rollouts.id"))
    inference_id: Mapped[str] = mapped_column(String(128))
    #: Event time of the request (the SDK's wall clock, arrival time when absent).
    at: Mapped[datetime]
    live_prediction: Mapped[Any] = mapped_column(JSON, nullable=True)
    live_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    shadow_prediction: Mapped[Any] = mapped_column(JSON, nullable=True)
    shadow_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Why the shadow call produced nothing (its exception, a timeout), empty otherwise.
    shadow_error: Mapped[str] = mapped_column(Text, default="")
    shadow_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    received_at: Mapped[datetime]


class RolloutState(Base):
    """The worker's progress on a canary's own windows (as :class:`MonitorState` is for the
    live release): kept apart from the governed rollout row, which the worker never writes."""

    __tablename__ = "rollout_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("rollouts.id"), unique=True)
    last_window_end: Mapped[datetime | None]
    states: Mapped[dict[str, Any]]
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    evaluated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
