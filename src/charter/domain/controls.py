"""Control kinds and their evaluation: pure functions of a control and a release's facts.

Each kind is a parameter model and a check, registered once in :data:`KINDS`. A check
returns pass, fail or not_applicable with a reason and what it looked at;
:func:`apply_exceptions` then turns a fail into ``waived`` when an approved, unexpired
exception covers it and the control is waivable. Nothing here reads a database or a
clock: ``facts.now`` is the time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.decisions import APPROVING, DecisionFacts, approval_state
from charter.domain.errors import BadInput
from charter.domain.gate_facts import (
    ControlResult,
    DecisionFact,
    EvidenceFact,
    ExceptionFact,
    ReleaseFacts,
)
from charter.domain.text import iso_utc

if TYPE_CHECKING:
    from charter.domain.policy import Control, Policy

Status = Literal["pass", "fail", "not_applicable"]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class ControlParams(BaseModel):
    """Parameters as written in a pack, before the kind's own model has checked them."""

    model_config = ConfigDict(extra="allow", frozen=True)


class _Params(ControlParams):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Outcome:
    """What a check concluded."""

    status: Status
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluatedControl(ControlResult):
    """A control result that also says whether the pack lets an exception waive it."""

    waivable: bool = False


P = TypeVar("P", bound=_Params)


@dataclass(frozen=True)
class ControlKind(Generic[P]):
    """A kind of control: its parameter model and its check."""

    name: str
    params: type[P]
    check: Callable[[P, ReleaseFacts], Outcome]

    @property
    def summary(self) -> str:
        """First line of the check's docstring."""
        return (self.check.__doc__ or "").strip().splitlines()[0]


#: Every control kind a pack may use, by name.
KINDS: dict[str, ControlKind[Any]] = {}


def _kind(
    name: str, params: type[P]
) -> Callable[[Callable[[P, ReleaseFacts], Outcome]], Callable[[P, ReleaseFacts], Outcome]]:
    def register(
        check: Callable[[P, ReleaseFacts], Outcome],
    ) -> Callable[[P, ReleaseFacts], Outcome]:
        KINDS[name] = ControlKind(name, params, check)
        return check

    return register


# -- helpers ---------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    """Stored times may come back naive (SQLite); they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _newest(evidence: Iterable[EvidenceFact]) -> EvidenceFact | None:
    return max(evidence, key=lambda e: (_aware(e.created_at), e.id), default=None)


def bound_status(entry: Mapping[str, Any]) -> str:
    """pass, fail, undefined or skipped for one checked bound.

    Reads ``status`` (as the evaluation layer writes it) or else ``passed``. An entry
    that says neither is undefined, and undefined fails closed.
    """
    status = entry.get("status")
    if status in ("pass", "fail", "undefined", "skipped"):
        return str(status)
    if "passed" in entry:
        return "pass" if entry["passed"] is True else "fail"
    return "undefined"


def _failed_bounds(evidence: EvidenceFact) -> list[str]:
    return [
        str(b.get("bound") or b.get("metric") or "?")
        for b in evidence.bounds
        if bound_status(b) in ("fail", "undefined")
    ]


def _names(entries: Any) -> set[str]:
    """Names from a list of strings or of mappings with ``name`` / ``kind``."""
    names: set[str] = set()
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        return names
    for entry in entries:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, Mapping):
            for key in ("name", "kind"):
                if isinstance(entry.get(key), str):
                    names.add(entry[key])
    return names


def _missing(required: Sequence[str], present: set[str], what: str) -> Outcome:
    missing = [name for name in required if name not in present]
    evidence = {"required": list(required), "present": sorted(present)}
    if missing:
        return Outcome("fail", f"missing {what}: {', '.join(missing)}", evidence)
    return Outcome("pass", f"{what} present: {', '.join(required)}", evidence)


def _covers(decision: DecisionFact, environment: str) -> bool:
    return environment in decision.environments


def live_approvals(facts: ReleaseFacts, roles: Sequence[str] | None = None) -> list[DecisionFact]:
    """Approvals that count now in ``facts.environment`` (same fold as ``approval_state``).

    Each approver's latest approval covering the environment, after the latest rejection
    covering it (a rejection naming no environment covers all), unexpired, and from one of
    ``roles`` when given.
    """
    latest: dict[str, DecisionFact] = {}
    for decision in sorted(facts.decisions, key=lambda d: d.id):
        covers_env = not decision.environments or facts.environment in decision.environments
        if decision.verdict == "reject" and covers_env:
            latest.clear()
        elif (
            decision.verdict in APPROVING
            and _covers(decision, facts.environment)
            and (roles is None or decision.actor_role in roles)
        ):
            latest[decision.actor] = decision
    return [
        d
        for d in sorted(latest.values(), key=lambda d: d.id)
        if d.expires_at is None or _aware(d.expires_at) > facts.now
    ]


# -- kinds -----------------------------------------------------------------------------------


class EvaluationEvidenceParams(_Params):
    """``suite``: a suite name, or a list meaning any one of them; ``max_age_days``: freshness."""

    suite: Name | Annotated[list[Name], Field(min_length=1)]
    max_age_days: int | None = Field(default=None, ge=1, le=3650)


@_kind("evaluation_evidence", EvaluationEvidenceParams)
def _evaluation_evidence(params: EvaluationEvidenceParams, facts: ReleaseFacts) -> Outcome:
    """Newest evidence of the suite exists, is recent enough and none of its bounds failed."""
    suites = [params.suite] if isinstance(params.suite, str) else list(params.suite)
    label = " or ".join(suites)
    newest = _newest(e for e in facts.evidence if e.suite in suites)
    if newest is None:
        return Outcome("fail", f"no {label} evaluation evidence", {"suites": suites})
    age = (facts.now - _aware(newest.created_at)).days
    evidence = {
        "suites": suites,
        "evidence_id": newest.id,
        "evidence_digest": newest.digest,
        "created_at": iso_utc(_aware(newest.created_at)),
        "age_days": age,
    }
    if params.max_age_days is not None and age > params.max_age_days:
        return Outcome(
            "fail",
            f"newest {newest.suite} evidence #{newest.id} is {age} days old "
            f"(limit {params.max_age_days})",
            evidence,
        )
    failed = _failed_bounds(newest)
    if failed:
        return Outcome(
            "fail",
            f"{newest.suite} evidence #{newest.id} failed: {', '.join(failed)}",
            {**evidence, "failed": failed},
        )
    return Outcome("pass", f"{newest.suite} evidence #{newest.id} ({age} days old)", evidence)


class ContractMetricParams(_Params):
    """``metric``: only bounds on this metric (or these); ``required``: fail when there are none."""

    metric: Name | list[Name] | None = None
    required: bool = False


_BOUND_METRIC = re.compile(r"^\s*(?:(?:ci|ci_lower|ci_upper)\s*\(\s*)?([A-Za-z_][A-Za-z0-9_\-]*)")


def contract_offline_bounds(contract: Any) -> list[tuple[str, str]]:
    """(text, metric) for each offline bound of a contract, in any of its written forms.

    Accepts a list of bounds, a mapping with ``offline`` holding a list, or ``offline`` as
    a mapping ``{"roc_auc": ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"}``; a
    bound may be a string or a mapping with ``metric``.
    """
    entries: Any = contract.get("offline") if isinstance(contract, Mapping) else contract
    pairs: list[tuple[str, str]] = []
    if isinstance(entries, Mapping):
        for key, condition in entries.items():
            match = _BOUND_METRIC.match(str(key))
            if match:
                pairs.append((f"{key} {condition}", match.group(1)))
    elif isinstance(entries, Sequence) and not isinstance(entries, str):
        for entry in entries:
            if isinstance(entry, str):
                match = _BOUND_METRIC.match(entry)
                if match:
                    pairs.append((entry, match.group(1)))
            elif isinstance(entry, Mapping) and isinstance(entry.get("metric"), str):
                text = f"{entry['metric']} {entry.get('op', '')} {entry.get('value', '')}"
                pairs.append((text.strip(), entry["metric"]))
    return pairs


@_kind("contract_metric", ContractMetricParams)
def _contract_metric(params: ContractMetricParams, facts: ReleaseFacts) -> Outcome:
    """Every offline contract bound is met by the newest evidence that checked its metric."""
    wanted = (
        None
        if params.metric is None
        else ([params.metric] if isinstance(params.metric, str) else list(params.metric))
    )
    bounds = [
        (text, metric)
        for text, metric in contract_offline_bounds(facts.contract)
        if wanted is None or metric in wanted
    ]
    if not bounds:
        what = "offline bounds" if wanted is None else f"offline bounds on {', '.join(wanted)}"
        if params.required:
            return Outcome("fail", f"the contract declares no {what}", {"metrics": wanted})
        return Outcome("not_applicable", f"the contract declares no {what}", {"metrics": wanted})
    problems: list[str] = []
    checked: list[dict[str, Any]] = []
    for text, metric in bounds:
        holders = [
            e
            for e in facts.evidence
            if any(b.get("metric") == metric and bound_status(b) != "skipped" for b in e.bounds)
        ]
        newest = _newest(holders)
        if newest is None:
            problems.append(f"{text}: no evidence checked {metric}")
            checked.append({"bound": text, "evidence_id": None, "status": "missing"})
            continue
        entries = [
            b for b in newest.bounds if b.get("metric") == metric and bound_status(b) != "skipped"
        ]
        bad = [str(b.get("bound") or metric) for b in entries if bound_status(b) != "pass"]
        status = "fail" if bad else "pass"
        checked.append({"bound": text, "evidence_id": newest.id, "status": status})
        if bad:
            problems.append(f"{text}: evidence #{newest.id} failed {', '.join(bad)}")
    if problems:
        return Outcome("fail", "; ".join(problems), {"bounds": checked})
    return Outcome("pass", f"{len(bounds)} contract bound(s) met", {"bounds": checked})


class ApprovalQuorumParams(_Params):
    """``quorum``: distinct approvers needed; ``roles``: roles whose approvals count."""

    quorum: int = Field(ge=1, le=10)
    roles: list[Name] = Field(default_factory=lambda: ["approver"], min_length=1)


@_kind("approval_quorum", ApprovalQuorumParams)
def _approval_quorum(params: ApprovalQuorumParams, facts: ReleaseFacts) -> Outcome:
    """At least ``quorum`` distinct, unexpired approvals in the environment from ``roles``."""
    counted = [
        DecisionFacts(
            d.id, d.verdict, d.actor, d.environments, d.expires_at and _aware(d.expires_at)
        )
        for d in facts.decisions
        if d.verdict == "reject" or d.actor_role in params.roles
    ]
    state = approval_state(
        counted, environment=facts.environment, now=facts.now, quorum=params.quorum
    )
    evidence = {
        "state": state.state,
        "approvals": state.approvals,
        "quorum": params.quorum,
        "approvers": list(state.approvers),
        "roles": list(params.roles),
        "valid_until": iso_utc(state.valid_until) if state.valid_until else None,
    }
    env = facts.environment
    if state.state == "approved":
        return Outcome(
            "pass", f"{state.approvals} of {params.quorum} approval(s) for {env}", evidence
        )
    if state.state == "rejected":
        return Outcome("fail", f"rejected for {env}; no approval since", evidence)
    if state.state == "expired":
        return Outcome("fail", f"every approval for {env} has expired", evidence)
    return Outcome(
        "fail",
        f"{state.approvals} of {params.quorum} approval(s) for {env} "
        f"(roles: {', '.join(params.roles)})",
        evidence,
    )


class LiveMonitorsParams(_Params):
    """``required``: monitors the contract's ``live`` section must declare."""

    required: list[Name] = Field(min_length=1)


_LIVE_SETTINGS = frozenset({"window", "min_sample", "monitors"})


@_kind("live_monitors", LiveMonitorsParams)
def _live_monitors(params: LiveMonitorsParams, facts: ReleaseFacts) -> Outcome:
    """The contract's ``live.monitors`` (or ``live`` metric keys) include each required one."""
    live = facts.contract.get("live")
    present: set[str] = set()
    if isinstance(live, Mapping):
        present = _names(live.get("monitors")) | {str(k) for k in live if k not in _LIVE_SETTINGS}
    return _missing(params.required, present, "live monitors")


class GuardrailsParams(_Params):
    """``required``: guardrails ``config.guardrails`` must list."""

    required: list[Name] = Field(min_length=1)


@_kind("guardrails", GuardrailsParams)
def _guardrails(params: GuardrailsParams, facts: ReleaseFacts) -> Outcome:
    """The release's ``config.guardrails`` list includes each required guardrail."""
    config = facts.document.get("config")
    present = _names(config.get("guardrails")) if isinstance(config, Mapping) else set()
    return _missing(params.required, present, "guardrails")


_FIELD = r"^(?:(?:system|release)\.)?[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*$"


class DocumentationParams(_Params):
    """``fields``: system fields (``owner``) or ``release.<path>`` in the release document."""

    fields: list[Annotated[str, Field(pattern=_FIELD, max_length=200)]] = Field(min_length=1)


def _lookup(facts: ReleaseFacts, name: str) -> Any:
    if name.startswith("release."):
        value: Any = facts.document
        for part in name.removeprefix("release.").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value
    return facts.system_fields.get(name.removeprefix("system."))


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping | list | tuple | set):
        return bool(value)
    return True


@_kind("documentation", DocumentationParams)
def _documentation(params: DocumentationParams, facts: ReleaseFacts) -> Outcome:
    """Each named field is filled in (not null, blank or empty)."""
    present = {name for name in params.fields if _filled(_lookup(facts, name))}
    return _missing(params.fields, present, "documentation")


class ApprovalValidityParams(_Params):
    """``max_days``: longest approval allowed (expiry - grant); the review cadence."""

    max_days: int = Field(ge=1, le=3650)
    roles: list[Name] | None = None


@_kind("approval_validity", ApprovalValidityParams)
def _approval_validity(params: ApprovalValidityParams, facts: ReleaseFacts) -> Outcome:
    """The approvals that count were granted for at most ``max_days`` and are unexpired."""
    approvals = live_approvals(facts, params.roles)
    if not approvals:
        return Outcome("fail", f"no unexpired approval for {facts.environment}", {})
    too_long: list[str] = []
    shown = []
    for decision in approvals:
        if decision.expires_at is None:
            too_long.append(f"#{decision.id} by {decision.actor} has no expiry")
            days = None
        else:
            span = _aware(decision.expires_at) - _aware(decision.created_at)
            days = span.days + (1 if span.seconds or span.microseconds else 0)
            if days > params.max_days:
                too_long.append(f"#{decision.id} by {decision.actor} runs {days} days")
        shown.append({"decision_id": decision.id, "actor": decision.actor, "days": days})
    evidence = {"max_days": params.max_days, "approvals": shown}
    if too_long:
        return Outcome(
            "fail",
            f"approvals must be reviewed within {params.max_days} days: {'; '.join(too_long)}",
            evidence,
        )
    return Outcome("pass", f"approvals run at most {params.max_days} days", evidence)


class VendorNotDeprecatedParams(_Params):
    """``notice_days``: fail this long before a vendor model's deprecation date."""

    notice_days: int = Field(default=60, ge=0, le=3650)
    require_date: bool = False


@_kind("vendor_not_deprecated", VendorNotDeprecatedParams)
def _vendor_not_deprecated(params: VendorNotDeprecatedParams, facts: ReleaseFacts) -> Outcome:
    """No vendor model is deprecated or within ``notice_days`` of its deprecation date."""
    vendors = [c for c in facts.components if c.get("kind") == "vendor_model"]
    if not vendors:
        return Outcome("not_applicable", "the release uses no vendor model")
    today = facts.now.astimezone(UTC).date()
    dated = dict(facts.vendor_deprecations())
    problems = []
    for component in vendors:
        name = str(component.get("name"))
        when = dated.get(name)
        if when is None:
            if params.require_date:
                problems.append(f"{name} declares no deprecation date")
            continue
        left = (when - today).days
        if left < 0:
            problems.append(f"{name} was deprecated on {when}")
        elif left <= params.notice_days:
            problems.append(f"{name} is deprecated on {when} ({left} days left)")
    evidence = {
        "notice_days": params.notice_days,
        "deprecations": {name: when.isoformat() for name, when in dated.items()},
    }
    if problems:
        return Outcome("fail", "; ".join(problems), evidence)
    return Outcome("pass", f"{len(vendors)} vendor model(s) supported beyond the notice", evidence)


class FallbackDefinedParams(_Params):
    """``tested``: also require evidence of a fallback drill (suite ``drill_suite``)."""

    tested: bool = False
    drill_suite: Name = "fallback-drill"
    max_age_days: int | None = Field(default=None, ge=1, le=3650)


@_kind("fallback_defined", FallbackDefinedParams)
def _fallback_defined(params: FallbackDefinedParams, facts: ReleaseFacts) -> Outcome:
    """The newest approval for the environment names a fallback; if ``tested``, it was drilled."""
    approvals = [
        d for d in facts.decisions if d.verdict in APPROVING and _covers(d, facts.environment)
    ]
    if not approvals:
        return Outcome("fail", f"no approval for {facts.environment} names a fallback")
    newest = max(approvals, key=lambda d: d.id)
    evidence: dict[str, Any] = {"decision_id": newest.id, "fallback": newest.fallback}
    if not newest.fallback:
        return Outcome("fail", f"approval #{newest.id} names no fallback", evidence)
    if params.tested:
        drill = _newest(e for e in facts.evidence if e.suite == params.drill_suite)
        if drill is None:
            return Outcome("fail", f"no {params.drill_suite} evidence: drill it", evidence)
        age = (facts.now - _aware(drill.created_at)).days
        evidence.update({"drill_evidence_id": drill.id, "drill_age_days": age})
        if params.max_age_days is not None and age > params.max_age_days:
            return Outcome(
                "fail",
                f"the last fallback drill is {age} days old (limit {params.max_age_days})",
                evidence,
            )
        failed = _failed_bounds(drill)
        if failed:
            return Outcome(
                "fail", f"fallback drill #{drill.id} failed: {', '.join(failed)}", evidence
            )
    ref = newest.fallback.get("ref", newest.fallback)
    return Outcome("pass", f"fallback {ref} (approval #{newest.id})", evidence)


# -- evaluation ------------------------------------------------------------------------------


def evaluate_control(control: Control, facts: ReleaseFacts) -> EvaluatedControl:
    """Evaluate one control of a loaded pack against a release's facts."""
    kind = KINDS[control.kind]
    if control.when_components is not None and not any(
        c.get("kind") in control.when_components for c in facts.components
    ):
        outcome = Outcome(
            "not_applicable",
            f"the release has no {' or '.join(control.when_components)} component",
        )
    else:
        params = control.params
        if not isinstance(params, kind.params):
            params = kind.params.model_validate(params.model_dump())
        outcome = kind.check(params, facts)
    return EvaluatedControl(
        control_id=control.id,
        kind=control.kind,
        description=control.description,
        status=outcome.status,
        reason=outcome.reason,
        evidence=outcome.evidence,
        maps_to={key: list(values) for key, values in control.maps_to.items()},
        waivable=control.waivable,
    )


def _waiver(facts: ReleaseFacts, control_id: str) -> ExceptionFact | None:
    valid = [
        x
        for x in facts.exceptions
        if x.control_id == control_id
        and x.status == "approved"
        and _aware(x.expires_at) > facts.now
        and (x.environment is None or x.environment == facts.environment)
    ]
    return max(valid, key=lambda x: (_aware(x.expires_at), x.id), default=None)


def apply_exceptions(
    results: Sequence[ControlResult], facts: ReleaseFacts, policy: Policy | None = None
) -> list[ControlResult]:
    """Turn each waivable ``fail`` covered by a valid exception into ``waived``.

    Valid: approved, ``expires_at`` after ``facts.now``, for that control, and for no
    particular environment or for ``facts.environment``. Waivability comes from the result
    (:class:`EvaluatedControl`) or, when ``policy`` is given, from the pack.
    """
    updated: list[ControlResult] = []
    for result in results:
        waivable = getattr(result, "waivable", False)
        if policy is not None:
            control = policy.control(result.control_id)
            waivable = control is not None and control.waivable
        exception = _waiver(facts, result.control_id) if result.status == "fail" else None
        if exception is None or not waivable:
            updated.append(result)
            continue
        until = iso_utc(_aware(exception.expires_at))
        updated.append(
            replace(
                result,
                status="waived",
                reason=f"waived by exception #{exception.id} until {until}: {result.reason}",
                waiver={
                    "exception_id": exception.id,
                    "expires_at": until,
                    "approved_by": exception.approved_by,
                    "environment": exception.environment,
                    "justification": exception.justification,
                    "compensating": exception.compensating,
                },
            )
        )
    return updated


def evaluate_gate(policy: Policy, facts: ReleaseFacts) -> list[ControlResult]:
    """Every control for the release's tier and environment, evaluated, exceptions applied.

    A tier the pack does not define is an error (re-run intake); a refused tier fails
    with one result, ``tier-refused``, that no exception can waive.
    """
    tier = policy.tier(facts.tier)
    if tier is None:
        raise BadInput(
            f"the system's tier {facts.tier!r} is not defined by policy {policy.name!r}; "
            "re-run intake"
        )
    if tier.refused:
        why = f": {tier.description}" if tier.description else ""
        return [
            ControlResult(
                control_id="tier-refused",
                kind="tier",
                description="The system's risk tier may not be deployed",
                status="fail",
                reason=f"tier {tier.id!r} is refused by the policy{why}",
            )
        ]
    results = [evaluate_control(c, facts) for c in policy.controls_for(tier.id, facts.environment)]
    return apply_exceptions(results, facts)
