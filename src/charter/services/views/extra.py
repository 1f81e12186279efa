"""Views of what the smaller operations return: identity, audit head, policy diff, status,
monitoring references, ingestion results, alerts, channels, signals and windows.

Nested monitoring results keep their stored JSON shape (``dict``) until the window
result becomes a typed value of the monitoring layer; the top level of every view here
is typed, so the CLI, the API and the parity test read declared fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, WithJsonSchema

from charter.services.views.base import View


class WhoAmIView(View):
    """The authenticated user."""

    name: str
    role: str


class PolicyDiffView(View):
    """Changes between two policy versions (or a version and a candidate pack)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    from_: int | str | None = Field(default=None, alias="from")
    to: int | str | None = None
    changes: list[str]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_TIME = {"type": "string", "format": "date-time"}
#: A route's active canary or shadow (:func:`charter.services.status_read.rollout_entry`).
_STATUS_ROLLOUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["canary", "shadow"]},
        "release": {"type": "string", "description": "the candidate, name@12-digit digest"},
        "share": _nullable({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
        "started_at": _TIME,
        "min_hours": _nullable({"type": "number", "minimum": 0}),
        "min_period_elapsed": _nullable({"type": "boolean"}),
        "state": {"enum": ["active", "held"]},
        "held_because": _nullable(
            {"type": "string", "description": "why nobody is routed to the candidate"}
        ),
    },
    "required": [
        "kind",
        "release",
        "share",
        "started_at",
        "min_hours",
        "min_period_elapsed",
        "state",
        "held_because",
    ],
    "additionalProperties": False,
}
#: One system of the status view. Built as plain JSON data by the read-model (the fast
#: CLI path prints the same bytes without pydantic), so the document describes it here
#: rather than through a model that would validate and reorder a thousand entries.
_STATUS_SYSTEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tier": {"type": "string"},
        "status": {"type": "string"},
        "owner": {"type": "string"},
        "environments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "environment": {"type": "string"},
                    "release": {"type": "string"},
                    "state": {"type": "string"},
                    "approval": {"type": "string"},
                    "valid_until": _nullable(_TIME),
                    "last_gate": _nullable({"type": "object"}),
                    "flags": {"type": "array", "items": {"type": "string"}},
                    "monitoring": _nullable({"type": "object"}),
                    "rollout": _nullable(_STATUS_ROLLOUT),
                    "attestation": {"type": "string"},
                    "guard_block_rate": _nullable({"type": "number"}),
                    "open_incidents": {"type": "integer"},
                },
                "required": ["environment", "release", "state", "approval", "flags", "rollout"],
                "additionalProperties": True,
            },
        },
        "open_exceptions": {"type": "integer"},
        "requested_exceptions": {"type": "integer"},
        "needs_attention": {"type": "boolean"},
    },
    "required": ["name", "tier", "status", "environments", "needs_attention"],
    "additionalProperties": True,
}


class StatusView(View):
    """Every system right now (``charter status``)."""

    systems: list[Annotated[dict[str, Any], WithJsonSchema(_STATUS_SYSTEM)]]


class ReferenceView(View):
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


class IngestView(View):
    """What one ingestion batch (records or labels) did."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    batch_id: str
    system: str
    environment: str
    duplicate: bool


class RunbookView(View):
    """What to do about an alert: its type's runbook, filled when the alert opened."""

    id: str
    source: str
    title: str
    steps: str
    commands: list[str]
    link: str | None = None
    policy_version: int | None = None


class AlertView(View):
    """An alert raised by the monitoring worker."""

    model_config = ConfigDict(extra="allow", defer_build=True)

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
    runbook: RunbookView | None = None
    breach_started_at: str | None
    opened_at: str | None
    resolved_at: str | None


class AlertDetailView(AlertView):
    """One alert with its runbook, its incident and the actions taken on it by hand."""

    incident_id: int | None = None
    actions: list[dict[str, Any]]


class AlertPage(View):
    """A page of alerts, newest first."""

    items: list[AlertView]
    limit: int
    offset: int


class ChannelView(View):
    """A notification channel (its secret is never shown)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: int
    name: str
    kind: str
    url: str
    system: str | None
    min_severity: str
    has_secret: bool
    enabled: bool
    created_at: str


class ChannelList(View):
    """Every notification channel."""

    items: list[ChannelView]


class SignalsView(View):
    """The five live signals of every route, from its newest closed window."""

    items: list[dict[str, Any]]


class WindowsView(View):
    """Closed monitoring windows of a system, newest first, with their full results."""

    items: list[dict[str, Any]]


class ReproductionView(View):
    """The outcome of ``charter evidence reproduce``: confirmed or refuted, and by whom."""

    evidence_id: int
    confirmed: bool
    #: False when the evidence's own author re-ran it (confirms, but is not independent).
    independent: bool
    differences: list[str]
    reproduced_by: str | None = None
    reproduced_at: Any = None


class RolloutView(View):
    """A canary or shadow period: what it is, what was monitored, what promotion needs."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: int
    system: str
    environment: str
    kind: str
    status: str
    release: str
    live: str
    share: float | None
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None
    outcome: str
    monitored: dict[str, Any]
    requirement: dict[str, Any] | None
    promotion_blocked_by: list[str]
    comparison: dict[str, Any] | None
    canary_windows: list[dict[str, Any]] | None
