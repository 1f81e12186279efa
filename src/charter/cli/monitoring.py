"""`charter reference`, `charter log`, `charter worker` and `charter alerts`: live monitoring."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli import render
from charter.cli.app import (
    FormatOpt,
    LimitOpt,
    OffsetOpt,
    app,
    backend,
    check_format,
    command_group,
)
from charter.domain.errors import BadInput

reference_app = command_group("Reference profiles that live windows are compared with.")
alerts_app = typer.Typer(
    help="Alerts raised by the monitoring worker, and where they are sent.",
    invoke_without_command=True,
    rich_markup_mode=None,
)
channel_app = command_group("Notification channels (webhook, slack, pagerduty).")
app.add_typer(reference_app, name="reference")
app.add_typer(alerts_app, name="alerts")
alerts_app.add_typer(channel_app, name="channel")


def _positive(value: str | None) -> Any:
    if value is None:
        return 1
    try:
        return int(value)
    except ValueError:
        return value


@reference_app.command("set")
def reference_set(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    data: Annotated[Path, typer.Option(help="CSV, Parquet or JSONL reference data.")],
    prediction: Annotated[str | None, typer.Option(help="Predicted label column.")] = None,
    score: Annotated[str | None, typer.Option(help="Score column (P(positive)).")] = None,
    label: Annotated[str | None, typer.Option(help="True label column.")] = None,
    cohort: Annotated[str | None, typer.Option(help="Cohort column (fairness by group).")] = None,
    feature: Annotated[list[str] | None, typer.Option(help="Feature column (repeatable).")] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Treat as categorical (repeatable).")
    ] = None,
    pii: Annotated[
        list[str] | None, typer.Option(help="Profiled, never kept raw (repeatable).")
    ] = None,
    positive_label: Annotated[str | None, typer.Option(help="The positive class.")] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Profile reference data once and make it the release's current reference."""
    check_format(fmt)
    from charter.domain.releases import parse_ref
    from charter.evaluation.loading import load_dataset
    from charter.monitoring import build_reference

    parse_ref(ref)
    dataset = load_dataset(data)
    profile = build_reference(
        dataset.frame,
        features=feature or None,
        categorical=categorical or (),
        prediction=prediction,
        score=score,
        label=label,
        cohort=cohort,
        positive_label=_positive(positive_label),
    )
    stored = backend().call(
        "reference.set",
        ref=ref,
        profile=profile.to_dict(),
        pii=list(pii or []),
        dataset_sha256=dataset.sha256,
    )
    if fmt == "json":
        render.emit_json(stored)
        return
    state = "set" if stored["created"] else "unchanged (identical profile)"
    render.line(
        f"Reference {stored['digest'][:12]} for {stored['release']}: {state}; "
        f"{stored['rows']} rows, {len(stored['features'])} features"
    )


@reference_app.command("show")
def reference_show(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")], fmt: FormatOpt = "text"
) -> None:
    """Show the release's current reference profile (summary)."""
    data = backend().call("reference.show", ref=ref)
    if check_format(fmt) == "json":
        render.emit_json(data)
    else:
        render.record("Reference", data)


@app.command("log")
def log_command(
    system: Annotated[str, typer.Argument(help="System name.")],
    env: Annotated[str, typer.Option("--env", help="Environment, e.g. prod.")],
    data: Annotated[
        Path | None, typer.Option(help="Inference records (CSV, Parquet, JSONL).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Late labels file instead of records.")
    ] = None,
    release: Annotated[str | None, typer.Option(help="Digest for rows without a release.")] = None,
    id_column: Annotated[str, typer.Option(help="Inference id column.")] = "inference_id",
    label_column: Annotated[str, typer.Option(help="Label column (with --labels).")] = "label",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per batch.")] = 1_000,
    fmt: FormatOpt = "text",
) -> None:
    """Send inference records (or, with --labels, late labels) in batches.

    Batch ids derive from the file's SHA-256, the options and the row offset, so running
    the same command again counts nothing twice.
    """
    check_format(fmt)
    if (data is None) == (labels is None):
        raise BadInput("give exactly one of --data and --labels")
    from rich.progress import Progress

    from charter.evaluation.loading import load_dataset

    dataset = load_dataset(data or labels)  # type: ignore[arg-type]
    frame = dataset.frame
    if id_column in frame.columns and id_column != "inference_id":
        frame = frame.rename(columns={id_column: "inference_id"})
    if labels is not None:
        missing = [c for c in ("inference_id", label_column) if c not in frame.columns]
        if missing:
            raise BadInput(f"the labels file lacks columns {missing}")
    if "inference_id" in frame.columns:
        frame["inference_id"] = frame["inference_id"].astype(str)
    target = backend()
    totals: dict[str, int] = {"batches": 0, "rows": 0, "duplicates": 0}
    kind = "labels" if labels is not None else "records"
    import hashlib

    # The same file sent the same way gives the same batch ids, so a rerun is a no-op.
    run_key = hashlib.sha256(f"{dataset.sha256}:{kind}:{release}:{batch_size}".encode()).hexdigest()
    with Progress(disable=fmt == "json", transient=True) as progress:
        task = progress.add_task(f"Sending {kind}", total=len(frame))
        for offset in range(0, len(frame), batch_size):
            part = frame.iloc[offset : offset + batch_size]
            batch_id = f"{kind[0]}-{run_key[:24]}-{offset}"
            if labels is not None:
                items = [
                    {"inference_id": i, "label": _plain(v)}
                    for i, v in zip(part["inference_id"], part[label_column], strict=True)
                ]
                answer = target.call(
                    "labels.log", system=system, environment=env, batch_id=batch_id, labels=items
                )
            else:
                answer = target.call(
                    "observations.log",
                    system=system,
                    environment=env,
                    batch_id=batch_id,
                    records=part,
                    release=release,
                )
            totals["batches"] += 1
            totals["rows"] += len(part)
            totals["duplicates"] += int(bool(answer.get("duplicate")))
            progress.advance(task, len(part))
    if fmt == "json":
        render.emit_json(totals)
    else:
        render.line(
            f"Sent {totals['rows']} {kind} in {totals['batches']} batches "
            f"({totals['duplicates']} already received)"
        )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between passes.")] = 60.0,
    fmt: FormatOpt = "text",
) -> None:
    """Close windows, judge drift, quality, performance and signals, raise and send alerts.

    Runs next to the database (not through a server). Several workers may run against
    PostgreSQL; run one against SQLite.
    """
    check_format(fmt)
    from charter.services import monitors
    from charter.services.context import Charter
    from charter.services.users import authenticate
    from charter.settings import Settings
    from charter.store.db import Database
    from charter.store.migrate import ensure_current

    settings = Settings.load()
    db = Database(settings.database_url)
    ensure_current(db)
    charter = Charter(db)
    with db.transaction(write=False) as session:
        actor = authenticate(session, settings.token)
    from charter.services.checkpoints import WorkerCheckpoints

    checkpoint = WorkerCheckpoints(settings.home)  # signs the audit head after each pass
    while True:
        summary = monitors.run_once(charter, actor)
        summary.update(checkpoint(charter))
        if fmt == "json":
            render.emit_json(summary)
        else:
            render.line(
                f"{summary['routes']} routes, {summary['windows']} windows closed, "
                f"{summary['opened']} alerts opened, {summary['closed']} closed, "
                f"{summary.get('delivered', 0)} notifications sent, "
                f"{summary.get('failed', 0)} failed"
            )
        if once:
            return
        time.sleep(interval)


@alerts_app.callback()
def alerts_list(
    context: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open alerts.")] = False,
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    fmt: FormatOpt = "text",
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """List alerts, newest first (or manage channels: `charter alerts channel ...`)."""
    if context.invoked_subcommand is not None:
        return
    page = backend().call(
        "alert.list", open_only=open_only, system=system, limit=limit, offset=offset
    )
    if check_format(fmt) == "json":
        render.emit_json(page)
        return
    render.table(
        "Alerts",
        page["items"],
        [
            "id",
            "system",
            "environment",
            "severity",
            "status",
            "summary",
            "opened_at",
            "resolved_at",
        ],
        None,
    )


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(help="Channel name (a slug).")],
    kind: Annotated[str, typer.Option(help="webhook, slack or pagerduty (or a plugin's).")],
    url: Annotated[str, typer.Option(help="Where to POST.")],
    secret: Annotated[
        str | None, typer.Option(help="HMAC secret (webhook) or routing key (pagerduty).")
    ] = None,
    system: Annotated[str | None, typer.Option(help="Only this system's alerts.")] = None,
    min_severity: Annotated[str, typer.Option(help="info, warning or critical.")] = "warning",
    fmt: FormatOpt = "text",
) -> None:
    """Send alerts to a channel."""
    check_format(fmt)
    stored = backend().call(
        "channel.add",
        name=name,
        kind=kind,
        url=url,
        secret=secret,
        system=system,
        min_severity=min_severity,
    )
    if fmt == "json":
        render.emit_json(stored)
    else:
        render.line(f"Channel {stored['name']} ({stored['kind']}) added")


@channel_app.command("list")
def channel_list(fmt: FormatOpt = "text") -> None:
    """List notification channels (secrets are never shown)."""
    page = backend().call("channel.list")
    if check_format(fmt) == "json":
        render.emit_json(page)
    else:
        render.table(
            "Channels", page["items"], ["name", "kind", "url", "system", "min_severity"], None
        )
