"""`charter status` for people: one plain line per system and environment.

A thousand systems are a thousand-odd lines, so the table is plain fixed-width text (no
box drawing, no wrapping; `grep` and `sort` work on it) rather than a Rich table, which
spent about a second laying out 1,000 rows. Both ways of running the command (the fast
local path, :mod:`charter.cli.fast_status`, and the ordinary one through Typer) print
through :func:`print_status`, so they print the same.
"""

from __future__ import annotations

import sys
from typing import Any

COLUMNS = (
    "system",
    "tier",
    "env",
    "live",
    "state",
    "approval",
    "valid_until",
    "exceptions",
    "accuracy",
    "flags",
)


def accuracy_cell(signals: dict[str, Any] | None) -> str | None:
    """Live accuracy from the newest window, marked when estimated without labels."""
    accuracy = (signals or {}).get("accuracy") or {}
    if accuracy.get("value") is None:
        return None
    suffix = " (est.)" if accuracy.get("source") == "estimated" else ""
    return f"{accuracy['value']:.3f}{suffix}"


def status_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (system, environment) of the status view; a system without any
    environment gets one row of its own."""
    rows = []
    for system in data["systems"]:
        for env in system["environments"] or [{}]:
            rows.append(
                {
                    "system": system["name"],
                    "tier": system["tier"],
                    "env": env.get("environment"),
                    "live": (env.get("release") or "")[: len(system["name"]) + 13] or None,
                    "state": env.get("state"),
                    "approval": env.get("approval"),
                    "valid_until": (env.get("valid_until") or "")[:10] or None,
                    "exceptions": system["open_exceptions"],
                    "accuracy": accuracy_cell(env.get("monitoring")),
                    "flags": "; ".join(env.get("flags", [])) or None,
                }
            )
    return rows


def print_status(data: dict[str, Any]) -> None:
    """Print the status view as a titled fixed-width table on stdout."""
    from charter.cli.render import plain_table

    sys.stdout.write(plain_table("Status", status_rows(data), COLUMNS))
