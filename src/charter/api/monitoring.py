"""``/api/v1`` endpoints for live monitoring, and the Prometheus ``/metrics`` exposition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from charter.api.deps import ActorDep, CharterDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.errors import BadInput
from charter.services import ingest, signals_view
from charter.services.operations import monitoring as operations
from charter.services.operations import perform
from charter.services.views import (
    AlertDetailView,
    AlertPage,
    ChannelList,
    ChannelView,
    IngestView,
    ReferenceView,
    SignalsView,
    WindowsView,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
metrics_router = APIRouter(responses=PROBLEM_RESPONSES)

ARROW_STREAM = "application/vnd.apache.arrow.stream"
Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Digest = Annotated[str, Path(min_length=12, max_length=71, description="Digest or prefix.")]
Env = Annotated[str, Query(min_length=1, max_length=64, description="Environment.")]


@router.put("/systems/{name}/releases/{digest}/reference", tags=["monitoring"])
def set_reference(
    name: Name,
    digest: Digest,
    body: Annotated[dict[str, Any], Body(description="{profile, pii?, dataset_sha256?}")],
    charter: CharterDep,
    actor: ActorDep,
) -> ReferenceView:
    """Set the release's reference profile (built with ``build_reference``)."""
    pii = body.get("pii") or []
    if not isinstance(pii, list) or not all(isinstance(c, str) for c in pii):
        raise BadInput("pii must be a list of column names", location="pii")
    return perform(
        charter,
        actor,
        operations.set_reference,
        f"{name}@{digest}",
        body.get("profile"),  # type: ignore[arg-type]  # checked by the service
        pii,
        body.get("dataset_sha256"),
    )


@router.get("/systems/{name}/releases/{digest}/reference", tags=["monitoring"])
def get_reference(
    name: Name,
    digest: Digest,
    charter: CharterDep,
    actor: ActorDep,
    profile: Annotated[bool, Query(description="Include the profile itself.")] = False,
) -> ReferenceView:
    """The release's current reference profile."""
    return perform(charter, actor, operations.get_reference, f"{name}@{digest}", profile)


def _arrow_frame(data: bytes) -> Any:
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise BadInput(f"not an Arrow IPC stream: {exc}") from None
    if table.num_rows > ingest.MAX_BATCH_RECORDS:
        from charter.domain.errors import PayloadTooLarge

        raise PayloadTooLarge(f"a batch holds at most {ingest.MAX_BATCH_RECORDS} records")
    return table.to_pandas()


@router.post(
    "/systems/{name}/observations",
    tags=["monitoring"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def log_observations(
    name: Name,
    request: Request,
    charter: CharterDep,
    actor: ActorDep,
    env: Env,
    release: Annotated[str | None, Query(max_length=71, description="Default digest.")] = None,
    batch_header: Annotated[str | None, Header(alias="X-Charter-Batch-Id")] = None,
) -> IngestView:
    """Ingest a batch of inference records: JSON ``{batch_id, release?, records: [...]}``
    or an Arrow IPC stream (``X-Charter-Batch-Id`` header)."""
    from starlette.concurrency import run_in_threadpool

    data = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == ARROW_STREAM:
        if not batch_header:
            raise BadInput("an Arrow batch needs the X-Charter-Batch-Id header")
        records: Any = await run_in_threadpool(_arrow_frame, data)
        batch_id: Any = batch_header
    elif kind in ("application/json", ""):
        import json

        try:
            body = json.loads(data)
        except ValueError as exc:
            raise BadInput(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise BadInput("the body must be {batch_id, records: [...]}")
        records, batch_id = body["records"], body.get("batch_id")
        release = release or body.get("release")
    else:
        raise BadInput(f"unsupported content type {kind!r}: use JSON or {ARROW_STREAM}")

    def work() -> IngestView:
        return perform(
            charter, actor, operations.log_records, name, env, batch_id, records, release
        )

    return await run_in_threadpool(work)


@router.post("/systems/{name}/labels", tags=["monitoring"])
def log_labels(
    name: Name,
    body: Annotated[
        dict[str, Any], Body(description="{batch_id, labels: [{inference_id, label}]}")
    ],
    charter: CharterDep,
    actor: ActorDep,
    env: Env,
) -> IngestView:
    """Join late labels to logged inferences."""
    labels = body.get("labels")
    if not isinstance(labels, list):
        raise BadInput("the body must be {batch_id, labels: [...]}")
    return perform(charter, actor, operations.log_labels, name, env, body.get("batch_id"), labels)  # type: ignore[arg-type]


@router.get("/alerts", tags=["monitoring"])
def list_alerts(
    charter: CharterDep,
    actor: ActorDep,
    open: Annotated[bool, Query(description="Only open alerts.")] = False,
    system: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    """Alerts, newest first."""
    return perform(charter, actor, operations.list_alerts, open, system, limit, offset)


@router.post("/alerts/channels", tags=["monitoring"], status_code=status.HTTP_201_CREATED)
def add_channel(
    body: Annotated[dict[str, Any], Body(description="{name, kind, url, secret?, system?}")],
    charter: CharterDep,
    actor: ActorDep,
) -> ChannelView:
    """Add a notification channel."""
    fields = {k: body.get(k) for k in ("name", "kind", "url")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise BadInput("a channel needs name, kind and url")
    return perform(
        charter,
        actor,
        operations.add_channel,
        body["name"],
        body["kind"],
        body["url"],
        body.get("secret"),
        body.get("system"),
        body.get("min_severity") or "warning",
    )


@router.get("/alerts/channels", tags=["monitoring"])
def list_channels(charter: CharterDep, actor: ActorDep) -> ChannelList:
    """Notification channels (without secrets)."""
    return perform(charter, actor, operations.list_channels)


# After /alerts/channels: a path parameter there would swallow "channels".
@router.get("/alerts/{alert_id}", tags=["monitoring"])
def show_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="Alert id.")],
    charter: CharterDep,
    actor: ActorDep,
) -> AlertDetailView:
    """One alert with its runbook (steps, commands, link), its incident and its actions."""
    return perform(charter, actor, operations.show_alert, alert_id)


@router.get("/monitoring/signals", tags=["monitoring"])
def signals(charter: CharterDep, actor: ActorDep) -> SignalsView:
    """The five live signals of every route, from the newest closed window."""
    return perform(charter, actor, operations.signals)


@router.get("/systems/{name}/windows", tags=["monitoring"])
def windows(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    env: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WindowsView:
    """Closed windows with their drift, quality, performance and signals, newest first."""
    return perform(charter, actor, operations.windows, name, env, limit)


class SignalsCollector:
    """A Prometheus collector over one read of the live signals (a fresh one per scrape).

    ``prometheus_client`` writes the exposition: label escaping, the text format 0.0.4 and
    OpenMetrics 1.0 (negotiated from ``Accept`` in :func:`metrics`).
    """

    FAMILIES = (
        ("charter_latency_ms", "Latency quantiles of the newest closed window (ms)."),
        ("charter_accuracy_realised", "Realised accuracy on labelled rows."),
        ("charter_accuracy_estimated", "Label-free accuracy estimate."),
        ("charter_drift_columns_flagged", "Columns flagged as drifting."),
        ("charter_block_rate", "Share of guarded requests blocked by guardrails."),
        ("charter_fallback_rate", "Share of requests served by the fallback."),
        ("charter_open_alerts", "Open alerts."),
        ("charter_window_rows", "Rows in the newest closed window."),
    )
    LABELS = ("system", "release", "environment")

    def __init__(self, found: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.found = found

    def collect(self) -> Iterator[Any]:
        """One gauge family per signal; absent data is no sample rather than NaN."""
        from prometheus_client.core import GaugeMetricFamily

        families = {
            name: GaugeMetricFamily(
                name,
                help_text,
                labels=[*self.LABELS, "quantile"]
                if name == "charter_latency_ms"
                else list(self.LABELS),
            )
            for name, help_text in self.FAMILIES
        }

        def add(name: str, labels: list[str], value: float | None) -> None:
            if value is not None:
                families[name].add_metric(labels, float(value))

        for (system, environment), entry in sorted(self.found.items()):
            labels = [system, entry["release"].split("@", 1)[1][:12], environment]
            for quantile, text in (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99")):
                add("charter_latency_ms", [*labels, text], entry["latency_ms"].get(quantile))
            add("charter_accuracy_realised", labels, entry["accuracy"].get("realised"))
            add("charter_accuracy_estimated", labels, entry["accuracy"].get("estimated"))
            columns = entry["drift"].get("columns")
            flagged = None if entry["window"] is None else float(len(columns or []))
            add("charter_drift_columns_flagged", labels, flagged)
            add("charter_block_rate", labels, entry["block_rate"])
            add("charter_fallback_rate", labels, entry["fallback_rate"])
            add("charter_open_alerts", labels, float(entry["open_alerts"]))
            add("charter_window_rows", labels, entry["rows"])
        yield from families.values()


def render_metrics(
    found: dict[tuple[str, str], dict[str, Any]], accept: str | None = None
) -> tuple[bytes, str]:
    """The exposition of the live signals in the format ``accept`` asks for (Prometheus
    text 0.0.4 by default, OpenMetrics when asked), and its content type."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SignalsCollector(found))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


@metrics_router.get("/metrics", tags=["meta"], response_class=PlainTextResponse)
def metrics(
    charter: CharterDep,
    actor: ActorDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus metrics per system, release and environment (bearer token required);
    OpenMetrics when ``Accept`` asks for ``application/openmetrics-text``."""
    with charter.as_actor(actor, write=False) as ctx:
        found = signals_view.monitoring_signals(ctx)
    body, content_type = render_metrics(found, accept)
    return Response(body, media_type=content_type)
