"""The order the demo's portfolio is built in, and what it reports at the end."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.demo.session import DemoSession, Progress


@dataclass
class DemoResult:
    """Where the demo lives, who can sign in, and what each part produced."""

    home: Path
    tokens: dict[str, str]
    systems: dict[str, Any] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)


def build_demo(home: Path, *, quiet: bool = False, force: bool = False) -> DemoResult:
    """Build the portfolio in ``home`` (SQLite) and return its tokens and summary.

    The story: the credit model is trained and approved first, the car-loan model goes
    live and its production stream is replayed day by day (drift, an accuracy drop,
    alerts), the support assistant serves a day of guarded traffic, and the rest of the
    portfolio fills in around them; the clock then catches up with the real time.
    """
    from charter.demo import assistant, car_loan, credit, portfolio
    from charter.demo.control_plane import control_plane

    progress = Progress(quiet=quiet)
    with progress.step("a fresh Charter on SQLite: users, default policy pack"):
        demo = DemoSession.fresh(home, progress=progress, force=force)
    try:
        intakes = portfolio.entries()
        result = DemoResult(home=demo.home, tokens=dict(demo.tokens))
        result.systems["credit-limit"] = credit.build(demo, intakes["credit-limit"])
        result.systems["car-loan-approval"] = car_loan.build(demo, intakes["car-loan-approval"])
        # The assistant is served through the SDK, which talks to Charter over HTTP: the
        # API runs from here to the end of the build, so its serving process can attest
        # again at the real time once the story has caught up.
        with ExitStack() as running:
            with progress.step("the API on 127.0.0.1 for the assistant's SDK"):
                url = running.enter_context(control_plane(demo))
            traffic, serving = assistant.build(demo, intakes["support-assistant"], url)
            try:
                with progress.step("the rest of the portfolio: every tier, a refused intake"):
                    result.systems.update(portfolio.build(demo))
                demo.clock.catch_up()
            finally:
                traffic["attestation"] = assistant.finish(serving)
            result.systems["support-assistant"] = traffic
        with progress.step("a last worker pass and the audit chain verified"):
            from charter.services.worker import run_once

            run_once(demo.charter, demo.actors["serving"], deliver=False, backoff=0.01)
            verified = demo.call("audrey", "audit.verify")
            result.systems["audit"] = verified
        demo.write_config()
        result.timings = progress.timings
        return result
    finally:
        demo.close()
