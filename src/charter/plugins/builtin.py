"""The built-in plugins. Each hook imports its implementation lazily to keep start-up fast."""

from __future__ import annotations

from typing import TYPE_CHECKING

from charter.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from charter.evaluation.suites import Suite
    from charter.guard.base import Scanner
    from charter.plugins.notifiers import Notifier


@hookimpl
def charter_evaluation_suites() -> list[Suite]:
    """The built-in evaluation suites: classification, regression, fairness, robustness..."""
    from charter.evaluation import builtin_suites

    return list(builtin_suites())


@hookimpl
def charter_notifiers() -> list[Notifier]:
    """The built-in notifiers: signed webhook, Slack, PagerDuty."""
    from charter.plugins.notifiers import builtin_notifiers

    return builtin_notifiers()


@hookimpl
def charter_scanners() -> list[Scanner]:
    """The built-in guardrail scanners: prompt injection, PII, secrets, toxicity, output."""
    from charter.guard.scanners import builtin_scanners

    return list(builtin_scanners())
