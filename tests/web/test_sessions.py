"""Session cookies and their signing key, without a server."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from charter.domain.errors import BadInput
from charter.web.session import (
    KEY_FILE,
    MIN_KEY_LENGTH,
    SessionCodec,
    lifetime_hours,
    load_key,
)

KEY = b"k" * MIN_KEY_LENGTH


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_key_file_is_created_once_owner_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CHARTER_SESSION_KEY", raising=False)
    home = tmp_path / "home"
    keys: list[bytes] = []
    # Workers starting together must agree on one key.
    threads = [threading.Thread(target=lambda: keys.append(load_key(home))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= MIN_KEY_LENGTH
    path = home / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir()] == [KEY_FILE]  # no temporary file left
    assert load_key(home) == keys[0]


def test_key_readable_by_others_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CHARTER_SESSION_KEY", raising=False)
    load_key(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(BadInput, match="chmod 600"):
        load_key(tmp_path)


def test_key_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHARTER_SESSION_KEY", "e" * 40)
    assert load_key(tmp_path) == b"e" * 40
    assert not (tmp_path / KEY_FILE).exists()
    monkeypatch.setenv("CHARTER_SESSION_KEY", "short")
    with pytest.raises(BadInput, match="at least 32"):
        load_key(tmp_path)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "100000", "nan"])
def test_bad_lifetime_is_refused(value: str, monkeypatch) -> None:
    monkeypatch.setenv("CHARTER_SESSION_HOURS", value)
    with pytest.raises(BadInput, match="CHARTER_SESSION_HOURS"):
        lifetime_hours()


def test_lifetime_default_and_setting(monkeypatch) -> None:
    monkeypatch.delenv("CHARTER_SESSION_HOURS", raising=False)
    assert lifetime_hours() == 8.0
    monkeypatch.setenv("CHARTER_SESSION_HOURS", "0.5")
    assert lifetime_hours() == 0.5


def test_round_trip_expiry_and_tampering() -> None:
    clock = Clock()
    codec = SessionCodec(KEY, lifetime_seconds=3600, clock=clock)
    session = codec.signed_in(7, "h" * 64)
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == ("valid", session)
    assert "h" * 64 not in cookie  # the cookie holds an HMAC of the hash, not the hash
    clock.now += 3599
    assert codec.loads(cookie)[0] == "valid"
    clock.now += 1
    state, expired = codec.loads(cookie)
    assert state == "expired" and expired == session
    # Any change to the value, or another key, breaks the signature.
    assert codec.loads(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))[0] == "invalid"
    other = SessionCodec(b"o" * MIN_KEY_LENGTH, lifetime_seconds=3600, clock=clock)
    assert other.loads(cookie)[0] == "invalid"
    assert codec.loads(None)[0] == "missing"
    assert codec.loads("not-a-cookie")[0] == "invalid"


def test_fingerprint_binds_the_session_to_its_token() -> None:
    codec = SessionCodec(KEY, lifetime_seconds=60)
    session = codec.signed_in(1, "a" * 64)
    assert codec.matches(session, ("b" * 64, "a" * 64))
    assert not codec.matches(session, ("b" * 64,))
    assert not codec.matches(codec.anonymous(), ("a" * 64,))


def test_csrf_tokens_are_per_session_and_compared_exactly() -> None:
    codec = SessionCodec(KEY, lifetime_seconds=60)
    one, two = codec.signed_in(1, "a" * 64), codec.signed_in(1, "a" * 64)
    assert one.csrf != two.csrf and len(one.csrf) >= 32
    assert codec.csrf_ok(one, one.csrf)
    assert not codec.csrf_ok(one, two.csrf)
    assert not codec.csrf_ok(one, "")
    assert not codec.csrf_ok(None, one.csrf)


def test_flash_messages_are_bounded() -> None:
    codec = SessionCodec(KEY, lifetime_seconds=60)
    session = codec.anonymous()
    for index in range(8):
        session = codec.with_flash(session, "ok", f"message {index} " + "x" * 600)
    assert len(session.flash) == 5
    assert all(len(text) <= 500 for _, text in session.flash)
    assert codec.loads(codec.dumps(session))[1] == session


def test_signal_lights_follow_the_verdicts() -> None:
    from charter.web.render import signal_lights

    signals = {
        "latency_ms": {"p95": 40.0},
        "accuracy": {"value": 0.8, "source": "realised"},
        "drift": {"verdict": "drift", "columns": ["age"]},
        "block_rate": 0.02,
        "fallback_rate": None,
    }
    lights = {s["key"]: s["light"] for s in signal_lights(signals)}
    assert lights == {
        "latency": "blue",
        "accuracy": "blue",
        "drift": "red",
        "block_rate": "blue",
        "fallback_rate": "grey",
    }
    breaches = [
        {"monitor": "performance", "subject": "accuracy", "breached": True},
        {"monitor": "latency", "subject": "latency_p95_ms", "breached": False},
        {"monitor": "guardrails", "subject": "block_rate", "breached": None},
    ]
    lights = {s["key"]: s["light"] for s in signal_lights(signals, breaches)}
    assert lights["accuracy"] == "red" and lights["latency"] == "green"
    assert lights["block_rate"] == "blue"  # no verdict (too few rows): measured only
    assert {s["key"]: s["light"] for s in signal_lights(None)}["drift"] == "grey"
