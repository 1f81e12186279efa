"""The local backend: the service layer in-process, against the configured database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from charter.cli.backend import JSON
from charter.settings import Settings

if TYPE_CHECKING:
    from charter.domain.decisions import DecisionRequest
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile


def _dump(model: Any) -> JSON:
    result: JSON = model.model_dump(mode="json")
    return result


class LocalBackend:
    """Runs the service layer in-process against the configured database."""

    def __init__(self, settings: Settings) -> None:
        from charter.services.context import Charter
        from charter.store.db import Database
        from charter.store.migrate import ensure_current

        self.db = Database(settings.database_url)
        ensure_current(self.db)
        self.charter = Charter(self.db)
        self.token = settings.token

    def _page(self, rows: list[Any], total: int, limit: int, offset: int, view: Any) -> JSON:
        return {
            "items": [_dump(view.of(row)) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def whoami(self) -> JSON:
        with self.charter.act(self.token, write=False) as ctx:
            return {"name": ctx.actor.name, "role": ctx.actor.role.value}

    def create_user(self, name: str, role: str) -> JSON:
        from charter.services import users

        with self.charter.act(self.token, write=True) as ctx:
            user, token = users.create_user(ctx, name, role)
            return {"name": user.name, "role": user.role, "token": token}

    def rotate_token(self, name: str) -> JSON:
        from charter.services import users

        with self.charter.act(self.token, write=True) as ctx:
            user, token = users.rotate_token(ctx, name)
            return {"name": user.name, "role": user.role, "token": token}

    def list_users(self, limit: int, offset: int) -> JSON:
        from charter.services import users
        from charter.services.views import UserView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = users.list_users(ctx, limit=limit, offset=offset)
            return self._page(rows, total, limit, offset, UserView)

    def register_system(self, name: str, fields: JSON, intake: IntakeFile | None) -> JSON:
        from charter.services import systems
        from charter.services.views import SystemView

        with self.charter.act(self.token, write=True) as ctx:
            system = systems.register_system(ctx, name, intake=intake, **fields)
            return {
                **_dump(SystemView.of(system)),
                "assessment": systems.assessment_of(ctx, system),
            }

    def list_systems(self, limit: int, offset: int) -> JSON:
        from charter.services import systems
        from charter.services.views import SystemView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = systems.list_systems(ctx, limit=limit, offset=offset)
            return self._page(rows, total, limit, offset, SystemView)

    def get_system(self, name: str) -> JSON:
        from charter.services import systems
        from charter.services.views import SystemView

        with self.charter.act(self.token, write=False) as ctx:
            system = systems.get_system(ctx, name)
            return {
                **_dump(SystemView.of(system)),
                "assessment": systems.assessment_of(ctx, system),
            }

    def set_status(self, name: str, status: str, reason: str) -> JSON:
        from charter.services import systems
        from charter.services.views import SystemView

        with self.charter.act(self.token, write=True) as ctx:
            return _dump(SystemView.of(systems.set_status(ctx, name, status, reason=reason)))

    def create_release(self, system: str, manifest: ReleaseManifest) -> JSON:
        from charter.services import releases
        from charter.services.views import ReleaseView

        with self.charter.act(self.token, write=True) as ctx:
            release, created = releases.create_release(ctx, system, manifest, base_dir=None)
            return _dump(ReleaseView.of(release, created=created))

    def list_releases(self, system: str, limit: int, offset: int) -> JSON:
        from charter.services import releases
        from charter.services.views import ReleaseView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = releases.list_releases(ctx, system, limit=limit, offset=offset)
            return self._page(rows, total, limit, offset, ReleaseView)

    def get_release(self, ref: str) -> JSON:
        from charter.services import decisions, releases
        from charter.services.views import ReleaseView

        with self.charter.act(self.token, write=False) as ctx:
            release = releases.get_release(ctx, ref)
            return _dump(ReleaseView.of(release, approvals=decisions.approval_states(ctx, release)))

    def decide(self, ref: str, request: DecisionRequest) -> JSON:
        from charter.services import decisions
        from charter.services.views import DecisionView

        with self.charter.act(self.token, write=True) as ctx:
            return _dump(DecisionView.of(decisions.decide(ctx, ref, request)))

    def list_decisions(self, system: str | None, ref: str | None, limit: int, offset: int) -> JSON:
        from charter.services import decisions
        from charter.services.views import DecisionView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = decisions.list_decisions(
                ctx, system_name=system, ref=ref, limit=limit, offset=offset
            )
            return self._page(rows, total, limit, offset, DecisionView)

    def audit_verify(self, anchor: str | None) -> JSON:
        from charter.services import audit
        from charter.services.views import AuditVerifyView

        parsed = audit.parse_anchor(anchor) if anchor else None
        with self.charter.act(self.token, write=False) as ctx:
            return _dump(AuditVerifyView.of(audit.verify(ctx, anchor=parsed)))

    def audit_head(self) -> JSON:
        from charter.services import audit

        with self.charter.act(self.token, write=False) as ctx:
            seq, digest = audit.current_head(ctx)
            return {"seq": seq, "hash": digest, "anchor": f"{seq}:{digest}"}

    def audit_log(self, limit: int, offset: int, filters: JSON) -> JSON:
        from charter.services import audit
        from charter.services.views import AuditEventView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = audit.events(ctx, limit=limit, offset=offset, **filters)
            return self._page(rows, total, limit, offset, AuditEventView)

    def apply_policy(self, data: bytes, source: str) -> JSON:
        from charter.services import policies
        from charter.services.views import PolicyVersionView

        with self.charter.act(self.token, write=True) as ctx:
            version, created = policies.apply_policy(ctx, data, source)
            return _dump(PolicyVersionView.of(version, created=created))

    def show_policy(self, version: int | None) -> JSON:
        from charter.services import policies
        from charter.services.views import PolicyVersionView

        with self.charter.act(self.token, write=False) as ctx:
            return _dump(PolicyVersionView.of(policies.get_version(ctx, version), with_source=True))

    def list_policies(self, limit: int, offset: int) -> JSON:
        from charter.services import policies
        from charter.services.views import PolicyVersionView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = policies.list_versions(ctx, limit=limit, offset=offset)
            return self._page(rows, total, limit, offset, PolicyVersionView)

    def diff_policy(self, old: int | None, new: int | None, candidate: bytes | None) -> JSON:
        from charter.services import policies

        with self.charter.act(self.token, write=False) as ctx:
            return dict(policies.diff(ctx, old, new, candidate=candidate))

    def reassess_system(self, name: str, intake: IntakeFile) -> JSON:
        from charter.services import systems
        from charter.services.views import SystemView

        with self.charter.act(self.token, write=True) as ctx:
            system, assessment = systems.reassess(ctx, name, intake)
            return _dump(SystemView.of(system, assessment))

    def gate(self, ref: str, environment: str) -> JSON:
        from charter.services import gates
        from charter.services.views import GateReportView

        with self.charter.act(self.token, write=True) as ctx:
            return _dump(
                GateReportView.model_validate(gates.run_gate(ctx, ref, environment).report)
            )

    def request_exception(self, ref: str, fields: JSON) -> JSON:
        from charter.services import exceptions
        from charter.services.views import ExceptionView

        with self.charter.act(self.token, write=True) as ctx:
            return _dump(ExceptionView.of(exceptions.request_exception(ctx, ref, **fields)))

    def decide_exception(self, exception_id: int, verdict: str, note: str) -> JSON:
        from charter.services import exceptions
        from charter.services.views import ExceptionView

        with self.charter.act(self.token, write=True) as ctx:
            if verdict == "revoke":
                item = exceptions.revoke_exception(ctx, exception_id, note=note)
            else:
                item = exceptions.decide_exception(ctx, exception_id, verdict, note=note)
            return _dump(ExceptionView.of(item))

    def list_exceptions(self, filters: JSON, limit: int, offset: int) -> JSON:
        from charter.services import exceptions
        from charter.services.views import ExceptionView

        window = filters.get("expiring")
        with self.charter.act(self.token, write=False) as ctx:
            rows, total = exceptions.list_exceptions(
                ctx,
                system_name=filters.get("system"),
                status=filters.get("status"),
                expiring_within=exceptions.parse_window(window) if window else None,
                limit=limit,
                offset=offset,
            )
            return self._page(rows, total, limit, offset, ExceptionView)

    def deploy(self, ref: str, environment: str, reason: str) -> JSON:
        from charter.services import deployments

        with self.charter.act(self.token, write=True) as ctx:
            route = deployments.deploy(ctx, ref, environment, reason=reason)
            return self._route(ctx, route.system.name, environment)

    def intervene(self, action: str, system: str, environment: str, reason: str) -> JSON:
        from charter.services import deployments

        operation = {
            "rollback": deployments.rollback,
            "kill": deployments.kill,
            "resume": deployments.resume,
        }[action]
        with self.charter.act(self.token, write=True) as ctx:
            operation(ctx, system, environment, reason=reason)
            return self._route(ctx, system, environment)

    def _route(self, ctx: Any, system: str, environment: str) -> JSON:
        from charter.services import deployments
        from charter.services.views import RouteView

        return _dump(RouteView.model_validate(deployments.route_view(ctx, system, environment)))

    def route(self, system: str, environment: str) -> JSON:
        with self.charter.act(self.token, write=False) as ctx:
            return self._route(ctx, system, environment)

    def status(self) -> JSON:
        from pydantic import TypeAdapter

        from charter.services import status

        with self.charter.act(self.token, write=False) as ctx:
            systems = status.portfolio(ctx)
            data: JSON = TypeAdapter(dict[str, Any]).dump_python({"systems": systems}, mode="json")
            return data

    def record_evidence(self, ref: str, result: JSON) -> JSON:
        from charter.services import evidence
        from charter.services.views import EvidenceView

        with self.charter.act(self.token, write=True) as ctx:
            item, created = evidence.record_evidence(ctx, ref, result)
            return _dump(EvidenceView.of(item, created=created))

    def list_evidence(
        self, system: str | None, ref: str | None, suite: str | None, limit: int, offset: int
    ) -> JSON:
        from charter.services import evidence
        from charter.services.views import EvidenceView

        with self.charter.act(self.token, write=False) as ctx:
            rows, total = evidence.list_evidence(
                ctx, system_name=system, ref=ref, suite=suite, limit=limit, offset=offset
            )
            return self._page(rows, total, limit, offset, EvidenceView)

    def get_evidence(self, evidence_id: int) -> JSON:
        from charter.services import evidence
        from charter.services.views import EvidenceView

        with self.charter.act(self.token, write=False) as ctx:
            item = evidence.get_evidence(ctx, evidence_id)
            return _dump(EvidenceView.of(item, with_result=True))

    # Live monitoring (charter.cli.monitoring).
    def set_reference(self, ref: str, profile: JSON, pii: list[str], sha256: str | None) -> JSON:
        from charter.services import monitoring

        with self.charter.act(self.token, write=True) as ctx:
            row, created = monitoring.set_reference(
                ctx, ref, profile, pii=pii, dataset_sha256=sha256
            )
            return {**monitoring.reference_view(row), "created": created}

    def get_reference(self, ref: str) -> JSON:
        from charter.services import monitoring

        with self.charter.act(self.token, write=False) as ctx:
            return monitoring.reference_view(monitoring.get_reference(ctx, ref))

    def log_records(
        self, system: str, environment: str, batch_id: str, frame: Any, release: str | None
    ) -> JSON:
        from charter.services import ingest

        with self.charter.act(self.token, write=True) as ctx:
            return ingest.ingest_records(ctx, system, environment, batch_id, frame, release=release)

    def log_labels(self, system: str, environment: str, batch_id: str, labels: list[JSON]) -> JSON:
        from charter.services import ingest

        with self.charter.act(self.token, write=True) as ctx:
            return ingest.ingest_labels(ctx, system, environment, batch_id, labels)

    def list_alerts(self, open_only: bool, system: str | None, limit: int, offset: int) -> JSON:
        from charter.services import alerts

        with self.charter.act(self.token, write=False) as ctx:
            items = alerts.list_alerts(
                ctx, open_only=open_only, system_name=system, limit=limit, offset=offset
            )
            return {"items": items, "limit": limit, "offset": offset}

    def add_channel(self, fields: JSON) -> JSON:
        from charter.services import alerts

        with self.charter.act(self.token, write=True) as ctx:
            return alerts.add_channel(
                ctx,
                fields["name"],
                kind=fields["kind"],
                url=fields["url"],
                secret=fields.get("secret"),
                system_name=fields.get("system"),
                min_severity=fields.get("min_severity") or "warning",
            )

    def list_channels(self) -> JSON:
        from charter.services import alerts

        with self.charter.act(self.token, write=False) as ctx:
            return {"items": alerts.list_channels(ctx)}

    def monitoring_signals(self) -> JSON:
        from charter.services import monitoring

        with self.charter.act(self.token, write=False) as ctx:
            found = monitoring.monitoring_signals(ctx)
        items = [{"system": s, "environment": e, **v} for (s, e), v in sorted(found.items())]
        return {"items": items}
