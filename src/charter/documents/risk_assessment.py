"""The model risk assessment (data from :mod:`charter.services.risk_assessment`) as a document."""

from __future__ import annotations

from typing import Any

from charter.documents.blocks import Block, bullets, facts, heading, para, render, table


def assessment_title(data: dict[str, Any]) -> str:
    """The document title: the system and the "as of" stamp."""
    return f"Model risk assessment: {data['system']['name']} as of {data['as_of']}"


def render_assessment(data: dict[str, Any], fmt: str) -> bytes:
    """The assessment in ``fmt`` (md, html or pdf)."""
    return render(assessment_title(data), assessment_blocks(data), fmt)


def _rating(item: dict[str, Any], prefix: str) -> str:
    if prefix == "inherent":
        return (
            f"{item['inherent_rating']} ({item['likelihood_label']} x {item['impact_label']}"
            f" = {item['inherent_score']})"
        )
    return (
        f"{item['residual_rating']} ({item['residual_likelihood_label']} x "
        f"{item['residual_impact_label']} = {item['residual_score']})"
    )


def _latest(value: Any) -> str:
    if value is None:
        return "no window yet"
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if v not in (None, [], 0)}
        return ", ".join(f"{k} {v}" for k, v in shown.items()) or "no data"
    return str(value)


def assessment_blocks(data: dict[str, Any]) -> list[Block]:
    """The assessment's sections in reading order."""
    system = data["system"]
    summary = data["summary"]
    blocks: list[Block] = [
        para(
            f"As of {data['as_of']}, under policy version {data['policy_version']}. Generated "
            "from Charter's records: the register, the gate runs, the monitoring plan and "
            "windows, and the incidents."
        ),
        heading("The system"),
        facts(
            [
                ("System", system["name"]),
                ("Owner", system["owner"]),
                ("Purpose", system["purpose"] or None),
                ("Affected population", system["population"] or None),
                ("Risk tier", system["tier"]),
                ("Status", system["status"]),
            ]
        ),
        table(
            ["environment", "release", "latest gate run", "monitors"],
            [
                [
                    env["environment"] or "(not deployed)",
                    env["release"],
                    "none"
                    if env["gate_run"] is None
                    else f"#{env['gate_run']['id']} "
                    f"{'passed' if env['gate_run']['passed'] else 'failed'} "
                    f"({env['gate_run']['environment']}, {env['gate_run']['at']})",
                    env["monitors"] or "none",
                ]
                for env in data["environments"]
            ],
            empty="No release of this system exists yet.",
        ),
        heading("Summary"),
        facts(
            [
                ("Open risks", summary["open"]),
                ("Closed risks", summary["closed"]),
                ("Open risks by residual rating", summary["residual"] or None),
                ("Open risks by inherent rating", summary["inherent"] or None),
                ("Open risks with gaps", summary["with_gaps"]),
                ("Risks realised by an incident", summary["realised"]),
            ]
        ),
        table(
            ["#", "risk", "category", "inherent", "residual", "owner", "last review", "gaps"],
            [
                [
                    item["id"],
                    item["title"],
                    item["category"],
                    _rating(item, "inherent"),
                    _rating(item, "residual"),
                    item["owner"],
                    item["reviewed_at"],
                    item["gaps"] or "none",
                ]
                for item in data["risks"]
            ],
            empty="The register is empty.",
        ),
    ]
    for item in data["risks"]:
        blocks += _risk_blocks(item)
    blocks += [
        heading("Residual risk accepted"),
        table(
            ["#", "risk", "residual", "accepted by", "at", "reason"],
            [
                [
                    a["risk"],
                    a["title"],
                    a["residual_rating"],
                    a["accepted_by"],
                    a["accepted_at"],
                    a["note"],
                ]
                for a in data["accepted"]
            ],
            empty="No residual risk has been accepted.",
        ),
    ]
    scales = data.get("scales")
    if scales:
        blocks += [
            heading("Scales"),
            table(
                ["value", "likelihood", "impact"],
                [
                    [lik["value"], lik["label"], imp["label"]]
                    for lik, imp in zip(scales["likelihood"], scales["impact"], strict=False)
                ],
            ),
            para(
                "Score = likelihood x impact; rating bands (minimum score): "
                + ", ".join(f"{b['id']} {b['min_score']}" for b in scales["ratings"])
                + f". Reviews due every {scales['review_days']} days for this tier; residual "
                f"ratings from {scales['acceptance']['required_from']} need an acceptance by "
                + ", ".join(scales["acceptance"]["roles"])
                + (
                    ", never by the risk's owner or rater."
                    if scales["acceptance"]["independent"]
                    else "."
                )
            ),
        ]
    return blocks


def _risk_blocks(item: dict[str, Any]) -> list[Block]:
    mappings = [*item["nist_ai_rmf"], *item["owasp_llm"]]
    return [
        heading(f"Risk #{item['id']}: {item['title']}", 3),
        facts(
            [
                ("Status", f"{item['status']} (version {item['version']})"),
                ("Category", item["category"]),
                ("Maps to", mappings or None),
                ("Cause", item["cause"] or None),
                ("Failure mode", item["failure_mode"] or None),
                ("Affected population", item["affected_population"] or None),
                ("Inherent rating", _rating(item, "inherent")),
                ("Residual rating", _rating(item, "residual")),
                ("Rated by", item["rated_by"]),
                ("Owner", item["owner"]),
                (
                    "Last review",
                    None
                    if item["reviewed_at"] is None
                    else f"{item['reviewed_at']} by {item['reviewed_by']}: {item['review_note']}",
                ),
                ("Next review due", item["review_due"]),
                (
                    "Residual risk accepted",
                    None
                    if item["accepted_by"] is None
                    else f"by {item['accepted_by']} at {item['accepted_at']}: "
                    f"{item['acceptance_note']}",
                ),
                ("Remediation plan", item["remediation"] or None),
            ]
        ),
        table(
            ["mitigating control", "environment", "gate run", "status", "reason"],
            [
                [e["control"], e["environment"], e["gate_run"], e["status"], e["reason"]]
                for e in item["evidence"]
            ],
            empty="No mitigating control is linked.",
        ),
        table(
            ["signal", "environment", "monitored", "newest window", "latest", "open alerts"],
            [
                [
                    m["signal"],
                    m["environment"],
                    m["monitored"],
                    m["window"],
                    _latest(m["latest"]),
                    m["open_alerts"],
                ]
                for m in item["monitoring"]
            ],
            empty="No watching signal in a deployed environment.",
        ),
        bullets(
            [
                f"incident #{i['id']} ({i['severity']}, {i['status']}, {i['environment']}): "
                f"{i['title']}"
                for i in item["realised_incidents"]
            ],
            empty="No incident has realised this risk.",
        ),
        bullets([f"gap: {g}" for g in item["gaps"]], empty="No gaps."),
    ]
