"""``charter rollout show|promote|abort``: canary and shadow periods of a route.

A rollout starts with ``charter deploy ... --canary SHARE`` or ``--shadow``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import FormatOpt, app, backend, check_format, command_group

rollout_app = command_group("Canary and shadow periods: show, promote, abort.")
app.add_typer(rollout_app, name="rollout")

EnvOpt = Annotated[str, typer.Option("--env", help="Environment, e.g. prod.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]


def _print(data: dict[str, Any], fmt: str, keys: list[str]) -> None:
    if fmt == "json":
        render.emit_json(data)
        return
    render.record(f"{data['system']} in {data['environment']}", data, keys)


@rollout_app.command("show")
def rollout_show(system: str, env: EnvOpt, fmt: FormatOpt = "text") -> None:
    """The active (else newest) canary or shadow: monitored so far, what promotion needs,
    and for a shadow the agreement and score drift against the live release."""
    data = backend().call("rollout.show", system=system, environment=env)
    keys = ["kind", "status", "release", "live", "share", "started_at", "monitored"]
    keys += ["requirement", "promotion_blocked_by", "outcome"]
    if data.get("comparison"):
        data["comparison (overall)"] = data["comparison"]["overall"]
        keys.append("comparison (overall)")
    _print(data, check_format(fmt), keys)


@rollout_app.command("promote")
def rollout_promote(
    system: str, env: EnvOpt, reason: ReasonOpt = "", fmt: FormatOpt = "text"
) -> None:
    """Give the candidate all the traffic: the gate and approval are evaluated again and the
    policy's canary or shadow period must have been monitored."""
    data = backend().call("rollout.promote", system=system, environment=env, reason=reason)
    _print(data, check_format(fmt), ["state", "release", "previous_release", "serve", "why"])


@rollout_app.command("abort")
def rollout_abort(
    system: str, env: EnvOpt, reason: ReasonOpt = "", fmt: FormatOpt = "text"
) -> None:
    """End the active canary or shadow; all traffic stays on the live release."""
    data = backend().call("rollout.abort", system=system, environment=env, reason=reason)
    _print(data, check_format(fmt), ["state", "release", "serve", "rollout", "why"])
