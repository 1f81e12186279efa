"""`charter guard scan`: try the guardrail scanners the policy configures on a file.

Scanner modules are imported inside the command, so ``charter --help`` stays fast.
Exit codes: 0 nothing was blocked, 1 something was, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import app, command_group, read_file
from charter.domain.errors import BadInput

guard_app = command_group("Guardrail scanners: prompt injection, PII, secrets, toxicity, output.")
app.add_typer(guard_app, name="guard")

#: Largest input file read (bytes).
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a text file (one prompt per line) or JSONL (``{"text": ...}`` per line).

    JSONL records may also carry ``prompt``, ``context`` (a string or list of strings),
    ``system_prompt`` and ``canaries`` for output scans. The format is JSONL when the
    file ends in ``.jsonl``/``.ndjson`` or its first non-blank line starts with ``{``.
    """
    raw = read_file(path)
    if len(raw) > MAX_FILE_BYTES:
        raise BadInput(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson") or first.lstrip().startswith("{")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not jsonl:
            records.append({"text": line, "line": number})
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise BadInput(f"line {number} is not valid JSON: {exc}", location=str(path)) from None
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise BadInput(
                f'line {number}: expected an object with a "text" string', location=str(path)
            )
        context = value.get("context", [])
        if isinstance(context, str):
            context = [context]
        canaries = value.get("canaries", [])
        if (
            not isinstance(context, list)
            or not all(isinstance(c, str) for c in context)
            or not isinstance(canaries, list)
            or not all(isinstance(c, str) for c in canaries)
            or not isinstance(value.get("prompt", ""), str)
            or not isinstance(value.get("system_prompt", ""), str)
        ):
            raise BadInput(
                f"line {number}: context and canaries must be lists of strings, prompt and "
                "system_prompt strings",
                location=str(path),
            )
        records.append({**value, "context": context, "canaries": canaries, "line": number})
    if not records:
        raise BadInput(f"{path} holds no records")
    return records


def _config_for(system: str | None) -> Any:
    """The guard configuration: the policy's for the system's tier, else the default."""
    from charter.guard.pipeline import DEFAULT_CONFIG

    if system is None:
        return DEFAULT_CONFIG
    from charter.cli.app import backend
    from charter.domain.guard_policy import GuardrailsPolicy
    from charter.guard.pipeline import GuardConfig

    client = backend()
    tier = client.call("system.show", name=system).get("tier")
    if not isinstance(tier, str):
        raise BadInput(f"system {system!r} has no risk tier: run intake first")
    import yaml

    source = client.call("policy.show", version=None).get("source") or ""
    document = yaml.safe_load(source) if source else {}
    raw = document.get("guardrails") if isinstance(document, dict) else None
    section = GuardrailsPolicy.model_validate(raw or {})
    return GuardConfig.from_mapping(section.config_mapping(tier), f"guardrails.tiers.{tier}")


@guard_app.command("scan")
def scan(
    file: Annotated[Path, typer.Argument(help="Text (one prompt per line) or JSONL file.")],
    stage: Annotated[str, typer.Option(help="input or output.")] = "input",
    system: Annotated[
        str | None, typer.Option(help="Use the scanners the policy sets for this system's tier.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: text or json.")] = "text",
) -> None:
    """Scan each record and print its verdict; exit 1 when any record is blocked."""
    if fmt not in ("text", "json"):
        raise BadInput(f"unknown format {fmt!r}: use text or json")
    if stage not in ("input", "output"):
        raise BadInput(f"unknown stage {stage!r}: use input or output")
    records = read_records(file)
    from charter.guard.base import ScanContext
    from charter.guard.pipeline import Guard

    guard = Guard.from_config(_config_for(system))
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        context = ScanContext(
            prompt=record.get("prompt"),
            context=tuple(record.get("context", ())),
            system_prompt=record.get("system_prompt"),
            canaries=tuple(record.get("canaries", ())),
        )
        outcome = guard.scan(record["text"], stage, context)  # type: ignore[arg-type]
        rows.append({"index": index, "line": record["line"], **outcome.to_dict()})
    blocked = sum(1 for r in rows if r["blocked"])
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        for row in rows:
            verdict = "BLOCK" if row["blocked"] else "FLAG" if row["flagged"] else "pass"
            fired = ", ".join(
                f"{r['scanner']}={r['verdict']}({r['score']:.2f})" for r in row["results"]
            )
            render.line(f"{row['index']}\t{verdict}\t{fired or '-'}")
        render.line(
            f"{len(rows)} record(s): {blocked} blocked, "
            f"{sum(1 for r in rows if r['flagged'] and not r['blocked'])} flagged "
            f"(scanners: {', '.join(guard.scanner_names(stage))})"  # type: ignore[arg-type]
        )
    if blocked:
        raise typer.Exit(1)
