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
    closing,
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
    from charter.monitoring.feature_choice import default_features

    parse_ref(ref)
    dataset = load_dataset(data)
    left_out: dict[str, str] = {}
    features = list(feature or [])
    if not features:
        features, left_out = default_features(dataset.frame, (prediction, score, label, cohort))
    profile = build_reference(
        dataset.frame,
        features=features,
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
        render.emit_json({**stored, "left_out": left_out})
        return
    state = "set" if stored["created"] else "unchanged (identical profile)"
    render.line(
        f"Reference {stored['digest'][:12]} for {stored['release']}: {state}; "
        f"{stored['rows']} rows, {len(stored['features'])} features"
    )
    if left_out:
        reasons = "; ".join(f"{name} ({why})" for name, why in left_out.items())
        render.line(f"Left out of the features (name them with --feature to keep): {reasons}")


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
    profiles: Annotated[
        Path | None,
        typer.Option(help="A profiles document (JSON, e.g. from charter.spark) instead of rows."),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            help="Digest or unique prefix for rows without one (default: the release live in"
            " --env)."
        ),
    ] = None,
    id_column: Annotated[str, typer.Option(help="Inference id column.")] = "inference_id",
    label_column: Annotated[str, typer.Option(help="Label column (with --labels).")] = "label",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per batch.")] = 1_000,
    fmt: FormatOpt = "text",
) -> None:
    """Send inference records (or, with --labels, late labels; with --profiles, hourly
    bucket profiles computed elsewhere) in batches.

    Batch ids derive from the file's SHA-256, the options and the row offset, so running
    the same command again counts nothing twice.
    """
    check_format(fmt)
    if sum(x is not None for x in (data, labels, profiles)) != 1:
        raise BadInput("give exactly one of --data, --labels and --profiles")
    if profiles is not None:
        _log_profiles(system, env, profiles, release, fmt)
        return
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


@app.command("windows")
def windows_command(
    system: Annotated[str, typer.Argument(help="System name.")],
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    last: Annotated[int, typer.Option(min=1, max=500, help="The newest N windows.")] = 20,
    fmt: Annotated[
        str, typer.Option("--format", help="text, json or html (a self-contained report).")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option(help="Write the report to this file instead of stdout.")
    ] = None,
) -> None:
    """Closed monitoring windows: drift per column, quality, performance, signals, alerts."""
    if fmt not in ("text", "json", "html"):
        raise BadInput("--format must be text, json or html")
    from charter.cli import windows_report

    found = backend().call("monitoring.windows", system=system, environment=env, limit=last)
    items = found["items"]
    if fmt == "json":
        text = None
        if output is None:
            render.emit_json(found)
            return
        import json

        text = json.dumps(found, indent=2, sort_keys=True) + "\n"
    elif fmt == "html":
        text = windows_report.render_html(system, items)
    else:
        text = windows_report.render_text(items) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
        render.line(f"Wrote {len(items)} window(s) to {output}")
    else:
        typer.echo(text, nl=False)


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
    from charter.services import worker as monitor_worker
    from charter.settings import Settings

    settings = Settings.load()
    charter, actor = monitor_worker.connect(settings)
    closing(charter.db.dispose)
    from charter.services.checkpoints import WorkerCheckpoints

    checkpoint = WorkerCheckpoints(settings.home)  # signs the audit head after each pass
    while True:
        summary = monitor_worker.run_once(charter, actor)
        from charter.services.cards import worker_pass  # card snapshots follow the records

        summary["cards"] = worker_pass(charter, actor)
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
            for note in summary.get("notes") or []:
                render.line(f"  {note}")
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


def _log_profiles(system: str, env: str, path: Path, release: str | None, fmt: str) -> None:
    """``charter log --profiles``: the document cut into parts that each fit a request,
    each part under a batch id made of the file's digest and the part's position."""
    import hashlib
    import json

    from charter.spark.buckets import split_document

    try:
        raw = path.read_bytes()
        document = json.loads(raw)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BadInput(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadInput(f"{path} is not a profiles document")
    run_key = hashlib.sha256(raw + f":profiles:{release}".encode()).hexdigest()
    target = backend()
    totals: dict[str, int] = {"batches": 0, "buckets": 0, "rows": 0, "duplicates": 0}
    for i, part in enumerate(split_document(document)):
        answer = target.call(
            "profiles.log",
            system=system,
            environment=env,
            batch_id=f"p-{run_key[:24]}-{i}",
            document=part,
            release=release,
        )
        totals["batches"] += 1
        totals["buckets"] += int(answer.get("buckets") or 0)
        totals["rows"] += int(answer.get("accepted") or 0)
        totals["duplicates"] += int(bool(answer.get("duplicate")))
    if fmt == "json":
        render.emit_json(totals)
    else:
        render.line(
            f"Sent {totals['buckets']} hourly profiles ({totals['rows']} rows) in "
            f"{totals['batches']} batches ({totals['duplicates']} already received)"
        )
