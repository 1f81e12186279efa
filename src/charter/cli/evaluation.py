"""`charter evaluate` and `charter evidence`: run a suite where the data is, store the evidence."""

from __future__ import annotations

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
    read_file,
    show_page,
)
from charter.domain.errors import BadInput

evidence_app = command_group("Evaluation evidence attached to releases.")
app.add_typer(evidence_app, name="evidence")


def _bins(values: list[str]) -> dict[str, list[float]]:
    """Parse ``--bins age=18,25,35,65,120`` into {column: edges}."""
    result: dict[str, list[float]] = {}
    for value in values:
        column, _, edges = value.partition("=")
        if not column or not edges:
            raise BadInput(f"invalid --bins {value!r}: use COLUMN=EDGE,EDGE,...")
        try:
            result[column] = [float(edge) for edge in edges.split(",")]
        except ValueError:
            raise BadInput(f"invalid --bins {value!r}: edges must be numbers") from None
    return result


def _label(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


@app.command()
def evaluate(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    suite: Annotated[str, typer.Option(help="classification, regression, fairness, ...")],
    data: Annotated[Path, typer.Option(help="CSV, Parquet or JSONL file.")],
    target: Annotated[str | None, typer.Option(help="True label / value column.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Predicted label / value column.")] = None,
    score: Annotated[str | None, typer.Option(help="Binary score column (P(positive)).")] = None,
    cohort: Annotated[list[str] | None, typer.Option(help="Cohort column (repeatable).")] = None,
    bins: Annotated[list[str] | None, typer.Option(help="COL=EDGE,EDGE,... (repeatable).")] = None,
    positive_label: Annotated[str | None, typer.Option(help="The positive class.")] = None,
    threshold: Annotated[float, typer.Option(help="Decision threshold on --score.")] = 0.5,
    model: Annotated[str | None, typer.Option(help="pkg.mod:function or .joblib file.")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, max=100_000, help="Resamples for CIs.")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Seed for resampling.")] = 0,
    repeats: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="Perturbation rounds (robustness), shuffles (explainability)."
        ),
    ] = 3,
    min_group_size: Annotated[int, typer.Option(min=0, help="Smaller groups are not scored.")] = 30,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report here.")] = None,
    options_file: Annotated[
        Path | None,
        typer.Option("--options", help="YAML/JSON mapping of suite settings (e.g. llm)."),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Run an evaluation suite on a data set and attach the result to a release as evidence."""
    check_format(fmt)
    from charter.domain.releases import parse_ref
    from charter.evaluation import InputSpec, RunOptions, evaluate_file, load_model, render_html
    from charter.evaluation.suites import find_suite
    from charter.plugins.manager import evaluation_suites

    parse_ref(ref)
    spec = InputSpec(
        target=target,
        prediction=prediction,
        score=score,
        cohorts=tuple(cohort or ()),
        bins=_bins(bins or []),
        positive_label=_label(positive_label),
        threshold=threshold,
    )
    options = RunOptions(
        n_bootstrap=bootstrap, seed=seed, n_repeats=repeats, min_group_size=min_group_size
    )
    loaded = load_model(model) if model else None
    chosen = find_suite(suite, evaluation_suites()).configured(
        _suite_settings(options_file), data_dir=data.parent
    )
    result = evaluate_file(data, chosen, spec, options, model=loaded)
    stored = backend().call("evidence.record", ref=ref, result=result)
    if report:
        report.write_text(render_html(result, title=f"{ref} · {suite}"), encoding="utf-8")
    if fmt == "json":
        render.emit_json(stored)
        return
    verdict = "[green]all bounds met[/green]" if stored["passed"] else "[red]contract not met[/red]"
    render.line(
        f"Evidence {stored['id']} ({suite} v{stored['suite_version']}, "
        f"{stored['evidence_digest'][:12]}) on {stored['system']}@{stored['digest'][:12]}: "
        f"{verdict}"
    )
    if stored["bounds"]:
        render.table("Contract bounds", stored["bounds"], ["bound", "status", "reason"], None)
    overall = result["metrics"].get("overall", {})
    rows = [
        {"metric": name, "value": entry.get("value"), "ci": _ci(entry)}
        for name, entry in overall.items()
        if isinstance(entry, dict)
    ]
    render.table("Metrics (overall)", rows, ["metric", "value", "ci"], None)
    importance = (result.get("details") or {}).get("importance")
    if isinstance(importance, dict):
        drivers = [
            {
                "rank": r["rank"],
                "feature": r["feature"],
                "importance": r["importance"]["value"],
                "ci": _ci(r["importance"]),
            }
            for r in importance.get("ranking", [])[: importance.get("top_k") or 5]
        ]
        render.table("Top drivers", drivers, ["rank", "feature", "importance", "ci"], None)


def _suite_settings(path: Path | None) -> dict[str, Any]:
    """Read ``--options FILE``: a YAML (or JSON) mapping of suite settings."""
    if path is None:
        return {}
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read --options {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadInput(f"--options {path} is not valid YAML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
        raise BadInput(f"--options {path} must be a mapping of setting names to values")
    return raw


def _ci(entry: dict[str, Any]) -> str | None:
    low, high = entry.get("ci_lower"), entry.get("ci_upper")
    if low is None or high is None:
        return None
    return f"[{low:.4g}, {high:.4g}]"


@evidence_app.command("record")
def evidence_record(
    ref: Annotated[str, typer.Argument(help="SYSTEM@DIGEST")],
    suite: Annotated[
        str, typer.Option(help="What was done: fria, conformity-assessment, security, ...")
    ],
    document: Annotated[
        Path, typer.Option(help="The report or assessment (its SHA-256 is recorded).")
    ],
    note: Annotated[str, typer.Option(help="What was done, by whom, the outcome.")] = "",
    fmt: FormatOpt = "text",
) -> None:
    """Record that something was done (an assessment, a test), evidenced by a document."""
    import hashlib

    check_format(fmt)
    data = read_file(document)
    sha256 = hashlib.sha256(data).hexdigest()
    result: dict[str, Any] = {
        "schema": "charter.evaluation.result/1",
        "suite": {"name": suite, "version": "record/1"},
        "dataset": {"name": document.name, "sha256": sha256},
        "metrics": {"overall": {}},
        "record": {"document": document.name, "bytes": len(data), "note": note.strip()},
    }
    stored = backend().call("evidence.record", ref=ref, result=result)
    if fmt == "json":
        render.emit_json(stored)
        return
    render.line(
        f"Evidence {stored['id']} ({suite}, {document.name} "
        f"{sha256[:12]}) on {stored['system']}@{stored['digest'][:12]}"
    )


@evidence_app.command("list")
def evidence_list(
    target: Annotated[str, typer.Argument(help="SYSTEM or SYSTEM@DIGEST")],
    suite: Annotated[str | None, typer.Option(help="Only this suite.")] = None,
    fmt: FormatOpt = "text",
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """List evidence, newest first."""
    system, ref = (None, target) if "@" in target else (target, None)
    page = backend().call(
        "evidence.list", system=system, ref=ref, suite=suite, limit=limit, offset=offset
    )
    show_page(
        "Evidence",
        page,
        ["id", "suite", "suite_version", "passed", "evidence_digest", "created_by", "created_at"],
        fmt,
    )


@evidence_app.command("show")
def evidence_show(
    evidence_id: int,
    fmt: Annotated[str, typer.Option("--format", help="text, json or html.")] = "text",
) -> None:
    """Show one piece of evidence with its full result (html: the evaluation report)."""
    if fmt not in ("text", "json", "html"):
        raise BadInput(f"unknown format {fmt!r}: use text, json or html")
    data = backend().call("evidence.show", evidence_id=evidence_id)
    if fmt == "json":
        render.emit_json(data)
    elif fmt == "html":
        import sys

        from charter.evaluation import render_html

        sys.stdout.write(render_html(data["result"], title=f"Evidence {evidence_id}"))
    else:
        render.record(
            f"Evidence {evidence_id}",
            data,
            [
                "system",
                "digest",
                "suite",
                "suite_version",
                "evidence_digest",
                "dataset_sha256",
                "passed",
                "created_by",
                "created_at",
            ],
        )
        render.table("Contract bounds", data["bounds"], ["bound", "status", "reason"], None)


@evidence_app.command("reproduce")
def evidence_reproduce(
    evidence_id: int,
    data: Annotated[Path, typer.Option(help="The evidence's data file (checked by SHA-256).")],
    model: Annotated[str | None, typer.Option(help="pkg.mod:function or .joblib file.")] = None,
    options_file: Annotated[
        Path | None,
        typer.Option("--options", help="YAML/JSON mapping of suite settings, as when run."),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Re-run a piece of evidence's suite on the same data and confirm or refute it.

    Exit 0 when the re-run agrees, 1 when it does not; a confirmation by someone other
    than the evidence's author marks it reproduced.
    """
    check_format(fmt)
    from charter.evaluation import InputSpec, RunOptions, evaluate_file, load_model
    from charter.evaluation.loading import load_dataset
    from charter.evaluation.suites import find_suite
    from charter.plugins.manager import evaluation_suites

    stored = backend().call("evidence.show", evidence_id=evidence_id)
    result = stored.get("result") or {}
    expected = stored.get("dataset_sha256")
    actual = load_dataset(data).info().get("sha256")
    if expected is None or actual != expected:
        raise BadInput(
            f"{data} is not the evidence's data: SHA-256 {str(actual)[:12]}... instead of "
            f"{str(expected)[:12]}...",
            location="--data",
        )
    spec = InputSpec.from_mapping(result.get("spec") or {})
    options = RunOptions.from_mapping(result.get("options") or {})
    chosen = find_suite(stored["suite"], evaluation_suites()).configured(
        _suite_settings(options_file), data_dir=data.parent
    )
    rerun = evaluate_file(data, chosen, spec, options, model=load_model(model) if model else None)
    outcome = backend().call("evidence.reproduce", evidence_id=evidence_id, result=rerun)
    if fmt == "json":
        render.emit_json(outcome)
    elif outcome["confirmed"]:
        who = "" if outcome["independent"] else " (by its author: not independent)"
        render.line(f"Confirmed: evidence {evidence_id} reproduces{who}")
    else:
        render.line(f"Refuted: evidence {evidence_id} does not reproduce")
        for difference in outcome["differences"]:
            render.line(f"  {render.escape(difference)}")
    if not outcome["confirmed"]:
        raise typer.Exit(1)
