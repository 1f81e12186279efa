"""The portfolio report (``charter.report.portfolio/1``) as a block document."""

from __future__ import annotations

from typing import Any

from charter.documents.blocks import Block, bullets, heading, para, render, show, table


def report_title(report: dict[str, Any]) -> str:
    """The document title: period and "as of" stamp."""
    return f"Model risk portfolio report {report['period']['label']} as of {report['as_of']}"


def render_report(report: dict[str, Any], fmt: str) -> bytes:
    """The report in ``fmt`` (md, html or pdf)."""
    return render(report_title(report), report_blocks(report), fmt)


def _value(kpi: dict[str, Any], value: Any) -> str:
    if value is None:
        return "n/a"
    if kpi["unit"] == "share" and isinstance(value, int | float):
        return f"{100 * value:.1f}%"
    if kpi["unit"] == "seconds" and isinstance(value, int | float):
        return f"{value / 3600:.2f} h" if value >= 3600 else f"{value:.0f} s"
    return show(value)


def report_blocks(report: dict[str, Any]) -> list[Block]:
    """Risk status, coverage and gaps, trends, overdue items, incidents."""
    period = report["period"]
    blocks: list[Block] = [
        para(
            f"Period {period['label']} ({period['from']} to {period['to']}), compared with "
            f"{period['previous']}. Generated from Charter's records as of {report['as_of']}."
        ),
        heading("Risk status by system"),
        table(
            [
                "system",
                "tier",
                "status",
                "serving",
                "approved until",
                "contract holds",
                "drift",
                "open alerts",
            ],
            [
                [
                    s["system"],
                    s["tier"],
                    s["status"],
                    s["serving"],
                    s["approved_until"],
                    {True: "yes", False: "NO", None: "unknown"}[s["contract_holds"]],
                    s["drift"],
                    s["open_alerts"],
                ]
                for s in report["systems"]
            ],
            "no systems registered",
        ),
        heading("Control coverage and gaps"),
        table(
            ["system", "tier", "controls", "state"],
            [[c["system"], c["tier"], c["controls"], c["counts"]] for c in report["coverage"]],
            "no systems registered",
        ),
    ]
    gaps = [f"{c['system']}: {g}" for c in report["coverage"] for g in c["gaps"]]
    blocks += [
        bullets(gaps, "no gaps: every control that applies passed or is waived"),
        heading("Trends against the previous period"),
        table(
            ["KPI", period["label"], period["previous"], "note"],
            [
                [k["name"], _value(k, k["value"]), _value(k, k["previous"]), k["note"]]
                for k in report["trends"]
            ],
        ),
        heading("Overdue and due soon"),
        table(
            ["system", "kind", "item", "due"],
            [[o["system"], o["kind"], o["item"], o["due"]] for o in report["overdue"]],
            "nothing expiring, due or deprecated",
        ),
        heading("Incidents and postmortems"),
    ]
    incidents = report["incidents"]
    if isinstance(incidents, dict):
        blocks.append(para(incidents["absent"]))
    else:
        blocks.append(
            table(
                ["system", "id", "severity", "status", "detected", "postmortem"],
                [
                    [
                        i["system"],
                        i.get("id"),
                        i.get("severity"),
                        i.get("status"),
                        i.get("detected_at"),
                        i.get("postmortem") or "none recorded",
                    ]
                    for i in incidents
                ],
                "no incidents in the period",
            )
        )
    return blocks
