"""Fixtures of the service-layer tests: the default pack in force and a registered credit system."""

from __future__ import annotations

import pytest
from tests.services.support import CREDIT

from charter.domain.systems import IntakeFile
from charter.services import policies, systems


@pytest.fixture
def policy(charter, tokens):
    with charter.act(tokens["admin"], write=True) as ctx:
        version, created = policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    assert created
    return version


@pytest.fixture
def system(policy, act):
    with act("developer") as ctx:
        return systems.register_system(
            ctx,
            "credit-limit",
            owner="Retail Credit Risk",
            purpose="limit increases",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(answers=CREDIT),
        ).name
