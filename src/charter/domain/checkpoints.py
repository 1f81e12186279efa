"""Signed checkpoints of the audit chain: its head, sequence number and time.

A checkpoint is one JSON line written outside the database (a file opened for appending,
or a webhook)::

    {"v": 1, "seq": N, "hash": H, "at": T, "alg": A, "key_id": K, "sig": S}

``sig`` signs the canonical JSON of every other field with a key the database never
holds: Ed25519 (the private key signs; the public key alone verifies, so an auditor can
check without being able to forge) or HMAC-SHA256 with a shared secret. Somebody who can
rewrite the database can re-hash the chain, but cannot sign a checkpoint for it: the
chain must still carry each checkpoint's hash at its sequence number, which catches
truncation (the tail or every event deleted) and a chain recomputed after an edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Protocol

from charter.domain.canonical import canonical_bytes

VERSION = 1
_SIGNED = ("v", "seq", "hash", "at", "alg", "key_id")


class Key(Protocol):
    """A checkpoint key: signs when it holds the private part, verifies always."""

    @property
    def alg(self) -> str:
        """The algorithm's name, as written in checkpoints."""

    @property
    def key_id(self) -> str:
        """A fingerprint of the key, safe to show."""

    def sign(self, message: bytes) -> str:
        """Return the hex signature of ``message`` (refused without a private part)."""

    def verify(self, message: bytes, signature: str) -> bool:
        """True when ``signature`` is this key's signature of ``message``."""


class KeyUnusable(ValueError):
    """A key that cannot be used as asked (no private part to sign with, bad format)."""


@dataclass(frozen=True)
class HmacKey:
    """HMAC-SHA256 with a shared secret (``CHARTER_AUDIT_KEY``)."""

    secret: bytes
    alg: str = "hmac-sha256"

    @property
    def key_id(self) -> str:
        """A fingerprint naming the key, safe to show (a hash of a hash of the secret)."""
        return hashlib.sha256(b"charter-audit-key-id\n" + self.secret).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        """Return the hex HMAC of ``message``."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        """Compare in constant time."""
        return hmac.compare_digest(self.sign(message), signature)


@dataclass(frozen=True)
class Ed25519Key:
    """An Ed25519 key pair, or only its public half (verify only)."""

    public: bytes
    private: bytes | None = None
    alg: str = "ed25519"

    @classmethod
    def generate(cls) -> Ed25519Key:
        """A new random key pair."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls.from_private(Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_private(cls, raw: bytes) -> Ed25519Key:
        """The pair of a raw 32-byte private key."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if len(raw) != 32:
            raise KeyUnusable("an Ed25519 private key is 32 bytes (64 hex digits)")
        private = Ed25519PrivateKey.from_private_bytes(raw)
        return cls(public=private.public_key().public_bytes_raw(), private=raw)

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of the public key's SHA-256."""
        return hashlib.sha256(self.public).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        """Return the hex Ed25519 signature of ``message``."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if self.private is None:
            raise KeyUnusable("only the public key is available: it verifies but cannot sign")
        return Ed25519PrivateKey.from_private_bytes(self.private).sign(message).hex()

    def verify(self, message: bytes, signature: str) -> bool:
        """Check the signature with the public key."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                bytes.fromhex(signature), message
            )
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Checkpoint:
    """One signed head of the chain."""

    seq: int
    hash: str
    at: str
    alg: str
    key_id: str
    sig: str

    def to_json(self) -> str:
        """The checkpoint as one line of JSON (no newline)."""
        return json.dumps(
            {"v": VERSION, **{k: getattr(self, k) for k in _SIGNED[1:]}, "sig": self.sig},
            separators=(",", ":"),
        )


def _message(fields: dict[str, Any]) -> bytes:
    return canonical_bytes({k: fields[k] for k in _SIGNED})


def sign(key: Key, *, seq: int, head_hash: str, at: str) -> Checkpoint:
    """Sign the chain head ``(seq, head_hash)`` observed at time ``at``."""
    fields = {"v": VERSION, "seq": seq, "hash": head_hash, "at": at}
    fields.update(alg=key.alg, key_id=key.key_id)
    return Checkpoint(seq, head_hash, at, key.alg, key.key_id, key.sign(_message(fields)))


def parse(line: str) -> Checkpoint:
    """Read one checkpoint line; raise ValueError naming what is wrong with it."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise ValueError(f"not a version {VERSION} checkpoint")
    seq, head_hash = data.get("seq"), data.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a non-negative integer")
    if not isinstance(head_hash, str) or len(head_hash) != 64:
        raise ValueError("hash must be 64 hex digits")
    text = {k: data.get(k) for k in ("at", "alg", "key_id", "sig")}
    if not all(isinstance(v, str) for v in text.values()):
        raise ValueError("at, alg, key_id and sig must be strings")
    return Checkpoint(seq, head_hash, text["at"], text["alg"], text["key_id"], text["sig"])  # type: ignore[arg-type]


def verify(key: Key, checkpoint: Checkpoint) -> str | None:
    """None when the checkpoint is signed by ``key``, else why it is not trusted."""
    if checkpoint.alg != key.alg or checkpoint.key_id != key.key_id:
        return (
            f"signed with another key ({checkpoint.alg} {checkpoint.key_id}, "
            f"expected {key.alg} {key.key_id})"
        )
    fields = {"v": VERSION, "seq": checkpoint.seq, "hash": checkpoint.hash, "at": checkpoint.at}
    fields.update(alg=checkpoint.alg, key_id=checkpoint.key_id)
    if not key.verify(_message(fields), checkpoint.sig):
        return "the signature does not verify: the checkpoint was forged or altered"
    return None


def spread(checkpoints: list[Checkpoint], limit: int = 32) -> list[Checkpoint]:
    """At most ``limit`` checkpoints to check the chain against: the newest (which alone
    catches truncation and any rewrite before it) and older ones spaced out towards the
    first, which narrow down where a rewrite began."""
    ordered = sorted({c.seq: c for c in checkpoints}.values(), key=lambda c: c.seq)
    if len(ordered) <= limit:
        return ordered
    picked: dict[int, Checkpoint] = {}
    index, step = len(ordered) - 1, 1
    while index >= 0 and len(picked) < limit - 1:
        picked[index] = ordered[index]
        index -= step
        step *= 2
    picked[0] = ordered[0]
    return [picked[i] for i in sorted(picked)]
