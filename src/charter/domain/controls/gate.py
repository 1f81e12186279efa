"""Evaluating a gate: every control for a release's tier and environment, with exceptions.

:func:`apply_exceptions` turns a fail into ``waived`` when an approved, unexpired
exception covers it and the control is waivable. :func:`evaluate_controls` runs a gate's
controls in two rounds: first every control whose kind judges the release, then the kinds
that judge those results (the risk register), given them explicitly in ``facts.outcomes``.
Nothing here reads a database or a clock: ``facts.now`` is the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from charter.domain.controls.base import KINDS, EvaluatedControl, Outcome, aware
from charter.domain.errors import BadInput
from charter.domain.gate_facts import ControlResult, ExceptionFact, ReleaseFacts
from charter.domain.text import iso_utc

if TYPE_CHECKING:
    from charter.domain.policy import Control, Policy


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
        and aware(x.expires_at) > facts.now
        and (x.environment is None or x.environment == facts.environment)
    ]
    return max(valid, key=lambda x: (aware(x.expires_at), x.id), default=None)


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
        until = iso_utc(aware(exception.expires_at))
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


def evaluate_controls(controls: Sequence[Control], facts: ReleaseFacts) -> list[ControlResult]:
    """Evaluate a gate's controls, exceptions applied, in the order given.

    Kinds that read outcomes go last and see the others' results (waivers applied) in
    ``facts.outcomes``; never each other's or their own, so a control that judges the
    gate cannot make itself, or another such control, pass.
    """
    first = [i for i, c in enumerate(controls) if not KINDS[c.kind].reads_outcomes]
    last = [i for i, c in enumerate(controls) if KINDS[c.kind].reads_outcomes]
    done = apply_exceptions([evaluate_control(controls[i], facts) for i in first], facts)
    results: dict[int, ControlResult] = dict(zip(first, done, strict=True))
    if last:
        seen = replace(facts, outcomes=tuple(done))
        judged = apply_exceptions([evaluate_control(controls[i], seen) for i in last], facts)
        results.update(zip(last, judged, strict=True))
    return [results[i] for i in range(len(controls))]


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
    return evaluate_controls(policy.controls_for(tier.id, facts.environment, facts.flags), facts)
