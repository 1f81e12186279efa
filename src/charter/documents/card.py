"""A card (``charter.card/1`` data from :mod:`charter.services.cards`) as a block document."""

from __future__ import annotations

from typing import Any

from charter.documents.blocks import (
    Block,
    bullets,
    chart,
    facts,
    heading,
    para,
    render,
    show,
    table,
)


def card_title(card: dict[str, Any]) -> str:
    """The document title: system, release and the "as of" stamp."""
    release = card.get("release") or {}
    digest = release.get("digest")
    at = f"@{digest[:12]}" if digest else " (no release)"
    return f"System card: {card['system']['name']}{at} as of {card['as_of']}"


def render_card(card: dict[str, Any], fmt: str) -> bytes:
    """The card in ``fmt`` (md, html or pdf)."""
    return render(card_title(card), card_blocks(card, charts=fmt != "md"), fmt)


def card_blocks(card: dict[str, Any], *, charts: bool = True) -> list[Block]:
    """The card's sections in reading order."""
    system = card["system"]
    window = card["data_window"]
    monitoring = window.get("monitoring")
    evaluations = window.get("evaluations")
    blocks: list[Block] = [
        para(
            f"As of {card['as_of']}. Generated from Charter's records; "
            "nothing on this card was typed in by hand."
        ),
        facts(
            [
                (
                    "Evaluations dated",
                    None if not evaluations else f"{evaluations['first']} to {evaluations['last']}",
                ),
                (
                    "Monitoring window",
                    None
                    if not monitoring
                    else f"{monitoring['from']} to {monitoring['to']} "
                    f"({monitoring['windows']} windows)",
                ),
                ("Evaluation data sets (SHA-256)", window.get("datasets") or None),
            ]
        ),
    ]
    if card["missing"]:
        blocks += [heading("What the records do not hold"), bullets(card["missing"])]
    assessment = system.get("assessment") or {}
    use = card["intended_use"]
    blocks += [
        heading("System"),
        facts(
            [
                ("Owner", system["owner"]),
                ("Status", system["status"]),
                ("Surfaces", system["surfaces"]),
                ("Risk tier", system["tier"]),
                ("Tier set by", assessment.get("rule")),
                ("Reason", assessment.get("reason")),
                ("Policy version of the assessment", assessment.get("policy_version")),
            ]
        ),
        heading("Intended use", 3),
        facts(
            [
                ("Purpose", use["purpose"]),
                ("Population", use["population"]),
                ("Approved use case", use["approved_use_case"]),
                ("Approved population", use["approved_population"]),
                ("Out of scope", use["out_of_scope"]),
            ]
        ),
        heading("Intake answers", 3),
        table(["question", "answer"], sorted(system["intake"].items()), "no intake answers"),
    ]
    release = card.get("release")
    blocks.append(heading("Release and components"))
    if release:
        blocks.append(
            facts(
                [
                    ("Digest", release["digest"]),
                    ("Label", release["label"]),
                    ("Created", f"{release['created_at']} by {release['created_by']}"),
                    ("Chain", " -> ".join(card["chain"]) or None),
                ]
            )
        )
        blocks.append(
            table(
                ["kind", "name", "digest"],
                [[c["kind"], c["name"], c["digest"][:16]] for c in card["components"]],
            )
        )
    else:
        blocks.append(para("No release registered."))
    blocks += [
        heading("Controls and their state"),
        table(
            ["control", "status", "reason", "gate run"],
            [[c["id"], c["status"], c["reason"], c["gate_run"]] for c in card["controls"]],
            "no policy in force: no controls apply",
        ),
        heading("Decisions"),
        _decisions(card["decisions"]),
        heading("Exceptions"),
        _exceptions(card["exceptions"]),
        heading("Serving"),
        table(
            ["environment", "release", "state", "fallback", "since"],
            [
                [r["environment"], r["release"][:12], r["state"], r["fallback"], r["updated_at"]]
                for r in card["routes"]
            ],
            "not deployed anywhere",
        ),
        heading("Incidents"),
        _incidents(card["incidents"]),
    ]
    for model in card["models"]:
        blocks += model_blocks(model, charts=charts)
    for sheet in card["datasheets"]:
        blocks += datasheet_blocks(sheet)
    return blocks


def _decisions(rows: list[dict[str, Any]]) -> Block:
    return table(
        ["id", "verdict", "by", "environments", "expires", "policy", "at"],
        [
            [
                d["id"],
                d["verdict"],
                f"{d['actor']} ({d['actor_role']})",
                d["environments"],
                d["expires_at"],
                d["policy_version"],
                d["created_at"],
            ]
            for d in rows
        ],
        "no decisions recorded",
    )


def _exceptions(rows: list[dict[str, Any]]) -> Block:
    return table(
        ["id", "control", "status", "expires", "justification"],
        [
            [x["id"], x["control_id"], x["status"], x["expires_at"], x["justification"]]
            for x in rows
        ],
        "no exceptions recorded",
    )


def _incidents(value: Any) -> Block:
    if isinstance(value, dict) and "absent" in value:
        return para(value["absent"])
    return table(
        ["id", "severity", "status", "opened"],
        [[i.get("id"), i.get("severity"), i.get("status"), i.get("opened_at")] for i in value],
        "no incidents recorded",
    )


def _metric_rows(section: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows = []
    for name, entry in sorted(section.items()):
        if not isinstance(entry, dict):
            continue
        low, high = entry.get("ci_lower"), entry.get("ci_upper")
        interval = None if low is None or high is None else f"[{show(low)}, {show(high)}]"
        rows.append([prefix + name, entry.get("value"), interval])
    return rows


def model_blocks(model: dict[str, Any], *, charts: bool = True) -> list[Block]:
    """A model card: data, metrics with intervals, calibration, contract, live status."""
    holds = model["contract_holds"]
    blocks: list[Block] = [
        heading(f"Model card: {model['component']} ({model['kind']})"),
        facts([("Component digest", model["digest"]), *model["artifact"].items()]),
        heading("Training and evaluation data", 3),
        table(
            ["name", "role", "sha256"],
            [[d["name"], d["role"], d["sha256"]] for d in model["data"]],
            "no data set declared in the release",
        ),
        heading("Metrics", 3),
    ]
    if not model["evaluations"]:
        blocks.append(para("no evaluation evidence recorded"))
    for e in model["evaluations"]:
        rows = _metric_rows(e["overall"])
        for cohort in e["cohorts"]:
            for group in cohort.get("groups", []):
                rows += _metric_rows(group.get("metrics", {}), f"{group['key']}: ")
            rows += _metric_rows(cohort.get("metrics", {}), f"[{cohort['name']}] ")
        blocks.append(
            para(
                f"{e['suite']} v{e['suite_version']} (evidence {e['evidence_id']}, {e['at']}), "
                f"data {show(e['dataset_sha256'])}: {'passed' if e['passed'] else 'FAILED'}"
            )
        )
        blocks.append(table(["metric", "value", "95% interval"], rows, "no metrics reported"))
        if charts:
            blocks += _metric_chart(e)
    blocks.append(heading("Calibration", 3))
    calibration = model["calibration"]
    if calibration is None:
        blocks.append(para("no calibration table in the evidence"))
    else:
        filled = [b for b in calibration["bins"] if b["count"]]
        blocks.append(
            table(
                ["bin", "count", "mean predicted", "observed"],
                [
                    [
                        f"{b['lower']:.2f}-{b['upper']:.2f}",
                        b["count"],
                        b["mean_predicted"],
                        b["observed_rate"],
                    ]
                    for b in filled
                ],
            )
        )
        if charts and filled:
            from charter.evaluation.svg import line_chart

            blocks.append(
                chart(
                    "Reliability diagram",
                    line_chart(
                        [
                            (
                                "observed",
                                [b["mean_predicted"] for b in filled],
                                [b["observed_rate"] for b in filled],
                            )
                        ],
                        title="Reliability",
                        x_label="mean predicted",
                        y_label="observed",
                        markers=True,
                    ),
                )
            )
    blocks += explanation_blocks(model.get("explanations"))
    blocks += [
        heading("Contract", 3),
        table(
            ["section", "bounds"],
            [[k, v] for k, v in sorted(model["contract"].items())],
            "no contract declared",
        ),
        para(
            "Holds now: "
            + {True: "yes", False: "NO", None: "unknown"}[holds["holds"]]
            + f" ({holds['reason']})"
        ),
        heading("Live status (newest windows)", 3),
        table(
            ["window", "env", "rows", "drift", "accuracy", "estimated", "fairness", "breaches"],
            [
                [
                    w["window_start"],
                    w["environment"],
                    w["rows"],
                    w["drift"],
                    w["accuracy"],
                    w["estimated_accuracy"],
                    w["fairness_ratio"],
                    [b["subject"] for b in w["breaches"]],
                ]
                for w in reversed(model["live"])
            ],
            "no monitoring window closed: no live status",
        ),
    ]
    if charts:
        blocks += _live_chart(model["live"])
    blocks += [
        heading("Known limitations", 3),
        bullets(model["limitations"], "none recorded"),
        heading("Approvals", 3),
        _decisions(model["approvals"]),
        heading("Exceptions", 3),
        _exceptions(model["exceptions"]),
        heading("Incidents", 3),
        _incidents(model["incidents"]),
    ]
    return blocks


def explanation_blocks(summary: dict[str, Any] | None) -> list[Block]:
    """What drives the model's decisions: top drivers with intervals, per cohort group."""
    blocks: list[Block] = [heading("What drives the decisions", 3)]
    if not summary:
        blocks.append(para("no explainability evidence recorded"))
        return blocks
    blocks.append(
        para(
            f"Permutation importance ({summary['scoring']}, {summary['n_repeats']} repeats, "
            f"{summary['interval']} intervals), evidence {summary['evidence_id']}; "
            f"top {summary['top_k']}: {', '.join(summary['top']) or 'none'}."
        )
    )
    blocks.append(
        table(
            ["rank", "feature", "importance", "interval"],
            [
                [
                    d["rank"],
                    d["feature"],
                    d["importance"],
                    None
                    if d["ci_lower"] is None or d["ci_upper"] is None
                    else f"[{show(d['ci_lower'])}, {show(d['ci_upper'])}]",
                ]
                for d in summary["drivers"]
            ],
            "no feature ranked",
        )
    )
    rows = [
        [
            f"{cohort['name']}: {group['key']}",
            group["n"],
            ", ".join(group["top"]) or group["reason"],
        ]
        for cohort in summary["cohorts"]
        for group in cohort["groups"]
    ]
    if rows:
        blocks.append(table(["cohort group", "n", "top drivers"], rows))
    local = summary["local"]
    blocks.append(
        para(
            f"Local explanations: {local['explained']} decisions, {local['method']} Shapley "
            f"values of the {local['output']}."
        )
    )
    return blocks


def _metric_chart(evaluation: dict[str, Any]) -> list[Block]:
    from charter.evaluation.svg import bar_chart

    entries = [
        (name, e)
        for name, e in sorted(evaluation["overall"].items())
        if isinstance(e, dict) and isinstance(e.get("value"), int | float)
    ]
    if not entries:
        return []
    return [
        chart(
            f"{evaluation['suite']}: overall metrics",
            bar_chart(
                [n for n, _ in entries],
                [e["value"] for _, e in entries],
                [e.get("ci_lower") for _, e in entries],
                [e.get("ci_upper") for _, e in entries],
                title=f"{evaluation['suite']} (with intervals)",
            ),
        )
    ]


def _live_chart(live: list[dict[str, Any]]) -> list[Block]:
    from charter.evaluation.svg import line_chart

    points = [
        (i, w["accuracy"] if w["accuracy"] is not None else w["estimated_accuracy"])
        for i, w in enumerate(live)
    ]
    points = [(i, v) for i, v in points if v is not None]
    if len(points) < 2:
        return []
    span = max(len(live) - 1, 1)
    return [
        chart(
            "Accuracy over the newest windows",
            line_chart(
                [("accuracy", [i / span for i, _ in points], [v for _, v in points])],
                title="Live accuracy (realised, else estimated)",
                x_label="window (oldest to newest)",
                y_label="accuracy",
                diagonal=False,
                markers=True,
            ),
        )
    ]


def datasheet_blocks(sheet: dict[str, Any]) -> list[Block]:
    """A reference data set's datasheet, from its profile."""
    rows = []
    for c in sheet["columns"]:
        if c["kind"] == "numeric":
            summary = (
                f"min {show(c['min'])}, max {show(c['max'])}, mean {show(c['mean'])}, "
                f"sd {show(c['std'])}"
            )
        else:
            summary = show(c.get("categories"))
        rows.append([c["name"], c["kind"], c["missing"], summary])
    return [
        heading(f"Datasheet: reference of release {sheet['release'][:12]}"),
        facts(
            [
                ("Profile digest", sheet["profile_digest"]),
                ("Data set SHA-256", sheet["dataset_sha256"]),
                ("Rows", sheet["rows"]),
                ("Features", sheet["features"]),
                ("Roles", sheet["roles"]),
                ("Columns kept out of samples (PII)", sheet["pii_columns"]),
                ("Baseline accuracy", sheet["baseline_accuracy"]),
                ("Set", f"{sheet['set_at']} by {sheet['set_by']}"),
                ("Current", sheet["current"]),
            ]
        ),
        table(["column", "kind", "missing", "summary"], rows),
    ]
