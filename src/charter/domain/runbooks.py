"""Runbooks: what the person paged does about each type of alert (pure, no database).

A policy pack's ``runbooks`` section maps an alert type (the monitor that raised the alert:
``drift``, ``performance``, ..., and ``attestation`` for an unapproved configuration live)
to a :class:`Runbook`: a title, Markdown steps, the ``charter`` commands to run and an
optional link. ``{system}``, ``{env}``, ``{release}`` and the other :data:`PLACEHOLDERS`
are filled when the alert opens, and the alert keeps the filled runbook, so a later pack
does not rewrite what the person paged was told.

Steps may live in a Markdown file next to the pack (``path: runbooks/drift.md``). The
server never opens a client's files, so :func:`bundle_runbooks` (run by the CLI where
the pack is) reads each file, confined to the pack's directory, and puts its text in
place of the path before the pack is sent.
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from charter.domain.contracts.metrics import MONITORS
from charter.domain.errors import BadInput

#: The monitor an unapproved-configuration alert carries (``services.attestation``).
ATTESTATION = "attestation"
#: Every alert type the code can raise: each monitor the worker runs, and attestation.
ALERT_TYPES: tuple[str, ...] = (*MONITORS, ATTESTATION)
#: What each placeholder is filled with when the alert opens.
PLACEHOLDERS: dict[str, str] = {
    "system": "the system's name",
    "env": "the environment",
    "release": "the release reference, SYSTEM@DIGEST",
    "digest": "the release digest",
    "alert_id": "the alert's id",
    "monitor": "the alert type (the monitor that raised it)",
    "subject": "what breached: a column, a metric, or the unapproved digest",
    "severity": "info, warning or critical",
}
#: Largest runbook Markdown file :func:`bundle_runbooks` reads.
MAX_RUNBOOK_BYTES = 64 * 1024
#: Longest steps text a notifier carries in full (Slack's section limit is 3,000).
MAX_STEPS_CHARS = 20_000

Command = Annotated[str, Field(min_length=1, max_length=500)]


class Runbook(BaseModel):
    """One alert type's runbook: steps (Markdown, inline or a ``path``), commands, a link."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    steps: str | None = Field(default=None, min_length=1, max_length=MAX_STEPS_CHARS)
    #: A Markdown file relative to the pack; replaced by ``steps`` before the pack is sent.
    path: str | None = Field(default=None, min_length=1, max_length=500)
    commands: list[Command] = Field(default_factory=list, max_length=30)
    link: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")

    @model_validator(mode="after")
    def _steps_or_path(self) -> Runbook:
        if (self.steps is None) == (self.path is None):
            raise ValueError("a runbook needs `steps` (Markdown) or a `path` to them, not both")
        return self


def placeholders_in(text: str) -> set[str]:
    """The ``{name}`` placeholders of ``text`` (``{{`` and ``}}`` are literal braces).

    ValueError when the braces do not pair up or a placeholder has a format spec.
    """
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"placeholder {{{name}}} is not a plain name")
        names.add(name)
    return names


def runbook_problems(runbooks: Mapping[str, Runbook]) -> list[tuple[str, str]]:
    """``(location, message)`` for each runbook problem a pack may not carry."""
    problems = []
    known = ", ".join(PLACEHOLDERS)
    for kind, runbook in runbooks.items():
        base = f"runbooks.{kind}"
        if kind not in ALERT_TYPES:
            problems.append(
                (base, f"unknown alert type {kind!r}; alert types: {', '.join(ALERT_TYPES)}")
            )
        if runbook.path is not None:
            problems.append(
                (
                    f"{base}.path",
                    "a runbook file must be bundled where the pack is: apply the pack with "
                    "`charter policy apply FILE`, which reads it next to the pack",
                )
            )
        fields: list[tuple[str, str]] = [("title", runbook.title), ("steps", runbook.steps or "")]
        fields += [(f"commands[{i}]", c) for i, c in enumerate(runbook.commands)]
        fields += [("link", runbook.link or "")]
        for position, command in enumerate(runbook.commands):
            try:
                shlex.split(command)
            except ValueError as exc:
                problems.append((f"{base}.commands[{position}]", f"not a shell command: {exc}"))
        for where, text in fields:
            try:
                unknown = sorted(placeholders_in(text) - set(PLACEHOLDERS))
            except ValueError as exc:
                problems.append((f"{base}.{where}", f"{exc} (write {{{{ for a literal brace)"))
                continue
            problems += [
                (f"{base}.{where}", f"unknown placeholder {{{name}}}; placeholders: {known}")
                for name in unknown
            ]
    return problems


def fill_command(template: str, values: Mapping[str, str]) -> str:
    """A command template filled: split as a shell would, each word filled, joined again
    with shell quoting, so a value with spaces or quotes stays inside its word."""
    return shlex.join(word.format_map(values) for word in shlex.split(template))


def render(
    kind: str, runbook: Runbook, values: Mapping[str, str], *, source: str
) -> dict[str, Any]:
    """The runbook with its placeholders filled, as an alert keeps and notifiers carry it.

    Commands are quoted for a shell (:func:`fill_command`), the link for a URL; the title
    and the steps get the values as they are.
    """
    filled = {name: str(values.get(name, "")) for name in PLACEHOLDERS}
    in_url = {name: quote(value, safe="@") for name, value in filled.items()}
    return {
        "id": kind,
        "source": source,
        "title": runbook.title.format_map(filled),
        "steps": (runbook.steps or "").format_map(filled),
        "commands": [fill_command(command, filled) for command in runbook.commands],
        "link": None if runbook.link is None else runbook.link.format_map(in_url),
    }


def as_markdown(filled: Mapping[str, Any], *, limit: int | None = None) -> str:
    """A filled runbook (as :func:`render` returns it) as one Markdown text.

    ``limit`` caps the length (Slack's section text takes 3,000 characters): the steps are
    cut first, the commands and the link are kept whole.
    """
    head = f"*Runbook: {filled['title']}*"
    tail = []
    if filled.get("commands"):
        tail += ["```", *filled["commands"], "```"]
    if filled.get("link"):
        tail.append(f"More: {filled['link']}")
    steps = str(filled.get("steps") or "").strip()
    room = None if limit is None else limit - len(head) - len("\n".join(tail)) - 4
    if room is not None and len(steps) > room:
        steps = steps[: max(room - 1, 0)].rstrip() + "…"
    text = "\n".join([head, steps, *tail]).strip()
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _confined(path_text: str, base_dir: Path, where: str) -> str:
    """The UTF-8 text of a runbook file, which must lie inside the pack's directory."""
    from charter.domain.releases import confined_file

    path = confined_file(path_text, base_dir, f"runbook {where}", anchor="pack")
    if path.stat().st_size > MAX_RUNBOOK_BYTES:
        raise BadInput(f"runbook file {path_text!r} exceeds {MAX_RUNBOOK_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"runbook file {path_text!r} is not UTF-8 text") from None


def bundle_runbooks(data: bytes, base_dir: Path, source: str = "policy") -> bytes:
    """The pack with each runbook ``path`` replaced by the file's text as ``steps``.

    Files are read inside ``base_dir`` only (no ``..``, no absolute path, no symlink that
    leads out, regular files only). A pack without runbook files comes back unchanged;
    otherwise only its ``runbooks`` section is rewritten, so its comments elsewhere stay.
    """
    from charter.domain.text import load_yaml_document

    raw = load_yaml_document(data, source)
    section = raw.get("runbooks") if isinstance(raw, dict) else None
    if not isinstance(section, dict) or not any(
        isinstance(r, dict) and "path" in r for r in section.values()
    ):
        return data
    bundled: dict[str, Any] = {}
    for kind, entry in section.items():
        if isinstance(entry, dict) and "path" in entry:
            if "steps" in entry:
                raise BadInput(
                    "a runbook takes `steps` or a `path`, not both",
                    location=f"{source}: runbooks.{kind}",
                )
            text = _confined(str(entry["path"]), base_dir, f"runbooks.{kind}.path")
            entry = {k: (text if k == "path" else v) for k, v in entry.items()}
            entry["steps"] = entry.pop("path")
        bundled[kind] = entry
    text = yaml.dump(
        {"runbooks": bundled}, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True
    )
    spliced = _splice(data.decode("utf-8"), text)
    expected = {**raw, "runbooks": bundled}
    if spliced is not None and load_yaml_document(spliced.encode("utf-8"), source) == expected:
        return spliced.encode("utf-8")
    # A pack written in JSON or flow style: dump it whole (its comments, if any, are lost).
    whole = yaml.dump(expected, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True)
    return whole.encode("utf-8")


def _splice(text: str, section: str) -> str | None:
    """``text`` with its top-level ``runbooks:`` block replaced by ``section``, or None."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"runbooks\s*:", line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    # Comments and blank lines just before the next key belong to it.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" if tail else "") + tail


class _BlockDumper(yaml.SafeDumper):
    """Safe YAML with multi-line text as ``|`` blocks (Markdown stays readable)."""


def _text(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _text)
