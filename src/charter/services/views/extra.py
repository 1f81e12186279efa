"""Views of what the smaller operations return: identity, audit head, policy diff, status,
monitoring references, ingestion results, alerts, channels, signals and windows.

Nested monitoring results keep their stored JSON shape (``dict``) until the window
result becomes a typed value of the monitoring layer; the top level of every view here
is typed, so the CLI, the API and the parity test read declared fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WhoAmIView(BaseModel):
    """The authenticated user."""

    name: str
    role: str


class PolicyDiffView(BaseModel):
    """Changes between two policy versions (or a version and a candidate pack)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: int | str | None = Field(default=None, alias="from")
    to: int | str | None = None
    changes: list[str]


class StatusView(BaseModel):
    """Every system right now (``charter status``)."""

    systems: list[dict[str, Any]]


class ReferenceView(BaseModel):
    """A release's reference profile (summary; the profile itself on request)."""

    id: int
    release: str
    digest: str
    rows: int
    features: list[str]
    prediction: str | None
    score: str | None
    label: str | None
    cohort: str | None
    pii: list[str]
    dataset_sha256: str | None
    created_at: str
    created_by: str
    profile: dict[str, Any] | None = None
    created: bool | None = None


class IngestView(BaseModel):
    """What one ingestion batch (records or labels) did."""

    model_config = ConfigDict(extra="allow")

    batch_id: str
    system: str
    environment: str
    duplicate: bool


class AlertView(BaseModel):
    """An alert raised by the monitoring worker."""

    model_config = ConfigDict(extra="allow")

    id: int
    dedup_key: str
    system: str
    environment: str
    release: str
    monitor: str
    subject: str
    severity: str
    status: str
    summary: str
    details: dict[str, Any] | None
    breach_started_at: str | None
    opened_at: str | None
    resolved_at: str | None


class AlertPage(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertView]
    limit: int
    offset: int


class ChannelView(BaseModel):
    """A notification channel (its secret is never shown)."""

    model_config = ConfigDict(extra="allow")

    id: int
    name: str
    kind: str
    url: str
    system: str | None
    min_severity: str
    has_secret: bool
    enabled: bool
    created_at: str


class ChannelList(BaseModel):
    """Every notification channel."""

    items: list[ChannelView]


class SignalsView(BaseModel):
    """The five live signals of every route, from its newest closed window."""

    items: list[dict[str, Any]]


class WindowsView(BaseModel):
    """Closed monitoring windows of a system, newest first, with their full results."""

    items: list[dict[str, Any]]
