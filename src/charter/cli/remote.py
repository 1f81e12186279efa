"""The remote backend: each operation sent to the Charter API route that performs it.

``ROUTES`` is the one table that says how an operation travels: method, path, which
arguments go in the path, the query string or the JSON body. The parity test runs every
operation through this backend and the local one and compares the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charter.cli.backend import JSON
from charter.domain.errors import (
    BadInput,
    CharterError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)
from charter.settings import Settings

_STATUS_ERRORS: dict[int, type[CharterError]] = {
    400: BadInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadInput,
}
ARROW_STREAM = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class Http:
    """How one operation is sent.

    ``path`` names arguments in braces; ``{ref}`` (``SYSTEM@DIGEST``) expands to
    ``systems/SYSTEM/releases/DIGEST``. ``query`` and ``body`` list the arguments sent
    there, each ``name`` or ``name:wire_name``; a ``body`` of one bare string sends that
    argument (a model or a mapping) as the whole body. Arguments that are None are left out.
    """

    method: str
    path: str
    query: tuple[str, ...] = ()
    body: tuple[str, ...] | str = ()


PAGE = ("limit", "offset")
ROUTES: dict[str, Http] = {
    "whoami": Http("GET", "/me"),
    "user.create": Http("POST", "/users", body=("name", "role")),
    "user.token": Http("POST", "/users/{name}/token"),
    "user.list": Http("GET", "/users", query=PAGE),
    "system.register": Http(
        "POST", "/systems", body=("name", "owner", "purpose", "population", "surfaces", "intake")
    ),
    "system.list": Http("GET", "/systems", query=PAGE),
    "system.show": Http("GET", "/systems/{name}"),
    "system.status": Http("POST", "/systems/{name}/status", body=("status", "reason")),
    "system.intake": Http("PUT", "/systems/{name}/intake", body="intake"),
    "system.intake_accept": Http("POST", "/systems/{name}/intake/accept"),
    "release.create": Http("POST", "/systems/{system}/releases", body="manifest"),
    "release.list": Http("GET", "/systems/{system}/releases", query=PAGE),
    "release.show": Http("GET", "/{ref}"),
    "decision.create": Http("POST", "/{ref}/decisions", body="request"),
    "decision.list": Http("GET", "/decisions", query=("system", "ref:release", *PAGE)),
    "audit.verify": Http("GET", "/audit/verify", query=("anchor", "state")),
    "audit.head": Http("GET", "/audit/head"),
    "audit.log": Http("GET", "/audit/events", query=(*PAGE, "entity_type", "entity_id", "action")),
    "policy.apply": Http("POST", "/policies", body=("source", "name")),
    "policy.show": Http("GET", "/policies/{version}"),
    "policy.list": Http("GET", "/policies", query=PAGE),
    "policy.diff": Http("GET", "/policies/diff", query=("old", "new")),
    "gate.run": Http("POST", "/{ref}/gate", query=("environment:env",)),
    "exception.request": Http(
        "POST",
        "/{ref}/exceptions",
        body=("control_id", "justification", "compensating", "expires", "environment"),
    ),
    "exception.decide": Http("POST", "/exceptions/{exception_id}/{verdict}", body=("note",)),
    "exception.show": Http("GET", "/exceptions/{exception_id}"),
    "exception.list": Http("GET", "/exceptions", query=("system", "status", "expiring", *PAGE)),
    "deployment.deploy": Http(
        "POST", "/{ref}/deploy", body=("environment", "reason", "canary", "shadow", "system")
    ),
    "deployment.rollback": Http(
        "POST", "/systems/{system}/rollback", body=("environment", "reason")
    ),
    "deployment.kill": Http("POST", "/systems/{system}/kill", body=("environment", "reason")),
    "deployment.resume": Http("POST", "/systems/{system}/resume", body=("environment", "reason")),
    "route.show": Http("GET", "/systems/{system}/route", query=("environment:env",)),
    "rollout.show": Http("GET", "/systems/{system}/rollout", query=("environment:env",)),
    "rollout.promote": Http(
        "POST", "/systems/{system}/rollout/promote", body=("environment", "reason")
    ),
    "rollout.abort": Http(
        "POST", "/systems/{system}/rollout/abort", body=("environment", "reason")
    ),
    "shadow.log": Http(
        "POST", "/systems/{system}/shadow", query=("environment:env",), body=("batch_id", "records")
    ),
    "status": Http("GET", "/status"),
    "evidence.record": Http("POST", "/{ref}/evidence", body="result"),
    "evidence.list": Http("GET", "/evidence", query=("system", "ref:release", "suite", *PAGE)),
    "evidence.show": Http("GET", "/evidence/{evidence_id}"),
    "evidence.reproduce": Http("POST", "/evidence/{evidence_id}/reproduce", body="result"),
    "reference.set": Http("PUT", "/{ref}/reference", body=("profile", "pii", "dataset_sha256")),
    "reference.show": Http("GET", "/{ref}/reference", query=("profile",)),
    "observations.log": Http(
        "POST", "/systems/{system}/observations", query=("environment:env", "release")
    ),
    "labels.log": Http(
        "POST", "/systems/{system}/labels", query=("environment:env",), body=("batch_id", "labels")
    ),
    "profiles.log": Http(
        "POST",
        "/systems/{system}/profiles",
        query=("environment:env", "release"),
        body=("batch_id", "document"),
    ),
    "alert.list": Http("GET", "/alerts", query=("open_only:open", "system", *PAGE)),
    "alert.show": Http("GET", "/alerts/{alert_id}"),
    "channel.add": Http(
        "POST", "/alerts/channels", body=("name", "kind", "url", "secret", "system", "min_severity")
    ),
    "channel.list": Http("GET", "/alerts/channels"),
    "monitoring.signals": Http("GET", "/monitoring/signals"),
    "monitoring.windows": Http(
        "GET", "/systems/{system}/windows", query=("environment:env", "limit")
    ),
    # The serving path (services/operations/runtime.py).
    "attestation.report": Http(
        "POST",
        "/systems/{system}/attestations",
        body=("environment", "digest", "process_id", "host", "sdk_version"),
    ),
    "trace.record": Http(
        "POST", "/systems/{system}/traces", query=("environment:env",), body=("traces",)
    ),
    "trace.show": Http("GET", "/traces/{inference_id}", query=("system",)),
    "incident.list": Http("GET", "/incidents", query=("system", "status", "limit")),
    "incident.show": Http("GET", "/incidents/{incident_id}"),
    "incident.open": Http(
        "POST",
        "/incidents",
        body=("system", "environment", "title", "severity", "note", "alert_id"),
    ),
    "incident.ack": Http("POST", "/incidents/{incident_id}/ack", body=("note",)),
    "incident.mitigate": Http("POST", "/incidents/{incident_id}/mitigate", body=("note",)),
    "incident.resolve": Http("POST", "/incidents/{incident_id}/resolve", body=("note",)),
    "incident.postmortem": Http("GET", "/incidents/{incident_id}/postmortem"),
    "incident.postmortem_save": Http(
        "PUT", "/incidents/{incident_id}/postmortem", body=("markdown",)
    ),
    "incident.metrics": Http("GET", "/incidents/metrics", query=("system",)),
    "incident.alert_ack": Http("POST", "/alerts/{alert_id}/ack", body=("note",)),
    "incident.alert_resolve": Http("POST", "/alerts/{alert_id}/resolve", body=("note",)),
    "intervention.list": Http("GET", "/interventions", query=("system", "limit")),
    "drill.run": Http("POST", "/{ref}/drills", body=("scenario",)),
    "drill.list": Http("GET", "/drills", query=("system", "limit")),
    "card.show": Http("GET", "/systems/{system}/card", query=("release", "snapshot")),
    "card.history": Http("GET", "/systems/{system}/card/history", query=("limit",)),
    "pack.export": Http(
        "POST", "/systems/{system}/evidence-pack", body=("release", "start", "end", "checkpoint")
    ),
    "kpis.show": Http("GET", "/kpis", query=("period",)),
    "report.portfolio": Http("GET", "/reports/portfolio", query=("period",)),
    # The risk register (services/operations/risks.py).
    "risk.add": Http("POST", "/systems/{system}/risks", body="risk"),
    "risk.list": Http("GET", "/systems/{system}/risks", query=("status",)),
    "risk.show": Http("GET", "/systems/{system}/risks/{risk_id}"),
    "risk.update": Http("PATCH", "/systems/{system}/risks/{risk_id}", body=("risk", "note")),
    "risk.review": Http("POST", "/systems/{system}/risks/{risk_id}/review", body=("note",)),
    "risk.accept": Http("POST", "/systems/{system}/risks/{risk_id}/accept", body=("note",)),
    "risk.seed": Http("POST", "/systems/{system}/risks/seed"),
    "risk.link_incident": Http("POST", "/incidents/{incident_id}/risks", body=("risk_id", "note")),
    "risk.assessment": Http("GET", "/systems/{system}/risk-assessment"),
}


def _names(spec: str) -> tuple[str, str]:
    name, _, wire = spec.partition(":")
    return name, wire or name


def _plain(value: Any) -> Any:
    """Models as their JSON data; anything else as it is."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if dump is not None else value


def _ref_path(ref: str) -> str:
    from charter.domain.releases import parse_ref

    parsed = parse_ref(ref)
    return f"systems/{parsed.system}/releases/{parsed.digest_prefix}"


class RemoteBackend:
    """Calls a Charter server's HTTP API (``CHARTER_URL`` with ``CHARTER_TOKEN``)."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        assert settings.server_url is not None
        self.url = settings.server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self.client = httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60.0)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def call(self, operation: str, **arguments: Any) -> JSON:
        """Send the named operation to the route that performs it."""
        route = _special(operation, arguments) or ROUTES[operation]
        args = dict(arguments)
        path = route.path
        if "{ref}" in path:
            path = path.replace("/{ref}", "/" + _ref_path(str(args.pop("ref"))))
        for name in list(args):
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", str(args.pop(name)))
        params = {
            wire: args.pop(name)
            for name, wire in map(_names, route.query)
            if name in args and args[name] is not None
        }
        for name, _ in map(_names, route.query):
            args.pop(name, None)
        kwargs: dict[str, Any] = {"params": params}
        if operation == "observations.log":
            kwargs.update(_arrow(args.pop("records"), str(args.pop("batch_id"))))
        elif isinstance(route.body, str):
            kwargs["json"] = _plain(args.pop(route.body))
        elif route.body:
            kwargs["json"] = {
                wire: _plain(args.pop(name))
                for name, wire in map(_names, route.body)
                if args.get(name) is not None
            }
            for name, _ in map(_names, route.body):
                args.pop(name, None)
        extra = sorted(name for name, value in args.items() if value is not None)
        if extra:
            raise BadInput(f"operation {operation!r} does not take {', '.join(extra)}")
        return self._send(route.method, path, **kwargs)

    def _send(self, method: str, path: str, **kwargs: Any) -> JSON:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CharterError(f"cannot reach Charter at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = body.get("detail") or body.get("title") or response.text
            except ValueError:
                detail = response.text[:200] or response.reason_phrase
            error = _STATUS_ERRORS.get(response.status_code, CharterError)
            raise error(f"{detail}" if response.status_code < 500 else f"server error: {detail}")
        try:
            result: JSON = response.json()
        except ValueError:
            raise CharterError(
                f"the server at {self.url} answered something that is not JSON"
            ) from None
        return result


def _special(operation: str, arguments: dict[str, Any]) -> Http | None:
    """Operations whose route depends on their arguments."""
    if operation == "policy.show" and arguments.get("version") is None:
        arguments.pop("version", None)
        return Http("GET", "/policies/current")
    if operation == "policy.diff" and arguments.get("candidate") is not None:
        arguments["source"] = arguments.pop("candidate")
        arguments["base"] = arguments.pop("old", None)
        arguments.pop("new", None)
        return Http("POST", "/policies/diff", body=("source", "base"))
    return None


def _arrow(frame: Any, batch_id: str) -> dict[str, Any]:
    """A data frame as an Arrow IPC stream: typed columns and a fraction of the JSON size."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return {
        "content": sink.getvalue().to_pybytes(),
        "headers": {"Content-Type": ARROW_STREAM, "X-Charter-Batch-Id": batch_id},
    }
