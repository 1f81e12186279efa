"""Signed session cookies for the web console.

A user signs in with an API token; the console then keeps a cookie holding the user id, a
fingerprint of the token's stored hash (an HMAC, never the token or the hash itself), a
per-session CSRF token and an absolute expiry, signed with a key that lives outside the
database. Every request re-checks the fingerprint against the user's unrevoked tokens
(``charter.services.users.session_credentials``), so rotating the token or disabling the
user ends every session at once. Visitors who have not signed in get an anonymous session
(no user, just a CSRF token), so that the sign-in form is protected like every other form.

The key is ``CHARTER_SESSION_KEY`` (at least 32 characters) when set, else the file
``web-session.key`` in the Charter home, created on first use with mode 0600. Replicas of
the server must share it; deleting the file (and restarting) ends every session.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

from charter.domain.errors import BadInput

COOKIE_NAME = "charter_session"
KEY_FILE = "web-session.key"
KEY_ENV = "CHARTER_SESSION_KEY"
LIFETIME_ENV = "CHARTER_SESSION_HOURS"
#: How long a signed-in session lasts, whatever the activity (an absolute lifetime).
DEFAULT_LIFETIME_HOURS = 8.0
MAX_LIFETIME_HOURS = 24.0 * 30
#: Anonymous sessions only carry the sign-in form's CSRF token.
ANONYMOUS_LIFETIME_SECONDS = 3600
MIN_KEY_LENGTH = 32
_SALT = "charter.web.session.v1"

State = Literal["valid", "missing", "invalid", "expired"]


@dataclass(frozen=True)
class WebSession:
    """What the session cookie holds (signed, not encrypted: nothing in it is secret)."""

    csrf: str
    expires_at: int
    user_id: int | None = None
    fingerprint: str | None = None
    #: One-shot messages shown on the next page: (kind, text), kind "ok" or "error".
    flash: tuple[tuple[str, str], ...] = field(default=())

    @property
    def signed_in(self) -> bool:
        """True when the session belongs to a user (not the anonymous pre-sign-in one)."""
        return self.user_id is not None


def lifetime_hours() -> float:
    """The signed-in session lifetime from ``CHARTER_SESSION_HOURS`` (default 8)."""
    raw = os.environ.get(LIFETIME_ENV, "").strip()
    if not raw:
        return DEFAULT_LIFETIME_HOURS
    try:
        hours = float(raw)
    except ValueError:
        raise BadInput(f"{LIFETIME_ENV}={raw!r} is not a number of hours") from None
    if not 0 < hours <= MAX_LIFETIME_HOURS:
        raise BadInput(f"{LIFETIME_ENV} must be above 0 and at most {MAX_LIFETIME_HOURS:g} hours")
    return hours


def load_key(home: Path) -> bytes:
    """The signing key: ``CHARTER_SESSION_KEY``, else the key file in ``home`` (made if absent).

    The file is created atomically (written under a temporary name, then hard-linked into
    place, which fails if another process got there first), so server workers starting
    together agree on one key. A key file others can read is refused, as ssh does.
    """
    from_env = os.environ.get(KEY_ENV)
    if from_env is not None:
        if len(from_env) < MIN_KEY_LENGTH:
            raise BadInput(f"{KEY_ENV} must be at least {MIN_KEY_LENGTH} characters long")
        return from_env.encode("utf-8")
    path = home / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadInput(f"{path} is accessible by other users: chmod 600 {path}")
    key = path.read_text(encoding="ascii").strip().encode("ascii")
    if len(key) < MIN_KEY_LENGTH:
        raise BadInput(f"{path} holds a key shorter than {MIN_KEY_LENGTH} characters")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Hard-linking fails if another worker created the file first: then use theirs.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class SessionCodec:
    """Issues, signs and reads session cookies with one key and one clock."""

    def __init__(
        self,
        key: bytes,
        *,
        lifetime_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._serializer = URLSafeSerializer(key, salt=_SALT)
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def fingerprint(self, token_hash: str) -> str:
        """An HMAC of a token's stored hash: binds a session to that token, reveals nothing."""
        digest = hmac.new(self._key, b"token:" + token_hash.encode("ascii"), hashlib.sha256)
        return digest.hexdigest()

    def matches(self, session: WebSession, token_hashes: tuple[str, ...]) -> bool:
        """True when the session was opened with one of these (unrevoked) tokens."""
        if session.fingerprint is None:
            return False
        return any(
            hmac.compare_digest(self.fingerprint(h), session.fingerprint) for h in token_hashes
        )

    def anonymous(self) -> WebSession:
        """A session for a visitor who has not signed in: a CSRF token for the sign-in form."""
        expires = int(self._clock()) + ANONYMOUS_LIFETIME_SECONDS
        return WebSession(csrf=secrets.token_urlsafe(32), expires_at=expires)

    def signed_in(self, user_id: int, token_hash: str) -> WebSession:
        """A fresh session for a user (new CSRF token, so nothing carries over from before)."""
        return WebSession(
            csrf=secrets.token_urlsafe(32),
            expires_at=int(self._clock() + self.lifetime_seconds),
            user_id=user_id,
            fingerprint=self.fingerprint(token_hash),
        )

    def dumps(self, session: WebSession) -> str:
        """The cookie value."""
        body: dict[str, Any] = {"c": session.csrf, "e": session.expires_at}
        if session.user_id is not None:
            body["u"] = session.user_id
            body["f"] = session.fingerprint
        if session.flash:
            body["m"] = [list(item) for item in session.flash]
        return str(self._serializer.dumps(body))

    def loads(self, cookie: str | None) -> tuple[State, WebSession | None]:
        """Read a cookie: its state, and the session when the signature holds.

        An expired session is returned too (state ``expired``), so that the sign-in page
        can say why; callers must not act on it.
        """
        if not cookie:
            return "missing", None
        try:
            body = self._serializer.loads(cookie)
            session = WebSession(
                csrf=str(body["c"]),
                expires_at=int(body["e"]),
                user_id=None if body.get("u") is None else int(body["u"]),
                fingerprint=None if body.get("f") is None else str(body["f"]),
                flash=tuple((str(k), str(t)) for k, t in body.get("m", [])),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return "invalid", None
        if session.expires_at <= self._clock():
            return "expired", session
        return "valid", session

    def with_flash(self, session: WebSession, kind: str, text: str) -> WebSession:
        """The session with one more message for the next page (at most five are kept)."""
        return replace(session, flash=(*session.flash, (kind, text[:500]))[-5:])

    def csrf_ok(self, session: WebSession | None, submitted: str | None) -> bool:
        """Constant-time comparison of a submitted CSRF token with the session's."""
        if session is None or not submitted:
            return False
        return hmac.compare_digest(session.csrf.encode(), submitted.encode())
