"""Every Charter plugin hook, declared once.

Plugins register through the ``charter`` entry-point group; the built-in evaluation
suites, drift tests and notifiers are plugins themselves (``charter.plugins.builtin``),
so the extension points are exercised by the product.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("charter")
hookimpl = pluggy.HookimplMarker("charter")


@hookspec
def charter_evaluation_suites() -> list[Any]:
    """Return evaluation suite objects (see ``charter.evaluation.suites.Suite``)."""
    raise NotImplementedError


@hookspec
def charter_drift_tests() -> list[Any]:
    """Return drift test objects used by the monitoring layer."""
    raise NotImplementedError


@hookspec
def charter_notifiers() -> list[Any]:
    """Return notifier objects that deliver alerts (webhook, Slack, PagerDuty...)."""
    raise NotImplementedError


@hookspec
def charter_scanners() -> list[Any]:
    """Return guardrail scanner objects (see ``charter.guard.base.Scanner``)."""
    raise NotImplementedError
