"""Runbooks: each alert type's steps, commands and link, from the pack to the person paged."""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select

from charter.domain.contracts.metrics import LIVE_METRICS, MONITORS
from charter.domain.errors import BadInput
from charter.domain.policy import load_policy
from charter.domain.runbooks import ALERT_TYPES, PLACEHOLDERS, bundle_runbooks, render
from charter.plugins.notifiers import Notification, PagerDutyNotifier, SlackNotifier
from charter.services import alerts, attestation, incidents, policies, runbooks, worker
from charter.store.monitoring_models import Alert

from .conftest import LIVE, deploy_release
from .test_worker_alerts import feed

SRC = Path(__file__).resolve().parents[3] / "src" / "charter"
#: One window opens an alert: the test needs the drift alert, not hysteresis.
DRIFT_ONLY = {**LIVE, "open_after": 1, "min_sample": 100, "monitors": ["drift"]}
DRIFT_RUNBOOK = """
runbooks:
  drift:
    title: "Drift on {subject}"
    path: runbooks/drift.md
    commands: ["charter windows {system} --env {env}"]
    link: "https://wiki.example.com/runbooks/drift?system={system}"
"""


def _pack(runbooks_yaml: str) -> bytes:
    """The default pack with its runbooks section replaced."""
    text = policies.default_pack().decode("utf-8")
    return (text[: text.index("\nrunbooks:\n")] + "\n" + runbooks_yaml.lstrip("\n")).encode()


def _drift_alert(act: Any, charter: Any, clock: Any, service_actor: Any, frame: Any) -> str:
    from charter.monitoring import build_reference
    from charter.services import references

    digest = deploy_release(charter, act, live=DRIFT_ONLY)
    profile = build_reference(
        frame, features=["x", "colour"], prediction="pred", score="score", label="label"
    )
    with act("developer") as ctx:
        references.set_reference(ctx, f"credit-limit@{digest}", profile.to_dict())
    feed(act, digest, frame.iloc[:200], "w0", shift=3)
    clock.advance(days=1)
    worker.run_once(charter, service_actor, backoff=0.01)
    return digest


def test_a_drift_alerts_webhook_carries_its_runbook(
    act, charter, clock, service_actor, receiver, policy, rng_frame, tokens, tmp_path
) -> None:
    with act("admin") as ctx:
        alerts.add_channel(ctx, "hook", kind="webhook", url=receiver.url, secret="k")
    digest = _drift_alert(act, charter, clock, service_actor, rng_frame)
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    drift = next(b["alert"] for b in bodies if b["alert"]["monitor"] == "drift")
    runbook = drift["runbook"]
    assert runbook["id"] == "drift" and runbook["source"] == "policy"
    assert runbook["policy_version"] == 1
    assert runbook["title"] == "Input drift on x in credit-limit (prod)"
    assert f"`credit-limit@{digest}`" in runbook["steps"]
    alert_id = drift["id"]
    assert "charter windows credit-limit --env prod" in runbook["commands"]
    assert f"charter alerts show {alert_id}" in runbook["commands"]
    assert (
        f"charter kill credit-limit --env prod --reason 'drift on x, alert #{alert_id}'"
        in runbook["commands"]
    )
    assert "runbook" not in drift["details"]  # carried once, at the top of the alert
    # Slack and PagerDuty render the same alert with its runbook.
    note = Notification(event="opened", alert=drift, url=receiver.url, secret="routing")
    slack = json.loads(SlackNotifier().render(note)[0])
    assert "*Runbook: Input drift on x" in slack["blocks"][1]["text"]["text"]
    assert f"charter alerts show {alert_id}" in slack["blocks"][1]["text"]["text"]
    paged = json.loads(PagerDutyNotifier().render(note)[0])
    assert paged["payload"]["custom_details"]["runbook"]["commands"] == runbook["commands"]

    # A later pack does not rewrite what the alert said.
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "drift.md").write_text("1. Look at {subject}.\n", encoding="utf-8")
    (tmp_path / "pack.yaml").write_bytes(_pack(DRIFT_RUNBOOK))
    bundled = bundle_runbooks((tmp_path / "pack.yaml").read_bytes(), tmp_path, "pack.yaml")
    with act("admin") as ctx:
        version, _ = policies.apply_policy(ctx, bundled, "pack.yaml")
    assert version.version == 2
    with act("auditor") as ctx:
        shown = alerts.show_alert(ctx, alert_id)
    assert shown["runbook"] == runbook

    # The CLI prints it (the one subprocess of this feature).
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(
        CHARTER_HOME=str(tmp_path / "home"),
        CHARTER_DATABASE_URL=str(charter.db.engine.url.render_as_string(hide_password=False)),
        CHARTER_TOKEN=tokens["auditor"],
        COLUMNS="200",
    )
    result = subprocess.run(
        [sys.executable, "-m", "charter", "alerts", "show", str(alert_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Runbook: Input drift on x in credit-limit (prod)" in result.stdout
    assert f"$ charter alerts show {alert_id}" in result.stdout


def test_the_pack_runbook_wins_and_types_it_leaves_out_get_the_default(
    act, charter, clock, service_actor, receiver, policy, rng_frame, tmp_path
) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "drift.md").write_text("1. Look at `{subject}`.\n", "utf-8")
    source = _pack(DRIFT_RUNBOOK)
    bundled = bundle_runbooks(source, tmp_path, "pack.yaml")
    # Only the runbooks section changed: the pack's comments elsewhere are kept.
    assert bundled.split(b"\nrunbooks:\n")[0] == source.split(b"\nrunbooks:\n")[0]
    with act("admin") as ctx:
        policies.apply_policy(ctx, bundled, "pack.yaml")
    digest = _drift_alert(act, charter, clock, service_actor, rng_frame)
    with act("service") as ctx:
        attestation.attest(ctx, "credit-limit", "prod", "f" * 64, "pod-1")
    with charter.db.transaction(write=False) as session:
        drift = session.scalars(select(Alert).where(Alert.monitor == "drift")).first()
        unapproved = session.scalar(select(Alert).where(Alert.monitor == "attestation"))
        drift_id, unapproved_id = drift.id, unapproved.id
    with act("auditor") as ctx:
        drift_full = alerts.show_alert(ctx, drift_id)
        drift_view = drift_full["runbook"]
        shown = alerts.show_alert(ctx, unapproved_id)
    assert drift_view["source"] == "policy" and drift_view["policy_version"] == 2
    assert drift_view["steps"] == "1. Look at `x`.\n"
    assert drift_view["link"] == "https://wiki.example.com/runbooks/drift?system=credit-limit"
    note = Notification(event="opened", alert=drift_full, url="", secret="routing")
    paged = json.loads(PagerDutyNotifier().render(note)[0])
    assert paged["links"] == [{"href": drift_view["link"], "text": "Drift on x"}]
    # No attestation runbook in this pack: Charter's default one, still filled.
    runbook = shown["runbook"]
    assert runbook["id"] == "attestation" and runbook["source"] == "charter-default"
    assert "charter kill credit-limit --env prod" in runbook["commands"][0]
    # The unapproved configuration opened a critical incident, which carries the runbook.
    incident_id = shown["incident_id"]
    with act("auditor") as ctx:
        incident = incidents.show(ctx, incident_id)
        postmortem = incidents.postmortem(ctx, incident_id)
    assert incident["runbook"] == runbook
    assert incident["timeline"][0]["details"]["runbook"]["id"] == "attestation"
    assert "## Runbook" in postmortem and runbook["commands"][0] in postmortem
    assert digest


def _raised_monitors() -> set[str]:
    """Every ``monitor="..."`` literal in the source: the alert types the code raises."""
    pattern = re.compile(r"""\bmonitor=["']([a-z_]+)["']""")
    return {
        name
        for path in SRC.rglob("*.py")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }


def test_every_alert_type_has_a_default_runbook() -> None:
    raised = _raised_monitors() | set(MONITORS) | {m.monitor for m in LIVE_METRICS.values()}
    assert raised <= set(ALERT_TYPES), raised - set(ALERT_TYPES)
    assert set(runbooks.default_runbooks()) == set(ALERT_TYPES)


@functools.cache
def _cli() -> Any:
    from charter.cli.main import load_commands

    return typer.main.get_command(load_commands())


def _parse(argv: list[str]) -> None:
    """Parse ``argv`` (after ``charter``) with the real CLI, down to the leaf command."""
    # Typer vendors click (typer._click): a group is what can resolve a sub-command.
    command: Any = _cli()
    ctx = command.make_context("charter", list(argv))
    while hasattr(command, "resolve_command"):
        args = [*ctx._protected_args, *ctx.args]
        if not args:
            break
        name, sub, rest = command.resolve_command(ctx, args)
        assert sub is not None, name
        command, ctx = sub, sub.make_context(name or "", rest, parent=ctx)
    assert not ctx.args, f"unexpected arguments {ctx.args}"


def test_every_default_runbook_command_is_a_real_charter_command() -> None:
    values = {name: "x" for name in PLACEHOLDERS}
    values.update(
        release="credit-limit@" + "a" * 64,
        alert_id="12",
        subject="it's a column",  # quoted for the shell: still one argument
    )
    for kind, runbook in runbooks.default_runbooks().items():
        filled = render(kind, runbook, values, source="test")
        assert filled["commands"], kind
        for command in filled["commands"]:
            argv = shlex.split(command)
            assert argv[0] == "charter", command
            _parse(argv[1:])
    # The check is not vacuous: a renamed command or flag fails it.
    for wrong in (["windoes", "x"], ["windows", "x", "--environment", "prod"]):
        with pytest.raises(Exception) as caught:
            _parse(wrong)
        assert "UsageError" in {kind.__name__ for kind in type(caught.value).__mro__}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "  pager:\n    title: t\n    steps: s\n",
            "unknown alert type 'pager'; alert types: drift",
        ),
        ("  drift:\n    title: t\n    steps: 'see {sytem}'\n", "unknown placeholder {sytem}"),
        ("  drift:\n    title: t\n    steps: s\n    commands: ['charter x {a']\n", "brace"),
        ('  drift:\n    title: t\n    steps: s\n    commands: ["charter \'x"]\n', "not a shell"),
        ("  drift:\n    title: t\n", "needs `steps`"),
        ("  drift:\n    title: t\n    steps: s\n    link: 'ftp://x'\n", "runbooks.drift.link"),
        ("  drift:\n    title: t\n    path: drift.md\n", "must be bundled"),
    ],
)
def test_bad_runbooks_are_refused_at_pack_load(section: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        load_policy(_pack("runbooks:\n" + section), "pack.yaml")
    said = f"{caught.value.location}: {caught.value}"
    assert message in said, said


def test_runbook_files_stay_inside_the_pack_directory(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (tmp_path / "secret.md").write_text("outside", "utf-8")
    (pack / "link.md").symlink_to(tmp_path / "secret.md")
    cases = {
        "../secret.md": "may not contain '..'",
        str(tmp_path / "secret.md"): "is absolute: use a path relative to the pack",
        "link.md": "leads outside the pack's directory",
        "missing.md": "does not exist",
    }
    for path, message in cases.items():
        source = _pack(f"runbooks:\n  drift:\n    title: t\n    path: {json.dumps(path)}\n")
        with pytest.raises(BadInput, match=message):
            bundle_runbooks(source, pack, "pack.yaml")
    both = _pack("runbooks:\n  drift:\n    title: t\n    steps: s\n    path: link.md\n")
    with pytest.raises(BadInput, match="not both"):
        bundle_runbooks(both, pack, "pack.yaml")
    # A pack without runbook files comes back as it was.
    assert bundle_runbooks(policies.default_pack(), pack) == policies.default_pack()
