"""Where checkpoint keys come from, and the sinks checkpoints are appended to.

Keys, first match wins: ``CHARTER_AUDIT_KEY`` (an HMAC secret, at least 16 characters);
``$CHARTER_HOME/audit.key`` (an Ed25519 private key in hex, created by ``charter init``
with mode 0600); for verifying only, ``CHARTER_AUDIT_PUBLIC_KEY`` or
``$CHARTER_HOME/audit.pub`` (the Ed25519 public key in hex), so an auditor can check
checkpoints without being able to sign one.

Sinks: a file path (opened with ``O_APPEND``, one line per checkpoint, fsynced) or an
http(s) URL (each checkpoint is POSTed as JSON; ``audit verify --checkpoints URL`` GETs
JSON lines back from it). The sink a worker writes to is ``CHARTER_AUDIT_SINK`` or the
config's ``audit_sink``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from charter.domain import checkpoints as cp
from charter.domain.errors import BadInput
from charter.domain.text import iso_utc

KEY_FILE = "audit.key"
PUBLIC_FILE = "audit.pub"
_MIN_SECRET = 16


def _home() -> Path:
    from charter.settings import charter_home

    return charter_home()


def create_key(home: Path) -> Path:
    """Create ``home/audit.key`` (0600) and ``home/audit.pub`` unless the key exists."""
    path = home / KEY_FILE
    if path.exists():
        return path
    key = cp.Ed25519Key.generate()
    assert key.private is not None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.private.hex() + "\n")
    (home / PUBLIC_FILE).write_text(key.public.hex() + "\n", encoding="ascii")
    return path


def _hex_file(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read the audit key {path}: {exc}") from None


def signing_key(home: Path | None = None) -> cp.Key:
    """The key that signs checkpoints; refuses when there is none."""
    secret = os.environ.get("CHARTER_AUDIT_KEY")
    if secret:
        if len(secret) < _MIN_SECRET:
            raise BadInput(f"CHARTER_AUDIT_KEY must be at least {_MIN_SECRET} characters")
        return cp.HmacKey(secret.encode())
    path = (home or _home()) / KEY_FILE
    if not path.exists():
        raise BadInput(f"no audit key: set CHARTER_AUDIT_KEY or create {path} with `charter init`")
    try:
        return cp.Ed25519Key.from_private(_hex_file(path))
    except cp.KeyUnusable as exc:
        raise BadInput(f"{path}: {exc}") from None


def verifying_key(home: Path | None = None) -> cp.Key:
    """The key that verifies checkpoints (the signing key, or only its public half)."""
    if os.environ.get("CHARTER_AUDIT_KEY"):
        return signing_key(home)
    public = os.environ.get("CHARTER_AUDIT_PUBLIC_KEY")
    if public:
        try:
            return cp.Ed25519Key(public=bytes.fromhex(public.strip()))
        except ValueError:
            raise BadInput("CHARTER_AUDIT_PUBLIC_KEY must be hex") from None
    base = home or _home()
    if (base / KEY_FILE).exists():
        return signing_key(base)
    if (base / PUBLIC_FILE).exists():
        return cp.Ed25519Key(public=_hex_file(base / PUBLIC_FILE))
    raise BadInput(
        "no audit key to verify checkpoints with: set CHARTER_AUDIT_KEY, "
        f"CHARTER_AUDIT_PUBLIC_KEY or put the public key in {base / PUBLIC_FILE}"
    )


def configured_sink(home: Path | None = None) -> str | None:
    """The sink from ``CHARTER_AUDIT_SINK`` or the config's ``audit_sink``."""
    from charter.settings import read_config

    sink = os.environ.get("CHARTER_AUDIT_SINK") or read_config(home or _home()).get("audit_sink")
    return str(sink) if sink else None


def _is_url(sink: str) -> bool:
    return sink.startswith(("http://", "https://"))


def write(sink: str, checkpoint: cp.Checkpoint) -> None:
    """Append one checkpoint to the sink (a file, or POST to a webhook)."""
    line = checkpoint.to_json()
    if _is_url(sink):
        import httpx

        try:
            response = httpx.post(
                sink,
                content=line.encode(),
                headers={"content-type": "application/json"},
                timeout=10.0,
            )
        except httpx.HTTPError as exc:
            raise BadInput(
                f"the checkpoint sink refused the checkpoint: {type(exc).__name__}"
            ) from None
        if not 200 <= response.status_code < 300:
            raise BadInput(f"the checkpoint sink answered HTTP {response.status_code}")
        return
    path = Path(sink).expanduser()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(sink: str) -> list[str]:
    """The lines of a sink (a file, or GET from an http(s) URL)."""
    if _is_url(sink):
        import httpx

        try:
            response = httpx.get(sink, timeout=30.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BadInput(f"cannot read checkpoints from the sink: {type(exc).__name__}") from None
        text = response.text
    else:
        try:
            text = Path(sink).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot read checkpoints from {sink}: {exc.strerror}") from None
    return [line for line in text.splitlines() if line.strip()]


def checked(sink: str, key: cp.Key) -> tuple[list[cp.Checkpoint], list[str]]:
    """The sink's checkpoints signed by ``key``, and a problem for every other line."""
    good: list[cp.Checkpoint] = []
    problems: list[str] = []
    for number, line in enumerate(read(sink), start=1):
        try:
            checkpoint = cp.parse(line)
        except ValueError as exc:
            problems.append(f"checkpoint line {number} is unreadable: {exc}")
            continue
        why = cp.verify(key, checkpoint)
        if why is None:
            good.append(checkpoint)
        else:
            problems.append(f"checkpoint line {number} (event {checkpoint.seq}) {why}")
    return good, problems


def anchors_text(checkpoints: list[cp.Checkpoint]) -> str | None:
    """Anchors to check the chain against, as ``SEQ:HASH,...`` (at most 32)."""
    chosen = cp.spread(checkpoints)
    return ",".join(f"{c.seq}:{c.hash}" for c in chosen) or None


def sign_head(seq: int, head_hash: str, key: cp.Key, *, at: str | None = None) -> cp.Checkpoint:
    """Sign a head observed now (or at ``at``)."""
    from datetime import UTC, datetime

    return cp.sign(key, seq=seq, head_hash=head_hash, at=at or iso_utc(datetime.now(UTC)))


class WorkerCheckpoints:
    """The worker's hook: after each pass, checkpoint the head if it moved.

    Does nothing without a configured sink. A failure to write is reported, never fatal
    to monitoring: the next pass tries again.
    """

    def __init__(self, home: Path | None = None) -> None:
        self.sink = configured_sink(home)
        self.key = signing_key(home) if self.sink else None
        self.last: tuple[int, str] | None = None

    def __call__(self, charter: Any) -> dict[str, Any]:
        """Checkpoint the head; returns what was done, for the worker's summary."""
        if self.sink is None or self.key is None:
            return {}
        from charter.services import audit

        with charter.db.transaction(write=False) as session:
            head = audit.head(session)
        if head == self.last:
            return {"checkpoint": None}
        try:
            write(self.sink, sign_head(head[0], head[1], self.key))
        except BadInput as exc:
            return {"checkpoint_error": str(exc)}
        self.last = head
        return {"checkpoint": head[0]}
