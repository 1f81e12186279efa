"""Evidence packs: writing the archive, and verifying one offline with no database.

A pack is a zip of UTF-8 files with ``manifest.json`` at its root listing the SHA-256 and
size of every other member. :func:`verify_pack` needs nothing but the file (and a key to
check a signed checkpoint): it checks that the manifest matches the members (naming each
member changed, added or removed), recomputes every audit event's hash and the chain's
links up to the head, checks the checkpoint's signature and that the chain carries its
hash, and compares the governed records in the pack with the audit events that recorded
them, so a row edited in the database before export is named too.

Reading is defensive: the archive is never extracted to disk; names that are absolute,
climb out (``..``), or repeat are refused; members are read through a counter that stops
at a size limit whatever the zip headers claim (zip bombs); a corrupt or truncated
archive is reported, not raised.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from charter.domain.audit import GENESIS_HASH, event_hash
from charter.domain.canonical import canonical_bytes

PACK_SCHEMA = "charter.evidence-pack/1"
MANIFEST = "manifest.json"
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
#: A member that inflates more than this many times its compressed size is refused: JSON
#: compresses ~10-20x, a zip bomb thousands of times.
MAX_RATIO = 1000
#: The fields a checkpoint's signature covers (``charter.domain.checkpoints``' format).
CHECKPOINT_SIGNED = ("v", "seq", "hash", "at", "alg", "key_id")


class PackError(ValueError):
    """The archive cannot be read as a pack at all (corrupt, truncated, unsafe)."""


@dataclass
class PackReport:
    """What verifying a pack found; ``ok`` only when nothing is wrong."""

    members: int = 0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chain: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no member differs and no check failed."""
        return not (self.changed or self.added or self.removed or self.problems)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what ``charter evidence verify --format json`` prints)."""
        return {
            "ok": self.ok,
            "members": self.members,
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "problems": self.problems,
            "warnings": self.warnings,
            "chain": self.chain,
        }


# --- writing ------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def manifest_of(members: Mapping[str, bytes], header: Mapping[str, Any]) -> bytes:
    """The manifest listing every member's SHA-256 and size, with ``header`` fields."""
    listed = {
        name: {"sha256": sha256_hex(data), "bytes": len(data)}
        for name, data in sorted(members.items())
    }
    document = {"schema": PACK_SCHEMA, **header, "members": listed}
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False).encode()


def write_pack(path: Path, members: Mapping[str, bytes], header: Mapping[str, Any]) -> str:
    """Write the archive (manifest first, members in name order); return the manifest's
    SHA-256. The file appears complete or not at all: it is written beside the target and
    renamed over it, and nothing else is written anywhere."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as handle:
            digest = _zip(handle, members, header)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return digest


def pack_bytes(members: Mapping[str, bytes], header: Mapping[str, Any]) -> bytes:
    """The archive as bytes (what the API sends)."""
    buffer = io.BytesIO()
    _zip(buffer, members, header)
    return buffer.getvalue()


def _zip(target: Any, members: Mapping[str, bytes], header: Mapping[str, Any]) -> str:
    for name in members:
        check_name(name)
    manifest = manifest_of(members, header)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_info(MANIFEST), manifest)
        for name in sorted(members):
            archive.writestr(_info(name), members[name])
    return sha256_hex(manifest)


def _info(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp: the same records export to the same bytes.
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def check_name(name: str) -> str:
    """Refuse member names that could land outside an extraction directory."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise PackError(f"unsafe member name {name!r}")
    parts = PurePosixPath(name).parts
    if ".." in parts or (parts and ":" in parts[0]) or name.endswith("/"):
        raise PackError(f"unsafe member name {name!r}: outside the archive or a directory")
    return name


# --- reading ------------------------------------------------------------------------------


def read_members(source: Path | bytes) -> dict[str, bytes]:
    """Every member of the archive, read safely into memory; PackError when unreadable."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise PackError(f"no such file: {source!s}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PackError(f"not a readable zip archive (corrupt or truncated): {exc}") from None
    members: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PackError(f"the archive has {len(infos)} members (at most {MAX_MEMBERS})")
        for info in infos:
            name = check_name(info.filename)
            if name in members:
                raise PackError(f"member {name!r} appears twice")
            if info.file_size > MAX_MEMBER_BYTES:
                raise PackError(f"member {name!r} is larger than {MAX_MEMBER_BYTES} bytes")
            data = _read_bounded(archive, info, MAX_TOTAL_BYTES - total)
            total += len(data)
            members[name] = data
    return members


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read one member, stopping as soon as it inflates past what is allowed.

    The header's size is not trusted: the limit is enforced on the bytes actually
    inflated, and so is the ratio to the compressed size.
    """
    limit = min(MAX_MEMBER_BYTES, budget)
    ratio_limit = max(info.compress_size, 1) * MAX_RATIO
    chunks = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise PackError(f"member {info.filename!r} inflates past {limit} bytes")
                if size > ratio_limit and size > (1 << 20):
                    raise PackError(
                        f"member {info.filename!r} inflates more than {MAX_RATIO}x: a zip bomb?"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"member {info.filename!r} is corrupt or truncated: {exc}") from None
    return b"".join(chunks)


# --- verifying ----------------------------------------------------------------------------


def verify_pack(source: Path | bytes, *, key: Any = None) -> PackReport:
    """Verify an evidence pack offline; ``key`` (with ``alg``, ``key_id``, ``verify``)
    checks the checkpoint's signature. Unreadable archives raise :class:`PackError`."""
    members = read_members(source)
    report = PackReport()
    if MANIFEST not in members:
        raise PackError("the archive has no manifest.json: not an evidence pack")
    try:
        manifest = json.loads(members.pop(MANIFEST))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != PACK_SCHEMA:
        raise PackError(f"manifest.json is not a {PACK_SCHEMA} manifest")
    listed: dict[str, Any] = manifest.get("members") or {}
    report.members = len(members)
    for name in sorted(set(listed) - set(members)):
        report.removed.append(name)
    for name in sorted(set(members) - set(listed)):
        report.added.append(name)
    for name in sorted(set(members) & set(listed)):
        entry = listed[name]
        if not isinstance(entry, dict) or entry.get("sha256") != sha256_hex(members[name]):
            report.changed.append(name)
    # Records are only judged from members that are listed and intact: a changed member
    # is already named, and its content says nothing trustworthy.
    intact = {n: d for n, d in members.items() if n in listed and n not in report.changed}
    chain = _check_chain(intact, report, key)
    if chain is not None:
        from charter.domain.pack_records import check_records

        check_records(intact, chain, report)
    return report


def json_member(members: Mapping[str, bytes], name: str, report: PackReport) -> Any:
    if name not in members:
        return None
    try:
        return json.loads(members[name])
    except (ValueError, UnicodeDecodeError):
        report.problems.append(f"{name} is not valid JSON")
        return None


def _jsonl(members: Mapping[str, bytes], name: str, report: PackReport) -> list[Any] | None:
    if name not in members:
        return None
    try:
        return [json.loads(line) for line in members[name].decode().splitlines() if line]
    except (ValueError, UnicodeDecodeError):
        report.problems.append(f"{name} is not valid JSON lines")
        return None


def _check_chain(
    members: Mapping[str, bytes], report: PackReport, key: Any
) -> dict[int, dict[str, Any]] | None:
    """Events' hashes, links, head and checkpoint; the events by seq when they hold."""
    events = _jsonl(members, "audit/events.jsonl", report)
    links = _jsonl(members, "audit/links.jsonl", report)
    head = json_member(members, "audit/head.json", report)
    if events is None or links is None or head is None:
        report.problems.append("the pack lacks its audit chain (audit/events, links or head)")
        return None
    report.chain = {"events": len(events), "links": len(links), "head": head}
    by_seq: dict[int, list[Any]] = {}
    previous: list[Any] | None = None
    for link in links:
        if not (isinstance(link, list) and len(link) == 3):
            report.problems.append("audit/links.jsonl holds a malformed link")
            return None
        seq, prev_hash, _ = link
        if previous is None:
            if seq == 1 and prev_hash != GENESIS_HASH:
                report.problems.append("the first event of the chain does not start at genesis")
        elif seq != previous[0] + 1:
            report.problems.append(f"audit link {seq} follows {previous[0]}: links are missing")
        elif prev_hash != previous[2]:
            report.problems.append(f"audit link {seq} does not chain to event {previous[0]}")
        by_seq[seq] = link
        previous = link
    if previous is not None and (head.get("seq") != previous[0] or head.get("hash") != previous[2]):
        report.problems.append("audit/head.json is not the last link of the chain")
    found: dict[int, dict[str, Any]] = {}
    for event in events:
        try:
            computed = event_hash(
                seq=event["seq"],
                at=event["at"],
                actor=event["actor"],
                action=event["action"],
                entity_type=event["entity_type"],
                entity_id=event["entity_id"],
                payload=event["payload"],
                prev_hash=event["prev_hash"],
            )
        except (KeyError, TypeError):
            report.problems.append("audit/events.jsonl holds a malformed event")
            continue
        seq = event["seq"]
        if computed != event["hash"]:
            report.problems.append(
                f"audit event {seq} ({event['action']}): its hash does not match its content"
            )
        link = by_seq.get(seq)
        if link is None or link[1] != event["prev_hash"] or link[2] != event["hash"]:
            report.problems.append(f"audit event {seq} is not the chain's event {seq}")
        found[seq] = event
    _check_checkpoint(members, by_seq, report, key)
    return found


def checkpoint_message(fields: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return canonical_bytes({k: fields.get(k) for k in CHECKPOINT_SIGNED})


def _check_checkpoint(
    members: Mapping[str, bytes], links: Mapping[int, list[Any]], report: PackReport, key: Any
) -> None:
    checkpoint = json_member(members, "audit/checkpoint.json", report)
    if checkpoint is None:
        report.warnings.append("no signed checkpoint in the pack: the head is not anchored")
        report.chain["checkpoint"] = None
        return
    seq = checkpoint.get("seq")
    report.chain["checkpoint"] = {"seq": seq, "at": checkpoint.get("at")}
    last = max(links) if links else 0
    if not isinstance(seq, int) or seq > last:
        report.problems.append(
            f"the checkpoint signs event {seq} but the pack's chain ends at {last}: "
            "the chain was truncated"
        )
    elif seq in links and links[seq][2] != checkpoint.get("hash"):
        report.problems.append(
            f"the chain's event {seq} differs from the signed checkpoint: the chain was rewritten"
        )
    elif seq not in links:
        report.warnings.append(f"the checkpoint (event {seq}) precedes the pack's links")
    if key is None:
        report.warnings.append("checkpoint signature not checked: give --public-key or --key")
        return
    if checkpoint.get("alg") != key.alg or checkpoint.get("key_id") != key.key_id:
        report.problems.append(
            f"the checkpoint was signed with another key ({checkpoint.get('alg')} "
            f"{checkpoint.get('key_id')}, expected {key.alg} {key.key_id})"
        )
    elif not key.verify(checkpoint_message(checkpoint), str(checkpoint.get("sig", ""))):
        report.problems.append("the checkpoint's signature does not verify: forged or altered")
    else:
        report.chain["checkpoint"]["signature"] = "valid"


# --- keys that verify checkpoints ---------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key: verifies checkpoints, cannot sign one.

    Same ``alg``/``key_id``/``verify`` as the checkpoint keys of the audit feature, so a
    pack verifies with the public key an auditor was given (``audit.pub``).
    """

    public: bytes
    alg: str = "ed25519"

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of the public key's SHA-256."""
        return hashlib.sha256(self.public).hexdigest()[:16]

    def verify(self, message: bytes, signature: str) -> bool:
        """Check the hex signature of ``message``."""
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
class SharedKey:
    """An HMAC-SHA256 shared secret (the key file of an installation without Ed25519)."""

    secret: bytes
    alg: str = "hmac-sha256"

    @property
    def key_id(self) -> str:
        """A fingerprint naming the key (a hash of a hash of the secret)."""
        return hashlib.sha256(b"charter-audit-key-id\n" + self.secret).hexdigest()[:16]

    def verify(self, message: bytes, signature: str) -> bool:
        """Compare in constant time."""
        import hmac

        expected = hmac.new(self.secret, message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


def load_key(public_key: str | None = None, key_file: Path | None = None) -> Any:
    """The key to check a checkpoint with: an Ed25519 public key (hex, or a file holding
    it), or a key file (an Ed25519 private key in hex, whose public half is used, or an
    HMAC secret)."""
    if public_key:
        path = Path(public_key)
        text = path.read_text(encoding="ascii").strip() if path.is_file() else public_key
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise PackError("the public key is not hex (nor a file holding hex)") from None
        if len(raw) != 32:
            raise PackError("an Ed25519 public key is 32 bytes (64 hex digits)")
        return PublicKey(raw)
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PackError(f"cannot read the key file {key_file}: {exc.strerror}") from None
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if len(raw) == 32:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            private = Ed25519PrivateKey.from_private_bytes(raw)
            return PublicKey(private.public_key().public_bytes_raw())
        return SharedKey(text.encode())
    return None
