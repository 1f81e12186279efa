"""Channel secrets and URLs: encrypted at rest, redacted when shown, scrubbed from logs.

A Slack-style webhook URL is itself a credential, so a channel's URL is stored encrypted
like its secret. The key is never in the database: ``CHARTER_SECRETS_KEY`` (a Fernet key,
from ``Fernet.generate_key()``), else ``$CHARTER_HOME/secrets.key``, created with mode
0600 by ``charter init`` or on first use. Stored values read ``enc:v1:<Fernet token>``;
a value without the prefix is one stored in clear before migration 0006 and is read as
it is (the migration encrypts them).

Shown to anyone but an admin, and written in audit payloads, a URL is its scheme and
host only, with the SHA-256 of the full URL, so a change of URL stays verifiable without
revealing it. Secrets never leave the service layer except to sign a delivery.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from charter.domain.errors import CharterError

PREFIX = "enc:v1:"
KEY_FILE = "secrets.key"
_lock = threading.Lock()
_cache: dict[tuple[str, str], Any] = {}


class SecretsKeyError(CharterError):
    """The stored secrets cannot be read with the key this process has."""

    status = 500
    title = "Secrets key mismatch"
    slug = "secrets-key"


def _home() -> Path:
    from charter.settings import charter_home

    return charter_home()


def create_key(home: Path) -> Path:
    """Create ``home/secrets.key`` (0600) unless it exists; return its path."""
    from cryptography.fernet import Fernet

    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = home / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
    return path


def _fernet() -> Any:
    from cryptography.fernet import Fernet

    configured = os.environ.get("CHARTER_SECRETS_KEY", "").strip()
    source = ("env", configured) if configured else ("file", str(_home() / KEY_FILE))
    with _lock:
        cached = _cache.get(source)
        if cached is not None:
            return cached
        if configured:
            key = configured.encode()
        else:
            path = Path(source[1])
            if not path.exists():
                create_key(path.parent)
            key = path.read_bytes().strip()
        try:
            cached = _cache[source] = Fernet(key)
        except ValueError:
            raise SecretsKeyError(
                "the secrets key is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
        return cached


def seal(value: str | None) -> str | None:
    """Encrypt a secret for storage (None stays None)."""
    if value is None:
        return None
    remember(value)
    token: bytes = _fernet().encrypt(value.encode())
    return PREFIX + token.decode("ascii")


def unseal(stored: str | None) -> str | None:
    """Decrypt a stored secret (a value stored in clear before 0006 is returned as is)."""
    if stored is None or not stored.startswith(PREFIX):
        return stored
    from cryptography.fernet import InvalidToken

    try:
        plain: bytes = _fernet().decrypt(stored[len(PREFIX) :].encode("ascii"))
        value = plain.decode()
    except InvalidToken:
        raise SecretsKeyError(
            "a channel secret cannot be decrypted: CHARTER_SECRETS_KEY (or secrets.key) is "
            "not the key it was stored with"
        ) from None
    remember(value)
    return value


def url_hash(url: str) -> str:
    """The SHA-256 of a URL, shown instead of it so changes stay verifiable."""
    return hashlib.sha256(url.encode()).hexdigest()


def redact_url(url: str) -> str:
    """Scheme and host only: ``https://hooks.slack.com/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "…"
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme else "…"


# --- scrubbing ----------------------------------------------------------------------------

#: Secrets this process has handled (channel secrets and URLs), replaced in every log line.
_known: set[str] = set()
_MAX_KNOWN = 10_000
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Charter API tokens, stored values, Fernet tokens, credentials in headers, and the
    # bound parameters SQLAlchemy appends to a database error.
    (re.compile(r"chtr_[A-Za-z0-9_\-]{8,}"), "[redacted]"),
    (re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_\-=]+"), "[redacted]"),
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), "[redacted]"),
    (re.compile(r"\[parameters: .*?\]\s*(?=\(Background|$)", re.DOTALL), "[parameters hidden] "),
    (
        re.compile(
            r"(?i)(authorization|x-charter-signature|routing_key|secret)([\"']?\s*[:=]\s*)\S+"
        ),
        r"\1\2[redacted]",
    ),
)


def remember(value: str) -> None:
    """Scrub ``value`` from logs and errors from now on (short values are ignored)."""
    if len(value) >= 8 and len(_known) < _MAX_KNOWN:
        _known.add(value)


def scrub(text: str) -> str:
    """``text`` with known secrets, tokens and SQL parameters replaced by ``[redacted]``."""
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs every record's message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, scrubbed; keep the record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{formatted}"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = scrub(message), None
        return True


_installed = False


def install_log_scrubbing() -> None:
    """Scrub every handler of the root, uvicorn and charter loggers (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    scrubber = ScrubFilter()
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "charter", "charter.api")
    for name in names:
        logger = logging.getLogger(name)
        logger.addFilter(scrubber)
        for handler in logger.handlers:
            handler.addFilter(scrubber)
    # Records no handler takes end at the last-resort handler (stderr).
    if logging.lastResort is not None:
        logging.lastResort.addFilter(scrubber)
