"""The environments the policy in force declares; every operation naming one checks it here.

An unknown name is refused with the closest declared one suggested: ``--env prdo`` once
passed a high-tier gate because no control applied to an environment nobody declared.
"""

from __future__ import annotations

import difflib

from charter.domain.errors import BadInput
from charter.domain.policy.model import DEFAULT_ENVIRONMENTS
from charter.domain.text import check_slug
from charter.services import policies
from charter.services.context import Context


def declared(ctx: Context) -> tuple[str, ...]:
    """The environments of the pack in force (the defaults before any pack is applied)."""
    found = policies.in_force(ctx)
    return tuple(found[1].environments) if found is not None else DEFAULT_ENVIRONMENTS


def check_environment(ctx: Context, environment: str) -> str:
    """Return ``environment`` if the policy declares it; otherwise refuse, suggesting one."""
    check_slug(environment, "environment")
    names = declared(ctx)
    if environment not in names:
        close = difflib.get_close_matches(environment, names, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise BadInput(
            f"unknown environment {environment!r}: {hint}the policy declares {', '.join(names)}",
            location="environment",
        )
    return environment
