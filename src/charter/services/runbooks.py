"""The runbook an alert carries: chosen from the pack in force when the alert opens.

The alert keeps the runbook filled with its own values, the policy version it came from
and the runbook's id (its alert type), so the webhook, Slack and PagerDuty messages, the
incident and ``charter alerts show`` all say the same thing, and a later pack does not
rewrite what the person paged was told.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from charter.domain.runbooks import Runbook, render
from charter.services import policies
from charter.services.context import Context

if TYPE_CHECKING:
    from charter.store.monitoring_models import Alert


@functools.cache
def default_runbooks() -> dict[str, Runbook]:
    """Charter's default runbooks: those of the default pack, for every alert type."""
    from charter.domain.policy import load_policy

    pack = load_policy(policies.default_pack(), "default.yaml", check_expressions=False)
    return dict(pack.runbooks)


def alert_values(alert: Alert) -> dict[str, str]:
    """What the placeholders of a runbook are filled with for ``alert``."""
    return {
        "system": alert.system.name,
        "env": alert.environment,
        "release": f"{alert.system.name}@{alert.release.digest}",
        "digest": alert.release.digest,
        "alert_id": str(alert.id),
        "monitor": alert.monitor,
        "subject": alert.subject,
        "severity": alert.severity,
    }


def for_alert(ctx: Context, alert: Alert) -> dict[str, Any] | None:
    """The filled runbook of ``alert``'s type: the pack's, else Charter's default; None when
    neither has one (a plugin's alert type)."""
    found = policies.in_force(ctx)
    runbook = None if found is None else found[1].runbooks.get(alert.monitor)
    source = "policy"
    if runbook is None:
        runbook, source = default_runbooks().get(alert.monitor), "charter-default"
    if runbook is None:
        return None
    view = render(alert.monitor, runbook, alert_values(alert), source=source)
    view["policy_version"] = None if found is None else found[0].version
    return view
