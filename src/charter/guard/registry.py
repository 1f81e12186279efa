"""Where scanners come from: the ``charter_scanners`` plugin hook.

The built-in scanners are a plugin themselves (``charter.plugins.builtin``); third-party
scanners install under the ``charter`` entry-point group and return :class:`Scanner`
objects from the same hook. A later plugin's scanner replaces an earlier one of the same
name, so a plugin can swap in, say, a PII scanner with a name recognizer.
"""

from __future__ import annotations

from charter.domain.errors import BadInput
from charter.guard.base import Scanner


def available_scanners() -> dict[str, Scanner]:
    """Every scanner from every plugin, by name (built-ins included)."""
    from charter.plugins.manager import guard_scanners

    found: dict[str, Scanner] = {}
    for scanner in guard_scanners():
        if not isinstance(scanner, Scanner):
            raise BadInput(
                f"plugin scanner {scanner!r} is not a charter.guard.Scanner", location="plugins"
            )
        found[scanner.name] = scanner
    return found


def find_scanner(name: str, scanners: dict[str, Scanner] | None = None) -> Scanner:
    """The scanner called ``name``; the error lists the available ones."""
    available = scanners if scanners is not None else available_scanners()
    if name not in available:
        raise BadInput(
            f"unknown scanner {name!r}; available: {', '.join(sorted(available))}",
            location="scanner",
        )
    return available[name]
