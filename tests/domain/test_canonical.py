"""Canonical JSON (RFC 8785) and content digests."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.domain.canonical import canonical_json, content_digest
from charter.domain.errors import BadInput

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_rfc8785_number_and_string_forms() -> None:
    # Vectors from RFC 8785 section 3.2.2 / appendix B.
    assert canonical_json({"b": 1.0, "a": [1e21, 1e-7, 333333333.3333333]}) == (
        '{"a":[1e+21,1e-7,333333333.3333333],"b":1}'
    )
    assert canonical_json({"€": 1, "\r": 2, "1": 3}) == '{"\\r":2,"1":3,"€":1}'
    assert canonical_json("\u00e9\u2028\x01") == '"é\u2028\\u0001"'


def test_key_order_and_whitespace_do_not_change_the_digest() -> None:
    a = {"x": 1, "y": [1, 2, {"b": True, "a": None}]}
    b = {"y": [1, 2, {"a": None, "b": True}], "x": 1}
    assert content_digest(a) == content_digest(b)
    assert content_digest(a) == hashlib.sha256(canonical_json(a).encode()).hexdigest()
    assert content_digest(a) != content_digest({**a, "x": 2})


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"x": float("nan")}, "$.x"),
        ({"x": [1, float("inf")]}, "$.x[1]"),
        ({"x": 2**60 + 1}, "$.x"),
        ({"x": object()}, "$.x"),
        ({1: "a"}, "$"),
    ],
)
def test_values_without_a_json_form_are_refused_with_their_location(value, where) -> None:
    with pytest.raises(BadInput) as info:
        canonical_json(value)
    assert info.value.location == where


@given(json_values)
def test_canonical_form_is_a_fixed_point(value) -> None:
    import json

    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text
