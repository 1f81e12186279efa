"""The remote backend: a Charter server's HTTP API (``CHARTER_URL`` with ``CHARTER_TOKEN``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from charter.domain.decisions import DecisionRequest
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile

_STATUS_ERRORS: dict[int, type[CharterError]] = {
    400: BadInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadInput,
}


class RemoteBackend:
    """Calls a Charter server's HTTP API (``CHARTER_URL`` with ``CHARTER_TOKEN``)."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        assert settings.server_url is not None
        self.url = settings.server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self.client = httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60.0)

    def _call(self, method: str, path: str, **kwargs: Any) -> JSON:
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
        result: JSON = response.json()
        return result

    def _params(self, **values: Any) -> JSON:
        return {key: value for key, value in values.items() if value is not None}

    def whoami(self) -> JSON:
        return self._call("GET", "/me")

    def create_user(self, name: str, role: str) -> JSON:
        return self._call("POST", "/users", json={"name": name, "role": role})

    def rotate_token(self, name: str) -> JSON:
        return self._call("POST", f"/users/{name}/token")

    def list_users(self, limit: int, offset: int) -> JSON:
        return self._call("GET", "/users", params={"limit": limit, "offset": offset})

    def register_system(self, name: str, fields: JSON, intake: IntakeFile | None) -> JSON:
        body = {"name": name, **{k: v for k, v in fields.items() if v is not None}}
        if intake is not None:
            body["intake"] = intake.model_dump(mode="json", exclude_none=True)
        return self._call("POST", "/systems", json=body)

    def list_systems(self, limit: int, offset: int) -> JSON:
        return self._call("GET", "/systems", params={"limit": limit, "offset": offset})

    def get_system(self, name: str) -> JSON:
        return self._call("GET", f"/systems/{name}")

    def set_status(self, name: str, status: str, reason: str) -> JSON:
        return self._call(
            "POST", f"/systems/{name}/status", json={"status": status, "reason": reason}
        )

    def create_release(self, system: str, manifest: ReleaseManifest) -> JSON:
        body = manifest.model_dump(mode="json", exclude_none=True)
        return self._call("POST", f"/systems/{system}/releases", json=body)

    def list_releases(self, system: str, limit: int, offset: int) -> JSON:
        params = {"limit": limit, "offset": offset}
        return self._call("GET", f"/systems/{system}/releases", params=params)

    def _split(self, ref: str) -> tuple[str, str]:
        from charter.domain.releases import parse_ref

        parsed = parse_ref(ref)
        return parsed.system, parsed.digest_prefix

    def get_release(self, ref: str) -> JSON:
        system, digest = self._split(ref)
        return self._call("GET", f"/systems/{system}/releases/{digest}")

    def decide(self, ref: str, request: DecisionRequest) -> JSON:
        system, digest = self._split(ref)
        body = request.model_dump(mode="json", exclude_none=True)
        return self._call("POST", f"/systems/{system}/releases/{digest}/decisions", json=body)

    def list_decisions(self, system: str | None, ref: str | None, limit: int, offset: int) -> JSON:
        params = self._params(system=system, release=ref, limit=limit, offset=offset)
        return self._call("GET", "/decisions", params=params)

    def audit_verify(self, anchor: str | None) -> JSON:
        return self._call("GET", "/audit/verify", params=self._params(anchor=anchor))

    def audit_head(self) -> JSON:
        return self._call("GET", "/audit/head")

    def audit_log(self, limit: int, offset: int, filters: JSON) -> JSON:
        params = self._params(limit=limit, offset=offset, **filters)
        return self._call("GET", "/audit/events", params=params)

    def apply_policy(self, data: bytes, source: str) -> JSON:
        return self._call(
            "POST", "/policies", json={"source": data.decode("utf-8"), "name": source}
        )

    def show_policy(self, version: int | None) -> JSON:
        return self._call("GET", f"/policies/{version}" if version else "/policies/current")

    def list_policies(self, limit: int, offset: int) -> JSON:
        return self._call("GET", "/policies", params={"limit": limit, "offset": offset})

    def diff_policy(self, old: int | None, new: int | None, candidate: bytes | None) -> JSON:
        if candidate is not None:
            body = {"source": candidate.decode("utf-8"), "base": old}
            return self._call("POST", "/policies/diff", json=body)
        return self._call("GET", "/policies/diff", params=self._params(old=old, new=new))

    def reassess_system(self, name: str, intake: IntakeFile) -> JSON:
        return self._call("PUT", f"/systems/{name}/intake", json=intake.model_dump(mode="json"))

    def gate(self, ref: str, environment: str) -> JSON:
        system, digest = self._split(ref)
        return self._call(
            "POST", f"/systems/{system}/releases/{digest}/gate", params={"env": environment}
        )

    def request_exception(self, ref: str, fields: JSON) -> JSON:
        system, digest = self._split(ref)
        return self._call("POST", f"/systems/{system}/releases/{digest}/exceptions", json=fields)

    def decide_exception(self, exception_id: int, verdict: str, note: str) -> JSON:
        return self._call("POST", f"/exceptions/{exception_id}/{verdict}", json={"note": note})

    def list_exceptions(self, filters: JSON, limit: int, offset: int) -> JSON:
        params = self._params(limit=limit, offset=offset, **filters)
        return self._call("GET", "/exceptions", params=params)

    def deploy(self, ref: str, environment: str, reason: str) -> JSON:
        system, digest = self._split(ref)
        body = {"environment": environment, "reason": reason}
        return self._call("POST", f"/systems/{system}/releases/{digest}/deploy", json=body)

    def intervene(self, action: str, system: str, environment: str, reason: str) -> JSON:
        body = {"environment": environment, "reason": reason}
        return self._call("POST", f"/systems/{system}/{action}", json=body)

    def route(self, system: str, environment: str) -> JSON:
        return self._call("GET", f"/systems/{system}/route", params={"env": environment})

    def status(self) -> JSON:
        return self._call("GET", "/status")

    def record_evidence(self, ref: str, result: JSON) -> JSON:
        system, digest = self._split(ref)
        return self._call("POST", f"/systems/{system}/releases/{digest}/evidence", json=result)

    def list_evidence(
        self, system: str | None, ref: str | None, suite: str | None, limit: int, offset: int
    ) -> JSON:
        params = self._params(system=system, release=ref, suite=suite, limit=limit, offset=offset)
        return self._call("GET", "/evidence", params=params)

    def get_evidence(self, evidence_id: int) -> JSON:
        return self._call("GET", f"/evidence/{evidence_id}")

    # Live monitoring (charter.cli.monitoring).
    def set_reference(self, ref: str, profile: JSON, pii: list[str], sha256: str | None) -> JSON:
        system, digest = self._split(ref)
        body = {"profile": profile, "pii": pii, "dataset_sha256": sha256}
        return self._call("PUT", f"/systems/{system}/releases/{digest}/reference", json=body)

    def get_reference(self, ref: str) -> JSON:
        system, digest = self._split(ref)
        return self._call("GET", f"/systems/{system}/releases/{digest}/reference")

    def log_records(
        self, system: str, environment: str, batch_id: str, frame: Any, release: str | None
    ) -> JSON:
        import pyarrow as pa

        # Arrow IPC: typed columns and a fraction of the JSON size.
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        headers = {
            "Content-Type": "application/vnd.apache.arrow.stream",
            "X-Charter-Batch-Id": batch_id,
        }
        return self._call(
            "POST",
            f"/systems/{system}/observations",
            params=self._params(env=environment, release=release),
            content=sink.getvalue().to_pybytes(),
            headers=headers,
        )

    def log_labels(self, system: str, environment: str, batch_id: str, labels: list[JSON]) -> JSON:
        return self._call(
            "POST",
            f"/systems/{system}/labels",
            params={"env": environment},
            json={"batch_id": batch_id, "labels": labels},
        )

    def list_alerts(self, open_only: bool, system: str | None, limit: int, offset: int) -> JSON:
        params = self._params(open=open_only or None, system=system, limit=limit, offset=offset)
        return self._call("GET", "/alerts", params=params)

    def add_channel(self, fields: JSON) -> JSON:
        return self._call("POST", "/alerts/channels", json=fields)

    def list_channels(self) -> JSON:
        return self._call("GET", "/alerts/channels")

    def monitoring_signals(self) -> JSON:
        return self._call("GET", "/monitoring/signals")
