"""Gate reports: the plain summary, JUnit XML and GitHub Actions output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from charter.domain.gate_facts import ControlResult
from charter.domain.gate_report import (
    escape_data,
    escape_property,
    summarize,
    to_github,
    to_junit,
)

RESULTS = [
    ControlResult(
        "eval-fairness",
        "evaluation_evidence",
        "fairness",
        "fail",
        "no fairness evidence",
        maps_to={"eu_ai_act": ["Art. 10(2)(f)"]},
    ),
    ControlResult(
        "owner",
        "documentation",
        "owner",
        "pass",
        "documentation present: owner",
        evidence={"at": datetime(2026, 1, 2, tzinfo=UTC)},
    ),
    ControlResult(
        "drift",
        "live_monitors",
        "drift",
        "waived",
        "waived by exception #3",
        waiver={"exception_id": 3},
    ),
    ControlResult("vendor", "vendor_not_deprecated", "vendor", "not_applicable", "no vendor model"),
]


def test_summarize_counts_and_fails_on_any_fail() -> None:
    report = summarize(RESULTS)
    assert report["passed"] is False
    assert report["counts"] == {"pass": 1, "fail": 1, "waived": 1, "not_applicable": 1}
    assert report["results"][1]["evidence"] == {"at": "2026-01-02T00:00:00+00:00"}
    json.dumps(report)  # JSON-able
    assert summarize(RESULTS[1:])["passed"] is True
    assert summarize([])["passed"] is True


def test_junit_is_valid_xml_with_failures_and_skips() -> None:
    text = to_junit(summarize(RESULTS), "credit-limit prod")
    root = ET.fromstring(text.encode())
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["eval-fairness"].find("failure")
    assert failure is not None and failure.get("message") == "no fairness evidence"
    assert cases["owner"].find("failure") is None and cases["owner"].find("skipped") is None
    skipped = cases["drift"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("waived")
    assert cases["vendor"].find("skipped") is not None
    assert "Art. 10(2)(f)" in (cases["eval-fairness"].findtext("system-out") or "")


def test_junit_escapes_markup_and_drops_characters_xml_cannot_hold() -> None:
    nasty = ControlResult("c", "k", "d", "fail", 'bad <tag> & "quotes" \x00\x1b end')
    root = ET.fromstring(to_junit(summarize([nasty]), "n").encode())
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'bad <tag> & "quotes" \ufffd\ufffd end'


def test_github_escaping_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"


def test_github_annotations_and_summary() -> None:
    tricky = ControlResult("c", "k", "d", "fail", "line one\nline two: 50% | pipes")
    report = summarize([*RESULTS, tricky])
    report.update(ref="credit-limit@abc", environment="prod")
    annotations, markdown = to_github(report)
    lines = annotations.splitlines()
    assert lines == [
        "::error title=Charter gate%3A eval-fairness::no fairness evidence",
        "::warning title=Charter gate%3A drift::waived by exception #3",
        "::error title=Charter gate%3A c::line one%0Aline two: 50%25 | pipes",
    ]
    assert "failed" in markdown.splitlines()[0]
    assert "`credit-limit@abc prod`" in markdown
    assert "line one line two: 50% \\| pipes" in markdown
    assert "Art. 10(2)(f)" in markdown
    # Failures are listed first.
    assert markdown.index("eval-fairness") < markdown.index("`owner`")


def test_github_output_for_a_passing_gate() -> None:
    annotations, markdown = to_github(summarize(RESULTS[1:2]))
    assert annotations == ""
    assert "passed" in markdown.splitlines()[0]
