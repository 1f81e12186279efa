"""Channel secrets and URLs: encrypted at rest, redacted to non-admins and in the audit log,
never in a log line or an error; `charter init` makes its files private."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import event, text
from tests.helpers import BACKEND, REPO, ThreadedServer

from charter.domain.errors import BadInput
from charter.services import alerts, secrets

URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETPATHXXXX"
SECRET = "whsec-0123456789-very-secret"


def _raw(charter, statement: str) -> list:
    with charter.db.engine.connect() as conn:
        return list(conn.execute(text(statement)).all())


def test_url_and_secret_are_encrypted_at_rest_and_shown_redacted(act, charter) -> None:
    with act("admin") as ctx:
        shown = alerts.add_channel(ctx, "ops", kind="webhook", url=URL, secret=SECRET)
    assert shown["url"] == URL  # the admin who added it sees it
    ((url, secret, digest),) = _raw(
        charter, "SELECT url, secret, url_sha256 FROM notification_channels"
    )
    assert url.startswith(secrets.PREFIX) and secret.startswith(secrets.PREFIX)
    assert URL not in url and SECRET not in secret
    assert digest == secrets.url_hash(URL)
    with act("risk_engineer") as ctx:
        (listed,) = alerts.list_channels(ctx)
    assert listed["url"] == "https://hooks.slack.com/…"
    assert listed["url_sha256"] == digest and listed["has_secret"] is True
    with act("admin") as ctx:
        assert alerts.list_channels(ctx)[0]["url"] == URL
    # The audit payload holds the redacted URL and its hash: the change stays verifiable.
    payloads = " ".join(row[0] for row in _raw(charter, "SELECT payload FROM audit_events"))
    assert URL not in payloads and SECRET not in payloads and "/services/" not in payloads
    assert digest in payloads


def test_a_wrong_key_is_refused_not_misread(act, monkeypatch) -> None:
    with act("admin") as ctx:
        alerts.add_channel(ctx, "ops", kind="webhook", url=URL, secret=SECRET)
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CHARTER_SECRETS_KEY", Fernet.generate_key().decode())
    with act("admin") as ctx, pytest.raises(secrets.SecretsKeyError, match="not the key"):
        alerts.list_channels(ctx)


def test_control_characters_are_refused_without_echoing_the_secret(act) -> None:
    with act("admin") as ctx, pytest.raises(BadInput) as caught:
        alerts.add_channel(ctx, "ops", kind="webhook", url=URL, secret=SECRET + "\x00")
    assert SECRET not in str(caught.value)


def test_database_errors_name_no_bound_values(charter) -> None:
    # Reproduces the leak: a database error carried the INSERT's parameters, secret included.
    with pytest.raises(Exception) as caught, charter.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notification_channels (name, kind, url, secret, system_id, "
                "min_severity, enabled, created_at, created_by) VALUES ('x', 'webhook', :u, :s, "
                "999999, 'warning', :t, '2026-01-01', 'x')"
            ),
            {"u": URL, "s": SECRET, "t": True},
        )
    assert SECRET not in str(caught.value) and URL not in str(caught.value)


def test_the_server_log_never_holds_a_channel_secret(charter, tokens, caplog) -> None:
    """A database error while a channel is added (forced here) is logged, scrubbed."""
    import httpx

    from charter.api.app import create_app

    def fail(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO notification_channels"):
            error = __import__("sqlite3" if BACKEND == "sqlite" else "psycopg").OperationalError
            raise error(f"disk I/O error near {parameters!r}")

    event.listen(charter.db.engine, "before_cursor_execute", fail)
    server = ThreadedServer(create_app(charter))
    caplog.set_level(logging.INFO)
    try:
        response = httpx.post(
            f"{server.url}/api/v1/alerts/channels",
            json={"name": "ops", "kind": "webhook", "url": URL, "secret": SECRET},
            headers={"Authorization": f"Bearer {tokens['admin']}"},
        )
    finally:
        server.close()
        event.remove(charter.db.engine, "before_cursor_execute", fail)
    assert response.status_code == 503
    assert "database unavailable" in caplog.text
    assert SECRET not in caplog.text and URL not in caplog.text
    assert "XXXXSECRETPATHXXXX" not in caplog.text
    assert SECRET not in response.text


def test_scrub_removes_tokens_parameters_and_known_secrets() -> None:
    secrets.remember("a-secret-seen-before")
    line = (
        "boom a-secret-seen-before Bearer chtr_abcdefghijkl [parameters: ('x', 'y')] "
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
    )
    cleaned = secrets.scrub(line)
    assert "a-secret-seen-before" not in cleaned and "chtr_abcdefghijkl" not in cleaned
    assert "'y'" not in cleaned and "Background on this error" in cleaned


@pytest.mark.skipif(BACKEND != "sqlite", reason="file modes of the SQLite database")
def test_init_creates_private_files(tmp_path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env.update(CHARTER_HOME=str(home), PYTHONPATH=str(REPO / "src"))
    old = os.umask(0o022)
    try:
        subprocess.run(
            [sys.executable, "-m", "charter", "init"], env=env, check=True, capture_output=True
        )
    finally:
        os.umask(old)
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(home) == 0o700
    for name in ("charter.db", "config.json", "audit.key", "secrets.key"):
        assert mode(home / name) == 0o600, name
    for extra in ("charter.db-wal", "charter.db-shm"):
        if (home / extra).exists():
            assert mode(home / extra) & 0o077 == 0, extra
