"""A gate's results as data, as JUnit XML and as GitHub Actions annotations + step summary.

:func:`summarize` gives the plain, JSON-able report every other form is rendered from.
The gate passes only when no control fails; waived and not-applicable controls do not
block.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from charter.domain.gate_facts import ControlResult

STATUSES = ("pass", "fail", "waived", "not_applicable")
_ICONS = {"pass": "✅", "fail": "❌", "waived": "⚠️", "not_applicable": "⚪"}
# Characters XML 1.0 cannot carry at all (even escaped).
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def result_dict(result: ControlResult) -> dict[str, Any]:
    """One result as JSON-able data."""
    data: dict[str, Any] = _jsonable(asdict(result))
    return data


def summarize(results: Sequence[ControlResult]) -> dict[str, Any]:
    """``{"passed", "counts", "results"}``: passed unless a control fails."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        "passed": counts["fail"] == 0,
        "counts": counts,
        "results": [result_dict(r) for r in results],
    }


# -- JUnit -----------------------------------------------------------------------------------


def _xml_text(value: Any) -> str:
    return _XML_INVALID.sub("\ufffd", str(value))


def to_junit(report: Mapping[str, Any], name: str = "charter-gate") -> str:
    """A JUnit XML document: one testcase per control.

    fail -> ``<failure>``, waived and not_applicable -> ``<skipped>``; each case's
    ``system-out`` carries the reason and regulatory mapping.
    """
    results = list(report.get("results", []))
    counts = report.get("counts", {})
    suites = ET.Element("testsuites", name=_xml_text(name))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=_xml_text(name),
        tests=str(len(results)),
        failures=str(counts.get("fail", 0)),
        skipped=str(counts.get("waived", 0) + counts.get("not_applicable", 0)),
        errors="0",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_text(f"{name}.{result.get('kind', 'control')}"),
            name=_xml_text(result.get("control_id", "?")),
        )
        status, reason = result.get("status"), _xml_text(result.get("reason", ""))
        if status == "fail":
            failure = ET.SubElement(case, "failure", message=reason, type="control-failed")
            failure.text = _xml_text(result.get("description", ""))
        elif status in ("waived", "not_applicable"):
            ET.SubElement(case, "skipped", message=f"{status}: {reason}")
        mappings = "; ".join(
            f"{framework}: {', '.join(clauses)}"
            for framework, clauses in (result.get("maps_to") or {}).items()
        )
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text(f"{reason}\n{mappings}".strip())
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# -- GitHub Actions --------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape a workflow command's message (% CR LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (% CR LF : ,)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _cell(value: Any) -> str:
    text = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def to_github(report: Mapping[str, Any], title: str = "Charter gate") -> tuple[str, str]:
    """``(annotations, markdown)``: workflow commands for stdout, and a step summary.

    Fails become ``::error``, waivers ``::warning``; write the markdown to
    ``$GITHUB_STEP_SUMMARY``.
    """
    lines = []
    for result in report.get("results", []):
        status = result.get("status")
        if status not in ("fail", "waived"):
            continue
        command = "error" if status == "fail" else "warning"
        heading = escape_property(f"{title}: {result.get('control_id', '?')}")
        lines.append(f"::{command} title={heading}::{escape_data(str(result.get('reason', '')))}")
    annotations = "\n".join(lines) + ("\n" if lines else "")

    counts = report.get("counts", {})
    verdict = "passed" if report.get("passed") else "failed"
    where = " ".join(
        _cell(report[key]) for key in ("ref", "environment") if report.get(key) is not None
    )
    summary = [f"## {_ICONS['pass' if report.get('passed') else 'fail']} {title} {verdict}"]
    if where:
        summary.append(f"\n`{where}`")
    summary.append(
        "\n" + ", ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in STATUSES) + "\n"
    )
    summary.append("| | control | kind | reason | EU AI Act |")
    summary.append("|---|---|---|---|---|")
    order = {status: index for index, status in enumerate(("fail", "waived", "pass"))}
    ranked = sorted(report.get("results", []), key=lambda r: order.get(r.get("status"), 3))
    for result in ranked:
        eu = ", ".join((result.get("maps_to") or {}).get("eu_ai_act", []))
        summary.append(
            f"| {_ICONS.get(result.get('status', ''), '')} | `{_cell(result.get('control_id'))}` "
            f"| {_cell(result.get('kind', ''))} | {_cell(result.get('reason', ''))} | {_cell(eu)} |"
        )
    return annotations, "\n".join(summary) + "\n"
