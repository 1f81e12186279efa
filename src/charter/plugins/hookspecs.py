"""Every Charter plugin hook, declared once.

Plugins register through the ``charter`` entry-point group; the built-in evaluation
suites and notifiers are plugins themselves (``charter.plugins.builtin``),
so the extension points are exercised by the product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from charter.evaluation.suites import Suite
    from charter.guard.base import Scanner
    from charter.plugins.notifiers import Notifier

hookspec = pluggy.HookspecMarker("charter")
hookimpl = pluggy.HookimplMarker("charter")


@hookspec
def charter_evaluation_suites() -> list[Suite]:
    """Return evaluation suite objects (see ``charter.evaluation.suites.Suite``)."""
    raise NotImplementedError


@hookspec
def charter_notifiers() -> list[Notifier]:
    """Return notifier objects that deliver alerts (webhook, Slack, PagerDuty...)."""
    raise NotImplementedError


@hookspec
def charter_scanners() -> list[Scanner]:
    """Return guardrail scanner objects (see ``charter.guard.base.Scanner``)."""
    raise NotImplementedError
