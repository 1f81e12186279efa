"""Load Charter plugins: the built-in ones and those installed under the ``charter`` entry point."""

from __future__ import annotations

import functools

import pluggy

from charter.plugins import hookspecs


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


def evaluation_suites() -> list[object]:
    """Every evaluation suite from every plugin, built-in ones included; later names win."""
    by_name: dict[str, object] = {}
    for suites in reversed(plugin_manager().hook.charter_evaluation_suites()):
        for suite in suites:
            by_name[str(getattr(suite, "name", suite))] = suite
    return list(by_name.values())


def guard_scanners() -> list[object]:
    """Every guardrail scanner from every plugin, built-in ones included; later names win."""
    by_name: dict[str, object] = {}
    for scanners in reversed(plugin_manager().hook.charter_scanners()):
        for scanner in scanners:
            by_name[str(getattr(scanner, "name", scanner))] = scanner
    return list(by_name.values())
