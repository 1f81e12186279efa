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


#: The drills' sandbox environment and the prefix of the identity the drill runner acts as
#: (``drill:<user>``; user names cannot hold a colon). Kept here, not imported from
#: charter.services.drills, so checking a name stays cheap; a test keeps them in step.
SANDBOX = "drill"
DRILL_RUNNER = "drill:"


def check_environment(ctx: Context, environment: str) -> str:
    """Return ``environment`` if the policy declares it; otherwise refuse, suggesting one."""
    check_slug(environment, "environment")
    if environment == SANDBOX and ctx.actor.name.startswith(DRILL_RUNNER):
        # The drills' own sandbox: only the drill runner acts there (never a person).
        return environment
    names = declared(ctx)
    if environment not in names:
        close = difflib.get_close_matches(environment, names, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise BadInput(
            f"unknown environment {environment!r}: {hint}the policy declares {', '.join(names)}",
            location="environment",
        )
    return environment
