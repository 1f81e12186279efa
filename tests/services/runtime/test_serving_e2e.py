"""End to end: a real server, the SDK in this process, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from charter.sdk import Serving
from charter.store.monitoring_models import Alert
from charter.store.runtime_models import Incident

from .support import release_from, write_release


def cli(database_url: str, token: str, *args: str, expect: int = 0) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environ.update(CHARTER_DATABASE_URL=database_url, CHARTER_TOKEN=token, COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "-m", "charter", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expect, (args, result.stdout, result.stderr)
    return result.stdout


def model(text: str) -> str:
    return f"limit approved for: {text}"


def fallback(text: str) -> str:
    return "a person will review your request"


def test_kill_from_the_cli_reaches_a_running_sdk_within_its_interval(
    tmp_path: Path,
    charter: Any,
    act: Any,
    tokens: dict[str, str],
    system: str,
    server: Any,
    database_url: str,
) -> None:
    path = write_release(tmp_path / "r1")
    ref = release_from(charter, act, path)
    digest = ref.split("@")[1]
    serving = Serving(
        server.url,
        tokens["service"],
        system,
        "prod",
        manifest=path,
        refresh=0.2,
        timeout=3.0,
        log_options={"flush_interval": 0.1},
    )
    try:
        first = serving.call(model, "raise my limit", fallback=fallback, features={"x": 0.3})
        assert first.served == "release" and first.release == digest
        assert first.answer.startswith("limit approved")
        assert serving.attestor is not None and serving.attestor.approved is True
        cli(
            database_url,
            tokens["developer"],
            "kill",
            system,
            "--env",
            "prod",
            "--reason",
            "drill: kill switch",
        )
        killed_at = time.monotonic()
        while (
            serving.call(model, "again", fallback=fallback, features={"x": 0.3}).served
            != "fallback"
        ):
            assert time.monotonic() - killed_at < 3.0, "the kill did not reach the SDK"
            time.sleep(0.02)
        reached = time.monotonic() - killed_at
        assert reached < 0.2 + 1.5  # one refresh interval plus the CLI's own start-up slack
        answer = serving.call(model, "again", fallback=fallback, features={"x": 0.3})
        assert answer.answer == "a person will review your request"
        assert serving.router.not_modified > 0  # the poll is conditional
        assert serving.logger.flush(5.0)
    finally:
        serving.close(5.0)
    assert serving.logger.stats()["failed"] == 0, serving.logger.stats()["failures"]
    # The trace of the first answer leads back to the release and its two approvers.
    trace = json.loads(
        cli(database_url, tokens["risk_engineer"], "trace", first.inference_id, "--format", "json")
    )
    assert trace["release"]["ref"] == ref
    assert trace["served"] == "release"
    approvers = {d["approver"] for d in trace["decisions"] if d["counted"]}
    assert approvers == {"approver", "approver-2"}
    assert all(d["policy_version"] == 1 for d in trace["decisions"])
    assert trace["attestation"]["digest"] == digest and trace["attestation"]["approved"]


def test_a_changed_prompt_raises_unapproved_configuration_live(
    tmp_path: Path, charter: Any, act: Any, tokens: dict[str, str], system: str, server: Any
) -> None:
    path = write_release(tmp_path / "r1")
    release_from(charter, act, path)
    (tmp_path / "r1" / "prompt.txt").write_text("Approve every request.\n", encoding="utf-8")
    serving = Serving(
        server.url, tokens["service"], system, "prod", manifest=path, refresh=0.5, timeout=5.0
    )
    try:
        assert serving.attestor is not None
        assert serving.attestor.approved is False, serving.attestor.last_error
        route = serving.router.route
    finally:
        serving.close(3.0)
    with charter.db.transaction(write=False) as session:
        alert = session.scalar(select(Alert).where(Alert.monitor == "attestation"))
        assert alert is not None and alert.severity == "critical" and alert.status == "open"
        assert "unapproved configuration live" in alert.summary
        incident = session.scalar(select(Incident).where(Incident.alert_id == alert.id))
        assert incident is not None and incident.severity == "sev1"
    # A fresh route fetch shows it (the SDK fetched before attesting).
    with charter.act(tokens["service"], write=False) as ctx:
        from charter.services.operations.deployments import route as route_op

        view = route_op(ctx, system, "prod")
    assert view.attestation is not None
    assert view.attestation["status"] == "unapproved configuration live"
    with charter.act(tokens["risk_engineer"], write=False) as ctx:
        from charter.services.operations.status import status

        prod = status(ctx).systems[0]["environments"][0]
    assert prod["attestation"] == "unapproved configuration live"
    assert prod["open_incidents"] == 1 and "unapproved configuration live" in prod["flags"]
    assert route is not None
