"""Which contract is enforced: the release's, tightened (never loosened) by its approvals."""

from __future__ import annotations

import pytest

from charter.domain.contracts import check_not_looser, parse_contract, strictest
from charter.domain.errors import BadInput

RELEASE = {
    "offline": ["roc_auc >= 0.75", "recall[sex] >= 0.6", "log_loss <= 0.5"],
    "live": {"accuracy": ">= 0.8", "monitors": ["drift"], "open_after": 3, "window": "1d"},
}


def contract(raw):
    return parse_contract(raw)


@pytest.mark.parametrize(
    "stricter",
    [
        RELEASE,
        {**RELEASE, "offline": ["roc_auc >= 0.8", "recall[sex] >= 0.6", "log_loss <= 0.4"]},
        {
            **RELEASE,
            "offline": ["ci_lower(roc_auc) >= 0.75", "recall[sex] > 0.6", "ci(log_loss) <= 0.5"],
        },
        {**RELEASE, "offline": [*RELEASE["offline"], "precision >= 0.5"]},
        {
            **RELEASE,
            "live": {**RELEASE["live"], "accuracy": ">= 0.85", "monitors": ["drift", "fairness"]},
        },
        {**RELEASE, "live": {**RELEASE["live"], "open_after": 1, "close_after": 5}},
    ],
)
def test_an_approval_may_tighten(stricter) -> None:
    check_not_looser(contract(RELEASE), contract(stricter))


@pytest.mark.parametrize(
    ("looser", "named"),
    [
        (
            {**RELEASE, "offline": ["roc_auc >= 0.7", "recall[sex] >= 0.6", "log_loss <= 0.5"]},
            "roc_auc >= 0.75",
        ),
        ({**RELEASE, "offline": ["roc_auc >= 0.75", "log_loss <= 0.5"]}, "recall[sex] >= 0.6"),
        (
            {
                **RELEASE,
                "offline": ["roc_auc >= 0.75", "recall[sex=female] >= 0.6", "log_loss <= 0.5"],
            },
            "recall[sex] >= 0.6",
        ),
        (
            {
                **RELEASE,
                "offline": ["ci_upper(roc_auc) >= 0.75", "recall[sex] >= 0.6", "log_loss <= 0.5"],
            },
            "roc_auc >= 0.75",
        ),
        (
            {**RELEASE, "offline": ["roc_auc >= 0.75", "recall[sex] >= 0.6", "log_loss <= 0.6"]},
            "log_loss <= 0.5",
        ),
        ({**RELEASE, "live": {**RELEASE["live"], "accuracy": ">= 0.7"}}, "accuracy >= 0.8"),
        ({**RELEASE, "live": {**RELEASE["live"], "monitors": []}}, "stops monitoring drift"),
        ({**RELEASE, "live": {**RELEASE["live"], "open_after": 5}}, "open_after"),
        ({**RELEASE, "live": {**RELEASE["live"], "window": "1w"}}, "may not change live.window"),
    ],
)
def test_a_looser_approval_is_refused_naming_the_bound(looser, named) -> None:
    with pytest.raises(BadInput, match=named.replace("[", r"\[").replace("]", r"\]")):
        check_not_looser(contract(RELEASE), contract(looser))


def test_the_contract_in_force_is_the_strictest_of_release_and_approvals() -> None:
    ann = {**RELEASE, "offline": ["roc_auc >= 0.8", "recall[sex] >= 0.6", "log_loss <= 0.5"]}
    bob = {
        **RELEASE,
        "offline": [*RELEASE["offline"], "precision >= 0.5"],
        "live": {
            **RELEASE["live"],
            "accuracy": ">= 0.9",
            "open_after": 2,
            "monitors": ["drift", "fairness"],
        },
    }
    merged = strictest([contract(RELEASE), contract(ann), contract(bob)])
    assert sorted(b.text for b in merged.offline) == [
        "log_loss <= 0.5",
        "precision >= 0.5",
        "recall[sex] >= 0.6",
        "roc_auc >= 0.8",
    ]
    assert [str(b) for b in merged.live.bounds] == ["accuracy >= 0.9"]
    assert merged.live.monitors == {"drift", "fairness"} and merged.live.open_after == 2
    assert strictest([contract(RELEASE)]).to_dict() == contract(RELEASE).to_dict()
