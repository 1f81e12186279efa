"""The tables. One ORM class per stored noun; business rules live in the services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for Charter tables."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person or service account; every request acts as exactly one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Provenance (who created the account, granted its role, last rotated its token):
    #: an approval by an account the release's author provisioned may not count.
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    role_granted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    role_granted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    token_rotated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_rotated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ApiToken(Base):
    """An API token, stored only as its SHA-256; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class System(Base):
    """An AI use case in production, with its owner, intake answers and risk tier."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    population: Mapped[str] = mapped_column(Text, default="")
    surfaces: Mapped[list[Any]]
    intake: Mapped[dict[str, Any]]
    tier: Mapped[str] = mapped_column(String(32))
    #: How intake arrived at the tier (rule, reason, controls, policy version); stored so
    #: reads never re-run the policy's rules.
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    #: An intake change a developer proposed, waiting for a role the policy names.
    intake_proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Release(Base):
    """An immutable, content-addressed configuration of one system."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("system_id", "digest", name="uq_release_system_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    #: The canonical JSON document whose SHA-256 is ``digest``, kept byte for byte.
    manifest: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    system: Mapped[System] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")
    components: Mapped[list[Component]] = relationship(
        back_populates="release", order_by="Component.position", lazy="selectin"
    )


class Component(Base):
    """One component version inside a release (model, prompt, retrieval, tool...)."""

    __tablename__ = "components"
    __table_args__ = (Index("ix_components_kind_digest", "kind", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the component's canonical JSON, so one version is findable across releases.
    digest: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]]

    release: Mapped[Release] = relationship(back_populates="components")


class Decision(Base):
    """Approve, reject or approve-with-conditions on one release; never edited."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    use_case: Mapped[str] = mapped_column(Text, default="")
    population: Mapped[str] = mapped_column(Text, default="")
    environments: Mapped[list[Any]]
    contract: Mapped[dict[str, Any]]
    fallback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime | None]
    conditions: Mapped[list[Any]]
    note: Mapped[str] = mapped_column(Text, default="")
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    created_at: Mapped[datetime]

    release: Mapped[Release] = relationship(lazy="joined")
    actor: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """One link of the hash-chained audit log. Every field here is covered by ``hash``."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: ISO 8601 UTC text, hashed exactly as stored so no backend can alter it.
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(200))
    #: Canonical JSON text (RFC 8785), hashed byte for byte.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class PolicyVersion(Base):
    """One applied version of the policy pack; the newest is in force."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    #: The pack exactly as applied (YAML text), so `policy show` returns what was written.
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Evidence(Base):
    """An evaluation result attached to a release; content-hashed, never edited."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("release_id", "digest", name="uq_evidence_release_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    suite: Mapped[str] = mapped_column(String(64))
    suite_version: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    dataset_sha256: Mapped[str | None] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    #: Contract bounds the evaluation checked, each with its value and outcome.
    bounds: Mapped[list[Any]]
    #: The full result (metrics overall and per cohort, intervals, versions), canonical JSON.
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    #: Where it came from: ``{"source": "charter-runner" | "external", ...}`` (null: external).
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Who re-ran the suite on the same data and confirmed the result, and when.
    reproduced_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reproduced_at: Mapped[datetime | None] = mapped_column(nullable=True)

    release: Mapped[Release] = relationship(lazy="joined")


class GateRun(Base):
    """One evaluation of a release's controls for an environment: evidence in itself."""

    __tablename__ = "gate_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    environment: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    release: Mapped[Release] = relationship(lazy="joined")


class PolicyException(Base):
    """A time-boxed waiver of one control for one release (optionally one environment)."""

    __tablename__ = "policy_exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    control_id: Mapped[str] = mapped_column(String(64))
    environment: Mapped[str | None] = mapped_column(String(64))
    justification: Mapped[str] = mapped_column(Text)
    compensating: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    policy_version: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    release: Mapped[Release] = relationship(lazy="joined")


class Route(Base):
    """What serves a system in one environment right now: the routing state the SDK reads."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("system_id", "environment", name="uq_route_system_env"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    environment: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    #: The release that was live before, kept as the rollback target.
    previous_release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    #: serving, or killed (traffic goes to the fallback).
    state: Mapped[str] = mapped_column(String(16))
    fallback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")
    release: Mapped[Release] = relationship(foreign_keys=[release_id], lazy="joined")
    previous_release: Mapped[Release | None] = relationship(
        foreign_keys=[previous_release_id], lazy="joined"
    )


class Deployment(Base):
    """The history of routing changes: deploy, rollback, kill, resume."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    environment: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    gate_run_id: Mapped[int | None] = mapped_column(ForeignKey("gate_runs.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Rollout(Base):
    """A canary or shadow period of a candidate release beside the live one in one environment.

    ``canary``: ``share`` of the traffic is served by the candidate; ``shadow``: the
    candidate scores the same traffic without serving it. At most one is active per route;
    it ends promoted (the candidate becomes the live release) or aborted.
    """

    __tablename__ = "rollouts"
    __table_args__ = (Index("ix_rollouts_scope", "system_id", "environment", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    environment: Mapped[str] = mapped_column(String(64))
    #: canary or shadow.
    kind: Mapped[str] = mapped_column(String(16))
    #: The candidate release.
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    #: The release live when the rollout started (what the candidate is compared with).
    baseline_release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    #: The candidate's traffic share, strictly between 0 and 1 (canary only).
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: active, promoted or aborted.
    status: Mapped[str] = mapped_column(String(16))
    gate_run_id: Mapped[int | None] = mapped_column(ForeignKey("gate_runs.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")

    system: Mapped[System] = relationship(lazy="joined")
    release: Mapped[Release] = relationship(foreign_keys=[release_id], lazy="joined")
    baseline: Mapped[Release] = relationship(foreign_keys=[baseline_release_id], lazy="joined")


class MonitorReference(Base):
    """A reference profile of one release; the newest non-superseded one is current.

    Here rather than with the monitoring tables: the gate reads it (is a reference set,
    with which columns), and the gate must not load the rest of the monitoring schema.
    """

    __tablename__ = "monitor_references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    #: Content digest of the profile (``ReferenceProfile.digest``); windows carry it.
    digest: Mapped[str] = mapped_column(String(64))
    #: ``ReferenceProfile.to_dict()`` as compact JSON text.
    profile: Mapped[str] = mapped_column(Text)
    #: Columns never kept in the raw sample (profiled only).
    pii: Mapped[list[Any]]
    dataset_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None]
    #: Rows, features, column roles and baseline accuracy, computed when the profile is set,
    #: so the gate and status read them without parsing the profile (None: set before 0004).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    release: Mapped[Release] = relationship(lazy="joined")


class CardSnapshot(Base):
    """A stored system card, kept whenever its content changes (``charter card --history``)."""

    __tablename__ = "card_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    release_digest: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the card without its "as of" stamp.
    digest: Mapped[str] = mapped_column(String(64))
    #: The card as canonical JSON text.
    card: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class EvidenceExport(Base):
    """One evidence-pack export: what was exported and how long it took (a KPI reads it)."""

    __tablename__ = "evidence_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    release_digest: Mapped[str | None] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    members: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Risk(Base):
    """One risk in a system's register, as it stands now (``version`` counts its changes).

    Ratings are stored as computed under the pack in force when the risk was last rated
    (``policy_version``), so reading the register never re-rates it.
    """

    __tablename__ = "risks"
    __table_args__ = (Index("ix_risks_system", "system_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    version: Mapped[int] = mapped_column(Integer)
    #: The pack template the risk was seeded from, if any.
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    nist_ai_rmf: Mapped[list[Any]]
    owasp_llm: Mapped[list[Any]]
    cause: Mapped[str] = mapped_column(Text, default="")
    failure_mode: Mapped[str] = mapped_column(Text, default="")
    affected_population: Mapped[str] = mapped_column(Text, default="")
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    inherent_rating: Mapped[str] = mapped_column(String(32))
    residual_likelihood: Mapped[int] = mapped_column(Integer)
    residual_impact: Mapped[int] = mapped_column(Integer)
    residual_rating: Mapped[str] = mapped_column(String(32))
    #: Who last set the ratings: with ``independent`` acceptance, not the acceptor.
    rated_by: Mapped[str] = mapped_column(String(64))
    #: A Charter user name (None: unowned).
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    controls: Mapped[list[Any]]
    signals: Mapped[list[Any]]
    remediation: Mapped[str] = mapped_column(Text, default="")
    #: open or closed.
    status: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    #: The acceptance of the current residual rating (cleared when it changes).
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acceptance_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))

    system: Mapped[System] = relationship(lazy="joined")


class RiskRevision(Base):
    """One version of a risk, immutable: what changed, who changed it, the whole record."""

    __tablename__ = "risk_revisions"
    __table_args__ = (UniqueConstraint("risk_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: created, updated, reviewed, accepted or seeded.
    change: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict[str, Any]]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
