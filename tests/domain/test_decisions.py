"""What a decision request must state for its verdict (the fold is in test_approvals)."""

from __future__ import annotations

import pytest

from charter.domain.decisions import DecisionRequest, check_request
from charter.domain.errors import BadInput


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"verdict": "approve"}, "use_case, population, environments, expires"),
        ({"verdict": "reject"}, "note"),
        (
            {
                "verdict": "approve_with_conditions",
                "use_case": "u",
                "population": "p",
                "environments": ["prod"],
                "expires": "9d",
                "conditions": [" "],
            },
            "condition",
        ),
        ({"verdict": "reject", "note": "n", "environments": ["prod", "prod"]}, "listed twice"),
    ],
)
def test_requests_missing_what_their_verdict_needs(fields, message) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        check_request(DecisionRequest(**fields))
    assert "--" not in str(caught.value)  # services name fields; the CLI adds flag hints
