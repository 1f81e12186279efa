"""Roles and what each may do. One table, checked by the service layer on every operation."""

from __future__ import annotations

from enum import StrEnum

from charter.domain.errors import BadInput, Forbidden


class Role(StrEnum):
    """The roles a Charter user can hold."""

    ADMIN = "admin"
    RISK_ENGINEER = "risk_engineer"
    DEVELOPER = "developer"
    APPROVER = "approver"
    AUDITOR = "auditor"
    SERVICE = "service"


class Permission(StrEnum):
    """Operations that are granted per role."""

    USER_MANAGE = "user.manage"
    USER_READ = "user.read"
    SYSTEM_WRITE = "system.write"
    SYSTEM_READ = "system.read"
    RELEASE_CREATE = "release.create"
    RELEASE_READ = "release.read"
    DECISION_APPROVE = "decision.approve"
    DECISION_REJECT = "decision.reject"
    DECISION_READ = "decision.read"
    AUDIT_READ = "audit.read"
    POLICY_MANAGE = "policy.manage"
    POLICY_READ = "policy.read"
    GATE_RUN = "gate.run"
    EXCEPTION_REQUEST = "exception.request"
    EXCEPTION_READ = "exception.read"
    DEPLOY = "deployment.deploy"
    INTERVENE = "deployment.intervene"
    ROUTE_READ = "route.read"
    STATUS_READ = "status.read"
    EVIDENCE_WRITE = "evidence.write"
    REFERENCE_WRITE = "monitoring.reference"
    OBSERVATION_WRITE = "monitoring.ingest"
    MONITOR_RUN = "monitoring.run"
    MONITOR_READ = "monitoring.read"
    ALERT_MANAGE = "monitoring.alerts"
    RISK_READ = "risk.read"
    RISK_WRITE = "risk.write"
    RISK_REVIEW = "risk.review"
    RISK_ACCEPT = "risk.accept"


_ALL = frozenset(Role)
_HUMANS = _ALL - {Role.SERVICE}
# The ``service`` role is what serving code and CI hold: least privilege. It routes,
# attests, logs inferences and labels, runs the worker and (CI) records evidence; it reads
# nothing else (not systems, releases with their prompt text, decisions, evidence or
# channel URLs).

#: Who may do what. Approving is deliberately not granted to admins: administering the
#: tool and accepting a model's risk are separate duties.
GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.USER_MANAGE: frozenset({Role.ADMIN}),
    Permission.USER_READ: frozenset({Role.ADMIN, Role.AUDITOR}),
    Permission.SYSTEM_WRITE: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    Permission.SYSTEM_READ: _HUMANS,
    Permission.RELEASE_CREATE: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    Permission.RELEASE_READ: _HUMANS,
    Permission.DECISION_APPROVE: frozenset({Role.APPROVER}),
    Permission.DECISION_REJECT: frozenset({Role.APPROVER, Role.RISK_ENGINEER}),
    Permission.DECISION_READ: _HUMANS,
    Permission.AUDIT_READ: _HUMANS - {Role.DEVELOPER},
    Permission.POLICY_MANAGE: frozenset({Role.ADMIN, Role.RISK_ENGINEER}),
    Permission.POLICY_READ: _HUMANS,
    Permission.GATE_RUN: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER, Role.APPROVER}),
    Permission.EXCEPTION_REQUEST: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    Permission.EXCEPTION_READ: _HUMANS,
    Permission.DEPLOY: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    # Kill, rollback and resume: the on-call engineer's levers.
    Permission.INTERVENE: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    Permission.ROUTE_READ: _ALL,
    Permission.STATUS_READ: _HUMANS,
    # CI records evidence with a service token: a policy can require top-tier evidence
    # come from a service identity rather than a person's laptop.
    Permission.EVIDENCE_WRITE: frozenset(
        {Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER, Role.SERVICE}
    ),
    Permission.REFERENCE_WRITE: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    # Serving code logs inferences and labels with a service token.
    Permission.OBSERVATION_WRITE: frozenset({Role.ADMIN, Role.DEVELOPER, Role.SERVICE}),
    # The worker (windows, alerts, expiries) runs under a service account in deployments.
    Permission.MONITOR_RUN: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.SERVICE}),
    Permission.MONITOR_READ: _HUMANS,
    Permission.ALERT_MANAGE: frozenset({Role.ADMIN, Role.RISK_ENGINEER}),
    # The risk register: the people who know the system record its risks; reviewing and
    # accepting residual risk are model-risk duties (the pack narrows who, and keeps the
    # owner and the rater from accepting their own risk). Admins administer, not accept.
    Permission.RISK_READ: _HUMANS,
    Permission.RISK_WRITE: frozenset({Role.ADMIN, Role.RISK_ENGINEER, Role.DEVELOPER}),
    Permission.RISK_REVIEW: frozenset({Role.RISK_ENGINEER, Role.APPROVER}),
    Permission.RISK_ACCEPT: frozenset({Role.RISK_ENGINEER, Role.APPROVER}),
}
#: Who may approve or reject exceptions when no policy names the roles.
DEFAULT_EXCEPTION_APPROVERS = frozenset({Role.APPROVER, Role.RISK_ENGINEER})


def parse_role(value: str) -> Role:
    """Return the role named ``value`` or raise BadInput listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        valid = ", ".join(role.value for role in Role)
        raise BadInput(f"unknown role {value!r}; valid roles: {valid}") from None


def allowed(role: Role, permission: Permission) -> bool:
    """True when ``role`` holds ``permission``."""
    return role in GRANTS[permission]


def require(role: Role, permission: Permission) -> None:
    """Raise Forbidden unless ``role`` holds ``permission``."""
    if not allowed(role, permission):
        holders = ", ".join(sorted(r.value for r in GRANTS[permission]))
        raise Forbidden(f"role {role.value!r} may not {permission.value} (allowed: {holders})")
