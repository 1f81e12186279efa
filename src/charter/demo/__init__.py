"""`charter demo`: a realistic portfolio built on SQLite from real data, then served.

The demo goes through the same operations as the CLI and the API (``charter.services.
operations``), as the users a real organisation has (developers, risk engineers,
approvers, an auditor), so what the console shows is what Charter would hold after a few
weeks of use. Its data (German credit, the car-loan model's production stream) ships in
``charter/demo/data`` with its attribution (``data/ATTRIBUTION.md``).

The pieces, one module each:

- :mod:`charter.demo.session` — the demo's database, clock, users and progress display;
- :mod:`charter.demo.credit` — a credit-risk classifier trained here on German credit;
- :mod:`charter.demo.car_loan` — the car-loan model, its production stream replayed;
- :mod:`charter.demo.assistant` — an LLM support assistant whose traffic is guarded;
- :mod:`charter.demo.portfolio` — the other systems, across every tier;
- :mod:`charter.demo.build` — the order they are built in.
"""

from __future__ import annotations

from charter.demo.build import DemoResult, build_demo

__all__ = ["DemoResult", "build_demo"]
