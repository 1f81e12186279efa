"""Operations of live monitoring: references, ingestion, alerts, channels, signals, windows."""

from __future__ import annotations

from typing import Any

from charter.services import alerts, references, signals_view
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import (
    AlertDetailView,
    AlertPage,
    AlertView,
    ChannelList,
    ChannelView,
    IngestView,
    ReferenceView,
    SignalsView,
    WindowsView,
)


@operation("reference.set", write=True)
def set_reference(
    ctx: Context,
    ref: str,
    profile: dict[str, Any],
    pii: list[str] | None = None,
    dataset_sha256: str | None = None,
) -> ReferenceView:
    """Set the release's reference profile (built with ``build_reference`` where the data is)."""
    row, created = references.set_reference(
        ctx, ref, profile, pii=pii or [], dataset_sha256=dataset_sha256
    )
    return ReferenceView(**references.reference_view(row), created=created)


@operation("reference.show", write=False)
def get_reference(ctx: Context, ref: str, profile: bool = False) -> ReferenceView:
    """The release's current reference profile."""
    row = references.get_reference(ctx, ref)
    return ReferenceView(**references.reference_view(row, with_profile=profile))


@operation("observations.log", write=True)
def log_records(
    ctx: Context,
    system: str,
    environment: str,
    batch_id: str,
    records: Any,
    release: str | None = None,
) -> IngestView:
    """Ingest a batch of inference records (a list of mappings or a data frame)."""
    from charter.services import ingest  # numpy and pandas: only for ingestion

    return IngestView.model_validate(
        ingest.ingest_records(ctx, system, environment, batch_id, records, release=release)
    )


@operation("labels.log", write=True)
def log_labels(
    ctx: Context, system: str, environment: str, batch_id: str, labels: list[dict[str, Any]]
) -> IngestView:
    """Join late labels to logged inferences."""
    from charter.services import ingest

    return IngestView.model_validate(
        ingest.ingest_labels(ctx, system, environment, batch_id, labels)
    )


@operation("alert.list", write=False)
def list_alerts(
    ctx: Context,
    open_only: bool = False,
    system: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AlertPage:
    """Alerts, newest first."""
    items = alerts.list_alerts(
        ctx, open_only=open_only, system_name=system, limit=limit, offset=offset
    )
    return AlertPage(items=[AlertView(**a) for a in items], limit=limit, offset=offset)


@operation("alert.show", write=False)
def show_alert(ctx: Context, alert_id: int) -> AlertDetailView:
    """One alert with its runbook, its incident and the actions taken on it."""
    return AlertDetailView(**alerts.show_alert(ctx, alert_id))


@operation("channel.add", write=True)
def add_channel(
    ctx: Context,
    name: str,
    kind: str,
    url: str,
    secret: str | None = None,
    system: str | None = None,
    min_severity: str = "warning",
) -> ChannelView:
    """Add a notification channel."""
    return ChannelView(
        **alerts.add_channel(
            ctx,
            name,
            kind=kind,
            url=url,
            secret=secret,
            system_name=system,
            min_severity=min_severity,
        )
    )


@operation("channel.list", write=False)
def list_channels(ctx: Context) -> ChannelList:
    """Notification channels (without secrets)."""
    return ChannelList(items=[ChannelView(**c) for c in alerts.list_channels(ctx)])


@operation("monitoring.signals", write=False)
def signals(ctx: Context) -> SignalsView:
    """The five live signals of every route, from the newest closed window."""
    found = signals_view.monitoring_signals(ctx)
    return SignalsView(
        items=[{"system": s, "environment": e, **v} for (s, e), v in sorted(found.items())]
    )


@operation("monitoring.windows", write=False)
def windows(
    ctx: Context, system: str, environment: str | None = None, limit: int = 50
) -> WindowsView:
    """Closed windows with their drift, quality, performance and signals, newest first."""
    return WindowsView(items=signals_view.windows(ctx, system, environment, limit=limit))
