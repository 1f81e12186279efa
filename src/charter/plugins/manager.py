"""Load Charter plugins and read their hooks as typed lists.

The built-in plugins and those installed under the ``charter`` entry point are loaded
once per process. Each reader below returns the hook's results flattened, with later
plugins overriding earlier ones by name, so callers never handle pluggy's nested lists.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pluggy

from charter.plugins import hookspecs

if TYPE_CHECKING:
    from charter.evaluation.suites import Suite
    from charter.guard.base import Scanner
    from charter.plugins.notifiers import Notifier


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager with built-ins and entry-point plugins loaded."""
    manager = pluggy.PluginManager("charter")
    manager.add_hookspecs(hookspecs)
    # Entry points include charter.plugins.builtin itself (declared in pyproject.toml);
    # registering it explicitly too would double every hook result, so only fall back to
    # it when the package metadata is missing (e.g. running from a source tree).
    loaded = manager.load_setuptools_entrypoints("charter")
    if loaded == 0:
        from charter.plugins import builtin

        manager.register(builtin, name="builtin")
    return manager


def evaluation_suites() -> list[Suite]:
    """Every evaluation suite from every plugin, built-in ones included; later names win."""
    by_name: dict[str, Suite] = {}
    results: list[list[Suite]] = plugin_manager().hook.charter_evaluation_suites()
    for suites in reversed(results):
        for suite in suites:
            by_name[suite.name] = suite
    return list(by_name.values())


def notifiers() -> list[Notifier]:
    """Every notifier from every plugin; later plugins win for the same ``kind``."""
    by_kind: dict[str, Notifier] = {}
    results: list[list[Notifier]] = plugin_manager().hook.charter_notifiers()
    for found in reversed(results):
        for notifier in found:
            by_kind[notifier.kind] = notifier
    return list(by_kind.values())


def guard_scanners() -> list[Scanner]:
    """Every guardrail scanner from every plugin, built-in ones included; later names win."""
    by_name: dict[str, Scanner] = {}
    results: list[list[Scanner]] = plugin_manager().hook.charter_scanners()
    for scanners in reversed(results):
        for scanner in scanners:
            by_name[scanner.name] = scanner
    return list(by_name.values())
