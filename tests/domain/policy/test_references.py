"""Every identifier a pack cites must exist: the list in charter/policies/references.yaml."""

from __future__ import annotations

import pytest
from tests.domain.policy.packs import load, pack

from charter.domain.errors import BadInput
from charter.domain.policy.references import expand_parts, source_versions, valid_identifiers


def with_maps_to(maps_to: dict[str, list[str]]) -> dict:
    data = pack()
    data["controls"][0]["maps_to"] = maps_to
    return data


@pytest.mark.parametrize(
    ("framework", "clause"),
    [
        ("eu_ai_act", "Art. 114"),  # the Act has 113 articles
        ("eu_ai_act", "Art. 26(13)"),  # Art. 26 has 12 paragraphs
        ("eu_ai_act", "Annex III(5)(e)"),  # point 5 has (a)-(d)
        ("eu_ai_act", "Annex IV(10)"),
        ("eu_ai_act", "Art. 9(2)(e)"),
        ("eu_ai_act", "Article 9"),  # not the pack's spelling
        ("nist_ai_rmf", "MEASURE 2.14"),  # MEASURE 2 has 13 subcategories
        ("nist_ai_rmf", "GOVERN 7.1"),
        ("nist_ai_600_1", "Hallucination"),  # the profile's word is Confabulation
        ("iso_42001", "A.6.2.9"),
        ("iso_42001", "A.11.2"),
    ],
)
def test_a_pack_citing_an_identifier_not_on_the_list_is_refused(framework, clause) -> None:
    first = {"eu_ai_act": "Art. 9(1)", "nist_ai_rmf": "MAP 1.1"}.get(framework, "A.5.4")
    if framework == "nist_ai_600_1":
        first = "Confabulation"
    with pytest.raises(BadInput) as err:
        load(with_maps_to({framework: [first, clause]}))
    assert err.value.location is not None and f"maps_to.{framework}[1]" in err.value.location
    assert clause in str(err.value)


def test_identifiers_on_the_list_are_accepted_and_other_frameworks_are_free_text() -> None:
    policy = load(
        with_maps_to(
            {
                "eu_ai_act": ["Art. 5(1)(h)(iii)", "Art. 6(1a)", "Annex III(8)(b)", "Art. 16(l)"],
                "nist_ai_rmf": ["GOVERN 1.7", "MEASURE 2.13", "MANAGE 4.3"],
                "nist_ai_600_1": ["Confabulation"],
                "iso_42001": ["A.6.1.3", "A.10.4"],
                "internal_policy": ["MRM-7 section 3"],
            }
        )
    )
    assert policy.controls[0].maps_to["internal_policy"] == ["MRM-7 section 3"]


def test_the_list_counts_what_the_sources_contain() -> None:
    valid = valid_identifiers()
    # NIST AI RMF 1.0: 72 subcategories; ISO/IEC 42001:2023 Annex A: 38 controls;
    # NIST AI 600-1: 12 risks.
    assert len(valid["nist_ai_rmf"]) == 72
    assert len(valid["iso_42001"]) == 38
    assert len(valid["nist_ai_600_1"]) == 12
    annex_iii = {c for c in valid["eu_ai_act"] if c.startswith("Annex III(")}
    points = {c for c in annex_iii if c.count("(") == 2}
    # 1(a)-(c), 3(a)-(d), 4(a)-(b), 5(a)-(d), 6(a)-(e), 7(a)-(d), 8(a)-(b), and point 2
    assert len(points) == 24
    assert "Annex III(2)" in annex_iii
    assert {"Art. 1", "Art. 113"} <= valid["eu_ai_act"]
    assert "2026/1744" in source_versions()["eu_ai_act"]


def test_expansion_of_entries() -> None:
    assert expand_parts("Art. 13", ["3(b)(i-iii)"]) == {
        "Art. 13",
        "Art. 13(3)",
        "Art. 13(3)(b)",
        "Art. 13(3)(b)(i)",
        "Art. 13(3)(b)(ii)",
        "Art. 13(3)(b)(iii)",
    }
    assert expand_parts("Art. 16", ["(a-c)"]) == {
        "Art. 16",
        "Art. 16(a)",
        "Art. 16(b)",
        "Art. 16(c)",
    }
    assert expand_parts("Art. 6", ["1a", "3-4"]) == {
        "Art. 6",
        "Art. 6(1a)",
        "Art. 6(3)",
        "Art. 6(4)",
    }
    with pytest.raises(ValueError):
        expand_parts("Art. 1", ["one"])
