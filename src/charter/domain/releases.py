"""Release manifests: parsing ``release.yaml``, resolving files, and the content digest.

A release's digest is the SHA-256 of the canonical JSON (RFC 8785) of this document::

    {"schema": "charter.release/v1", "system": NAME,
     "components": [...sorted by (kind, name)...], "config": {...}, "contract": {...}}

Components that point at local files are resolved first: a model or dataset ``path`` is
replaced by the file's SHA-256 (the path itself is not content and is kept out of the
digest), a prompt ``path`` by the prompt text. ``label`` and ``description`` are metadata
outside the digest. The same content therefore gives the same digest on any machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from charter.domain.bounds import check_value
from charter.domain.canonical import canonical_json, content_digest, sha256_hex
from charter.domain.errors import BadInput
from charter.domain.text import SLUG_PATTERN, load_yaml_document

RELEASE_SCHEMA = "charter.release/v1"
COMPONENT_KINDS = ("model", "prompt", "retrieval", "tool", "vendor_model", "dataset")
MIN_PREFIX = 12
MAX_PROMPT_BYTES = 1024 * 1024
#: Largest model or dataset file hashed into a release (its content is not stored).
MAX_ARTIFACT_BYTES = 64 * 1024**3

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_HEX = re.compile(r"^[0-9a-f]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ModelComponent(_Strict):
    """A model artifact: its SHA-256 (with a URI where it lives), or a local path Charter hashes."""

    kind: Literal["model"]
    name: Slug
    uri: str | None = None
    sha256: Sha256 | None = None
    path: str | None = None
    framework: str | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _source(self) -> ModelComponent:
        if self.path is None and self.sha256 is None:
            raise ValueError("a model needs `sha256` (usually with `uri`), or a local `path`")
        return self


class DatasetComponent(_Strict):
    """A data set (training, validation...): a URI with its SHA-256, or a local path."""

    kind: Literal["dataset"]
    name: Slug
    role: str | None = None
    uri: str | None = None
    sha256: Sha256 | None = None
    path: str | None = None

    @model_validator(mode="after")
    def _source(self) -> DatasetComponent:
        if self.path is None and self.sha256 is None:
            raise ValueError("a dataset needs `sha256` (usually with `uri`), or a local `path`")
        return self


class PromptComponent(_Strict):
    """A prompt template, inline (``text``) or from a file (``path``)."""

    kind: Literal["prompt"]
    name: Slug
    text: str | None = None
    path: str | None = None
    template_format: str | None = None

    @model_validator(mode="after")
    def _source(self) -> PromptComponent:
        if (self.text is None) == (self.path is None):
            raise ValueError("a prompt needs exactly one of `text` or `path`")
        return self


class RetrievalComponent(_Strict):
    """A retrieval configuration: index, embedding model, chunking, top-k..."""

    kind: Literal["retrieval"]
    name: Slug
    index: str | None = None
    embedding_model: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class ToolComponent(_Strict):
    """A tool the system may call, with its definition (e.g. a JSON schema)."""

    kind: Literal["tool"]
    name: Slug
    version: str | None = None
    definition: dict[str, Any] = Field(default_factory=dict)


class VendorModelComponent(_Strict):
    """A hosted model: provider, model id, pinned snapshot and optional deprecation date."""

    kind: Literal["vendor_model"]
    name: Slug
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    snapshot: str | None = None
    deprecation_date: date | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


Component = Annotated[
    ModelComponent
    | DatasetComponent
    | PromptComponent
    | RetrievalComponent
    | ToolComponent
    | VendorModelComponent,
    Field(discriminator="kind"),
]


class ReleaseManifest(_Strict):
    """The ``release.yaml`` file as written by a user."""

    system: Slug | None = None
    label: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=10_000)
    components: list[Component] = Field(min_length=1, max_length=500)
    config: dict[str, Any] = Field(default_factory=dict)
    contract: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        # Every caller (a file, an API body, the SDK) gets the same bounds before anything
        # is stored: a deep ``config`` once made every later read of the system fail.
        check_value(data, "manifest")
        return data


@dataclass(frozen=True)
class ResolvedRelease:
    """A manifest with local files resolved: the canonical document and its digest."""

    system: str
    digest: str
    document: dict[str, Any]
    canonical: str
    label: str | None
    description: str

    @property
    def components(self) -> list[dict[str, Any]]:
        """The resolved components in canonical order."""
        return list(self.document["components"])


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "union_tag_invalid":
        message = f"unknown component kind; valid kinds: {', '.join(COMPONENT_KINDS)}"
    return f"{loc}: {message}" if loc else message


def format_validation_error(exc: ValidationError, source: str) -> BadInput:
    """Turn a pydantic error into one BadInput naming each problem's location.

    Unknown fields come first: a misspelt field usually also makes a required one
    "missing", and the misspelling is the thing to fix.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first, rest = errors[0], errors[1:4]
    loc = ".".join(str(part) for part in first["loc"])
    message = _describe(first).removeprefix(f"{loc}: ") if loc else _describe(first)
    if rest:
        message += " (also: " + "; ".join(_describe(e) for e in rest) + ")"
    return BadInput(message, location=f"{source}: {loc}" if loc else source)


def parse_manifest(data: bytes, source: str = "release.yaml") -> ReleaseManifest:
    """Parse and validate a release manifest; every problem names its location."""
    raw = load_yaml_document(data, source)
    if not isinstance(raw, dict):
        raise BadInput("a release manifest must be a mapping", location=source)
    try:
        return ReleaseManifest.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def confined_file(
    path_text: str,
    base_dir: Path,
    what: str,
    roots: Sequence[Path] = (),
    *,
    anchor: str = "manifest",
) -> Path:
    """The file a ``path`` in a manifest (or pack) names, confined to where it may read.

    A relative path must stay inside the ``anchor``'s directory (no ``..``, no symlink that
    leads out); an absolute one must lie inside one of ``roots`` (given explicitly, e.g.
    ``--allow-root /models``). Only regular files are read: a manifest must not be able to
    carry ``/proc/self/environ`` (which holds the caller's token) or a device into a release.
    """
    if "\x00" in path_text:
        raise BadInput(f"{what} path contains a NUL character")
    raw = Path(path_text)
    if ".." in raw.parts:
        raise BadInput(f"{what} path {path_text!r} may not contain '..'")
    base = base_dir.resolve()
    allowed = [Path(root).resolve() for root in roots]
    if raw.is_absolute():
        if not any(_inside(Path(os.path.normpath(raw)), root) for root in allowed):
            hint = ""
            if anchor == "manifest":
                hint = ", or allow its directory as a root (--allow-root)"
            raise BadInput(
                f"{what} path {path_text!r} is absolute: use a path relative to the {anchor}" + hint
            )
        candidate = raw
    else:
        candidate = base / raw
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise BadInput(f"{what} file {path_text!r} does not exist or is not a file") from None
    if not any(_inside(resolved, root) for root in [base, *allowed]):
        raise BadInput(
            f"{what} path {path_text!r} leads outside the {anchor}'s directory (a symlink?)"
        )
    try:
        info = resolved.stat()
    except OSError:
        raise BadInput(f"{what} file {path_text!r} cannot be read") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"{what} file {path_text!r} is not a regular file")
    if info.st_size > MAX_ARTIFACT_BYTES:
        raise BadInput(f"{what} file {path_text!r} exceeds {MAX_ARTIFACT_BYTES} bytes")
    return resolved


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _resolve_component(
    component: BaseModel, base_dir: Path | None, roots: Sequence[Path] = ()
) -> dict[str, Any]:
    spec = component.model_dump(mode="json", exclude_none=True)
    path_text = spec.pop("path", None)
    if path_text is None:
        return spec
    if base_dir is None:
        raise BadInput(
            f"component {spec['name']!r} refers to a local file; send a manifest with the "
            "file already resolved (`sha256` for artifacts, `text` for prompts)"
        )
    path = confined_file(path_text, base_dir, f"{spec['kind']} {spec['name']!r}", roots)
    if spec["kind"] == "prompt":
        if path.stat().st_size > MAX_PROMPT_BYTES:
            raise BadInput(f"prompt file {path_text!r} exceeds {MAX_PROMPT_BYTES} bytes")
        try:
            spec["text"] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"prompt file {path_text!r} is not UTF-8 text") from None
        return spec
    actual = _file_sha256(path)
    declared = spec.get("sha256")
    if declared is not None and declared != actual:
        raise BadInput(
            f"{spec['kind']} {spec['name']!r}: declared sha256 {declared[:12]}... does not "
            f"match the file's {actual[:12]}..."
        )
    spec["sha256"] = actual
    return spec


def resolve_manifest(
    manifest: ReleaseManifest,
    *,
    system: str,
    base_dir: Path | None,
    roots: Sequence[Path] = (),
) -> ResolvedRelease:
    """Resolve local files and compute the release's canonical document and digest.

    ``base_dir`` is where relative paths are read from, and the only place they may lead;
    ``roots`` are further directories absolute paths may name. None (a server) refuses
    manifests that still point at local files: a server never opens a client's paths.
    """
    if manifest.system is not None and manifest.system != system:
        raise BadInput(
            f"the manifest is for system {manifest.system!r}, not {system!r}", location="system"
        )
    components = [_resolve_component(c, base_dir, roots) for c in manifest.components]
    seen: set[tuple[str, str]] = set()
    for spec in components:
        key = (spec["kind"], spec["name"])
        if key in seen:
            raise BadInput(f"two {key[0]} components are named {key[1]!r}", location="components")
        seen.add(key)
    components.sort(key=lambda spec: (spec["kind"], spec["name"]))
    document = {
        "schema": RELEASE_SCHEMA,
        "system": system,
        "components": components,
        "config": manifest.config,
        "contract": manifest.contract,
    }
    canonical = canonical_json(document)
    return ResolvedRelease(
        system=system,
        digest=sha256_hex(canonical.encode("utf-8")),
        document=document,
        canonical=canonical,
        label=manifest.label,
        description=manifest.description,
    )


def component_digest(spec: dict[str, Any]) -> str:
    """Return the content digest of one resolved component."""
    return content_digest(spec)


@dataclass(frozen=True)
class ReleaseRef:
    """A parsed ``SYSTEM@DIGEST`` reference; the digest may be a unique prefix."""

    system: str
    digest_prefix: str

    def __str__(self) -> str:
        return f"{self.system}@{self.digest_prefix}"


def parse_ref(text: str) -> ReleaseRef:
    """Parse ``SYSTEM@DIGEST`` (digest: full SHA-256 or a prefix of at least 12 hex chars)."""
    if not isinstance(text, str) or text.count("@") != 1:
        raise BadInput(f"invalid release reference {text!r}: expected SYSTEM@DIGEST")
    system, digest = text.split("@")
    if digest.startswith("sha256:"):
        digest = digest[len("sha256:") :]
    digest = digest.lower()
    if not re.match(SLUG_PATTERN, system):
        raise BadInput(f"invalid system name {system!r} in release reference {text!r}")
    if not _HEX.match(digest) or not MIN_PREFIX <= len(digest) <= 64:
        raise BadInput(
            f"invalid digest {digest!r} in {text!r}: give at least {MIN_PREFIX} hex characters"
        )
    return ReleaseRef(system=system, digest_prefix=digest)
