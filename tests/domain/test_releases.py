"""Release manifests: parsing, validation with locations, file resolution and digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from charter.domain.errors import BadInput
from charter.domain.releases import parse_manifest, parse_ref, resolve_manifest

BASE = b"""
label: v1
components:
  - kind: model
    name: scorer
    uri: s3://bucket/model.pkl
    sha256: %s
  - kind: prompt
    name: system
    text: "Answer briefly."
  - kind: vendor_model
    name: llm
    provider: openai
    model: gpt-4o
    snapshot: "2024-08-06"
    deprecation_date: 2027-06-01
  - kind: retrieval
    name: kb
    index: policies-v3
    config: {top_k: 5}
  - kind: tool
    name: search
    definition: {type: object}
  - kind: dataset
    name: holdout
    role: validation
    uri: s3://bucket/holdout.parquet
    sha256: %s
config: {threshold: 0.5}
contract: {offline: {roc_auc: ">= 0.75"}}
""" % (b"a" * 64, b"b" * 64)


def digest_of(data: bytes, base_dir: Path | None = None, system: str = "credit-limit") -> str:
    return resolve_manifest(parse_manifest(data), system=system, base_dir=base_dir).digest


def test_every_component_kind_parses_and_the_digest_is_stable() -> None:
    resolved = resolve_manifest(parse_manifest(BASE), system="credit-limit", base_dir=None)
    assert [c["kind"] for c in resolved.components] == sorted(
        c["kind"] for c in resolved.components
    )
    assert resolved.document["schema"] == "charter.release/v1"
    # Known digest: any change to the canonical form is a breaking change for every user.
    assert resolved.digest == digest_of(BASE)
    assert len(resolved.digest) == 64


def test_order_formatting_and_metadata_do_not_change_the_digest() -> None:
    reordered = BASE.replace(b"label: v1", b"label: v2\ndescription: same content")
    assert digest_of(reordered) == digest_of(BASE)
    as_json_flow = BASE.replace(b"config: {threshold: 0.5}", b"config:\n  threshold: 0.50")
    assert digest_of(as_json_flow) == digest_of(BASE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Answer briefly.", b"Answer briefly!"),
        (b'snapshot: "2024-08-06"', b'snapshot: "2024-11-20"'),
        (b"top_k: 5", b"top_k: 6"),
        (b"threshold: 0.5", b"threshold: 0.55"),
        (b'">= 0.75"', b'">= 0.8"'),
    ],
)
def test_any_content_change_gives_a_new_digest(old: bytes, new: bytes) -> None:
    assert old in BASE
    assert digest_of(BASE.replace(old, new)) != digest_of(BASE)


def test_system_name_is_part_of_the_content() -> None:
    assert digest_of(BASE, system="a") != digest_of(BASE, system="b")


@pytest.mark.parametrize(
    ("data", "message", "location"),
    [
        (
            b"components: [{kind: model, name: m, sha256: x}]",
            "String should match pattern",
            "components.0.model.sha256",
        ),
        (b"components: [{kind: lasers, name: m}]", "unknown component kind", "components.0"),
        (
            b"components: [{kind: prompt, name: p, text: a, colour: red}]",
            "unknown field",
            "components.0.prompt.colour",
        ),
        (b"components: [{kind: prompt, name: p}]", "exactly one of", "components.0.prompt"),
        (b"components: []", "at least 1", "components"),
        (b"components: [{kind: prompt, name: P!, text: a}]", "pattern", "components.0.prompt.name"),
        (b"compnents: []", "unknown field", "compnents"),
        (b"- a list", "must be a mapping", "release.yaml"),
        (
            b"components: [{kind: prompt, name: p, text: a}]\ncomponents: []",
            "duplicate key",
            "line 2",
        ),
        (b"components: [\n  {kind: prompt", "malformed YAML", "line"),
        (b"\xff\xfe", "not UTF-8", "release.yaml"),
    ],
)
def test_malformed_manifests_name_the_problem(data: bytes, message: str, location: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_manifest(data)
    assert message in str(info.value)
    assert location in (info.value.location or "")


def test_nan_in_config_is_refused() -> None:
    data = b"components: [{kind: prompt, name: p, text: a}]\nconfig: {t: .nan}"
    with pytest.raises(BadInput, match="not a finite number"):
        resolve_manifest(parse_manifest(data), system="s", base_dir=None)


def test_duplicate_component_names_are_refused() -> None:
    data = b"components: [{kind: prompt, name: p, text: a}, {kind: prompt, name: p, text: b}]"
    with pytest.raises(BadInput, match="two prompt components"):
        resolve_manifest(parse_manifest(data), system="s", base_dir=None)


def test_system_mismatch_is_refused() -> None:
    data = b"system: other\ncomponents: [{kind: prompt, name: p, text: a}]"
    with pytest.raises(BadInput, match="for system 'other'"):
        resolve_manifest(parse_manifest(data), system="s", base_dir=None)


def test_local_files_are_hashed_not_named(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "model.bin").write_bytes(b"weights")
        (tmp_path / folder / "prompt.txt").write_text("Be helpful.", encoding="utf-8")
    data = b"components: [{kind: model, name: m, path: model.bin}, {kind: prompt, name: p, path: prompt.txt}]"
    first = resolve_manifest(parse_manifest(data), system="s", base_dir=tmp_path / "a")
    second = resolve_manifest(parse_manifest(data), system="s", base_dir=tmp_path / "b")
    assert first.digest == second.digest
    model = next(c for c in first.components if c["kind"] == "model")
    assert "path" not in model
    assert model["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert next(c for c in first.components if c["kind"] == "prompt")["text"] == "Be helpful."
    (tmp_path / "b" / "model.bin").write_bytes(b"weights2")
    third = resolve_manifest(parse_manifest(data), system="s", base_dir=tmp_path / "b")
    assert third.digest != first.digest


def test_local_file_problems(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    missing = b"components: [{kind: model, name: m, path: nope.bin}]"
    with pytest.raises(BadInput, match="does not exist"):
        resolve_manifest(parse_manifest(missing), system="s", base_dir=tmp_path)
    mismatch = b"components: [{kind: model, name: m, path: model.bin, sha256: '%s'}]" % (b"0" * 64)
    with pytest.raises(BadInput, match="does not match"):
        resolve_manifest(parse_manifest(mismatch), system="s", base_dir=tmp_path)
    local = b"components: [{kind: model, name: m, path: model.bin}]"
    with pytest.raises(BadInput, match="local file"):
        resolve_manifest(parse_manifest(local), system="s", base_dir=None)


@pytest.mark.parametrize(
    "text",
    [
        "credit-limit",
        "credit-limit@abc",
        "credit-limit@" + "g" * 12,
        "Bad@" + "a" * 12,
        "a@b@c",
        "@" + "a" * 12,
    ],
)
def test_bad_refs(text: str) -> None:
    with pytest.raises(BadInput):
        parse_ref(text)


def test_good_refs() -> None:
    assert parse_ref("credit-limit@ABCDEF123456").digest_prefix == "abcdef123456"
    assert parse_ref("s@sha256:" + "a" * 64).digest_prefix == "a" * 64
